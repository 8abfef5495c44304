//! Idempotency keys.

use super::*;

engines!(idempotent_answers_are_kept_once_and_expire,);

pub async fn idempotent_answers_are_kept_once_and_expire(store: Arc<dyn Store>) {
    let c = customer(100, &[], "active");
    let kept = |key: u8, created_at: i64| IdempotentRow {
        key_hash: [key; 32],
        fingerprint: [7; 32],
        customer_id: c.id,
        response: vec![key, 1, 2],
        created_at,
        expires_at: created_at + 50,
    };
    let with = |row: Option<CustomerWrite>, kept: IdempotentRow| ChangeSet {
        inserts: row.into_iter().collect(),
        idempotency: Some(kept),
        audit: vec![record("customer.create", vec![])],
        ..Default::default()
    };
    let write = CustomerWrite {
        row: c.clone(),
        index: vec![],
    };
    store
        .apply(with(Some(write), kept(1, 100)))
        .await
        .expect("first use");
    assert_eq!(
        store.find_idempotent(&[1; 32], 120).await.expect("find"),
        Some(kept(1, 100))
    );
    assert_eq!(
        store.find_idempotent(&[1; 32], 150).await.expect("find"),
        None,
        "expired"
    );

    // A second use inside the day is refused and takes its whole change set with it.
    let other = customer(110, &[], "active");
    let second = CustomerWrite {
        row: other.clone(),
        index: vec![],
    };
    match store.apply(with(Some(second), kept(1, 110))).await {
        Err(StoreError::Duplicate { field }) => assert_eq!(field, IDEMPOTENCY_KEY),
        other => panic!("expected a duplicate key, got {other:?}"),
    }
    assert_eq!(store.get_customer(other.id).await.expect("get"), None);

    // Once expired, the key may be used again.
    store
        .apply(with(None, kept(1, 160)))
        .await
        .expect("reuse after expiry");
    assert_eq!(
        store.find_idempotent(&[1; 32], 170).await.expect("find"),
        Some(kept(1, 160))
    );

    // Erasure takes the kept answer and what was asked with the customer; only the key's
    // hash stays, so that a retry learns of the erasure instead of creating them again.
    store
        .erase_customer(erasure(c.id, 180, record("customer.erase", vec![])))
        .await
        .expect("erase");
    let left = store
        .find_idempotent(&[1; 32], 181)
        .await
        .expect("find")
        .expect("the key is remembered");
    assert_eq!(
        (left.customer_id, left.response.len(), left.fingerprint),
        (c.id, 0, [0; 32])
    );
}
