//! Segments, audiences and campaigns (I3): a campaign reaches only customers whose consent
//! is given now, each message carries a one-click unsubscribe (RFC 8058), and unsubscribing
//! withdraws the consent.

use std::collections::BTreeMap;

use steward_app::core::Role;
use steward_app::core::consent::ConsentState;
use steward_app::{
    AppError, AudienceQuery, ConsentInput, Evidence, NewCampaign, NewSegment, Period, SegmentFilter,
};
use steward_testkit::smtp::SmtpServer;

use crate::support::*;

const EMAIL: &str = "marketing.communications.email";

fn imported(purpose: &str, state: &str) -> ConsentInput {
    ConsentInput {
        purpose: purpose.into(),
        state: state.into(),
        notice_version: Some("2026-01".into()),
        method: Some("import".into()),
        fields: BTreeMap::new(),
    }
}

fn campaign(filter: Option<SegmentFilter>) -> NewCampaign {
    NewCampaign {
        name: "Spring sale".into(),
        purpose: EMAIL.into(),
        segment_id: None,
        filter,
        subject: "Spring is here".into(),
        body: "Twenty percent off everything green.".into(),
    }
}

#[tokio::test]
async fn segment_filters_are_checked_field_by_field() {
    let (_dir, app) = app().await;
    let marketer = actor(&app, Role::Marketer);
    let bad = NewSegment {
        name: " ".into(),
        filter: SegmentFilter {
            residency: vec!["DE".into(), "Narnia".into()],
            status: Some("sleeping".into()),
            created: Some(Period {
                last_days: Some(0),
                from: Some("yesterday".into()),
                until: None,
            }),
            updated: Some(Period {
                last_days: Some(u32::MAX),
                ..Default::default()
            }),
            ..Default::default()
        },
    };
    match app.segments().create(&marketer, bad).await {
        Err(AppError::Invalid(errors)) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(
                fields,
                [
                    "name",
                    "filter.residency[1]",
                    "filter.status",
                    "filter.created.last_days",
                    "filter.created.from",
                    "filter.updated.last_days"
                ]
            );
        }
        other => panic!("expected field errors, got {other:?}"),
    }
    assert!(matches!(
        app.segments()
            .create(
                &actor(&app, Role::Agent),
                NewSegment {
                    name: "x".into(),
                    filter: SegmentFilter::default()
                }
            )
            .await,
        Err(AppError::Forbidden(_))
    ));
    let saved = app
        .segments()
        .create(
            &marketer,
            NewSegment {
                name: "Recent VIPs".into(),
                filter: SegmentFilter {
                    tags: vec!["vip".into()],
                    created: Some(Period {
                        last_days: Some(30),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            },
        )
        .await
        .expect("saved");
    assert_eq!(
        app.segments().list(&marketer).await.expect("list"),
        vec![saved]
    );
}

#[tokio::test]
async fn a_campaign_reaches_consenting_customers_and_unsubscribing_withdraws() {
    let smtp = SmtpServer::start();
    let (_dir, app, clock) = app_with_mail(&smtp.url()).await;
    let agent = agent(&app);
    let mut ids = Vec::new();
    for (email, tag) in [
        ("ann@example.com", "vip"),
        ("ben@example.com", "vip"),
        ("cat@example.com", "vip"),
        ("dan@example.com", "new"),
    ] {
        let mut input = input(email, "X");
        input.tags = vec![tag.into()];
        ids.push(
            app.customers()
                .create(&agent, input)
                .await
                .expect("create")
                .id,
        );
    }
    for id in &ids[..2] {
        app.consent()
            .record(&agent, *id, imported(EMAIL, "given"), &Evidence::default())
            .await
            .expect("given");
    }
    app.consent()
        .record(
            &agent,
            ids[2],
            imported(EMAIL, "refused"),
            &Evidence::default(),
        )
        .await
        .expect("refused");
    app.consent()
        .record(
            &agent,
            ids[3],
            imported(EMAIL, "given"),
            &Evidence::default(),
        )
        .await
        .expect("given");

    let marketer = access(&app, Role::Marketer, EMAIL);
    let vip = SegmentFilter {
        tags: vec!["vip".into()],
        ..Default::default()
    };
    let query = |filter: Option<SegmentFilter>| AudienceQuery {
        purpose: EMAIL.into(),
        segment_id: None,
        filter,
    };
    assert_eq!(
        app.segments()
            .audience(&marketer, &query(Some(vip.clone())))
            .await
            .expect("count")
            .count,
        2
    );
    assert_eq!(
        app.segments()
            .audience(&marketer, &query(None))
            .await
            .expect("count")
            .count,
        3
    );

    let segment = app
        .segments()
        .start_export(&marketer, &query(Some(vip.clone())))
        .await
        .expect("export");
    let (members, _) = app
        .segments()
        .audience_page(&marketer, &segment, None)
        .await
        .expect("page")
        .expect("members");
    assert_eq!(members.len(), 2);
    let needed: Vec<String> = app
        .catalog()
        .fields()
        .iter()
        .filter(|f| f.needed_for(EMAIL))
        .map(|f| f.key.clone())
        .collect();
    for m in &members {
        assert!(
            m.fields.keys().all(|k| needed.contains(k)),
            "only the purpose's fields: {:?}",
            m.fields.keys()
        );
        assert!(!m.fields.contains_key("phone"));
    }

    let draft = app
        .campaigns()
        .create(&marketer, campaign(Some(vip)))
        .await
        .expect("draft");
    assert_eq!(draft.state, "draft");
    let sent = app
        .campaigns()
        .send(&marketer, draft.id)
        .await
        .expect("send");
    assert_eq!((sent.state.as_str(), sent.recipients), ("sent", 2));
    assert!(matches!(
        app.campaigns().send(&marketer, draft.id).await,
        Err(AppError::Conflict(_))
    ));
    app.outbox().deliver_due().await.expect("deliver");
    let mail = smtp.wait_for(2);
    let mut to: Vec<String> = mail
        .iter()
        .map(|m| m.header("X-RcptTo").unwrap_or_default().to_string())
        .collect();
    to.sort();
    assert_eq!(
        to,
        ["ann@example.com", "ben@example.com"],
        "not the refusal, not the other tag"
    );
    let first = &mail[0];
    assert_eq!(
        first.header("List-Unsubscribe-Post"),
        Some("List-Unsubscribe=One-Click")
    );
    let header = first.header("List-Unsubscribe").expect("List-Unsubscribe");
    let url = header.trim_start_matches('<').trim_end_matches('>');
    assert!(url.starts_with("http://steward.test/unsubscribe/"), "{url}");
    assert_eq!(
        first.link("http://steward.test/unsubscribe/").as_deref(),
        Some(url),
        "and in the body"
    );
    let token = url.rsplit('/').next().expect("token");

    clock.advance(jiff::SignedDuration::from_mins(1));
    let withdrawn = app
        .links()
        .unsubscribe(token, &Evidence::default())
        .await
        .expect("unsubscribe")
        .expect("a withdrawal");
    assert_eq!(
        (withdrawn.state, withdrawn.method.as_str()),
        (ConsentState::Withdrawn, "unsubscribe")
    );
    assert!(
        app.links()
            .unsubscribe(token, &Evidence::default())
            .await
            .expect("again")
            .is_none(),
        "once is enough"
    );
    assert_eq!(
        app.segments()
            .audience(&marketer, &query(None))
            .await
            .expect("count")
            .count,
        2
    );

    let log = app
        .campaigns()
        .get(marketer.actor(), draft.id)
        .await
        .expect("log")
        .log;
    assert_eq!(
        (log.sent, log.failed, log.pending, log.unsubscribed),
        (2, 0, 0, 1)
    );
}

#[tokio::test]
async fn campaigns_are_for_marketing_purposes_only() {
    let (_dir, app) = app().await;
    let admin = app.local_staff("user:admin", Role::Admin, &["essential.service"]);
    let support = app
        .access(&admin, Some("essential.service"))
        .expect("access");
    assert!(matches!(
        app.campaigns()
            .create(
                &support,
                NewCampaign {
                    purpose: "essential.service".into(),
                    ..campaign(None)
                }
            )
            .await,
        Err(AppError::Forbidden(_))
    ));
    let sms = access(&app, Role::Marketer, "marketing.communications.sms");
    assert!(matches!(
        app.campaigns().create(&sms, NewCampaign { purpose: "marketing.communications.sms".into(), ..campaign(None) }).await,
        Err(AppError::Invalid(e)) if e[0].field == "purpose"
    ));
    let marketer = access(&app, Role::Marketer, EMAIL);
    match app
        .campaigns()
        .create(
            &marketer,
            NewCampaign {
                subject: "two\nlines".into(),
                body: String::new(),
                ..campaign(None)
            },
        )
        .await
    {
        Err(AppError::Invalid(e)) => {
            assert_eq!(
                e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
                ["body", "subject"]
            );
        }
        other => panic!("expected field errors, got {other:?}"),
    }
}

#[tokio::test]
async fn a_queued_campaign_message_is_dropped_when_consent_ends_before_it_leaves() {
    let smtp = SmtpServer::start();
    let (_dir, app, _clock) = app_with_mail(&smtp.url()).await;
    let agent = agent(&app);
    let mut ids = Vec::new();
    for email in ["kim@example.com", "lee@example.com"] {
        let id = app
            .customers()
            .create(&agent, input(email, "X"))
            .await
            .expect("create")
            .id;
        app.consent()
            .record(&agent, id, imported(EMAIL, "given"), &Evidence::default())
            .await
            .expect("given");
        ids.push(id);
    }
    let marketer = access(&app, Role::Marketer, EMAIL);
    let draft = app
        .campaigns()
        .create(&marketer, campaign(None))
        .await
        .expect("draft");
    assert_eq!(
        app.campaigns()
            .send(&marketer, draft.id)
            .await
            .expect("send")
            .recipients,
        2
    );
    app.consent()
        .record(
            &agent,
            ids[1],
            imported(EMAIL, "withdrawn"),
            &Evidence::default(),
        )
        .await
        .expect("withdrawn while the message waits");
    let round = app.outbox().deliver_due().await.expect("deliver");
    assert_eq!((round.sent, round.failed), (1, 1));
    let mail = smtp.wait_for(1);
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0]
            .header("X-RcptTo")
            .is_some_and(|to| to.contains("kim@example.com"))
    );
    let log = app
        .campaigns()
        .get(marketer.actor(), draft.id)
        .await
        .expect("log")
        .log;
    assert_eq!((log.sent, log.failed), (1, 1));
}
