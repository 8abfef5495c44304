//! Webhook endpoints and the outbox of deliveries: claimed by one sender at a time, settled
//! with their attempts and audit entries together, counted per subject.

use super::*;

engines!(
    deliveries_are_claimed_once_and_settled_with_their_attempts,
    an_endpoint_is_set_replaced_and_removed,
    a_notice_is_queued_once,
);

async fn vendor(store: &Arc<dyn Store>) -> Uuid {
    let vendor = VendorRow {
        id: Uuid::now_v7(),
        parent_id: None,
        vendor: "{}".into(),
        version: 1,
        created_at: 1,
        updated_at: 1,
    };
    store
        .create_vendor(&vendor, record("vendor.create", vec![]))
        .await
        .expect("vendor");
    vendor.id
}

fn delivery(vendor: Uuid, subject: Uuid, at: i64) -> WebhookRow {
    WebhookRow {
        id: Uuid::now_v7(),
        vendor_id: Some(vendor),
        subscription_id: None,
        kind: "share.page".into(),
        subject_id: subject,
        reference: "{}".into(),
        state: "pending".into(),
        attempts: 0,
        next_attempt_at: at,
        created_at: at,
        settled_at: None,
    }
}

fn attempt(d: &WebhookRow, n: i64, at: i64, outcome: WebhookOutcome) -> WebhookAttempt {
    WebhookAttempt {
        delivery_id: d.id,
        attempt: n,
        at,
        outcome,
        status: Some(503),
        error: None,
        micros: 1_500,
    }
}

pub async fn deliveries_are_claimed_once_and_settled_with_their_attempts(store: Arc<dyn Store>) {
    let vendor = vendor(&store).await;
    let agreement = AgreementRow {
        id: Uuid::now_v7(),
        vendor_id: vendor,
        agreement: "{}".into(),
        version: 1,
        created_at: 2,
        updated_at: 2,
    };
    store
        .create_agreement(&agreement, record("agreement.create", vec![]))
        .await
        .expect("agreement");
    let share = ShareRow {
        id: Uuid::now_v7(),
        vendor_id: vendor,
        agreement_id: agreement.id,
        purpose: "marketing".into(),
        share: "{}".into(),
        shared: 0,
        created_by: "dpo".into(),
        created_at: 10,
    };
    let first = delivery(vendor, share.id, 10);
    let second = delivery(vendor, share.id, 10);
    store
        .record_share(
            &share,
            vec![],
            vec![first.clone(), second.clone()],
            vec![record("share.create", vec![])],
        )
        .await
        .expect("share");
    assert_eq!(
        store.webhook_deliveries(share.id).await.expect("list").0,
        vec![first.clone(), second.clone()]
    );

    // Not due yet; then one sender takes one, another the other, a third nothing.
    assert!(
        store
            .claim_webhooks(9, 100, 10)
            .await
            .expect("early")
            .is_empty()
    );
    let a = store.claim_webhooks(10, 100, 1).await.expect("claim");
    let b = store.claim_webhooks(10, 100, 10).await.expect("claim");
    assert_eq!(a, vec![first.clone()]);
    assert_eq!(b, vec![second.clone()]);
    assert!(
        store
            .claim_webhooks(50, 100, 10)
            .await
            .expect("held")
            .is_empty()
    );

    // The first is to be retried later; the second is delivered, with its audit entry.
    let head = store.audit_head().await.expect("head").0;
    assert!(
        store
            .finish_webhook(
                &attempt(&first, 1, 20, WebhookOutcome::Retry { at: 200 }),
                vec![]
            )
            .await
            .expect("retry")
    );
    let delivered = WebhookAttempt {
        status: Some(200),
        ..attempt(&second, 1, 21, WebhookOutcome::Delivered)
    };
    assert!(
        store
            .finish_webhook(&delivered, vec![record("share.deliver", vec![])])
            .await
            .expect("delivered")
    );
    assert_eq!(store.audit_head().await.expect("head").0, head + 1);
    assert!(
        !store
            .finish_webhook(&delivered, vec![record("share.deliver", vec![])])
            .await
            .expect("again"),
        "a settled delivery gains no attempt"
    );
    assert_eq!(store.audit_head().await.expect("head").0, head + 1);
    assert_eq!(
        store.webhook_progress(share.id).await.expect("progress"),
        WebhookProgress {
            pending: 1,
            delivered: 1,
            failed: 0
        }
    );

    // Released by its finish, the first waits for its retry time, not for the lease.
    assert!(
        store
            .claim_webhooks(199, 1_000, 10)
            .await
            .expect("not yet")
            .is_empty()
    );
    let again = store.claim_webhooks(200, 1_000, 10).await.expect("due");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 1);
    store
        .finish_webhook(&attempt(&first, 2, 201, WebhookOutcome::Failed), vec![])
        .await
        .expect("failed");
    // A lease that ran out frees a delivery for another sender; a settled one never returns.
    assert!(
        store
            .claim_webhooks(5_000, 6_000, 10)
            .await
            .expect("none")
            .is_empty()
    );
    assert_eq!(
        store.webhook_progress(share.id).await.expect("progress"),
        WebhookProgress {
            pending: 0,
            delivered: 1,
            failed: 1
        }
    );
    let (settled, attempts) = store.webhook_deliveries(share.id).await.expect("list");
    let mut expected = vec![
        attempt(&first, 1, 20, WebhookOutcome::Retry { at: 200 }),
        attempt(&first, 2, 201, WebhookOutcome::Failed),
        delivered,
    ];
    expected.sort_by_key(|a| (a.delivery_id, a.attempt));
    assert_eq!(attempts, expected);
    assert_eq!(settled[0].state, "failed");
    assert_eq!(settled[0].settled_at, Some(201));
    assert_eq!(settled[1].state, "delivered");
}

pub async fn an_endpoint_is_set_replaced_and_removed(store: Arc<dyn Store>) {
    let vendor = vendor(&store).await;
    assert_eq!(store.webhook(vendor).await.expect("none"), None);
    let endpoint = WebhookEndpointRow {
        vendor_id: vendor,
        url: "https://hooks.example.com/a".into(),
        secret: vec![1, 2, 3],
        set_by: "user:dpo".into(),
        set_at: 5,
    };
    store
        .set_webhook(&endpoint, record("vendor.webhook.set", vec![]))
        .await
        .expect("set");
    let replaced = WebhookEndpointRow {
        url: "https://hooks.example.com/b".into(),
        secret: vec![4, 5, 6],
        set_at: 6,
        ..endpoint
    };
    store
        .set_webhook(&replaced, record("vendor.webhook.set", vec![]))
        .await
        .expect("replace");
    assert_eq!(store.webhook(vendor).await.expect("read"), Some(replaced));
    assert!(
        store
            .remove_webhook(vendor, record("vendor.webhook.remove", vec![]))
            .await
            .expect("remove")
    );
    assert!(
        !store
            .remove_webhook(vendor, record("vendor.webhook.remove", vec![]))
            .await
            .expect("none left")
    );
    assert_eq!(store.webhook(vendor).await.expect("gone"), None);
}

/// A recipient notice has one delivery at most, however it came to be queued: a second is
/// refused, and nothing written with it stays. (Pages of a share, one subject, are many.)
pub async fn a_notice_is_queued_once(store: Arc<dyn Store>) {
    let vendor = vendor(&store).await;
    let agreement = AgreementRow {
        id: Uuid::now_v7(),
        vendor_id: vendor,
        agreement: "{}".into(),
        version: 1,
        created_at: 2,
        updated_at: 2,
    };
    store
        .create_agreement(&agreement, record("agreement.create", vec![]))
        .await
        .expect("agreement");
    let share = ShareRow {
        id: Uuid::now_v7(),
        vendor_id: vendor,
        agreement_id: agreement.id,
        purpose: "marketing".into(),
        share: "{}".into(),
        shared: 0,
        created_by: "dpo".into(),
        created_at: 10,
    };
    let notice = Uuid::now_v7();
    let told = |at| WebhookRow {
        kind: "recipient.notice".into(),
        ..delivery(vendor, notice, at)
    };
    assert!(
        store
            .record_share(
                &share,
                vec![],
                vec![told(10), told(11)],
                vec![record("share.create", vec![])],
            )
            .await
            .is_err()
    );
    assert!(store.share(share.id).await.expect("read").is_none());
    assert!(
        store
            .webhook_deliveries(notice)
            .await
            .expect("list")
            .0
            .is_empty()
    );
}
