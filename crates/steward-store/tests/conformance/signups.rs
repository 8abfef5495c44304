//! Sign-ups held until confirmed.

use super::*;

engines!(signups_are_held_settled_by_their_last_link_and_dropped_once,);

fn signup(expires_at: i64) -> SignupRow {
    SignupRow {
        id: Uuid::now_v7(),
        form: "newsletter".into(),
        created_at: 1,
        expires_at,
        sealed: vec![7, 7, 7],
    }
}

fn follow(link: u8, signup: Uuid, at: i64) -> ChangeSet {
    ChangeSet {
        spend_link: Some(SpentLink {
            token_hash: [link; 32],
            at,
        }),
        settle_signup: Some(signup),
        ..Default::default()
    }
}

pub async fn signups_are_held_settled_by_their_last_link_and_dropped_once(store: Arc<dyn Store>) {
    let (held, soon, later) = (signup(100), signup(50), signup(60));
    let hold = |s: &SignupRow, links: Vec<MailLink>| ChangeSet {
        signups: vec![s.clone()],
        mail: vec![message(s.id, 1)],
        links,
        audit: vec![record("signup.hold", vec![format!("signup:{}", s.id)])],
        ..Default::default()
    };
    store
        .apply(hold(
            &held,
            vec![link(held.id, 1, 100), link(held.id, 2, 100)],
        ))
        .await
        .expect("hold");
    store
        .apply(hold(&soon, vec![link(soon.id, 3, 50)]))
        .await
        .expect("hold");
    store.apply(hold(&later, vec![])).await.expect("hold");
    assert_eq!(
        store.signup(held.id).await.expect("read"),
        Some(held.clone())
    );
    assert_eq!(store.signup(Uuid::now_v7()).await.expect("read"), None);
    assert_eq!(
        store.count_customers().await.expect("count"),
        0,
        "a sign-up is no customer"
    );

    // One of two links followed: the sign-up waits for the other.
    store.apply(follow(1, held.id, 10)).await.expect("first");
    assert!(store.signup(held.id).await.expect("read").is_some());
    assert_eq!(store.customer_mail(held.id).await.expect("mail").len(), 1);
    // A change that cannot spend its link settles nothing.
    assert!(matches!(
        store.apply(follow(1, held.id, 11)).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.signup(held.id).await.expect("read").is_some());
    store.apply(follow(2, held.id, 12)).await.expect("last");
    assert_eq!(store.signup(held.id).await.expect("read"), None);
    assert!(
        store.customer_mail(held.id).await.expect("mail").is_empty(),
        "its message goes with it"
    );
    assert_eq!(
        store
            .find_link(&[2; 32])
            .await
            .expect("find")
            .and_then(|l| l.used_at),
        Some(12),
        "a spent link still says so"
    );

    // Two links of one sign-up followed at once: whichever commits last settles it.
    for n in (10u8..50).step_by(2) {
        let both = signup(100);
        store
            .apply(hold(
                &both,
                vec![link(both.id, n, 100), link(both.id, n + 1, 100)],
            ))
            .await
            .expect("hold");
        let racing: Vec<_> = [n, n + 1]
            .into_iter()
            .map(|n| {
                let store = store.clone();
                let id = both.id;
                tokio::spawn(async move { store.apply(follow(n, id, 20)).await })
            })
            .collect();
        for r in racing {
            r.await.expect("task").expect("followed");
        }
        assert_eq!(store.signup(both.id).await.expect("read"), None);
    }

    assert!(
        store
            .expired_signups(49, 10)
            .await
            .expect("none yet")
            .is_empty()
    );
    assert_eq!(
        store.expired_signups(100, 10).await.expect("expired"),
        vec![soon.id, later.id],
        "soonest first, settled ones gone"
    );
    assert_eq!(
        store.expired_signups(100, 1).await.expect("limited"),
        vec![soon.id]
    );
    let ids = vec![soon.id, later.id];
    let dropping: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            let ids = ids.clone();
            tokio::spawn(async move { store.drop_signups(&ids).await })
        })
        .collect();
    let mut dropped = Vec::new();
    for d in dropping {
        dropped.extend(d.await.expect("task").expect("dropped"));
    }
    dropped.sort();
    assert_eq!(dropped, ids, "each dropped once");
    assert!(
        store
            .expired_signups(100, 10)
            .await
            .expect("after")
            .is_empty()
    );
    assert!(store.customer_mail(soon.id).await.expect("mail").is_empty());
    assert_eq!(
        store.find_link(&[3; 32]).await.expect("find"),
        None,
        "links of a dropped sign-up go with it"
    );
}
