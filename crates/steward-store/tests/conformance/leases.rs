//! Leases on jobs: one holder at a time, taken over once expired, renewed only by the take
//! that holds it.

use super::*;

engines!(
    a_live_lease_is_refused_to_another_holder_until_it_expires,
    every_take_grows_the_fence,
    only_the_take_that_holds_a_lease_renews_or_releases_it,
);

pub async fn a_live_lease_is_refused_to_another_holder_until_it_expires(store: Arc<dyn Store>) {
    let first = store
        .take_lease("sweep", "a", 100, 200)
        .await
        .expect("take")
        .expect("a free lease is taken");
    assert_eq!(
        store
            .take_lease("sweep", "b", 150, 250)
            .await
            .expect("take"),
        None,
        "live"
    );
    assert_eq!(
        store
            .take_lease("sweep", "b", 199, 300)
            .await
            .expect("take"),
        None,
        "live until its end"
    );
    let second = store
        .take_lease("sweep", "b", 200, 300)
        .await
        .expect("take")
        .expect("expired at its end");
    assert!(second > first, "{second} after {first}");
    assert_eq!(
        store
            .take_lease("sweep", "a", 250, 350)
            .await
            .expect("take"),
        None,
        "now b's"
    );
    // Another job's lease is its own.
    assert!(
        store
            .take_lease("recompute", "a", 250, 350)
            .await
            .expect("take")
            .is_some()
    );
}

pub async fn every_take_grows_the_fence(store: Arc<dyn Store>) {
    let mut fences = Vec::new();
    for (n, holder) in ["a", "a", "b", "a"].into_iter().enumerate() {
        let at = 100 * n as i64;
        // Each take comes after the last one ended, or from its own holder.
        fences.push(
            store
                .take_lease("expiry", holder, at + 100, at + 200)
                .await
                .expect("take")
                .expect("taken"),
        );
    }
    assert!(fences.windows(2).all(|w| w[0] < w[1]), "{fences:?}");
}

pub async fn only_the_take_that_holds_a_lease_renews_or_releases_it(store: Arc<dyn Store>) {
    let fence = store
        .take_lease("rewrap", "a", 100, 200)
        .await
        .expect("take")
        .expect("taken");
    assert!(
        !store
            .renew_lease("rewrap", "b", fence, 900)
            .await
            .expect("renew"),
        "another holder"
    );
    assert!(
        !store
            .renew_lease("rewrap", "a", fence + 1, 900)
            .await
            .expect("renew"),
        "another fence"
    );
    assert!(
        store
            .renew_lease("rewrap", "a", fence, 400)
            .await
            .expect("renew")
    );
    assert_eq!(
        store
            .take_lease("rewrap", "b", 300, 500)
            .await
            .expect("take"),
        None,
        "renewed past its first end"
    );
    // Once taken over, the stalled holder can neither renew nor release it.
    let theirs = store
        .take_lease("rewrap", "b", 400, 500)
        .await
        .expect("take")
        .expect("expired");
    assert!(
        !store
            .renew_lease("rewrap", "a", fence, 900)
            .await
            .expect("renew")
    );
    assert!(
        !store
            .release_lease("rewrap", "a", fence)
            .await
            .expect("release")
    );
    assert_eq!(
        store
            .take_lease("rewrap", "a", 450, 900)
            .await
            .expect("take"),
        None,
        "still b's"
    );
    // Released, it is free at once.
    assert!(
        store
            .release_lease("rewrap", "b", theirs)
            .await
            .expect("release")
    );
    assert!(
        store
            .take_lease("rewrap", "a", 450, 900)
            .await
            .expect("take")
            .is_some()
    );
}
