//! Portal codes and sessions.

use super::*;

engines!(portal_codes_are_bound_spent_once_and_limited,);

pub async fn portal_codes_are_bound_spent_once_and_limited(store: Arc<dyn Store>) {
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
    let code = |n: u8, created_at: i64| PortalCode {
        id: Uuid::now_v7(),
        customer_id: c.id,
        address: vec![7; 16],
        code_hash: [n; 32],
        created_at,
        expires_at: created_at + 100,
        attempts: 0,
        used_at: None,
    };
    let issue = |pc: &PortalCode, max_since: i64, max_failures: i64| ChangeSet {
        portal_code: Some(NewPortalCode {
            code: pc.clone(),
            since: 0,
            max_since,
            failures_since: 0,
            max_failures,
        }),
        audit: vec![record("portal.code", vec![c.id.to_string()])],
        ..Default::default()
    };
    let (first, second) = (code(1, 10), code(2, 20));
    for pc in [&first, &second] {
        store.apply(issue(pc, 2, 10)).await.expect("code");
    }
    let (seq, _) = store.audit_head().await.expect("head");
    assert!(
        matches!(
            store.apply(issue(&code(3, 25), 2, 10)).await,
            Err(StoreError::Conflict)
        ),
        "over the quota of codes"
    );
    assert_eq!(
        store.audit_head().await.expect("head").0,
        seq,
        "and nothing of it kept"
    );
    assert_eq!(
        store.portal_code(&[7; 16], 30).await.expect("find"),
        Some(second.clone()),
        "the newest"
    );
    assert_eq!(
        store
            .portal_code(&[8; 16], 30)
            .await
            .expect("other address"),
        None,
        "bound to its address"
    );
    assert_eq!(
        store.portal_code(&[7; 16], 200).await.expect("expired"),
        None
    );
    let session = |n: u8| PortalSession {
        token_hash: [n; 32],
        customer_id: c.id,
        created_at: 30,
        last_used_at: 30,
        ended_at: None,
    };
    let check = |id: Uuid, matched: bool, n: u8| {
        let store = store.clone();
        async move {
            store
                .check_portal_code(
                    id,
                    30,
                    matched,
                    3,
                    &session(n),
                    record("portal.sign_in", vec![]),
                )
                .await
                .expect("check")
        }
    };
    for _ in 0..3 {
        assert_eq!(check(first.id, false, 9).await, CodeCheck::Wrong);
    }
    assert_eq!(
        check(first.id, true, 9).await,
        CodeCheck::Void,
        "no fourth attempt, even with the right code"
    );
    assert_eq!(check(second.id, true, 1).await, CodeCheck::SignedIn);
    assert_eq!(check(second.id, true, 2).await, CodeCheck::Void, "spent");
    assert!(
        store
            .portal_session(&[1; 32])
            .await
            .expect("session")
            .is_some()
    );
    assert!(
        store
            .portal_session(&[2; 32])
            .await
            .expect("none")
            .is_none()
    );
    // Three failed attempts so far: a cap of three failures refuses another code.
    assert!(matches!(
        store.apply(issue(&code(4, 40), 10, 3)).await,
        Err(StoreError::Conflict)
    ));
    let fifth = code(5, 41);
    let sixth = code(6, 42);
    store
        .apply(issue(&fifth, 10, 4))
        .await
        .expect("under a higher cap");
    store.apply(issue(&sixth, 10, 4)).await.expect("another");
    assert_eq!(check(sixth.id, true, 4).await, CodeCheck::SignedIn);
    assert_eq!(
        check(fifth.id, true, 5).await,
        CodeCheck::Void,
        "signing in spent the address's other codes too"
    );
    store
        .touch_portal_session(&[1; 32], 40, true)
        .await
        .expect("end");
    assert_eq!(
        store
            .portal_session(&[1; 32])
            .await
            .expect("ended")
            .and_then(|s| s.ended_at),
        Some(40)
    );
    assert!(
        store
            .erase_customer(erasure(
                c.id,
                50,
                record("customer.erase", vec![c.id.to_string()])
            ))
            .await
            .expect("erase")
    );
    assert!(
        store
            .portal_session(&[1; 32])
            .await
            .expect("gone")
            .is_none()
    );
    assert_eq!(store.portal_code(&[7; 16], 45).await.expect("gone"), None);
}
