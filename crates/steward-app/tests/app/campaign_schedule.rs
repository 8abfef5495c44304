//! A campaign's schedule, test send, preview and results: a scheduled campaign is sent once
//! however many instances find it due, on both engines, and a send whose instance died is
//! resumed once its lease runs out; a time that has passed is refused;
//! a test goes to the staff member's own address only, a few per window; a preview reads one
//! customer through the gate, audited, or none; results count per hour, then per day.

use std::sync::Arc;

use jiff::SignedDuration;
use steward_app::core::{FixedClock, Role};
use steward_app::{
    Access, AppError, AuditFilter, CampaignRefusal, NewCampaign, NewUser, ScheduleInput, Steward,
};
use steward_testkit::smtp::SmtpServer;
use uuid::Uuid;

use crate::support::*;

const EMAIL: &str = "marketing.communications.email";
const SMS: &str = "marketing.communications.sms";

fn campaign(body: &str) -> NewCampaign {
    NewCampaign {
        name: "Autumn".into(),
        purpose: EMAIL.into(),
        segment_id: None,
        filter: None,
        subject: "Leaves are falling".into(),
        body: body.into(),
    }
}

/// `n` customers who consented to email marketing, and the ids they were given.
async fn consenting(app: &Steward, n: usize) -> Vec<Uuid> {
    let agent = agent(app);
    let mut ids = Vec::new();
    for i in 0..n {
        let id = app
            .customers()
            .create(
                &agent,
                input(&format!("c{i}@example.com"), &format!("Cy{i}")),
            )
            .await
            .expect("customer")
            .id;
        give_consent(app, &agent, id, EMAIL).await;
        ids.push(id);
    }
    ids
}

async fn audited(app: &Steward, action: &str) -> Vec<steward_app::core::audit::AuditEntry> {
    app.audit()
        .search(
            &actor(app, Role::Auditor),
            AuditFilter {
                action: Some(action.into()),
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .expect("audit")
}

fn at(app: &Steward, from_now: SignedDuration) -> ScheduleInput {
    ScheduleInput {
        scheduled_at: app.now().checked_add(from_now).expect("time").to_string(),
    }
}

/// A draft campaign to everyone who consented.
async fn drafted(app: &Steward, marketer: &Access) -> steward_app::CampaignView {
    app.campaigns()
        .create(marketer, campaign("Rake them up."))
        .await
        .expect("draft")
}

/// A draft campaign scheduled to go in an hour.
async fn scheduled_in_an_hour(app: &Steward, marketer: &Access) -> steward_app::CampaignView {
    let draft = drafted(app, marketer).await;
    let scheduled = app
        .campaigns()
        .schedule(marketer, draft.id, at(app, SignedDuration::from_hours(1)))
        .await
        .expect("scheduled");
    assert_eq!(scheduled.state, "scheduled");
    scheduled
}

/// Two instances over one database find a scheduled campaign due at the same moment: one
/// claims and sends it, the other sends nothing, and each recipient has one message.
async fn two_instances_race(a: Arc<Steward>, b: Arc<Steward>, clock: Arc<FixedClock>, home: &Home) {
    consenting(&a, 4).await;
    let marketer = access(&a, Role::Marketer, EMAIL);
    let draft = scheduled_in_an_hour(&a, &marketer).await;
    assert!(
        b.campaigns().send_due().await.expect("early").is_empty(),
        "not before its time"
    );
    clock.advance(SignedDuration::from_hours(2));
    let (on_a, on_b) = (a.campaigns(), b.campaigns());
    let (from_a, from_b) = tokio::join!(on_a.send_due(), on_b.send_due());
    let (from_a, from_b) = (from_a.expect("a"), from_b.expect("b"));
    assert_eq!(
        from_a.len() + from_b.len(),
        1,
        "claimed once: {from_a:?} {from_b:?}"
    );
    assert_eq!(
        home.count("SELECT COUNT(*) FROM outbox WHERE kind = 'campaign'")
            .await,
        4,
        "one message per recipient"
    );
    let sent = b
        .campaigns()
        .get(marketer.actor(), draft.id)
        .await
        .expect("get");
    assert_eq!((sent.state.as_str(), sent.recipients), ("sent", 4));
    let started = audited(&a, "campaign.start").await;
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].record.actor, "system:campaign-schedule");
    assert_eq!(
        started[0].record.detail.as_deref(),
        Some(format!("scheduled_by={}", marketer.actor().id()).as_str())
    );
    // Nothing is due any more.
    let (again_a, again_b) = tokio::join!(on_a.send_due(), on_b.send_due());
    assert!(again_a.expect("a").is_empty() && again_b.expect("b").is_empty());
}

#[tokio::test]
async fn a_scheduled_campaign_is_sent_once_by_two_instances_sqlite() {
    let home = Home::sqlite();
    let clock = clock();
    let a = Arc::new(Steward::open(home.options(clock.clone())).await.expect("a"));
    let b = Arc::new(Steward::open(home.options(clock.clone())).await.expect("b"));
    two_instances_race(a, b, clock, &home).await;
}

#[tokio::test]
async fn a_scheduled_campaign_is_sent_once_by_two_instances_on_postgres() {
    let home = Home::on_postgres().await;
    let cluster = Cluster::new().await;
    let clock = cluster.clock.clone();
    let apps = cluster
        .open_all_with(2, |o| steward_app::OpenOptions {
            database_url: home.database_url(),
            ..o
        })
        .await;
    two_instances_race(apps[0].clone(), apps[1].clone(), clock, &home).await;
}

/// The instance that claimed a due campaign dies before it sends a page: the campaign stays
/// `sending` under that instance's lease, and once the lease runs out the scheduler on another
/// instance resumes it, once, and each recipient has one message.
async fn dead_sender(home: Home) {
    let clock = clock();
    let app = Steward::open(home.options(clock.clone()))
        .await
        .expect("open");
    consenting(&app, 3).await;
    let marketer = access(&app, Role::Marketer, EMAIL);
    let draft = scheduled_in_an_hour(&app, &marketer).await;
    clock.advance(SignedDuration::from_hours(2));
    // What the dead instance's claim left: the campaign sending, its lease ten minutes on.
    let lease = app
        .now()
        .checked_add(SignedDuration::from_mins(10))
        .expect("time")
        .as_microsecond();
    let claimed = format!(
        "UPDATE campaigns SET state = 'sending', lease_until = {lease} WHERE state = 'scheduled'"
    );
    home.execute(&claimed, &claimed).await;
    assert!(
        app.campaigns().send_due().await.expect("held").is_empty(),
        "not while its sender's lease holds"
    );
    clock.advance(SignedDuration::from_mins(11));
    let (one, other) = (app.campaigns(), app.campaigns());
    let (first, second) = tokio::join!(one.send_due(), other.send_due());
    let mut resumed = first.expect("first");
    resumed.extend(second.expect("second"));
    assert_eq!(resumed, [draft.id], "resumed once");
    let sent = app
        .campaigns()
        .get(marketer.actor(), draft.id)
        .await
        .expect("get");
    assert_eq!((sent.state.as_str(), sent.recipients), ("sent", 3));
    assert_eq!(
        home.count("SELECT COUNT(*) FROM outbox WHERE kind = 'campaign'")
            .await,
        3
    );
    let entries = audited(&app, "campaign.resume").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].record.actor, "system:campaign-schedule");
    assert!(
        app.campaigns().send_due().await.expect("done").is_empty(),
        "a sent campaign is not resumed"
    );
}

#[tokio::test]
async fn a_send_whose_instance_died_is_resumed_once_its_lease_runs_out_sqlite() {
    dead_sender(Home::sqlite()).await;
}

#[tokio::test]
async fn a_send_whose_instance_died_is_resumed_once_its_lease_runs_out_on_postgres() {
    dead_sender(Home::on_postgres().await).await;
}

#[tokio::test]
async fn a_schedule_must_be_in_the_future_and_can_be_cancelled() {
    let (_home, app) = app().await;
    let marketer = access(&app, Role::Marketer, EMAIL);
    let draft = drafted(&app, &marketer).await;
    for past in [SignedDuration::from_mins(-1), SignedDuration::ZERO] {
        assert!(matches!(
            app.campaigns()
                .schedule(&marketer, draft.id, at(&app, past))
                .await,
            Err(AppError::CampaignRefused(CampaignRefusal::ScheduleInPast))
        ));
    }
    match app
        .campaigns()
        .schedule(
            &marketer,
            draft.id,
            ScheduleInput {
                scheduled_at: "tomorrow".into(),
            },
        )
        .await
    {
        Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, "scheduled_at"),
        other => panic!("expected a field error, got {other:?}"),
    }
    let later = at(&app, SignedDuration::from_hours(3));
    app.campaigns()
        .schedule(&marketer, draft.id, later.clone())
        .await
        .expect("scheduled");
    assert!(matches!(
        app.campaigns().schedule(&marketer, draft.id, later).await,
        Err(AppError::CampaignRefused(CampaignRefusal::NotDraft))
    ));
    let back = app
        .campaigns()
        .unschedule(marketer.actor(), draft.id)
        .await
        .expect("cancelled");
    assert_eq!((back.state.as_str(), back.scheduled_at), ("draft", None));
    assert_eq!(audited(&app, "campaign.unschedule").await.len(), 1);
}

/// A marketer with an account of their own, acting for `purpose`.
async fn marketer_with_account(app: &Steward, email: &str, purpose: &str) -> Access {
    let admin = actor(app, Role::Admin);
    let created = app
        .accounts()
        .add_user(
            &admin,
            NewUser {
                email: email.into(),
                role: Role::Marketer,
                password: "correct horse battery staple".into(),
                purposes: vec![],
            },
        )
        .await
        .expect("user");
    let staff = app.local_staff(&format!("user:{}", created.id), Role::Marketer, &[]);
    app.access(&staff, Some(purpose)).expect("access")
}

#[tokio::test]
async fn a_test_goes_to_the_staff_members_own_address_a_few_times_a_window() {
    let smtp = SmtpServer::start();
    let (home, app, clock) = app_with_mail(&smtp.url()).await;
    consenting(&app, 2).await;
    let marketer = marketer_with_account(&app, "mia@shop.test", EMAIL).await;
    let draft = app
        .campaigns()
        .create(&marketer, campaign("Hello {{field:given_name|friend}}."))
        .await
        .expect("draft");
    for _ in 0..5 {
        app.campaigns()
            .test_send(&marketer, draft.id)
            .await
            .expect("test send");
    }
    let keys = || {
        rusqlite::Connection::open(home.path().join("keys/keystore.db"))
            .expect("keys")
            .query_row("SELECT count(*) FROM data_keys", [], |r| r.get::<_, i64>(0))
            .expect("count")
    };
    let before = keys();
    match app.campaigns().test_send(&marketer, draft.id).await {
        Err(AppError::CampaignRefused(CampaignRefusal::TestSendLimit { retry_after })) => {
            assert!((1..=600).contains(&retry_after), "{retry_after}")
        }
        other => panic!("expected the limit, got {other:?}"),
    }
    assert_eq!(keys(), before, "no key is left for a refused test");
    app.outbox().deliver_due().await.expect("deliver");
    let mail = smtp.wait_for(5);
    assert_eq!(mail.len(), 5);
    for m in &mail {
        assert_eq!(m.header("X-RcptTo"), Some("mia@shop.test"));
        assert_eq!(m.header("Subject"), Some("[Test] Leaves are falling"));
        assert!(m.body.contains("Hello [given_name]."), "{}", m.body);
        assert!(
            !m.body.contains("Cy0") && !m.body.contains("Cy1"),
            "no customer's data"
        );
        assert!(m.body.contains("To stop, open this link"), "the footer");
    }
    let view = app
        .campaigns()
        .get(marketer.actor(), draft.id)
        .await
        .expect("get");
    assert_eq!((view.state.as_str(), view.recipients), ("draft", 0));
    assert_eq!(
        view.log,
        Default::default(),
        "tests are no campaign messages"
    );
    assert!(
        app.campaigns()
            .results(marketer.actor(), draft.id)
            .await
            .expect("results")
            .buckets
            .is_empty()
    );
    clock.advance(SignedDuration::from_mins(11));
    app.campaigns()
        .test_send(&marketer, draft.id)
        .await
        .expect("allowed again after the window");
    // Another staff member's allowance is their own.
    let other = marketer_with_account(&app, "max@shop.test", EMAIL).await;
    app.campaigns()
        .test_send(&other, draft.id)
        .await
        .expect("another's");
    // An API token has no address of its own.
    let token = app.access(
        &app.local_staff("token:ci", Role::Marketer, &[]),
        Some(EMAIL),
    );
    assert!(matches!(
        app.campaigns()
            .test_send(&token.expect("access"), draft.id)
            .await,
        Err(AppError::CampaignRefused(CampaignRefusal::NoOwnAddress))
    ));
}

#[tokio::test]
async fn a_preview_is_filled_for_one_customer_read_through_the_gate_or_with_names() {
    let (_home, app) = app().await;
    consenting(&app, 2).await;
    let marketer = access(&app, Role::Marketer, EMAIL);
    let draft = app
        .campaigns()
        .create(
            &marketer,
            campaign("Hello {{field:given_name|friend}} <script>alert(1)</script>"),
        )
        .await
        .expect("draft");
    let sample = app
        .campaigns()
        .preview(&marketer, draft.id)
        .await
        .expect("preview");
    assert_eq!(sample.filled_with, "sample");
    assert_eq!(sample.subject, "Leaves are falling");
    assert!(
        sample.text.starts_with("Hello Cy0 <script>")
            || sample.text.starts_with("Hello Cy1 <script>"),
        "{}",
        sample.text
    );
    assert!(
        sample
            .text
            .contains("You receive this because you said yes to")
    );
    let read = audited(&app, "campaign.preview").await;
    assert_eq!(read.len(), 1, "the sample's read is audited");
    assert_eq!(read[0].record.targets.len(), 1);
    assert_eq!(read[0].record.fields, ["given_name"]);

    let other_purpose = access(&app, Role::Marketer, SMS);
    let names = app
        .campaigns()
        .preview(&other_purpose, draft.id)
        .await
        .expect("preview");
    assert_eq!(names.filled_with, "placeholders");
    assert!(
        names.text.starts_with("Hello [given_name] <script>"),
        "{}",
        names.text
    );
    assert_eq!(
        audited(&app, "campaign.preview").await.len(),
        1,
        "no one read"
    );
}

/// Results per hour while a campaign's messages span three days or less, per day after.
async fn results_per_bucket(home: Home) {
    let smtp = SmtpServer::start();
    let clock = clock();
    let app = Steward::open(steward_app::OpenOptions {
        mail: steward_app::MailSettings {
            smtp_url: Some(smtp.url()),
            from: "Shop <privacy@shop.test>".into(),
            public_url: "http://steward.test/".into(),
        },
        ..home.options(clock.clone())
    })
    .await
    .expect("open");
    consenting(&app, 3).await;
    let marketer = access(&app, Role::Marketer, EMAIL);
    let draft = drafted(&app, &marketer).await;
    // T0 is 10:00: three queued in the 10:00 bucket, delivered in 11:00, one unsubscribes
    // in 12:00.
    clock.advance(SignedDuration::from_mins(5));
    app.campaigns()
        .send(&marketer, draft.id)
        .await
        .expect("send");
    clock.advance(SignedDuration::from_mins(70));
    app.outbox().deliver_due().await.expect("deliver");
    let mail = smtp.wait_for(3);
    let links: Vec<String> = mail
        .iter()
        .map(|m| m.link("http://steward.test/unsubscribe/").expect("link"))
        .collect();
    let unsubscribe = |url: &str| {
        let token = url.rsplit('/').next().expect("token").to_string();
        let app = &app;
        async move {
            app.links()
                .unsubscribe(&token, &Default::default())
                .await
                .expect("unsubscribe");
        }
    };
    clock.advance(SignedDuration::from_mins(60));
    unsubscribe(&links[0]).await;
    let hourly = app
        .campaigns()
        .results(marketer.actor(), draft.id)
        .await
        .expect("results");
    assert_eq!(hourly.bucket, "hour");
    let rows: Vec<(String, u64, u64, u64, u64)> = hourly
        .buckets
        .iter()
        .map(|b| {
            (
                b.start.to_string(),
                b.sent,
                b.delivered,
                b.failed,
                b.unsubscribed,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("2026-01-15T10:00:00Z".to_string(), 3, 0, 0, 0),
            ("2026-01-15T11:00:00Z".to_string(), 0, 3, 0, 0),
            ("2026-01-15T12:00:00Z".to_string(), 0, 0, 0, 1),
        ]
    );
    // Five days on, another leaves: the span is counted per day, empty days included.
    clock.advance(SignedDuration::from_hours(24 * 5));
    unsubscribe(&links[1]).await;
    let daily = app
        .campaigns()
        .results(marketer.actor(), draft.id)
        .await
        .expect("results");
    assert_eq!(daily.bucket, "day");
    let rows: Vec<(String, u64, u64, u64)> = daily
        .buckets
        .iter()
        .map(|b| (b.start.to_string(), b.sent, b.delivered, b.unsubscribed))
        .collect();
    let mut expected = vec![("2026-01-15T00:00:00Z".to_string(), 3, 3, 1)];
    for day in 16..=19 {
        expected.push((format!("2026-01-{day}T00:00:00Z"), 0, 0, 0));
    }
    expected.push(("2026-01-20T00:00:00Z".to_string(), 0, 0, 1));
    assert_eq!(rows, expected);
}

#[tokio::test]
async fn results_count_per_hour_then_per_day_sqlite() {
    results_per_bucket(Home::sqlite()).await;
}

#[tokio::test]
async fn results_count_per_hour_then_per_day_on_postgres() {
    results_per_bucket(Home::on_postgres().await).await;
}
