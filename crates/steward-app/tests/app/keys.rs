//! Key rotation: a new key-encryption key version, the rewrap that moves every key onto it
//! (stopped half-way and resumed after a reopen), retirement of the old version from the
//! master key file, and versions marked compromised.

use std::path::Path;
use std::sync::Arc;

use steward_app::core::Role;
use steward_app::{AppError, AuditFilter, REWRAP_BATCH, Steward};
use steward_store::testing::fresh_postgres;
use uuid::Uuid;

use crate::support::*;

/// `n` customers made concurrently, as requests would.
async fn customers(app: &Arc<Steward>, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let mut set = tokio::task::JoinSet::new();
        for _ in chunk {
            let app = app.clone();
            set.spawn(async move {
                let agent = agent(&app);
                let email = format!("k{}@example.com", Uuid::now_v7().simple());
                app.customers()
                    .create(&agent, input(&email, "Kim"))
                    .await
                    .expect("create")
                    .id
            });
        }
        while let Some(id) = set.join_next().await {
            ids.push(id.expect("task"));
        }
    }
    ids
}

fn master_key_versions(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("keys/master.key"))
        .expect("master key file")
        .lines()
        .filter_map(|l| l.split_once(':').map(|(v, _)| v.to_string()))
        .collect()
}

fn keystore(dir: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(dir.join("keys/keystore.db")).expect("key store");
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .expect("busy timeout");
    conn
}

/// Keys (data keys and secrets) wrapped by each version, straight from the key store file.
fn wrapped_by(dir: &Path, version: u32) -> i64 {
    keystore(dir)
        .query_row(
            "SELECT (SELECT count(*) FROM data_keys WHERE kek_version = ?1)
                  + (SELECT count(*) FROM secrets WHERE kek_version = ?1)",
            [version],
            |r| r.get(0),
        )
        .expect("count")
}

async fn actions(app: &Steward, action: &str) -> Vec<String> {
    app.audit()
        .search(
            &actor(app, Role::Auditor),
            AuditFilter {
                action: Some(action.into()),
                limit: 1_000,
                ..Default::default()
            },
        )
        .await
        .expect("audit")
        .into_iter()
        .map(|e| e.record.detail.unwrap_or_default())
        .collect()
}

async fn rotation_stopped_half_way_resumes_after_reopen(pg: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = if pg {
        Some(fresh_postgres().await)
    } else {
        None
    };
    let url = db.as_ref().map(|d| d.url.clone());
    let app = Arc::new(open_at(dir.path(), url.clone()).await);
    let n = 2 * REWRAP_BATCH + 100;
    let ids = customers(&app, n).await;
    let admin = actor(&app, Role::Admin);
    let before = app.keys().status(&admin).await.expect("status");
    assert_eq!(before.current, 1);
    assert_eq!(before.versions[0].data_keys, n as u64);

    let v2 = app.keys().rotate(&admin).await.expect("rotate");
    assert_eq!(v2, 2);
    assert_eq!(master_key_versions(dir.path()), ["v1", "v2"]);
    // A key made now is wrapped by the new version at once.
    let fresh = customers(&app, 1).await[0];
    let fresh_version: u32 = keystore(dir.path())
        .query_row(
            "SELECT kek_version FROM data_keys WHERE customer_id = ?1",
            [fresh.as_bytes().as_slice()],
            |r| r.get(0),
        )
        .expect("fresh key");
    assert_eq!(fresh_version, 2);

    let first = app
        .keys()
        .rewrap(&admin, Some(1), |_| {})
        .await
        .expect("one batch");
    assert!(!first.finished);
    assert_eq!(first.data_keys, REWRAP_BATCH as u64);
    let left = wrapped_by(dir.path(), 1);
    assert!(left > 0, "the stopped rewrap left keys on version 1");
    drop(app);

    let app = Arc::new(open_at(dir.path(), url).await);
    let admin = actor(&app, Role::Admin);
    let mut seen = Vec::new();
    let done = app
        .keys()
        .rewrap(&admin, None, |moved| seen.push(moved))
        .await
        .expect("resume");
    assert!(done.finished);
    assert_eq!(done.retired, [1]);
    assert_eq!(done.data_keys + done.secrets, left as u64);
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "progress only grows");
    assert_eq!(wrapped_by(dir.path(), 1), 0);
    assert_eq!(
        master_key_versions(dir.path()),
        ["v2"],
        "the retired version's line is gone"
    );
    let status = app.keys().status(&admin).await.expect("status");
    let v1 = &status.versions[0];
    assert!(v1.retired_at.is_some() && v1.data_keys == 0 && v1.secrets == 0);
    assert_eq!(status.pending_rewrap, 0);

    let agent = agent(&app);
    for id in ids.iter().chain([&fresh]) {
        app.customers().get(&agent, *id).await.expect("still reads");
    }
    drop(app);
    // The installation secrets moved too: it opens with only the new version in the file.
    let app = open_at(dir.path(), db.as_ref().map(|d| d.url.clone())).await;
    app.customers()
        .get(&agent, ids[0])
        .await
        .expect("reads after reopening");
    assert_eq!(actions(&app, "keys.rotated").await.len(), 1);
    assert_eq!(
        actions(&app, "keys.rewrapped").await.len(),
        n.div_ceil(REWRAP_BATCH)
    );
    assert_eq!(actions(&app, "keys.retired").await.len(), 1);
}

#[tokio::test]
async fn rotation_stopped_half_way_resumes_after_reopen_sqlite() {
    rotation_stopped_half_way_resumes_after_reopen(false).await;
}

#[tokio::test]
async fn rotation_stopped_half_way_resumes_after_reopen_postgres() {
    rotation_stopped_half_way_resumes_after_reopen(true).await;
}

/// A key wrapped by the old version and written behind the rewrap's walk (a request that
/// wrapped it just before the rotation) is moved by a later walk before the version is
/// retired, never left unreadable.
#[tokio::test]
async fn a_key_written_behind_the_walk_is_moved_before_retirement() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = Arc::new(open_at(dir.path(), None).await);
    let mut ids = customers(&app, REWRAP_BATCH + 10).await;
    ids.sort();
    let late = ids[0];
    let row: (u32, Vec<u8>) = keystore(dir.path())
        .query_row(
            "SELECT kek_version, wrapped FROM data_keys WHERE customer_id = ?1",
            [late.as_bytes().as_slice()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("key");
    assert_eq!(row.0, 1);
    keystore(dir.path())
        .execute(
            "DELETE FROM data_keys WHERE customer_id = ?1",
            [late.as_bytes().as_slice()],
        )
        .expect("held back");
    let admin = actor(&app, Role::Admin);
    app.keys().rotate(&admin).await.expect("rotate");
    let mut written = false;
    let done = app
        .keys()
        .rewrap(&admin, None, |_| {
            if !written {
                // The walk is past the first customer: the held-back key arrives now.
                keystore(dir.path())
                    .execute(
                        "INSERT INTO data_keys (customer_id, kek_version, wrapped) VALUES (?1, ?2, ?3)",
                        rusqlite::params![late.as_bytes().as_slice(), row.0, row.1],
                    )
                    .expect("late key");
                written = true;
            }
        })
        .await
        .expect("rewrap");
    assert!(written && done.finished);
    assert_eq!(done.retired, [1]);
    assert_eq!(wrapped_by(dir.path(), 1), 0);
    app.customers()
        .get(&agent(&app), late)
        .await
        .expect("the late key was moved, not lost");
    // Once retired, a key wrapped by the old version is refused rather than written unreadable.
    let store = steward_store::KeyStore::open(&dir.path().join("keys/keystore.db")).expect("open");
    let refused = store
        .put_data_keys(&[(
            Uuid::now_v7(),
            steward_store::StoredKey {
                kek_version: 1,
                bytes: row.1.clone(),
            },
        )])
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn a_compromised_current_version_is_rotated_away_and_audited() {
    let (dir, app) = app().await;
    let app = Arc::new(app);
    let ids = customers(&app, 3).await;
    let admin = actor(&app, Role::Admin);
    assert!(
        app.keys()
            .compromised_versions()
            .await
            .expect("none")
            .is_empty()
    );

    for (role, version, reason) in [
        (Role::Agent, 1, "laptop stolen"),
        (Role::Dpo, 1, "laptop stolen"),
    ] {
        assert!(matches!(
            app.keys()
                .mark_compromised(&actor(&app, role), version, reason)
                .await,
            Err(AppError::Forbidden(_))
        ));
    }
    match app.keys().mark_compromised(&admin, 1, "  ").await {
        Err(AppError::Invalid(errors)) => assert_eq!(errors[0].field, "reason"),
        other => panic!("expected 422 on reason, got {other:?}"),
    }
    assert!(matches!(
        app.keys().mark_compromised(&admin, 99, "no such").await,
        Err(AppError::NotFound)
    ));

    let status = app
        .keys()
        .mark_compromised(&admin, 1, "backup tape with the master key lost")
        .await
        .expect("marked");
    assert_eq!(
        status.current, 2,
        "a compromised current version is replaced"
    );
    let compromised = app.keys().compromised_versions().await.expect("listed");
    assert_eq!(compromised.len(), 1);
    assert_eq!(compromised[0].version, 1);
    assert_eq!(compromised[0].compromised_at, app.now());
    assert_eq!(
        compromised[0].reason,
        "backup tape with the master key lost"
    );
    let marked = actions(&app, "keys.compromised").await;
    assert_eq!(marked.len(), 1);
    assert!(marked[0].contains("backup tape"));
    assert_eq!(actions(&app, "keys.rotated").await.len(), 1);

    // Marking an old version compromised leaves the current one alone.
    let again = app
        .keys()
        .mark_compromised(&admin, 1, "second look")
        .await
        .expect("marked again");
    assert_eq!(again.current, 2);
    assert_eq!(
        app.keys().compromised_versions().await.expect("listed")[0].reason,
        "backup tape with the master key lost",
        "the first marking stands"
    );

    let done = app
        .keys()
        .rewrap(&admin, None, |_| {})
        .await
        .expect("rewrap");
    assert!(done.finished);
    assert_eq!(master_key_versions(dir.path()), ["v2"]);
    for id in ids {
        app.customers().get(&agent(&app), id).await.expect("reads");
    }
    let status = app.keys().status(&admin).await.expect("status");
    assert!(status.versions[0].compromised_at.is_some());
    assert!(status.versions[0].retired_at.is_some());
}
