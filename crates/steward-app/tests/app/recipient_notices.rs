//! Recipients told of changes (Art. 19): an erasure, rectification or restriction of a
//! customer whose data was shared writes one notice per vendor that received it, in the same
//! transaction; notices move only as their status allows, and the customer sees them.

use jiff::{SignedDuration, Timestamp};
use steward_app::core::FixedClock;
use steward_app::core::Role;
use steward_app::core::sharing::SharingRules;
use steward_app::{AppError, CustomerPatch, NoticeQuery, NoticeStatus, Steward, SubjectFormat};
use uuid::Uuid;

use crate::shares::{agreement, asked, consenting, vendor_with};
use crate::support::*;
use crate::vendor_fixtures::*;

/// A vendor in good order named `name`, under an email-marketing agreement.
async fn vendor(app: &Steward, name: &str) -> Uuid {
    let mut v = processor("DE");
    v.legal_name = name.into();
    vendor_with(app, v, |id| Some(agreement(id, vec![]))).await
}

/// Shares `fields` of `customers` with `vendor`.
async fn share(app: &Steward, vendor: Uuid, customers: Vec<Uuid>, fields: &[&str]) {
    let mut input = asked(vendor, customers);
    input.fields = strings(fields);
    app.shares().share(&dpo(app), input).await.expect("shared");
}

/// The due date a change made now gets, from the rules Steward was opened with.
fn due_from_now(clock: &FixedClock) -> Timestamp {
    let window = SharingRules::shipped()
        .expect("rules")
        .notify_recipients_within;
    use steward_app::core::Clock;
    clock
        .now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .checked_add(window)
        .expect("due")
        .timestamp()
}

fn vendors_of(notices: &[steward_app::RecipientNoticeView]) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = notices.iter().map(|n| n.vendor_id).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn erasing_a_customer_disclosed_to_two_vendors_tells_both_sqlite() {
    erasure_tells_every_recipient(false).await;
}

#[tokio::test]
async fn erasing_a_customer_disclosed_to_two_vendors_tells_both_postgres() {
    erasure_tells_every_recipient(true).await;
}

async fn erasure_tells_every_recipient(pg: bool) {
    let (_kept, app, clock) = steward(pg).await;
    let dpo = dpo(&app);
    let auditor = actor(&app, Role::Auditor);
    let ada = consenting(&app, "ada@example.com", "Adalinde").await;
    let bob = consenting(&app, "bob@example.com", "Bobbin").await;
    let mail = vendor(&app, "Postwerk Mail Ltd").await;
    let crm = vendor(&app, "Kundenhaus GmbH").await;
    vendor(&app, "Idle Vendor AG").await;
    // Ada went to two vendors, twice to one of them; Bob to none; the third vendor got nobody.
    share(&app, mail, vec![ada], &["email", "given_name"]).await;
    share(&app, mail, vec![ada], &["email"]).await;
    share(&app, crm, vec![ada], &["email"]).await;

    let erased_at = clock_now(&clock);
    let due = due_from_now(&clock);
    app.rights().erase(&dpo, ada).await.expect("erase ada");
    app.rights().erase(&dpo, bob).await.expect("erase bob");

    let told = app
        .recipient_notices()
        .of_customer(&dpo, ada)
        .await
        .expect("ada's notices");
    let mut expected = vec![mail, crm];
    expected.sort();
    assert_eq!(vendors_of(&told), expected, "one notice per recipient");
    for n in &told {
        assert_eq!(n.kind, "erasure");
        assert_eq!(n.status, NoticeStatus::Pending);
        assert!(n.fields.is_empty());
        assert_eq!(n.due, due);
        assert_eq!(n.created_at, erased_at);
        assert!(!n.overdue);
    }
    assert!(
        app.recipient_notices()
            .of_customer(&dpo, bob)
            .await
            .expect("bob's notices")
            .is_empty(),
        "a customer disclosed to nobody makes no notice"
    );
    let all = app
        .recipient_notices()
        .list(&auditor, &NoticeQuery::default())
        .await
        .expect("list");
    assert_eq!(all.len(), 2);
    assert_eq!(app.overdue_recipient_notices().await.expect("overdue"), 0);

    // Past the due date they are overdue, listed soonest due first.
    clock.advance(SignedDuration::from_hours(31 * 24));
    let overdue = app
        .recipient_notices()
        .list(
            &auditor,
            &NoticeQuery {
                overdue: true,
                ..Default::default()
            },
        )
        .await
        .expect("overdue");
    assert_eq!(vendors_of(&overdue), expected);
    assert!(overdue.iter().all(|n| n.overdue));
    assert_eq!(app.overdue_recipient_notices().await.expect("overdue"), 2);

    // Sent, a notice is no longer overdue; the move is audited.
    app.recipient_notices()
        .mark(&dpo, overdue[0].id, NoticeStatus::Sent, None)
        .await
        .expect("sent");
    assert_eq!(app.overdue_recipient_notices().await.expect("overdue"), 1);
    let entries = app
        .audit()
        .entries(&auditor, 0, 1_000)
        .await
        .expect("audit");
    assert!(
        entries
            .iter()
            .any(|e| e.record.action == "recipient_notice.sent"
                && e.record.targets == vec![ada.to_string(), overdue[0].id.to_string()])
    );
}

fn clock_now(clock: &FixedClock) -> Timestamp {
    use steward_app::core::Clock;
    // Stored to the microsecond.
    Timestamp::from_microsecond(clock.now().as_microsecond()).expect("timestamp")
}

#[tokio::test]
async fn rectification_and_restriction_tell_the_recipients_they_concern_sqlite() {
    rectification_and_restriction(false).await;
}

#[tokio::test]
async fn rectification_and_restriction_tell_the_recipients_they_concern_postgres() {
    rectification_and_restriction(true).await;
}

async fn rectification_and_restriction(pg: bool) {
    let (_kept, app, _clock) = steward(pg).await;
    let dpo = dpo(&app);
    let agent = agent(&app);
    let ada = consenting(&app, "ada@example.com", "Adalinde").await;
    let names = vendor(&app, "Postwerk Mail Ltd").await;
    let addresses = vendor(&app, "Kundenhaus GmbH").await;
    share(&app, names, vec![ada], &["email", "given_name"]).await;
    share(&app, addresses, vec![ada], &["email"]).await;

    // A new first name: only the vendor that received the first name is told, of that field.
    let version = app
        .customers()
        .get(&agent, ada)
        .await
        .expect("read")
        .version;
    app.customers()
        .update(
            &agent,
            ada,
            CustomerPatch {
                fields: [("given_name".to_string(), Some("Ada".to_string()))].into(),
                ..Default::default()
            },
            version,
        )
        .await
        .expect("rectified");
    let told = app
        .recipient_notices()
        .of_customer(&dpo, ada)
        .await
        .expect("notices");
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].vendor_id, names);
    assert_eq!(told[0].kind, "rectification");
    assert_eq!(told[0].fields, strings(&["given_name"]));

    // A restriction concerns everything they hold: both are told. Lifting it tells no one.
    for status in ["restricted", "active"] {
        let version = app.customers().get(&dpo, ada).await.expect("read").version;
        app.customers()
            .update(
                &dpo,
                ada,
                CustomerPatch {
                    status: Some(status.into()),
                    ..Default::default()
                },
                version,
            )
            .await
            .expect(status);
    }
    let told = app
        .recipient_notices()
        .of_customer(&dpo, ada)
        .await
        .expect("notices");
    let restriction: Vec<_> = told
        .iter()
        .filter(|n| n.kind == "restriction")
        .cloned()
        .collect();
    let mut both = vec![names, addresses];
    both.sort();
    assert_eq!(vendors_of(&restriction), both);
    assert_eq!(told.len(), 3, "{told:?}");

    // Moves the status does not allow are refused with their code; the notice stays.
    let n = restriction[0].id;
    let refused = |r: Result<_, AppError>| match r {
        Err(AppError::TransitionNotAllowed { from, to, .. }) => (from, to),
        other => panic!("expected a refused transition, got {other:?}"),
    };
    assert_eq!(
        refused(
            app.recipient_notices()
                .mark(&dpo, n, NoticeStatus::Acknowledged, None)
                .await
        ),
        ("pending".to_string(), "acknowledged".to_string())
    );
    assert_eq!(
        refused(
            app.recipient_notices()
                .mark(&dpo, n, NoticeStatus::Pending, None)
                .await
        ),
        ("pending".to_string(), "pending".to_string())
    );
    match app
        .recipient_notices()
        .mark(&dpo, n, NoticeStatus::Impossible, Some("  "))
        .await
    {
        Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, "reason"),
        other => panic!("impossible needs a reason: {other:?}"),
    }
    match app
        .recipient_notices()
        .mark(&agent, n, NoticeStatus::Sent, None)
        .await
    {
        Err(AppError::Forbidden(_)) => {}
        other => panic!("only the privacy officer marks notices: {other:?}"),
    }
    let failed = app
        .recipient_notices()
        .mark(&dpo, n, NoticeStatus::Failed, Some("mailbox full"))
        .await
        .expect("failed");
    assert_eq!(failed.reason.as_deref(), Some("mailbox full"));
    let sent = app
        .recipient_notices()
        .mark(&dpo, n, NoticeStatus::Sent, None)
        .await
        .expect("sent again");
    assert!(sent.sent_at.is_some());
    let acknowledged = app
        .recipient_notices()
        .mark(&dpo, n, NoticeStatus::Acknowledged, None)
        .await
        .expect("acknowledged");
    assert_eq!(acknowledged.status, NoticeStatus::Acknowledged);
    assert_eq!(
        refused(
            app.recipient_notices()
                .mark(&dpo, n, NoticeStatus::Failed, None)
                .await
        ),
        ("acknowledged".to_string(), "failed".to_string())
    );
    let other = restriction[1].id;
    let impossible = app
        .recipient_notices()
        .mark(
            &dpo,
            other,
            NoticeStatus::Impossible,
            Some("the vendor was wound up"),
        )
        .await
        .expect("impossible");
    assert_eq!(
        impossible.reason.as_deref(),
        Some("the vendor was wound up")
    );

    // The subject's export lists them: each notice in the JSON, a row each in the CSV.
    for format in [SubjectFormat::Json, SubjectFormat::Csv] {
        let mut export = app
            .rights()
            .start_export(&dpo, ada, format)
            .await
            .expect("start");
        let mut whole = Vec::new();
        while let Some(chunk) = app.rights().export_chunk(&mut export).await.expect("chunk") {
            whole.extend_from_slice(&chunk);
        }
        let whole = String::from_utf8(whole).expect("utf-8");
        match format {
            SubjectFormat::Json => {
                let doc: serde_json::Value = serde_json::from_str(&whole).expect("json");
                let listed: Vec<&str> = doc["recipients_told"]
                    .as_array()
                    .expect("recipients_told")
                    .iter()
                    .filter_map(|n| n["id"].as_str())
                    .collect();
                assert_eq!(listed.len(), 3, "{whole}");
                assert!(listed.contains(&impossible.id.to_string().as_str()));
            }
            SubjectFormat::Csv => {
                let rows = whole
                    .lines()
                    .filter(|l| l.starts_with("recipient_notice,"))
                    .count();
                assert_eq!(rows, 3, "{whole}");
                assert!(whole.contains("the vendor was wound up"), "{whole}");
            }
        }
    }

    // The customer sees them in the portal overview.
    let subject = signed_in(&app, Inbox::Log(_kept.0.path()), "ada@example.com").await;
    let overview = app.portal().overview(&subject).await.expect("overview");
    assert_eq!(
        overview
            .recipients_told
            .iter()
            .map(|n| (n.id, n.status))
            .collect::<Vec<_>>(),
        app.recipient_notices()
            .of_customer(&dpo, ada)
            .await
            .expect("notices")
            .iter()
            .map(|n| (n.id, n.status))
            .collect::<Vec<_>>()
    );
}

/// Makes every notice insert fail, as a full disk or a lost connection would.
fn refuse_notices(dir: &std::path::Path, refuse: bool) {
    let db = sqlite(dir);
    let sql = if refuse {
        "CREATE TRIGGER refuse_notices BEFORE INSERT ON recipient_notices \
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
    } else {
        "DROP TRIGGER refuse_notices;"
    };
    db.execute_batch(sql).expect("trigger");
}

#[tokio::test]
async fn an_erasure_whose_notice_cannot_be_written_is_not_committed() {
    let (kept, app, _clock) = steward(false).await;
    let dpo = dpo(&app);
    let ada = consenting(&app, "ada@example.com", "Adalinde").await;
    let mail = vendor(&app, "Postwerk Mail Ltd").await;
    share(&app, mail, vec![ada], &["email"]).await;

    refuse_notices(kept.0.path(), true);
    assert!(app.rights().erase(&dpo, ada).await.is_err());
    let db = sqlite(kept.0.path());
    let count = |sql: &str| -> i64 {
        db.query_row(sql, [ada.as_bytes().as_slice()], |r| r.get(0))
            .expect("count")
    };
    assert_eq!(
        count("SELECT COUNT(*) FROM customers WHERE id = ?1"),
        1,
        "the rows stay"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM recipient_updates WHERE customer_id = ?1"),
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM recipient_notices WHERE customer_id = ?1"),
        0
    );

    // Once notices can be written, the erasure goes through with its notice.
    refuse_notices(kept.0.path(), false);
    app.rights().erase(&dpo, ada).await.expect("erased");
    assert_eq!(count("SELECT COUNT(*) FROM customers WHERE id = ?1"), 0);
    assert_eq!(
        count("SELECT COUNT(*) FROM recipient_notices WHERE customer_id = ?1"),
        1
    );
}

#[tokio::test]
async fn a_customer_erased_by_a_retention_rule_is_told_to_their_recipients_sqlite() {
    retention_erasure_tells_recipients(false).await;
}

#[tokio::test]
async fn a_customer_erased_by_a_retention_rule_is_told_to_their_recipients_postgres() {
    retention_erasure_tells_recipients(true).await;
}

async fn retention_erasure_tells_recipients(pg: bool) {
    let (_kept, app, clock) = steward(pg).await;
    let dpo = dpo(&app);
    let ada = consenting(&app, "ada@example.com", "Adalinde").await;
    let mail = vendor(&app, "Postwerk Mail Ltd").await;
    share(&app, mail, vec![ada], &["email"]).await;

    // Dormant past the shipped rule's three years: the sweep erases them.
    clock.advance(SignedDuration::from_hours(24 * 1_100));
    let run = app.retention().start_run(&dpo, false).await.expect("start");
    app.retention()
        .run(run.id, |_| std::ops::ControlFlow::Continue(()), |_| {})
        .await
        .expect("run");
    assert!(app.rights().is_erased(ada).await.expect("erased"));
    let told = app
        .recipient_notices()
        .of_customer(&dpo, ada)
        .await
        .expect("notices");
    assert_eq!(vendors_of(&told), vec![mail]);
    assert_eq!(told[0].kind, "erasure");
    assert_eq!(told[0].due, due_from_now(&clock));
}
