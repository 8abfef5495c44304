//! Merging duplicates over HTTP: the dry run, the merge, the merged-away id answered 410 with
//! `CUSTOMER_MERGED` and the survivor, and each refusal with its code.

use steward_app::core::Role;

use crate::support::*;

async fn created(t: &TestApp, token: &str, body: &str) -> String {
    let made = t
        .req("POST", "/api/v1/customers", Some(token), &[], Some(body))
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    made.json()["id"].as_str().expect("id").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_over_http_answers_what_the_survivor_holds_and_points_the_duplicate_at_it() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let survivor = created(
        &t,
        &agent,
        r#"{"fields":{"given_name":"Ada"},"residency":"GB","tags":["vip"]}"#,
    )
    .await;
    let merged = created(
        &t,
        &agent,
        r#"{"fields":{"given_name":"Adelheid","email":"ada.dup@example.com"},"residency":"GB","tags":["newsletter"]}"#,
    )
    .await;
    let path = format!("/api/v1/customers/{survivor}/merge");

    let dry = t
        .req(
            "POST",
            &path,
            Some(&agent),
            &[],
            Some(&format!(r#"{{"merge":"{merged}","dry_run":true}}"#)),
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.body);
    let outcome = dry.json();
    assert_eq!(outcome["dry_run"], true);
    assert_eq!(outcome["customer"]["fields"]["given_name"], "Ada");
    assert_eq!(
        outcome["customer"]["fields"]["email"],
        "ada.dup@example.com"
    );
    assert_eq!(outcome["fields_filled"], serde_json::json!(["email"]));
    let still = t
        .req(
            "GET",
            &format!("/api/v1/customers/{merged}"),
            Some(&agent),
            &[],
            None,
        )
        .await;
    assert_eq!(still.status, 200, "a dry run changes nothing");

    let done = t
        .req(
            "POST",
            &path,
            Some(&agent),
            &[],
            Some(&format!(r#"{{"merge":"{merged}"}}"#)),
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(
        done.json()["customer"]["tags"],
        serde_json::json!(["newsletter", "vip"])
    );

    let gone = t
        .req(
            "GET",
            &format!("/api/v1/customers/{merged}"),
            Some(&agent),
            &[],
            None,
        )
        .await
        .problem(410);
    assert_eq!(gone["code"], "CUSTOMER_MERGED");
    assert_eq!(gone["survivor"], survivor.as_str());
    let patched = t
        .req(
            "PATCH",
            &format!("/api/v1/customers/{merged}"),
            Some(&agent),
            &[("If-Match", "\"1\"")],
            Some(r#"{"fields":{"given_name":"Ada"}}"#),
        )
        .await
        .problem(410);
    assert_eq!(patched["survivor"], survivor.as_str());
    let again = t
        .req(
            "POST",
            &path,
            Some(&agent),
            &[],
            Some(&format!(r#"{{"merge":"{merged}"}}"#)),
        )
        .await
        .problem(410);
    assert_eq!(again["code"], "CUSTOMER_MERGED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_merges_answer_with_their_codes() {
    let t = spawn_app().await;
    let agent = t.token(Role::Agent, &["essential.service"]).await;
    let dpo = t.token(Role::Dpo, &["essential.legal_obligation"]).await;
    let survivor = created(&t, &agent, CUSTOMER).await;
    let merged = created(
        &t,
        &agent,
        r#"{"fields":{"given_name":"Ada"},"residency":"GB"}"#,
    )
    .await;
    let merge = |into: String, body: String| {
        let t = &t;
        let agent = agent.clone();
        async move {
            t.req(
                "POST",
                &format!("/api/v1/customers/{into}/merge"),
                Some(&agent),
                &[],
                Some(&body),
            )
            .await
        }
    };

    let same = merge(survivor.clone(), format!(r#"{{"merge":"{survivor}"}}"#))
        .await
        .problem(422);
    assert_eq!(same["code"], "MERGE_SAME_CUSTOMER");
    assert_eq!(same["errors"][0]["field"], "merge");

    let bad = merge(survivor.clone(), r#"{"merge":"someone"}"#.into())
        .await
        .problem(422);
    assert_eq!(bad["errors"][0]["field"], "merge");
    let unknown = merge(
        survivor.clone(),
        format!(r#"{{"merge":"{}"}}"#, uuid::Uuid::now_v7()),
    )
    .await
    .problem(404);
    assert_eq!(unknown["code"], "NOT_FOUND");

    let hold = t
        .req(
            "POST",
            "/api/v1/legal-holds",
            Some(&dpo),
            &[],
            Some(&format!(
                r#"{{"customer_id":"{merged}","reason":"Litigation","owner":"Legal"}}"#
            )),
        )
        .await;
    assert_eq!(hold.status, 201, "{}", hold.body);
    let held = merge(survivor.clone(), format!(r#"{{"merge":"{merged}"}}"#))
        .await
        .problem(409);
    assert_eq!(held["code"], "MERGE_LEGAL_HOLD");
    let hold_id = hold.json()["id"].as_str().expect("hold id").to_string();
    let released = t
        .req(
            "DELETE",
            &format!("/api/v1/legal-holds/{hold_id}"),
            Some(&dpo),
            &[],
            None,
        )
        .await;
    assert!(released.status < 300, "{}", released.body);

    let request = t
        .req(
            "POST",
            "/api/v1/requests",
            Some(&dpo),
            &[],
            Some(&format!(
                r#"{{"type":"access","channel":"email","customer_id":"{survivor}"}}"#
            )),
        )
        .await;
    assert_eq!(request.status, 201, "{}", request.body);
    let open = merge(survivor.clone(), format!(r#"{{"merge":"{merged}"}}"#))
        .await
        .problem(409);
    assert_eq!(open["code"], "MERGE_OPEN_REQUEST");

    let read = t
        .req(
            "GET",
            &format!("/api/v1/customers/{merged}"),
            Some(&agent),
            &[],
            None,
        )
        .await;
    assert_eq!(read.status, 200, "refused merges change nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_the_merge() {
    let t = spawn_app().await;
    let doc = t.req("GET", "/api/v1/openapi.json", None, &[], None).await;
    assert_eq!(doc.status, 200);
    let merge = &doc.json()["paths"]["/customers/{id}/merge"]["post"];
    assert_eq!(merge["operationId"], "customers_merge");
    assert!(merge["responses"]["410"].is_object(), "{merge}");
    assert!(merge["requestBody"].is_object(), "{merge}");
}
