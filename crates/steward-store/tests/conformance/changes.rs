//! Change sets: all or nothing, alone in a shared commit, and erasure.

use super::*;

engines!(
    many_customers_in_one_change_set,
    a_repeat_within_one_change_set_rejects_it_whole,
    unique_index_rejects_whole_change_set,
    erasure_removes_everything_but_a_tombstone,
    concurrent_writes_fail_alone,
);

/// Customers written together, as an import's batch is: each row, tag and index entry lands,
/// a tag repeated on one customer once, a shared phone number under both.
pub async fn many_customers_in_one_change_set(store: Arc<dyn Store>) {
    let rows = [
        customer(1, &["vip", "b2b", "vip"], "active"),
        customer(2, &[], "restricted"),
        customer(3, &["vip"], "active"),
    ];
    let writes = (rows.iter().enumerate())
        .map(|(i, row)| CustomerWrite {
            row: row.clone(),
            index: vec![
                entry("email", 10 + i as u8, true),
                entry("phone", 20, false),
            ],
        })
        .collect();
    insert(&store, writes).await.expect("insert");
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut stored = store.get_customers(&ids).await.expect("get");
    stored.sort_by_key(|r| r.id);
    let expected: Vec<CustomerRow> = (rows.iter().cloned())
        .map(|mut r| {
            r.tags.sort();
            r.tags.dedup();
            r
        })
        .collect();
    assert_eq!(stored, expected);
    for (i, id) in ids.iter().enumerate() {
        let found = (store.lookup_index("email", &[digest(10 + i as u8)]).await).expect("lookup");
        assert_eq!(found, vec![(digest(10 + i as u8), *id)]);
    }
    let mut sharing: Vec<Uuid> = (store.lookup_index("phone", &[digest(20)]).await)
        .expect("lookup")
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    sharing.sort();
    assert_eq!(sharing, ids);
}

/// Two new customers of one change set with the same address: neither is stored, and the
/// refusal names the field.
pub async fn a_repeat_within_one_change_set_rejects_it_whole(store: Arc<dyn Store>) {
    let (a, b) = (customer(1, &["x"], "active"), customer(2, &[], "active"));
    let result = insert(
        &store,
        vec![
            CustomerWrite {
                row: a.clone(),
                index: vec![entry("email", 5, true), entry("phone", 6, false)],
            },
            CustomerWrite {
                row: b,
                index: vec![entry("email", 5, true)],
            },
        ],
    )
    .await;
    assert!(
        matches!(&result, Err(StoreError::Duplicate { field }) if field == "email"),
        "{result:?}"
    );
    assert_eq!(store.count_customers().await.expect("count"), 0);
    assert_eq!(store.get_customer(a.id).await.expect("get"), None);
    assert!(
        (store.lookup_index("phone", &[digest(6)]).await)
            .expect("lookup")
            .is_empty()
    );
}

pub async fn unique_index_rejects_whole_change_set(store: Arc<dyn Store>) {
    let a = customer(1, &[], "active");
    insert(
        &store,
        vec![CustomerWrite {
            row: a,
            index: vec![entry("email", 7, true)],
        }],
    )
    .await
    .expect("insert");
    let b = customer(2, &["x"], "active");
    let c = customer(3, &[], "active");
    let result = insert(
        &store,
        vec![
            CustomerWrite {
                row: b.clone(),
                index: vec![entry("email", 8, true)],
            },
            CustomerWrite {
                row: c.clone(),
                index: vec![entry("email", 7, true)],
            },
        ],
    )
    .await;
    assert!(
        matches!(&result, Err(StoreError::Duplicate { field }) if field == "email"),
        "{result:?}"
    );
    assert_eq!(
        store.get_customer(b.id).await.expect("get"),
        None,
        "nothing of a failed change set is stored"
    );
    assert_eq!(store.count_customers().await.expect("count"), 1);
    assert_eq!(store.audit_head().await.expect("head").0, 1);
    // Non-unique entries may repeat.
    insert(
        &store,
        vec![CustomerWrite {
            row: b,
            index: vec![entry("phone", 7, false)],
        }],
    )
    .await
    .expect("insert b");
    insert(
        &store,
        vec![CustomerWrite {
            row: c,
            index: vec![entry("phone", 7, false)],
        }],
    )
    .await
    .expect("insert c");
    assert_eq!(
        store
            .lookup_index("phone", &[digest(7)])
            .await
            .expect("lookup")
            .len(),
        2
    );
}

pub async fn erasure_removes_everything_but_a_tombstone(store: Arc<dyn Store>) {
    let c = customer(1, &["vip"], "active");
    insert(
        &store,
        vec![CustomerWrite {
            row: c.clone(),
            index: vec![entry("email", 1, true)],
        }],
    )
    .await
    .expect("insert");
    let interaction = InteractionRow {
        id: Uuid::now_v7(),
        customer_id: c.id,
        kind: "note".into(),
        occurred_at: 5,
        sealed: vec![1],
        created_at: 5,
        facets: None,
    };
    store
        .apply(ChangeSet {
            interactions: vec![interaction],
            ..Default::default()
        })
        .await
        .expect("interaction");
    assert!(!store.is_tombstoned(c.id).await.expect("tomb"));
    assert!(
        store
            .erase_customer(erasure(
                c.id,
                99,
                record("customer.erase", vec![c.id.to_string()])
            ))
            .await
            .expect("erase")
    );
    assert_eq!(store.get_customer(c.id).await.expect("get"), None);
    assert!(
        store
            .lookup_index("email", &[digest(1)])
            .await
            .expect("lookup")
            .is_empty()
    );
    assert!(
        store
            .list_interactions(c.id, None, 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        store
            .list_customers(&CustomerFilter {
                tag: Some("vip".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("list")
            .is_empty()
    );
    assert!(store.is_tombstoned(c.id).await.expect("tomb"));
    assert!(
        !store
            .erase_customer(erasure(c.id, 100, record("customer.erase", vec![])))
            .await
            .expect("again")
    );
    let page = store.audit_page(0, 10).await.expect("audit");
    assert_eq!(
        page.last().map(|e| e.record.action.as_str()),
        Some("customer.erase")
    );
    // An interaction for an erased customer is refused.
    let late = InteractionRow {
        id: Uuid::now_v7(),
        customer_id: c.id,
        kind: "note".into(),
        occurred_at: 5,
        sealed: vec![1],
        created_at: 5,
        facets: None,
    };
    let r = store
        .apply(ChangeSet {
            interactions: vec![late],
            ..Default::default()
        })
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
}

/// Writes that share a transaction (SQLite's writer batches them) still succeed or fail
/// one by one: a duplicate undoes its own change and nothing else.
pub async fn concurrent_writes_fail_alone(store: Arc<dyn Store>) {
    let taken = customer(1, &[], "active");
    insert(
        &store,
        vec![CustomerWrite {
            row: taken.clone(),
            index: vec![entry("email", 200, true)],
        }],
    )
    .await
    .expect("first");
    let (seq_before, _) = store.audit_head().await.expect("head");
    let mut tasks = Vec::new();
    for i in 0..40u8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let row = customer(2, &[], "active");
            // Every third one collides with the address already taken.
            let digest = if i % 3 == 0 { 200 } else { i };
            let outcome = insert(
                &store,
                vec![CustomerWrite {
                    row: row.clone(),
                    index: vec![entry("email", digest, true)],
                }],
            )
            .await;
            (i, row.id, outcome)
        }));
    }
    let mut stored = 0;
    for task in tasks {
        let (i, id, outcome) = task.await.expect("task");
        let present = store.get_customer(id).await.expect("read").is_some();
        if i % 3 == 0 {
            assert!(
                matches!(outcome, Err(StoreError::Duplicate { .. })),
                "{i}: {outcome:?}"
            );
            assert!(!present, "{i}: a refused change leaves nothing");
        } else {
            assert!(outcome.is_ok(), "{i}: {outcome:?}");
            assert!(present, "{i}");
            stored += 1;
        }
    }
    let (seq_after, _) = store.audit_head().await.expect("head");
    assert_eq!(
        seq_after - seq_before,
        stored,
        "one audit entry per stored change, no gaps"
    );
    let entries = store.audit_page(0, 1_000).await.expect("audit");
    let mut walker = ChainWalker::default();
    for e in &entries {
        walker.feed(e).expect("the chain holds");
    }
}
