use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use jiff::SignedDuration;
use steward_app::core::FixedClock;
use steward_app::{Access, HoldInput, InteractionInput, ReasonInput, RequestInput, Steward};
use uuid::Uuid;

use crate::support::*;

const DAY: i64 = 24;

fn visit(at: jiff::Timestamp, n: usize) -> InteractionInput {
    InteractionInput {
        kind: "web_visit".into(),
        occurred_at: Some(at),
        summary: format!("visit {n}"),
        body: None,
        facets: Default::default(),
    }
}

fn order(at: jiff::Timestamp) -> InteractionInput {
    InteractionInput {
        kind: "order".into(),
        occurred_at: Some(at),
        summary: "an order".into(),
        body: None,
        facets: Default::default(),
    }
}

async fn sweep(
    app: &Steward,
    dpo: &Access,
    dry_run: bool,
) -> (steward_app::RunView, BTreeSet<(String, Uuid)>) {
    let run = app
        .retention()
        .start_run(dpo, dry_run)
        .await
        .expect("start");
    let mut planned = BTreeSet::new();
    let done = app
        .retention()
        .run(
            run.id,
            |_| ControlFlow::Continue(()),
            |item| {
                planned.insert((item.rule.clone(), item.record_id));
            },
        )
        .await
        .expect("run");
    (done, planned)
}

async fn acted(app: &Steward, dpo: &Access, run: Uuid) -> BTreeSet<(String, Uuid)> {
    app.retention()
        .run_items(dpo, run)
        .await
        .expect("items")
        .into_iter()
        .map(|i| (i.rule, i.record_id))
        .collect()
}

fn advance(clock: &Arc<FixedClock>, days: i64) {
    clock.advance(SignedDuration::from_hours(DAY * days));
}

#[tokio::test]
async fn records_past_their_rule_go_in_one_run_the_rest_stay_and_holds_are_reported() {
    let (_dir, app, clock) = app_with_clock().await;
    let agent = agent(&app);
    let dpo = dpo(&app);
    let t0 = app.now();
    let mk = |email: &'static str| input(email, "Quinn");
    let quiet = app
        .customers()
        .create(&agent, mk("quiet@example.com"))
        .await
        .expect("c");
    let buyer = app
        .customers()
        .create(&agent, mk("buyer@example.com"))
        .await
        .expect("c");
    let held = app
        .customers()
        .create(&agent, mk("held@example.com"))
        .await
        .expect("c");
    let asker = app
        .customers()
        .create(&agent, mk("asker@example.com"))
        .await
        .expect("c");
    let old_visit = app
        .interactions()
        .add(&agent, buyer.id, visit(t0, 0))
        .await
        .expect("visit");
    let request = app
        .requests()
        .create(
            &dpo,
            RequestInput {
                kind: "access".into(),
                channel: "email".into(),
                customer_id: Some(asker.id),
                ..Default::default()
            },
        )
        .await
        .expect("request");
    app.requests()
        .deny(
            &dpo,
            request.id,
            &ReasonInput {
                reason: "We could not confirm who asked.".into(),
            },
        )
        .await
        .expect("closed");

    // Two years on the buyer orders; a year and a few weeks after that, they visit.
    advance(&clock, 730);
    app.interactions()
        .add(&agent, buyer.id, order(app.now()))
        .await
        .expect("order");
    advance(&clock, 400);
    let new_visit = app
        .interactions()
        .add(&agent, buyer.id, visit(app.now(), 1))
        .await
        .expect("visit");
    app.holds()
        .create(
            &dpo,
            HoldInput {
                customer_id: Some(held.id),
                category: None,
                reason: "Pending claim".into(),
                owner: "Legal team".into(),
                ends_at: None,
            },
        )
        .await
        .expect("hold");

    let (dry, planned) = sweep(&app, &dpo, true).await;
    assert!(dry.dry_run && dry.state == "finished");
    assert!(
        app.customers().get(&agent, quiet.id).await.is_ok(),
        "a dry run changes nothing"
    );
    let expected: BTreeSet<(String, Uuid)> = [
        ("web-visits".to_string(), old_visit.id),
        ("dormant-customers".to_string(), quiet.id),
        ("dormant-customers".to_string(), asker.id),
        ("closed-requests".to_string(), request.id),
    ]
    .into_iter()
    .collect();
    assert_eq!(planned, expected);

    let (real, _) = sweep(&app, &dpo, false).await;
    assert_eq!(
        acted(&app, &dpo, real.id).await,
        planned,
        "the dry run predicted the run"
    );
    assert!(app.rights().is_erased(quiet.id).await.expect("erased"));
    assert!(app.rights().is_erased(asker.id).await.expect("erased"));
    assert!(
        app.customers().get(&agent, buyer.id).await.is_ok(),
        "ordered within three years"
    );
    assert!(app.customers().get(&agent, held.id).await.is_ok(), "held");
    let timeline: Vec<Uuid> = app
        .interactions()
        .list(&agent, buyer.id, None, None)
        .await
        .expect("timeline")
        .items
        .iter()
        .map(|i| i.id)
        .collect();
    assert!(!timeline.contains(&old_visit.id) && timeline.contains(&new_visit.id));
    assert!(matches!(
        app.requests().get(&dpo, request.id).await,
        Err(steward_app::AppError::NotFound)
    ));
    let dormant = real
        .report
        .rules
        .iter()
        .find(|r| r.rule == "dormant-customers")
        .expect("reported");
    assert_eq!((dormant.done, dormant.held), (2, 1));
    assert_eq!(
        real.report
            .held
            .iter()
            .map(|i| i.record_id)
            .collect::<Vec<_>>(),
        [held.id],
        "held records are reported, with their rule and dates"
    );

    // Idempotent: a second run acts on nothing and still reports the hold.
    let (again, _) = sweep(&app, &dpo, false).await;
    assert!(acted(&app, &dpo, again.id).await.is_empty());
    assert_eq!(again.report.held.len(), 1);
    assert!(app.audit().verify().await.expect("verify").ok);
    let updates = app
        .requests()
        .recipient_updates(&dpo, quiet.id)
        .await
        .expect("art 19");
    assert_eq!(updates[0].kind, "erasure");
}

async fn many_visits(app: &Arc<Steward>, customers: usize, per_customer: usize) -> usize {
    let agent = agent(app);
    let now = app.now();
    let then = now
        .checked_sub(SignedDuration::from_hours(DAY * 100))
        .expect("a hundred days ago");
    let mut writers = tokio::task::JoinSet::new();
    for n in 0..customers {
        let (app, agent) = (app.clone(), agent.clone());
        writers.spawn(async move {
            let c = app
                .customers()
                .create(&agent, input(&format!("v{n}@example.com"), "Vi"))
                .await
                .expect("customer");
            // A recent order keeps the customer; their visits of a hundred days ago go.
            app.interactions()
                .add(&agent, c.id, order(now))
                .await
                .expect("order");
            for i in 0..per_customer {
                app.interactions()
                    .add(&agent, c.id, visit(then, i))
                    .await
                    .expect("visit");
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.expect("writer");
    }
    customers * per_customer
}

#[tokio::test]
async fn a_sweep_cut_short_resumes_where_it_stopped_without_doing_anything_twice() {
    let (_dir, app, clock) = app_with_clock().await;
    let app = Arc::new(app);
    let dpo = dpo(&app);
    let total = many_visits(&app, 25, 100).await;

    let run = app.retention().start_run(&dpo, false).await.expect("start");
    let mut batches = 0;
    let cut = app
        .retention()
        .run(
            run.id,
            |_| {
                batches += 1;
                ControlFlow::Break(())
            },
            |_| {},
        )
        .await
        .expect("first batch");
    assert_eq!(cut.state, "running", "stopped mid-run");
    let first = acted(&app, &dpo, run.id).await.len();
    assert!(first > 0 && first < total, "{first} of {total}");

    // The sweeper is gone; once its lease runs out the next run picks its work up.
    advance(&clock, 1);
    let resumed = app
        .retention()
        .start_run(&dpo, false)
        .await
        .expect("resume");
    assert_eq!(resumed.id, run.id, "the stalled run is carried on");
    let finished = app
        .retention()
        .run(resumed.id, |_| ControlFlow::Continue(()), |_| {})
        .await
        .expect("rest");
    assert_eq!(finished.state, "finished");
    let items = acted(&app, &dpo, run.id).await;
    assert_eq!(items.len(), total, "every visit once");
    let visits = finished
        .report
        .rules
        .iter()
        .find(|r| r.rule == "web-visits")
        .expect("visits");
    assert_eq!(visits.done as usize, total, "and reported once");
    assert!(app.audit().verify().await.expect("verify").ok);
}

#[tokio::test]
async fn three_sweepers_with_their_own_data_directories_act_on_each_record_once_postgres() {
    let cluster = Cluster::new().await;
    let clock = cluster.clock.clone();
    let apps = cluster.open_all(3).await;
    let a = &apps[0];
    // A few customers with nothing since they joined, for the erasing rule.
    let agent = agent(a);
    let mut dormant = Vec::new();
    for n in 0..30 {
        dormant.push(
            a.customers()
                .create(&agent, input(&format!("d{n}@example.com"), "Dee"))
                .await
                .expect("dormant")
                .id,
        );
    }
    advance(&clock, 3 * 366);
    let total = many_visits(a, 20, 60).await;

    let each = |app: &Arc<Steward>| {
        let app = app.clone();
        async move { sweep(&app, &dpo(&app), false).await.0 }
    };
    let (r0, r1, r2) = tokio::join!(each(&apps[0]), each(&apps[1]), each(&apps[2]));
    let runs = [r0, r1, r2];
    let mut all = BTreeSet::new();
    for run in &runs {
        let items = acted(a, &dpo(a), run.id).await;
        assert!(all.is_disjoint(&items), "no record acted on twice");
        all.extend(items);
    }
    let visits = all.iter().filter(|(r, _)| r == "web-visits").count();
    let erased = all.iter().filter(|(r, _)| r == "dormant-customers").count();
    assert_eq!((visits, erased), (total, dormant.len()));
    let reported: u64 = runs
        .iter()
        .flat_map(|r| r.report.rules.iter())
        .filter(|o| o.rule == "web-visits" || o.rule == "dormant-customers")
        .map(|o| o.done)
        .sum();
    assert_eq!(
        reported as usize,
        total + dormant.len(),
        "each reported once"
    );
    for id in dormant {
        assert!(a.rights().is_erased(id).await.expect("erased"));
    }
    assert!(a.audit().verify().await.expect("verify").ok);
}

#[tokio::test]
async fn a_stalled_run_is_taken_over_by_one_instance_and_the_others_start_their_own_postgres() {
    let cluster = Cluster::new().await;
    let clock = cluster.clock.clone();
    let apps = cluster.open_all(3).await;
    let a = &apps[0];
    let total = many_visits(a, 20, 60).await;
    let stalled = a
        .retention()
        .start_run(&dpo(a), false)
        .await
        .expect("start");
    let cut = a
        .retention()
        .run(stalled.id, |_| ControlFlow::Break(()), |_| {})
        .await
        .expect("first batch");
    assert_eq!(cut.state, "running", "stopped mid-run");

    // Its sweeper is gone; the three instances find the run stalled at once.
    advance(&clock, 1);
    let start = |app: &Arc<Steward>| {
        let app = app.clone();
        async move {
            let dpo = dpo(&app);
            app.retention().start_run(&dpo, false).await.expect("start")
        }
    };
    let (s0, s1, s2) = tokio::join!(start(&apps[0]), start(&apps[1]), start(&apps[2]));
    let started = [s0.id, s1.id, s2.id];
    let carried_on = started.iter().filter(|id| **id == stalled.id).count();
    assert_eq!(
        carried_on, 1,
        "one instance carries the stalled run on: {started:?}"
    );
    assert_eq!(
        started.iter().collect::<BTreeSet<_>>().len(),
        3,
        "the others start their own"
    );

    let finish = |app: &Arc<Steward>, id: Uuid| {
        let app = app.clone();
        async move {
            app.retention()
                .run(id, |_| ControlFlow::Continue(()), |_| {})
                .await
                .expect("run")
        }
    };
    let (f0, f1, f2) = tokio::join!(
        finish(&apps[0], s0.id),
        finish(&apps[1], s1.id),
        finish(&apps[2], s2.id)
    );
    let mut all = BTreeSet::new();
    for run in [&f0, &f1, &f2] {
        assert_eq!(run.state, "finished");
        let items = acted(a, &dpo(a), run.id).await;
        assert!(all.is_disjoint(&items), "no record acted on twice");
        all.extend(items);
    }
    let visits = all.iter().filter(|(r, _)| r == "web-visits").count();
    assert_eq!(visits, total, "every visit once");
    let reported: u64 = [&f0, &f1, &f2]
        .iter()
        .flat_map(|r| r.report.rules.iter())
        .filter(|o| o.rule == "web-visits")
        .map(|o| o.done)
        .sum();
    assert_eq!(reported as usize, total, "each reported once");
    assert!(a.audit().verify().await.expect("verify").ok);
}

#[tokio::test]
async fn a_swept_interaction_no_longer_counts_as_the_last_one() {
    let (_dir, app, clock) = app_with_clock().await;
    let agent = agent(&app);
    let dpo = dpo(&app);
    let c = app
        .customers()
        .create(&agent, input("swept@example.com", "Sam"))
        .await
        .expect("create");
    let ordered = app.now();
    app.interactions()
        .add(&agent, c.id, order(ordered))
        .await
        .expect("order");
    advance(&clock, 1);
    let visited = app.now();
    app.interactions()
        .add(&agent, c.id, visit(visited, 1))
        .await
        .expect("visit");
    let last = app.customers().get(&agent, c.id).await.expect("read");
    assert_eq!(last.last_interaction_at, Some(visited));
    advance(&clock, 120);
    let (run, _) = sweep(&app, &dpo, false).await;
    assert_eq!(run.state, "finished");
    let last = app.customers().get(&agent, c.id).await.expect("read");
    assert_eq!(
        last.last_interaction_at,
        Some(ordered),
        "the visit went, the order is the last interaction left"
    );
}
