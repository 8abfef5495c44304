//! Webhooks for integrations over HTTP: a subscription made by the administrator (bad input
//! answered with the field), events sent by the server's own sender to a real HTTPS receiver
//! that fails first, each verified here with HMAC-SHA256 keyed by the secret shown once, an
//! update naming exactly its changed field and no value, and the deliveries with their
//! attempts read back.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use jiff::SignedDuration;
use serde_json::{Value, json};
use sha2::Sha256;
use steward_app::core::Role;
use steward_testkit::webhooks::{Received, WebhookReceiver};

use crate::support::*;

/// The receiver's own check of a message, as the Standard Webhooks specification words it.
fn verifies(secret: &str, m: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_"))
        .expect("base64 secret");
    let signed = format!(
        "{}.{}.",
        m.header("webhook-id").expect("webhook-id"),
        m.header("webhook-timestamp").expect("webhook-timestamp")
    );
    m.header("webhook-signature")
        .expect("webhook-signature")
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .any(|tag| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
            mac.update(signed.as_bytes());
            mac.update(&m.body);
            mac.verify_slice(&tag).is_ok()
        })
}

/// Waits, a bounded while, for the receiver to have `n` requests.
async fn received(receiver: &WebhookReceiver, n: usize) {
    for _ in 0..200 {
        if receiver.count() >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the receiver has {} requests, not {n}", receiver.count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_made_over_the_api_receives_signed_events_with_names_only() {
    let receiver = WebhookReceiver::start(&[500]).await;
    let t = spawn_app_with_webhooks(steward_app::WebhookSettings {
        extra_roots: Some(receiver.certificate().to_path_buf()),
    })
    .await;
    let admin = t.token(Role::Admin, &[]).await;
    let auditor = t.token(Role::Auditor, &[]).await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let list = "/api/v1/webhooks/subscriptions";
    let made = |events: Value, url: String| {
        json!({"name": "Warehouse sync", "url": url, "events": events}).to_string()
    };

    // Bad input: 422 naming the field, nothing made; an agent may not subscribe.
    for (body, field) in [
        (
            made(
                json!(["customer.created", "order.placed"]),
                receiver.url("/in"),
            ),
            "events[1]",
        ),
        (made(json!([]), receiver.url("/in")), "events"),
        (
            made(json!(["customer.created"]), "http://127.0.0.1:1/in".into()),
            "url",
        ),
    ] {
        let refused = t.req("POST", list, Some(&admin), &[], Some(&body)).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        let problem = refused.json();
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        assert!(problem["code"].is_string(), "{problem}");
    }
    let unknown_key = t
        .req(
            "POST",
            list,
            Some(&admin),
            &[],
            Some(r#"{"name":"x","url":"https://127.0.0.1:1/","events":["customer.created"],"secret":"mine"}"#),
        )
        .await;
    assert_eq!(unknown_key.status, 422, "{}", unknown_key.body);
    let body = made(
        json!(["customer.created", "customer.updated"]),
        receiver.url("/in"),
    );
    let denied = t.req("POST", list, Some(&agent), &[], Some(&body)).await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    assert_eq!(
        t.req("GET", list, Some(&auditor), &[], None).await.json(),
        json!([])
    );

    let created = t.req("POST", list, Some(&admin), &[], Some(&body)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let shown = created.json();
    let secret = shown["secret"].as_str().expect("secret").to_string();
    assert!(secret.starts_with("whsec_"));
    let id = shown["id"].as_str().expect("id").to_string();
    let read = t
        .req("GET", &format!("{list}/{id}"), Some(&auditor), &[], None)
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert!(!read.body.contains(&secret));
    assert_eq!(
        read.json()["events"],
        json!(["customer.created", "customer.updated"])
    );

    // A customer made and renamed: two events, the first answered 500 and tried again.
    let customer = t
        .req(
            "POST",
            "/api/v1/customers",
            Some(&agent),
            &[],
            Some(r#"{"fields":{"email":"ines@example.com","given_name":"Ines","family_name":"Quarless"},"residency":"DE"}"#),
        )
        .await;
    assert_eq!(customer.status, 201, "{}", customer.body);
    let customer = customer.json();
    let customer_id = customer["id"].as_str().expect("id").to_string();
    received(&receiver, 1).await;
    let renamed = t
        .req(
            "PATCH",
            &format!("/api/v1/customers/{customer_id}"),
            Some(&agent),
            &[("If-Match", &format!("\"{}\"", customer["version"]))],
            Some(r#"{"fields":{"given_name":"Inessa"}}"#),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    received(&receiver, 2).await;
    t.clock.advance(SignedDuration::from_mins(10));
    received(&receiver, 3).await;

    let got = receiver.received();
    assert_eq!(
        got.iter().map(|m| m.answered).collect::<Vec<_>>(),
        [500, 200, 200]
    );
    assert_eq!(got[0].header("webhook-id"), got[2].header("webhook-id"));
    for m in &got {
        assert!(verifies(&secret, m), "the signature verifies");
        let text = String::from_utf8_lossy(&m.body);
        for value in ["ines@example.com", "Ines", "Inessa", "Quarless"] {
            assert!(!text.contains(value), "{value} sent: {text}");
        }
    }
    let bodies: Vec<Value> = [&got[1], &got[2]]
        .iter()
        .map(|m| serde_json::from_slice(&m.body).expect("json"))
        .collect();
    let of = |kind: &str| {
        bodies
            .iter()
            .find(|b| b["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind}: {bodies:?}"))
            .clone()
    };
    assert_eq!(
        of("customer.created")["data"],
        json!({"customer_id": customer_id, "fields": ["email", "family_name", "given_name"]})
    );
    assert_eq!(
        of("customer.updated")["data"],
        json!({"customer_id": customer_id, "fields": ["given_name"]})
    );
    assert!(of("customer.updated")["timestamp"].is_string());

    // The deliveries with every attempt, once the sender has recorded the last answer it got;
    // a tampered message does not verify.
    let mut recorded = 0;
    let mut deliveries = Value::Null;
    for _ in 0..200 {
        let read = t
            .req(
                "GET",
                &format!("{list}/{id}/deliveries"),
                Some(&auditor),
                &[],
                None,
            )
            .await;
        assert_eq!(read.status, 200, "{}", read.body);
        deliveries = read.json();
        recorded = deliveries
            .as_array()
            .expect("deliveries")
            .iter()
            .map(|d| d["attempts"].as_array().expect("attempts").len())
            .sum::<usize>();
        if recorded >= 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(recorded, 3, "{deliveries}");
    let mut told: Vec<(String, String)> = deliveries
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| {
            (
                d["event"].as_str().unwrap_or_default().to_string(),
                d["about"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    told.sort();
    let about = customer_id.clone();
    assert_eq!(
        told,
        [
            ("customer.created".to_string(), about.clone()),
            ("customer.updated".to_string(), about)
        ],
        "each names its event and its customer"
    );
    let mut tampered = got[1].clone();
    tampered.body.push(b'\n');
    assert!(!verifies(&secret, &tampered));

    // Paused, rotated, deleted.
    let paused = t
        .req(
            "PATCH",
            &format!("{list}/{id}"),
            Some(&admin),
            &[],
            Some(r#"{"active":false}"#),
        )
        .await;
    assert_eq!(paused.status, 200, "{}", paused.body);
    assert_eq!(paused.json()["active"], false);
    let rotated = t
        .req(
            "POST",
            &format!("{list}/{id}/rotate-secret"),
            Some(&admin),
            &[],
            None,
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_ne!(rotated.json()["secret"], json!(secret));
    let gone = t
        .req("DELETE", &format!("{list}/{id}"), Some(&admin), &[], None)
        .await;
    assert_eq!(gone.status, 204, "{}", gone.body);
    let missing = t
        .req("GET", &format!("{list}/{id}"), Some(&admin), &[], None)
        .await;
    assert_eq!(missing.status, 404, "{}", missing.body);
}

/// The console's page in Chromium: the administrator subscribes an integration, sees the
/// secret once (not after a reload), is answered with the field when no event is ticked, and
/// pauses the subscription.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_subscribes_an_integration_and_shows_its_secret_once_in_a_browser() {
    use crate::console::{PASSWORD, add_staff, in_browser};
    use crate::webdriver::Browser;

    let t = spawn_app().await;
    let uri = add_staff(&t, "admin@example.com", Role::Admin)
        .await
        .expect("an admin has a second factor");
    let code = totp_now(&uri, t.app.now());
    let base = format!("http://{}", t.addr);
    let secret = in_browser(move || {
        let b = Browser::start();
        b.goto(&format!("{base}/console/login"));
        b.fill("#email", "admin@example.com");
        b.fill("#password", PASSWORD);
        b.fill("#totp", &code);
        b.click("main button[type=submit]");
        b.click("nav a[href='/console/webhooks']");
        assert!(b.arrives("/console/webhooks"), "{}", b.url());
        assert!(b.exists("#no-subscriptions"));

        // No event ticked: sent back naming the events, what was typed kept.
        b.fill("#sub-name", "Warehouse sync");
        b.fill("#sub-url", "https://127.0.0.1:9/events");
        b.click("#new-subscription-form button[type=submit]");
        assert!(!b.exists("#new-secret"), "nothing made");
        assert!(b.shows("name at least one event"), "{}", b.source());

        b.click("#sub-event-1");
        b.click("#sub-event-3");
        b.click("#new-subscription-form button[type=submit]");
        let secret = b.text("#new-secret");
        assert!(secret.starts_with("whsec_"), "{secret}");
        assert!(b.text_has("#subscription-list", "customer.created"));
        assert!(b.text_has("#subscription-list", "customer.erased"));
        assert!(b.text_has("#subscription-list", "active"));

        // Shown once: the page read again has it no more.
        b.goto(&format!("{base}/console/webhooks"));
        assert!(!b.exists("#new-secret"));
        assert!(!b.source().contains(&secret));
        b.click("#subscription-list button:not(.danger)");
        assert!(b.text_has("#subscription-list", "paused"), "{}", b.source());
        b.click("#subscription-list a");
        assert!(b.exists("#no-deliveries"));
        secret
    })
    .await;
    let listed = t
        .app
        .webhooks()
        .subscriptions(&t.operator.actor("check", &[]))
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert!(!listed[0].active);
    assert!(!format!("{listed:?}").contains(&secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_privacy_officer_names_the_vendor_and_purpose_values_go_under_in_a_browser() {
    use crate::console::{add_staff, in_browser, sign_in_with};
    use crate::webdriver::Browser;

    const LEGAL: &str = "essential.legal_obligation";
    let t = spawn_app().await;
    let keeper = t
        .app
        .access(&t.operator.actor("register", &[LEGAL]), Some(LEGAL))
        .expect("keeper");
    let mut vendor = crate::sharing::processor("DE");
    vendor["legal_name"] = json!("Nordpost GmbH");
    let vendor = t
        .app
        .vendors()
        .create(&keeper, serde_json::from_value(vendor).expect("vendor"))
        .await
        .expect("vendor")
        .vendor
        .id;
    let uri = add_staff(&t, "dpo@example.com", Role::Dpo)
        .await
        .expect("a privacy officer has a second factor");
    let code = totp_now(&uri, t.app.now());
    let base = format!("http://{}", t.addr);
    in_browser(move || {
        let b = Browser::start();
        sign_in_with(&b, &base, "dpo@example.com", Some(&code), LEGAL);
        b.goto(&format!("{base}/console/webhooks"));
        b.fill("#sub-name", "Mail house");
        b.fill("#sub-url", "https://127.0.0.1:9/events");
        b.click("#sub-event-1");
        // A vendor without the purpose values would be shared for: refused beside the
        // purpose, the vendor still chosen.
        b.click(&format!("#sub-vendor option[value='{vendor}']"));
        b.click("#new-subscription-form button[type=submit]");
        assert!(!b.exists("#new-secret"), "nothing made");
        assert!(
            b.shows("a vendor goes with the purpose the values are shared for"),
            "{}",
            b.source()
        );
        assert_eq!(
            b.script("return document.querySelector('#sub-vendor').value"),
            json!(vendor.to_string())
        );
        b.click("#sub-purpose option[value='marketing.communications.email']");
        b.click("#new-subscription-form button[type=submit]");
        assert!(b.text("#new-secret").starts_with("whsec_"));
        assert!(
            b.text_has("#subscription-list", "to Nordpost GmbH"),
            "{}",
            b.source()
        );
    })
    .await;
    let listed = t
        .app
        .webhooks()
        .subscriptions(&t.operator.actor("check", &[]))
        .await
        .expect("list");
    assert_eq!(
        (listed[0].vendor_id, listed[0].purpose.as_deref()),
        (Some(vendor), Some("marketing.communications.email"))
    );
}
