//! Customers: rows, lists, versions, interactions, reopening.

use super::*;

engines!(
    customers_round_trip,
    list_filters_and_cursor,
    updates_check_versions,
    interactions_timeline_pages,
    reopening_keeps_data,
);

pub async fn customers_round_trip(store: Arc<dyn Store>) {
    // Tags come back in byte order on both engines, whatever PostgreSQL's collation would
    // make of '-' and '_'.
    let c = customer(10, &["vip", "b_2", "b2b", "b-2"], "active");
    insert(
        &store,
        vec![CustomerWrite {
            row: c.clone(),
            index: vec![entry("email", 1, true), entry("phone", 2, false)],
        }],
    )
    .await
    .expect("insert");
    let mut expected = c.clone();
    expected.tags.sort();
    assert_eq!(
        store.get_customer(c.id).await.expect("get"),
        Some(expected.clone())
    );
    assert_eq!(
        store
            .get_customers(&[c.id, Uuid::now_v7()])
            .await
            .expect("many"),
        vec![expected]
    );
    assert_eq!(
        store
            .lookup_index("email", &[digest(1), digest(9)])
            .await
            .expect("lookup"),
        vec![(digest(1), c.id)]
    );
    assert_eq!(
        store
            .lookup_index("phone", &[digest(1)])
            .await
            .expect("lookup"),
        vec![]
    );
    assert_eq!(store.count_customers().await.expect("count"), 1);
    assert_eq!(store.get_customer(Uuid::now_v7()).await.expect("get"), None);
}

pub async fn list_filters_and_cursor(store: Arc<dyn Store>) {
    let mut all = Vec::new();
    for i in 0..25i64 {
        let tags: &[&str] = if i % 3 == 0 { &["vip"] } else { &[] };
        let status = if i % 5 == 0 { "closed" } else { "active" };
        let c = customer(100 + i, tags, status);
        all.push(c.clone());
        insert(
            &store,
            vec![CustomerWrite {
                row: c,
                index: vec![entry("email", i as u8, true)],
            }],
        )
        .await
        .expect("insert");
    }
    // Walk every page: each customer exactly once, in id order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_customers(&CustomerFilter {
                after,
                limit: 7,
                ..Default::default()
            })
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        after = page.last().map(|c| c.id);
        seen.extend(page.into_iter().map(|c| c.id));
    }
    let mut ids: Vec<Uuid> = all.iter().map(|c| c.id).collect();
    ids.sort();
    assert_eq!(seen, ids);

    let count = |f: CustomerFilter| {
        let store = store.clone();
        async move {
            store
                .list_customers(&CustomerFilter { limit: 100, ..f })
                .await
                .expect("list")
                .len()
        }
    };
    assert_eq!(
        count(CustomerFilter {
            tag: Some("vip".into()),
            ..Default::default()
        })
        .await,
        9
    );
    assert_eq!(
        count(CustomerFilter {
            status: Some("closed".into()),
            ..Default::default()
        })
        .await,
        5
    );
    assert_eq!(
        count(CustomerFilter {
            created_after: Some(119),
            ..Default::default()
        })
        .await,
        5
    );
    assert_eq!(
        count(CustomerFilter {
            updated_before: Some(102),
            ..Default::default()
        })
        .await,
        2
    );
    assert_eq!(
        count(CustomerFilter {
            index: Some(("email".into(), digest(4))),
            ..Default::default()
        })
        .await,
        1
    );
    assert_eq!(
        count(CustomerFilter {
            tag: Some("vip".into()),
            status: Some("closed".into()),
            ..Default::default()
        })
        .await,
        2
    );
}

pub async fn updates_check_versions(store: Arc<dyn Store>) {
    let c = customer(1, &["a"], "active");
    insert(
        &store,
        vec![CustomerWrite {
            row: c.clone(),
            index: vec![entry("email", 1, true), entry("phone", 2, false)],
        }],
    )
    .await
    .expect("insert");
    let mut next = c.clone();
    next.version = 2;
    next.tags = vec!["b".into()];
    next.fields = vec![9];
    let update = |row: CustomerRow,
                  expected: i64,
                  index: Vec<IndexEntry>,
                  replaced: Vec<String>| ChangeSet {
        updates: vec![CustomerUpdate {
            write: CustomerWrite { row, index },
            expected_version: expected,
            replaced_index_fields: replaced,
        }],
        audit: vec![record("customer.update", vec![])],
        ..Default::default()
    };
    store
        .apply(update(
            next.clone(),
            1,
            vec![entry("phone", 3, false)],
            vec!["phone".into()],
        ))
        .await
        .expect("update");
    assert_eq!(
        store.get_customer(c.id).await.expect("get"),
        Some(next.clone())
    );
    // The email entry was not replaced; the phone entry was.
    assert_eq!(
        store
            .lookup_index("email", &[digest(1)])
            .await
            .expect("lookup")
            .len(),
        1
    );
    assert!(
        store
            .lookup_index("phone", &[digest(2)])
            .await
            .expect("lookup")
            .is_empty()
    );
    assert_eq!(
        store
            .lookup_index("phone", &[digest(3)])
            .await
            .expect("lookup")
            .len(),
        1
    );

    let stale = store.apply(update(next.clone(), 1, vec![], vec![])).await;
    assert!(matches!(stale, Err(StoreError::Conflict)), "{stale:?}");
    let mut ghost = next.clone();
    ghost.id = Uuid::now_v7();
    let missing = store.apply(update(ghost, 1, vec![], vec![])).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    let (seq, _) = store.audit_head().await.expect("head");
    assert_eq!(seq, 2, "failed updates append no audit entry");
}

pub async fn interactions_timeline_pages(store: Arc<dyn Store>) {
    let c = customer(1, &[], "active");
    insert(
        &store,
        vec![CustomerWrite {
            row: c.clone(),
            index: vec![],
        }],
    )
    .await
    .expect("insert");
    let rows: Vec<InteractionRow> = (0..12)
        .map(|i| InteractionRow {
            id: Uuid::now_v7(),
            customer_id: c.id,
            kind: "order".into(),
            occurred_at: 1000 + (i % 4),
            sealed: vec![i as u8],
            created_at: 1,
            facets: None,
        })
        .collect();
    store
        .apply(ChangeSet {
            interactions: rows.clone(),
            ..Default::default()
        })
        .await
        .expect("insert");
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_interactions(c.id, after, 5).await.expect("page");
        if page.is_empty() {
            break;
        }
        after = page.last().map(|r| (r.occurred_at, r.id));
        seen.extend(page);
    }
    assert_eq!(seen.len(), 12);
    assert!(
        seen.windows(2)
            .all(|w| (w[0].occurred_at, w[0].id) > (w[1].occurred_at, w[1].id)),
        "newest first, no repeats"
    );
}

pub async fn reopening_keeps_data(store: Arc<dyn Store>) {
    // Migrations are idempotent: the second open of the same database (done for both
    // engines by connecting again) finds the data in place.
    let c = customer(1, &[], "active");
    insert(
        &store,
        vec![CustomerWrite {
            row: c.clone(),
            index: vec![],
        }],
    )
    .await
    .expect("insert");
    assert_eq!(store.count_customers().await.expect("count"), 1);
}
