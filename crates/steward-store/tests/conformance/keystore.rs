//! The key store, on its SQLite file and on a PostgreSQL database of its own: one suite for
//! both, and what only the shared one does (locks and notices seen by other instances).

use std::time::Duration;

use steward_core::audit::SignedHead;
use steward_store::testing::{TestDatabase, fresh_postgres};
use steward_store::{Heard, KeyStore, Rewrapped, StoredKey};
use uuid::Uuid;

fn key(version: u32, byte: u8) -> StoredKey {
    StoredKey {
        kek_version: version,
        bytes: vec![byte; 60],
    }
}

async fn suite(ks: &KeyStore) {
    let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    ks.record_kek_version(1, 10).await.expect("record v1");
    ks.put_data_keys(&[(a, key(1, 1)), (b, key(1, 2))])
        .await
        .expect("put");
    assert_eq!(ks.data_key(a).await.expect("get"), Some(key(1, 1)));
    let many = ks.data_keys(&[a, b, c]).await.expect("many");
    assert_eq!(many.len(), 2);
    assert_eq!(many[&b], key(1, 2));
    assert!(
        ks.put_data_keys(&[(a, key(1, 9))]).await.is_err(),
        "a second key for one customer is refused"
    );

    // Pending batches: settled ones are forgotten, discarded ones take their orphans along.
    let (batch, orphan) = (Uuid::now_v7(), Uuid::now_v7());
    ks.put_pending_data_keys(batch, "job-1", &[(c, key(1, 3)), (orphan, key(1, 4))])
        .await
        .expect("pending");
    let pending = ks.pending_batches().await.expect("batches");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].customers, [c, orphan]);
    assert_eq!(pending[0].job, "job-1");
    assert_eq!(
        ks.discard_pending(batch, &[orphan]).await.expect("discard"),
        1
    );
    assert!(ks.pending_batches().await.expect("batches").is_empty());
    assert_eq!(ks.data_key(orphan).await.expect("get"), None);
    assert!(ks.data_key(c).await.expect("get").is_some());

    // Destroying counts what was there.
    assert_eq!(
        ks.destroy_data_keys(&[a, orphan]).await.expect("destroy"),
        1
    );
    assert!(!ks.destroy_data_key(a).await.expect("destroy again"));
    assert_eq!(ks.count_data_keys().await.expect("count"), 2);

    // Secrets: the first writer's stay.
    let first = vec![("s".to_string(), key(1, 5))];
    let second = vec![("s".to_string(), key(1, 6))];
    assert_eq!(ks.put_secrets_or_get(&first).await.expect("first"), first);
    assert_eq!(ks.put_secrets_or_get(&second).await.expect("second"), first);
    assert_eq!(ks.secret("s").await.expect("secret"), Some(key(1, 5)));

    // Rewrapping writes only over the version it read; retiring needs nothing left on it.
    ks.record_kek_version(2, 20).await.expect("record v2");
    assert!(!ks.retire_kek_version(1, 30).await.expect("retire in use"));
    let below = ks.data_keys_below(2, None, 10).await.expect("below");
    assert_eq!(below.len(), 2);
    let stale = Rewrapped {
        id: b,
        from: 7,
        key: key(2, 8),
    };
    assert_eq!(ks.replace_data_keys(&[stale]).await.expect("stale"), 0);
    let moved: Vec<_> = below
        .into_iter()
        .map(|(id, k)| Rewrapped {
            id,
            from: k.kek_version,
            key: key(2, 8),
        })
        .collect();
    assert_eq!(ks.replace_data_keys(&moved).await.expect("rewrap"), 2);
    let secrets: Vec<_> = ks
        .secrets_below(2)
        .await
        .expect("secrets below")
        .into_iter()
        .map(|(id, k)| Rewrapped {
            id,
            from: k.kek_version,
            key: key(2, 9),
        })
        .collect();
    assert_eq!(ks.replace_secrets(&secrets).await.expect("secrets"), 1);
    assert_eq!(ks.kek_usage().await.expect("usage")[&2].data_keys, 2);
    assert!(ks.retire_kek_version(1, 30).await.expect("retire"));
    assert!(
        ks.put_data_keys(&[(Uuid::now_v7(), key(1, 1))])
            .await
            .is_err(),
        "a key wrapped by a retired version is refused"
    );
    let compromised = ks
        .mark_kek_compromised(2, 40, "found in a paste")
        .await
        .expect("mark")
        .expect("recorded");
    assert_eq!(compromised.compromised_at, Some(40));
    let versions = ks.kek_versions().await.expect("versions");
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0].retired_at, Some(30));

    // The witnessed head only moves forward.
    let head = |seq| SignedHead {
        seq,
        head: [seq as u8; 32],
        at: seq * 10,
        signature: vec![1; 64],
    };
    ks.put_witnessed_head(&head(5)).await.expect("witness");
    ks.put_witnessed_head(&head(3)).await.expect("older");
    assert_eq!(
        ks.witnessed_head().await.expect("head").map(|h| h.seq),
        Some(5)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_key_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = KeyStore::open(&dir.path().join("keystore.db")).expect("open");
    assert!(!ks.is_shared());
    suite(&ks).await;
}

async fn shared() -> (TestDatabase, KeyStore) {
    let db = fresh_postgres().await;
    let ks = KeyStore::connect(&db.url).await.expect("connect");
    (db, ks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_key_store() {
    let (_db, ks) = shared().await;
    assert!(ks.is_shared());
    suite(&ks).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_lock_held_by_one_instance_is_seen_by_another() {
    let (db, first) = shared().await;
    let second = KeyStore::connect(&db.url).await.expect("second instance");
    let nowhere = std::path::Path::new("/nonexistent");
    let held = first
        .try_job_lock(nowhere, "import-1")
        .await
        .expect("lock")
        .expect("free at first");
    assert!(
        second
            .try_job_lock(nowhere, "import-1")
            .await
            .expect("lock")
            .is_none(),
        "another instance sees the run"
    );
    assert!(
        second
            .try_job_lock(nowhere, "import-2")
            .await
            .expect("lock")
            .is_some(),
        "other jobs are not held up"
    );
    drop(held);
    let mut taken = None;
    for _ in 0..100 {
        taken = second
            .try_job_lock(nowhere, "import-1")
            .await
            .expect("lock");
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(taken.is_some(), "the lock is let go with its holder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroyed_keys_are_announced_to_other_instances_once_committed() {
    let (db, first) = shared().await;
    let second = KeyStore::connect(&db.url).await.expect("second instance");
    let mut heard = second.listen().expect("shared");
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(5), heard.recv())
            .await
            .expect("heard in time")
            .expect("still listening")
    };
    assert!(matches!(next().await, Heard::Listening));
    let ids: Vec<Uuid> = (0..450).map(|_| Uuid::now_v7()).collect();
    let keys: Vec<_> = ids.iter().map(|id| (*id, key(1, 1))).collect();
    first.put_data_keys(&keys).await.expect("put");
    assert_eq!(first.destroy_data_keys(&ids).await.expect("destroy"), 450);
    let mut got = Vec::new();
    while got.len() < ids.len() {
        match next().await {
            Heard::Notified(payload) => got.extend(
                payload
                    .split(',')
                    .map(|id| Uuid::parse_str(id).expect("an id")),
            ),
            other => panic!("{other:?}"),
        }
    }
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_store_and_the_data_never_share_a_database() {
    let db = fresh_postgres().await;
    let store = steward_store::PostgresStore::connect(&db.url, 2, super::signer())
        .await
        .expect("data");
    drop(store);
    let refused = match KeyStore::connect(&db.url).await {
        Ok(_) => panic!("the data's database was taken as the key store"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("keystore_url"), "{refused}");
    let keys_db = fresh_postgres().await;
    drop(KeyStore::connect(&keys_db.url).await.expect("key store"));
    let refused =
        match steward_store::PostgresStore::connect(&keys_db.url, 2, super::signer()).await {
            Ok(_) => panic!("the key store's database was taken for the data"),
            Err(e) => e.to_string(),
        };
    assert!(refused.contains("database_url"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_key_store_is_named_without_its_password() {
    let refused = match KeyStore::connect("postgres://steward:hunter2@127.0.0.1:1/keys").await {
        Ok(_) => panic!("nothing listens there"),
        Err(e) => e.to_string(),
    };
    assert!(refused.contains("keystore_url"), "{refused}");
    assert!(!refused.contains("hunter2"), "{refused}");
}
