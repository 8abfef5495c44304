//! The embedded engine: SQLite through rusqlite, in WAL mode with foreign keys on.
//!
//! Reads run on the caller's task: a SQLite read here takes microseconds, less than the cost
//! of handing it to another thread; they come from a small pool of connections, so they never
//! wait on a write. Writes share the one writer connection (SQLite allows one writer anyway):
//! a lone write runs at once, and writes that arrive together share one commit.

mod accounts;
mod audit_log;
mod breaches;
mod campaigns;
mod checkpointer;
mod companies;
mod consent_ledger;
mod customers;
pub(crate) mod exec;
mod idempotency;
mod leases;
mod mail;
mod merges;
mod notices;
mod personalization;
mod portal;
mod recipient_notices;
mod reports;
mod requests;
mod retention;
mod shares;
mod sharing;
mod signups;
mod tasks;
mod views;
mod webhooks;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use steward_core::audit::{AuditEntry, AuditRecord, Hash, HeadSigner, SignedHead};
use uuid::Uuid;

use crate::audit_head::HeadKeeper;
use exec::ready;

use crate::records::listed_targets;
use crate::repos::*;
use crate::sql::changes;
use crate::{
    ActivityCount, AuditFilter, AuditWindow, ChangeSet, ConsentEvent, ConsentProof, ConsentStats,
    CustomerFilter, CustomerRow, CustomerStats, Erasure, IdempotentRow, ImportJob, IndexDigest,
    InteractionRow, NoticeRow, Result, SegmentQuery, SignInFailures, StoreError, TokenRow, UserRow,
    WindowEntry, migrations,
};

pub struct SqliteStore {
    path: PathBuf,
    heads: Arc<HeadKeeper>,
    writer: Arc<writer::Writer>,
    readers: Mutex<Vec<Connection>>,
    _checkpointer: checkpointer::Checkpointer,
}

const MAX_IDLE_READERS: usize = 8;

/// Creates the database file readable by its owner only, if it is not there yet. SQLite
/// gives its log and shared-memory files the mode of the database file.
pub(crate) fn create_private(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::open(format!("creating {}", path.display()), e)),
    }
}

/// Opens a connection whose cached statements stay prepared. Without the query planner
/// stability guarantee, SQLite marks any statement whose plan might depend on a bound value
/// (an equality on an indexed column is enough) to be prepared again after its bindings are
/// cleared, which the statement cache does on every use: each execution would re-parse and
/// re-plan its SQL.
pub(crate) fn open_stable(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

/// Every connection keeps a modest page cache (8 MiB): a reader's is emptied whenever the
/// database has changed since its last read, and the writer's is swept whole at the end of
/// any transaction that split B-tree pages, both at a cost that grows with the cache.
///
/// Commits are synced (`synchronous = FULL`): a write or audit entry that was confirmed must
/// survive a power loss, which WAL's `NORMAL` does not promise. Group commit keeps that to one
/// sync for every write sharing a commit.
fn open_connection(path: &Path) -> Result<Connection> {
    let conn = open_stable(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;
         PRAGMA busy_timeout = 10000;
         PRAGMA cache_size = -8192;
         PRAGMA temp_store = MEMORY;
         PRAGMA journal_size_limit = 67108864;",
    )?;
    Ok(conn)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves the connection usable: SQLite rolls back an
    // unfinished transaction when the Transaction guard drops.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SqliteStore {
    /// Opens the database; `heads` signs the audit chain's head in every commit that
    /// appends to it.
    pub fn open(path: &Path, signer: Arc<dyn HeadSigner>) -> Result<SqliteStore> {
        let heads = Arc::new(HeadKeeper::new(signer));
        create_private(path)?;
        let mut writer = open_connection(path)?;
        migrate(&mut writer)?;
        writer.execute_batch(
            "CREATE TEMP TABLE head_moved (id INTEGER PRIMARY KEY, seq INTEGER, hash BLOB, at INTEGER, signature BLOB)",
        )?;
        writer.pragma_update(
            None,
            "wal_autocheckpoint",
            checkpointer::WRITER_FALLBACK_PAGES,
        )?;
        let writer = Arc::new(writer::Writer::start(
            writer,
            Box::new({
                let heads = heads.clone();
                move |tx| audit_log::sign_moved_head(tx, &heads)
            }),
        )?);
        Ok(SqliteStore {
            path: path.to_path_buf(),
            heads,
            writer: writer.clone(),
            readers: Mutex::new(Vec::new()),
            _checkpointer: checkpointer::Checkpointer::start(
                open_connection(path)?,
                writer,
                checkpointer::RESTART_FRAMES,
            )?,
        })
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = match lock(&self.readers).pop() {
            Some(c) => c,
            None => open_connection(&self.path)?,
        };
        let out = f(&conn);
        let mut idle = lock(&self.readers);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        out
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Transaction) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.writer.write(f).await
    }

    /// Copies the database to `dest` with SQLite's online backup (used by tests and operators
    /// to take a consistent copy while the server runs).
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        self.read(|c| {
            c.execute("VACUUM INTO ?1", params![dest.to_string_lossy()])?;
            Ok(())
        })
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    for (version, sql) in migrations::SQLITE {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let done: Option<i64> = tx
            .query_row(
                "SELECT version FROM schema_migrations WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .optional()?;
        if done.is_none() {
            tx.execute_batch(sql).map_err(|e| StoreError::Migration {
                version: *version,
                source: Box::new(e.into()),
            })?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, unixepoch())",
                [version],
            )?;
        }
        tx.commit()?;
    }
    Ok(())
}

#[async_trait]
impl Changes for SqliteStore {
    async fn apply(&self, changes: ChangeSet) -> Result<Vec<AuditEntry>> {
        self.write(move |tx| ready(changes::apply(tx, changes)))
            .await
    }

    async fn erase_customer(&self, erasure: Erasure) -> Result<bool> {
        self.write(move |tx| ready(changes::erase(tx, erasure)))
            .await
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;
    use crate::{CustomerRow, CustomerWrite};

    #[test]
    fn commits_are_synced_and_the_file_is_its_owners_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let store =
            SqliteStore::open(&path, Arc::new(steward_vault::Signer::generate())).expect("open");
        let synchronous: i64 = store
            .read(|c| Ok(c.pragma_query_value(None, "synchronous", |r| r.get(0))?))
            .expect("pragma");
        assert_eq!(
            synchronous, 2,
            "FULL: a confirmed commit survives a power loss"
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).expect("meta").permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }

    #[tokio::test]
    async fn committed_pages_reach_the_database_file_without_the_writer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let store =
            SqliteStore::open(&path, Arc::new(steward_vault::Signer::generate())).expect("open");
        let before = std::fs::metadata(&path).expect("db").len();
        // About 4 MiB, far below the writer's own checkpoint threshold.
        let inserts = (0..1_000)
            .map(|_| CustomerWrite {
                row: CustomerRow {
                    id: Uuid::now_v7(),
                    residency: "DE".into(),
                    status: "active".into(),
                    tags: vec![],
                    fields: vec![7; 4096],
                    version: 1,
                    created_at: 1,
                    updated_at: 1,
                    last_interaction_at: None,
                    owner_id: None,
                },
                index: vec![],
            })
            .collect();
        store
            .apply(ChangeSet {
                inserts,
                ..Default::default()
            })
            .await
            .expect("write");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let now = std::fs::metadata(&path).expect("db").len();
            if now >= before + 4_000_000 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the database file stayed at {now} bytes: nothing was checkpointed"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    #[test]
    fn cached_statements_are_not_prepared_again_for_new_bindings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open_connection(&dir.path().join("s.db")).expect("open");
        conn.execute_batch(
            // The shape of the consent tables: a key the query names, and a second index
            // that holds the same column further back.
            "CREATE TABLE t (k BLOB NOT NULL, p TEXT NOT NULL, v INTEGER NOT NULL,
               PRIMARY KEY (k, p)) WITHOUT ROWID;
             CREATE INDEX t_p ON t (p, k);
             INSERT INTO t VALUES (x'01', 'a', 1), (x'02', 'a', 2);",
        )
        .expect("schema");
        let sql = "SELECT v FROM t WHERE k = ?1 ORDER BY p";
        for k in [[1u8], [2u8], [1u8]] {
            let v: i64 = conn
                .prepare_cached(sql)
                .expect("prepare")
                .query_row([&k[..]], |r| r.get(0))
                .expect("row");
            assert_eq!(v, i64::from(k[0]));
        }
        let stmt = conn.prepare_cached(sql).expect("cached");
        assert_eq!(
            stmt.get_status(StatementStatus::RePrepare),
            0,
            "the statement was parsed and planned again on a later use"
        );
    }
}
