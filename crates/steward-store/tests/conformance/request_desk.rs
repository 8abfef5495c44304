//! The request desk.

use super::*;

engines!(requests_move_once_and_outlive_their_subject,);

pub async fn requests_move_once_and_outlive_their_subject(store: Arc<dyn Store>) {
    let c = customer(1, &[], "active");
    insert(
        &store,
        vec![CustomerWrite {
            row: c.clone(),
            index: vec![],
        }],
    )
    .await
    .expect("customer");
    let received = RequestRow {
        id: Uuid::now_v7(),
        kind: "erasure".into(),
        channel: "email".into(),
        state: "received".into(),
        jurisdiction: "gdpr".into(),
        customer_id: Some(c.id),
        subject: vec![9; 16],
        purpose: None,
        received_at: 10,
        acknowledge_by: None,
        acknowledged_at: None,
        due_at: 100,
        verified_at: None,
        closed_at: None,
        extension_reason: None,
        denial_reason: None,
        updated_at: 10,
        proposal: Some(vec![4, 2]),
    };
    let other = RequestRow {
        id: Uuid::now_v7(),
        subject: vec![8; 16],
        customer_id: None,
        kind: "access".into(),
        received_at: 20,
        due_at: 300,
        ..received.clone()
    };
    store
        .apply(ChangeSet {
            requests: vec![received.clone(), other.clone()],
            audit: vec![record("request.create", vec![received.id.to_string()])],
            ..Default::default()
        })
        .await
        .expect("requests");
    assert_eq!(
        store.request(received.id).await.expect("read"),
        Some(received.clone())
    );
    let list = |filter: RequestFilter| {
        let store = store.clone();
        async move {
            store
                .requests(&filter)
                .await
                .expect("list")
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    let all = RequestFilter {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(list(all.clone()).await, vec![other.id, received.id]);
    let due_soon = RequestFilter {
        open_only: true,
        due_before: Some(200),
        ..all.clone()
    };
    assert_eq!(list(due_soon.clone()).await, vec![received.id]);
    let of_subject = RequestFilter {
        subject: Some(vec![9; 16]),
        ..all.clone()
    };
    assert_eq!(list(of_subject.clone()).await, vec![received.id]);
    assert_eq!(
        list(RequestFilter {
            customer: Some(c.id),
            ..all.clone()
        })
        .await,
        vec![received.id]
    );
    assert_eq!(
        list(RequestFilter {
            received_since: Some(15),
            ..all.clone()
        })
        .await,
        vec![other.id]
    );

    let verified = RequestRow {
        state: "verified".into(),
        verified_at: Some(30),
        updated_at: 30,
        ..received.clone()
    };
    let step = |row: &RequestRow, from: &str| RequestMove {
        row: row.clone(),
        from: from.into(),
    };
    store
        .apply(ChangeSet {
            request_moves: vec![step(&verified, "received")],
            ..Default::default()
        })
        .await
        .expect("verify");
    // A second move from the state it has left fails, and takes the rest of its change
    // with it.
    let update = RecipientUpdate {
        id: Uuid::now_v7(),
        customer_id: c.id,
        kind: "rectification".into(),
        fields: vec!["phone".into(), "given_name".into()],
        at: 31,
        notified_at: None,
        notify_by: 41,
    };
    assert!(matches!(
        store
            .apply(ChangeSet {
                request_moves: vec![step(&verified, "received")],
                recipient_updates: vec![update.clone()],
                ..Default::default()
            })
            .await,
        Err(StoreError::Conflict)
    ));
    assert!(
        store
            .recipient_updates(c.id)
            .await
            .expect("none")
            .is_empty()
    );

    let completed = RequestRow {
        state: "completed".into(),
        closed_at: Some(40),
        updated_at: 40,
        ..verified.clone()
    };
    assert_eq!(
        store
            .request(received.id)
            .await
            .expect("read")
            .and_then(|r| r.proposal),
        Some(vec![4, 2])
    );
    let erased = RecipientUpdate {
        id: Uuid::now_v7(),
        kind: "erasure".into(),
        fields: vec![],
        at: 40,
        ..update.clone()
    };
    assert!(
        store
            .erase_customer(Erasure {
                id: c.id,
                at: 40,
                suppress: Some(digest(5)),
                proofs: Default::default(),
                with: ChangeSet {
                    request_moves: vec![step(&completed, "verified")],
                    recipient_updates: vec![update.clone(), erased.clone()],
                    audit: vec![record("customer.erase", vec![c.id.to_string()])],
                    ..Default::default()
                },
            })
            .await
            .expect("erase")
    );
    let kept = store
        .request(received.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(
        kept,
        RequestRow {
            customer_id: None,
            proposal: None,
            ..completed.clone()
        },
        "the record of the request outlives the customer, under its pseudonym only"
    );
    assert_eq!(list(of_subject).await, vec![received.id]);
    assert!(list(due_soon).await.is_empty(), "completed is not open");
    assert_eq!(
        store.recipient_updates(c.id).await.expect("updates"),
        vec![update, erased]
    );
    assert_eq!(
        store
            .suppressed(&[digest(6), digest(5)])
            .await
            .expect("suppressed"),
        vec![digest(5)]
    );
    store
        .apply(ChangeSet {
            unsuppress: vec![digest(5)],
            ..Default::default()
        })
        .await
        .expect("lift");
    assert!(
        store
            .suppressed(&[digest(5)])
            .await
            .expect("lifted")
            .is_empty()
    );
}
