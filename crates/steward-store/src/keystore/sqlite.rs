//! The key store as a SQLite file of its own. The file runs with `secure_delete` (freed pages
//! are zeroed), and every destruction is followed by a truncating checkpoint so that no old
//! copy of the key survives in the write-ahead log.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::Connection;
use steward_core::audit::SignedHead;
use uuid::Uuid;

use super::{KekUsage, KekVersionRow, PendingBatch, Rewrapped, StoredKey};
use crate::sql::keystore as q;
use crate::sql::{Exec, args};
use crate::sqlite::exec::ready;
use crate::{Result, StoreError};

pub(super) struct SqliteKeys {
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

impl SqliteKeys {
    pub(super) fn open(path: &Path) -> Result<SqliteKeys> {
        crate::sqlite::create_private(path)?;
        let conn = crate::sqlite::open_stable(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA secure_delete = ON;
             PRAGMA synchronous = FULL;
             PRAGMA busy_timeout = 10000;",
        )?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteKeys {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes keys wrapped by `versions` in one transaction, none of them retired.
    fn write_wrapped<T>(
        &self,
        versions: &[u32],
        write: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        ready(q::refuse_retired(&tx, &q::IS_RETIRED, versions))?;
        let out = write(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    pub(super) fn put_data_keys(
        &self,
        keys: &[(Uuid, StoredKey)],
        pending: Option<(Uuid, &str)>,
    ) -> Result<()> {
        let versions: Vec<u32> = keys.iter().map(|(_, k)| k.kek_version).collect();
        self.write_wrapped(&versions, |tx| {
            let rows: Vec<_> = keys
                .iter()
                .map(|(id, k)| args![*id, i64::from(k.kek_version), &k.bytes])
                .collect();
            ready(async {
                tx.execute_each(&q::INSERT_DATA_KEY, &rows)
                    .await
                    .map_err(|(_, e)| e)
            })?;
            if let Some((batch, job)) = pending {
                let ids: Vec<Uuid> = keys.iter().map(|(id, _)| *id).collect();
                ready(q::insert_pending(tx, batch, job, &ids))?;
            }
            Ok(())
        })
    }

    pub(super) fn settle(&self, batch: Uuid) -> Result<()> {
        ready(q::settle(&*self.conn(), batch))
    }

    pub(super) fn pending_batches(&self) -> Result<Vec<PendingBatch>> {
        ready(q::pending_batches(&*self.conn()))
    }

    pub(super) fn data_key(&self, id: Uuid) -> Result<Option<StoredKey>> {
        ready(q::data_key(&*self.conn(), id))
    }

    pub(super) fn data_keys(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, StoredKey>> {
        let conn = self.conn();
        let mut out = HashMap::with_capacity(ids.len());
        for id in ids {
            if let Some(k) = ready(q::data_key(&*conn, *id))? {
                out.insert(*id, k);
            }
        }
        Ok(out)
    }

    pub(super) fn destroy(&self, ids: &[Uuid], pending: Option<Uuid>) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let mut n = 0;
        for id in ids {
            n += ready(tx.execute(&q::DELETE_DATA_KEY, &args![*id]))?;
        }
        if let Some(batch) = pending {
            ready(q::settle(&tx, batch))?;
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
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub(super) fn count_data_keys(&self) -> Result<u64> {
        ready(q::count_data_keys(&*self.conn()))
    }

    pub(super) fn secret(&self, name: &str) -> Result<Option<StoredKey>> {
        ready(q::secret(&*self.conn(), name))
    }

    pub(super) fn put_secrets_or_get(
        &self,
        secrets: &[(String, StoredKey)],
    ) -> Result<Vec<(String, StoredKey)>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        ready(q::refuse_retired(
            &tx,
            &q::IS_RETIRED,
            &secrets
                .iter()
                .map(|(_, k)| k.kek_version)
                .collect::<Vec<_>>(),
        ))?;
        let mut stored = Vec::with_capacity(secrets.len());
        for (name, key) in secrets {
            stored.push((name.clone(), ready(q::put_secret_or_get(&tx, name, key))?));
        }
        tx.commit()?;
        Ok(stored)
    }

    pub(super) fn record_kek_version(&self, version: u32, at: i64) -> Result<()> {
        ready(q::record_kek_version(&*self.conn(), version, at))
    }

    pub(super) fn kek_versions(&self) -> Result<Vec<KekVersionRow>> {
        ready(q::kek_versions(&*self.conn()))
    }

    pub(super) fn kek_usage(&self) -> Result<HashMap<u32, KekUsage>> {
        ready(q::kek_usage(&*self.conn()))
    }

    pub(super) fn data_keys_below(
        &self,
        below: u32,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<(Uuid, StoredKey)>> {
        ready(q::data_keys_below(&*self.conn(), below, after, limit))
    }

    pub(super) fn replace_data_keys(&self, keys: &[Rewrapped<Uuid>]) -> Result<usize> {
        let versions: Vec<u32> = keys.iter().map(|k| k.key.kek_version).collect();
        self.write_wrapped(&versions, |tx| ready(q::replace_data_keys(tx, keys)))
    }

    pub(super) fn secrets_below(&self, below: u32) -> Result<Vec<(String, StoredKey)>> {
        ready(q::secrets_below(&*self.conn(), below))
    }

    pub(super) fn replace_secrets(&self, keys: &[Rewrapped<String>]) -> Result<usize> {
        let versions: Vec<u32> = keys.iter().map(|k| k.key.kek_version).collect();
        self.write_wrapped(&versions, |tx| ready(q::replace_secrets(tx, keys)))
    }

    pub(super) fn retire_kek_version(&self, version: u32, at: i64) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if !ready(q::retire_kek_version(&tx, version, at))? {
            return Ok(false);
        }
        tx.commit()?;
        // The old wrapped forms of rewrapped keys leave the log with it.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(true)
    }

    pub(super) fn mark_kek_compromised(
        &self,
        version: u32,
        at: i64,
        reason: &str,
    ) -> Result<Option<KekVersionRow>> {
        ready(q::mark_kek_compromised(&*self.conn(), version, at, reason))
    }

    pub(super) fn witnessed_head(&self) -> Result<Option<SignedHead>> {
        ready(q::witnessed_head(&*self.conn()))
    }

    pub(super) fn put_witnessed_head(&self, head: &SignedHead) -> Result<()> {
        ready(q::put_witnessed_head(&*self.conn(), head))
    }
}

/// A run's lock as a file beside the key store: the system lets go of a file lock when its
/// process ends, however it ends.
pub(super) struct FileLock {
    path: PathBuf,
    _file: File,
}

impl FileLock {
    pub(super) fn try_take(dir: &Path, job: &str) -> Result<Option<FileLock>> {
        let path = super::lock_file(dir, job);
        let failed = |e: std::io::Error| StoreError::open(format!("locking {}", path.display()), e);
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(failed)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(e)) => return Err(failed(e)),
            }
            // The holder before removes the file as it lets go: a lock on a file no longer
            // at the path would be a lock nobody else sees, so take the new one instead.
            if same_file(&file, &path) {
                return Ok(Some(FileLock { path, _file: file }));
            }
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Removed while still locked, so no one can take the lock of a file that is going.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}
