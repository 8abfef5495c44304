//! Duplicates merged: interactions and the unique index entry moved to the survivor with the
//! duplicate erased, all in one transaction; nothing applied when an interaction was missed or
//! the duplicate changed since it was read; the pointer from a merged-away id following its
//! survivor and going with the survivor's erasure.

use super::*;

engines!(
    a_merge_moves_what_it_names_and_points_the_duplicate_at_the_survivor,
    a_merge_that_missed_an_interaction_applies_nothing,
    a_merge_of_a_duplicate_changed_since_applies_nothing,
    the_pointer_follows_its_survivor_and_goes_with_its_erasure,
    a_merge_moves_tasks_and_one_missed_applies_nothing,
);

fn interaction(customer: Uuid, at: i64) -> InteractionRow {
    InteractionRow {
        id: Uuid::now_v7(),
        customer_id: customer,
        kind: "note".into(),
        occurred_at: at,
        sealed: vec![1, 1, 1],
        created_at: at,
        facets: None,
    }
}

/// Two customers, the duplicate with the unique email entry and `notes` interactions.
async fn pair(
    store: &Arc<dyn Store>,
    notes: usize,
) -> (CustomerRow, CustomerRow, Vec<InteractionRow>) {
    let survivor = customer(10, &["vip"], "active");
    let duplicate = customer(11, &["newsletter"], "active");
    insert(
        store,
        vec![
            CustomerWrite {
                row: survivor.clone(),
                index: vec![],
            },
            CustomerWrite {
                row: duplicate.clone(),
                index: vec![entry("email", 5, true)],
            },
        ],
    )
    .await
    .expect("customers");
    let rows: Vec<_> = (0..notes)
        .map(|n| interaction(duplicate.id, 20 + n as i64))
        .collect();
    store
        .apply(ChangeSet {
            interactions: rows.clone(),
            ..Default::default()
        })
        .await
        .expect("interactions");
    (survivor, duplicate, rows)
}

/// The merge of `duplicate` into `survivor`, the survivor taking the email entry, moving
/// `moved` sealed again.
fn merge(survivor: &CustomerRow, duplicate: &CustomerRow, moved: &[InteractionRow]) -> Merge {
    Merge {
        survivor: survivor.id,
        merged_version: duplicate.version,
        moved: moved
            .iter()
            .map(|i| InteractionRow {
                customer_id: survivor.id,
                sealed: vec![2, 2, 2],
                ..i.clone()
            })
            .collect(),
        moved_tasks: vec![],
        erasure: Erasure {
            id: duplicate.id,
            at: 30,
            suppress: None,
            proofs: Default::default(),
            with: ChangeSet {
                updates: vec![CustomerUpdate {
                    write: CustomerWrite {
                        row: CustomerRow {
                            tags: vec!["newsletter".into(), "vip".into()],
                            version: survivor.version + 1,
                            updated_at: 30,
                            ..survivor.clone()
                        },
                        index: vec![entry("email", 5, true)],
                    },
                    expected_version: survivor.version,
                    replaced_index_fields: vec!["email".into()],
                }],
                audit: vec![record(
                    "customer.merge",
                    vec![survivor.id.to_string(), duplicate.id.to_string()],
                )],
                ..Default::default()
            },
        },
    }
}

async fn unchanged(
    store: &Arc<dyn Store>,
    survivor: &CustomerRow,
    duplicate: &CustomerRow,
    notes: usize,
) {
    assert_eq!(
        store
            .get_customer(survivor.id)
            .await
            .expect("get")
            .map(|r| r.version),
        Some(survivor.version)
    );
    assert!(
        store
            .get_customer(duplicate.id)
            .await
            .expect("get")
            .is_some()
    );
    assert_eq!(
        store
            .list_interactions(duplicate.id, None, 10)
            .await
            .expect("interactions")
            .len(),
        notes
    );
    assert_eq!(
        store
            .lookup_index("email", &[digest(5)])
            .await
            .expect("lookup"),
        vec![(digest(5), duplicate.id)]
    );
    assert_eq!(
        store.survivor_of(duplicate.id).await.expect("pointer"),
        None
    );
    assert!(!store.is_tombstoned(duplicate.id).await.expect("tombstone"));
}

pub async fn a_merge_moves_what_it_names_and_points_the_duplicate_at_the_survivor(
    store: Arc<dyn Store>,
) {
    let (survivor, duplicate, notes) = pair(&store, 2).await;
    assert!(
        store
            .merge_customers(merge(&survivor, &duplicate, &notes))
            .await
            .expect("merged")
    );
    assert!(
        store
            .get_customer(duplicate.id)
            .await
            .expect("get")
            .is_none()
    );
    assert!(store.is_tombstoned(duplicate.id).await.expect("tombstone"));
    assert_eq!(
        store.survivor_of(duplicate.id).await.expect("pointer"),
        Some(survivor.id)
    );
    let now = store
        .get_customer(survivor.id)
        .await
        .expect("get")
        .expect("survivor");
    assert_eq!(now.tags, vec!["newsletter", "vip"]);
    // The unique entry changed hands in the one transaction.
    assert_eq!(
        store
            .lookup_index("email", &[digest(5)])
            .await
            .expect("lookup"),
        vec![(digest(5), survivor.id)]
    );
    let moved = store
        .list_interactions(survivor.id, None, 10)
        .await
        .expect("interactions");
    assert_eq!(moved.len(), 2);
    assert!(
        moved
            .iter()
            .all(|i| i.sealed == vec![2, 2, 2] && i.customer_id == survivor.id)
    );
    // Merging it again finds nothing to merge.
    assert!(
        !store
            .merge_customers(merge(&survivor, &duplicate, &[]))
            .await
            .expect("nothing")
    );
}

pub async fn a_merge_that_missed_an_interaction_applies_nothing(store: Arc<dyn Store>) {
    let (survivor, duplicate, notes) = pair(&store, 2).await;
    let missed = store
        .merge_customers(merge(&survivor, &duplicate, &notes[..1]))
        .await;
    assert!(matches!(missed, Err(StoreError::Conflict)), "{missed:?}");
    unchanged(&store, &survivor, &duplicate, 2).await;
}

pub async fn a_merge_of_a_duplicate_changed_since_applies_nothing(store: Arc<dyn Store>) {
    let (survivor, duplicate, notes) = pair(&store, 1).await;
    let mut stale = merge(&survivor, &duplicate, &notes);
    stale.merged_version = duplicate.version - 1;
    let refused = store.merge_customers(stale).await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");
    unchanged(&store, &survivor, &duplicate, 1).await;
}

pub async fn the_pointer_follows_its_survivor_and_goes_with_its_erasure(store: Arc<dyn Store>) {
    let (first, duplicate, notes) = pair(&store, 0).await;
    store
        .merge_customers(merge(&first, &duplicate, &notes))
        .await
        .expect("merged");
    let last = customer(40, &[], "active");
    insert(
        &store,
        vec![CustomerWrite {
            row: last.clone(),
            index: vec![],
        }],
    )
    .await
    .expect("third");
    let first = store
        .get_customer(first.id)
        .await
        .expect("get")
        .expect("first");
    let mut again = merge(&last, &first, &[]);
    again.erasure.with.updates[0].write.index.clear();
    again.erasure.with.updates[0].replaced_index_fields.clear();
    store.merge_customers(again).await.expect("merged again");
    for id in [duplicate.id, first.id] {
        assert_eq!(
            store.survivor_of(id).await.expect("pointer"),
            Some(last.id),
            "{id}"
        );
    }
    assert!(
        store
            .erase_customer(erasure(
                last.id,
                50,
                record("customer.erase", vec![last.id.to_string()])
            ))
            .await
            .expect("erased")
    );
    for id in [duplicate.id, first.id] {
        assert_eq!(store.survivor_of(id).await.expect("pointer"), None, "{id}");
    }
}

async fn a_merge_moves_tasks_and_one_missed_applies_nothing(store: Arc<dyn Store>) {
    let (survivor, duplicate, notes) = pair(&store, 1).await;
    let task = TaskRow {
        id: Uuid::now_v7(),
        customer_id: duplicate.id,
        sealed: vec![1, 1, 1],
        due_on: Some("2026-03-01".into()),
        owner_id: Uuid::now_v7(),
        created_by: "system:test".into(),
        created_at: 25,
        done_at: None,
        done_by: None,
    };
    store
        .apply(ChangeSet {
            tasks: vec![task.clone()],
            ..Default::default()
        })
        .await
        .expect("task");
    let missed = store
        .merge_customers(merge(&survivor, &duplicate, &notes))
        .await;
    assert!(matches!(missed, Err(StoreError::Conflict)), "{missed:?}");
    unchanged(&store, &survivor, &duplicate, 1).await;
    assert_eq!(
        store
            .task(task.id)
            .await
            .expect("task")
            .map(|t| t.customer_id),
        Some(duplicate.id)
    );

    let resealed = TaskRow {
        customer_id: survivor.id,
        sealed: vec![2, 2, 2],
        ..task.clone()
    };
    let with_task = Merge {
        moved_tasks: vec![resealed.clone()],
        ..merge(&survivor, &duplicate, &notes)
    };
    assert!(store.merge_customers(with_task).await.expect("merged"));
    assert_eq!(store.task(task.id).await.expect("task"), Some(resealed));
}
