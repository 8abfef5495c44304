//! I3: opt-in by default, consent that expires, withdrawal as easy as giving, and fields that
//! lose their last lawful basis erased with the withdrawal. (These use text-message marketing;
//! email marketing adds a double opt-in, tested in double_opt_in.rs.)

use std::collections::BTreeMap;

use steward_app::core::Role;
use steward_app::core::consent::ConsentState;
use steward_app::{AppError, ConsentInput, Evidence};

use crate::support::*;

const PROFILED: &str = "personalize.content.profiled";

fn say(purpose: &str, state: &str) -> ConsentInput {
    ConsentInput {
        purpose: purpose.into(),
        state: state.into(),
        notice_version: Some("2026-01".into()),
        method: Some("portal".into()),
        fields: BTreeMap::new(),
    }
}

fn state_of(list: &[steward_app::ConsentStatus], purpose: &str) -> (Option<ConsentState>, bool) {
    let s = list
        .iter()
        .find(|s| s.purpose == purpose)
        .expect("every consent-based purpose is listed");
    (s.state, s.given)
}

#[tokio::test]
async fn a_new_customer_has_given_no_consent_at_all() {
    let (_dir, app) = app().await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    let all = app.consent().current(&agent, c.id).await.expect("consents");
    let consent_purposes = app
        .catalog()
        .purposes()
        .iter()
        .filter(|p| p.requires_consent)
        .count();
    assert_eq!(
        all.len(),
        consent_purposes,
        "one row per consent-based purpose"
    );
    for s in &all {
        assert_eq!((s.state, s.given), (None, false), "{}", s.purpose);
    }
}

#[tokio::test]
async fn consent_is_given_withdrawn_and_expires() {
    let (_dir, app, clock) = app_with_clock().await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    let evidence = Evidence {
        client_address: Some("203.0.113.9".into()),
        user_agent: Some("Mozilla/5.0".into()),
    };
    let given = app
        .consent()
        .record(
            &agent,
            c.id,
            say("marketing.communications.sms", "given"),
            &evidence,
        )
        .await
        .expect("give");
    assert_eq!(given.state, ConsentState::Given);
    assert!(
        given.expires_at.is_some(),
        "marketing consent is asked again after 13 months"
    );
    let now = app.consent().current(&agent, c.id).await.expect("consents");
    assert_eq!(
        state_of(&now, "marketing.communications.sms"),
        (Some(ConsentState::Given), true)
    );
    assert_eq!(
        state_of(&now, "personalize.content.profiled"),
        (None, false)
    );

    // Thirteen months and a bit later it counts as not given.
    clock.advance(jiff::SignedDuration::from_hours(24 * 396));
    let later = app.consent().current(&agent, c.id).await.expect("consents");
    assert_eq!(
        state_of(&later, "marketing.communications.sms"),
        (Some(ConsentState::Expired), false)
    );

    app.consent()
        .record(
            &agent,
            c.id,
            say("marketing.communications.sms", "given"),
            &evidence,
        )
        .await
        .expect("give again");
    app.consent()
        .record(
            &agent,
            c.id,
            say("marketing.communications.sms", "withdrawn"),
            &Evidence::default(),
        )
        .await
        .expect("withdraw");
    let history = app.consent().history(&agent, c.id).await.expect("history");
    let states: Vec<ConsentState> = history.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        vec![
            ConsentState::Expired,
            ConsentState::Given,
            ConsentState::Withdrawn
        ],
        "the ledger keeps every event; the first one reads as expired now"
    );
    assert_eq!(
        state_of(
            &app.consent().current(&agent, c.id).await.expect("consents"),
            "marketing.communications.sms"
        ),
        (Some(ConsentState::Withdrawn), false)
    );
}

#[tokio::test]
async fn withdrawing_the_last_basis_of_a_field_erases_it() {
    let (dir, app) = app().await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    // The field comes only with the consent it depends on.
    let mut with_interests = say(PROFILED, "refused");
    with_interests
        .fields
        .insert("interests".into(), "gardening".into());
    assert!(matches!(
        app.consent()
            .record(&agent, c.id, with_interests.clone(), &Evidence::default())
            .await,
        Err(AppError::Invalid(_))
    ));
    with_interests.state = "given".into();
    app.consent()
        .record(&agent, c.id, with_interests, &Evidence::default())
        .await
        .expect("given, with the field it needs");
    assert!(
        stored_fields(&dir).await.contains("interests"),
        "stored with the consent"
    );

    app.consent()
        .record(
            &agent,
            c.id,
            say(PROFILED, "withdrawn"),
            &Evidence::default(),
        )
        .await
        .expect("withdraw");
    let fields = stored_fields(&dir).await;
    assert!(!fields.contains("interests"), "erased with the consent");
    assert!(fields.contains("email"), "fields with other bases stay");
    let minimised = app
        .audit()
        .search(
            &actor(&app, Role::Auditor),
            steward_app::AuditFilter {
                action: Some("customer.minimise".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert_eq!(minimised.len(), 1);
    assert_eq!(minimised[0].record.fields, vec!["interests".to_string()]);
}

/// The field names in the stored (sealed) customer rows; names are kept in the clear.
async fn stored_fields(home: &Home) -> String {
    let blobs = home.blobs("SELECT fields FROM customers").await;
    String::from_utf8_lossy(&blobs.concat()).into_owned()
}

#[tokio::test]
async fn only_consent_purposes_take_consent_and_marketers_cannot_grant_it() {
    let (_dir, app) = app().await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    for (purpose, state) in [
        ("essential.service", "given"),
        ("no.such.purpose", "given"),
        (PROFILED, "maybe"),
        (PROFILED, "expired"),
    ] {
        assert!(
            matches!(
                app.consent()
                    .record(&agent, c.id, say(purpose, state), &Evidence::default())
                    .await,
                Err(AppError::Invalid(_))
            ),
            "{purpose} {state}"
        );
    }
    let marketer = access(&app, Role::Marketer, "marketing.communications.sms");
    assert!(matches!(
        app.consent()
            .record(
                &marketer,
                c.id,
                say("marketing.communications.sms", "given"),
                &Evidence::default()
            )
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert!(matches!(
        app.consent()
            .record(
                &agent,
                uuid::Uuid::now_v7(),
                say(PROFILED, "given"),
                &Evidence::default()
            )
            .await,
        Err(AppError::NotFound)
    ));
    assert!(
        app.consent()
            .history(&agent, c.id)
            .await
            .expect("history")
            .is_empty()
    );
}

#[tokio::test]
async fn a_gpc_signal_withdraws_sale_sharing_and_third_party_ads_only() {
    let (_dir, app) = app().await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    const ADS: &str = "marketing.advertising.third_party.targeted";
    for purpose in [ADS, "marketing.communications.sms"] {
        app.consent()
            .record(&agent, c.id, say(purpose, "given"), &Evidence::default())
            .await
            .expect("give");
    }
    let recorded = app
        .consent()
        .honour_gpc(&agent, c.id, &Evidence::default())
        .await
        .expect("gpc");
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (recorded[0].purpose.as_str(), recorded[0].method.as_str()),
        (ADS, "gpc")
    );
    let now = app.consent().current(&agent, c.id).await.expect("consents");
    assert_eq!(state_of(&now, ADS), (Some(ConsentState::Withdrawn), false));
    assert_eq!(
        state_of(&now, "marketing.communications.sms"),
        (Some(ConsentState::Given), true),
        "GPC is about sale and sharing, not the customer's own newsletter"
    );
    assert!(
        app.consent()
            .honour_gpc(&agent, c.id, &Evidence::default())
            .await
            .expect("again")
            .is_empty(),
        "a repeated signal records nothing new"
    );
}

#[tokio::test]
async fn an_audience_excludes_expired_consent() {
    let (_dir, app, clock) = app_with_clock().await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    app.consent()
        .record(
            &agent,
            c.id,
            say("marketing.communications.sms", "given"),
            &Evidence::default(),
        )
        .await
        .expect("give");
    let marketer = access(&app, Role::Marketer, "marketing.communications.sms");
    let query = steward_app::AudienceQuery {
        purpose: "marketing.communications.sms".into(),
        ..Default::default()
    };
    assert_eq!(
        app.segments()
            .audience(&marketer, &query)
            .await
            .expect("audience")
            .count,
        1
    );
    clock.advance(jiff::SignedDuration::from_hours(24 * 396));
    assert_eq!(
        app.segments()
            .audience(&marketer, &query)
            .await
            .expect("audience")
            .count,
        0,
        "thirteen months on, the consent has expired"
    );
}

#[tokio::test]
async fn the_dashboard_counts_consent_rates_and_consents_given_per_day() {
    let (_dir, app) = app().await;
    let agent = agent(&app);
    let ada = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    app.customers()
        .create(&agent, input("bob@example.com", "Bob"))
        .await
        .expect("create");
    app.consent()
        .record(
            &agent,
            ada.id,
            say("marketing.communications.sms", "given"),
            &Evidence::default(),
        )
        .await
        .expect("give");
    let d = app.dashboard().await.expect("dashboard");
    let reach = |key: &str| {
        d.consent_reach
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, n)| *n)
            .expect("reach")
    };
    assert_eq!(d.customers, 2);
    assert_eq!(
        reach("marketing.communications.sms"),
        1,
        "one of two customers"
    );
    assert_eq!(reach("marketing.communications.email"), 0);
    let today = d.consents_given_per_day.last().expect("today");
    assert_eq!(today.1.get("marketing.communications.sms"), Some(&1));
}

/// A notice with a summary for every purpose of the catalog.
fn notice(app: &steward_app::Steward, version: &str, material: bool) -> steward_app::NoticeInput {
    steward_app::NoticeInput {
        version: version.into(),
        language: "en".into(),
        effective_at: None,
        material,
        body: "How we use your data.".into(),
        summaries: app
            .catalog()
            .purposes()
            .iter()
            .map(|p| {
                let summary = steward_app::PurposeSummary {
                    collected: "Your phone number.".into(),
                    why: "To send you offers.".into(),
                    how_long: "Until you say stop.".into(),
                    recipients: "Our text message service.".into(),
                };
                (p.key.clone(), summary)
            })
            .collect(),
    }
}

async fn publish(app: &steward_app::Steward, version: &str, material: bool) {
    let dpo = actor(app, Role::Dpo);
    let draft = app
        .notices()
        .create(&dpo, notice(app, version, material))
        .await
        .expect("draft");
    app.notices()
        .publish(&dpo, draft.id)
        .await
        .expect("publish");
}

#[tokio::test]
async fn a_notice_is_published_only_with_a_summary_for_every_purpose() {
    let (_dir, app) = app().await;
    let dpo = actor(&app, Role::Dpo);
    let mut partial = notice(&app, "2026-01", false);
    partial.summaries.remove("essential.legal_obligation");
    partial.summaries.remove("marketing.communications.email");
    let draft = app
        .notices()
        .create(&dpo, partial)
        .await
        .expect("a draft may be incomplete");
    match app.notices().publish(&dpo, draft.id).await {
        Err(AppError::NoticeIncomplete(missing)) => assert_eq!(
            missing,
            [
                "essential.legal_obligation",
                "marketing.communications.email"
            ]
        ),
        other => panic!("expected the missing purposes named, got {other:?}"),
    }
    assert!(
        app.notices().current().await.expect("read").is_none(),
        "nothing was published"
    );
    let whole = app
        .notices()
        .create(&dpo, notice(&app, "2026-02", false))
        .await
        .expect("draft");
    app.notices()
        .publish(&dpo, whole.id)
        .await
        .expect("publish");
    assert_eq!(
        app.notices()
            .current()
            .await
            .expect("read")
            .map(|n| n.version),
        Some("2026-02".into())
    );
}

#[tokio::test]
async fn consent_names_a_published_notice_and_a_material_change_asks_again() {
    let (_dir, app, clock) = app_with_clock().await;
    let agent = agent(&app);
    let marketer = access(&app, Role::Marketer, "marketing.communications.sms");
    let reach = || {
        let query = steward_app::AudienceQuery {
            purpose: "marketing.communications.sms".into(),
            ..Default::default()
        };
        let (app, marketer) = (&app, &marketer);
        async move {
            app.segments()
                .audience(marketer, &query)
                .await
                .expect("audience")
                .count
        }
    };
    let c = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    publish(&app, "2026-01", false).await;
    match app
        .consent()
        .record(
            &agent,
            c.id,
            ConsentInput {
                notice_version: Some("draft-9".into()),
                ..say("marketing.communications.sms", "given")
            },
            &Evidence::default(),
        )
        .await
    {
        Err(AppError::Invalid(e)) => assert_eq!(e[0].field, "notice_version"),
        other => panic!("an unpublished version is refused, got {other:?}"),
    }
    let given = app
        .consent()
        .record(
            &agent,
            c.id,
            ConsentInput {
                notice_version: None,
                ..say("marketing.communications.sms", "given")
            },
            &Evidence::default(),
        )
        .await
        .expect("given");
    assert_eq!(
        given.notice_version.as_deref(),
        Some("2026-01"),
        "the notice in force"
    );
    assert_eq!(reach().await, 1);

    clock.advance(jiff::SignedDuration::from_hours(1));
    publish(&app, "2026-02", false).await;
    assert_eq!(reach().await, 1, "a minor change asks nothing");

    clock.advance(jiff::SignedDuration::from_hours(1));
    publish(&app, "2026-03", true).await;
    assert_eq!(
        reach().await,
        0,
        "consent given before a material change lapses"
    );
    let now = app.consent().current(&agent, c.id).await.expect("consents");
    assert_eq!(
        state_of(&now, "marketing.communications.sms"),
        (Some(ConsentState::Expired), false)
    );

    clock.advance(jiff::SignedDuration::from_mins(5));
    match app
        .consent()
        .record(
            &agent,
            c.id,
            ConsentInput {
                notice_version: Some("2026-01".into()),
                ..say("marketing.communications.sms", "given")
            },
            &Evidence::default(),
        )
        .await
    {
        Err(AppError::Invalid(e)) => assert_eq!(e[0].field, "notice_version"),
        other => panic!("a notice replaced by a material change is refused, got {other:?}"),
    }
    let again = app
        .consent()
        .record(
            &agent,
            c.id,
            ConsentInput {
                notice_version: None,
                ..say("marketing.communications.sms", "given")
            },
            &Evidence::default(),
        )
        .await
        .expect("asked again");
    assert_eq!(again.notice_version.as_deref(), Some("2026-03"));
    assert_eq!(reach().await, 1, "given again under the new notice");
}

#[tokio::test]
async fn an_objection_to_direct_marketing_ends_every_marketing_consent_at_once() {
    let (_dir, app) = app().await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    for purpose in ["marketing.communications.sms", PROFILED] {
        app.consent()
            .record(&agent, c.id, say(purpose, "given"), &Evidence::default())
            .await
            .expect("given");
    }
    let reach = |purpose: &'static str| {
        let marketer = access(&app, Role::Marketer, purpose);
        let query = steward_app::AudienceQuery {
            purpose: purpose.into(),
            ..Default::default()
        };
        let app = &app;
        async move {
            app.segments()
                .audience(&marketer, &query)
                .await
                .expect("audience")
                .count
        }
    };
    assert_eq!(reach("marketing.communications.sms").await, 1);

    let events = app
        .consent()
        .object_to_direct_marketing(&agent, c.id, &Evidence::default())
        .await
        .expect("objection");
    assert!(events.iter().all(|e| e.method == "objection"));
    assert_eq!(
        reach("marketing.communications.sms").await,
        0,
        "absolute and immediate"
    );
    let now = app.consent().current(&agent, c.id).await.expect("consents");
    assert_eq!(
        state_of(&now, "marketing.communications.sms"),
        (Some(ConsentState::Withdrawn), false)
    );
    assert_eq!(
        state_of(&now, "marketing.communications.email"),
        (Some(ConsentState::Refused), false),
        "never asked, now refused: the ledger shows the objection"
    );
    assert_eq!(
        state_of(&now, PROFILED),
        (Some(ConsentState::Withdrawn), false),
        "profiling for marketing ends with it (Art. 21(2))"
    );
}

#[tokio::test]
async fn the_readability_line_is_the_operators_to_set() {
    let summary = || steward_app::PurposeSummary {
        collected: "Your phone number.".into(),
        why: "To send you offers.".into(),
        how_long: "Until you say stop.".into(),
        recipients: "Our text message service.".into(),
    };
    let draft = |version: &str| steward_app::NoticeInput {
        version: version.into(),
        language: "en".into(),
        effective_at: None,
        material: false,
        body: "Text.".into(),
        summaries: [("marketing.communications.sms".to_string(), summary())].into(),
    };
    let (_dir, app) = app().await;
    let plain = app
        .notices()
        .create(&actor(&app, Role::Dpo), draft("a"))
        .await
        .expect("draft");
    let score = plain.summaries["marketing.communications.sms"].readability;
    assert!(
        !plain.summaries["marketing.communications.sms"].hard_to_read,
        "{score}"
    );

    let dir = Home::new().await;
    let strict = steward_app::Steward::open(steward_app::OpenOptions {
        readable_at_least: score + 1.0,
        staff_shown_as: Default::default(),
        ..dir.options(clock())
    })
    .await
    .expect("open");
    let flagged = strict
        .notices()
        .create(&actor(&app, Role::Dpo), draft("a"))
        .await
        .expect("draft");
    assert!(flagged.summaries["marketing.communications.sms"].hard_to_read);
    assert_eq!(strict.notices().readability_threshold(), score + 1.0);
}

#[tokio::test]
async fn a_consent_that_lapses_is_marked_expired_and_its_fields_erased() {
    let (_dir, app, clock) = app_with_clock().await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    let mut profiled = say(PROFILED, "given");
    profiled
        .fields
        .insert("interests".into(), "gardening".into());
    app.consent()
        .record(&agent, c.id, profiled, &Evidence::default())
        .await
        .expect("given with the field it needs");
    app.consent()
        .record(
            &agent,
            c.id,
            say("marketing.communications.sms", "given"),
            &Evidence::default(),
        )
        .await
        .expect("sms");
    assert_eq!(
        app.consent().expire_lapsed(|_| {}).await.expect("run"),
        0,
        "nothing lapsed yet"
    );

    // Thirteen months on, both lapse; the interests field has no basis left.
    clock.advance(jiff::SignedDuration::from_hours(24 * 396));
    assert_eq!(app.consent().expire_lapsed(|_| {}).await.expect("run"), 2);
    assert_eq!(
        app.consent().expire_lapsed(|_| {}).await.expect("again"),
        0,
        "idempotent"
    );
    let history = app.consent().history(&agent, c.id).await.expect("history");
    let last = history.last().expect("events");
    assert_eq!(
        (last.state, last.method.as_str()),
        (ConsentState::Expired, "expiry")
    );
    let dpo = dpo(&app);
    let held = app.customers().get(&dpo, c.id).await.expect("read");
    assert!(
        !held.fields.contains_key("interests"),
        "erased with the lapse"
    );
    assert_eq!(
        held.fields.get("given_name").map(String::as_str),
        Some("Ada"),
        "the rest stays"
    );
    let minimised = app
        .audit()
        .search(
            &actor(&app, Role::Auditor),
            steward_app::AuditFilter {
                action: Some("customer.minimise".into()),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert_eq!(minimised.len(), 1);
    assert_eq!(minimised[0].record.fields, ["interests"]);
}

const ADS: &str = "marketing.advertising.third_party.targeted";

/// A catalog with two more fields: one kept only for third-party advertising, so that a
/// GPC signal erases it, and one only for email marketing, which asks for confirmation.
async fn app_with_an_ads_field() -> (Home, steward_app::Steward) {
    let home = Home::new().await;
    let extra = r#"
[[field]]
key = "ad_audience"
label = "Advertising audience"
category = "user.behavior"
sensitivity = "standard"
kind = "text"
max_length = 100
purposes = ["marketing.advertising.third_party.targeted"]

[[field]]
key = "newsletter_topics"
label = "Newsletter topics"
category = "user.behavior"
sensitivity = "standard"
kind = "text"
max_length = 100
purposes = ["marketing.communications.email"]
"#;
    let catalog = steward_app::core::Catalog::from_sources(&[
        ("default", steward_app::core::catalog::DEFAULT_CATALOG),
        ("extra", extra),
    ])
    .expect("catalog");
    let app = steward_app::Steward::open(steward_app::OpenOptions {
        catalog,
        ..home.options(clock())
    })
    .await
    .expect("open steward");
    (home, app)
}

#[tokio::test]
async fn a_decision_sent_with_a_gpc_signal_commits_with_its_withdrawals_or_not_at_all() {
    let (dir, app) = app_with_an_ads_field().await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    let mut ads = say(ADS, "given");
    ads.fields.insert("ad_audience".into(), "gardeners".into());
    app.consent()
        .record(&agent, c.id, ads, &Evidence::default())
        .await
        .expect("give ads with their field");

    // A refused decision takes the withdrawal its signal asked for down with it.
    let mut bad = say(PROFILED, "maybe");
    bad.fields.insert("interests".into(), "roses".into());
    assert!(matches!(
        app.consent()
            .record_with_receipt(&agent, c.id, bad, &Evidence::default(), true)
            .await,
        Err(AppError::Invalid(_))
    ));
    let now = app.consent().current(&agent, c.id).await.expect("consents");
    assert_eq!(
        state_of(&now, ADS),
        (Some(ConsentState::Given), true),
        "nothing of a refused request is written"
    );
    assert!(stored_fields(&dir).await.contains("ad_audience"));

    // Accepted: the withdrawal, the erasure it brings and the decision with its value are
    // one change of the customer.
    let mut good = say(PROFILED, "given");
    good.fields.insert("interests".into(), "roses".into());
    let event = app
        .consent()
        .record_with_receipt(&agent, c.id, good, &Evidence::default(), true)
        .await
        .expect("decision with the signal");
    assert!(
        event.receipt.is_some(),
        "the decision sent carries its receipt"
    );
    let now = app.consent().current(&agent, c.id).await.expect("consents");
    assert_eq!(state_of(&now, ADS), (Some(ConsentState::Withdrawn), false));
    assert_eq!(state_of(&now, PROFILED), (Some(ConsentState::Given), true));
    let fields = stored_fields(&dir).await;
    assert!(
        !fields.contains("ad_audience"),
        "erased with its only basis"
    );
    assert!(fields.contains("interests"), "the value sent is kept");
    let shown = app
        .customers()
        .get(&agent, c.id)
        .await
        .expect("the row reads back whole");
    assert_eq!(
        shown.fields.get("given_name").map(String::as_str),
        Some("Ada")
    );
    app.customers()
        .update(
            &agent,
            c.id,
            steward_app::CustomerPatch {
                fields: [("given_name".to_string(), Some("Augusta".to_string()))]
                    .into_iter()
                    .collect(),
                residency: None,
                tags: None,
                status: None,
            },
            shown.version,
        )
        .await
        .expect("the version the commit left is the one read");
}

#[tokio::test]
async fn values_sent_with_a_decision_awaiting_confirmation_survive_the_gpc_signal_sent_along() {
    let (dir, app) = app_with_an_ads_field().await;
    let agent = agent(&app);
    let c = app
        .customers()
        .create(&agent, input("ada@example.com", "Ada"))
        .await
        .expect("create");
    let mut ads = say(ADS, "given");
    ads.fields.insert("ad_audience".into(), "gardeners".into());
    app.consent()
        .record(&agent, c.id, ads, &Evidence::default())
        .await
        .expect("give ads with their field");
    let mut email = say("marketing.communications.email", "given");
    email
        .fields
        .insert("newsletter_topics".into(), "roses".into());
    let event = app
        .consent()
        .record_with_receipt(&agent, c.id, email, &Evidence::default(), true)
        .await
        .expect("asked for, with the signal");
    assert_eq!(event.state, ConsentState::Requested, "waits for its link");
    let fields = stored_fields(&dir).await;
    assert!(
        !fields.contains("ad_audience"),
        "erased with its only basis"
    );
    assert!(
        fields.contains("newsletter_topics"),
        "kept with the consent asked for, as without the signal"
    );
}

const SMS: &str = "marketing.communications.sms";

/// Decisions recorded at once share commits; each is answered with its own outcome, and one
/// that cannot commit (its customer erased meanwhile) takes none of the others with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_recorded_at_once_are_each_answered_and_a_failing_one_fails_alone() {
    let (_dir, app) = app().await;
    let app = std::sync::Arc::new(app);
    let agent = agent(&app);
    let mut ids = Vec::new();
    for n in 0..24 {
        ids.push(
            app.customers()
                .create(&agent, input(&format!("c{n}@example.com"), "Cy"))
                .await
                .expect("create")
                .id,
        );
    }
    let gone = ids[7];
    app.rights().erase(&dpo(&app), gone).await.expect("erase");
    let mut running = tokio::task::JoinSet::new();
    for (n, id) in ids.iter().copied().enumerate() {
        for purpose in [SMS, PROFILED] {
            let (app, agent) = (app.clone(), agent.clone());
            running.spawn(async move {
                let state = if n % 3 == 0 { "withdrawn" } else { "given" };
                let out = app
                    .consent()
                    .record(&agent, id, say(purpose, state), &Evidence::default())
                    .await;
                (id, purpose, state, out)
            });
        }
    }
    let mut answered = 0;
    while let Some(done) = running.join_next().await {
        let (id, purpose, state, out) = done.expect("task");
        answered += 1;
        if id == gone {
            assert!(matches!(out, Err(AppError::NotFound)), "{out:?}");
            continue;
        }
        let event = out.expect("recorded");
        assert_eq!(event.purpose, purpose);
        let now = app.consent().current(&agent, id).await.expect("current");
        assert_eq!(
            state_of(&now, purpose).1,
            state == "given",
            "{id} {purpose} {state}"
        );
    }
    assert_eq!(answered, 48);
    let report = app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
}
