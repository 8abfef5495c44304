//! Tasks on a customer: an owner's open ones by due date with the undated last on both
//! engines, a close or reopen that finds the task already there applying nothing, and a
//! customer's tasks going with their erasure.

use super::*;

engines!(
    tasks_are_listed_closed_and_erased_with_their_customer,
    a_task_for_no_customer_is_refused,
);

fn task(customer: Uuid, owner: Uuid, due: Option<&str>, at: i64) -> TaskRow {
    TaskRow {
        id: Uuid::now_v7(),
        customer_id: customer,
        sealed: vec![9, 9, 9],
        due_on: due.map(str::to_string),
        owner_id: owner,
        created_by: "system:test".into(),
        created_at: at,
        done_at: None,
        done_by: None,
    }
}

fn moved(id: Uuid, done: Option<(&str, i64)>) -> ChangeSet {
    ChangeSet {
        task_moves: vec![TaskMove {
            id,
            done: done.map(|(by, at)| (by.to_string(), at)),
        }],
        audit: vec![record("task.move", vec![id.to_string()])],
        ..Default::default()
    }
}

async fn tasks_are_listed_closed_and_erased_with_their_customer(store: Arc<dyn Store>) {
    let c = customer(10, &[], "active");
    insert(
        &store,
        vec![CustomerWrite {
            row: c.clone(),
            index: vec![],
        }],
    )
    .await
    .expect("customer");
    let (anna, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let rows = vec![
        task(c.id, anna, Some("2026-02-01"), 20),
        task(c.id, anna, None, 21),
        task(c.id, anna, Some("2026-01-10"), 22),
        task(c.id, anna, Some("2026-01-20"), 23),
        task(c.id, bob, Some("2026-01-01"), 24),
    ];
    store
        .apply(ChangeSet {
            tasks: rows.clone(),
            ..Default::default()
        })
        .await
        .expect("tasks");
    let open: Vec<_> = (store.open_tasks_of(anna, 10).await.expect("open"))
        .iter()
        .map(|t| t.due_on.clone())
        .collect();
    let want = ["2026-01-10", "2026-01-20", "2026-02-01"].map(|d| Some(d.to_string()));
    assert_eq!(open[..3], want, "soonest due first");
    assert_eq!(open[3], None, "undated last");
    let newest: Vec<_> = (store.customer_tasks(c.id, 2).await.expect("tasks"))
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        newest,
        [rows[4].id, rows[3].id],
        "newest first, as many as asked"
    );

    let head = store.audit_head().await.expect("head").0;
    store
        .apply(moved(rows[2].id, Some(("user:anna", 30))))
        .await
        .expect("done");
    let done = store.task(rows[2].id).await.expect("task").expect("there");
    assert_eq!(
        (done.done_at, done.done_by.as_deref()),
        (Some(30), Some("user:anna"))
    );
    assert_eq!(store.open_tasks_of(anna, 10).await.expect("open").len(), 3);
    for again in [
        moved(rows[2].id, Some(("user:bob", 31))),
        moved(rows[0].id, None),
    ] {
        assert!(matches!(
            store.apply(again).await,
            Err(StoreError::Conflict)
        ));
    }
    assert_eq!(
        store.audit_head().await.expect("head").0,
        head + 1,
        "a refused move appends nothing"
    );
    store
        .apply(moved(rows[2].id, None))
        .await
        .expect("reopened");
    assert_eq!(store.open_tasks_of(anna, 10).await.expect("open").len(), 4);

    assert!(
        store
            .erase_customer(erasure(c.id, 40, record("customer.erase", vec![])))
            .await
            .expect("erase")
    );
    assert!(
        store
            .customer_tasks(c.id, 10)
            .await
            .expect("tasks")
            .is_empty()
    );
    assert!(store.task(rows[0].id).await.expect("task").is_none());
    assert!(store.open_tasks_of(bob, 10).await.expect("open").is_empty());
}

async fn a_task_for_no_customer_is_refused(store: Arc<dyn Store>) {
    let refused = store
        .apply(ChangeSet {
            tasks: vec![task(Uuid::now_v7(), Uuid::now_v7(), None, 1)],
            ..Default::default()
        })
        .await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
}
