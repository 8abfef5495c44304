//! Tasks on a customer and the customer's timeline: made, closed and reopened with who and
//! when, a staff member's open ones soonest due first, titles refused with their field,
//! shredded with an erasure and carried by a merge; the timeline's kinds in the order of
//! the fixture's own times, staff shown by display name. Each runs on the suite's engine.

use jiff::SignedDuration;
use steward_app::core::Role;
use steward_app::{
    Access, AppError, AuditFilter, InteractionInput, RequestInput, Steward, TaskInput,
};
use uuid::Uuid;

use crate::support::*;

fn task(title: &str, due_on: Option<&str>, owner: Option<Uuid>) -> TaskInput {
    TaskInput {
        title: title.into(),
        due_on: due_on.map(str::to_string),
        owner,
    }
}

async fn customer(app: &Steward, access: &Access, email: &str, given: &str) -> Uuid {
    app.customers()
        .create(access, input(email, given))
        .await
        .expect("customer")
        .id
}

#[tokio::test]
async fn tasks_are_made_done_and_reopened_and_mine_lists_the_overdue_first() {
    let (_home, app) = app().await;
    let (anna_id, anna) = staff_member(&app, "anna@example.com", "Anna Agent").await;
    let (bob_id, _bob) = staff_member(&app, "bob@example.com", "Bob Builder").await;
    let gwen = customer(&app, &anna, "gwen@example.com", "Gwen").await;
    let hugo = customer(&app, &anna, "hugo@example.com", "Hugo").await;
    // The clock stands at 2026-01-15.
    let fixture = [
        ("renew Gwen's contract", Some("2026-02-01"), gwen, None),
        ("call Hugo back", Some("2026-01-10"), hugo, None),
        ("send Gwen the catalogue", None, gwen, None),
        ("ask Hugo about the invoice", Some("2026-01-20"), hugo, None),
        ("Bob's own task", Some("2026-01-01"), gwen, Some(bob_id)),
    ];
    let mut made = Vec::new();
    for (title, due, on, owner) in fixture {
        let view = app
            .tasks()
            .add(&anna, on, task(title, due, owner))
            .await
            .expect("task made");
        assert_eq!(view.created_by, "Anna Agent");
        made.push(view);
    }
    assert_eq!(
        made[0].owner, anna_id,
        "the maker owns it when no owner is named"
    );
    assert_eq!(made[0].owner_name, "Anna Agent");
    assert_eq!(made[4].owner_name, "Bob Builder");

    let mut expected: Vec<_> = fixture
        .iter()
        .filter(|f| f.3.is_none())
        .map(|f| (f.1.is_none(), f.1, f.0))
        .collect();
    expected.sort();
    let mine = app.tasks().mine(&anna, None).await.expect("mine");
    let got: Vec<_> = mine.iter().map(|t| t.task.title.as_str()).collect();
    let want: Vec<_> = expected.iter().map(|e| e.2).collect();
    assert_eq!(got, want, "soonest due first, undated last, only Anna's");
    let overdue: Vec<_> = mine.iter().map(|t| t.overdue).collect();
    assert_eq!(overdue, [true, false, false, false]);
    assert_eq!(mine[0].customer_name, "Hugo Quackenbush");

    let call = made[1].id;
    let done = app.tasks().complete(&anna, call).await.expect("done");
    assert_eq!(done.done_by.as_deref(), Some("Anna Agent"));
    assert_eq!(done.done_at, Some(app.now()));
    assert!(matches!(
        app.tasks().complete(&anna, call).await,
        Err(AppError::Conflict(_))
    ));
    let mine = app.tasks().mine(&anna, None).await.expect("mine");
    assert!(
        mine.iter().all(|t| t.task.id != call),
        "a done task leaves the list"
    );
    let reopened = app.tasks().reopen(&anna, call).await.expect("reopened");
    assert_eq!((reopened.done_at, reopened.done_by), (None, None));
    let mine = app.tasks().mine(&anna, None).await.expect("mine");
    assert_eq!(mine[0].task.id, call, "overdue again, first again");

    let on_gwen = app.tasks().list(&anna, gwen, None).await.expect("list");
    assert_eq!(on_gwen.len(), 3);

    let auditor = actor(&app, Role::Auditor);
    for (action, n) in [("task.create", 5), ("task.done", 1), ("task.reopen", 1)] {
        let entries = app
            .audit()
            .search(
                &auditor,
                AuditFilter {
                    action: Some(action.into()),
                    limit: 50,
                    ..Default::default()
                },
            )
            .await
            .expect("search");
        assert_eq!(entries.len(), n, "{action}");
        for e in &entries {
            let first = Uuid::parse_str(&e.record.targets[0]).expect("id");
            assert!(
                [gwen, hugo].contains(&first),
                "{action} names its customer first"
            );
            assert_eq!(e.record.purpose.as_deref(), Some("essential.service"));
        }
    }
}

#[tokio::test]
async fn a_title_too_long_or_empty_is_refused_naming_its_field() {
    let (home, app) = app().await;
    let (_, anna) = staff_member(&app, "anna@example.com", "Anna").await;
    let gwen = customer(&app, &anna, "gwen@example.com", "Gwen").await;
    for (input, field) in [
        (task("   ", None, None), "title"),
        (task(&"x".repeat(201), None, None), "title"),
        (task("a\u{7}bell", None, None), "title"),
        (task("fine", Some("15/01/2026"), None), "due_on"),
        (task("fine", None, Some(Uuid::now_v7())), "owner"),
    ] {
        match app.tasks().add(&anna, gwen, input).await {
            Err(AppError::Invalid(errors)) => {
                assert_eq!(errors[0].field, field, "{errors:?}")
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    app.tasks()
        .add(&anna, gwen, task(&"y".repeat(200), None, None))
        .await
        .expect("200 characters fit");
    assert_eq!(home.count("SELECT COUNT(*) FROM tasks").await, 1);
    let token = app.local_staff("token:integration", Role::Agent, &[]);
    let token = app
        .access(&token, Some("essential.service"))
        .expect("access");
    assert!(matches!(
        app.tasks().add(&token, gwen, task("no one's", None, None)).await,
        Err(AppError::Invalid(e)) if e[0].field == "owner"
    ));
}

#[tokio::test]
async fn erasure_deletes_tasks_and_no_title_stands_in_plaintext() {
    let (home, app) = sqlite_app().await;
    let (_, anna) = staff_member(&app, "anna@example.com", "Anna").await;
    let gwen = customer(&app, &anna, "gwen@example.com", "Gwen").await;
    let secret = "call Gwen about her divorce settlement";
    let made = app
        .tasks()
        .add(&anna, gwen, task(secret, Some("2026-01-20"), None))
        .await
        .expect("task");
    app.tasks().complete(&anna, made.id).await.expect("done");
    home.assert_no_plaintext(&[secret, "divorce"]).await;
    app.rights().erase(&dpo(&app), gwen).await.expect("erased");
    assert_eq!(home.count("SELECT COUNT(*) FROM tasks").await, 0);
    assert!(matches!(
        app.tasks().complete(&anna, made.id).await,
        Err(AppError::NotFound)
    ));
    assert!(
        app.tasks()
            .mine(&anna, None)
            .await
            .expect("mine")
            .is_empty()
    );
    home.assert_no_plaintext(&[secret, "divorce"]).await;
}

#[tokio::test]
async fn a_merge_moves_tasks_readable_under_the_survivor() {
    let (home, app) = app().await;
    let (_, anna) = staff_member(&app, "anna@example.com", "Anna").await;
    let survivor = customer(&app, &anna, "gwen@example.com", "Gwen").await;
    let merged = customer(&app, &anna, "gwen.q@example.com", "Gwen").await;
    app.tasks()
        .add(&anna, survivor, task("the survivor's own", None, None))
        .await
        .expect("task");
    let moved = app
        .tasks()
        .add(
            &anna,
            merged,
            task("taken over in the merge", Some("2026-03-01"), None),
        )
        .await
        .expect("task");
    app.customers()
        .merge(&anna, survivor, merged, false)
        .await
        .expect("merged");
    let tasks = app.tasks().list(&anna, survivor, None).await.expect("list");
    let titles: Vec<_> = tasks.iter().map(|t| t.title.as_str()).collect();
    assert_eq!(titles, ["taken over in the merge", "the survivor's own"]);
    assert_eq!(tasks[0].id, moved.id);
    assert_eq!(tasks[0].due_on.as_deref(), Some("2026-03-01"));
    assert_eq!(home.count("SELECT COUNT(*) FROM tasks").await, 2);
    let done = app.tasks().complete(&anna, moved.id).await.expect("done");
    assert_eq!(done.customer_id, survivor);
    let mine = app.tasks().mine(&anna, None).await.expect("mine");
    assert!(mine.iter().all(|t| t.customer_name == "Gwen Quackenbush"));
    home.assert_no_plaintext(&["taken over in the merge"]).await;
}

#[tokio::test]
async fn the_timeline_mixes_every_kind_newest_first_and_names_who() {
    let (_home, app, clock) = app_with_clock().await;
    let (_, anna) = staff_member(&app, "anna@example.com", "Anna Agent").await;
    let gwen = customer(&app, &anna, "gwen@example.com", "Gwen").await;
    let step = || clock.advance(SignedDuration::from_mins(7));
    let mut fixture = Vec::new();

    step();
    app.interactions()
        .add(
            &anna,
            gwen,
            InteractionInput {
                kind: "call".into(),
                occurred_at: None,
                summary: "asked about delivery".into(),
                body: None,
                facets: Default::default(),
            },
        )
        .await
        .expect("interaction");
    fixture.push((app.now(), "interaction", "Anna Agent"));
    step();
    give_consent(&app, &anna, gwen, "marketing.communications.email").await;
    fixture.push((app.now(), "consent", "system"));
    step();
    let made = app
        .tasks()
        .add(&anna, gwen, task("post the catalogue", None, None))
        .await
        .expect("task");
    fixture.push((app.now(), "task_created", "Anna Agent"));
    step();
    app.customers().get(&anna, gwen).await.expect("read");
    fixture.push((app.now(), "access", "Anna Agent"));
    step();
    app.tasks().complete(&anna, made.id).await.expect("done");
    fixture.push((app.now(), "task_done", "Anna Agent"));
    step();
    app.requests()
        .create(
            &dpo(&app),
            RequestInput {
                kind: "access".into(),
                channel: "email".into(),
                customer_id: Some(gwen),
                ..Default::default()
            },
        )
        .await
        .expect("request");
    fixture.push((app.now(), "request", "the customer"));

    fixture.sort_by_key(|f| std::cmp::Reverse(f.0));
    step();
    let timeline = app
        .timeline()
        .of(&anna, gwen, None)
        .await
        .expect("timeline");
    let got: Vec<_> = timeline
        .entries
        .iter()
        .map(|e| (e.at, e.kind.as_str(), e.who.as_str()))
        .collect();
    assert_eq!(got, fixture, "{:#?}", timeline.entries);
    assert!(!timeline.more);
    assert!(timeline.entries.iter().all(|e| !e.who.starts_with("user:")));

    let page = app
        .timeline()
        .of(&anna, gwen, Some(3))
        .await
        .expect("timeline");
    assert_eq!(page.entries.len(), 3);
    assert!(page.more, "older entries beyond the page");
    let kinds: Vec<_> = page.entries.iter().map(|e| e.kind.as_str()).collect();
    // The first read of the timeline is the newest access now.
    assert_eq!(kinds, ["access", "request", "task_done"]);
}
