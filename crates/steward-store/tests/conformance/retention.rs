//! Retention runs.

use super::*;

engines!(retention_claims_once_and_sweeps_what_it_claimed,);

pub async fn retention_claims_once_and_sweeps_what_it_claimed(store: Arc<dyn Store>) {
    // Rules: seeded once, then changed only through create and update.
    let rule = |key: &str, body: &str| StoredRule {
        key: key.into(),
        rule: body.into(),
        created_at: 1,
        updated_at: 1,
    };
    store
        .seed_retention_rules(&[rule("a", "{}"), rule("b", "{}")])
        .await
        .expect("seed");
    store
        .seed_retention_rules(&[rule("a", "{\"changed\":true}")])
        .await
        .expect("seed again");
    let rules = store.retention_rules().await.expect("rules");
    assert_eq!(
        rules
            .iter()
            .map(|r| (r.key.as_str(), r.rule.as_str()))
            .collect::<Vec<_>>(),
        [("a", "{}"), ("b", "{}")]
    );
    assert!(matches!(
        store
            .create_retention_rule(&rule("a", "{}"), record("retention.rule", vec![]))
            .await,
        Err(StoreError::Duplicate { .. })
    ));
    assert!(
        store
            .update_retention_rule(&rule("b", "{\"x\":1}"), record("retention.rule", vec![]))
            .await
            .expect("update")
    );
    assert!(
        !store
            .update_retention_rule(&rule("zz", "{}"), record("retention.rule", vec![]))
            .await
            .expect("absent")
    );

    // Holds.
    let hold = LegalHold {
        id: Uuid::now_v7(),
        customer_id: None,
        category: Some("interaction".into()),
        reason: "litigation".into(),
        owner: "legal".into(),
        created_at: 5,
        ends_at: Some(500),
        released_at: None,
    };
    store
        .create_legal_hold(&hold, record("retention.hold", vec![]))
        .await
        .expect("hold");
    assert_eq!(
        store.legal_holds().await.expect("holds"),
        vec![hold.clone()]
    );
    assert!(
        store
            .release_legal_hold(hold.id, 9, record("retention.release", vec![]))
            .await
            .expect("release")
    );
    assert!(
        !store
            .release_legal_hold(hold.id, 9, record("retention.release", vec![]))
            .await
            .expect("twice")
    );

    // Customers: one quiet since 10, one with an interaction at 300, one created late.
    let quiet = customer(10, &[], "active");
    let busy = customer(10, &[], "active");
    let new = customer(250, &[], "active");
    insert(
        &store,
        [&quiet, &busy, &new]
            .iter()
            .map(|c| CustomerWrite {
                row: (*c).clone(),
                index: vec![],
            })
            .collect(),
    )
    .await
    .expect("customers");
    let visit = InteractionRow {
        id: Uuid::now_v7(),
        customer_id: busy.id,
        kind: "web_visit".into(),
        occurred_at: 300,
        sealed: vec![1],
        created_at: 300,
        facets: None,
    };
    let old_visit = InteractionRow {
        id: Uuid::now_v7(),
        occurred_at: 20,
        created_at: 20,
        facets: Some(vec![4, 4]),
        ..visit.clone()
    };
    store
        .apply(ChangeSet {
            interactions: vec![visit.clone(), old_visit.clone()],
            ..Default::default()
        })
        .await
        .expect("interactions");
    let (one, two) = (Uuid::now_v7(), Uuid::now_v7());
    let dormant = DueQuery {
        rule_key: "dormant".into(),
        record: "customer".into(),
        anchor: "last_interaction".into(),
        kind: None,
        cutoff: 200,
        after: None,
        limit: 10,
    };
    let found = store.due_records(&dormant).await.expect("due");
    assert_eq!(
        found,
        vec![FoundRecord {
            record_id: quiet.id,
            customer_id: Some(quiet.id),
            anchor_at: 10
        }],
        "busy had contact after the cutoff; new was created after it"
    );
    assert_eq!(store.count_due(&dormant).await.expect("count"), 1);
    let visits = DueQuery {
        rule_key: "visits".into(),
        record: "interaction".into(),
        anchor: "created".into(),
        kind: Some("web_visit".into()),
        cutoff: 100,
        ..dormant.clone()
    };
    assert_eq!(
        store
            .due_records(&visits)
            .await
            .expect("visits")
            .iter()
            .map(|f| f.record_id)
            .collect::<Vec<_>>(),
        vec![old_visit.id]
    );

    // Two runs sweep the same page: each record is acted on once.
    let records: Vec<DueRecord> = found
        .iter()
        .map(|f| DueRecord {
            record_id: f.record_id,
            customer_id: f.customer_id,
            anchor_at: f.anchor_at,
            due_at: f.anchor_at + 190,
        })
        .collect();
    let run = |id: Uuid| RetentionRun {
        id,
        dry_run: false,
        state: "running".into(),
        started_by: "system:test".into(),
        started_at: 1_000,
        heartbeat_at: 2_600,
        finished_at: None,
        report: "{}".into(),
    };
    // Each sweep names the erased event; only the one that acted queues it.
    let listening = SubscriptionRow {
        id: Uuid::now_v7(),
        name: "sync".into(),
        url: "https://crm.example/hooks".into(),
        events: vec!["customer.erased".into()],
        secret: vec![1; 32],
        active: true,
        vendor_id: None,
        purpose: None,
        created_by: "user:admin".into(),
        created_at: 1,
        updated_at: 1,
    };
    store
        .create_subscription(&listening, record("webhook.subscription.create", vec![]))
        .await
        .expect("subscribe");
    let erased = EventNote {
        kind: "customer.erased".into(),
        subject_id: quiet.id,
        at: 2_600,
        data: format!(r#"{{"customer_id":"{}"}}"#, quiet.id),
    };
    let batch = |id: Uuid| SweepBatch {
        run: run(id),
        rule_key: "dormant".into(),
        record: "customer".into(),
        action: "erase".into(),
        records: records.clone(),
        at: 2_600,
        notify_by: 2_700,
        blank: vec![],
        proofs: Default::default(),
        audit: vec![(
            vec![quiet.id],
            record("customer.erase", vec![quiet.id.to_string()]),
        )],
        events: vec![(quiet.id, erased.clone())],
    };
    let (a, b) = tokio::join!(store.sweep(batch(one)), store.sweep(batch(two)));
    let (a, b) = (a.expect("sweep"), b.expect("sweep"));
    assert_eq!(a.len() + b.len(), 1, "acted on once: {a:?} {b:?}");
    let (queued, _) = store
        .subscription_deliveries(listening.id, 10)
        .await
        .expect("deliveries");
    assert_eq!(
        queued.iter().map(|d| d.subject_id).collect::<Vec<_>>(),
        [quiet.id],
        "told once"
    );
    let winner = if a.is_empty() { two } else { one };
    assert!(store.get_customer(quiet.id).await.expect("get").is_none());
    assert!(store.is_tombstoned(quiet.id).await.expect("tombstone"));
    assert!(store.due_records(&dormant).await.expect("due").is_empty());
    let acted = store.retention_actions(winner).await.expect("actions");
    assert_eq!(
        acted
            .iter()
            .map(|a| (a.record_id, a.done_at))
            .collect::<Vec<_>>(),
        [(quiet.id, 2_600)]
    );
    let loser = if winner == one { two } else { one };
    assert!(
        store
            .retention_actions(loser)
            .await
            .expect("none")
            .is_empty()
    );
    // A customer erased by other means between finding and sweeping: nothing is done,
    // recorded or audited for them.
    assert!(
        store
            .erase_customer(erasure(new.id, 2_700, record("customer.erase", vec![])))
            .await
            .expect("erased on request")
    );
    let three = Uuid::now_v7();
    let late = SweepBatch {
        records: vec![DueRecord {
            record_id: new.id,
            customer_id: Some(new.id),
            anchor_at: 250,
            due_at: 440,
        }],
        audit: vec![(
            vec![new.id],
            record("customer.erase", vec![new.id.to_string()]),
        )],
        ..batch(three)
    };
    assert!(store.sweep(late).await.expect("sweep").is_empty());
    assert!(
        store
            .retention_actions(three)
            .await
            .expect("none")
            .is_empty()
    );
    assert_eq!(
        store
            .audit_search(&AuditFilter {
                action: Some("customer.erase".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("audit")
            .len(),
        2,
        "the sweeper's and the request's, not a third"
    );
    let saved = store.retention_run(two).await.expect("run").expect("saved");
    assert_eq!(saved, run(two));
    assert_eq!(store.retention_runs(10).await.expect("runs").len(), 3);

    // Anonymising keeps the interaction, emptied of its text and its facets.
    let anonymise = SweepBatch {
        rule_key: "visits".into(),
        record: "interaction".into(),
        action: "anonymise".into(),
        records: vec![DueRecord {
            record_id: old_visit.id,
            customer_id: Some(busy.id),
            anchor_at: 20,
            due_at: 110,
        }],
        blank: vec![9, 9],
        proofs: Default::default(),
        audit: vec![],
        ..batch(two)
    };
    assert_eq!(store.sweep(anonymise).await.expect("anonymise").len(), 1);
    let kept = store
        .list_interactions(busy.id, None, 10)
        .await
        .expect("timeline");
    assert_eq!(kept.len(), 2);
    assert!(
        kept.iter()
            .any(|i| i.id == old_visit.id && i.sealed == vec![9, 9] && i.facets.is_none())
    );
    assert!(store.due_records(&visits).await.expect("visits").is_empty());
}
