//! Duplicate customers merged: the most restrictive consent kept, fields filled by the
//! stated rule, interactions readable under the survivor's key, the merged-away id pointing
//! at the survivor, the audit chain whole, a dry run that changes nothing, and refusals with
//! their reasons. Each runs on the suite's engine.

use steward_app::core::Role;
use steward_app::core::consent::ConsentState;
use steward_app::{
    Access, AppError, ConsentInput, CustomerInput, CustomerQuery, Evidence, InteractionInput,
    MergeRefusal, Steward,
};
use uuid::Uuid;

use crate::support::*;

const EMAIL: &str = "marketing.communications.email";
const SMS: &str = "marketing.communications.sms";
const PROFILED: &str = "personalize.content.profiled";
const TARGETED: &str = "marketing.advertising.third_party.targeted";

fn customer(fields: &[(&str, &str)], tags: &[&str]) -> CustomerInput {
    CustomerInput {
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        residency: "de".into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}

async fn said(app: &Steward, access: &Access, id: Uuid, purpose: &str, state: &str) {
    app.consent()
        .record(
            access,
            id,
            ConsentInput {
                purpose: purpose.into(),
                state: state.into(),
                notice_version: None,
                method: Some("import".into()),
                fields: Default::default(),
            },
            &Evidence::default(),
        )
        .await
        .expect("consent recorded");
}

async fn note(app: &Steward, access: &Access, id: Uuid, summary: &str) -> Uuid {
    app.interactions()
        .add(
            access,
            id,
            InteractionInput {
                kind: "note".into(),
                occurred_at: None,
                summary: summary.into(),
                body: Some(format!("{summary}, in full")),
                facets: Default::default(),
            },
        )
        .await
        .expect("interaction")
        .id
}

/// Two records of one person: the survivor with a name and no email, the duplicate with
/// the email, another phone, a note and other consents.
async fn duplicates(app: &Steward, agent: &Access) -> (Uuid, Uuid) {
    let survivor = app
        .customers()
        .create(
            agent,
            customer(
                &[("given_name", "Ada"), ("phone", "+49 30 1111111")],
                &["vip"],
            ),
        )
        .await
        .expect("survivor")
        .id;
    let merged = app
        .customers()
        .create(
            agent,
            customer(
                &[
                    ("given_name", "Adelheid"),
                    ("email", "ada.duplicate@example.com"),
                    ("phone", "+49 30 2222222"),
                    ("company", "Lovelace Engines"),
                ],
                &["newsletter"],
            ),
        )
        .await
        .expect("duplicate")
        .id;
    (survivor, merged)
}

async fn state(app: &Steward, access: &Access, id: Uuid, purpose: &str) -> Option<ConsentState> {
    app.consent()
        .current(access, id)
        .await
        .expect("consents")
        .into_iter()
        .find(|c| c.purpose == purpose)
        .expect("purpose listed")
        .state
}

#[tokio::test]
async fn a_merge_keeps_the_most_restrictive_consent() {
    let (_home, app) = app().await;
    let agent = agent(&app);
    let (survivor, merged) = duplicates(&app, &agent).await;
    // The survivor gave email and targeted advertising and refused profiling.
    said(&app, &agent, survivor, EMAIL, "given").await;
    said(&app, &agent, survivor, TARGETED, "given").await;
    said(&app, &agent, survivor, PROFILED, "refused").await;
    // The duplicate withdrew email, gave SMS and profiling, never answered on advertising.
    said(&app, &agent, merged, EMAIL, "given").await;
    said(&app, &agent, merged, EMAIL, "withdrawn").await;
    said(&app, &agent, merged, SMS, "given").await;
    said(&app, &agent, merged, PROFILED, "given").await;

    let view = app
        .customers()
        .merge(&agent, survivor, merged, false)
        .await
        .expect("merged");

    for (purpose, expected) in [
        // A withdrawal on one side beats a grant on the other, whichever side it is on.
        (EMAIL, Some(ConsentState::Withdrawn)),
        (PROFILED, Some(ConsentState::Refused)),
        // A grant stands against no answer.
        (SMS, Some(ConsentState::Given)),
        (TARGETED, Some(ConsentState::Given)),
    ] {
        assert_eq!(
            state(&app, &agent, survivor, purpose).await,
            expected,
            "{purpose}"
        );
        let shown = view.consents.iter().find(|c| c.purpose == purpose);
        assert_eq!(
            shown.and_then(|c| c.result),
            expected,
            "{purpose} as answered"
        );
    }
    // The decisions taken from the duplicate are the survivor's events now, naming the merge.
    let carried: Vec<_> = app
        .consent()
        .history(&agent, survivor)
        .await
        .expect("history")
        .into_iter()
        .filter(|e| e.method == "merge")
        .map(|e| (e.purpose, e.state))
        .collect();
    assert_eq!(
        carried,
        vec![
            (EMAIL.to_string(), ConsentState::Withdrawn),
            (SMS.to_string(), ConsentState::Given)
        ]
    );
    // The duplicate's own history is kept as the proofs an erasure keeps, one per event.
    assert_eq!(
        _home.count("SELECT COUNT(*) FROM consent_proofs").await,
        4,
        "the duplicate's four events"
    );
}

#[tokio::test]
async fn the_survivor_keeps_its_values_takes_the_blanks_and_the_interactions() {
    let (home, app) = app().await;
    let agent = agent(&app);
    let (survivor, merged) = duplicates(&app, &agent).await;
    let moved = note(&app, &agent, merged, "Asked about the engine").await;
    // The survivor's own note is older: after the merge, the moved one is the latest.
    let earlier = app
        .now()
        .checked_sub(jiff::SignedDuration::from_hours(48))
        .expect("time");
    let own = app
        .interactions()
        .add(
            &agent,
            survivor,
            InteractionInput {
                kind: "note".into(),
                occurred_at: Some(earlier),
                summary: "Called about an invoice".into(),
                body: None,
                facets: Default::default(),
            },
        )
        .await
        .expect("interaction")
        .id;

    let view = app
        .customers()
        .merge(&agent, survivor, merged, false)
        .await
        .expect("merged");
    assert_eq!(view.interactions_moved, 1);
    assert_eq!(view.fields_filled, vec!["company", "email"]);

    let now = app
        .customers()
        .get(&agent, survivor)
        .await
        .expect("survivor");
    assert_eq!(now.fields["given_name"], "Ada", "the survivor's value wins");
    assert_eq!(now.fields["phone"], "+49301111111");
    assert_eq!(
        now.fields["email"], "ada.duplicate@example.com",
        "a blank filled"
    );
    assert_eq!(now.fields["company"], "Lovelace Engines");
    assert_eq!(now.tags, vec!["newsletter", "vip"]);
    assert_eq!(
        now.last_interaction_at,
        Some(app.now()),
        "the moved interaction is the survivor's latest"
    );

    // The email's unique index entry is the survivor's now.
    let found = app
        .customers()
        .list(
            &agent,
            CustomerQuery {
                email: Some("ada.duplicate@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .expect("search");
    assert_eq!(
        found.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![survivor]
    );

    // Both notes open under the survivor's key.
    let notes = app
        .interactions()
        .list(&agent, survivor, None, None)
        .await
        .expect("interactions");
    let mut ids: Vec<Uuid> = notes.items.iter().map(|i| i.id).collect();
    ids.sort();
    let mut expected = vec![moved, own];
    expected.sort();
    assert_eq!(ids, expected);
    let carried = notes.items.iter().find(|i| i.id == moved).expect("moved");
    assert_eq!(carried.summary, "Asked about the engine");
    assert_eq!(
        carried.body.as_deref(),
        Some("Asked about the engine, in full")
    );
    assert_eq!(carried.customer_id, survivor);

    // The duplicate is gone like an erasure, its id pointing at the survivor.
    assert!(matches!(
        app.customers().get(&agent, merged).await,
        Err(AppError::Merged { survivor: s }) if s == survivor
    ));
    assert!(app.rights().is_erased(merged).await.expect("tombstone"));
    assert_eq!(
        home.count("SELECT COUNT(*) FROM customers").await,
        1,
        "only the survivor's row"
    );
    home.assert_no_plaintext(&[
        "ada.duplicate@example.com",
        "Lovelace Engines",
        "Asked about the engine",
    ])
    .await;
}

#[tokio::test]
async fn the_audit_chain_verifies_after_a_merge_and_keeps_both_trails() {
    let (_home, app) = app().await;
    let agent = agent(&app);
    let (survivor, merged) = duplicates(&app, &agent).await;
    note(&app, &agent, merged, "Asked about the engine").await;
    said(&app, &agent, merged, SMS, "given").await;
    app.customers()
        .merge(&agent, survivor, merged, false)
        .await
        .expect("merged");

    let report = app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
    let entries = app
        .audit()
        .entries(&actor(&app, Role::Auditor), 0, 500)
        .await
        .expect("entries");
    let merges: Vec<_> = entries
        .iter()
        .filter(|e| e.record.action == "customer.merge")
        .collect();
    assert_eq!(merges.len(), 1, "one entry for the merge");
    assert_eq!(
        merges[0].record.targets,
        vec![survivor.to_string(), merged.to_string()]
    );
    // The duplicate's own trail stays.
    assert!(
        entries.iter().any(|e| e.record.action == "customer.create"
            && e.record.targets == vec![merged.to_string()])
    );
    assert!(
        entries
            .iter()
            .any(|e| e.record.action == "interaction.create"
                && e.record.targets.first() == Some(&merged.to_string()))
    );
}

#[tokio::test]
async fn a_dry_run_answers_the_outcome_and_writes_nothing_but_its_read() {
    let (home, app) = app().await;
    let agent = agent(&app);
    let (survivor, merged) = duplicates(&app, &agent).await;
    note(&app, &agent, merged, "Asked about the engine").await;
    said(&app, &agent, merged, SMS, "given").await;
    let tables = [
        "customers",
        "customer_tags",
        "interactions",
        "consent_events",
        "consent_current",
        "unique_index",
        "blind_index",
        "tombstones",
        "customer_merges",
        "consent_proofs",
    ];
    let mut before = Vec::new();
    for t in tables {
        before.push(home.count(&format!("SELECT COUNT(*) FROM {t}")).await);
    }
    let audit_before = home.count("SELECT COUNT(*) FROM audit_log").await;
    let before_rows = home.blobs("SELECT fields FROM customers ORDER BY id").await;

    let view = app
        .customers()
        .merge(&agent, survivor, merged, true)
        .await
        .expect("dry run");
    assert!(view.dry_run);
    assert_eq!(view.customer.fields["email"], "ada.duplicate@example.com");
    assert_eq!(view.customer.fields["given_name"], "Ada");
    assert_eq!(view.interactions_moved, 1);
    assert!(view.field_rule.starts_with("the survivor's value wins"));
    let sms = view
        .consents
        .iter()
        .find(|c| c.purpose == SMS)
        .expect("sms");
    assert_eq!(sms.result, Some(ConsentState::Given));
    assert_eq!(sms.kept_from, "merged");

    for (t, n) in tables.iter().zip(before) {
        assert_eq!(
            home.count(&format!("SELECT COUNT(*) FROM {t}")).await,
            n,
            "{t}"
        );
    }
    assert_eq!(
        home.blobs("SELECT fields FROM customers ORDER BY id").await,
        before_rows
    );
    // What it read is audited, like any read.
    app.audit().verify().await.expect("verify");
    assert_eq!(
        home.count("SELECT COUNT(*) FROM audit_log").await,
        audit_before + 1
    );
    app.customers()
        .get(&agent, merged)
        .await
        .expect("still there");
}

#[tokio::test]
async fn merges_that_cannot_be_are_refused_and_change_nothing() {
    let (home, app) = app().await;
    let agent = agent(&app);
    let dpo = dpo(&app);
    let (survivor, merged) = duplicates(&app, &agent).await;

    assert!(matches!(
        app.customers()
            .merge(&agent, survivor, survivor, false)
            .await,
        Err(AppError::MergeRefused(MergeRefusal::SameCustomer))
    ));
    assert!(matches!(
        app.customers()
            .merge(&agent, survivor, Uuid::now_v7(), false)
            .await,
        Err(AppError::NotFound)
    ));

    let hold = app
        .holds()
        .create(
            &dpo,
            serde_json::from_value(serde_json::json!({
                "customer_id": merged, "reason": "Litigation", "owner": "Legal"
            }))
            .expect("hold input"),
        )
        .await
        .expect("hold");
    assert!(matches!(
        app.customers().merge(&agent, survivor, merged, false).await,
        Err(AppError::MergeRefused(MergeRefusal::LegalHold))
    ));
    app.holds().release(&dpo, hold.id).await.expect("released");

    app.requests()
        .create(
            &dpo,
            serde_json::from_value(serde_json::json!({
                "type": "access", "channel": "post", "customer_id": survivor
            }))
            .expect("request input"),
        )
        .await
        .expect("request");
    assert!(matches!(
        app.customers().merge(&agent, survivor, merged, false).await,
        Err(AppError::MergeRefused(MergeRefusal::OpenRequest))
    ));
    assert_eq!(home.count("SELECT COUNT(*) FROM customers").await, 2);
    assert_eq!(home.count("SELECT COUNT(*) FROM customer_merges").await, 0);
    app.customers()
        .get(&agent, merged)
        .await
        .expect("still there");
}

#[tokio::test]
async fn a_merged_away_id_points_at_the_latest_survivor() {
    let (_home, app) = app().await;
    let agent = agent(&app);
    let (first, merged) = duplicates(&app, &agent).await;
    let last = app
        .customers()
        .create(&agent, customer(&[("given_name", "Ada L.")], &[]))
        .await
        .expect("third")
        .id;
    app.customers()
        .merge(&agent, first, merged, false)
        .await
        .expect("merged");
    app.customers()
        .merge(&agent, last, first, false)
        .await
        .expect("merged again");
    for id in [merged, first] {
        assert!(
            matches!(app.customers().get(&agent, id).await, Err(AppError::Merged { survivor }) if survivor == last),
            "{id}"
        );
    }
    // A merged-away id cannot be merged again.
    assert!(matches!(
        app.customers().merge(&agent, last, merged, true).await,
        Err(AppError::Merged { .. })
    ));
    // Once the survivor is erased, the ids merged into it point nowhere.
    app.rights().erase(&dpo(&app), last).await.expect("erased");
    assert!(matches!(
        app.customers().get(&agent, merged).await,
        Err(AppError::NotFound)
    ));
}

#[tokio::test]
async fn a_restriction_on_the_duplicate_carries_over() {
    let (_home, app) = app().await;
    let agent = agent(&app);
    let dpo = dpo(&app);
    let (survivor, merged) = duplicates(&app, &agent).await;
    let row = app.customers().get(&dpo, merged).await.expect("duplicate");
    app.customers()
        .update(
            &dpo,
            merged,
            serde_json::from_value(serde_json::json!({"status": "restricted"})).expect("patch"),
            row.version,
        )
        .await
        .expect("restricted");
    // Only the legal-obligation purpose reaches a restricted customer, for merging too.
    assert!(matches!(
        app.customers().merge(&agent, survivor, merged, true).await,
        Err(AppError::Forbidden(_))
    ));
    let view = app
        .customers()
        .merge(&dpo, survivor, merged, false)
        .await
        .expect("merged");
    assert_eq!(view.customer.status, "restricted");
    assert!(matches!(
        app.customers().get(&agent, survivor).await,
        Err(AppError::Forbidden(_))
    ));
}

#[tokio::test]
async fn the_lower_personalization_level_carries_over() {
    use steward_app::LevelInput;
    use steward_app::core::personalization::Level;
    let (_home, app) = app().await;
    let agent = agent(&app);
    let (survivor, merged) = duplicates(&app, &agent).await;
    said(&app, &agent, survivor, PROFILED, "given").await;
    app.personalization()
        .set_level(&agent, survivor, LevelInput { level: Level::Full })
        .await
        .expect("full");
    app.personalization()
        .set_level(
            &agent,
            merged,
            LevelInput {
                level: Level::Basic,
            },
        )
        .await
        .expect("basic");
    let view = app
        .customers()
        .merge(&agent, survivor, merged, false)
        .await
        .expect("merged");
    assert_eq!(view.personalization_level.as_deref(), Some("basic"));
    let level = app
        .personalization()
        .level(&agent, survivor)
        .await
        .expect("level");
    assert_eq!(level.chosen, Level::Basic);
}
