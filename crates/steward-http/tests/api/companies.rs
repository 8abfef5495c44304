//! Companies over HTTP: bad input answered with its field and code, a taken domain with
//! `DUPLICATE`, a change without `If-Match` or from a stale version refused, the owner shown
//! by display name; customers added, listed with the purpose stated and removed; a deleted
//! company's customers still there.

use steward_app::core::Role;

use crate::support::*;

#[tokio::test]
async fn companies_over_http_answer_bad_input_by_field_and_code() {
    let t = spawn_app().await;
    let setup = t.operator.actor("setup", &["essential.service"]);
    let anna = t
        .app
        .accounts()
        .add_user(
            &setup,
            steward_app::NewUser {
                email: "anna@example.com".into(),
                role: Role::Agent,
                password: "correct horse battery staple".into(),
                purposes: vec![],
            },
        )
        .await
        .expect("user")
        .id;
    t.app
        .accounts()
        .rename(&setup, anna, "Anna Agent")
        .await
        .expect("named");
    let agent = t.token(Role::Agent, &[]).await;
    let marketer = t.token(Role::Marketer, &[]).await;
    let purpose = [("X-Purpose", "essential.service")];

    for (body, field) in [
        (r#"{"name":"  "}"#.to_string(), "name"),
        (
            r#"{"name":"Acme","domain":"https://acme.example/"}"#.into(),
            "domain",
        ),
        (r#"{"name":"Acme","country":"Atlantis"}"#.into(), "country"),
        (r#"{"name":"Acme","tags":["no spaces"]}"#.into(), "tags[0]"),
        (
            format!(r#"{{"name":"Acme","owner":"{}"}}"#, uuid::Uuid::now_v7()),
            "owner",
        ),
        (r#"{"name":"Acme","website":"x"}"#.into(), "website"),
    ] {
        let reply = t
            .req("POST", "/api/v1/companies", Some(&agent), &[], Some(&body))
            .await;
        let problem = reply.problem(422);
        let named = problem["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["field"] == field)
            || problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(field));
        assert!(named, "{field}: {problem}");
        assert!(problem["code"].is_string(), "{problem}");
    }

    let made = t
        .req(
            "POST",
            "/api/v1/companies",
            Some(&agent),
            &[],
            Some(&format!(
                r#"{{"name":"Acme Tools","domain":"Acme.Example","country":"de","tags":["b2b"],"owner":"{anna}"}}"#
            )),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.header("etag"), Some("\"1\""));
    let company = made.json();
    assert_eq!(company["owner_name"], "Anna Agent");
    assert_eq!(company["domain"], "acme.example");
    let id = company["id"].as_str().expect("id").to_string();
    assert_eq!(
        made.header("location"),
        Some(format!("/api/v1/companies/{id}").as_str())
    );

    let taken = t
        .req(
            "POST",
            "/api/v1/companies",
            Some(&agent),
            &[],
            Some(r#"{"name":"Copy","domain":"acme.example"}"#),
        )
        .await
        .problem(409);
    assert_eq!(taken["code"], "DUPLICATE", "{taken}");
    assert_eq!(taken["errors"][0]["field"], "domain", "{taken}");

    let url = format!("/api/v1/companies/{id}");
    let no_match = t
        .req("PATCH", &url, Some(&agent), &[], Some(r#"{"name":"X"}"#))
        .await;
    assert_eq!(no_match.status, 428, "{}", no_match.body);
    let changed = t
        .req(
            "PATCH",
            &url,
            Some(&agent),
            &[("If-Match", "\"1\"")],
            Some(r#"{"name":"Acme GmbH","owner":null}"#),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.header("etag"), Some("\"2\""));
    assert!(changed.json().get("owner").is_none());
    let stale = t
        .req(
            "PATCH",
            &url,
            Some(&agent),
            &[("If-Match", "\"1\"")],
            Some(r#"{"name":"Late"}"#),
        )
        .await
        .problem(412);
    assert_eq!(stale["code"], "STALE_VERSION", "{stale}");
    let read = t.req("GET", &url, Some(&marketer), &[], None).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["name"], "Acme GmbH");
    t.req("DELETE", &url, Some(&marketer), &[], None)
        .await
        .problem(403);

    let listed = t
        .req(
            "GET",
            "/api/v1/companies?sort=-owner&tag=b2b&page=1",
            Some(&marketer),
            &[],
            None,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()["total"], 1);
    let bad_sort = t
        .req(
            "GET",
            "/api/v1/companies?sort=domain",
            Some(&agent),
            &[],
            None,
        )
        .await
        .problem(422);
    assert_eq!(bad_sort["errors"][0]["field"], "sort", "{bad_sort}");

    let access = t.app.access(&setup, None).expect("access");
    let gwen = t
        .app
        .customers()
        .create(
            &access,
            steward_app::CustomerInput {
                fields: [
                    ("email".to_string(), "gwen@example.com".to_string()),
                    ("given_name".to_string(), "Gwen".to_string()),
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
    let members = format!("{url}/customers");
    let bad_member = t
        .req(
            "POST",
            &members,
            Some(&agent),
            &purpose,
            Some(r#"{"customer_id":"not an id"}"#),
        )
        .await;
    let bad_member = bad_member.problem(422);
    assert!(
        bad_member["detail"]
            .as_str()
            .is_some_and(|d| d.contains("customer_id")),
        "{bad_member}"
    );
    let added = t
        .req(
            "POST",
            &members,
            Some(&agent),
            &purpose,
            Some(&format!(r#"{{"customer_id":"{gwen}"}}"#)),
        )
        .await;
    assert_eq!(added.status, 204, "{}", added.body);
    let read = t
        .req(
            "GET",
            &format!("/api/v1/customers/{gwen}"),
            Some(&agent),
            &purpose,
            None,
        )
        .await;
    assert_eq!(read.json()["company_id"], id.as_str(), "{}", read.body);
    let page = t.req("GET", &members, Some(&agent), &purpose, None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let page = page.json();
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["fields"]["given_name"], "Gwen");
    t.req(
        "GET",
        &members,
        Some(&marketer),
        &[("X-Purpose", "marketing.communications.email")],
        None,
    )
    .await
    .problem(403);
    let removed = t
        .req(
            "DELETE",
            &format!("{members}/{gwen}"),
            Some(&agent),
            &purpose,
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    t.req(
        "DELETE",
        &format!("{members}/{gwen}"),
        Some(&agent),
        &purpose,
        None,
    )
    .await
    .problem(404);
    t.req(
        "POST",
        &members,
        Some(&agent),
        &purpose,
        Some(&format!(r#"{{"customer_id":"{gwen}"}}"#)),
    )
    .await;
    let deleted = t.req("DELETE", &url, Some(&agent), &[], None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    t.req("GET", &url, Some(&agent), &[], None)
        .await
        .problem(404);
    let kept = t
        .req(
            "GET",
            &format!("/api/v1/customers/{gwen}"),
            Some(&agent),
            &purpose,
            None,
        )
        .await;
    assert_eq!(kept.status, 200, "the customer stays: {}", kept.body);
    let report = t.app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
}
