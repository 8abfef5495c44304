//! The key store: a SQLite file of its own, apart from the customer data, holding only
//! wrapped keys. Deleting a customer's row here is crypto-shredding, so the file runs with
//! `secure_delete` (freed pages are zeroed), and every destruction is followed by a
//! truncating checkpoint so that no old copy of the key survives in the write-ahead log.
//!
//! The key store cannot share a commit with the data database, and a new customer's key is
//! written first (a row without its key could never be read). A bulk writer therefore writes
//! its keys as a pending batch, settled once its rows are committed; a batch left pending by
//! a writer that died is swept: the keys of customers whose rows never came are destroyed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};
use steward_core::audit::SignedHead;
use uuid::Uuid;

use crate::{Result, StoreError};

#[derive(Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub kek_version: u32,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoredKey(kek v{})", self.kek_version)
    }
}

/// New customers' keys written by one batch whose rows may not be committed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingBatch {
    pub batch: Uuid,
    /// Which job wrote it (an import's file fingerprint), to tell whether it still runs.
    pub job: String,
    pub customers: Vec<Uuid>,
}

/// A key-encryption key version as the key store records it; times in microseconds since
/// the epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KekVersionRow {
    pub version: u32,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub compromised_at: Option<i64>,
    pub compromised_reason: Option<String>,
}

/// How many data keys and installation secrets one version wraps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KekUsage {
    pub data_keys: u64,
    pub secrets: u64,
}

/// A key rewrapped by a newer version, written only if the row still holds `from`.
#[derive(Debug, Clone)]
pub struct Rewrapped<K> {
    pub id: K,
    pub from: u32,
    pub key: StoredKey,
}

pub struct KeyStore {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS data_keys (
    customer_id BLOB PRIMARY KEY,
    kek_version INTEGER NOT NULL,
    wrapped     BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending_keys (
    batch       BLOB PRIMARY KEY,
    job         TEXT NOT NULL,
    customers   BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS secrets (
    name        TEXT PRIMARY KEY,
    kek_version INTEGER NOT NULL,
    wrapped     BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kek_versions (
    version            INTEGER PRIMARY KEY,
    created_at         INTEGER NOT NULL,
    retired_at         INTEGER,
    compromised_at     INTEGER,
    compromised_reason TEXT
);
CREATE TABLE IF NOT EXISTS audit_witness (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seq         INTEGER NOT NULL,
    head        BLOB NOT NULL,
    at          INTEGER NOT NULL,
    signature   BLOB NOT NULL
);
";

/// Refuses keys wrapped by a retired version: its key-encryption key is gone from the master
/// key file, so such a key could never be unwrapped again.
fn refuse_retired(conn: &Connection, versions: impl IntoIterator<Item = u32>) -> Result<()> {
    let mut seen: Vec<u32> = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM kek_versions WHERE version = ?1 AND retired_at IS NOT NULL",
    )?;
    for v in versions {
        if seen.contains(&v) {
            continue;
        }
        seen.push(v);
        if stmt.exists([v])? {
            return Err(StoreError::Database(format!(
                "a key wrapped by retired key-encryption key version {v} was refused"
            )));
        }
    }
    Ok(())
}

impl KeyStore {
    /// Opens the key store, creating it readable by its owner only.
    pub fn open(path: &Path) -> Result<KeyStore> {
        crate::sqlite::create_private(path)?;
        let conn = crate::sqlite::open_stable(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA secure_delete = ON;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 10000;",
        )?;
        conn.execute_batch(SCHEMA)?;
        Ok(KeyStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores many data keys in one transaction.
    pub fn put_data_keys(&self, keys: &[(Uuid, StoredKey)]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        refuse_retired(&tx, keys.iter().map(|(_, k)| k.kek_version))?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO data_keys (customer_id, kek_version, wrapped) VALUES (?1, ?2, ?3)",
            )?;
            for (id, k) in keys {
                stmt.execute(params![id.as_bytes().as_slice(), k.kek_version, k.bytes])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Stores a batch's keys and, in the same transaction, marks them pending until
    /// [`KeyStore::settle`] says their customers' rows are committed.
    pub fn put_pending_data_keys(
        &self,
        batch: Uuid,
        job: &str,
        keys: &[(Uuid, StoredKey)],
    ) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        refuse_retired(&tx, keys.iter().map(|(_, k)| k.kek_version))?;
        {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO data_keys (customer_id, kek_version, wrapped) VALUES (?1, ?2, ?3)",
            )?;
            for (id, k) in keys {
                stmt.execute(params![id.as_bytes().as_slice(), k.kek_version, k.bytes])?;
            }
        }
        let customers: Vec<u8> = keys.iter().flat_map(|(id, _)| *id.as_bytes()).collect();
        tx.execute(
            "INSERT INTO pending_keys (batch, job, customers) VALUES (?1, ?2, ?3)",
            params![batch.as_bytes().as_slice(), job, customers],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The batch's rows are committed: its keys are no longer pending.
    pub fn settle(&self, batch: Uuid) -> Result<()> {
        self.conn().execute(
            "DELETE FROM pending_keys WHERE batch = ?1",
            [batch.as_bytes().as_slice()],
        )?;
        Ok(())
    }

    pub fn pending_batches(&self) -> Result<Vec<PendingBatch>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT batch, job, customers FROM pending_keys")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (batch, job, customers) = row?;
            let id = |bytes: &[u8]| {
                Uuid::from_slice(bytes)
                    .map_err(|_| StoreError::Database("a pending key batch is malformed".into()))
            };
            out.push(PendingBatch {
                batch: id(&batch)?,
                job,
                customers: customers.chunks(16).map(id).collect::<Result<Vec<_>>>()?,
            });
        }
        Ok(out)
    }

    /// Ends a pending batch whose writer is gone: destroys the keys of `orphans` (its
    /// customers whose rows never came) and forgets the batch, in one transaction.
    pub fn discard_pending(&self, batch: Uuid, orphans: &[Uuid]) -> Result<usize> {
        self.destroy(orphans, Some(batch))
    }

    pub fn data_key(&self, id: Uuid) -> Result<Option<StoredKey>> {
        let conn = self.conn();
        let row = conn
            .prepare_cached("SELECT kek_version, wrapped FROM data_keys WHERE customer_id = ?1")?
            .query_row([id.as_bytes().as_slice()], |r| {
                Ok(StoredKey {
                    kek_version: r.get(0)?,
                    bytes: r.get(1)?,
                })
            })
            .optional()?;
        Ok(row)
    }

    pub fn data_keys(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, StoredKey>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT kek_version, wrapped FROM data_keys WHERE customer_id = ?1")?;
        let mut out = HashMap::with_capacity(ids.len());
        for id in ids {
            if let Some(k) = stmt
                .query_row([id.as_bytes().as_slice()], |r| {
                    Ok(StoredKey {
                        kek_version: r.get(0)?,
                        bytes: r.get(1)?,
                    })
                })
                .optional()?
            {
                out.insert(*id, k);
            }
        }
        Ok(out)
    }

    /// Destroys a customer's data key. Returns whether there was one.
    pub fn destroy_data_key(&self, id: Uuid) -> Result<bool> {
        Ok(self.destroy_data_keys(&[id])? > 0)
    }

    /// Destroys several customers' data keys in one transaction and one log checkpoint;
    /// returns how many there were.
    pub fn destroy_data_keys(&self, ids: &[Uuid]) -> Result<usize> {
        self.destroy(ids, None)
    }

    fn destroy(&self, ids: &[Uuid], pending: Option<Uuid>) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut n = 0;
        {
            let mut delete = tx.prepare_cached("DELETE FROM data_keys WHERE customer_id = ?1")?;
            for id in ids {
                n += delete.execute([id.as_bytes().as_slice()])?;
            }
        }
        if let Some(batch) = pending {
            tx.execute(
                "DELETE FROM pending_keys WHERE batch = ?1",
                [batch.as_bytes().as_slice()],
            )?;
        }
        tx.commit()?;
        // Copies the zeroed pages into the database file and empties the log that still
        // holds them as they were.
        let (busy, _, _): (i64, i64, i64) =
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?;
        if busy != 0 {
            return Err(StoreError::Database(
                "the key store's log could not be emptied; erasure is not complete".into(),
            ));
        }
        Ok(n)
    }

    pub fn count_data_keys(&self) -> Result<u64> {
        let conn = self.conn();
        Ok(conn.query_row("SELECT count(*) FROM data_keys", [], |r| r.get::<_, i64>(0))? as u64)
    }

    pub fn secret(&self, name: &str) -> Result<Option<StoredKey>> {
        let conn = self.conn();
        let row = conn
            .prepare_cached("SELECT kek_version, wrapped FROM secrets WHERE name = ?1")?
            .query_row([name], |r| {
                Ok(StoredKey {
                    kek_version: r.get(0)?,
                    bytes: r.get(1)?,
                })
            })
            .optional()?;
        Ok(row)
    }

    pub fn put_secret(&self, name: &str, key: &StoredKey) -> Result<()> {
        let conn = self.conn();
        refuse_retired(&conn, [key.kek_version])?;
        conn.execute(
            "INSERT INTO secrets (name, kek_version, wrapped) VALUES (?1, ?2, ?3)",
            params![name, key.kek_version, key.bytes],
        )?;
        Ok(())
    }

    /// Records a key-encryption key version the first time it is seen.
    pub fn record_kek_version(&self, version: u32, at: i64) -> Result<()> {
        self.conn()
            .prepare_cached(
                "INSERT INTO kek_versions (version, created_at) VALUES (?1, ?2)
                 ON CONFLICT (version) DO NOTHING",
            )?
            .execute(params![version, at])?;
        Ok(())
    }

    /// Every version ever recorded, oldest first.
    pub fn kek_versions(&self) -> Result<Vec<KekVersionRow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT version, created_at, retired_at, compromised_at, compromised_reason
             FROM kek_versions ORDER BY version",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(KekVersionRow {
                version: r.get(0)?,
                created_at: r.get(1)?,
                retired_at: r.get(2)?,
                compromised_at: r.get(3)?,
                compromised_reason: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// How many data keys and secrets each version wraps.
    pub fn kek_usage(&self) -> Result<HashMap<u32, KekUsage>> {
        let conn = self.conn();
        let mut out: HashMap<u32, KekUsage> = HashMap::new();
        for (table, secrets) in [("data_keys", false), ("secrets", true)] {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT kek_version, count(*) FROM {table} GROUP BY kek_version"
            ))?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (v, n) = row?;
                let usage = out.entry(v).or_default();
                if secrets {
                    usage.secrets = n as u64;
                } else {
                    usage.data_keys = n as u64;
                }
            }
        }
        Ok(out)
    }

    /// Up to `limit` data keys wrapped by a version below `below`, in customer order after
    /// `after`: a walk over the primary key that a stopped rewrap simply starts again.
    pub fn data_keys_below(
        &self,
        below: u32,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<(Uuid, StoredKey)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT customer_id, kek_version, wrapped FROM data_keys
             WHERE customer_id > ?1 AND kek_version < ?2 ORDER BY customer_id LIMIT ?3",
        )?;
        let start = after.map(|u| u.as_bytes().to_vec()).unwrap_or_default();
        let rows = stmt.query_map(params![start, below, limit as i64], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                StoredKey {
                    kek_version: r.get(1)?,
                    bytes: r.get(2)?,
                },
            ))
        })?;
        let mut out = Vec::with_capacity(limit);
        for row in rows {
            let (id, key) = row?;
            let id = Uuid::from_slice(&id).map_err(|_| {
                StoreError::Database("a data key's customer id is malformed".into())
            })?;
            out.push((id, key));
        }
        Ok(out)
    }

    /// Writes rewrapped data keys in one transaction, each only where the row still holds
    /// the version it was read with (a key destroyed or rewrapped meanwhile stays as it is);
    /// returns how many were written.
    pub fn replace_data_keys(&self, keys: &[Rewrapped<Uuid>]) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        refuse_retired(&tx, keys.iter().map(|k| k.key.kek_version))?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE data_keys SET kek_version = ?1, wrapped = ?2
                 WHERE customer_id = ?3 AND kek_version = ?4",
            )?;
            for k in keys {
                n += stmt.execute(params![
                    k.key.kek_version,
                    k.key.bytes,
                    k.id.as_bytes().as_slice(),
                    k.from
                ])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// The installation secrets wrapped by a version below `below`.
    pub fn secrets_below(&self, below: u32) -> Result<Vec<(String, StoredKey)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT name, kek_version, wrapped FROM secrets WHERE kek_version < ?1 ORDER BY name",
        )?;
        let rows = stmt.query_map([below], |r| {
            Ok((
                r.get::<_, String>(0)?,
                StoredKey {
                    kek_version: r.get(1)?,
                    bytes: r.get(2)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Writes rewrapped secrets like [`KeyStore::replace_data_keys`].
    pub fn replace_secrets(&self, keys: &[Rewrapped<String>]) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        refuse_retired(&tx, keys.iter().map(|k| k.key.kek_version))?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE secrets SET kek_version = ?1, wrapped = ?2 WHERE name = ?3 AND kek_version = ?4",
            )?;
            for k in keys {
                n += stmt.execute(params![k.key.kek_version, k.key.bytes, k.id, k.from])?;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// Marks a version retired if no data key and no secret uses it, in one transaction with
    /// the count: from then on no key wrapped by it is accepted. Returns whether it is
    /// retired (now or before).
    pub fn retire_kek_version(&self, version: u32, at: i64) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let used: i64 = tx.query_row(
            "SELECT (SELECT count(*) FROM data_keys WHERE kek_version = ?1)
                  + (SELECT count(*) FROM secrets WHERE kek_version = ?1)",
            [version],
            |r| r.get(0),
        )?;
        if used > 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO kek_versions (version, created_at, retired_at) VALUES (?1, ?2, ?2)
             ON CONFLICT (version) DO UPDATE SET retired_at = coalesce(retired_at, ?2)",
            params![version, at],
        )?;
        tx.commit()?;
        // The old wrapped forms of rewrapped keys leave the log with it.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(true)
    }

    /// Marks a recorded version compromised; the first marking's time and reason stay.
    /// Returns the version as recorded, or `None` when it was never recorded.
    pub fn mark_kek_compromised(
        &self,
        version: u32,
        at: i64,
        reason: &str,
    ) -> Result<Option<KekVersionRow>> {
        self.conn()
            .prepare_cached(
                "UPDATE kek_versions SET compromised_at = ?2, compromised_reason = ?3
                 WHERE version = ?1 AND compromised_at IS NULL",
            )?
            .execute(params![version, at, reason])?;
        Ok(self
            .kek_versions()?
            .into_iter()
            .find(|v| v.version == version))
    }

    /// The newest audit head witnessed outside the data database.
    pub fn witnessed_head(&self) -> Result<Option<SignedHead>> {
        let conn = self.conn();
        let row: Option<(i64, Vec<u8>, i64, Vec<u8>)> = conn
            .prepare_cached("SELECT seq, head, at, signature FROM audit_witness WHERE id = 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        row.map(|(seq, head, at, signature)| {
            Ok(SignedHead {
                seq,
                head: crate::records::hash32(&head)?,
                at,
                signature,
            })
        })
        .transpose()
    }

    pub fn put_witnessed_head(&self, head: &SignedHead) -> Result<()> {
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT INTO audit_witness (id, seq, head, at, signature) VALUES (1, ?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET seq = ?1, head = ?2, at = ?3, signature = ?4
             WHERE ?1 > audit_witness.seq",
        )?
        .execute(params![head.seq, &head.head[..], head.at, head.signature])?;
        Ok(())
    }
}
