//! The request desk and retention over HTTP: problem documents that name the field, the
//! legal deadlines in the answer, a streamed export, and a dry run read back by id.

use steward_app::CustomerInput;
use steward_app::core::Role;

use crate::support::*;

const DESK: &str = "essential.legal_obligation";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_logged_with_deadlines_and_bad_ones_name_their_field() {
    let t = spawn_app().await;
    let setup = t.operator.actor("setup", &["essential.service"]);
    let customer = t
        .app
        .customers()
        .create(
            &t.app.access(&setup, None).expect("access"),
            CustomerInput {
                fields: [("email".to_string(), "ines@example.com".to_string())]
                    .into_iter()
                    .collect(),
                residency: "US".into(),
                tags: vec![],
            },
        )
        .await
        .expect("customer");
    let dpo = t.token(Role::Dpo, &[DESK]).await;
    let post = |body: &'static str| {
        let (t, dpo) = (&t, dpo.clone());
        async move {
            t.req("POST", "/api/v1/requests", Some(&dpo), &[], Some(body))
                .await
        }
    };

    let bad = post(r#"{"type":"delete","channel":"email","email":"ines@example.com"}"#).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.json()["errors"][0]["field"], "type", "{}", bad.body);
    let nobody = post(r#"{"type":"access","channel":"email"}"#).await;
    assert_eq!(nobody.status, 422, "{}", nobody.body);
    assert_eq!(nobody.json()["errors"][0]["field"], "customer_id");

    let made = post(r#"{"type":"access","channel":"email","email":"INES@example.com"}"#).await;
    assert_eq!(made.status, 201, "{}", made.body);
    let request = made.json();
    assert_eq!(request["type"], "access");
    assert_eq!(request["jurisdiction"], "ccpa", "a US resident");
    assert_eq!(request["customer_id"], customer.id.to_string());
    assert!(request["acknowledge_by"].is_string() && request["due_at"].is_string());
    let again = post(r#"{"type":"access","channel":"phone","email":"ines@example.com"}"#).await;
    assert_eq!(again.status, 409, "a duplicate: {}", again.body);

    let id = request["id"].as_str().expect("id");
    let early = t
        .req(
            "POST",
            &format!("/api/v1/requests/{id}/complete"),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    assert_eq!(early.status, 409, "not verified yet: {}", early.body);
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
    let report = t
        .req("GET", "/api/v1/requests/report", Some(&dpo), &[], None)
        .await;
    assert_eq!(report.status, 200, "{}", report.body);
    let access = report.json()["kinds"]
        .as_array()
        .expect("kinds")
        .iter()
        .find(|k| k["kind"] == "access")
        .cloned()
        .expect("access");
    assert_eq!(
        (access["received"].as_u64(), access["completed"].as_u64()),
        (Some(1), Some(1))
    );

    let export = t
        .req(
            "GET",
            &format!("/api/v1/customers/{}/export?format=csv", customer.id),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    assert_eq!(export.status, 200, "{}", export.body);
    assert!(export.dechunked().contains("ines@example.com"));
    let wrong = t
        .req(
            "GET",
            &format!("/api/v1/customers/{}/export?format=xml", customer.id),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_rules_holds_and_runs_over_http() {
    let t = spawn_app().await;
    let dpo = t.token(Role::Dpo, &[DESK]).await;
    let rules = t
        .req("GET", "/api/v1/retention/rules", Some(&dpo), &[], None)
        .await;
    assert_eq!(rules.status, 200, "{}", rules.body);
    assert!(rules.body.contains("dormant-customers"));
    let bad = t
        .req(
            "POST",
            "/api/v1/retention/rules",
            Some(&dpo),
            &[],
            Some(r#"{"key":"calls","record":"interaction","kind":"call","duration":"5 years","anchor":"created","action":"delete","description":"Call notes"}"#),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.json()["errors"][0]["field"], "duration");
    let patched = t
        .req(
            "PATCH",
            "/api/v1/retention/rules/web-visits",
            Some(&dpo),
            &[],
            Some(r#"{"duration":"P30D"}"#),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.json()["period"], "30 days after it was recorded");
    let hold = t
        .req(
            "POST",
            "/api/v1/legal-holds",
            Some(&dpo),
            &[],
            Some(r#"{"category":"interaction","reason":"Audit by the regulator","owner":"Legal"}"#),
        )
        .await;
    assert_eq!(hold.status, 201, "{}", hold.body);

    let started = t
        .req(
            "POST",
            "/api/v1/retention/runs",
            Some(&dpo),
            &[],
            Some(r#"{"dry_run":true}"#),
        )
        .await;
    assert_eq!(started.status, 202, "{}", started.body);
    let id = started.json()["id"].as_str().expect("id").to_string();
    let mut state = String::new();
    for _ in 0..100 {
        let run = t
            .req(
                "GET",
                &format!("/api/v1/retention/runs/{id}"),
                Some(&dpo),
                &[],
                None,
            )
            .await;
        assert_eq!(run.status, 200, "{}", run.body);
        state = run.json()["state"].as_str().unwrap_or_default().to_string();
        if state == "finished" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "finished");

    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let refused = t
        .req("GET", "/api/v1/retention/rules", Some(&agent), &[], None)
        .await;
    assert_eq!(refused.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_under_a_legal_hold_is_refused_with_its_code_until_the_hold_is_released() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let made = t
        .req(
            "POST",
            "/api/v1/customers",
            Some(&agent),
            &[],
            Some(r#"{"fields":{"email":"kept@example.com"},"residency":"DE"}"#),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["id"].as_str().expect("id").to_string();
    let dpo = t.token(Role::Dpo, &[DESK]).await;
    let hold = t
        .req(
            "POST",
            "/api/v1/legal-holds",
            Some(&dpo),
            &[],
            Some(&format!(
                r#"{{"customer_id":"{id}","reason":"Claim","owner":"Legal"}}"#
            )),
        )
        .await;
    assert_eq!(hold.status, 201, "{}", hold.body);
    let hold = hold.json()["id"].as_str().expect("hold id").to_string();
    let refused = t
        .req(
            "DELETE",
            &format!("/api/v1/customers/{id}"),
            Some(&dpo),
            &[],
            None,
        )
        .await
        .problem(409);
    assert_eq!(refused["code"], "ERASURE_LEGAL_HOLD", "{refused}");
    let still = t
        .req(
            "GET",
            &format!("/api/v1/customers/{id}"),
            Some(&agent),
            &[],
            None,
        )
        .await;
    assert_eq!(still.status, 200, "{}", still.body);
    let released = t
        .req(
            "DELETE",
            &format!("/api/v1/legal-holds/{hold}"),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    assert!(released.status < 300, "{}", released.body);
    let erased = t
        .req(
            "DELETE",
            &format!("/api/v1/customers/{id}"),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    assert_eq!(erased.status, 204, "{}", erased.body);
}
