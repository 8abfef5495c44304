//! The key store's statements, for its SQLite file and for its PostgreSQL database alike.
//! What only one engine does stays with it: SQLite's truncating checkpoint after a key is
//! destroyed, PostgreSQL's arrays for many keys at once and its notice to the other instances.

use std::collections::HashMap;

use steward_core::audit::SignedHead;
use uuid::Uuid;

use super::{Exec, Row, Sql, args};
use crate::keystore::{KekUsage, KekVersionRow, PendingBatch, Rewrapped, StoredKey};
use crate::{Result, StoreError};

pub(crate) static INSERT_DATA_KEY: Sql =
    Sql::new("INSERT INTO data_keys (customer_id, kek_version, wrapped) VALUES (?1, ?2, ?3)");
static INSERT_PENDING: Sql =
    Sql::new("INSERT INTO pending_keys (batch, job, customers) VALUES (?1, ?2, ?3)");
pub(crate) static DELETE_PENDING: Sql = Sql::new("DELETE FROM pending_keys WHERE batch = ?1");
static PENDING: Sql = Sql::new("SELECT batch, job, customers FROM pending_keys");
pub(crate) static DATA_KEY: Sql =
    Sql::new("SELECT kek_version, wrapped FROM data_keys WHERE customer_id = ?1");
pub(crate) static DELETE_DATA_KEY: Sql = Sql::new("DELETE FROM data_keys WHERE customer_id = ?1");
static COUNT_DATA_KEYS: Sql = Sql::new("SELECT count(*) FROM data_keys");
static SECRET: Sql = Sql::new("SELECT kek_version, wrapped FROM secrets WHERE name = ?1");
static INSERT_SECRET_IF_ABSENT: Sql = Sql::new(
    "INSERT INTO secrets (name, kek_version, wrapped) VALUES (?1, ?2, ?3)
     ON CONFLICT (name) DO NOTHING",
);
static RECORD_KEK_VERSION: Sql = Sql::new(
    "INSERT INTO kek_versions (version, created_at) VALUES (?1, ?2)
     ON CONFLICT (version) DO NOTHING",
);
static KEK_VERSIONS: Sql = Sql::new(
    "SELECT version, created_at, retired_at, compromised_at, compromised_reason
     FROM kek_versions ORDER BY version",
);
static DATA_KEY_USAGE: Sql =
    Sql::new("SELECT kek_version, count(*) FROM data_keys GROUP BY kek_version");
static SECRET_USAGE: Sql =
    Sql::new("SELECT kek_version, count(*) FROM secrets GROUP BY kek_version");
static DATA_KEYS_BELOW: Sql = Sql::new(
    "SELECT customer_id, kek_version, wrapped FROM data_keys
     WHERE customer_id > ?1 AND kek_version < ?2
     ORDER BY customer_id LIMIT ?3",
);
static REPLACE_DATA_KEY: Sql = Sql::new(
    "UPDATE data_keys SET kek_version = ?1, wrapped = ?2
     WHERE customer_id = ?3 AND kek_version = ?4",
);
static SECRETS_BELOW: Sql =
    Sql::new("SELECT name, kek_version, wrapped FROM secrets WHERE kek_version < ?1 ORDER BY name");
static REPLACE_SECRET: Sql = Sql::new(
    "UPDATE secrets SET kek_version = ?1, wrapped = ?2 WHERE name = ?3 AND kek_version = ?4",
);
/// Taken before a retirement counts what still uses the version, so that on PostgreSQL a
/// key being written with it at that moment is either counted or refused.
static LOCK_KEK_VERSION: Sql =
    Sql::for_update("SELECT version FROM kek_versions WHERE version = ?1");
static VERSION_USE: Sql = Sql::new(
    "SELECT (SELECT count(*) FROM data_keys WHERE kek_version = ?1)
          + (SELECT count(*) FROM secrets WHERE kek_version = ?1)",
);
static RETIRE: Sql = Sql::new(
    "INSERT INTO kek_versions (version, created_at, retired_at) VALUES (?1, ?2, ?2)
     ON CONFLICT (version) DO UPDATE SET retired_at = coalesce(kek_versions.retired_at, ?2)",
);
static MARK_COMPROMISED: Sql = Sql::new(
    "UPDATE kek_versions SET compromised_at = ?2, compromised_reason = ?3
     WHERE version = ?1 AND compromised_at IS NULL",
);
static WITNESSED_HEAD: Sql =
    Sql::new("SELECT seq, head, at, signature FROM audit_witness WHERE id = 1");
static PUT_WITNESSED_HEAD: Sql = Sql::new(
    "INSERT INTO audit_witness (id, seq, head, at, signature) VALUES (1, ?1, ?2, ?3, ?4)
     ON CONFLICT (id) DO UPDATE SET seq = ?1, head = ?2, at = ?3, signature = ?4
     WHERE ?1 > audit_witness.seq",
);

fn version(r: &dyn Row, i: usize) -> Result<u32> {
    u32::try_from(r.int(i)?)
        .map_err(|_| StoreError::Corrupt("a key-encryption key version is out of range".into()))
}

pub(crate) fn stored_key(r: &dyn Row, first: usize) -> Result<StoredKey> {
    Ok(StoredKey {
        kek_version: version(r, first)?,
        bytes: r.bytes(first + 1)?,
    })
}

pub(crate) static IS_RETIRED: Sql =
    Sql::new("SELECT retired_at IS NOT NULL FROM kek_versions WHERE version = ?1");

/// Refuses keys wrapped by a retired version: its key-encryption key is gone, so such a key
/// could never be unwrapped again. `is_retired` is [`IS_RETIRED`] or, on PostgreSQL, a form
/// that locks the version's row against a retirement until the writer's transaction ends.
pub(crate) async fn refuse_retired(
    e: &impl Exec,
    is_retired: &Sql,
    versions: &[u32],
) -> Result<()> {
    let mut seen: Vec<u32> = Vec::new();
    for &v in versions {
        if seen.contains(&v) {
            continue;
        }
        seen.push(v);
        let retired = e
            .query_opt(is_retired, &args![i64::from(v)], |r| r.bool(0))
            .await?;
        if retired == Some(true) {
            return Err(StoreError::Database(format!(
                "a key wrapped by retired key-encryption key version {v} was refused"
            )));
        }
    }
    Ok(())
}

pub(crate) async fn insert_pending(
    e: &impl Exec,
    batch: Uuid,
    job: &str,
    customers: &[Uuid],
) -> Result<()> {
    let ids: Vec<u8> = customers.iter().flat_map(|id| *id.as_bytes()).collect();
    e.execute(&INSERT_PENDING, &args![batch, job, &ids]).await?;
    Ok(())
}

pub(crate) async fn settle(e: &impl Exec, batch: Uuid) -> Result<()> {
    e.execute(&DELETE_PENDING, &args![batch]).await?;
    Ok(())
}

pub(crate) async fn pending_batches(e: &impl Exec) -> Result<Vec<PendingBatch>> {
    e.query(&PENDING, &[], |r| {
        let malformed = |_| StoreError::Corrupt("a pending key batch is malformed".into());
        Ok(PendingBatch {
            batch: r.id(0)?,
            job: r.text(1)?,
            customers: r
                .blob(2)?
                .chunks(16)
                .map(|c| Uuid::from_slice(c).map_err(malformed))
                .collect::<Result<Vec<_>>>()?,
        })
    })
    .await
}

pub(crate) async fn data_key(e: &impl Exec, id: Uuid) -> Result<Option<StoredKey>> {
    e.query_opt(&DATA_KEY, &args![id], |r| stored_key(r, 0))
        .await
}

pub(crate) async fn count_data_keys(e: &impl Exec) -> Result<u64> {
    let n = e
        .query_opt(&COUNT_DATA_KEYS, &[], |r| r.int(0))
        .await?
        .unwrap_or(0);
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) async fn secret(e: &impl Exec, name: &str) -> Result<Option<StoredKey>> {
    e.query_opt(&SECRET, &args![name], |r| stored_key(r, 0))
        .await
}

/// Stores `key` under `name` unless a secret of that name is already there; returns the one
/// that is stored, so that instances starting together agree on the first writer's.
pub(crate) async fn put_secret_or_get(
    e: &impl Exec,
    name: &str,
    key: &StoredKey,
) -> Result<StoredKey> {
    e.execute(
        &INSERT_SECRET_IF_ABSENT,
        &args![name, i64::from(key.kek_version), &key.bytes],
    )
    .await?;
    secret(e, name)
        .await?
        .ok_or_else(|| StoreError::Database(format!("the secret {name} was not stored")))
}

pub(crate) async fn record_kek_version(e: &impl Exec, version: u32, at: i64) -> Result<()> {
    e.execute(&RECORD_KEK_VERSION, &args![i64::from(version), at])
        .await?;
    Ok(())
}

pub(crate) async fn kek_versions(e: &impl Exec) -> Result<Vec<KekVersionRow>> {
    e.query(&KEK_VERSIONS, &[], |r| {
        Ok(KekVersionRow {
            version: version(r, 0)?,
            created_at: r.int(1)?,
            retired_at: r.opt_int(2)?,
            compromised_at: r.opt_int(3)?,
            compromised_reason: r.opt_text(4)?,
        })
    })
    .await
}

pub(crate) async fn kek_usage(e: &impl Exec) -> Result<HashMap<u32, KekUsage>> {
    let mut out: HashMap<u32, KekUsage> = HashMap::new();
    let count = |r: &dyn Row| Ok((version(r, 0)?, u64::try_from(r.int(1)?).unwrap_or(0)));
    for (v, n) in e.query(&DATA_KEY_USAGE, &[], count).await? {
        out.entry(v).or_default().data_keys = n;
    }
    for (v, n) in e.query(&SECRET_USAGE, &[], count).await? {
        out.entry(v).or_default().secrets = n;
    }
    Ok(out)
}

pub(crate) async fn data_keys_below(
    e: &impl Exec,
    below: u32,
    after: Option<Uuid>,
    limit: usize,
) -> Result<Vec<(Uuid, StoredKey)>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    e.query(
        &DATA_KEYS_BELOW,
        // No customer has the nil id, so the walk starts before every key.
        &args![after.unwrap_or(Uuid::nil()), i64::from(below), limit],
        |r| Ok((r.id(0)?, stored_key(r, 1)?)),
    )
    .await
}

/// Writes each rewrapped key only where its row still holds the version it was read with.
pub(crate) async fn replace_data_keys(e: &impl Exec, keys: &[Rewrapped<Uuid>]) -> Result<usize> {
    let mut n = 0;
    for k in keys {
        n += e
            .execute(
                &REPLACE_DATA_KEY,
                &args![
                    i64::from(k.key.kek_version),
                    &k.key.bytes,
                    k.id,
                    i64::from(k.from)
                ],
            )
            .await?;
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

pub(crate) async fn secrets_below(e: &impl Exec, below: u32) -> Result<Vec<(String, StoredKey)>> {
    e.query(&SECRETS_BELOW, &args![i64::from(below)], |r| {
        Ok((r.text(0)?, stored_key(r, 1)?))
    })
    .await
}

pub(crate) async fn replace_secrets(e: &impl Exec, keys: &[Rewrapped<String>]) -> Result<usize> {
    let mut n = 0;
    for k in keys {
        n += e
            .execute(
                &REPLACE_SECRET,
                &args![
                    i64::from(k.key.kek_version),
                    &k.key.bytes,
                    &k.id,
                    i64::from(k.from)
                ],
            )
            .await?;
    }
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Marks `version` retired if nothing uses it; the caller commits. Returns whether it is.
pub(crate) async fn retire_kek_version(e: &impl Exec, version: u32, at: i64) -> Result<bool> {
    let v = i64::from(version);
    e.query(&LOCK_KEK_VERSION, &args![v], |_| Ok(())).await?;
    let used = e
        .query_opt(&VERSION_USE, &args![v], |r| r.int(0))
        .await?
        .unwrap_or(0);
    if used > 0 {
        return Ok(false);
    }
    e.execute(&RETIRE, &args![v, at]).await?;
    Ok(true)
}

pub(crate) async fn mark_kek_compromised(
    e: &impl Exec,
    version: u32,
    at: i64,
    reason: &str,
) -> Result<Option<KekVersionRow>> {
    e.execute(&MARK_COMPROMISED, &args![i64::from(version), at, reason])
        .await?;
    Ok(kek_versions(e)
        .await?
        .into_iter()
        .find(|v| v.version == version))
}

pub(crate) async fn witnessed_head(e: &impl Exec) -> Result<Option<SignedHead>> {
    e.query_opt(&WITNESSED_HEAD, &[], super::audit_log::head_row)
        .await
}

pub(crate) async fn put_witnessed_head(e: &impl Exec, head: &SignedHead) -> Result<()> {
    e.execute(
        &PUT_WITNESSED_HEAD,
        &args![head.seq, &head.head, head.at, &head.signature],
    )
    .await?;
    Ok(())
}
