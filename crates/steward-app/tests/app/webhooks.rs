//! A share delivered by webhook (I6): exactly the agreed fields of exactly the lawful customers
//! reach a real HTTPS receiver on loopback, in messages signed in the Standard Webhooks form
//! that verify with the vendor's secret (checked here with HMAC-SHA256 of our own, not
//! Steward's), retried after the receiver first fails, every attempt recorded; a customer
//! erased before delivery is not delivered, and the secret is never stored in the clear.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use jiff::SignedDuration;
use serde_json::json;
use sha2::Sha256;
use steward_app::core::Role;
use steward_app::{AppError, NoticeStatus, ShareDelivery, WebhookInput, WebhookSettings};
use steward_testkit::webhooks::{Received, WebhookReceiver};
use uuid::Uuid;

use crate::shares::{EMAIL, agreement, asked, consenting, share_entries, vendor_with};
use crate::support::*;
use crate::vendor_fixtures::*;

/// The vendor's check of a message, as its own code would make it: HMAC-SHA256 keyed with the
/// secret's bytes over `{webhook-id}.{webhook-timestamp}.{body}`, against each `v1,`
/// signature in the header.
fn verifies(secret: &str, id: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    header.split(' ').any(|signature| {
        let Some(tag) = signature
            .strip_prefix("v1,")
            .and_then(|b64| STANDARD.decode(b64).ok())
        else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        mac.verify_slice(&tag).is_ok()
    })
}

pub(crate) fn verifies_message(secret: &str, m: &Received) -> bool {
    verifies(
        secret,
        m.header("webhook-id").expect("webhook-id"),
        m.header("webhook-timestamp").expect("webhook-timestamp"),
        &m.body,
        m.header("webhook-signature").expect("webhook-signature"),
    )
}

pub(crate) fn trusting(receiver: &WebhookReceiver) -> WebhookSettings {
    WebhookSettings {
        extra_roots: Some(receiver.certificate().to_path_buf()),
    }
}

#[tokio::test]
async fn a_webhook_share_reaches_the_receiver_signed_and_retried_sqlite() {
    delivered(false).await;
}

#[tokio::test]
async fn a_webhook_share_reaches_the_receiver_signed_and_retried_postgres() {
    delivered(true).await;
}

async fn delivered(pg: bool) {
    let receiver = WebhookReceiver::start(&[503]).await;
    let (kept, app, clock) = steward_with(pg, trusting(&receiver)).await;
    let dpo = dpo(&app);
    let agent = agent(&app);
    let ada = consenting(&app, "ada@example.com", "Adalinde").await;
    let grace = consenting(&app, "grace@example.com", "Gracelyn").await;
    let hedy = consenting(&app, "hedy@example.com", "Hedwiga").await;
    let silent = app
        .customers()
        .create(&agent, input("silent@example.com", "Silvester"))
        .await
        .expect("no consent")
        .id;
    let vendor = vendor_with(&app, processor("DE"), |id| Some(agreement(id, vec![]))).await;
    let by_webhook = |customers: Vec<Uuid>| steward_app::ShareInput {
        delivery: ShareDelivery::Webhook,
        ..asked(vendor, customers)
    };

    // No endpoint yet: refused naming the field, and nothing written.
    match app.shares().share(&dpo, by_webhook(vec![ada, grace])).await {
        Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, "delivery"),
        other => panic!("expected a refusal naming delivery, got {other:?}"),
    }
    assert!(share_entries(&app).await.is_empty());

    // Only the privacy officer sets it, only to an https URL; the secret is shown then.
    assert!(matches!(
        app.vendors()
            .set_webhook(
                &agent,
                vendor,
                WebhookInput {
                    url: receiver.url("/in")
                }
            )
            .await,
        Err(AppError::Forbidden(_))
    ));
    for bad in [
        "http://127.0.0.1/in",
        "https://user:pw@127.0.0.1/in",
        "not a url",
    ] {
        match app
            .vendors()
            .set_webhook(&dpo, vendor, WebhookInput { url: bad.into() })
            .await
        {
            Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, "url"),
            other => panic!("{bad}: expected a refusal naming url, got {other:?}"),
        }
    }
    let shown = app
        .vendors()
        .set_webhook(
            &dpo,
            vendor,
            WebhookInput {
                url: receiver.url("/hooks/steward"),
            },
        )
        .await
        .expect("endpoint set");
    let secret = shown.secret.clone();
    assert!(secret.starts_with("whsec_"));
    let endpoint = app
        .vendors()
        .webhook(&actor(&app, Role::Auditor), vendor)
        .await
        .expect("endpoint");
    assert_eq!(endpoint, shown.endpoint);
    assert!(!format!("{endpoint:?}").contains(&secret));

    let share = app
        .shares()
        .share(&dpo, by_webhook(vec![ada, grace, hedy, silent]))
        .await
        .expect("shared");
    assert_eq!(share.shared, 3);
    assert_eq!(share.delivery, "webhook");
    let progress = |p, d, f| {
        Some(steward_app::DeliveryProgress {
            pending: p,
            delivered: d,
            failed: f,
        })
    };
    assert_eq!(share.deliveries, progress(1, 0, 0));
    // Erased after the share, before delivery: withheld from every attempt (and the vendor
    // is told of the erasure by a message of its own, queued after the share's).
    app.rights().erase(&dpo, hedy).await.expect("erased");

    // The receiver first fails: the delivery waits for its retry.
    let first = app.webhooks().deliver_due().await.expect("first round");
    assert_eq!((first.delivered, first.retried, first.failed), (1, 1, 0));
    assert_eq!(receiver.count(), 2);
    let early = app.webhooks().deliver_due().await.expect("nothing due");
    assert_eq!(early, Default::default());
    assert_eq!(receiver.count(), 2);
    clock.advance(SignedDuration::from_mins(5));
    let second = app.webhooks().deliver_due().await.expect("second round");
    assert_eq!((second.delivered, second.retried, second.failed), (1, 0, 0));
    let got: Vec<Received> = receiver
        .received()
        .into_iter()
        .filter(|m| {
            serde_json::from_slice::<serde_json::Value>(&m.body).expect("json")["type"]
                == json!("share.page")
        })
        .collect();
    assert_eq!(
        got.iter().map(|m| m.answered).collect::<Vec<_>>(),
        [503, 200]
    );

    // Both attempts: one message id, each its own time, each signature good for the vendor.
    let id = got[0].header("webhook-id").expect("id");
    assert_eq!(got[1].header("webhook-id"), Some(id));
    assert_ne!(
        got[0].header("webhook-timestamp"),
        got[1].header("webhook-timestamp")
    );
    assert_eq!(
        got[1].header("webhook-timestamp"),
        Some(app.now().as_second().to_string().as_str())
    );
    for m in &got {
        assert_eq!(m.path, "/hooks/steward");
        assert_eq!(m.header("content-type"), Some("application/json"));
        assert!(verifies_message(&secret, m), "the signature verifies");
    }
    // A changed body, or another secret, does not.
    let mut tampered = got[1].clone();
    let at = tampered
        .body
        .iter()
        .position(|&b| b == b'A')
        .expect("a letter to change");
    tampered.body[at] = b'B';
    assert!(!verifies_message(&secret, &tampered));
    let other = steward_app::core::sharing::VendorInput {
        legal_name: "Other".into(),
        ..processor("DE")
    };
    let other = vendor_with(&app, other, |_| None).await;
    let other_secret = app
        .vendors()
        .set_webhook(
            &dpo,
            other,
            WebhookInput {
                url: receiver.url("/other"),
            },
        )
        .await
        .expect("other endpoint")
        .secret;
    assert_ne!(other_secret, secret);
    assert!(!verifies_message(&other_secret, &got[1]));

    // Exactly the agreed fields of exactly the lawful customers still known.
    let body: serde_json::Value = serde_json::from_slice(&got[1].body).expect("json");
    assert_eq!(body["type"], json!("share.page"));
    let data = &body["data"];
    assert_eq!(data["share_id"], json!(share.id));
    assert_eq!(data["vendor_id"], json!(vendor));
    assert_eq!(data["purpose"], json!(EMAIL));
    assert_eq!(data["fields"], json!(["email", "given_name"]));
    assert_eq!(data["withheld"], json!(1));
    let mut customers = data["customers"].as_array().expect("customers").clone();
    customers.sort_by_key(|c| c["fields"]["given_name"].as_str().map(String::from));
    assert_eq!(
        customers,
        vec![
            json!({"customer_id": ada, "fields": {"email": "ada@example.com", "given_name": "Adalinde"}}),
            json!({"customer_id": grace, "fields": {"email": "grace@example.com", "given_name": "Gracelyn"}}),
        ]
    );
    assert!(
        !got.iter()
            .any(|m| String::from_utf8_lossy(&m.body).contains("Hedwiga"))
    );

    // The attempts are on record for the auditor, and the share counts the delivery.
    let auditor = actor(&app, Role::Auditor);
    let deliveries = app
        .shares()
        .deliveries(&auditor, share.id)
        .await
        .expect("deliveries");
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].id.to_string(), id);
    assert_eq!(deliveries[0].state, "delivered");
    let attempts: Vec<_> = deliveries[0]
        .attempts
        .iter()
        .map(|a| {
            (
                a.attempt,
                a.outcome.as_str(),
                a.status,
                a.retry_at.is_some(),
            )
        })
        .collect();
    assert_eq!(
        attempts,
        [
            (1, "retry", Some(503), true),
            (2, "delivered", Some(200), false)
        ]
    );
    assert!(matches!(
        app.shares()
            .deliveries(&actor(&app, Role::Agent), share.id)
            .await,
        Err(AppError::Forbidden(_))
    ));
    assert_eq!(
        app.shares()
            .get(&auditor, share.id)
            .await
            .expect("share")
            .deliveries,
        progress(0, 1, 0)
    );

    // Each message sent is audited with the customers whose values went, and ids only.
    let sent: Vec<_> = share_entries(&app)
        .await
        .into_iter()
        .filter(|e| e.0 == "share.deliver")
        .collect();
    assert_eq!(sent.len(), 2);
    for (_, targets, detail) in &sent {
        let mut targets = targets.clone();
        targets.sort();
        let mut expected = vec![ada.to_string(), grace.to_string()];
        expected.sort();
        assert_eq!(targets, expected);
        assert!(detail.as_deref().is_some_and(|d| d.contains(id)));
    }

    // Nothing of the secret, nor of the values sent, is kept in the clear.
    let raw = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("base64");
    for file in files_under(kept.0.path()) {
        let bytes = std::fs::read(&file).expect("read");
        assert!(
            !contains(&bytes, &raw),
            "the secret's bytes in {}",
            file.display()
        );
    }
    if let Some(db) = &kept.1 {
        let stored = steward_store::testing::stored_bytes(&db.url).await;
        assert!(
            !contains(&stored, &raw),
            "the secret's bytes in the PostgreSQL database"
        );
    }
    assert_nothing_in_clear(
        kept.0.path(),
        kept.1.as_ref(),
        &[
            &secret,
            secret.trim_start_matches("whsec_"),
            "ada@example.com",
            "Adalinde",
            "Gracelyn",
        ],
    )
    .await;
}

/// What a receiver that will not take the message, or a vendor without an endpoint any more,
/// comes to: given up at once, on record, and counted as failed.
#[tokio::test]
async fn a_refusing_receiver_or_a_removed_endpoint_fails_the_delivery_at_once() {
    let receiver = WebhookReceiver::start(&[410]).await;
    let (_kept, app, _clock) = steward_with(false, trusting(&receiver)).await;
    let dpo = dpo(&app);
    let ada = consenting(&app, "ada@example.com", "Adalinde").await;
    let vendor = vendor_with(&app, processor("DE"), |id| Some(agreement(id, vec![]))).await;
    app.vendors()
        .set_webhook(
            &dpo,
            vendor,
            WebhookInput {
                url: receiver.url("/in"),
            },
        )
        .await
        .expect("endpoint");
    let input = || steward_app::ShareInput {
        delivery: ShareDelivery::Webhook,
        ..asked(vendor, vec![ada])
    };
    let gone = app.shares().share(&dpo, input()).await.expect("shared");
    let round = app.webhooks().deliver_due().await.expect("round");
    assert_eq!((round.delivered, round.retried, round.failed), (0, 0, 1));
    let auditor = actor(&app, Role::Auditor);
    let d = app
        .shares()
        .deliveries(&auditor, gone.id)
        .await
        .expect("deliveries");
    assert_eq!(d[0].state, "failed");
    assert_eq!(d[0].attempts.len(), 1);
    assert_eq!(d[0].attempts[0].status, Some(410));

    let orphan = app.shares().share(&dpo, input()).await.expect("shared");
    app.vendors()
        .remove_webhook(&dpo, vendor)
        .await
        .expect("removed");
    assert!(matches!(
        app.vendors().remove_webhook(&dpo, vendor).await,
        Err(AppError::NotFound)
    ));
    let round = app.webhooks().deliver_due().await.expect("round");
    assert_eq!(round.failed, 1);
    assert_eq!(receiver.count(), 1, "nothing sent without an endpoint");
    let d = app
        .shares()
        .deliveries(&auditor, orphan.id)
        .await
        .expect("deliveries");
    assert_eq!(d[0].attempts[0].error.as_deref(), Some("no_endpoint"));
    assert_eq!(
        app.shares()
            .get(&auditor, orphan.id)
            .await
            .expect("share")
            .deliveries
            .map(|p| p.failed),
        Some(1)
    );
}

#[tokio::test]
async fn a_share_past_a_page_goes_in_pages_each_customer_once_sqlite() {
    paged(false).await;
}

#[tokio::test]
async fn a_share_past_a_page_goes_in_pages_each_customer_once_postgres() {
    paged(true).await;
}

/// More customers than a message holds: each customer in exactly one message, even with two
/// senders draining the outbox at once.
async fn paged(pg: bool) {
    let receiver = WebhookReceiver::start(&[]).await;
    let (_kept, app, _clock) = steward_with(pg, trusting(&receiver)).await;
    let dpo = dpo(&app);
    let agent = agent(&app);
    let mut ids = Vec::new();
    for i in 0..501 {
        let id = app
            .customers()
            .create(&agent, input(&format!("c{i}@example.com"), "Pagina"))
            .await
            .expect("customer")
            .id;
        give_consent(&app, &agent, id, EMAIL).await;
        ids.push(id);
    }
    let vendor = vendor_with(&app, processor("DE"), |id| Some(agreement(id, vec![]))).await;
    app.vendors()
        .set_webhook(
            &dpo,
            vendor,
            WebhookInput {
                url: receiver.url("/in"),
            },
        )
        .await
        .expect("endpoint");
    let share = app
        .shares()
        .share(
            &dpo,
            steward_app::ShareInput {
                delivery: ShareDelivery::Webhook,
                ..asked(vendor, ids.clone())
            },
        )
        .await
        .expect("shared");
    assert_eq!(share.deliveries.map(|d| d.pending), Some(2));
    let (one, another) = (app.webhooks(), app.webhooks());
    let (a, b) = tokio::join!(one.deliver_due(), another.deliver_due());
    let sent = a.expect("one sender").delivered + b.expect("another").delivered;
    assert_eq!(sent, 2);
    let got = receiver.received();
    assert_eq!(got.len(), 2, "no message sent twice");
    let mut delivered: Vec<String> = Vec::new();
    let mut pages = Vec::new();
    for m in &got {
        let body: serde_json::Value = serde_json::from_slice(&m.body).expect("json");
        pages.push((body["data"]["page"].clone(), body["data"]["pages"].clone()));
        for c in body["data"]["customers"].as_array().expect("customers") {
            delivered.push(c["customer_id"].as_str().expect("id").to_string());
        }
    }
    pages.sort_by_key(|p| p.0.as_u64());
    assert_eq!(pages, [(json!(1), json!(2)), (json!(2), json!(2))]);
    assert_eq!(
        delivered.len(),
        ids.len(),
        "as many customers as were shared"
    );
    delivered.sort();
    let mut expected: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    expected.sort();
    assert_eq!(delivered, expected, "every customer once");
}

/// A vendor named `name` in good order, under an email-marketing agreement, that received
/// `customer`'s data as a file.
async fn recipient_of(app: &steward_app::Steward, name: &str, customer: Uuid) -> Uuid {
    let v = steward_app::core::sharing::VendorInput {
        legal_name: name.into(),
        ..processor("DE")
    };
    let vendor = vendor_with(app, v, |id| Some(agreement(id, vec![]))).await;
    app.shares()
        .share(&dpo(app), asked(vendor, vec![customer]))
        .await
        .expect("shared");
    vendor
}

#[tokio::test]
async fn an_erasure_is_told_by_webhook_to_a_recipient_with_an_endpoint_sqlite() {
    notice_by_webhook(false).await;
}

#[tokio::test]
async fn an_erasure_is_told_by_webhook_to_a_recipient_with_an_endpoint_postgres() {
    notice_by_webhook(true).await;
}

/// Art. 19 by webhook: the recipient with an endpoint is told by a signed `recipient.notice`
/// message, retried after the receiver first fails, and its notice becomes `sent`; the one
/// without stays listed for the privacy officer to tell by hand.
async fn notice_by_webhook(pg: bool) {
    let receiver = WebhookReceiver::start(&[503]).await;
    let (_kept, app, clock) = steward_with(pg, trusting(&receiver)).await;
    let dpo = dpo(&app);
    let auditor = actor(&app, Role::Auditor);
    let ada = consenting(&app, "ada@example.com", "Adalinde").await;
    let hooked = recipient_of(&app, "Postwerk Mail Ltd", ada).await;
    let by_hand = recipient_of(&app, "Kundenhaus GmbH", ada).await;
    let secret = app
        .vendors()
        .set_webhook(
            &dpo,
            hooked,
            WebhookInput {
                url: receiver.url("/notices"),
            },
        )
        .await
        .expect("endpoint")
        .secret;

    app.rights().erase(&dpo, ada).await.expect("erased");
    let notices = app
        .recipient_notices()
        .of_customer(&dpo, ada)
        .await
        .expect("notices");
    assert_eq!(notices.len(), 2);
    let of = |notices: &[steward_app::RecipientNoticeView], vendor: Uuid| {
        notices
            .iter()
            .find(|n| n.vendor_id == vendor)
            .expect("a notice to the vendor")
            .clone()
    };
    let told = of(&notices, hooked);
    assert_eq!(told.status, NoticeStatus::Pending);

    // The receiver first fails: the notice stays pending until the retry gets through.
    let first = app.webhooks().deliver_due().await.expect("first round");
    assert_eq!((first.delivered, first.retried, first.failed), (0, 1, 0));
    let pending = app
        .recipient_notices()
        .of_customer(&dpo, ada)
        .await
        .expect("notices");
    assert_eq!(of(&pending, hooked).status, NoticeStatus::Pending);
    clock.advance(SignedDuration::from_mins(5));
    let second = app.webhooks().deliver_due().await.expect("second round");
    assert_eq!((second.delivered, second.retried, second.failed), (1, 0, 0));
    let sent_at = app.now();

    let now = app
        .recipient_notices()
        .of_customer(&dpo, ada)
        .await
        .expect("notices");
    let told_now = of(&now, hooked);
    assert_eq!(told_now.status, NoticeStatus::Sent);
    assert_eq!(
        told_now.sent_at.map(|t| t.as_microsecond()),
        Some(sent_at.as_microsecond())
    );
    assert_eq!(
        of(&now, by_hand).status,
        NoticeStatus::Pending,
        "a recipient without an endpoint is left to be told by hand"
    );

    // Both attempts were one signed message naming the notice, the customer and the change,
    // and no value of the customer's.
    let got = receiver.received();
    assert_eq!(
        got.iter().map(|m| m.answered).collect::<Vec<_>>(),
        [503, 200]
    );
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"));
    for m in &got {
        assert_eq!(m.path, "/notices");
        assert!(verifies_message(&secret, m), "the signature verifies");
        let text = String::from_utf8(m.body.clone()).expect("utf-8");
        for value in ["ada@example.com", "Adalinde"] {
            assert!(!text.contains(value), "the message holds no personal value");
        }
    }
    let body: serde_json::Value = serde_json::from_slice(&got[1].body).expect("json");
    assert_eq!(body["type"], json!("recipient.notice"));
    assert_eq!(
        body["data"],
        json!({
            "notice_id": told.id,
            "customer_id": ada,
            "change": "erasure",
            "fields": [],
            "due": told.due,
        })
    );

    // Every attempt on record, the move audited as the sender's.
    let d = app
        .recipient_notices()
        .deliveries(&auditor, told.id)
        .await
        .expect("deliveries");
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].kind, "recipient.notice");
    assert_eq!(d[0].state, "delivered");
    assert_eq!(
        d[0].attempts
            .iter()
            .map(|a| (a.outcome.as_str(), a.status))
            .collect::<Vec<_>>(),
        [("retry", Some(503)), ("delivered", Some(200))]
    );
    assert!(
        app.recipient_notices()
            .deliveries(&auditor, of(&now, by_hand).id)
            .await
            .expect("deliveries")
            .is_empty()
    );
    let entries = app
        .audit()
        .entries(&auditor, 0, 1_000)
        .await
        .expect("audit");
    let sent = entries
        .iter()
        .filter(|e| e.record.action == "recipient_notice.sent")
        .collect::<Vec<_>>();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].record.actor, "system:webhooks");
    assert_eq!(
        sent[0].record.targets,
        vec![ada.to_string(), told.id.to_string()]
    );

    // Nothing is left to send.
    clock.advance(SignedDuration::from_hours(24));
    assert_eq!(
        app.webhooks().deliver_due().await.expect("round"),
        Default::default()
    );
    assert_eq!(receiver.count(), 2);
}

/// A receiver that will not take the notice leaves it `failed`, saying what came back, and
/// the privacy officer may still tell the vendor by hand.
#[tokio::test]
async fn a_notice_the_receiver_refuses_is_failed() {
    let receiver = WebhookReceiver::start(&[410]).await;
    let (_kept, app, _clock) = steward_with(false, trusting(&receiver)).await;
    let dpo = dpo(&app);
    let ada = consenting(&app, "ada@example.com", "Adalinde").await;
    let vendor = recipient_of(&app, "Postwerk Mail Ltd", ada).await;
    app.vendors()
        .set_webhook(
            &dpo,
            vendor,
            WebhookInput {
                url: receiver.url("/in"),
            },
        )
        .await
        .expect("endpoint");
    app.rights().erase(&dpo, ada).await.expect("erased");
    let round = app.webhooks().deliver_due().await.expect("round");
    assert_eq!((round.delivered, round.retried, round.failed), (0, 0, 1));
    let notices = app
        .recipient_notices()
        .of_customer(&dpo, ada)
        .await
        .expect("notices");
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].status, NoticeStatus::Failed);
    assert!(
        notices[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("410")),
        "{:?}",
        notices[0].reason
    );
    let by_hand = app
        .recipient_notices()
        .mark(&dpo, notices[0].id, NoticeStatus::Sent, None)
        .await
        .expect("told by hand");
    assert_eq!(by_hand.status, NoticeStatus::Sent);
}

/// A rectification is told by name of the changed field, never its old or new value.
#[tokio::test]
async fn a_rectification_is_told_by_field_name_only() {
    let receiver = WebhookReceiver::start(&[]).await;
    let (_kept, app, _clock) = steward_with(false, trusting(&receiver)).await;
    let dpo = dpo(&app);
    let agent = agent(&app);
    let ada = consenting(&app, "ada@example.com", "Adalinde").await;
    let vendor = recipient_of(&app, "Postwerk Mail Ltd", ada).await;
    let secret = app
        .vendors()
        .set_webhook(
            &dpo,
            vendor,
            WebhookInput {
                url: receiver.url("/in"),
            },
        )
        .await
        .expect("endpoint")
        .secret;
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
            steward_app::CustomerPatch {
                fields: [("given_name".to_string(), Some("Adeline".to_string()))].into(),
                ..Default::default()
            },
            version,
        )
        .await
        .expect("rectified");
    let round = app.webhooks().deliver_due().await.expect("round");
    assert_eq!(round.delivered, 1);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert!(verifies_message(&secret, &got[0]));
    let text = String::from_utf8(got[0].body.clone()).expect("utf-8");
    for value in ["Adalinde", "Adeline", "ada@example.com"] {
        assert!(!text.contains(value), "the message holds no personal value");
    }
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).expect("json");
    assert_eq!(body["data"]["change"], json!("rectification"));
    assert_eq!(body["data"]["fields"], json!(["given_name"]));
    assert_eq!(body["data"]["customer_id"], json!(ada));
    let notices = app
        .recipient_notices()
        .of_customer(&dpo, ada)
        .await
        .expect("notices");
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].status, NoticeStatus::Sent);
}
