//! Art. 19 notices: written with the change they tell of, one per vendor that received the
//! customer's data (for a rectification, one that received a changed field), and moved on
//! only from the status they were read in.

use super::*;

engines!(notices_follow_what_each_vendor_received,);

/// A vendor under an agreement, sent `share` (a share's recorded body) about `customer`.
async fn recipient(store: &Arc<dyn Store>, customer: Uuid, share: &str) -> Uuid {
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
    let agreement = AgreementRow {
        id: Uuid::now_v7(),
        vendor_id: vendor.id,
        agreement: "{}".into(),
        version: 1,
        created_at: 2,
        updated_at: 2,
    };
    store
        .create_agreement(&agreement, record("agreement.create", vec![]))
        .await
        .expect("agreement");
    let row = ShareRow {
        id: Uuid::now_v7(),
        vendor_id: vendor.id,
        agreement_id: agreement.id,
        purpose: "marketing".into(),
        share: share.into(),
        shared: 1,
        created_by: "dpo".into(),
        created_at: 3,
    };
    let disclosure = DisclosureRow {
        share_id: row.id,
        customer_id: customer,
        vendor_id: vendor.id,
        purpose: "marketing".into(),
        disclosure: "{}".into(),
        sealed: vec![1],
        at: 3,
    };
    store
        .record_share(&row, vec![disclosure], vec![], vec![])
        .await
        .expect("share");
    vendor.id
}

fn update(customer: Uuid, kind: &str, fields: &[&str], at: i64) -> RecipientUpdate {
    RecipientUpdate {
        id: Uuid::now_v7(),
        customer_id: customer,
        kind: kind.into(),
        fields: fields.iter().map(|f| f.to_string()).collect(),
        at,
        notified_at: None,
        notify_by: at + 100,
    }
}

pub async fn notices_follow_what_each_vendor_received(store: Arc<dyn Store>) {
    let ada = Uuid::now_v7();
    let nobody = Uuid::now_v7();
    let names = recipient(&store, ada, r#"{"fields":["email","given_name"]}"#).await;
    let addresses = recipient(&store, ada, r#"{"fields":["email"]}"#).await;
    // A body that cannot say what went: the vendor counts as having received everything.
    let unknown = recipient(&store, ada, "not a share body").await;
    let of = |customer: Uuid| RecipientNoticeFilter {
        customer: Some(customer),
        limit: 100,
        ..Default::default()
    };
    let by_vendor = |mut rows: Vec<RecipientNoticeRow>| {
        rows.sort_by_key(|n| n.vendor_id);
        rows.into_iter()
            .map(|n| (n.vendor_id, n.kind, n.fields))
            .collect::<Vec<_>>()
    };

    let rectified = update(ada, "rectification", &["given_name"], 10);
    store
        .apply(ChangeSet {
            recipient_updates: vec![
                rectified.clone(),
                update(ada, "restriction_lifted", &[], 10),
                update(nobody, "erasure", &[], 10),
            ],
            ..Default::default()
        })
        .await
        .expect("apply");
    let mut expected = vec![
        (
            names,
            "rectification".to_string(),
            vec!["given_name".to_string()],
        ),
        (
            unknown,
            "rectification".to_string(),
            vec!["given_name".to_string()],
        ),
    ];
    expected.sort();
    assert_eq!(
        by_vendor(store.recipient_notices(&of(ada)).await.expect("list")),
        expected
    );
    assert!(
        store
            .recipient_notices(&of(nobody))
            .await
            .expect("list")
            .is_empty()
    );

    let restricted = update(ada, "restriction", &[], 20);
    store
        .apply(ChangeSet {
            recipient_updates: vec![restricted],
            ..Default::default()
        })
        .await
        .expect("apply");
    let all = store.recipient_notices(&of(ada)).await.expect("list");
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|n| n.status == "pending"));
    let mut told: Vec<Uuid> = all
        .iter()
        .filter(|n| n.kind == "restriction")
        .map(|n| n.vendor_id)
        .collect();
    told.sort();
    let mut every = vec![names, addresses, unknown];
    every.sort();
    assert_eq!(told, every);
    let first = all
        .iter()
        .find(|n| n.kind == "rectification" && n.vendor_id == names)
        .expect("notice")
        .clone();
    assert_eq!((first.due_at, first.created_at), (110, 10));

    // Overdue: still to be sent and due before the moment asked about.
    assert_eq!(store.overdue_recipient_notices(110).await.expect("n"), 0);
    assert_eq!(store.overdue_recipient_notices(111).await.expect("n"), 2);
    assert_eq!(store.overdue_recipient_notices(121).await.expect("n"), 5);

    // A move applies once, from the status it was read in; a second from the same status
    // writes nothing, its audit entry included.
    let sent = RecipientNoticeRow {
        status: "sent".into(),
        sent_at: Some(30),
        updated_at: 30,
        ..first.clone()
    };
    store
        .move_recipient_notice(
            &sent,
            "pending",
            vec![record("recipient_notice.sent", vec![])],
        )
        .await
        .expect("move");
    let (length, _) = store.audit_head().await.expect("head");
    assert!(matches!(
        store
            .move_recipient_notice(
                &sent,
                "pending",
                vec![record("recipient_notice.sent", vec![])]
            )
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.audit_head().await.expect("head").0, length);
    assert_eq!(
        store.recipient_notice(first.id).await.expect("read"),
        Some(sent)
    );
    assert_eq!(store.overdue_recipient_notices(121).await.expect("n"), 4);
    let pending = store
        .recipient_notices(&RecipientNoticeFilter {
            status: Some("pending".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(pending.len(), 4);
    let overdue = store
        .recipient_notices(&RecipientNoticeFilter {
            open_due_before: Some(111),
            limit: 100,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(overdue.len(), 1, "the other rectification notice was sent");
}
