//! The request desk.

use super::*;

engines!(
    requests_move_once_and_outlive_their_subject,
    only_upheld_objections_count_and_they_leave_segments,
);

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

pub async fn only_upheld_objections_count_and_they_leave_segments(store: Arc<dyn Store>) {
    const FRAUD: &str = "security.fraud_prevention";
    const OTHER: &str = "analytics.reporting";
    const EMAIL: &str = "marketing.communications.email";
    let people: Vec<CustomerRow> = (0..4).map(|_| customer(1, &[], "active")).collect();
    insert(
        &store,
        people
            .iter()
            .map(|row| CustomerWrite {
                row: row.clone(),
                index: vec![],
            })
            .collect(),
    )
    .await
    .expect("customers");
    let [upheld, open, denied, elsewhere] = [0, 1, 2, 3].map(|i| people[i].id);
    let objection = |customer: Option<Uuid>, state: &str, purpose: &str| RequestRow {
        id: Uuid::now_v7(),
        kind: "objection".into(),
        channel: "email".into(),
        state: state.into(),
        jurisdiction: "gdpr".into(),
        customer_id: customer,
        subject: Uuid::now_v7().as_bytes().to_vec(),
        purpose: Some(purpose.into()),
        received_at: 10,
        acknowledge_by: None,
        acknowledged_at: None,
        due_at: 100,
        verified_at: None,
        closed_at: None,
        extension_reason: None,
        denial_reason: None,
        updated_at: 10,
        proposal: None,
    };
    let consent = |customer: Uuid| ConsentEvent {
        id: Uuid::now_v7(),
        customer_id: customer,
        purpose: EMAIL.into(),
        state: "given".into(),
        notice_version: None,
        method: "api".into(),
        evidence: None,
        at: 5,
        expires_at: None,
    };
    store
        .apply(ChangeSet {
            requests: vec![
                objection(Some(upheld), "completed", FRAUD),
                objection(Some(open), "in_progress", FRAUD),
                objection(Some(denied), "denied", FRAUD),
                objection(Some(elsewhere), "completed", OTHER),
                // Upheld for someone erased since: the request outlives them without an id,
                // and must not empty every segment of the purpose.
                objection(None, "completed", FRAUD),
            ],
            consents: people.iter().map(|p| consent(p.id)).collect(),
            ..Default::default()
        })
        .await
        .expect("requests");

    for (who, expected) in [
        (upheld, true),
        (open, false),
        (denied, false),
        (elsewhere, false),
    ] {
        assert_eq!(
            store.objected(who, FRAUD).await.expect("objected"),
            expected,
            "{who}"
        );
    }
    assert!(store.objected(elsewhere, OTHER).await.expect("objected"));
    let everyone: Vec<Uuid> = people.iter().map(|p| p.id).collect();
    assert_eq!(
        store.objected_among(FRAUD, &everyone).await.expect("among"),
        vec![upheld]
    );
    assert!(
        store
            .objected_among(FRAUD, &[])
            .await
            .expect("none asked")
            .is_empty()
    );
    // More ids than one statement takes: the one who objected is found in the last part.
    let mut many: Vec<Uuid> = (0..1_200).map(|_| Uuid::now_v7()).collect();
    many.push(upheld);
    assert_eq!(
        store.objected_among(FRAUD, &many).await.expect("among"),
        vec![upheld]
    );

    let mut rest = vec![open, denied, elsewhere];
    rest.sort();
    let audience = Some(AudienceOf {
        purpose: EMAIL.into(),
        now: 100,
        given_since: None,
    });
    for audience in [None, audience] {
        let q = SegmentQuery {
            objected_purposes: vec![FRAUD.into()],
            audience,
            ..Default::default()
        };
        assert_eq!(store.count_segment(&q).await.expect("count"), 3);
        let members: Vec<Uuid> = store
            .segment_page(&q, None, 10)
            .await
            .expect("page")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(members, rest);
        let everyone = SegmentQuery {
            objected_purposes: Vec::new(),
            ..q
        };
        assert_eq!(store.count_segment(&everyone).await.expect("count"), 4);
    }
}
