//! The key store, apart from the customer data, holding only wrapped keys: customers' data
//! keys, the installation's secrets, the key-encryption key versions and the audit head it
//! witnesses. Deleting a customer's key here is crypto-shredding.
//!
//! It is a SQLite file of its own in the data directory, or, for several instances, a
//! PostgreSQL database of its own (`keystore_url`) that every instance shares.
//!
//! The key store cannot share a commit with the data database, and a new customer's key is
//! written first (a row without its key could never be read). A bulk writer therefore writes
//! its keys as a pending batch, settled once its rows are committed; a batch left pending by
//! a writer that died is swept: the keys of customers whose rows never came are destroyed.
//! Whether the writer still runs is told by a lock its run holds ([`KeyStore::try_job_lock`]).

mod postgres;
mod sqlite;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use steward_core::audit::SignedHead;
use uuid::Uuid;

use crate::Result;

pub use postgres::KEYS_CHANNEL;

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

/// Held for as long as a run of one job (an import of one file) is between writing keys and
/// committing their rows, by whichever instance runs it; let go when dropped, and by the
/// system when the process holding it dies.
pub struct JobLock {
    _held: JobLockKind,
}

enum JobLockKind {
    File { _lock: sqlite::FileLock },
    Session { _lock: postgres::SessionLock },
}

pub struct KeyStore {
    engine: Engine,
}

enum Engine {
    Sqlite(sqlite::SqliteKeys),
    Postgres(Box<postgres::PgKeys>),
}

/// Runs the same call on whichever engine holds the keys.
macro_rules! on_engine {
    ($self:ident, $name:ident($($arg:expr),*)) => {
        match &$self.engine {
            Engine::Sqlite(s) => s.$name($($arg),*),
            Engine::Postgres(p) => p.$name($($arg),*).await,
        }
    };
}

impl KeyStore {
    /// Opens the key store file, creating it readable by its owner only.
    pub fn open(path: &Path) -> Result<KeyStore> {
        Ok(KeyStore {
            engine: Engine::Sqlite(sqlite::SqliteKeys::open(path)?),
        })
    }

    /// Connects to the key store database named by the `keystore_url` setting and migrates
    /// it. Its `sslmode` and `sslrootcert` are honoured as for the data database; a failure
    /// names the setting, never the password.
    pub async fn connect(url: &str) -> Result<KeyStore> {
        Ok(KeyStore {
            engine: Engine::Postgres(Box::new(postgres::PgKeys::connect(url).await?)),
        })
    }

    /// Whether the keys are shared by several instances (in PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self.engine, Engine::Postgres(_))
    }

    /// Takes the lock of `job`'s runs, or `None` when a live run holds it. A file beside the
    /// SQLite key store (`lock_dir`), a session lock held on a connection of its own in the
    /// shared key store, seen by every instance.
    pub async fn try_job_lock(&self, lock_dir: &Path, job: &str) -> Result<Option<JobLock>> {
        let kind = match &self.engine {
            Engine::Sqlite(_) => {
                sqlite::FileLock::try_take(lock_dir, job)?.map(|l| JobLockKind::File { _lock: l })
            }
            Engine::Postgres(p) => p
                .try_job_lock(job)
                .await?
                .map(|l| JobLockKind::Session { _lock: l }),
        };
        Ok(kind.map(|k| JobLock { _held: k }))
    }

    /// Hears which customers' keys other instances destroyed (ids, comma-separated); `None`
    /// for the SQLite file, which only this process writes.
    pub fn listen(&self) -> Option<crate::Listener> {
        match &self.engine {
            Engine::Sqlite(_) => None,
            Engine::Postgres(p) => Some(p.listen()),
        }
    }

    /// Stores many data keys in one transaction.
    pub async fn put_data_keys(&self, keys: &[(Uuid, StoredKey)]) -> Result<()> {
        on_engine!(self, put_data_keys(keys, None))
    }

    /// Stores a batch's keys and, in the same transaction, marks them pending until
    /// [`KeyStore::settle`] says their customers' rows are committed.
    pub async fn put_pending_data_keys(
        &self,
        batch: Uuid,
        job: &str,
        keys: &[(Uuid, StoredKey)],
    ) -> Result<()> {
        on_engine!(self, put_data_keys(keys, Some((batch, job))))
    }

    /// The batch's rows are committed: its keys are no longer pending.
    pub async fn settle(&self, batch: Uuid) -> Result<()> {
        on_engine!(self, settle(batch))
    }

    pub async fn pending_batches(&self) -> Result<Vec<PendingBatch>> {
        on_engine!(self, pending_batches())
    }

    /// Ends a pending batch whose writer is gone: destroys the keys of `orphans` (its
    /// customers whose rows never came) and forgets the batch, in one transaction.
    pub async fn discard_pending(&self, batch: Uuid, orphans: &[Uuid]) -> Result<usize> {
        on_engine!(self, destroy(orphans, Some(batch)))
    }

    pub async fn data_key(&self, id: Uuid) -> Result<Option<StoredKey>> {
        on_engine!(self, data_key(id))
    }

    pub async fn data_keys(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, StoredKey>> {
        on_engine!(self, data_keys(ids))
    }

    /// Destroys a customer's data key. Returns whether there was one.
    pub async fn destroy_data_key(&self, id: Uuid) -> Result<bool> {
        Ok(self.destroy_data_keys(&[id]).await? > 0)
    }

    /// Destroys several customers' data keys in one transaction; returns how many there were.
    pub async fn destroy_data_keys(&self, ids: &[Uuid]) -> Result<usize> {
        on_engine!(self, destroy(ids, None))
    }

    pub async fn count_data_keys(&self) -> Result<u64> {
        on_engine!(self, count_data_keys())
    }

    pub async fn secret(&self, name: &str) -> Result<Option<StoredKey>> {
        on_engine!(self, secret(name))
    }

    /// Stores each secret unless one of its name is there already, in one transaction, and
    /// returns the secrets as stored: instances that start together on an empty key store
    /// all end up with the first writer's.
    pub async fn put_secrets_or_get(
        &self,
        secrets: &[(String, StoredKey)],
    ) -> Result<Vec<(String, StoredKey)>> {
        on_engine!(self, put_secrets_or_get(secrets))
    }

    /// Records a key-encryption key version the first time it is seen.
    pub async fn record_kek_version(&self, version: u32, at: i64) -> Result<()> {
        on_engine!(self, record_kek_version(version, at))
    }

    /// Every version ever recorded, oldest first.
    pub async fn kek_versions(&self) -> Result<Vec<KekVersionRow>> {
        on_engine!(self, kek_versions())
    }

    /// How many data keys and secrets each version wraps.
    pub async fn kek_usage(&self) -> Result<HashMap<u32, KekUsage>> {
        on_engine!(self, kek_usage())
    }

    /// Up to `limit` data keys wrapped by a version below `below`, in customer order after
    /// `after`: a walk over the primary key that a stopped rewrap simply starts again.
    pub async fn data_keys_below(
        &self,
        below: u32,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<(Uuid, StoredKey)>> {
        on_engine!(self, data_keys_below(below, after, limit))
    }

    /// Writes rewrapped data keys in one transaction, each only where the row still holds
    /// the version it was read with (a key destroyed or rewrapped meanwhile stays as it is);
    /// returns how many were written.
    pub async fn replace_data_keys(&self, keys: &[Rewrapped<Uuid>]) -> Result<usize> {
        on_engine!(self, replace_data_keys(keys))
    }

    /// The installation secrets wrapped by a version below `below`.
    pub async fn secrets_below(&self, below: u32) -> Result<Vec<(String, StoredKey)>> {
        on_engine!(self, secrets_below(below))
    }

    /// Writes rewrapped secrets like [`KeyStore::replace_data_keys`].
    pub async fn replace_secrets(&self, keys: &[Rewrapped<String>]) -> Result<usize> {
        on_engine!(self, replace_secrets(keys))
    }

    /// Marks a version retired if no data key and no secret uses it, in one transaction with
    /// the count: from then on no key wrapped by it is accepted. Returns whether it is
    /// retired (now or before).
    pub async fn retire_kek_version(&self, version: u32, at: i64) -> Result<bool> {
        on_engine!(self, retire_kek_version(version, at))
    }

    /// Marks a recorded version compromised; the first marking's time and reason stay.
    /// Returns the version as recorded, or `None` when it was never recorded.
    pub async fn mark_kek_compromised(
        &self,
        version: u32,
        at: i64,
        reason: &str,
    ) -> Result<Option<KekVersionRow>> {
        on_engine!(self, mark_kek_compromised(version, at, reason))
    }

    /// The newest audit head witnessed outside the data database.
    pub async fn witnessed_head(&self) -> Result<Option<SignedHead>> {
        on_engine!(self, witnessed_head())
    }

    /// Keeps `head` unless a newer one is witnessed already.
    pub async fn put_witnessed_head(&self, head: &SignedHead) -> Result<()> {
        on_engine!(self, put_witnessed_head(head))
    }
}

/// Where the lock file of `job` lives beside the SQLite key store.
fn lock_file(dir: &Path, job: &str) -> PathBuf {
    dir.join(format!("import-{job}.lock"))
}
