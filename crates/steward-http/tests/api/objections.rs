//! An upheld objection over HTTP: a read with the purpose objected to is refused 403 with the
//! problem code `OBJECTED`; a read with another purpose still answers.

use steward_app::core::Role;

use crate::support::*;

const FRAUD: &str = "security.fraud_prevention";
const DESK: &str = "essential.legal_obligation";

const FRAUD_CATALOG: &str = r#"
[[purpose]]
key = "security.fraud_prevention"
name = "Preventing fraud"
description = "We check orders for signs of fraud, to protect you and us."
lawful_basis = "legitimate_interests"
requires_consent = false
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_with_a_purpose_objected_to_is_refused_with_its_code() {
    let t = spawn_app_with_catalog(FRAUD_CATALOG).await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let analyst = t.token(Role::Admin, &[FRAUD]).await;
    let dpo = t.token(Role::Dpo, &[DESK]).await;
    let made = t
        .req(
            "POST",
            "/api/v1/customers",
            Some(&agent),
            &[],
            Some(CUSTOMER),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let customer = made.json()["id"].as_str().expect("id").to_string();
    let read = |token: String, purpose: &'static str| {
        let (t, path) = (&t, format!("/api/v1/customers/{customer}"));
        async move {
            t.req("GET", &path, Some(&token), &[("X-Purpose", purpose)], None)
                .await
        }
    };
    assert_eq!(read(analyst.clone(), FRAUD).await.status, 200);

    let body = format!(
        r#"{{"type":"objection","channel":"email","customer_id":"{customer}","purpose":"{FRAUD}"}}"#
    );
    let request = t
        .req("POST", "/api/v1/requests", Some(&dpo), &[], Some(&body))
        .await;
    assert_eq!(request.status, 201, "{}", request.body);
    let id = request.json()["id"].as_str().expect("id").to_string();
    for step in ["verify", "complete"] {
        let r = t
            .req(
                "POST",
                &format!("/api/v1/requests/{id}/{step}"),
                Some(&dpo),
                &[],
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{step}: {}", r.body);
    }

    let refused = read(analyst, FRAUD).await;
    let problem = refused.problem(403);
    assert_eq!(problem["code"], "OBJECTED", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains(FRAUD)),
        "{problem}"
    );
    assert!(
        !refused.body.contains("ada@example.com"),
        "no value in the refusal"
    );
    let served = read(agent, "essential.service").await;
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(served.json()["fields"]["email"], "ada@example.com");
}

/// Limited personalization rests on legitimate interests, so the customer may object to it;
/// once the desk upholds that, their level is off and no one may set it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upheld_objection_to_limited_personalization_refuses_a_level() {
    const LIMITED: &str = "personalize.content.limited";
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let dpo = t.token(Role::Dpo, &[DESK]).await;
    let made = t
        .req(
            "POST",
            "/api/v1/customers",
            Some(&agent),
            &[],
            Some(CUSTOMER),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let customer = made.json()["id"].as_str().expect("id").to_string();
    let level = |level: &'static str| {
        let (t, agent, path) = (
            &t,
            &agent,
            format!("/api/v1/customers/{customer}/personalization"),
        );
        async move {
            t.req(
                "PUT",
                &path,
                Some(agent),
                &[("X-Purpose", "essential.service")],
                Some(&format!(r#"{{"level":"{level}"}}"#)),
            )
            .await
        }
    };
    let basic = level("basic").await;
    assert_eq!(basic.status, 200, "{}", basic.body);

    let body = format!(
        r#"{{"type":"objection","channel":"email","customer_id":"{customer}","purpose":"{LIMITED}"}}"#
    );
    let request = t
        .req("POST", "/api/v1/requests", Some(&dpo), &[], Some(&body))
        .await;
    assert_eq!(request.status, 201, "{}", request.body);
    let id = request.json()["id"].as_str().expect("id").to_string();
    for step in ["verify", "complete"] {
        let r = t
            .req(
                "POST",
                &format!("/api/v1/requests/{id}/{step}"),
                Some(&dpo),
                &[],
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{step}: {}", r.body);
    }

    let now = t
        .req(
            "GET",
            &format!("/api/v1/customers/{customer}/personalization"),
            Some(&agent),
            &[("X-Purpose", "essential.service")],
            None,
        )
        .await;
    assert_eq!(now.status, 200, "{}", now.body);
    assert_eq!(
        (&now.json()["chosen"], &now.json()["effective"]),
        (&"off".into(), &"off".into()),
        "the level fell with the decision: {}",
        now.body
    );
    let refused = level("basic").await;
    let problem = refused.problem(403);
    assert_eq!(problem["code"], "OBJECTED", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains(LIMITED)),
        "{problem}"
    );
}
