//! Webhooks for integrations: each of the five events reaches a real HTTPS receiver, signed
//! in the Standard Webhooks form (checked here with HMAC-SHA256 of our own) with the secret
//! shown once, carrying ids and field names and no value; a failed answer is retried under
//! the same message id; with no subscription nothing is queued. Values go only under the
//! subscription's vendor and purpose, through the one share, recorded as a disclosure, and
//! not once the customer's consent is withdrawn or the customer erased before the attempt.

use jiff::SignedDuration;
use serde_json::{Value, json};
use steward_app::core::Role;
use steward_app::{
    AppError, ConsentInput, CustomerPatch, Evidence, RequestInput, Retag, Steward,
    SubscriptionInput, SubscriptionPatch,
};
use steward_testkit::webhooks::{Received, WebhookReceiver};
use uuid::Uuid;

use crate::shares::{EMAIL, agreement, consenting, vendor_with};
use crate::support::*;
use crate::vendor_fixtures::*;
use crate::webhooks::{trusting, verifies_message};

pub(crate) const ALL: [&str; 5] = [
    "customer.created",
    "customer.updated",
    "customer.erased",
    "consent.changed",
    "request.completed",
];

pub(crate) fn subscription(url: String, events: &[&str]) -> SubscriptionInput {
    SubscriptionInput {
        name: "CRM sync".into(),
        url,
        events: events.iter().map(|e| e.to_string()).collect(),
        vendor_id: None,
        purpose: None,
    }
}

pub(crate) fn body(m: &Received) -> Value {
    serde_json::from_slice(&m.body).expect("json body")
}

fn renamed(given: &str) -> CustomerPatch {
    CustomerPatch {
        fields: [("given_name".to_string(), Some(given.to_string()))]
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

async fn decide(app: &Steward, customer: Uuid, state: &str) {
    app.consent()
        .record(
            &agent(app),
            customer,
            ConsentInput {
                purpose: EMAIL.into(),
                state: state.into(),
                notice_version: None,
                // Given by the customer's own hand elsewhere: no confirmation link to follow.
                method: Some("import".into()),
                fields: Default::default(),
            },
            &Evidence::default(),
        )
        .await
        .expect("consent decision");
}

/// Runs the sender until nothing is due, moving the clock past any retry.
pub(crate) async fn drain(app: &Steward, clock: &steward_app::core::FixedClock) {
    for _ in 0..4 {
        let round = app.webhooks().deliver_due().await.expect("round");
        if round == Default::default() {
            clock.advance(SignedDuration::from_mins(10));
        }
    }
}

#[tokio::test]
async fn each_event_reaches_the_subscription_signed_with_names_only_sqlite() {
    events(false).await;
}

#[tokio::test]
async fn each_event_reaches_the_subscription_signed_with_names_only_postgres() {
    events(true).await;
}

async fn events(pg: bool) {
    let receiver = WebhookReceiver::start(&[503]).await;
    let (kept, app, clock) = steward_with(pg, trusting(&receiver)).await;
    let admin = actor(&app, Role::Admin);
    let agent_ = agent(&app);
    let dpo = dpo(&app);

    // No subscription: a change queues nothing.
    let early = app
        .customers()
        .create(&agent_, input("early@example.com", "Earliest"))
        .await
        .expect("customer");
    app.customers()
        .update(&agent_, early.id, renamed("Earlier"), early.version)
        .await
        .expect("update");
    assert_eq!(
        app.webhooks().deliver_due().await.expect("round"),
        Default::default()
    );
    assert_eq!(receiver.count(), 0);

    // Refusals name the field; an agent may not subscribe.
    let url = receiver.url("/events");
    assert!(matches!(
        app.webhooks()
            .subscribe(agent_.actor(), subscription(url.clone(), &ALL))
            .await,
        Err(AppError::Forbidden(_))
    ));
    for (bad, field) in [
        (
            subscription(url.clone(), &["customer.deleted"]),
            "events[0]",
        ),
        (subscription(url.clone(), &[]), "events"),
        (subscription("http://127.0.0.1/x".into(), &ALL), "url"),
        (
            SubscriptionInput {
                name: " ".into(),
                ..subscription(url.clone(), &ALL)
            },
            "name",
        ),
    ] {
        match app.webhooks().subscribe(&admin, bad).await {
            Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, field),
            other => panic!("expected a refusal naming {field}, got {other:?}"),
        }
    }
    assert!(
        app.webhooks()
            .subscriptions(&admin)
            .await
            .expect("list")
            .is_empty()
    );

    let shown = app
        .webhooks()
        .subscribe(&admin, subscription(url.clone(), &ALL))
        .await
        .expect("subscribed");
    let secret = shown.secret.clone();
    assert!(secret.starts_with("whsec_"));
    let listed = app
        .webhooks()
        .subscriptions(&actor(&app, Role::Auditor))
        .await
        .expect("list");
    assert_eq!(listed, vec![shown.subscription.clone()]);
    assert!(!format!("{listed:?}").contains(&secret));

    // The five events.
    let ada = app
        .customers()
        .create(&agent_, input("ada@example.com", "Adalinde"))
        .await
        .expect("customer");
    let updated = app
        .customers()
        .update(&agent_, ada.id, renamed("Adelheid"), ada.version)
        .await
        .expect("update");
    decide(&app, ada.id, "given").await;
    // Tags changed in bulk are a change to each customer, named as such; the name index
    // rebuilt is no change at all.
    let retagged = app
        .customers()
        .retag(
            &agent_,
            Retag {
                ids: vec![ada.id, early.id],
                add: vec!["spring".into()],
                remove: vec![],
            },
        )
        .await
        .expect("retag");
    assert_eq!(retagged, 2);
    app.customers()
        .reindex_names(&operator(&app, "reindex", &[]), |_| {})
        .await
        .expect("reindex");
    let gwen = app
        .customers()
        .create(&agent_, input("gwen@example.com", "Gwendolyn"))
        .await
        .expect("customer");
    let request = app
        .requests()
        .create(
            &dpo,
            RequestInput {
                kind: "access".into(),
                channel: "email".into(),
                email: Some("gwen@example.com".into()),
                ..Default::default()
            },
        )
        .await
        .expect("request");
    app.requests()
        .verify(&dpo, request.id)
        .await
        .expect("verify");
    app.requests()
        .complete(&dpo, request.id)
        .await
        .expect("complete");
    let version = app
        .customers()
        .get(&agent_, ada.id)
        .await
        .expect("read")
        .version;
    assert_eq!(version, updated.version + 1, "retagged once");
    app.rights().erase(&dpo, ada.id).await.expect("erased");

    drain(&app, &clock).await;
    let got = receiver.received();
    let delivered: Vec<&Received> = got.iter().filter(|m| m.answered == 200).collect();
    let mut types: Vec<String> = delivered
        .iter()
        .map(|m| body(m)["type"].as_str().expect("type").to_string())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "consent.changed",
            "customer.created",
            "customer.created",
            "customer.erased",
            "customer.updated",
            "customer.updated",
            "customer.updated",
            "request.completed",
        ]
    );
    // Every message verifies with the secret shown once, and a tampered one does not.
    for m in &got {
        assert_eq!(m.path, "/events");
        assert!(verifies_message(&secret, m), "the signature verifies");
    }
    let mut tampered = delivered[0].clone();
    tampered.body.push(b' ');
    assert!(!verifies_message(&secret, &tampered));
    // The failed first answer was tried again under the same message id.
    assert_eq!(got[0].answered, 503);
    let retried = got[0].header("webhook-id").expect("id");
    assert_eq!(
        got.iter()
            .filter(|m| m.header("webhook-id") == Some(retried))
            .map(|m| m.answered)
            .collect::<Vec<_>>(),
        [503, 200]
    );

    let of = |kind: &str| -> Vec<Value> {
        delivered
            .iter()
            .map(|m| body(m))
            .filter(|b| b["type"] == json!(kind))
            .map(|b| b["data"].clone())
            .collect()
    };
    let created: Vec<Value> = of("customer.created");
    let all_fields = json!(["birth_date", "email", "family_name", "given_name", "phone"]);
    assert!(created.contains(&json!({"customer_id": ada.id, "fields": all_fields})));
    let mut updates = of("customer.updated");
    updates.sort_by_key(|d| d.to_string());
    let mut expected = vec![
        json!({"customer_id": ada.id, "fields": ["given_name"]}),
        json!({"customer_id": ada.id, "fields": ["tags"]}),
        json!({"customer_id": early.id, "fields": ["tags"]}),
    ];
    expected.sort_by_key(|d| d.to_string());
    assert_eq!(updates, expected);
    assert_eq!(
        of("consent.changed"),
        [json!({"customer_id": ada.id, "purpose": EMAIL, "state": "given"})]
    );
    assert_eq!(
        of("request.completed"),
        [json!({"request_id": request.id, "customer_id": gwen.id, "kind": "access"})]
    );
    assert_eq!(of("customer.erased"), [json!({"customer_id": ada.id})]);
    for m in &got {
        let text = String::from_utf8_lossy(&m.body);
        for value in [
            "ada@example.com",
            "Adalinde",
            "Adelheid",
            "gwen@example.com",
            "Gwendolyn",
        ] {
            assert!(!text.contains(value), "{value} in a message: {text}");
        }
        let b = body(m);
        assert!(b["timestamp"].is_string());
        assert!(b["data"].get("values").is_none());
    }

    // The deliveries, with their attempts, for those who may read them.
    let deliveries = app
        .webhooks()
        .subscription_deliveries(&actor(&app, Role::Auditor), shown.subscription.id)
        .await
        .expect("deliveries");
    assert_eq!(deliveries.len(), 8);
    assert!(deliveries.iter().all(|d| d.state == "delivered"));
    // Each names its event and what it is about, for whoever debugs the integration.
    let erased: Vec<_> = deliveries
        .iter()
        .filter(|d| d.event.as_deref() == Some("customer.erased"))
        .map(|d| d.about)
        .collect();
    assert_eq!(erased, [Some(ada.id)]);
    assert!(
        deliveries
            .iter()
            .any(|d| d.event.as_deref() == Some("request.completed") && d.about == Some(request.id))
    );
    let first = deliveries
        .iter()
        .find(|d| d.id.to_string() == retried)
        .expect("the retried delivery");
    assert_eq!(
        first
            .attempts
            .iter()
            .map(|a| (a.outcome.as_str(), a.status))
            .collect::<Vec<_>>(),
        [("retry", Some(503)), ("delivered", Some(200))]
    );
    assert!(matches!(
        app.webhooks()
            .subscription_deliveries(agent_.actor(), shown.subscription.id)
            .await,
        Err(AppError::Forbidden(_))
    ));

    // Paused, it is sent nothing, not even what was queued before; resumed, what waited goes
    // and events flow again; rotated, the new secret signs.
    let iris = app
        .customers()
        .create(&agent_, input("iris@example.com", "Iris"))
        .await
        .expect("customer");
    let paused = app
        .webhooks()
        .change_subscription(
            &admin,
            shown.subscription.id,
            SubscriptionPatch {
                active: Some(false),
                ..Default::default()
            },
        )
        .await
        .expect("paused");
    assert!(!paused.active);
    app.customers()
        .create(&agent_, input("hedy@example.com", "Hedwiga"))
        .await
        .expect("customer");
    assert_eq!(
        app.webhooks().deliver_due().await.expect("round"),
        Default::default()
    );
    app.webhooks()
        .change_subscription(
            &admin,
            shown.subscription.id,
            SubscriptionPatch {
                active: Some(true),
                ..Default::default()
            },
        )
        .await
        .expect("resumed");
    let rotated = app
        .webhooks()
        .rotate_secret(&admin, shown.subscription.id)
        .await
        .expect("rotated");
    assert_ne!(rotated.secret, secret);
    app.customers()
        .create(&agent_, input("joan@example.com", "Joanna"))
        .await
        .expect("customer");
    let before = receiver.count();
    drain(&app, &clock).await;
    let after_pause: Vec<Value> = receiver.received()[before..]
        .iter()
        .map(|m| body(m)["data"]["customer_id"].clone())
        .collect();
    assert_eq!(after_pause.len(), 2, "what waited and what came after");
    assert_eq!(after_pause[0], json!(iris.id));
    let last = receiver.received().pop().expect("a message");
    assert!(verifies_message(&rotated.secret, &last));
    assert!(!verifies_message(&secret, &last));

    // Deleted, it is gone; every change was audited with its id.
    app.webhooks()
        .unsubscribe(&admin, shown.subscription.id)
        .await
        .expect("deleted");
    assert!(matches!(
        app.webhooks()
            .subscription(&admin, shown.subscription.id)
            .await,
        Err(AppError::NotFound)
    ));
    let audited: Vec<String> = app
        .audit()
        .entries(&actor(&app, Role::Auditor), 0, 1_000)
        .await
        .expect("audit")
        .into_iter()
        .filter(|e| {
            e.record.action.starts_with("webhook.subscription.")
                && e.record.targets == [shown.subscription.id.to_string()]
        })
        .map(|e| e.record.action)
        .collect();
    assert_eq!(
        audited,
        [
            "webhook.subscription.create",
            "webhook.subscription.update",
            "webhook.subscription.update",
            "webhook.subscription.rotate",
            "webhook.subscription.delete",
        ]
    );
    let raw = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        secret.trim_start_matches("whsec_"),
    )
    .expect("base64");
    for file in files_under(kept.0.path()) {
        let bytes = std::fs::read(&file).expect("read");
        assert!(!contains(&bytes, &raw), "the secret in {}", file.display());
    }
    assert_nothing_in_clear(
        kept.0.path(),
        kept.1.as_ref(),
        &[&secret, secret.trim_start_matches("whsec_"), "Adelheid"],
    )
    .await;
}

#[tokio::test]
async fn values_go_only_under_the_vendors_agreement_and_the_customers_consent_sqlite() {
    with_values(false).await;
}

#[tokio::test]
async fn values_go_only_under_the_vendors_agreement_and_the_customers_consent_postgres() {
    with_values(true).await;
}

async fn with_values(pg: bool) {
    let receiver = WebhookReceiver::start(&[]).await;
    let (_kept, app, clock) = steward_with(pg, trusting(&receiver)).await;
    let dpo = dpo(&app);
    let admin = actor(&app, Role::Admin);
    let agent_ = agent(&app);
    let vendor = vendor_with(&app, processor("DE"), |id| Some(agreement(id, vec![]))).await;
    let valued = SubscriptionInput {
        vendor_id: Some(vendor),
        purpose: Some(EMAIL.into()),
        ..subscription(
            receiver.url("/values"),
            &["customer.created", "customer.updated"],
        )
    };
    // Only the register's keeper names where values go.
    assert!(matches!(
        app.webhooks().subscribe(&admin, valued.clone()).await,
        Err(AppError::Forbidden(_))
    ));
    match app
        .webhooks()
        .subscribe(
            dpo.actor(),
            SubscriptionInput {
                purpose: None,
                ..valued.clone()
            },
        )
        .await
    {
        Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, "purpose"),
        other => panic!("expected a refusal naming purpose, got {other:?}"),
    }
    let shown = app
        .webhooks()
        .subscribe(dpo.actor(), valued)
        .await
        .expect("subscribed");

    // Created, then consent given before the attempt: the values go, and are disclosed.
    let ada = consenting(&app, "ada@example.com", "Adalinde").await;
    drain(&app, &clock).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert!(verifies_message(&shown.secret, &got[0]));
    let data = &body(&got[0])["data"];
    assert_eq!(data["customer_id"], json!(ada));
    assert_eq!(
        data["fields"],
        json!(["birth_date", "email", "family_name", "given_name", "phone"])
    );
    assert_eq!(
        data["values"],
        json!({"email": "ada@example.com", "given_name": "Adalinde"})
    );
    let disclosed = app
        .shares()
        .disclosures(&agent_, ada)
        .await
        .expect("disclosures");
    assert_eq!(disclosed.len(), 1);
    assert_eq!(disclosed[0].vendor_id, vendor);

    // Updated, then the consent withdrawn before the attempt: names only, nothing disclosed.
    let version = app
        .customers()
        .get(&agent_, ada)
        .await
        .expect("read")
        .version;
    app.customers()
        .update(&agent_, ada, renamed("Adelheid"), version)
        .await
        .expect("update");
    decide(&app, ada, "withdrawn").await;
    drain(&app, &clock).await;
    let got = receiver.received();
    assert_eq!(got.len(), 2);
    let data = &body(&got[1])["data"];
    assert_eq!(data, &json!({"customer_id": ada, "fields": ["given_name"]}));
    assert!(!String::from_utf8_lossy(&got[1].body).contains("Adelheid"));
    assert_eq!(
        app.shares()
            .disclosures(&agent_, ada)
            .await
            .expect("disclosures")
            .len(),
        1
    );

    // Consent given again, an update, then the customer erased before the attempt: ids only.
    decide(&app, ada, "given").await;
    let version = app
        .customers()
        .get(&agent_, ada)
        .await
        .expect("read")
        .version;
    app.customers()
        .update(&agent_, ada, renamed("Adelina"), version)
        .await
        .expect("update");
    app.rights().erase(&dpo, ada).await.expect("erased");
    drain(&app, &clock).await;
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert_eq!(
        body(&got[2])["data"],
        json!({"customer_id": ada, "fields": ["given_name"]})
    );
    assert!(!String::from_utf8_lossy(&got[2].body).contains("Adelina"));
}
