//! Whom a breach reached, attached to it from the audit log, the encryption exemption that
//! ends once a key is marked compromised, and the customers told of it: once each, through
//! SMTP, and in their portal.

use jiff::SignedDuration;
use serde_json::json;
use steward_app::AppError;
use steward_app::core::{Clock, Role};

use crate::breaches::{open_laptop, plan, with_plan};
use crate::support::*;

#[tokio::test]
async fn a_breach_attaches_whom_x_reached_and_tells_each_of_them_once() {
    use steward_app::core::breach::ScopeQuery;

    let smtp = steward_testkit::smtp::SmtpServer::start();
    let o = with_plan(false, Some(smtp.url())).await;
    let (app, clock) = (&*o.app, &*o.clock);
    let agent = agent(app);
    let mut customers = Vec::new();
    for (i, name) in ["Adalinde", "Gracelyn", "Hedwig", "Ottoline"]
        .iter()
        .enumerate()
    {
        let c = app
            .customers()
            .create(&agent, input(&format!("c{i}@example.com"), name))
            .await
            .expect("customer");
        customers.push(c.id);
    }
    clock.advance(SignedDuration::from_mins(30));
    let start = clock.now();
    // Staff account X reads the email and the date of birth (a special category) of three
    // customers; another account reads the fourth.
    let x = format!("user:{}", uuid::Uuid::now_v7());
    let x_access = app
        .access(
            &app.local_staff(&x, Role::Admin, &["essential.service"]),
            Some("essential.service"),
        )
        .expect("access");
    for id in &customers[..3] {
        app.customers().get(&x_access, *id).await.expect("read");
    }
    app.customers()
        .get(&agent, customers[3])
        .await
        .expect("read");
    clock.advance(SignedDuration::from_mins(30));
    let end = clock.now();

    let dpo = dpo(app);
    let b = open_laptop(app, clock.now()).await;
    let query = ScopeQuery {
        from: start,
        to: end,
        actors: vec![x.clone()],
        ..Default::default()
    };
    let scope = app
        .breaches()
        .scope(&dpo, b.breach.id, query.clone())
        .await
        .expect("scope");
    assert_eq!(scope.result.customers, 3);
    assert!(scope.result.special);
    let email_category = &app.catalog().field("email").expect("email").category;
    assert!(scope.result.categories.contains(email_category));
    assert!(scope.result.encrypted_exemption_possible);
    assert_eq!(scope.authorities.len(), 1);
    assert_eq!(scope.authorities[0].customers, 3);
    assert_eq!(scope.authorities[0].authority, plan().lead_authority.name);
    let read = app
        .breaches()
        .get(&actor(app, Role::Auditor), b.breach.id)
        .await
        .expect("get");
    assert_eq!(read.affected_customers, 3);
    assert_eq!(read.scope.as_ref().map(|s| s.result.customers), Some(3));

    // The encryption exemption holds while no key is exposed, and not once one is.
    let exempt = json!({
        "risk": "high",
        "risk_reasoning": "Dates of birth were read.",
        "authority": {"notify": true, "notified_at": clock.now(), "authorities": ["BlnBDI"]},
        "customer_decision": {"notify": false, "exemption": "a", "evidence": "Disk encryption."}
    });
    app.breaches()
        .update(&dpo, b.breach.id, &exempt, None)
        .await
        .expect("exemption while no key is exposed");
    app.keys()
        .mark_compromised(
            &actor(app, Role::Admin),
            1,
            "The backup with the master key was copied.",
        )
        .await
        .expect("compromised");
    let again = json!({"customer_decision": {"notify": false, "exemption": "a", "evidence": "Disk encryption, checked again."}});
    let refused = app
        .breaches()
        .update(&dpo, b.breach.id, &again, None)
        .await
        .expect_err("exemption with an exposed key");
    assert!(
        matches!(
            refused,
            AppError::BreachRefused(
                steward_app::core::breach::BreachRefusal::EncryptionExemptionUnavailable
            )
        ),
        "{refused:?}"
    );
    let rescoped = app
        .breaches()
        .scope(&dpo, b.breach.id, query)
        .await
        .expect("scope");
    assert!(!rescoped.result.encrypted_exemption_possible);

    // Told: a dry run counts, the run queues one message per customer, a second run none.
    app.breaches()
        .update(
            &dpo,
            b.breach.id,
            &json!({"customer_decision": {"notify": true, "exemption": null, "evidence": null}}),
            None,
        )
        .await
        .expect("decided to tell");
    let dry = app
        .breaches()
        .notify_customers(&dpo, b.breach.id, true)
        .await
        .expect("dry run");
    assert_eq!((dry.affected, dry.queued, dry.already_told), (3, 3, 0));
    app.outbox().deliver_due().await.expect("deliver");
    for i in 0..4 {
        assert!(
            smtp.messages_to(&format!("c{i}@example.com")).is_empty(),
            "a dry run sends nothing"
        );
    }
    let run = app
        .breaches()
        .notify_customers(&dpo, b.breach.id, false)
        .await
        .expect("run");
    assert_eq!(run.queued, 3);
    let rerun = app
        .breaches()
        .notify_customers(&dpo, b.breach.id, false)
        .await
        .expect("run again");
    assert_eq!((rerun.queued, rerun.already_told), (0, 3));
    app.outbox().deliver_due().await.expect("deliver");
    for i in 0..3 {
        let to = format!("c{i}@example.com");
        let mut told = Vec::new();
        for _ in 0..100 {
            told = smtp.messages_to(&to);
            if !told.is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(told.len(), 1, "{to} is told once");
        assert!(
            told[0].body.contains("security incident"),
            "{}",
            told[0].body
        );
    }
    assert!(
        smtp.messages_to("c3@example.com").is_empty(),
        "the fourth was not reached"
    );
    let subject = signed_in(app, Inbox::Smtp(&smtp), "c0@example.com").await;
    let shown = app.portal().breach_notices(&subject).await.expect("portal");
    assert_eq!(shown.len(), 1);
    assert!(shown[0].text.contains("security incident"));
    let untold = signed_in(app, Inbox::Smtp(&smtp), "c3@example.com").await;
    assert!(
        app.portal()
            .breach_notices(&untold)
            .await
            .expect("portal")
            .is_empty()
    );
}
