//! The vendor register, agreements, transfer checks and shares through the API: the privacy
//! officer keeps them, a refusal carries its own code, bad input names its field, and a share
//! by webhook reaches a real receiver, signed, retried after it first fails.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use steward_app::core::Role;
use steward_testkit::webhooks::WebhookReceiver;

use crate::support::*;

/// A processor in good order on the test server's day, established and keeping data in
/// `country`, in the form the API takes.
pub fn processor(country: &str) -> Value {
    json!({
        "legal_name": "Postwerk Mail Ltd",
        "address": "1 Market Street\r\nSuite 4",
        "contact_person": "Dana Whitfield",
        "role": "processor",
        "established_in": [country],
        "stores_in": [country],
        "accesses_from": [],
        "dpa": {
            "signed_on": "2025-06-01",
            "version": "3.0",
            "sha256": "0f".repeat(32),
            "checklist": {
                "instructions": true, "confidentiality": true, "security": true,
                "sub_processor_conditions": true, "help_with_requests": true,
                "help_with_arts_32_to_36": true, "deletion_or_return": true, "audits": true
            }
        },
        "certifications": [],
        "risk_tier": 4,
        "status": "active"
    })
}

/// Email marketing with contact details, to a vendor whose data stays where it is allowed.
pub fn agreement(vendor: &str) -> Value {
    json!({
        "vendor": vendor,
        "purposes": ["marketing.communications.email"],
        "categories": ["user.contact"],
        "destinations": [],
        "valid_from": "2026-01-01",
        "onward_transfer": false
    })
}

/// A review approving the vendor, every question answered yes.
pub fn review(questions: &[&str]) -> Value {
    let answers: serde_json::Map<String, Value> = questions
        .iter()
        .map(|q| (q.to_string(), json!("yes")))
        .collect();
    json!({
        "reviewed_on": "2026-02-20",
        "reviewer": "A. Privacy Officer",
        "answers": answers,
        "outcome": "approved"
    })
}

pub fn review_questions() -> Vec<&'static str> {
    steward_app::core::sharing::ReviewQuestion::ALL
        .iter()
        .map(|q| q.as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_register_is_kept_and_checked_through_the_api() {
    let t = spawn_app().await;
    let dpo = t.token(Role::Dpo, &["essential.legal_obligation"]).await;
    let auditor = t.token(Role::Auditor, &[]).await;

    let made = t
        .req(
            "POST",
            "/api/v1/vendors",
            Some(&dpo),
            &[],
            Some(&processor("US").to_string()),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let vendor = made.json()["id"].as_str().expect("id").to_string();

    // A US processor without the Data Privacy Framework or clauses: refused, and the code
    // says why, to the auditor as to the privacy officer.
    let check = format!(r#"{{"vendor_id":"{vendor}","residency":"DE"}}"#);
    for token in [&dpo, &auditor] {
        let refused = t
            .req(
                "POST",
                "/api/v1/transfers/check",
                Some(token),
                &[],
                Some(&check),
            )
            .await;
        assert_eq!(refused.status, 409, "{}", refused.body);
        assert_eq!(refused.json()["code"], "DPF_INACTIVE", "{}", refused.body);
    }

    // Certified under the framework, the same check is allowed by the adequacy finding.
    let certified = t
        .req(
            "PATCH",
            &format!("/api/v1/vendors/{vendor}"),
            Some(&dpo),
            &[("If-Match", "\"1\"")],
            Some(r#"{"dpf":{"status":"active","checked_on":"2026-02-27"}}"#),
        )
        .await;
    assert_eq!(certified.status, 200, "{}", certified.body);
    let allowed = t
        .req(
            "POST",
            "/api/v1/transfers/check",
            Some(&auditor),
            &[],
            Some(&check),
        )
        .await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert!(allowed.body.contains("adequacy"), "{}", allowed.body);

    // A change from a version that moved on is refused.
    let stale = t
        .req(
            "PATCH",
            &format!("/api/v1/vendors/{vendor}"),
            Some(&dpo),
            &[("If-Match", "\"1\"")],
            Some(r#"{"contact_person":"Someone Else"}"#),
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);

    let reviewed = t
        .req(
            "POST",
            &format!("/api/v1/vendors/{vendor}/reviews"),
            Some(&dpo),
            &[],
            Some(&review(&review_questions()).to_string()),
        )
        .await;
    assert_eq!(reviewed.status, 201, "{}", reviewed.body);

    // Bad input names its field: an unknown country, a purpose not in the catalog.
    let mut unknown_country = processor("DE");
    unknown_country["stores_in"] = json!(["DE", "XX"]);
    let bad = t
        .req(
            "POST",
            "/api/v1/vendors",
            Some(&dpo),
            &[],
            Some(&unknown_country.to_string()),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(
        bad.json()["errors"][0]["field"],
        "stores_in[1]",
        "{}",
        bad.body
    );
    let mut unknown_purpose = agreement(&vendor);
    unknown_purpose["purposes"] = json!(["astrology"]);
    let bad = t
        .req(
            "POST",
            "/api/v1/agreements",
            Some(&dpo),
            &[],
            Some(&unknown_purpose.to_string()),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(
        bad.json()["errors"][0]["field"],
        "purposes[0]",
        "{}",
        bad.body
    );

    // The auditor reads the register but cannot write to it.
    let listed = t
        .req("GET", "/api/v1/vendors", Some(&auditor), &[], None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json().as_array().map(Vec::len), Some(1));
    let refused = t
        .req(
            "POST",
            "/api/v1/vendors",
            Some(&auditor),
            &[("X-Purpose", "essential.legal_obligation")],
            Some(&processor("DE").to_string()),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let table = t
        .req(
            "GET",
            "/api/v1/transfers/adequacy",
            Some(&auditor),
            &[],
            None,
        )
        .await;
    assert_eq!(table.status, 200, "{}", table.body);
    assert!(table.body.contains("\"GB\""), "{}", table.body);
}

/// Inès, resident in Germany, who gave consent to email marketing as an import records it.
pub(crate) async fn consenting_ines(t: &TestApp) -> uuid::Uuid {
    let setup = t.operator.actor("setup", &["essential.service"]);
    let agent = t.app.access(&setup, None).expect("access");
    let id = t
        .app
        .customers()
        .create(
            &agent,
            steward_app::CustomerInput {
                fields: [
                    ("email".to_string(), "ines@example.com".to_string()),
                    ("given_name".to_string(), "Inès".to_string()),
                ]
                .into_iter()
                .collect(),
                residency: "DE".into(),
                tags: vec![],
            },
        )
        .await
        .expect("customer")
        .id;
    t.app
        .consent()
        .record(
            &agent,
            id,
            steward_app::ConsentInput {
                purpose: "marketing.communications.email".into(),
                state: "given".into(),
                notice_version: None,
                method: Some("import".into()),
                fields: Default::default(),
            },
            &steward_app::Evidence::default(),
        )
        .await
        .expect("consent");
    id
}

/// When the vendor's next review is due, and where it stands with its reviews.
async fn review_state(t: &TestApp, vendor: &str, token: &str) -> (Option<String>, Option<String>) {
    let v = t
        .req(
            "GET",
            &format!("/api/v1/vendors/{vendor}"),
            Some(token),
            &[],
            None,
        )
        .await
        .json();
    (
        v["next_review_due"].as_str().map(str::to_string),
        v["attention"]["review"]["state"]
            .as_str()
            .map(str::to_string),
    )
}

pub(crate) fn gauge(body: &str, name: &str) -> Option<u64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_a_day_past_its_review_is_overdue_in_the_api_and_the_metrics() {
    let t = spawn_app().await;
    let dpo = t.token(Role::Dpo, &["essential.legal_obligation"]).await;
    let auditor = t.token(Role::Auditor, &[]).await;
    let overdue = |body: &str| gauge(body, "steward_vendors_review_overdue");

    let made = t
        .req(
            "POST",
            "/api/v1/vendors",
            Some(&dpo),
            &[],
            Some(&processor("DE").to_string()),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let vendor = made.json()["id"].as_str().expect("id").to_string();
    let metrics = t.req("GET", "/metrics", Some(&auditor), &[], None).await;
    assert_eq!(
        overdue(&metrics.body),
        Some(1),
        "never reviewed counts as overdue"
    );

    // Reviewed on 20 February at risk tier 4 (every six months): due on 20 August.
    let reviewed = t
        .req(
            "POST",
            &format!("/api/v1/vendors/{vendor}/reviews"),
            Some(&dpo),
            &[],
            Some(&review(&review_questions()).to_string()),
        )
        .await;
    assert_eq!(reviewed.status, 201, "{}", reviewed.body);
    assert_eq!(
        review_state(&t, &vendor, &auditor).await,
        (Some("2026-08-20".into()), Some("due".into()))
    );
    let metrics = t.req("GET", "/metrics", Some(&auditor), &[], None).await;
    assert_eq!(overdue(&metrics.body), Some(0), "{}", metrics.body);

    // Tokens do not last half a year: the auditor comes back with a new one.
    t.clock.advance(jiff::SignedDuration::from_hours(172 * 24));
    let auditor = t.token(Role::Auditor, &[]).await;
    assert_eq!(
        review_state(&t, &vendor, &auditor).await.1.as_deref(),
        Some("due"),
        "on its due day it is not late"
    );
    t.clock.advance(jiff::SignedDuration::from_hours(24));
    assert_eq!(
        review_state(&t, &vendor, &auditor).await.1.as_deref(),
        Some("overdue")
    );
    let metrics = t.req("GET", "/metrics", Some(&auditor), &[], None).await;
    assert_eq!(overdue(&metrics.body), Some(1), "{}", metrics.body);
    assert_eq!(
        gauge(&metrics.body, "steward_vendors_dpa_not_current"),
        Some(0)
    );

    // The console's dashboard names it for those who read the register, and only for them.
    let dashboard = |email: &'static str, role: Role| {
        let t = &t;
        async move {
            crate::console::add_staff(t, email, role).await;
            let session = t
                .app
                .sessions()
                .login(email, crate::console::PASSWORD, None, None)
                .await
                .expect("session")
                .token;
            t.req(
                "GET",
                "/console",
                None,
                &[("Cookie", &format!("steward_session={session}"))],
                None,
            )
            .await
        }
    };
    let read = dashboard("auditor@example.com", Role::Auditor).await;
    assert_eq!(read.status, 200, "{}", read.body);
    let section = read
        .body
        .split("id=\"vendors-attention\"")
        .nth(1)
        .expect("the vendors that need attention");
    assert!(section.contains("Postwerk Mail Ltd"), "{section}");
    assert!(section.contains("overdue since 2026-08-20"), "{section}");
    let agent = dashboard("agent@example.com", Role::Agent).await;
    assert_eq!(agent.status, 200);
    assert!(!agent.body.contains("vendors-attention"), "{}", agent.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_goes_only_under_an_agreement_and_the_customer_can_see_it() {
    let t = spawn_app().await;
    let dpo = t.token(Role::Dpo, &["essential.legal_obligation"]).await;
    let customer = consenting_ines(&t).await;
    let made = t
        .req(
            "POST",
            "/api/v1/vendors",
            Some(&dpo),
            &[],
            Some(&processor("DE").to_string()),
        )
        .await;
    let vendor = made.json()["id"].as_str().expect("id").to_string();
    let reviewed = t
        .req(
            "POST",
            &format!("/api/v1/vendors/{vendor}/reviews"),
            Some(&dpo),
            &[],
            Some(&review(&review_questions()).to_string()),
        )
        .await;
    assert_eq!(reviewed.status, 201, "{}", reviewed.body);
    let ask = format!(
        r#"{{"vendor_id":"{vendor}","purpose":"marketing.communications.email","fields":["email"],"customer_ids":["{}"]}}"#,
        customer
    );

    // No agreement yet: refused with its code, and nothing is disclosed.
    let refused = t
        .req("POST", "/api/v1/shares", Some(&dpo), &[], Some(&ask))
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.json()["code"], "NO_AGREEMENT", "{}", refused.body);
    let seen = t
        .req(
            "GET",
            &format!("/api/v1/customers/{}/disclosures", customer),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    assert_eq!(
        seen.json().as_array().map(Vec::len),
        Some(0),
        "{}",
        seen.body
    );

    let agreed = t
        .req(
            "POST",
            "/api/v1/agreements",
            Some(&dpo),
            &[],
            Some(&agreement(&vendor).to_string()),
        )
        .await;
    assert_eq!(agreed.status, 201, "{}", agreed.body);
    let shared = t
        .req("POST", "/api/v1/shares", Some(&dpo), &[], Some(&ask))
        .await;
    assert_eq!(shared.status, 201, "{}", shared.body);
    assert_eq!(shared.json()["shared"], 1, "{}", shared.body);
    let share = shared.json()["id"].as_str().expect("id").to_string();

    // The document holds the agreed field and nothing else.
    let document = t
        .req(
            "GET",
            &format!("/api/v1/shares/{share}/download"),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    assert_eq!(document.status, 200, "{}", document.body);
    let body = document.json()["body"].as_str().expect("body").to_string();
    assert!(body.contains("ines@example.com"), "{body}");
    assert!(!body.contains("Inès"), "only the agreed field goes: {body}");
    assert_eq!(document.json()["algorithm"], "Ed25519");

    let seen = t
        .req(
            "GET",
            &format!("/api/v1/customers/{}/disclosures", customer),
            Some(&dpo),
            &[],
            None,
        )
        .await
        .json();
    assert_eq!(seen[0]["vendor"], "Postwerk Mail Ltd", "{seen}");
    assert_eq!(seen[0]["share_id"], share.as_str(), "{seen}");
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
async fn a_webhook_share_goes_through_the_api_to_a_receiver_that_fails_first() {
    let receiver = WebhookReceiver::start(&[500]).await;
    let t = spawn_app_with_webhooks(steward_app::WebhookSettings {
        extra_roots: Some(receiver.certificate().to_path_buf()),
    })
    .await;
    let dpo = t.token(Role::Dpo, &["essential.legal_obligation"]).await;
    let auditor = t.token(Role::Auditor, &[]).await;
    let customer = consenting_ines(&t).await;
    let vendor = t
        .req(
            "POST",
            "/api/v1/vendors",
            Some(&dpo),
            &[],
            Some(&processor("DE").to_string()),
        )
        .await
        .json()["id"]
        .as_str()
        .expect("id")
        .to_string();
    for (path, body) in [
        (
            format!("/api/v1/vendors/{vendor}/reviews"),
            review(&review_questions()),
        ),
        ("/api/v1/agreements".to_string(), agreement(&vendor)),
    ] {
        let made = t
            .req("POST", &path, Some(&dpo), &[], Some(&body.to_string()))
            .await;
        assert_eq!(made.status, 201, "{path}: {}", made.body);
    }
    let ask = format!(
        r#"{{"vendor_id":"{vendor}","purpose":"marketing.communications.email","fields":["email"],"customer_ids":["{}"],"delivery":"webhook"}}"#,
        customer
    );
    let webhook = format!("/api/v1/vendors/{vendor}/webhook");

    // No endpoint: 422 naming `delivery`. A delivery Steward does not know: 422 likewise.
    let refused = t
        .req("POST", "/api/v1/shares", Some(&dpo), &[], Some(&ask))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert_eq!(
        refused.json()["errors"][0]["field"],
        "delivery",
        "{}",
        refused.body
    );
    let unknown = t
        .req(
            "POST",
            "/api/v1/shares",
            Some(&dpo),
            &[],
            Some(&ask.replace(r#""webhook""#, r#""fax""#)),
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    assert!(unknown.body.contains("delivery"), "{}", unknown.body);

    // Only https; the auditor may not set it; the secret is shown once, and not read back.
    let plain = t
        .req(
            "PUT",
            &webhook,
            Some(&dpo),
            &[],
            Some(r#"{"url":"http://127.0.0.1:1/in"}"#),
        )
        .await;
    assert_eq!(plain.status, 422, "{}", plain.body);
    assert_eq!(plain.json()["errors"][0]["field"], "url", "{}", plain.body);
    let set_body = json!({ "url": receiver.url("/in") }).to_string();
    let denied = t
        .req(
            "PUT",
            &webhook,
            Some(&auditor),
            &[("X-Purpose", "essential.legal_obligation")],
            Some(&set_body),
        )
        .await;
    assert_eq!(denied.status, 403, "{}", denied.body);
    let set = t
        .req("PUT", &webhook, Some(&dpo), &[], Some(&set_body))
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    let secret = set.json()["secret"].as_str().expect("secret").to_string();
    let read = t.req("GET", &webhook, Some(&auditor), &[], None).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["url"], set.json()["url"]);
    assert!(!read.body.contains(&secret));

    // Shared: sent at once by the server's own sender, answered 500, tried again later.
    let shared = t
        .req("POST", "/api/v1/shares", Some(&dpo), &[], Some(&ask))
        .await;
    assert_eq!(shared.status, 201, "{}", shared.body);
    assert_eq!(shared.json()["delivery"], "webhook");
    assert_eq!(
        shared.json()["deliveries"],
        json!({"pending": 1, "delivered": 0, "failed": 0})
    );
    let share = shared.json()["id"].as_str().expect("id").to_string();
    received(&receiver, 1).await;
    t.clock.advance(jiff::SignedDuration::from_mins(10));
    received(&receiver, 2).await;
    let got = receiver.received();
    assert_eq!(got[0].answered, 500);
    assert_eq!(got[1].answered, 200);

    // What arrived carries only the agreed field, signed with the secret shown.
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("prefix"))
        .expect("base64");
    for m in &got {
        let signed = format!(
            "{}.{}.",
            m.header("webhook-id").expect("id"),
            m.header("webhook-timestamp").expect("timestamp")
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
        mac.update(signed.as_bytes());
        mac.update(&m.body);
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        assert_eq!(m.header("webhook-signature"), Some(expected.as_str()));
    }
    let body: Value = serde_json::from_slice(&got[1].body).expect("json");
    assert_eq!(
        body["data"]["customers"],
        json!([{"customer_id": customer, "fields": {"email": "ines@example.com"}}])
    );

    // The share counts it delivered, once the attempt is on record; the auditor reads both
    // attempts, and the agent neither.
    let deliveries = format!("/api/v1/shares/{share}/deliveries");
    let mut attempts = Value::Null;
    for _ in 0..100 {
        attempts = t
            .req("GET", &deliveries, Some(&auditor), &[], None)
            .await
            .json();
        if attempts[0]["state"] == "delivered" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(attempts[0]["state"], "delivered", "{attempts}");
    assert_eq!(attempts[0]["attempts"][0]["status"], 500, "{attempts}");
    assert_eq!(attempts[0]["attempts"][0]["outcome"], "retry", "{attempts}");
    assert_eq!(attempts[0]["attempts"][1]["status"], 200, "{attempts}");
    let view = t
        .req(
            "GET",
            &format!("/api/v1/shares/{share}"),
            Some(&auditor),
            &[],
            None,
        )
        .await
        .json();
    assert_eq!(
        view["deliveries"],
        json!({"pending": 0, "delivered": 1, "failed": 0})
    );
    let agent_token = t.token(Role::Agent, &[]).await;
    let hidden = t
        .req("GET", &deliveries, Some(&agent_token), &[], None)
        .await;
    assert_eq!(hidden.status, 403, "{}", hidden.body);

    // Removed: answered 204, then 404.
    let removed = t.req("DELETE", &webhook, Some(&dpo), &[], None).await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    let gone = t.req("GET", &webhook, Some(&dpo), &[], None).await;
    assert_eq!(gone.status, 404, "{}", gone.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_of_processing_is_read_as_json_markdown_or_csv() {
    let t = spawn_app().await;
    let dpo = t.token(Role::Dpo, &["essential.legal_obligation"]).await;
    let auditor = t.token(Role::Auditor, &[]).await;
    let agent = t.token(Role::Agent, &[]).await;
    let mut us = processor("US");
    us["dpf"] = json!({"status": "active", "checked_on": "2026-02-27"});
    let made = t
        .req(
            "POST",
            "/api/v1/vendors",
            Some(&dpo),
            &[],
            Some(&us.to_string()),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let vendor = made.json()["id"].as_str().expect("id").to_string();
    let agreed = t
        .req(
            "POST",
            "/api/v1/agreements",
            Some(&dpo),
            &[],
            Some(&agreement(&vendor).to_string()),
        )
        .await;
    assert_eq!(agreed.status, 201, "{}", agreed.body);

    let record = t
        .req("GET", "/api/v1/ropa", Some(&auditor), &[], None)
        .await;
    assert_eq!(record.status, 200, "{}", record.body);
    let json = record.json();
    let purposes = t.app.catalog().purposes();
    assert_eq!(
        json["purposes"].as_array().map(Vec::len),
        Some(purposes.len())
    );
    for p in purposes {
        assert!(
            record.body.contains(&format!("\"key\":\"{}\"", p.key)),
            "{}",
            p.key
        );
    }
    let us = json["destinations"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["country"] == "US"))
        .expect("the United States");
    assert_eq!(us["third_country"], true);
    assert_eq!(us["mechanism_kind"], "adequacy", "{us}");
    assert_eq!(us["vendor"], "Postwerk Mail Ltd");

    for (format, content_type) in [("csv", "text/csv"), ("md", "text/markdown")] {
        let written = t
            .req(
                "GET",
                &format!("/api/v1/ropa?format={format}"),
                Some(&dpo),
                &[],
                None,
            )
            .await;
        assert_eq!(written.status, 200, "{}", written.body);
        assert!(
            written
                .header("content-type")
                .is_some_and(|c| c.starts_with(content_type)),
            "{format}"
        );
        for p in purposes {
            assert!(written.body.contains(&p.key), "{format}: {}", p.key);
        }
        assert!(written.body.contains("Postwerk Mail Ltd"));
    }
    let bad = t
        .req("GET", "/api/v1/ropa?format=pdf", Some(&dpo), &[], None)
        .await;
    assert_eq!(bad.problem(422)["errors"][0]["field"], "format");
    let refused = t.req("GET", "/api/v1/ropa", Some(&agent), &[], None).await;
    refused.problem(403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_uk_finding_uk_shares_are_refused_and_the_agreements_resting_on_it_listed() {
    let t = spawn_app().await;
    let setup = t.operator.actor("setup", &["essential.service"]);
    let agent = t.app.access(&setup, None).expect("access");
    let customer = t
        .app
        .customers()
        .create(
            &agent,
            steward_app::CustomerInput {
                fields: [("email".to_string(), "m.7kz@example.fr".to_string())]
                    .into_iter()
                    .collect(),
                residency: "FR".into(),
                tags: vec![],
            },
        )
        .await
        .expect("a French customer");
    let dpo = t.token(Role::Dpo, &["essential.legal_obligation"]).await;
    let made = t
        .req(
            "POST",
            "/api/v1/vendors",
            Some(&dpo),
            &[],
            Some(&processor("GB").to_string()),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let vendor = made.json()["id"].as_str().expect("id").to_string();
    let mut on_adequacy = agreement(&vendor);
    on_adequacy["destinations"] = json!([{"country": "GB", "mechanism": {"kind": "adequacy"}}]);
    let agreed = t
        .req(
            "POST",
            "/api/v1/agreements",
            Some(&dpo),
            &[],
            Some(&on_adequacy.to_string()),
        )
        .await;
    assert_eq!(agreed.status, 201, "{}", agreed.body);
    let agreement_id = agreed.json()["id"].as_str().expect("id").to_string();
    let affected = |token: String| {
        let t = &t;
        async move {
            let listed = t
                .req(
                    "GET",
                    "/api/v1/transfers/affected-agreements",
                    Some(&token),
                    &[],
                    None,
                )
                .await;
            assert_eq!(listed.status, 200, "{}", listed.body);
            listed.json()
        }
    };
    let auditor = t.token(Role::Auditor, &[]).await;
    assert_eq!(affected(auditor).await, json!([]), "years before its end");

    let now = steward_app::core::Clock::now(&*t.clock);
    let day_after: jiff::Timestamp = "2031-12-28T09:00:00Z".parse().expect("a time");
    t.clock.advance(day_after.duration_since(now));
    let dpo = t.token(Role::Dpo, &["essential.legal_obligation"]).await;
    let mut fresh = review(&review_questions());
    fresh["reviewed_on"] = json!("2031-12-28");
    let reviewed = t
        .req(
            "POST",
            &format!("/api/v1/vendors/{vendor}/reviews"),
            Some(&dpo),
            &[],
            Some(&fresh.to_string()),
        )
        .await;
    assert_eq!(reviewed.status, 201, "{}", reviewed.body);
    let ask = json!({
        "vendor_id": vendor,
        "purpose": "marketing.communications.email",
        "fields": ["email"],
        "customer_ids": [customer.id],
    });
    let refused = t
        .req(
            "POST",
            "/api/v1/shares",
            Some(&dpo),
            &[],
            Some(&ask.to_string()),
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(
        refused.json()["code"],
        "NO_TRANSFER_MECHANISM",
        "{}",
        refused.body
    );
    assert!(refused.body.contains("GB"), "{}", refused.body);

    let listed = affected(t.token(Role::Auditor, &[]).await).await;
    let listed = listed.as_array().expect("a list");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["agreement"], agreement_id.as_str());
    assert_eq!(listed[0]["vendor_id"], vendor.as_str());
    assert_eq!(listed[0]["country"], "GB");
    assert_eq!(listed[0]["regime"], "gdpr");
    assert_eq!(listed[0]["valid_until"], "2031-12-27");
    assert_eq!(listed[0]["ended"], true);

    // The console's transfers page lists it too, for those who read the register.
    crate::console::add_staff(&t, "auditor@example.com", Role::Auditor).await;
    let session = t
        .app
        .sessions()
        .login("auditor@example.com", crate::console::PASSWORD, None, None)
        .await
        .expect("session")
        .token;
    let page = t
        .req(
            "GET",
            "/console/transfers",
            None,
            &[("Cookie", &format!("steward_session={session}"))],
            None,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let section = page
        .body
        .split("id=\"affected-agreements-table\"")
        .nth(1)
        .and_then(|rest| rest.split("</table>").next())
        .expect("the affected agreements");
    assert!(
        section.contains("Postwerk Mail Ltd") && section.contains("2031-12-27"),
        "{section}"
    );
    assert!(section.contains("ended"), "{section}");
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let barred = t
        .req(
            "GET",
            "/api/v1/transfers/affected-agreements",
            Some(&agent),
            &[],
            None,
        )
        .await;
    assert_eq!(barred.status, 403, "{}", barred.body);
}
