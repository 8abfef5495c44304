//! The vendor register and data-sharing agreements.

use super::*;

engines!(
    vendors_change_by_version_and_keep_every_review,
    agreements_belong_to_their_vendor,
);

fn vendor(parent_id: Option<Uuid>, body: &str, at: i64) -> VendorRow {
    VendorRow {
        id: Uuid::now_v7(),
        parent_id,
        vendor: body.into(),
        version: 1,
        created_at: at,
        updated_at: at,
    }
}

/// The actions of the audit log, oldest first.
async fn actions(store: &Arc<dyn Store>) -> Vec<String> {
    store
        .audit_page(0, 1_000)
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.record.action)
        .collect()
}

pub async fn vendors_change_by_version_and_keep_every_review(store: Arc<dyn Store>) {
    let processor = vendor(None, "{\"legal_name\":\"Postwerk\"}", 1);
    store
        .create_vendor(&processor, record("vendor.create", vec![]))
        .await
        .expect("create");
    let sub = vendor(Some(processor.id), "{\"legal_name\":\"Nimbus\"}", 2);
    store
        .create_vendor(&sub, record("vendor.create", vec![]))
        .await
        .expect("sub-processor");
    assert!(
        store
            .create_vendor(
                &vendor(Some(Uuid::now_v7()), "{}", 3),
                record("vendor.create", vec![])
            )
            .await
            .is_err(),
        "a sub-processor's processor is in the register"
    );
    assert_eq!(
        store.vendors().await.expect("list"),
        vec![processor.clone(), sub.clone()]
    );

    let changed = VendorRow {
        vendor: "{\"legal_name\":\"Postwerk GmbH\"}".into(),
        version: 2,
        updated_at: 5,
        ..processor.clone()
    };
    assert!(
        store
            .update_vendor(&changed, record("vendor.update", vec![]))
            .await
            .expect("update")
    );
    assert!(
        !store
            .update_vendor(&changed, record("vendor.update", vec![]))
            .await
            .expect("the same change again"),
        "a change made from version 1 is not made twice"
    );
    assert!(
        !store
            .update_vendor(
                &VendorRow {
                    id: Uuid::now_v7(),
                    ..changed.clone()
                },
                record("vendor.update", vec![])
            )
            .await
            .expect("absent")
    );
    assert_eq!(
        store.vendor(processor.id).await.expect("read"),
        Some(changed.clone())
    );
    assert_eq!(store.vendor(Uuid::now_v7()).await.expect("absent"), None);

    let review = |vendor_id: Uuid, body: &str, recorded_at: i64| VendorReviewRow {
        id: Uuid::now_v7(),
        vendor_id,
        review: body.into(),
        recorded_at,
    };
    let first = review(processor.id, "{\"outcome\":\"approved\"}", 10);
    let second = review(processor.id, "{\"outcome\":\"suspend\"}", 20);
    let of_sub = review(sub.id, "{\"outcome\":\"approved\"}", 15);
    for r in [&first, &of_sub, &second] {
        store
            .add_vendor_review(r, record("vendor.review", vec![]))
            .await
            .expect("review");
    }
    assert!(
        store
            .add_vendor_review(
                &review(Uuid::now_v7(), "{}", 30),
                record("vendor.review", vec![])
            )
            .await
            .is_err(),
        "only a vendor in the register is reviewed"
    );
    assert_eq!(
        store
            .vendor_reviews(Some(processor.id))
            .await
            .expect("reviews"),
        vec![first.clone(), second.clone()],
        "a later review is added beside the earlier, which stays"
    );
    assert_eq!(
        store.vendor_reviews(None).await.expect("all reviews"),
        vec![first, of_sub, second]
    );

    assert_eq!(
        actions(&store).await,
        [
            "vendor.create",
            "vendor.create",
            "vendor.update",
            "vendor.review",
            "vendor.review",
            "vendor.review"
        ],
        "one entry per change made, none for what was refused"
    );
}

pub async fn agreements_belong_to_their_vendor(store: Arc<dyn Store>) {
    let (one, two) = (vendor(None, "{}", 1), vendor(None, "{}", 2));
    for v in [&one, &two] {
        store
            .create_vendor(v, record("vendor.create", vec![]))
            .await
            .expect("vendor");
    }
    let agreement = |vendor_id: Uuid, body: &str, at: i64| AgreementRow {
        id: Uuid::now_v7(),
        vendor_id,
        agreement: body.into(),
        version: 1,
        created_at: at,
        updated_at: at,
    };
    let a = agreement(one.id, "{\"purposes\":[\"a\"]}", 3);
    let b = agreement(two.id, "{\"purposes\":[\"b\"]}", 4);
    let c = agreement(one.id, "{\"purposes\":[\"c\"]}", 5);
    for x in [&a, &b, &c] {
        store
            .create_agreement(x, record("agreement.create", vec![]))
            .await
            .expect("agreement");
    }
    assert!(
        store
            .create_agreement(
                &agreement(Uuid::now_v7(), "{}", 6),
                record("agreement.create", vec![])
            )
            .await
            .is_err(),
        "an agreement is with a vendor of the register"
    );
    assert_eq!(
        store.agreements(Some(one.id)).await.expect("of one"),
        vec![a.clone(), c.clone()]
    );
    assert_eq!(
        store.agreements(None).await.expect("all"),
        vec![a.clone(), b.clone(), c.clone()]
    );

    let ended = AgreementRow {
        agreement: "{\"purposes\":[\"a\"],\"valid_until\":\"2026-12-31\"}".into(),
        version: 2,
        updated_at: 9,
        ..a.clone()
    };
    assert!(
        store
            .update_agreement(&ended, record("agreement.update", vec![]))
            .await
            .expect("update")
    );
    assert!(
        !store
            .update_agreement(&ended, record("agreement.update", vec![]))
            .await
            .expect("stale"),
        "a change made from version 1 is not made twice"
    );
    assert_eq!(store.agreement(a.id).await.expect("read"), Some(ended));
    assert_eq!(store.agreement(Uuid::now_v7()).await.expect("absent"), None);
    assert_eq!(
        actions(&store).await,
        [
            "vendor.create",
            "vendor.create",
            "agreement.create",
            "agreement.create",
            "agreement.create",
            "agreement.update"
        ]
    );
}
