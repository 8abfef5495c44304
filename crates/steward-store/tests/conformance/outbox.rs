//! The outbox and mail links.

use super::*;

engines!(
    outbox_leases_records_and_erases_mail,
    mail_links_are_spent_once_with_their_change,
);

pub async fn outbox_leases_records_and_erases_mail(store: Arc<dyn Store>) {
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
    let (first, later) = (message(c.id, 10), message(c.id, 50));
    store
        .apply(ChangeSet {
            mail: vec![first.clone(), later.clone()],
            links: vec![link(c.id, 7, 100)],
            audit: vec![record("consent.request", vec![c.id.to_string()])],
            ..Default::default()
        })
        .await
        .expect("enqueue");

    let claimed = store.claim_mail(20, 80, 10).await.expect("claim");
    assert_eq!(claimed, vec![first.clone()], "only what is due");
    assert!(
        store
            .claim_mail(20, 80, 10)
            .await
            .expect("again")
            .is_empty(),
        "a leased message is not handed out twice"
    );
    store
        .finish_mail(&Delivery {
            message_id: first.id,
            attempt: 1,
            at: 21,
            outcome: DeliveryOutcome::Retry { at: 30 },
            detail: Some("421".into()),
        })
        .await
        .expect("retry");
    assert!(
        store
            .claim_mail(25, 80, 10)
            .await
            .expect("early")
            .is_empty()
    );
    let due: Vec<Uuid> = store
        .claim_mail(60, 120, 10)
        .await
        .expect("due")
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(
        due,
        vec![first.id, later.id],
        "retried and new, oldest due first"
    );
    store
        .finish_mail(&Delivery {
            message_id: first.id,
            attempt: 2,
            at: 61,
            outcome: DeliveryOutcome::Sent,
            detail: Some("250".into()),
        })
        .await
        .expect("sent");
    assert!(
        store
            .claim_mail(200, 300, 10)
            .await
            .expect("lease over")
            .iter()
            .map(|m| m.id)
            .eq([later.id]),
        "an expired lease frees the message; a sent one stays sent"
    );
    let states: Vec<(Uuid, String, i64, Option<i64>)> = store
        .customer_mail(c.id)
        .await
        .expect("mail")
        .into_iter()
        .map(|m| (m.id, m.state, m.attempts, m.sent_at))
        .collect();
    assert_eq!(
        states,
        vec![
            (later.id, "pending".to_string(), 0, None),
            (first.id, "sent".to_string(), 2, Some(61)),
        ]
    );
    let attempts: Vec<(i64, DeliveryOutcome)> = store
        .deliveries(first.id)
        .await
        .expect("deliveries")
        .into_iter()
        .map(|d| (d.attempt, d.outcome))
        .collect();
    assert_eq!(
        attempts,
        vec![
            (1, DeliveryOutcome::Retry { at: 30 }),
            (2, DeliveryOutcome::Sent)
        ]
    );

    assert!(
        store
            .erase_customer(erasure(
                c.id,
                300,
                record("customer.erase", vec![c.id.to_string()])
            ))
            .await
            .expect("erase")
    );
    assert!(store.customer_mail(c.id).await.expect("mail").is_empty());
    assert!(
        store
            .deliveries(first.id)
            .await
            .expect("deliveries")
            .is_empty()
    );
    assert!(store.find_link(&[7; 32]).await.expect("link").is_none());
    store
        .finish_mail(&Delivery {
            message_id: later.id,
            attempt: 1,
            at: 301,
            outcome: DeliveryOutcome::Failed,
            detail: Some("550".into()),
        })
        .await
        .expect("finishing an erased message is a no-op");
    assert!(
        store
            .deliveries(later.id)
            .await
            .expect("deliveries")
            .is_empty()
    );
}

pub async fn mail_links_are_spent_once_with_their_change(store: Arc<dyn Store>) {
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
    store
        .apply(ChangeSet {
            links: vec![link(c.id, 1, 100), link(c.id, 2, 10)],
            audit: vec![record("consent.request", vec![c.id.to_string()])],
            ..Default::default()
        })
        .await
        .expect("links");
    assert_eq!(
        store.find_link(&[1; 32]).await.expect("find"),
        Some(link(c.id, 1, 100))
    );

    let given = |n: u8, at: i64| ChangeSet {
        spend_link: Some(SpentLink {
            token_hash: [n; 32],
            at,
        }),
        consents: vec![ConsentEvent {
            id: Uuid::now_v7(),
            customer_id: c.id,
            purpose: "marketing.communications.email".into(),
            state: "given".into(),
            notice_version: None,
            method: "form".into(),
            evidence: None,
            at,
            expires_at: None,
        }],
        audit: vec![record("consent.confirm", vec![c.id.to_string()])],
        ..Default::default()
    };
    let (seq, _) = store.audit_head().await.expect("head");
    assert!(
        matches!(store.apply(given(2, 20)).await, Err(StoreError::NotFound)),
        "expired"
    );
    assert!(
        matches!(store.apply(given(3, 20)).await, Err(StoreError::NotFound)),
        "unknown"
    );
    store.apply(given(1, 20)).await.expect("spend");
    assert!(
        matches!(store.apply(given(1, 21)).await, Err(StoreError::NotFound)),
        "spent"
    );
    assert_eq!(
        store.consent_history(c.id).await.expect("history").len(),
        1,
        "one event"
    );
    assert_eq!(
        store.audit_head().await.expect("head").0,
        seq + 1,
        "one audit entry"
    );
    assert_eq!(
        store
            .find_link(&[1; 32])
            .await
            .expect("find")
            .and_then(|l| l.used_at),
        Some(20)
    );
}
