//! Personalization over HTTP: full is refused without the customer's own consent, off shows
//! everyone's offers, full with consent explains each recommendation by exactly the
//! attributes its audited read names, and offers are kept by marketing.

use steward_app::core::Role;

use crate::support::*;

const LIMITED: &str = "personalize.content.limited";
const PROFILED: &str = "personalize.content.profiled";
const DESK: &str = "essential.legal_obligation";
const SERVICE: &str = "essential.service";

struct Staff {
    agent: String,
    dpo: String,
    marketer: String,
}

async fn staff(t: &TestApp) -> Staff {
    Staff {
        agent: t.token(Role::Agent, &[SERVICE]).await,
        dpo: t.token(Role::Dpo, &[DESK]).await,
        marketer: t.token(Role::Marketer, &[LIMITED, PROFILED]).await,
    }
}

async fn new_customer(t: &TestApp, s: &Staff) -> String {
    let made = t
        .req(
            "POST",
            "/api/v1/customers",
            Some(&s.agent),
            &[],
            Some(CUSTOMER),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    made.json()["id"].as_str().expect("id").to_string()
}

async fn set_level(t: &TestApp, s: &Staff, customer: &str, level: &str) -> Reply {
    t.req(
        "PUT",
        &format!("/api/v1/customers/{customer}/personalization"),
        Some(&s.agent),
        &[("X-Purpose", SERVICE)],
        Some(&format!(r#"{{"level":"{level}"}}"#)),
    )
    .await
}

async fn recommend(t: &TestApp, s: &Staff, customer: &str, query: &str, purpose: &str) -> Reply {
    t.req(
        "GET",
        &format!("/api/v1/customers/{customer}/recommendations{query}"),
        Some(&s.marketer),
        &[("X-Purpose", purpose)],
        None,
    )
    .await
}

/// The `attr:` fields of the newest `personalization.read` entry naming the customer, read
/// through the audit API.
pub(crate) async fn last_read_fields(t: &TestApp, customer: &str) -> Vec<String> {
    let auditor = t.token(Role::Auditor, &[]).await;
    let page = t
        .req(
            "GET",
            &format!("/api/v1/audit?action=personalization.read&target={customer}&limit=500"),
            Some(&auditor),
            &[],
            None,
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let entries = page.json()["items"].as_array().expect("items").clone();
    let newest = entries.last().expect("the read was audited");
    newest["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| {
            f.as_str()
                .and_then(|f| f.strip_prefix("attr:"))
                .expect("an attr: field")
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_without_consent_is_refused_with_its_code() {
    let t = spawn_app().await;
    let s = staff(&t).await;
    let customer = new_customer(&t, &s).await;

    let refused = set_level(&t, &s, &customer, "full").await;
    let problem = refused.problem(409);
    assert_eq!(problem["code"], "CONSENT_REQUIRED", "{problem}");

    let level = t
        .req(
            "GET",
            &format!("/api/v1/customers/{customer}/personalization"),
            Some(&s.agent),
            &[("X-Purpose", SERVICE)],
            None,
        )
        .await;
    assert_eq!(level.status, 200, "{}", level.body);
    assert_eq!(level.json()["chosen"], "off", "{}", level.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_recommends_what_everyone_sees() {
    let t = spawn_app().await;
    let s = staff(&t).await;
    let customer = new_customer(&t, &s).await;

    let shown = recommend(&t, &s, &customer, "", PROFILED).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let body = shown.json();
    assert_eq!(body["personalized"], false, "{body}");
    assert!(
        body["items"].as_array().is_some_and(|i| !i.is_empty()),
        "{body}"
    );
    assert!(
        last_read_fields(&t, &customer).await.is_empty(),
        "nothing about her was read at off"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_with_consent_explains_by_the_attributes_it_audited() {
    let t = spawn_app().await;
    let s = staff(&t).await;
    let customer = new_customer(&t, &s).await;

    let consent = t
        .req(
            "POST",
            &format!("/api/v1/customers/{customer}/consents"),
            Some(&s.agent),
            &[("X-Purpose", SERVICE)],
            Some(&format!(r#"{{"purpose":"{PROFILED}","state":"given"}}"#)),
        )
        .await;
    assert_eq!(consent.status, 201, "{}", consent.body);
    let full = set_level(&t, &s, &customer, "full").await;
    assert_eq!(full.status, 200, "{}", full.body);
    assert_eq!(full.json()["effective"], "full", "{}", full.body);

    let declared = t
        .req(
            "PUT",
            &format!("/api/v1/customers/{customer}/attributes/liked_categories"),
            Some(&s.dpo),
            &[("X-Purpose", DESK)],
            Some(r#"{"values":["books"]}"#),
        )
        .await;
    assert_eq!(declared.status, 204, "{}", declared.body);

    let shown = recommend(&t, &s, &customer, "?limit=3", PROFILED).await;
    assert_eq!(shown.status, 200, "{}", shown.body);
    let body = shown.json();
    assert_eq!(body["personalized"], true, "{body}");
    assert!(
        body["items"].as_array().is_some_and(|i| i.len() <= 3),
        "{body}"
    );
    let explained: Vec<String> = body["explanation"]["attributes"]
        .as_array()
        .expect("attributes")
        .iter()
        .map(|a| a["key"].as_str().expect("key").to_string())
        .collect();
    assert!(explained.iter().any(|k| k == "liked_categories"), "{body}");
    assert_eq!(explained, last_read_fields(&t, &customer).await);

    let kept = t
        .req(
            "GET",
            &format!("/api/v1/customers/{customer}/attributes"),
            Some(&s.dpo),
            &[("X-Purpose", DESK)],
            None,
        )
        .await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert!(kept.body.contains("liked_categories"), "{}", kept.body);
    let deleted = t
        .req(
            "DELETE",
            &format!("/api/v1/customers/{customer}/attributes/liked_categories"),
            Some(&s.dpo),
            &[("X-Purpose", DESK)],
            None,
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let after = recommend(&t, &s, &customer, "", PROFILED).await;
    assert_eq!(after.status, 200, "{}", after.body);
    assert!(
        !last_read_fields(&t, &customer)
            .await
            .iter()
            .any(|k| k == "liked_categories"),
        "a deleted attribute is read no more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_limit_is_named() {
    let t = spawn_app().await;
    let s = staff(&t).await;
    let customer = new_customer(&t, &s).await;
    for query in ["?limit=0", "?limit=many", "?limit=100000"] {
        let refused = recommend(&t, &s, &customer, query, LIMITED).await;
        let problem = refused.problem(422);
        assert!(
            problem["errors"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["field"] == "limit")),
            "{query}: {problem}"
        );
    }
}

/// The offer `key` as `GET /offers` lists it.
async fn listed(t: &TestApp, token: &str, key: &str) -> serde_json::Value {
    let list = t.req("GET", "/api/v1/offers", Some(token), &[], None).await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.json()
        .as_array()
        .expect("offers")
        .iter()
        .find(|o| o["key"] == key)
        .cloned()
        .expect("listed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_are_created_listed_and_retired() {
    let t = spawn_app().await;
    let s = staff(&t).await;
    let offer = r#"{"key":"winter-boots","title":"Winter boots","category":"outdoor","tags":["winter"],"priority":3}"#;
    let made = t
        .req(
            "POST",
            "/api/v1/offers",
            Some(&s.marketer),
            &[],
            Some(offer),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let again = t
        .req(
            "POST",
            "/api/v1/offers",
            Some(&s.marketer),
            &[],
            Some(offer),
        )
        .await;
    again.problem(409);
    let unknown = t
        .req(
            "POST",
            "/api/v1/offers",
            Some(&s.marketer),
            &[],
            Some(r#"{"key":"odd","title":"Odd","category":"no-such-category"}"#),
        )
        .await;
    let problem = unknown.problem(422);
    assert_eq!(problem["errors"][0]["field"], "category", "{problem}");

    assert!(listed(&t, &s.marketer, "winter-boots").await["retired_at"].is_null());
    let retired = t
        .req(
            "DELETE",
            "/api/v1/offers/winter-boots",
            Some(&s.marketer),
            &[],
            None,
        )
        .await;
    assert_eq!(retired.status, 200, "{}", retired.body);
    assert!(
        !listed(&t, &s.marketer, "winter-boots").await["retired_at"].is_null(),
        "still listed, retired"
    );
    let missing = t
        .req(
            "DELETE",
            "/api/v1/offers/no-such-offer",
            Some(&s.marketer),
            &[],
            None,
        )
        .await;
    missing.problem(404);
}
