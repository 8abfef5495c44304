//! Shares with vendors and the disclosures they made.

use super::*;

engines!(a_share_and_its_disclosures_commit_together,);

pub async fn a_share_and_its_disclosures_commit_together(store: Arc<dyn Store>) {
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
    let share = ShareRow {
        id: Uuid::now_v7(),
        vendor_id: vendor.id,
        agreement_id: agreement.id,
        purpose: "marketing".into(),
        share: "{\"fields\":[\"email\"]}".into(),
        shared: 3,
        created_by: "dpo".into(),
        created_at: 3,
    };
    let mut customers: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    customers.sort();
    let disclosures: Vec<DisclosureRow> = customers
        .iter()
        .map(|c| DisclosureRow {
            share_id: share.id,
            customer_id: *c,
            vendor_id: vendor.id,
            purpose: "marketing".into(),
            disclosure: "{\"countries\":[\"DE\"]}".into(),
            sealed: vec![1, 2, 3],
            at: 3,
        })
        .collect();
    store
        .record_share(
            &share,
            disclosures.clone(),
            vec![],
            vec![record("share.create", vec![])],
        )
        .await
        .expect("record");
    assert_eq!(
        store.share(share.id).await.expect("read"),
        Some(share.clone())
    );
    assert_eq!(store.share(Uuid::now_v7()).await.expect("read"), None);
    let later = ShareRow {
        id: Uuid::now_v7(),
        shared: 0,
        created_at: 4,
        ..share.clone()
    };
    store
        .record_share(&later, vec![], vec![], vec![record("share.create", vec![])])
        .await
        .expect("record");
    assert_eq!(
        store.shares(10).await.expect("list"),
        vec![later.clone(), share.clone()],
        "newest first"
    );
    assert_eq!(store.shares(1).await.expect("list"), vec![later]);

    let first = store
        .share_disclosures(share.id, None, 2)
        .await
        .expect("page");
    assert_eq!(first, disclosures[..2].to_vec(), "in customer order");
    let rest = store
        .share_disclosures(share.id, Some(customers[1]), 2)
        .await
        .expect("page");
    assert_eq!(rest, disclosures[2..].to_vec());
    assert_eq!(
        store
            .share_disclosures_between(share.id, customers[1], customers[2])
            .await
            .expect("between"),
        disclosures[1..].to_vec(),
        "both ends included"
    );
    assert_eq!(
        store.disclosures_of(customers[0]).await.expect("of"),
        vec![disclosures[0].clone()]
    );

    let again = store
        .record_share(
            &share,
            disclosures,
            vec![],
            vec![record("share.create", vec![])],
        )
        .await;
    assert!(again.is_err(), "a share id is recorded once");
    assert_eq!(
        store.disclosures_of(customers[0]).await.expect("of").len(),
        1,
        "a failed share leaves nothing behind"
    );
}
