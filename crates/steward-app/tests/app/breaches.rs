//! The breach register: the 72-hour clock from awareness, a late notification that must give
//! its reasons, the response team mailed once per milestone, phases appended and never
//! changed, the plan's steps as a checklist, and who may write and read it.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use steward_app::core::breach::{
    Authority, BreachInput, BreachPlan, BreachPlanInput, ClockState, Counts, Nature, PlanStep,
    StepKind, TeamMember,
};
use steward_app::core::{Clock, FixedClock, Role};
use steward_app::{AppError, OpenOptions, PhaseInput, SecuritySettings, StepUpdate, Steward};
use steward_store::testing::{TestDatabase, fresh_postgres};

use crate::support::*;

pub(crate) fn plan() -> BreachPlan {
    let step = |step, owner: &str, description: &str| PlanStep {
        step,
        owner: owner.into(),
        description: description.into(),
    };
    BreachPlan::parse(&BreachPlanInput {
        team: vec![
            TeamMember {
                role: "lead".into(),
                name: "Grace Hopper".into(),
                email: "grace@shop.test".into(),
            },
            TeamMember {
                role: "dpo".into(),
                name: "Ada Lovelace".into(),
                email: "dpo@shop.test".into(),
            },
        ],
        lead_authority: Authority {
            name: "Berliner Beauftragte für Datenschutz".into(),
            contact: "https://www.datenschutz-berlin.de/".into(),
        },
        authorities: Default::default(),
        steps: vec![
            step(StepKind::Contain, "lead", "Revoke access, rotate keys."),
            step(StepKind::Assess, "dpo", "Run the scope, judge the risk."),
            step(StepKind::NotifyAuthority, "dpo", "Notify within 72 hours."),
            step(
                StepKind::NotifyCustomers,
                "dpo",
                "Tell customers at high risk.",
            ),
            step(StepKind::Review, "lead", "Write down what we learned."),
        ],
    })
    .expect("plan")
}

pub(crate) struct Opened {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) db: Option<TestDatabase>,
    pub(crate) app: Arc<Steward>,
    pub(crate) clock: Arc<FixedClock>,
}

/// A Steward with the response plan, on either engine, mailing through `smtp` when given.
pub(crate) async fn with_plan(pg: bool, smtp: Option<String>) -> Opened {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = if pg {
        Some(fresh_postgres().await)
    } else {
        None
    };
    let clock = clock();
    let mut options = OpenOptions {
        database_url: db.as_ref().map(|d| d.url.clone()),
        keystore_url: None,
        master_key_file: None,
        kek_token: None,
        security: SecuritySettings {
            breach_plan: Some(plan()),
        },
        ..options(dir.path(), clock.clone())
    };
    if let Some(url) = smtp {
        options.mail = steward_app::MailSettings {
            smtp_url: Some(url),
            from: "Shop <privacy@shop.test>".into(),
            public_url: "http://steward.test/".into(),
        };
    }
    let app = Arc::new(Steward::open(options).await.expect("open steward"));
    Opened {
        _dir: dir,
        db,
        app,
        clock,
    }
}

pub(crate) fn hours_after(t: Timestamp, h: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_hours(h)).expect("time")
}

pub(crate) fn laptop(aware_at: Timestamp) -> BreachInput {
    BreachInput {
        title: "Support laptop stolen".into(),
        detected_at: hours_after(aware_at, -1),
        aware_at,
        found_by: "The agent reported it the next morning.".into(),
        reported_by_vendor: None,
        processor_notice_at: None,
        nature: vec![Nature::Confidentiality],
        systems: vec!["console".into()],
        window: None,
        categories: vec!["user.contact".into()],
        special_categories: false,
        customers: Counts::default(),
        records: Counts::default(),
        consequences: None,
        measures_taken: None,
        measures_proposed: None,
        risk: None,
        risk_reasoning: None,
        authority: None,
        customer_decision: None,
        closed_at: None,
    }
}

/// Moves the test's clock to `t`.
pub(crate) fn to(clock: &FixedClock, t: Timestamp) {
    clock.advance(t.duration_since(clock.now()));
}

/// The laptop breach, opened by the privacy officer, aware at `aware_at`.
pub(crate) async fn open_laptop(app: &Steward, aware_at: Timestamp) -> steward_app::BreachView {
    app.breaches()
        .open(&dpo(app), laptop(aware_at))
        .await
        .expect("open")
}

fn field_of(e: AppError) -> String {
    match e {
        AppError::Invalid(errors) => errors[0].field.clone(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

#[tokio::test]
async fn the_clock_runs_72_hours_from_awareness_sqlite() {
    the_clock_runs_72_hours_from_awareness(false).await;
}

#[tokio::test]
async fn the_clock_runs_72_hours_from_awareness_postgres() {
    the_clock_runs_72_hours_from_awareness(true).await;
}

async fn the_clock_runs_72_hours_from_awareness(pg: bool) {
    let o = with_plan(pg, None).await;
    let (app, clock) = (&*o.app, &*o.clock);
    let dpo = dpo(app);
    let aware = clock.now();
    let opened = open_laptop(app, aware).await;
    assert_eq!(opened.deadline, hours_after(aware, 72));
    assert_eq!(opened.clock, ClockState::Running);
    assert_eq!(
        opened.checklist.iter().map(|s| s.step).collect::<Vec<_>>(),
        StepKind::ALL,
        "the plan's steps are the breach's checklist"
    );

    let auditor = actor(app, Role::Auditor);
    to(clock, hours_after(aware, 71));
    let at_71 = app
        .breaches()
        .get(&auditor, opened.breach.id)
        .await
        .expect("get");
    assert_eq!(at_71.clock, ClockState::DueSoon);
    assert!(at_71.hours_left.is_some_and(|h| (h - 1.0).abs() < 1e-6));
    to(clock, hours_after(aware, 73));
    let at_73 = app
        .breaches()
        .get(&auditor, opened.breach.id)
        .await
        .expect("get");
    assert_eq!(at_73.clock, ClockState::Overdue);

    let late = json!({
        "risk": "risk",
        "risk_reasoning": "Addresses on the disk may be used for phishing.",
        "authority": {
            "notify": true,
            "notified_at": hours_after(aware, 73),
            "authorities": ["Berliner Beauftragte für Datenschutz"]
        }
    });
    let refused = app
        .breaches()
        .update(&dpo, opened.breach.id, &late, None)
        .await
        .expect_err("late without a reason");
    assert_eq!(field_of(refused), "authority.delay_reason");
    let unchanged = app
        .breaches()
        .get(&auditor, opened.breach.id)
        .await
        .expect("get");
    assert_eq!(
        unchanged.version, opened.version,
        "nothing of a refused change is written"
    );

    let mut with_reason = late.clone();
    with_reason["authority"]["delay_reason"] =
        json!("The disk's encryption status took a day to establish.");
    let decided = app
        .breaches()
        .update(&dpo, opened.breach.id, &with_reason, Some(opened.version))
        .await
        .expect("late with its reason");
    assert_eq!(decided.clock, ClockState::Decided);
    assert_eq!(decided.hours_left, None);
    let stale = app
        .breaches()
        .update(
            &dpo,
            opened.breach.id,
            &json!({"title": "x"}),
            Some(opened.version),
        )
        .await
        .expect_err("stale");
    assert!(matches!(stale, AppError::StaleVersion), "{stale:?}");

    let entries = app
        .audit()
        .search(
            &auditor,
            steward_app::AuditFilter {
                target: Some(format!("breach:{}", opened.breach.id)),
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    let actions: Vec<&str> = entries.iter().map(|e| e.record.action.as_str()).collect();
    assert!(actions.contains(&"breach.open"), "{actions:?}");
    assert_eq!(
        actions.iter().filter(|a| **a == "breach.update").count(),
        1,
        "one audit entry per change: {actions:?}"
    );
}

fn subject(m: &steward_testkit::smtp::ReceivedMail) -> String {
    m.header("Subject").unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_response_team_is_mailed_once_per_milestone() {
    let smtp = steward_testkit::smtp::SmtpServer::start();
    let o = with_plan(false, Some(smtp.url())).await;
    let (app, clock) = (&*o.app, &*o.clock);
    let dpo = dpo(app);
    let aware = clock.now();
    let b = open_laptop(app, aware).await;
    app.outbox().deliver_due().await.expect("deliver");
    let opened = smtp.wait_for(2);
    assert!(
        opened
            .iter()
            .all(|m| subject(m).starts_with("Breach opened"))
    );
    assert_eq!(smtp.messages_to("grace@shop.test").len(), 1);
    let dpo_mail = smtp.messages_to("dpo@shop.test").pop().expect("dpo");
    assert!(
        dpo_mail.body.contains("Run the scope, judge the risk."),
        "each member is told their own steps"
    );
    assert!(!dpo_mail.body.contains("Revoke access"));

    let jobs = o.app.jobs();
    assert_eq!(jobs.breach_alerts_due().await.expect("round"), 0);
    to(clock, hours_after(aware, 49));
    assert_eq!(jobs.breach_alerts_due().await.expect("round"), 2);
    assert_eq!(jobs.breach_alerts_due().await.expect("again"), 0, "once");
    app.outbox().deliver_due().await.expect("deliver");
    let left_24 = smtp.wait_for(4);
    assert!(subject(&left_24[2]).contains("24 hours left"));
    to(clock, hours_after(aware, 67));
    assert_eq!(jobs.breach_alerts_due().await.expect("round"), 2);
    app.outbox().deliver_due().await.expect("deliver");
    assert!(subject(&smtp.wait_for(6)[5]).contains("6 hours left"));

    let decided = json!({
        "risk": "none",
        "risk_reasoning": "The disk was encrypted and the key was not with it.",
        "authority": {"notify": false, "reason": "Unlikely to result in a risk."}
    });
    app.breaches()
        .update(&dpo, b.breach.id, &decided, None)
        .await
        .expect("decided");
    to(clock, hours_after(aware, 80));
    assert_eq!(jobs.breach_alerts_due().await.expect("round"), 0);
}

#[tokio::test]
async fn a_breach_opened_late_mails_only_its_latest_milestone() {
    let o = with_plan(false, None).await;
    let (app, clock) = (&*o.app, &*o.clock);
    let aware = hours_after(clock.now(), -70);
    open_laptop(app, aware).await;
    let alerts = app
        .audit()
        .search(
            &actor(app, Role::Auditor),
            steward_app::AuditFilter {
                action: Some("breach.alert".into()),
                limit: 500,
                ..Default::default()
            },
        )
        .await
        .expect("audit");
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0]
            .record
            .detail
            .as_deref()
            .unwrap_or("")
            .starts_with("left_6h")
    );
    assert_eq!(
        o.app.jobs().breach_alerts_due().await.expect("round"),
        0,
        "the milestones passed are recorded as passed"
    );
}

#[tokio::test]
async fn phases_are_appended_never_overwritten_sqlite() {
    phases_are_appended_never_overwritten(false).await;
}

#[tokio::test]
async fn phases_are_appended_never_overwritten_postgres() {
    phases_are_appended_never_overwritten(true).await;
}

async fn phases_are_appended_never_overwritten(pg: bool) {
    let o = with_plan(pg, None).await;
    let (app, clock) = (&*o.app, &*o.clock);
    let dpo = dpo(app);
    let b = open_laptop(app, clock.now()).await;
    let texts = [
        "Initial notification: a laptop with a support export was stolen.",
        "The export held 1,200 addresses; the disk was not encrypted.\r\nPolice reference 42.",
        "No sign of misuse after two weeks.",
    ];
    for (i, text) in texts.iter().enumerate() {
        clock.advance(SignedDuration::from_hours(1));
        app.breaches()
            .add_phase(
                &dpo,
                b.breach.id,
                PhaseInput {
                    text: (*text).into(),
                    sent_to_authority: i < 2,
                },
            )
            .await
            .expect("phase");
    }
    let read = app
        .breaches()
        .get(&actor(app, Role::Auditor), b.breach.id)
        .await
        .expect("get");
    let kept: Vec<&str> = read.phases.iter().map(|p| p.phase.text.as_str()).collect();
    assert_eq!(
        kept,
        texts
            .map(|t| t.replace("\r\n", "\n"))
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        "every phase kept, in the order recorded, as written"
    );
    assert!(
        read.phases
            .windows(2)
            .all(|w| w[0].recorded_at < w[1].recorded_at)
    );
    let empty = app
        .breaches()
        .add_phase(
            &dpo,
            b.breach.id,
            PhaseInput {
                text: " \r\n ".into(),
                sent_to_authority: false,
            },
        )
        .await
        .expect_err("empty phase");
    assert_eq!(field_of(empty), "text");

    // Not even the database's owner changes a phase behind the register's back.
    let rewrite = "UPDATE breach_phases SET phase = '{\"text\":\"nothing happened\"}'";
    let remove = "DELETE FROM breach_phases";
    match &o.db {
        None => {
            let db = sqlite(o._dir.path());
            assert!(db.execute(rewrite, []).is_err(), "a phase is never changed");
            assert!(db.execute(remove, []).is_err(), "a phase is never removed");
        }
        Some(d) => {
            let (client, conn) = tokio_postgres::connect(&d.url, tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            assert!(client.execute(rewrite, &[]).await.is_err());
            assert!(client.execute(remove, &[]).await.is_err());
        }
    }
    let again = app
        .breaches()
        .get(&actor(app, Role::Auditor), b.breach.id)
        .await
        .expect("get");
    assert_eq!(again.phases, read.phases);
}

#[tokio::test]
async fn the_checklist_moves_and_only_the_privacy_officer_writes() {
    let o = with_plan(false, None).await;
    let (app, clock) = (&*o.app, &*o.clock);
    let dpo = dpo(app);
    let b = open_laptop(app, clock.now()).await;
    let contained = app
        .breaches()
        .step(
            &dpo,
            b.breach.id,
            StepKind::Contain,
            StepUpdate { done: true },
        )
        .await
        .expect("step");
    let step = &contained.checklist[0];
    assert_eq!(step.step, StepKind::Contain);
    assert_eq!(step.done_at, Some(clock.now()));
    assert!(
        step.done_by
            .as_deref()
            .is_some_and(|a| a.starts_with("system:") || a.starts_with("user:"))
    );
    assert!(contained.checklist[1..].iter().all(|s| s.done_at.is_none()));

    for staff in [
        agent(app),
        access(app, Role::Marketer, "marketing.communications.email"),
    ] {
        assert!(matches!(
            app.breaches().open(&staff, laptop(clock.now())).await,
            Err(AppError::Forbidden(_))
        ));
    }
    for role in [Role::Agent, Role::Marketer, Role::Admin] {
        assert!(matches!(
            app.breaches().list(&actor(app, role)).await,
            Err(AppError::Forbidden(_))
        ));
    }
    let auditor = actor(app, Role::Auditor);
    assert_eq!(app.breaches().list(&auditor).await.expect("list").len(), 1);
}

#[tokio::test]
async fn without_a_plan_no_breach_opens() {
    let (_dir, app) = app().await;
    let refused = app
        .breaches()
        .open(&dpo(&app), laptop(app.now()))
        .await
        .expect_err("no plan");
    assert!(
        matches!(
            refused,
            AppError::BreachRefused(steward_app::core::breach::BreachRefusal::NoBreachPlan)
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_breach_a_processor_reported_names_a_vendor_of_the_register() {
    let o = with_plan(false, None).await;
    let (app, clock) = (&*o.app, &*o.clock);
    let mut input = laptop(clock.now());
    input.reported_by_vendor = Some(uuid::Uuid::now_v7());
    input.processor_notice_at = Some(clock.now());
    let refused = app
        .breaches()
        .open(&dpo(app), input)
        .await
        .expect_err("unknown vendor");
    assert_eq!(field_of(refused), "reported_by_vendor");
    assert!(
        app.breaches()
            .list(&actor(app, Role::Auditor))
            .await
            .expect("list")
            .is_empty()
    );
}
