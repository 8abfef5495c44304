//! Several instances of Steward, each with its own data directory, on one PostgreSQL
//! database and one shared key store: the background jobs that must not
//! run twice run on one instance a period, and what they do to each item happens once.

use std::sync::Arc;

use jiff::SignedDuration;
use steward_app::core::consent::ConsentState;
use steward_app::core::personalization::{Facets, Level};
use steward_app::core::{FixedClock, Role};
use steward_app::{AuditFilter, InstallationFacts, InteractionInput, Steward};
use uuid::Uuid;

use crate::support::*;

const PROFILED: &str = "personalize.content.profiled";
const SMS: &str = "marketing.communications.sms";

struct Three {
    _cluster: Cluster,
    apps: Vec<Arc<Steward>>,
    clock: Arc<FixedClock>,
}

async fn three_instances() -> Three {
    let cluster = Cluster::new().await;
    let apps = cluster.open_all(3).await;
    Three {
        clock: cluster.clock.clone(),
        _cluster: cluster,
        apps,
    }
}

/// The audit entries of one action, oldest first.
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

/// Runs one of every instance's periodic jobs: each runs its first round at once and stops
/// after it, as the stop has come by then.
async fn one_round_each<F, J>(apps: &[Arc<Steward>], job: J)
where
    J: Fn(steward_app::Jobs, tokio::sync::oneshot::Receiver<()>) -> F,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let mut stops = Vec::new();
    let mut running = tokio::task::JoinSet::new();
    for app in apps {
        let (stop, stopped) = tokio::sync::oneshot::channel();
        stops.push(stop);
        running.spawn(job(app.jobs(), stopped));
    }
    for stop in stops {
        let _ = stop.send(());
    }
    while let Some(done) = running.join_next().await {
        done.expect("job");
    }
}

#[tokio::test]
async fn consent_expiry_on_three_instances_expires_each_consent_once() {
    let cluster = three_instances().await;
    let a = &cluster.apps[0];
    let agent = agent(a);
    let mut customers = Vec::new();
    for n in 0..12 {
        let c = a
            .customers()
            .create(&agent, input(&format!("c{n}@example.com"), "Cy"))
            .await
            .expect("customer");
        give_consent(a, &agent, c.id, PROFILED).await;
        give_consent(a, &agent, c.id, SMS).await;
        customers.push(c.id);
    }
    // Thirteen months on, both consents of every customer have lapsed.
    cluster.clock.advance(SignedDuration::from_hours(24 * 396));

    let expire = |app: &Arc<Steward>| {
        let app = app.clone();
        async move { app.consent().expire_lapsed(|_| {}).await.expect("expiry") }
    };
    let (n0, n1, n2) = tokio::join!(
        expire(&cluster.apps[0]),
        expire(&cluster.apps[1]),
        expire(&cluster.apps[2])
    );
    let lapsed = 2 * customers.len() as u64;
    assert_eq!(
        n0 + n1 + n2,
        lapsed,
        "each counted once: {n0} + {n1} + {n2}"
    );

    let mut expired = 0;
    for id in &customers {
        let history = a.consent().history(&agent, *id).await.expect("history");
        let ended: Vec<_> = history
            .iter()
            // The given events read as expired too, once lapsed; the expiry's own are these.
            .filter(|e| e.state == ConsentState::Expired && e.method == "expiry")
            .map(|e| e.purpose.as_str())
            .collect();
        assert_eq!(ended.len(), 2, "{id}: {ended:?}");
        expired += ended.len() as u64;
    }
    assert_eq!(expired, lapsed);
    let entries = audited(a, "consent.expire").await;
    for id in &customers {
        let of_customer = entries
            .iter()
            .filter(|e| e.record.targets.contains(&id.to_string()))
            .count();
        assert_eq!(of_customer, 1, "one consent.expire entry for {id}");
    }
    assert_eq!(entries.len(), customers.len());
}

/// A customer at full with orders to derive attributes from.
async fn shopper(app: &Steward, email: &str) -> Uuid {
    let agent = agent(app);
    let c = app
        .customers()
        .create(&agent, input(email, "Pat"))
        .await
        .expect("customer");
    let then = app
        .now()
        .checked_sub(SignedDuration::from_hours(24 * 10))
        .expect("time");
    app.interactions()
        .add(
            &agent,
            c.id,
            InteractionInput {
                kind: "order".into(),
                occurred_at: Some(then),
                summary: "an order".into(),
                body: None,
                facets: Facets {
                    categories: vec!["garden".into()],
                    ..Facets::default()
                },
            },
        )
        .await
        .expect("order");
    app.bench_levels(&[(c.id, Level::Full)])
        .await
        .expect("at full");
    c.id
}

#[tokio::test]
async fn only_one_instance_recomputes_profiles_in_a_period() {
    let cluster = three_instances().await;
    let a = &cluster.apps[0];
    shopper(a, "pat@example.com").await;

    one_round_each(&cluster.apps, |jobs, stop| async move {
        jobs.personalization_recompute(async {
            let _ = stop.await;
        })
        .await
    })
    .await;
    assert_eq!(audited(a, "personalization.recompute").await.len(), 1);

    // The next period, the lease is taken again, by one instance.
    cluster.clock.advance(SignedDuration::from_hours(7));
    one_round_each(&cluster.apps, |jobs, stop| async move {
        jobs.personalization_recompute(async {
            let _ = stop.await;
        })
        .await
    })
    .await;
    assert_eq!(audited(a, "personalization.recompute").await.len(), 2);
}

#[tokio::test]
async fn every_instance_runs_the_self_audit_and_one_records_it_per_period() {
    let cluster = three_instances().await;
    let a = &cluster.apps[0];
    let every = std::time::Duration::from_secs(3600);
    let self_audit = |jobs: steward_app::Jobs, stop: tokio::sync::oneshot::Receiver<()>| async move {
        jobs.security_audit(InstallationFacts::default(), every, async {
            let _ = stop.await;
        })
        .await
    };

    one_round_each(&cluster.apps, self_audit).await;
    assert_eq!(audited(a, "security.audit.run").await.len(), 1);
    for app in &cluster.apps {
        assert!(
            app.self_audit().last().is_some(),
            "each instance has its own report"
        );
    }
    cluster.clock.advance(SignedDuration::from_hours(1));
    one_round_each(&cluster.apps, self_audit).await;
    assert_eq!(audited(a, "security.audit.run").await.len(), 2);
}

#[tokio::test]
async fn three_mail_senders_deliver_each_message_once() {
    let smtp = steward_testkit::smtp::SmtpServer::start();
    let cluster = Cluster::new().await;
    let apps = cluster
        .open_all_with(3, |o| steward_app::OpenOptions {
            mail: steward_app::MailSettings {
                smtp_url: Some(smtp.url()),
                from: "Shop <privacy@shop.test>".into(),
                public_url: "http://steward.test/".into(),
            },
            ..o
        })
        .await;
    // More than one round's batch, so the senders claim from the same rows at once.
    let a = &apps[0];
    let agent = agent(a);
    let mut queued = 0;
    for n in 0..120 {
        let email = format!("m{n}@example.com");
        a.customers()
            .create(&agent, input(&email, "Mo"))
            .await
            .expect("customer");
        a.portal()
            .send_code(&a.portal().address(&email).expect("address"))
            .await
            .expect("queued");
        queued += 1;
    }

    let send = |app: &Arc<Steward>| {
        let app = app.clone();
        async move {
            let mut sent = 0;
            loop {
                let round = app.outbox().deliver_due().await.expect("round");
                if round.sent + round.retried + round.failed == 0 {
                    return sent;
                }
                sent += round.sent;
            }
        }
    };
    let (s0, s1, s2) = tokio::join!(send(&apps[0]), send(&apps[1]), send(&apps[2]));
    assert_eq!(s0 + s1 + s2, queued, "each sent once: {s0} + {s1} + {s2}");
    let got = smtp.wait_for(queued);
    let ids: std::collections::BTreeSet<_> = got
        .iter()
        .map(|m| m.header("Message-ID").expect("a Message-ID").to_owned())
        .collect();
    assert_eq!((got.len(), ids.len()), (queued, queued));
    // Nothing is left for a later round either.
    let round = a.outbox().deliver_due().await.expect("round");
    assert_eq!(round.sent + round.retried + round.failed, 0);
    assert_eq!(smtp.messages().len(), queued);
}

#[tokio::test]
async fn only_one_instance_sweeps_in_a_period() {
    let cluster = three_instances().await;
    let a = &cluster.apps[0];
    let agent = agent(a);
    let dpo = dpo(a);
    let long_ago = a
        .now()
        .checked_sub(SignedDuration::from_hours(24 * 100))
        .expect("time");
    let mut visits = 0;
    for n in 0..5 {
        let c = a
            .customers()
            .create(&agent, input(&format!("v{n}@example.com"), "Vi"))
            .await
            .expect("customer");
        for i in 0..4 {
            a.interactions()
                .add(
                    &agent,
                    c.id,
                    InteractionInput {
                        kind: "web_visit".into(),
                        occurred_at: Some(long_ago),
                        summary: format!("visit {i}"),
                        body: None,
                        facets: Default::default(),
                    },
                )
                .await
                .expect("visit");
            visits += 1;
        }
    }
    let every = std::time::Duration::from_secs(3600);
    let sweeper = |jobs: steward_app::Jobs, stop: tokio::sync::oneshot::Receiver<()>| async move {
        jobs.retention_sweeper(every, async {
            let _ = stop.await;
        })
        .await
    };

    one_round_each(&cluster.apps, sweeper).await;
    let runs = a.retention().runs(&dpo).await.expect("runs");
    assert_eq!(runs.len(), 1, "one run in the period");
    let done: u64 = runs[0]
        .report
        .rules
        .iter()
        .filter(|r| r.rule == "web-visits")
        .map(|r| r.done)
        .sum();
    assert_eq!(done, visits, "and it swept every due visit");
    cluster.clock.advance(SignedDuration::from_hours(2));
    one_round_each(&cluster.apps, sweeper).await;
    assert_eq!(a.retention().runs(&dpo).await.expect("runs").len(), 2);
}
