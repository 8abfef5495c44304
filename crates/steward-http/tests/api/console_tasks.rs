//! Tasks in real headless Chromium, as a support agent works them: a task added on a
//! customer's page for themselves, found overdue in "My tasks", done there, and then in the
//! customer's timeline under the agent's display name.

use steward_app::CustomerInput;
use steward_app::core::Role;

use crate::console::{add_staff, in_browser, sign_in_for};
use crate::support::*;
use crate::webdriver::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_adds_a_task_finds_it_in_my_tasks_and_sees_it_done_in_the_timeline_in_a_browser() {
    let t = spawn_app().await;
    add_staff(&t, "agent@example.com", Role::Agent).await;
    let setup = t.operator.actor("setup", &["essential.service"]);
    let agent = t
        .app
        .accounts()
        .list_users(&setup)
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.email == "agent@example.com")
        .expect("agent")
        .id;
    t.app
        .accounts()
        .rename(&setup, agent, "Anna Agent")
        .await
        .expect("named");
    let access = t.app.access(&setup, None).expect("access");
    let customer = t
        .app
        .customers()
        .create(
            &access,
            CustomerInput {
                fields: [
                    ("email".to_string(), "gwen@example.com".to_string()),
                    ("given_name".to_string(), "Gwen".to_string()),
                    ("family_name".to_string(), "Lovelace".to_string()),
                ]
                .into_iter()
                .collect(),
                residency: "GB".into(),
                tags: vec![],
            },
        )
        .await
        .expect("customer")
        .id;
    let base = format!("http://{}", t.addr);
    // A day before the test's clock, so the task is overdue from the start.
    let due = t
        .app
        .now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .yesterday()
        .expect("date")
        .to_string();

    in_browser(move || {
        let b = Browser::start();
        sign_in_for(&b, &base, "agent@example.com", "essential.service");
        b.goto(&format!("{base}/console/customers/{customer}"));
        assert!(b.text_has("#customer-name", "Gwen Lovelace"), "{}", b.url());
        assert!(
            b.text_has("#task-owner", "Anna Agent"),
            "the owner is chosen by display name"
        );
        b.fill("#task-title", "Call Gwen about her order");
        b.script(&format!(
            "document.getElementById('task-due').value = '{due}'; return null;"
        ));
        b.click("#add-task");
        assert!(b.arrives("#tasks"), "{}", b.url());
        assert!(b.text_has("#task-list", "Call Gwen about her order"));
        assert!(b.text_has("#task-list", "for Anna Agent"));
        assert!(b.text_has("#customer-timeline", "task made: Call Gwen about her order"));

        b.click("#nav-tasks");
        assert!(b.arrives("/console/tasks"), "{}", b.url());
        assert!(b.text_has("#my-tasks", "Call Gwen about her order"));
        assert!(b.text_has("#my-tasks", "Gwen Lovelace"));
        assert!(b.text_has("#my-tasks", "(overdue)"));
        b.click("#my-tasks button[id^='mine-done-']");
        assert!(b.text_has("#no-tasks", "No open tasks."), "{}", b.url());

        b.goto(&format!("{base}/console/customers/{customer}"));
        assert!(b.text_has("#task-list", "done by Anna Agent"));
        assert!(b.text_has("#customer-timeline", "task done: Call Gwen about her order"));
        assert!(b.text_has("#customer-timeline", "Anna Agent"));
        assert!(
            !b.text("#customer-timeline").contains("user:"),
            "staff are named, not numbered"
        );
        assert!(
            !b.text("#access-history").contains("user:"),
            "the access history names staff too"
        );
    })
    .await;
    let report = t.app.audit().verify().await.expect("verify");
    assert!(report.ok, "{report:?}");
}
