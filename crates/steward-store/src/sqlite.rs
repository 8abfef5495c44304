//! The embedded engine: SQLite through rusqlite, in WAL mode with foreign keys on.
//!
//! Reads run on the caller's task: a SQLite read here takes microseconds, less than the cost
//! of handing it to another thread; they come from a small pool of connections, so they never
//! wait on a write. Writes share the one writer connection (SQLite allows one writer anyway):
//! a lone write runs at once, and writes that arrive together share one commit.

mod campaigns;
mod checkpointer;
mod mail;
mod portal;
mod requests;
mod retention;
mod signups;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use steward_core::audit::{
    AuditEntry, AuditRecord, GENESIS, Hash, HeadSigner, SignedHead, chain_hash,
};
use uuid::Uuid;

use crate::audit_head::{FoundHead, HeadKeeper};

use crate::audit_sql::{AuditSource, audit_reads, audit_sql};
use crate::records::{
    AuditRecordRaw, decode_index_keys, encode_index_keys, from_json, hash32, listed_targets,
    merge_index_keys, target_id, to_json,
};
use crate::segment_sql::{Arg, segment_sql};
use crate::{
    ActivityCount, AuditFilter, CampaignRow, ChangeSet, CodeCheck, ConsentEvent, ConsentStats,
    CustomerFilter, CustomerRow, CustomerStats, CustomerUpdate, CustomerWrite, Delivery, DueQuery,
    DueRecord, Erasure, FoundRecord, IDEMPOTENCY_KEY, IdempotentRow, ImportJob, IndexDigest,
    IndexEntry, InteractionRow, LegalHold, MICROS_PER_DAY, MailCounts, MailLink, NoticeRow,
    OutboxRow, PortalCode, PortalSession, RecipientUpdate, RequestFilter, RequestRow, Result,
    RetentionAction, RetentionRun, SegmentQuery, SegmentRow, SignupRow, Store, StoreError,
    StoredRule, SweepBatch, TokenRow, UserRow, migrations,
};

pub struct SqliteStore {
    path: PathBuf,
    heads: Arc<HeadKeeper>,
    writer: Arc<writer::Writer>,
    readers: Mutex<Vec<Connection>>,
    _checkpointer: checkpointer::Checkpointer,
}

const MAX_IDLE_READERS: usize = 8;
/// Digests per lookup statement (each appears twice, well under SQLite's parameter limit).
const LOOKUP_CHUNK: usize = 500;

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
        Err(e) => Err(StoreError::Database(format!(
            "creating {}: {e}",
            path.display()
        ))),
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

pub(super) fn sqlite_args(args: Vec<Arg>) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value;
    args.into_iter()
        .map(|a| match a {
            Arg::Text(t) => Value::Text(t),
            Arg::Int(i) => Value::Integer(i),
            Arg::Id(id) => Value::Blob(id.as_bytes().to_vec()),
        })
        .collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves the connection usable: SQLite rolls back an
    // unfinished transaction when the Transaction guard drops.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn uuid_from(bytes: Vec<u8>) -> Result<Uuid> {
    Uuid::from_slice(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn map_unique(e: rusqlite::Error, field: &str) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Duplicate {
                field: field.to_string(),
            }
        }
        _ => e.into(),
    }
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
                move |tx| sign_moved_head(tx, &heads)
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
                reason: e.to_string(),
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

pub(super) fn append_audit_tx(
    tx: &Transaction,
    records: Vec<AuditRecord>,
) -> Result<Vec<AuditEntry>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let found = head_row(tx)?;
    // The head this transaction starts from is checked at its commit, before the new one is
    // signed; later appends in the same transaction follow from what it wrote.
    tx.prepare_cached(
        "INSERT OR IGNORE INTO temp.head_moved (id, seq, hash, at, signature) VALUES (1, ?1, ?2, ?3, ?4)",
    )?
    .execute(params![found.seq, &found.hash[..], found.at, found.signature])?;
    let (mut seq, mut prev) = (found.seq, found.hash);
    let last_at = records.last().map_or(0, |r| r.at);
    let mut stmt = tx.prepare_cached(
        "INSERT INTO audit_log (seq, at, actor, role, action, purpose, targets, fields, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        seq += 1;
        let hash = chain_hash(&prev, seq, &record);
        stmt.execute(params![
            seq,
            record.at,
            record.actor,
            record.role,
            record.action,
            record.purpose,
            to_json(&record.targets),
            to_json(&record.fields),
            record.detail,
            &prev[..],
            &hash[..],
        ])?;
        out.push(AuditEntry {
            seq,
            record,
            prev_hash: prev,
            hash,
        });
        prev = hash;
    }
    // Signed at the commit, so writes that share one commit share one signature.
    tx.prepare_cached(
        "UPDATE audit_head SET seq = ?1, hash = ?2, at = ?3, signature = NULL WHERE id = 1",
    )?
    .execute(params![seq, &prev[..], last_at])?;
    Ok(out)
}

fn head_row(tx: &Transaction) -> Result<FoundHead> {
    found_head(
        tx,
        "SELECT seq, hash, at, signature FROM audit_head WHERE id = 1",
    )?
    .ok_or_else(head_missing)
}

/// A head as one row of (seq, hash, at, signature).
fn found_head(tx: &Transaction, sql: &str) -> Result<Option<FoundHead>> {
    tx.prepare_cached(sql)?
        .query_row([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<Vec<u8>>>(3)?,
            ))
        })
        .optional()?
        .map(|(seq, hash, at, signature)| {
            Ok(FoundHead {
                seq,
                hash: hash32(&hash)?,
                at,
                signature,
            })
        })
        .transpose()
}

fn head_missing() -> StoreError {
    StoreError::Corrupt("the audit log's head is missing".into())
}

/// Runs just before every commit: if the transaction moved the head, checks the head it
/// started from and signs the new one. Which head a transaction started from is noted in a
/// temporary table: it is in no file, so no one but this connection can write it, and it is
/// undone with the savepoint of a write that fails.
fn sign_moved_head(tx: &Transaction, keeper: &HeadKeeper) -> Result<()> {
    let Some(from) = found_head(
        tx,
        "SELECT seq, hash, at, signature FROM temp.head_moved WHERE id = 1",
    )?
    else {
        return Ok(());
    };
    tx.prepare_cached("DELETE FROM temp.head_moved")?
        .execute([])?;
    keeper.check(&from)?;
    let now = head_row(tx)?;
    let signed = keeper.sign(now.seq, now.hash, now.at);
    tx.prepare_cached("UPDATE audit_head SET signature = ?1 WHERE id = 1")?
        .execute(params![signed.signature])?;
    Ok(())
}

fn signed_head(conn: &Connection) -> Result<Option<SignedHead>> {
    conn.prepare_cached(
        "SELECT seq, hash, at, signature FROM audit_head WHERE id = 1 AND signature IS NOT NULL",
    )?
    .query_row([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get(2)?,
            r.get(3)?,
        ))
    })
    .optional()?
    .map(|(seq, hash, at, signature)| {
        Ok(SignedHead {
            seq,
            head: hash32(&hash)?,
            at,
            signature,
        })
    })
    .transpose()
}

fn head(conn: &Connection) -> Result<(i64, Hash)> {
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        Some((seq, h)) => Ok((seq, hash32(&h)?)),
        None => Ok((0, GENESIS)),
    }
}

/// Inserts index entries in key order: digests are random, and visiting the index B-trees in
/// order touches each page once per batch instead of once per entry.
fn insert_entries(tx: &Transaction, entries: Vec<(&IndexEntry, &[u8])>) -> Result<()> {
    // Each entry is keyed by its index (table and field: a handful) and its digest as one
    // integer, so sorting compares integers rather than strings.
    let mut indexes: Vec<(bool, &str)> = Vec::new();
    let mut keyed: Vec<(usize, u128, &IndexEntry, &[u8])> = entries
        .into_iter()
        .map(|(e, id)| {
            let index = (e.unique, e.field.as_str());
            let n = indexes.iter().position(|i| *i == index).unwrap_or_else(|| {
                indexes.push(index);
                indexes.len() - 1
            });
            (n, u128::from_be_bytes(e.digest), e, id)
        })
        .collect();
    keyed.sort_unstable_by_key(|k| (k.0, k.1));
    let mut unique = tx.prepare_cached(
        "INSERT INTO unique_index (field, digest, customer_id) VALUES (?1, ?2, ?3)",
    )?;
    let mut shared = tx.prepare_cached(
        "INSERT OR IGNORE INTO blind_index (field, digest, customer_id) VALUES (?1, ?2, ?3)",
    )?;
    for (_, _, e, id) in keyed {
        let stmt = if e.unique { &mut unique } else { &mut shared };
        stmt.execute(params![e.field, &e.digest[..], id])
            .map_err(|err| map_unique(err, &e.field))?;
    }
    Ok(())
}

fn delete_entries(tx: &Transaction, id: &[u8], entries: &[IndexEntry]) -> Result<()> {
    let mut unique = tx.prepare_cached(
        "DELETE FROM unique_index WHERE field = ?1 AND digest = ?2 AND customer_id = ?3",
    )?;
    let mut shared = tx.prepare_cached(
        "DELETE FROM blind_index WHERE field = ?1 AND digest = ?2 AND customer_id = ?3",
    )?;
    for e in entries {
        let stmt = if e.unique { &mut unique } else { &mut shared };
        stmt.execute(params![e.field, &e.digest[..], id])?;
    }
    Ok(())
}

fn replace_tags(tx: &Transaction, id: &[u8], tags: &[String], had_tags: bool) -> Result<()> {
    if had_tags {
        tx.prepare_cached("DELETE FROM customer_tags WHERE customer_id = ?1")?
            .execute([id])?;
    }
    let mut tag = tx
        .prepare_cached("INSERT OR IGNORE INTO customer_tags (tag, customer_id) VALUES (?1, ?2)")?;
    for t in tags {
        tag.execute(params![t, id])?;
    }
    Ok(())
}

fn insert_customer(tx: &Transaction, w: &CustomerWrite) -> Result<()> {
    let r = &w.row;
    let id = r.id.as_bytes().as_slice();
    tx.prepare_cached(
        "INSERT INTO customers (id, residency, status, fields, index_keys, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![id, r.residency, r.status, r.fields, encode_index_keys(&w.index), r.version, r.created_at, r.updated_at])
    .map_err(|e| map_unique(e, "id"))?;
    replace_tags(tx, id, &r.tags, false)
}

fn update_customer(tx: &Transaction, u: &CustomerUpdate) -> Result<()> {
    let r = &u.write.row;
    let id = r.id.as_bytes().as_slice();
    let current: Option<(i64, Vec<u8>)> = tx
        .prepare_cached("SELECT version, index_keys FROM customers WHERE id = ?1")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let (version, keys) = current.ok_or(StoreError::NotFound)?;
    if version != u.expected_version {
        return Err(StoreError::Conflict);
    }
    let (kept, removed) = merge_index_keys(
        decode_index_keys(&keys)?,
        &u.write.index,
        &u.replaced_index_fields,
    );
    delete_entries(tx, id, &removed)?;
    tx.prepare_cached(
        "UPDATE customers SET residency = ?2, status = ?3, fields = ?4, index_keys = ?5, version = ?6, updated_at = ?7
         WHERE id = ?1",
    )?
    .execute(params![id, r.residency, r.status, r.fields, encode_index_keys(&kept), r.version, r.updated_at])?;
    replace_tags(tx, id, &r.tags, true)
}

fn save_job(tx: &Transaction, j: &ImportJob) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO import_jobs (fingerprint, byte_offset, line, imported, rejected, reject_len, finished, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (fingerprint) DO UPDATE SET byte_offset = excluded.byte_offset, line = excluded.line,
           imported = excluded.imported, rejected = excluded.rejected, reject_len = excluded.reject_len,
           finished = excluded.finished, updated_at = excluded.updated_at",
    )?
    .execute(params![
        j.fingerprint,
        j.byte_offset as i64,
        j.line as i64,
        j.imported as i64,
        j.rejected as i64,
        j.reject_len as i64,
        j.finished,
        j.updated_at
    ])?;
    Ok(())
}

macro_rules! customer_cols {
    () => {
        "c.id, c.residency, c.status, c.fields, c.version, c.created_at, c.updated_at,
         (SELECT group_concat(tag, ',') FROM customer_tags t WHERE t.customer_id = c.id)"
    };
}
const CUSTOMER_COLS: &str = customer_cols!();
const CUSTOMER_BY_ID: &str = concat!(
    "SELECT ",
    customer_cols!(),
    " FROM customers c WHERE c.id = ?1"
);

const NOTICE_COLS: &str =
    "id, version, language, effective_at, material, body, summaries, created_at, published_at";

const CONSENT_COLS: &str =
    "id, customer_id, purpose, state, notice_version, method, evidence, at, expires_at";

/// Appends to the ledger and makes the event its purpose's current state; a customer who is
/// not (or no longer) there gets no event.
fn save_consent(tx: &Transaction, e: &ConsentEvent) -> Result<()> {
    let args = params![
        e.id.as_bytes().as_slice(),
        e.customer_id.as_bytes().as_slice(),
        e.purpose,
        e.state,
        e.notice_version,
        e.method,
        e.evidence,
        e.at,
        e.expires_at
    ];
    let added = tx
        .prepare_cached(&format!(
            "INSERT INTO consent_events ({CONSENT_COLS})
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM customers WHERE id = ?2)"
        ))?
        .execute(args)?;
    if added == 0 {
        return Err(StoreError::NotFound);
    }
    tx.prepare_cached(&format!(
        "INSERT OR REPLACE INTO consent_current ({CONSENT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    ))?
    .execute(args)?;
    Ok(())
}

fn customer_by_id(c: &Connection, id: Uuid) -> Result<Option<CustomerRow>> {
    c.prepare_cached(CUSTOMER_BY_ID)?
        .query_row([id.as_bytes().as_slice()], customer_from)
        .optional()?
        .map(finish_customer)
        .transpose()
}

fn current_consents(c: &Connection, customer: Uuid) -> Result<Vec<ConsentEvent>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {CONSENT_COLS} FROM consent_current WHERE customer_id = ?1 ORDER BY purpose"
    ))?;
    let rows = stmt.query_map([customer.as_bytes().as_slice()], consent_from)?;
    rows.map(|r| finish_consent(r?)).collect()
}

fn consent_from(r: &rusqlite::Row) -> rusqlite::Result<(Vec<u8>, Vec<u8>, ConsentEvent)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        ConsentEvent {
            id: Uuid::nil(),
            customer_id: Uuid::nil(),
            purpose: r.get(2)?,
            state: r.get(3)?,
            notice_version: r.get(4)?,
            method: r.get(5)?,
            evidence: r.get(6)?,
            at: r.get(7)?,
            expires_at: r.get(8)?,
        },
    ))
}

fn finish_consent((id, customer, mut e): (Vec<u8>, Vec<u8>, ConsentEvent)) -> Result<ConsentEvent> {
    e.id = uuid_from(id)?;
    e.customer_id = uuid_from(customer)?;
    Ok(e)
}

/// Expired keys go first, so a key may be used again once its day is over.
fn save_idempotent(tx: &Transaction, kept: &IdempotentRow) -> Result<()> {
    tx.prepare_cached("DELETE FROM idempotency_keys WHERE expires_at <= ?1")?
        .execute([kept.created_at])?;
    tx.prepare_cached(
        "INSERT INTO idempotency_keys (key_hash, fingerprint, customer_id, response, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        kept.key_hash.as_slice(),
        kept.fingerprint.as_slice(),
        kept.customer_id.as_bytes().as_slice(),
        kept.response,
        kept.created_at,
        kept.expires_at
    ])
    .map_err(|e| map_unique(e, IDEMPOTENCY_KEY))?;
    Ok(())
}

fn customer_from(r: &rusqlite::Row) -> rusqlite::Result<(Vec<u8>, CustomerRow)> {
    let tags: Option<String> = r.get(7)?;
    let mut tags: Vec<String> = tags
        .map(|t| t.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    tags.sort();
    Ok((
        r.get(0)?,
        CustomerRow {
            id: Uuid::nil(),
            residency: r.get(1)?,
            status: r.get(2)?,
            fields: r.get(3)?,
            version: r.get(4)?,
            created_at: r.get(5)?,
            updated_at: r.get(6)?,
            tags,
        },
    ))
}

fn finish_customer((id, mut row): (Vec<u8>, CustomerRow)) -> Result<CustomerRow> {
    row.id = uuid_from(id)?;
    Ok(row)
}

/// How far the list of audit targets reaches.
fn listed_upto(c: &Connection) -> Result<i64> {
    Ok(
        c.prepare_cached("SELECT seq FROM audit_targets_upto WHERE id = 1")?
            .query_row([], |r| r.get(0))?,
    )
}

fn audit_query(
    c: &Connection,
    source: &AuditSource,
    after: i64,
    f: &AuditFilter,
    limit: usize,
) -> Result<Vec<AuditEntry>> {
    let (sql, args) = audit_sql(source, after, f, limit, "instr", &|n| format!("?{n}"));
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(sqlite_args(args)), audit_from)?;
    rows.map(|r| {
        let (raw, seq, prev, hash) = r?;
        raw.into_entry(seq, &prev, &hash)
    })
    .collect()
}

fn audit_from(r: &rusqlite::Row) -> rusqlite::Result<(AuditRecordRaw, i64, Vec<u8>, Vec<u8>)> {
    Ok((
        AuditRecordRaw {
            at: r.get(1)?,
            actor: r.get(2)?,
            role: r.get(3)?,
            action: r.get(4)?,
            purpose: r.get(5)?,
            targets: r.get(6)?,
            fields: r.get(7)?,
            detail: r.get(8)?,
        },
        r.get(0)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

const USER_COLS: &str =
    "id, email, role, purposes, password_hash, disabled, created_at, totp_secret, failed_logins";
const TOKEN_COLS: &str = "id, token_hash, name, role, purposes, created_by, created_at, expires_at, revoked_at, last_used_at";

/// A token row as read, with the columns that still need parsing: id, hash and purposes.
fn token_from(r: &rusqlite::Row) -> rusqlite::Result<(Vec<u8>, Vec<u8>, String, TokenRow)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(4)?,
        TokenRow {
            id: Uuid::nil(),
            token_hash: [0; 32],
            name: r.get(2)?,
            role: r.get(3)?,
            purposes: Vec::new(),
            created_by: r.get(5)?,
            created_at: r.get(6)?,
            expires_at: r.get(7)?,
            revoked_at: r.get(8)?,
            last_used_at: r.get(9)?,
        },
    ))
}

fn finish_token(
    (id, hash, purposes, mut row): (Vec<u8>, Vec<u8>, String, TokenRow),
) -> Result<TokenRow> {
    row.id = uuid_from(id)?;
    row.token_hash = hash32(&hash)?;
    row.purposes = from_json(&purposes)?;
    Ok(row)
}

fn finish_user((id, mut user, purposes): (Vec<u8>, UserRow, String)) -> Result<UserRow> {
    user.id = uuid_from(id)?;
    user.purposes = from_json(&purposes)?;
    Ok(user)
}

fn user_from(r: &rusqlite::Row) -> rusqlite::Result<(Vec<u8>, UserRow, String)> {
    Ok((
        r.get(0)?,
        UserRow {
            id: Uuid::nil(),
            email: r.get(1)?,
            role: r.get(2)?,
            purposes: Vec::new(),
            password_hash: r.get(4)?,
            disabled: r.get(5)?,
            created_at: r.get(6)?,
            totp_secret: r.get(7)?,
            failed_logins: r.get(8)?,
        },
        r.get(3)?,
    ))
}

/// Deletes a customer's rows and index entries and leaves a tombstone; false when there is
/// no such customer. Children go first, explicitly, so erasure never depends on the
/// foreign-key pragma.
pub(super) fn erase_rows(tx: &Transaction, key: &[u8], at: i64) -> Result<bool> {
    let keys: Option<Vec<u8>> = tx
        .prepare_cached("SELECT index_keys FROM customers WHERE id = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?;
    let Some(keys) = keys else { return Ok(false) };
    delete_entries(tx, key, &decode_index_keys(&keys)?)?;
    for sql in [
        "DELETE FROM interactions WHERE customer_id = ?1",
        "DELETE FROM customer_tags WHERE customer_id = ?1",
        // What a retried create must find to know the customer was erased, and no more.
        "UPDATE idempotency_keys SET fingerprint = zeroblob(32), response = x'' WHERE customer_id = ?1",
        "DELETE FROM consent_current WHERE customer_id = ?1",
        "DELETE FROM consent_events WHERE customer_id = ?1",
    ] {
        tx.prepare_cached(sql)?.execute([key])?;
    }
    mail::erase(tx, key)?;
    portal::erase(tx, key)?;
    tx.prepare_cached("DELETE FROM customers WHERE id = ?1")?
        .execute([key])?;
    tx.prepare_cached("INSERT OR IGNORE INTO tombstones (customer_id, erased_at) VALUES (?1, ?2)")?
        .execute(params![key, at])?;
    Ok(true)
}

/// Applies a change set inside a transaction the caller commits.
pub(super) fn apply_tx(tx: &Transaction, changes: ChangeSet) -> Result<Vec<AuditEntry>> {
    if let Some(spent) = &changes.spend_link {
        mail::spend_link(tx, spent)?;
    }
    if let Some(step) = &changes.campaign_step {
        campaigns::step(tx, step)?;
    }
    // First, so a second use of a key is reported as such, not as whatever else of
    // the same request collides with the first.
    if let Some(kept) = &changes.idempotency {
        save_idempotent(tx, kept)?;
    }
    for w in &changes.inserts {
        insert_customer(tx, w)?;
    }
    for u in &changes.updates {
        update_customer(tx, u)?;
    }
    // New entries go in after every update has removed the entries it replaces.
    let entries = changes
        .inserts
        .iter()
        .chain(changes.updates.iter().map(|u| &u.write))
        .flat_map(|w| {
            w.index
                .iter()
                .map(move |e| (e, w.row.id.as_bytes().as_slice()))
        })
        .collect();
    insert_entries(tx, entries)?;
    let mut ins = tx.prepare_cached(
        "INSERT INTO interactions (id, customer_id, kind, occurred_at, sealed, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for i in &changes.interactions {
        ins.execute(params![
            i.id.as_bytes().as_slice(),
            i.customer_id.as_bytes().as_slice(),
            i.kind,
            i.occurred_at,
            i.sealed,
            i.created_at
        ])
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::NotFound
            }
            e => e.into(),
        })?;
    }
    if let Some(job) = &changes.import_job {
        save_job(tx, job)?;
    }
    for (customer, purpose, expected) in &changes.consent_guards {
        let current: Option<Vec<u8>> = tx
            .prepare_cached(
                "SELECT id FROM consent_current WHERE customer_id = ?1 AND purpose = ?2",
            )?
            .query_row(params![customer.as_bytes().as_slice(), purpose], |r| {
                r.get(0)
            })
            .optional()?;
        if current.as_deref() != Some(expected.as_bytes().as_slice()) {
            return Err(StoreError::Conflict);
        }
    }
    for event in &changes.consents {
        save_consent(tx, event)?;
    }
    mail::save(tx, &changes)?;
    if let Some(code) = &changes.portal_code {
        portal::save_code(tx, code)?;
    }
    requests::save(tx, &changes)?;
    signups::save(tx, &changes)?;
    append_audit_tx(tx, changes.audit)
}

#[async_trait]
impl Store for SqliteStore {
    async fn apply(&self, changes: ChangeSet) -> Result<Vec<AuditEntry>> {
        self.write(move |tx| apply_tx(tx, changes)).await
    }

    async fn erase_customer(&self, erasure: Erasure) -> Result<bool> {
        self.write(move |tx| {
            let key = erasure.id.as_bytes().as_slice();
            if !erase_rows(tx, key, erasure.at)? {
                return Ok(false);
            }
            apply_tx(tx, erasure.with)?;
            requests::erase(tx, key, erasure.suppress.as_ref(), erasure.at)?;
            Ok(true)
        })
        .await
    }

    async fn get_customer(&self, id: Uuid) -> Result<Option<CustomerRow>> {
        self.read(|c| customer_by_id(c, id))
    }

    async fn get_customers(&self, ids: &[Uuid]) -> Result<Vec<CustomerRow>> {
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                out.extend(customer_by_id(&tx, *id)?);
            }
            Ok(out)
        })
    }

    async fn list_customers(&self, f: &CustomerFilter) -> Result<Vec<CustomerRow>> {
        use rusqlite::types::Value;
        let mut sql = format!("SELECT {CUSTOMER_COLS} FROM customers c WHERE 1 = 1");
        let mut args: Vec<Value> = Vec::new();
        if let Some((field, digest)) = &f.index {
            args.push(Value::Text(field.clone()));
            args.push(Value::Blob(digest.to_vec()));
            sql.push_str(
                " AND c.id IN (SELECT customer_id FROM unique_index WHERE field = ?1 AND digest = ?2
                  UNION ALL SELECT customer_id FROM blind_index WHERE field = ?1 AND digest = ?2)",
            );
        }
        let mut arg = |sql: &mut String, clause: &str, v: Value| {
            args.push(v);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if let Some(tag) = &f.tag {
            arg(
                &mut sql,
                " AND c.id IN (SELECT customer_id FROM customer_tags WHERE tag = ?)",
                Value::Text(tag.clone()),
            );
        }
        if let Some(s) = &f.status {
            arg(&mut sql, " AND c.status = ?", Value::Text(s.clone()));
        }
        if let Some(r) = &f.residency {
            arg(&mut sql, " AND c.residency = ?", Value::Text(r.clone()));
        }
        for (bound, clause) in [
            (f.created_after, " AND c.created_at > ?"),
            (f.created_before, " AND c.created_at < ?"),
            (f.updated_after, " AND c.updated_at > ?"),
            (f.updated_before, " AND c.updated_at < ?"),
        ] {
            if let Some(b) = bound {
                arg(&mut sql, clause, Value::Integer(b));
            }
        }
        if let Some(after) = f.after {
            arg(
                &mut sql,
                " AND c.id > ?",
                Value::Blob(after.as_bytes().to_vec()),
            );
        }
        arg(
            &mut sql,
            " ORDER BY c.id LIMIT ?",
            Value::Integer(f.limit as i64),
        );
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), customer_from)?;
            rows.map(|r| finish_customer(r?)).collect()
        })
    }

    async fn count_customers(&self) -> Result<u64> {
        self.read(|c| {
            Ok(c.query_row("SELECT count(*) FROM customers", [], |r| r.get::<_, i64>(0))? as u64)
        })
    }

    async fn lookup_index(
        &self,
        field: &str,
        digests: &[IndexDigest],
    ) -> Result<Vec<(IndexDigest, Uuid)>> {
        self.read(|c| {
            // One read transaction and one statement per chunk: a lookup on its own would take
            // and release the database's shared locks every time.
            let tx = c.unchecked_transaction()?;
            let mut out = Vec::new();
            for chunk in digests.chunks(LOOKUP_CHUNK) {
                let marks = vec!["?"; chunk.len()].join(",");
                let sql = format!(
                    "SELECT digest, customer_id FROM unique_index WHERE field = ? AND digest IN ({marks})
                     UNION ALL SELECT digest, customer_id FROM blind_index WHERE field = ? AND digest IN ({marks})"
                );
                let mut args: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(2 * (chunk.len() + 1));
                for _ in 0..2 {
                    args.push(&field);
                    args.extend(chunk.iter().map(|d| d as &dyn rusqlite::ToSql));
                }
                let mut stmt = tx.prepare_cached(&sql)?;
                let rows = stmt.query_map(args.as_slice(), |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
                for row in rows {
                    let (digest, id) = row?;
                    let digest: IndexDigest =
                        digest.as_slice().try_into().map_err(|_| StoreError::Corrupt("digest length".into()))?;
                    out.push((digest, uuid_from(id)?));
                }
            }
            tx.finish()?;
            Ok(out)
        })
    }

    async fn is_tombstoned(&self, id: Uuid) -> Result<bool> {
        self.read(|c| {
            Ok(
                c.prepare_cached("SELECT 1 FROM tombstones WHERE customer_id = ?1")?
                    .query_row([id.as_bytes().as_slice()], |_| Ok(()))
                    .optional()?
                    .is_some(),
            )
        })
    }

    async fn list_interactions(
        &self,
        customer: Uuid,
        after: Option<(i64, Uuid)>,
        limit: usize,
    ) -> Result<Vec<InteractionRow>> {
        self.read(|c| {
            // Newest first; the cursor is the last (occurred_at, id) seen.
            let (at, id) = after.unwrap_or((i64::MAX, Uuid::max()));
            let mut stmt = c.prepare_cached(
                "SELECT id, kind, occurred_at, sealed, created_at FROM interactions
                 WHERE customer_id = ?1 AND (occurred_at < ?2 OR (occurred_at = ?2 AND id < ?3))
                 ORDER BY occurred_at DESC, id DESC LIMIT ?4",
            )?;
            let rows = stmt.query_map(
                params![
                    customer.as_bytes().as_slice(),
                    at,
                    id.as_bytes().as_slice(),
                    limit as i64
                ],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                    ))
                },
            )?;
            rows.map(|r| {
                let (id, kind, occurred_at, sealed, created_at) = r?;
                Ok(InteractionRow {
                    id: uuid_from(id)?,
                    customer_id: customer,
                    kind,
                    occurred_at,
                    sealed,
                    created_at,
                })
            })
            .collect()
        })
    }

    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>> {
        self.write(move |tx| append_audit_tx(tx, records)).await
    }

    async fn audit_page(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT seq, at, actor, role, action, purpose, targets, fields, detail, prev_hash, hash
                 FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![after_seq, limit as i64], audit_from)?;
            rows.map(|r| {
                let (raw, seq, prev, hash) = r?;
                raw.into_entry(seq, &prev, &hash)
            })
            .collect()
        })
    }

    async fn audit_search(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        self.read(|c| {
            // One snapshot for the listed entries and the scan past them.
            let tx = c.unchecked_transaction()?;
            let listed = match f.target.as_deref().and_then(target_id) {
                Some(id) => Some((id, listed_upto(&tx)?)),
                None => None,
            };
            let mut out = Vec::new();
            for (source, after) in audit_reads(f, listed) {
                if out.len() == f.limit {
                    break;
                }
                out.extend(audit_query(&tx, &source, after, f, f.limit - out.len())?);
            }
            Ok(out)
        })
    }

    async fn index_audit_targets(&self, max: usize) -> Result<usize> {
        // Read and sorted on a reader, so that the writer is held only for the inserts.
        let (upto, entries) = self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let upto = listed_upto(&tx)?;
            let entries: Vec<(i64, String)> = tx
                .prepare_cached(
                    "SELECT seq, targets FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )?
                .query_map(params![upto, max as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok((upto, entries))
        })?;
        let Some(&(last, _)) = entries.last() else {
            return Ok(0);
        };
        let listed = listed_targets(entries.iter().map(|(seq, t)| (*seq, t.as_str())))?;
        let count = entries.len();
        self.write(move |tx| {
            if listed_upto(tx)? != upto {
                // Another pass listed these meanwhile.
                return Ok(0);
            }
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO audit_targets (target, seq) VALUES (?1, ?2)",
            )?;
            for (id, seq) in &listed {
                insert.execute(params![id.as_bytes().as_slice(), seq])?;
            }
            tx.prepare_cached("UPDATE audit_targets_upto SET seq = ?1 WHERE id = 1")?
                .execute([last])?;
            Ok(count)
        })
        .await
    }

    async fn audit_head(&self) -> Result<(i64, Hash)> {
        self.read(head)
    }

    async fn signed_head(&self) -> Result<Option<SignedHead>> {
        self.read(signed_head)
    }

    async fn sign_head_as_is(&self) -> Result<Option<SignedHead>> {
        let heads = self.heads.clone();
        self.write(move |tx| {
            let found = head_row(tx)?;
            if found.signature.is_none() {
                let signed = heads.sign(found.seq, found.hash, found.at);
                tx.prepare_cached("UPDATE audit_head SET signature = ?1 WHERE id = 1")?
                    .execute(params![signed.signature])?;
            }
            Ok(())
        })
        .await?;
        self.read(signed_head)
    }

    async fn create_user(&self, u: &UserRow, audit: AuditRecord) -> Result<()> {
        let u = u.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO users (id, email, role, purposes, password_hash, disabled, created_at, totp_secret)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    u.id.as_bytes().as_slice(),
                    u.email,
                    u.role,
                    to_json(&u.purposes),
                    u.password_hash,
                    u.disabled,
                    u.created_at,
                    u.totp_secret
                ],
            )
            .map_err(|e| map_unique(e, "email"))?;
            append_audit_tx(tx, vec![audit])?;
            Ok(())
        }).await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        self.read(|c| {
            c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE email = ?1"))?
                .query_row([email], user_from)
                .optional()?
                .map(finish_user)
                .transpose()
        })
    }

    async fn create_token(&self, t: &TokenRow, audit: AuditRecord) -> Result<()> {
        let t = t.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO api_tokens (id, token_hash, name, role, purposes, created_by, created_at, expires_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    t.id.as_bytes().as_slice(),
                    &t.token_hash[..],
                    t.name,
                    t.role,
                    to_json(&t.purposes),
                    t.created_by,
                    t.created_at,
                    t.expires_at,
                    t.revoked_at
                ],
            )?;
            append_audit_tx(tx, vec![audit])?;
            Ok(())
        }).await
    }

    async fn find_token(&self, hash: &[u8; 32]) -> Result<Option<TokenRow>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = ?1"
            ))?
            .query_row([&hash[..]], token_from)
            .optional()?
            .map(finish_token)
            .transpose()
        })
    }

    async fn list_users(&self) -> Result<Vec<UserRow>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached(&format!("SELECT {USER_COLS} FROM users ORDER BY email"))?;
            let rows = stmt.query_map([], user_from)?;
            rows.map(|r| finish_user(r?)).collect()
        })
    }

    async fn update_user(
        &self,
        id: Uuid,
        role: Option<&str>,
        disabled: Option<bool>,
        at: i64,
        audit: AuditRecord,
    ) -> Result<bool> {
        let role = role.map(str::to_string);
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE users SET role = coalesce(?2, role), disabled = coalesce(?3, disabled) WHERE id = ?1",
                params![id.as_bytes().as_slice(), role, disabled],
            )?;
            if n > 0 {
                tx.execute(
                    "UPDATE api_tokens SET revoked_at = ?2
                     WHERE created_by = ?1 AND name = 'session' AND revoked_at IS NULL",
                    params![format!("user:{id}"), at],
                )?;
                append_audit_tx(tx, vec![audit])?;
            }
            Ok(n > 0)
        }).await
    }

    async fn set_password(
        &self,
        id: Uuid,
        password_hash: &str,
        at: i64,
        audit: AuditRecord,
    ) -> Result<bool> {
        let password_hash = password_hash.to_string();
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE users SET password_hash = ?2, failed_logins = 0
                 WHERE id = ?1",
                params![id.as_bytes().as_slice(), password_hash],
            )?;
            if n > 0 {
                tx.execute(
                    "UPDATE api_tokens SET revoked_at = ?2
                     WHERE created_by = ?1 AND name = 'session' AND revoked_at IS NULL",
                    params![format!("user:{id}"), at],
                )?;
                append_audit_tx(tx, vec![audit])?;
            }
            Ok(n > 0)
        })
        .await
    }

    async fn record_login_failure(&self, id: Uuid) -> Result<i64> {
        self.write(move |tx| {
            Ok(tx.query_row(
                "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?1 RETURNING failed_logins",
                [id.as_bytes().as_slice()],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn reset_login_failures(&self, id: Uuid) -> Result<()> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE users SET failed_logins = 0 WHERE id = ?1",
                [id.as_bytes().as_slice()],
            )?;
            Ok(())
        })
        .await
    }

    async fn set_totp_secret(
        &self,
        id: Uuid,
        sealed: Option<&[u8]>,
        audit: AuditRecord,
    ) -> Result<()> {
        let sealed = sealed.map(<[u8]>::to_vec);
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE users SET totp_secret = ?2 WHERE id = ?1",
                params![id.as_bytes().as_slice(), sealed],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            append_audit_tx(tx, vec![audit])?;
            Ok(())
        })
        .await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRow>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached(&format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY id"))?;
            let rows = stmt.query_map([], token_from)?;
            rows.map(|r| finish_token(r?)).collect()
        })
    }

    async fn revoke_token(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id.as_bytes().as_slice(), at],
            )?;
            if n > 0 {
                append_audit_tx(tx, vec![audit])?;
            }
            Ok(n > 0)
        })
        .await
    }

    async fn import_job(&self, fingerprint: &str) -> Result<Option<ImportJob>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT byte_offset, line, imported, rejected, reject_len, finished, updated_at
                 FROM import_jobs WHERE fingerprint = ?1",
            )?
            .query_row([fingerprint], |r| {
                Ok(ImportJob {
                    fingerprint: fingerprint.to_string(),
                    byte_offset: r.get::<_, i64>(0)? as u64,
                    line: r.get::<_, i64>(1)? as u64,
                    imported: r.get::<_, i64>(2)? as u64,
                    rejected: r.get::<_, i64>(3)? as u64,
                    reject_len: r.get::<_, i64>(4)? as u64,
                    finished: r.get(5)?,
                    updated_at: r.get(6)?,
                })
            })
            .optional()
            .map_err(Into::into)
        })
    }

    async fn consents(&self, customer: Uuid) -> Result<Vec<ConsentEvent>> {
        self.read(|c| current_consents(c, customer))
    }

    async fn customer_with_consents(
        &self,
        id: Uuid,
    ) -> Result<Option<(CustomerRow, Vec<ConsentEvent>)>> {
        self.read(|c| {
            // One snapshot for both reads.
            let tx = c.unchecked_transaction()?;
            let Some(row) = customer_by_id(&tx, id)? else {
                return Ok(None);
            };
            Ok(Some((row, current_consents(&tx, id)?)))
        })
    }

    async fn create_notice(&self, n: &NoticeRow, audit: AuditRecord) -> Result<()> {
        let n = n.clone();
        self.write(move |tx| {
            tx.prepare_cached(&format!(
                "INSERT INTO notices ({NOTICE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))?
            .execute(params![
                n.id.as_bytes().as_slice(),
                n.version,
                n.language,
                n.effective_at,
                n.material,
                n.body,
                n.summaries,
                n.created_at,
                n.published_at
            ])
            .map_err(|e| map_unique(e, "version"))?;
            append_audit_tx(tx, vec![audit])?;
            Ok(())
        })
        .await
    }

    async fn publish_notice(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        self.write(move |tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE notices SET published_at = ?2 WHERE id = ?1 AND published_at IS NULL",
                )?
                .execute(params![id.as_bytes().as_slice(), at])?;
            if n > 0 {
                append_audit_tx(tx, vec![audit])?;
            }
            Ok(n > 0)
        })
        .await
    }

    async fn notices(&self) -> Result<Vec<NoticeRow>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {NOTICE_COLS} FROM notices ORDER BY created_at DESC, version DESC"
            ))?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    NoticeRow {
                        id: Uuid::nil(),
                        version: r.get(1)?,
                        language: r.get(2)?,
                        effective_at: r.get(3)?,
                        material: r.get(4)?,
                        body: r.get(5)?,
                        summaries: r.get(6)?,
                        created_at: r.get(7)?,
                        published_at: r.get(8)?,
                    },
                ))
            })?;
            rows.map(|r| {
                let (id, mut row) = r?;
                row.id = uuid_from(id)?;
                Ok(row)
            })
            .collect()
        })
    }

    async fn count_segment(&self, q: &SegmentQuery) -> Result<u64> {
        let seg = segment_sql(q, None, false, &|n| format!("?{n}"));
        let sql = format!("SELECT COUNT(*) {}", seg.from_where);
        let args = sqlite_args(seg.args);
        self.read(|c| {
            let n: i64 = c
                .prepare_cached(&sql)?
                .query_row(rusqlite::params_from_iter(args), |r| r.get(0))?;
            Ok(n as u64)
        })
    }

    async fn segment_page(
        &self,
        q: &SegmentQuery,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<CustomerRow>> {
        let seg = segment_sql(q, after, true, &|n| format!("?{n}"));
        let sql = format!(
            "SELECT {CUSTOMER_COLS} {} ORDER BY {} LIMIT {limit}",
            seg.from_where, seg.id_column
        );
        let args = sqlite_args(seg.args);
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args), customer_from)?;
            rows.map(|r| finish_customer(r?)).collect()
        })
    }

    async fn consent_event(&self, id: Uuid) -> Result<Option<ConsentEvent>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {CONSENT_COLS} FROM consent_events WHERE id = ?1"
            ))?
            .query_row([id.as_bytes().as_slice()], consent_from)
            .optional()?
            .map(finish_consent)
            .transpose()
        })
    }

    async fn lapsed_consents(
        &self,
        now: i64,
        given_since: Option<i64>,
        limit: usize,
    ) -> Result<Vec<ConsentEvent>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {CONSENT_COLS} FROM consent_current
                 WHERE state = 'given' AND (expires_at <= ?1 OR at < ?2)
                 ORDER BY customer_id LIMIT ?3"
            ))?;
            let rows = stmt.query_map(
                params![now, given_since.unwrap_or(i64::MIN), limit as i64],
                consent_from,
            )?;
            rows.map(|r| finish_consent(r?)).collect()
        })
    }

    async fn consent_history(&self, customer: Uuid) -> Result<Vec<ConsentEvent>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {CONSENT_COLS} FROM consent_events WHERE customer_id = ?1 ORDER BY at, id"
            ))?;
            let rows = stmt.query_map([customer.as_bytes().as_slice()], consent_from)?;
            rows.map(|r| finish_consent(r?)).collect()
        })
    }

    async fn claim_mail(&self, now: i64, lease_until: i64, limit: usize) -> Result<Vec<OutboxRow>> {
        self.write(move |tx| mail::claim(tx, now, lease_until, limit))
            .await
    }

    async fn finish_mail(&self, delivery: &Delivery) -> Result<()> {
        let delivery = delivery.clone();
        self.write(move |tx| mail::finish(tx, &delivery)).await
    }

    async fn customer_mail(&self, customer: Uuid) -> Result<Vec<OutboxRow>> {
        self.read(|c| mail::customer_mail(c, customer))
    }

    async fn deliveries(&self, message: Uuid) -> Result<Vec<Delivery>> {
        self.read(|c| mail::deliveries(c, message))
    }

    async fn find_link(&self, token_hash: &[u8; 32]) -> Result<Option<MailLink>> {
        self.read(|c| mail::find_link(c, token_hash))
    }

    async fn signup(&self, id: Uuid) -> Result<Option<SignupRow>> {
        self.read(|c| signups::signup(c, id))
    }

    async fn expired_signups(&self, now: i64, limit: usize) -> Result<Vec<Uuid>> {
        self.read(|c| signups::expired(c, now, limit))
    }

    async fn drop_signups(&self, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let ids = ids.to_vec();
        self.write(move |tx| signups::drop(tx, &ids)).await
    }

    async fn portal_code(&self, address: &[u8], now: i64) -> Result<Option<PortalCode>> {
        self.read(|c| portal::code(c, address, now))
    }

    async fn check_portal_code(
        &self,
        code: Uuid,
        now: i64,
        matched: bool,
        max_attempts: i64,
        session: &PortalSession,
        audit: AuditRecord,
    ) -> Result<CodeCheck> {
        let session = session.clone();
        self.write(move |tx| {
            let outcome = portal::check_code(tx, code, now, matched, max_attempts, &session)?;
            append_audit_tx(tx, vec![audit])?;
            Ok(outcome)
        })
        .await
    }

    async fn portal_session(&self, token_hash: &[u8; 32]) -> Result<Option<PortalSession>> {
        self.read(|c| portal::session(c, token_hash))
    }

    async fn touch_portal_session(&self, token_hash: &[u8; 32], at: i64, end: bool) -> Result<()> {
        let token_hash = *token_hash;
        self.write(move |tx| portal::touch_session(tx, &token_hash, at, end))
            .await
    }

    async fn create_segment(&self, segment: &SegmentRow, audit: AuditRecord) -> Result<()> {
        let segment = segment.clone();
        self.write(move |tx| {
            campaigns::create_segment(tx, &segment)?;
            append_audit_tx(tx, vec![audit])?;
            Ok(())
        })
        .await
    }

    async fn segments(&self) -> Result<Vec<SegmentRow>> {
        self.read(campaigns::segments)
    }

    async fn segment(&self, id: Uuid) -> Result<Option<SegmentRow>> {
        self.read(|c| campaigns::segment(c, id))
    }

    async fn create_campaign(&self, campaign: &CampaignRow, audit: AuditRecord) -> Result<()> {
        let campaign = campaign.clone();
        self.write(move |tx| {
            campaigns::create_campaign(tx, &campaign)?;
            append_audit_tx(tx, vec![audit])?;
            Ok(())
        })
        .await
    }

    async fn campaigns(&self) -> Result<Vec<CampaignRow>> {
        self.read(campaigns::campaigns)
    }

    async fn campaign(&self, id: Uuid) -> Result<Option<CampaignRow>> {
        self.read(|c| campaigns::campaign(c, id))
    }

    async fn campaign_mailed(&self, campaign: Uuid, customers: &[Uuid]) -> Result<Vec<Uuid>> {
        self.read(|c| campaigns::mailed(c, campaign, customers))
    }

    async fn campaign_counts(&self, campaign: Uuid) -> Result<MailCounts> {
        self.read(|c| campaigns::counts(c, campaign))
    }

    async fn request(&self, id: Uuid) -> Result<Option<RequestRow>> {
        self.read(|c| requests::request(c, id))
    }

    async fn requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRow>> {
        self.read(|c| requests::requests(c, filter))
    }

    async fn suppressed(&self, digests: &[IndexDigest]) -> Result<Vec<IndexDigest>> {
        self.read(|c| requests::suppressed(c, digests))
    }

    async fn recipient_updates(&self, customer: Uuid) -> Result<Vec<RecipientUpdate>> {
        self.read(|c| requests::recipient_updates(c, customer))
    }

    async fn seed_retention_rules(&self, rules: &[StoredRule]) -> Result<()> {
        let rules = rules.to_vec();
        self.write(move |tx| retention::seed_rules(tx, &rules))
            .await
    }

    async fn retention_rules(&self) -> Result<Vec<StoredRule>> {
        self.read(retention::rules)
    }

    async fn create_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<()> {
        let rule = rule.clone();
        self.write(move |tx| {
            retention::create_rule(tx, &rule)?;
            append_audit_tx(tx, vec![audit]).map(|_| ())
        })
        .await
    }

    async fn update_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<bool> {
        let rule = rule.clone();
        self.write(move |tx| {
            if !retention::update_rule(tx, &rule)? {
                return Ok(false);
            }
            append_audit_tx(tx, vec![audit]).map(|_| true)
        })
        .await
    }

    async fn legal_holds(&self) -> Result<Vec<LegalHold>> {
        self.read(retention::holds)
    }

    async fn create_legal_hold(&self, hold: &LegalHold, audit: AuditRecord) -> Result<()> {
        let hold = hold.clone();
        self.write(move |tx| {
            retention::create_hold(tx, &hold)?;
            append_audit_tx(tx, vec![audit]).map(|_| ())
        })
        .await
    }

    async fn release_legal_hold(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        self.write(move |tx| {
            if !retention::release_hold(tx, id, at)? {
                return Ok(false);
            }
            append_audit_tx(tx, vec![audit]).map(|_| true)
        })
        .await
    }

    async fn save_retention_run(&self, run: &RetentionRun) -> Result<()> {
        let run = run.clone();
        self.write(move |tx| retention::save_run(tx, &run)).await
    }

    async fn retention_run(&self, id: Uuid) -> Result<Option<RetentionRun>> {
        self.read(|c| retention::run(c, id))
    }

    async fn retention_runs(&self, limit: usize) -> Result<Vec<RetentionRun>> {
        self.read(|c| retention::runs(c, limit))
    }

    async fn due_records(&self, query: &DueQuery) -> Result<Vec<FoundRecord>> {
        self.read(|c| retention::due(c, query))
    }

    async fn count_due(&self, query: &DueQuery) -> Result<u64> {
        let all = DueQuery {
            after: None,
            limit: usize::MAX >> 1,
            ..query.clone()
        };
        self.read(|c| retention::count_due(c, &all))
    }

    async fn sweep(&self, batch: SweepBatch) -> Result<Vec<DueRecord>> {
        self.write(move |tx| retention::sweep(tx, batch)).await
    }

    async fn retention_counts(&self, run: Uuid) -> Result<Vec<(String, u64)>> {
        self.read(|c| retention::counts(c, run))
    }

    async fn retention_actions(&self, run: Uuid) -> Result<Vec<RetentionAction>> {
        self.read(|c| retention::actions(c, run))
    }

    async fn find_idempotent(
        &self,
        key_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<IdempotentRow>> {
        self.read(|c| {
            let found = c
                .prepare_cached(
                    "SELECT fingerprint, customer_id, response, created_at, expires_at
                     FROM idempotency_keys WHERE key_hash = ?1 AND expires_at > ?2",
                )?
                .query_row(params![key_hash.as_slice(), now], |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .optional()?;
            found
                .map(
                    |(fingerprint, customer, response, created_at, expires_at)| {
                        Ok(IdempotentRow {
                            key_hash: *key_hash,
                            fingerprint: hash32(&fingerprint)?,
                            customer_id: uuid_from(customer)?,
                            response,
                            created_at,
                            expires_at,
                        })
                    },
                )
                .transpose()
        })
    }

    async fn touch_token(&self, id: Uuid, at: i64) -> Result<()> {
        self.write(move |tx| {
            tx.prepare_cached("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1")?
                .execute(params![id.as_bytes().as_slice(), at])?;
            Ok(())
        })
        .await
    }

    async fn customer_stats(&self, created_since: i64) -> Result<CustomerStats> {
        self.read(|c| {
            let by_residency = c
                .prepare_cached(
                    "SELECT residency, COUNT(*) FROM customers GROUP BY residency ORDER BY 2 DESC, 1",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))?
                .collect::<rusqlite::Result<_>>()?;
            let created_per_day = c
                .prepare_cached(
                    "SELECT created_at / ?1 AS day, COUNT(*) FROM customers WHERE created_at >= ?2
                     GROUP BY day ORDER BY day",
                )?
                .query_map(params![MICROS_PER_DAY, created_since], |r| {
                    Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(CustomerStats {
                by_residency,
                created_per_day,
            })
        })
    }

    async fn consent_stats(&self, since: i64) -> Result<ConsentStats> {
        self.read(|c| {
            let current = c
                .prepare_cached(
                    "SELECT purpose, state, COUNT(*) FROM consent_current GROUP BY purpose, state ORDER BY 1, 2",
                )?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)))?
                .collect::<rusqlite::Result<_>>()?;
            let per_day = c
                .prepare_cached(
                    "SELECT at / ?1 AS day, purpose, state, COUNT(*) FROM consent_events WHERE at >= ?2
                     GROUP BY day, purpose, state ORDER BY day, purpose, state",
                )?
                .query_map(params![MICROS_PER_DAY, since], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? as u64))
                })?
                .collect::<rusqlite::Result<_>>()?;
            Ok(ConsentStats { current, per_day })
        })
    }

    async fn audit_activity(&self, since: i64) -> Result<Vec<ActivityCount>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT at / ?1 AS day, role, purpose, action, COUNT(*) FROM audit_log
                 WHERE at >= ?2 GROUP BY day, role, purpose, action ORDER BY day",
            )?
            .query_map(params![MICROS_PER_DAY, since], |r| {
                Ok(ActivityCount {
                    day: r.get(0)?,
                    role: r.get(1)?,
                    purpose: r.get(2)?,
                    action: r.get(3)?,
                    count: r.get::<_, i64>(4)? as u64,
                })
            })?
            .collect::<rusqlite::Result<_>>()
            .map_err(Into::into)
        })
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::*;

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
