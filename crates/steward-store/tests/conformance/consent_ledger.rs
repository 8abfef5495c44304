//! The consent ledger and lapsed consents.

use super::*;

engines!(
    consent_ledger_keeps_history_and_current_state,
    lapsed_consents_are_found_until_marked,
);

pub async fn consent_ledger_keeps_history_and_current_state(store: Arc<dyn Store>) {
    let c = customer(10, &[], "active");
    insert(
        &store,
        vec![CustomerWrite {
            row: c.clone(),
            index: vec![],
        }],
    )
    .await
    .expect("insert");
    let event = |state: &str, at: i64, customer: Uuid| ConsentEvent {
        id: Uuid::now_v7(),
        customer_id: customer,
        purpose: "marketing.communications.email".into(),
        state: state.into(),
        notice_version: Some("2026-01".into()),
        method: "api".into(),
        evidence: Some(r#"{"client":"3f2a"}"#.into()),
        at,
        expires_at: Some(at + 100),
    };
    let recorded = |e: ConsentEvent| ChangeSet {
        consents: vec![e],
        audit: vec![record("consent.record", vec![])],
        ..Default::default()
    };
    let given = event("given", 20, c.id);
    store.apply(recorded(given.clone())).await.expect("given");
    assert_eq!(
        store.consents(c.id).await.expect("current"),
        vec![given.clone()]
    );
    let withdrawn = event("withdrawn", 30, c.id);
    store
        .apply(recorded(withdrawn.clone()))
        .await
        .expect("withdrawn");
    assert_eq!(
        store.consents(c.id).await.expect("current"),
        vec![withdrawn.clone()],
        "the latest event is the current state"
    );
    let (row, current) = store
        .customer_with_consents(c.id)
        .await
        .expect("read together")
        .expect("customer");
    assert_eq!((row.id, row.version), (c.id, c.version));
    assert_eq!(current, vec![withdrawn.clone()]);
    assert_eq!(
        store
            .consents_for("marketing.communications.email", &[c.id, Uuid::now_v7()])
            .await
            .expect("for a page"),
        vec![withdrawn.clone()],
        "one read for a page of customers, those without an event left out"
    );
    assert!(
        store
            .consents_for("marketing.communications.sms", &[c.id])
            .await
            .expect("another purpose")
            .is_empty()
    );
    assert!(
        store
            .consents_for("marketing.communications.email", &[])
            .await
            .expect("none")
            .is_empty()
    );
    assert_eq!(
        store.consent_event(given.id).await.expect("event"),
        Some(given.clone())
    );
    let stats = store.consent_stats(0).await.expect("stats");
    assert_eq!(
        stats.current,
        vec![(
            "marketing.communications.email".to_string(),
            "withdrawn".to_string(),
            1
        )]
    );
    assert_eq!(
        stats
            .per_day
            .iter()
            .map(|(_, _, s, n)| (s.as_str(), *n))
            .collect::<Vec<_>>(),
        vec![("given", 1), ("withdrawn", 1)]
    );
    assert_eq!(
        store.consent_history(c.id).await.expect("history"),
        vec![given.clone(), withdrawn.clone()]
    );

    let stranger = Uuid::now_v7();
    let before = store.audit_head().await.expect("head").0;
    assert!(matches!(
        store.apply(recorded(event("given", 40, stranger))).await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .consent_history(stranger)
            .await
            .expect("none")
            .is_empty()
    );
    assert!(
        store
            .customer_with_consents(stranger)
            .await
            .expect("read")
            .is_none()
    );
    assert_eq!(
        store.audit_head().await.expect("head").0,
        before,
        "all or nothing"
    );

    // The erasure keeps a proof of each event; one missing (a consent recorded after the
    // proofs were built) stops it whole, with the ledger as it was.
    let mut erase = erasure(c.id, 50, record("customer.erase", vec![]));
    erase.proofs.insert(given.id, proof(&given, 50));
    assert!(matches!(
        store.erase_customer(erase.clone()).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store.consent_history(c.id).await.expect("history"),
        vec![given.clone(), withdrawn.clone()]
    );
    assert_eq!(store.consent_proof(given.id).await.expect("proof"), None);
    erase.proofs.insert(withdrawn.id, proof(&withdrawn, 50));
    assert!(store.erase_customer(erase).await.expect("erase"));
    for e in [&given, &withdrawn] {
        assert_eq!(
            store.consent_proof(e.id).await.expect("proof"),
            Some(proof(e, 50))
        );
    }
    assert!(store.consents(c.id).await.expect("current").is_empty());
    assert!(
        store
            .consent_history(c.id)
            .await
            .expect("history")
            .is_empty()
    );
}

pub async fn lapsed_consents_are_found_until_marked(store: Arc<dyn Store>) {
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
    let event = |purpose: &str, state: &str, at: i64, expires_at: Option<i64>| ConsentEvent {
        id: Uuid::now_v7(),
        customer_id: c.id,
        purpose: purpose.into(),
        state: state.into(),
        notice_version: None,
        method: "api".into(),
        evidence: None,
        at,
        expires_at,
    };
    store
        .apply(ChangeSet {
            consents: vec![
                event("a", "given", 5, Some(50)),
                event("b", "given", 5, None),
                event("c", "given", 20, None),
                event("d", "withdrawn", 5, None),
            ],
            ..Default::default()
        })
        .await
        .expect("consents");
    let purposes =
        |found: Vec<ConsentEvent>| found.into_iter().map(|e| e.purpose).collect::<Vec<_>>();
    assert!(
        store
            .lapsed_consents(40, None, 10)
            .await
            .expect("none yet")
            .is_empty()
    );
    assert_eq!(
        purposes(store.lapsed_consents(50, None, 10).await.expect("expired")),
        ["a"]
    );
    let mut both = purposes(
        store
            .lapsed_consents(50, Some(10), 10)
            .await
            .expect("and before a change"),
    );
    both.sort();
    assert_eq!(both, ["a", "b"]);
    let lapsed_a = store.lapsed_consents(50, None, 10).await.expect("a")[0].id;
    assert!(
        matches!(
            store
                .apply(ChangeSet {
                    consents: vec![event("a", "expired", 51, None)],
                    consent_guards: vec![(c.id, "a".into(), Uuid::now_v7())],
                    ..Default::default()
                })
                .await,
            Err(StoreError::Conflict)
        ),
        "a consent that moved on is not overwritten"
    );
    store
        .apply(ChangeSet {
            consents: vec![event("a", "expired", 51, None)],
            consent_guards: vec![(c.id, "a".into(), lapsed_a)],
            ..Default::default()
        })
        .await
        .expect("marked");
    assert!(
        store
            .lapsed_consents(60, None, 10)
            .await
            .expect("marked")
            .is_empty()
    );
}
