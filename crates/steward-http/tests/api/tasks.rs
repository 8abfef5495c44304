//! Tasks and the timeline over HTTP: bad titles answered with their field and code, a task
//! for a staff member shown by display name, its customer's timeline naming who, and a
//! display name set through the accounts API.

use steward_app::core::Role;

use crate::support::*;

async fn staff(t: &TestApp, email: &str) -> uuid::Uuid {
    t.app
        .accounts()
        .add_user(
            &t.operator.actor("setup", &[]),
            steward_app::NewUser {
                email: email.into(),
                role: Role::Agent,
                password: "correct horse battery staple".into(),
                purposes: vec![],
            },
        )
        .await
        .expect("user")
        .id
}

#[tokio::test]
async fn tasks_over_http_answer_bad_input_by_field_and_show_names() {
    let t = spawn_app().await;
    let admin = t.token(Role::Admin, &[]).await;
    let agent = t.token(Role::Agent, &[]).await;
    let purpose = [("X-Purpose", "essential.service")];
    let anna = staff(&t, "anna@example.com").await;

    let bad_name = t
        .req(
            "PATCH",
            &format!("/api/v1/users/{anna}"),
            Some(&admin),
            &[],
            Some(r#"{"display_name":"Anna\u0007"}"#),
        )
        .await
        .problem(422);
    assert_eq!(bad_name["errors"][0]["field"], "display_name", "{bad_name}");
    let renamed = t
        .req(
            "PATCH",
            &format!("/api/v1/users/{anna}"),
            Some(&admin),
            &[],
            Some(r#"{"display_name":"  Anna Agent "}"#),
        )
        .await;
    assert_eq!(renamed.status, 204, "{}", renamed.body);
    let users = t.req("GET", "/api/v1/users", Some(&admin), &[], None).await;
    let listed = users.json();
    let shown = listed
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["id"] == anna.to_string())
        .expect("anna listed");
    assert_eq!(shown["display_name"], "Anna Agent");

    let created = t
        .req(
            "POST",
            "/api/v1/customers",
            Some(&agent),
            &purpose,
            Some(CUSTOMER),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let customer = created.json()["id"].as_str().expect("id").to_string();
    let tasks = format!("/api/v1/customers/{customer}/tasks");
    let long = format!(r#"{{"title":"{}","owner":"{anna}"}}"#, "x".repeat(201));
    for (body, field) in [
        (format!(r#"{{"title":"   ","owner":"{anna}"}}"#), "title"),
        (long, "title"),
        (
            format!(r#"{{"title":"Call","due_on":"soon","owner":"{anna}"}}"#),
            "due_on",
        ),
        (r#"{"title":"Call"}"#.to_string(), "owner"),
    ] {
        let p = t
            .req("POST", &tasks, Some(&agent), &purpose, Some(&body))
            .await
            .problem(422);
        assert_eq!(p["errors"][0]["field"], field, "{p}");
        assert!(p["code"].as_str().is_some_and(|c| !c.is_empty()), "{p}");
    }
    let made = t
        .req(
            "POST",
            &tasks,
            Some(&agent),
            &purpose,
            Some(&format!(
                r#"{{"title":"Send Ada the notes","due_on":"2026-01-01","owner":"{anna}"}}"#
            )),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let task = made.json();
    assert_eq!(task["owner_name"], "Anna Agent");
    assert_eq!(task["created_by"], "an API token");

    let listed = t
        .req(
            "GET",
            &format!("/api/v1/tasks?owner={anna}"),
            Some(&agent),
            &purpose,
            None,
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let listed = listed.json();
    assert_eq!(listed[0]["title"], "Send Ada the notes");
    assert_eq!(listed[0]["customer_name"], "Ada Lovelace");
    assert_eq!(listed[0]["overdue"], true);
    let me = t
        .req(
            "GET",
            "/api/v1/tasks?owner=me",
            Some(&agent),
            &purpose,
            None,
        )
        .await
        .problem(422);
    assert_eq!(me["errors"][0]["field"], "owner");

    let id = task["id"].as_str().expect("id");
    let done = t
        .req(
            "POST",
            &format!("/api/v1/tasks/{id}/done"),
            Some(&agent),
            &purpose,
            None,
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    t.req(
        "POST",
        &format!("/api/v1/tasks/{id}/done"),
        Some(&agent),
        &purpose,
        None,
    )
    .await
    .problem(409);

    let timeline = t
        .req(
            "GET",
            &format!("/api/v1/customers/{customer}/timeline?limit=10"),
            Some(&agent),
            &purpose,
            None,
        )
        .await;
    assert_eq!(timeline.status, 200, "{}", timeline.body);
    let entries = timeline.json()["entries"].clone();
    let kinds: Vec<_> = entries
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(kinds.contains(&"task_created".to_string()), "{entries}");
    assert!(kinds.contains(&"task_done".to_string()), "{entries}");
    assert!(
        !timeline.body.contains("user:") && !timeline.body.contains("token:"),
        "who is said in words: {entries}"
    );
}
