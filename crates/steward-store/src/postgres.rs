//! The scale-out engine: PostgreSQL through tokio-postgres with a deadpool pool. Several
//! Steward instances may share one database: the audit chain's head is a locked row, and
//! migrations run under an advisory lock.

mod accounts;
mod audit_log;
mod campaigns;
mod consent_ledger;
mod customers;
mod exec;
mod idempotency;
mod mail;
mod notices;
mod portal;
mod reports;
mod requests;
mod retention;
mod signups;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use std::sync::Arc;

use steward_core::audit::{AuditEntry, AuditRecord, Hash, HeadSigner, SignedHead};

use crate::audit_head::{FoundHead, HeadKeeper};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use crate::records::{
    decode_index_keys, encode_index_keys, hash32, listed_targets, merge_index_keys, target_id,
};
use crate::repos::*;
use crate::sql::audit_search::audit_reads;
use crate::{
    ActivityCount, AuditFilter, ChangeSet, ConsentEvent, ConsentStats, CustomerFilter, CustomerRow,
    CustomerStats, CustomerUpdate, CustomerWrite, Erasure, IdempotentRow, ImportJob, IndexDigest,
    IndexEntry, InteractionRow, NoticeRow, Result, SegmentQuery, StoreError, TokenRow, UserRow,
    migrations,
};

pub struct PostgresStore {
    pool: Pool,
    heads: HeadKeeper,
}

/// Key for the advisory lock that serialises migrations across instances.
const MIGRATION_LOCK: i64 = 0x0053_5445_5741_5244;

fn map_unique(e: tokio_postgres::Error, field: &str) -> StoreError {
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        StoreError::Duplicate {
            field: field.to_string(),
        }
    } else {
        e.into()
    }
}

impl PostgresStore {
    /// Starts a write transaction whose audit entries this store's keeper signs.
    async fn begin<'a>(
        &'a self,
        client: &'a mut deadpool_postgres::Client,
    ) -> Result<exec::PgTx<'a>> {
        Ok(exec::PgTx {
            tx: client.transaction().await?,
            heads: &self.heads,
        })
    }

    /// Connects and migrates; `heads` signs the audit chain's head in every transaction
    /// that appends to it.
    pub async fn connect(
        url: &str,
        max_connections: usize,
        heads: Arc<dyn HeadSigner>,
    ) -> Result<PostgresStore> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::open("database URL", e))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections)
            .build()
            .map_err(|e| StoreError::open("database pool", e))?;
        let store = PostgresStore {
            pool,
            heads: HeadKeeper::new(heads),
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut client = self.pool.get().await?;
        client
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
            )
            .await
            .or_else(|e| if e.code() == Some(&SqlState::UNIQUE_VIOLATION) { Ok(()) } else { Err(e) })?;
        for (version, sql) in migrations::POSTGRES {
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            let v = *version as i32;
            let done = tx
                .query_opt("SELECT 1 FROM schema_migrations WHERE version = $1", &[&v])
                .await?;
            if done.is_none() {
                tx.batch_execute(sql)
                    .await
                    .map_err(|e| StoreError::Migration {
                        version: *version,
                        source: Box::new(e.into()),
                    })?;
                tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[&v])
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }
}

/// Appends entries after the head, locked for the transaction, and signs the new head in the
/// same transaction: no commit leaves an entry that no signed head covers.
pub(super) async fn append_audit_tx(
    tx: &Transaction<'_>,
    heads: &HeadKeeper,
    records: Vec<AuditRecord>,
) -> Result<Vec<AuditEntry>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let row = tx
        .query_opt(
            "SELECT seq, hash, at, signature FROM audit_head WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await?
        .ok_or_else(|| StoreError::Corrupt("the audit log's head is missing".into()))?;
    let found = FoundHead {
        seq: row.get(0),
        hash: hash32(row.get::<_, &[u8]>(1))?,
        at: row.get(2),
        signature: row.get(3),
    };
    heads.check(&found)?;
    let out = crate::sql::audit_log::append_after(tx, found.seq, found.hash, records).await?;
    let (seq, hash) = out
        .last()
        .map_or((found.seq, found.hash), |e| (e.seq, e.hash));
    let at = out.last().map_or(0, |e| e.record.at);
    let signed = heads.sign(seq, hash, at);
    crate::sql::audit_log::move_head(tx, seq, &hash, at, Some(&signed.signature)).await?;
    Ok(out)
}

async fn insert_entries(tx: &Transaction<'_>, id: &Uuid, entries: &[IndexEntry]) -> Result<()> {
    for e in entries {
        let sql = if e.unique {
            "INSERT INTO unique_index (field, digest, customer_id) VALUES ($1, $2, $3)"
        } else {
            "INSERT INTO blind_index (field, digest, customer_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
        };
        let stmt = tx.prepare_cached(sql).await?;
        tx.execute(&stmt, &[&e.field, &&e.digest[..], id])
            .await
            .map_err(|err| map_unique(err, &e.field))?;
    }
    Ok(())
}

async fn delete_entries(tx: &Transaction<'_>, id: &Uuid, entries: &[IndexEntry]) -> Result<()> {
    for e in entries {
        let table = if e.unique {
            "unique_index"
        } else {
            "blind_index"
        };
        tx.execute(
            &format!("DELETE FROM {table} WHERE field = $1 AND digest = $2 AND customer_id = $3"),
            &[&e.field, &&e.digest[..], id],
        )
        .await?;
    }
    Ok(())
}

async fn replace_tags(
    tx: &Transaction<'_>,
    id: &Uuid,
    tags: &[String],
    had_tags: bool,
) -> Result<()> {
    if had_tags {
        tx.execute("DELETE FROM customer_tags WHERE customer_id = $1", &[id])
            .await?;
    }
    if !tags.is_empty() {
        tx.execute(
            "INSERT INTO customer_tags (tag, customer_id) SELECT DISTINCT unnest($1::text[]), $2::uuid ON CONFLICT DO NOTHING",
            &[&tags, id],
        )
        .await?;
    }
    Ok(())
}

async fn insert_customer(tx: &Transaction<'_>, w: &CustomerWrite) -> Result<()> {
    let r = &w.row;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO customers (id, residency, status, fields, index_keys, version, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &r.id,
            &r.residency,
            &r.status,
            &r.fields,
            &encode_index_keys(&w.index),
            &r.version,
            &r.created_at,
            &r.updated_at,
        ],
    )
    .await
    .map_err(|e| map_unique(e, "id"))?;
    replace_tags(tx, &r.id, &r.tags, false).await?;
    insert_entries(tx, &r.id, &w.index).await
}

async fn update_customer(tx: &Transaction<'_>, u: &CustomerUpdate) -> Result<()> {
    let r = &u.write.row;
    let current = tx
        .query_opt(
            "SELECT version, index_keys FROM customers WHERE id = $1 FOR UPDATE",
            &[&r.id],
        )
        .await?;
    let current = current.ok_or(StoreError::NotFound)?;
    if current.get::<_, i64>(0) != u.expected_version {
        return Err(StoreError::Conflict);
    }
    let (kept, removed) = merge_index_keys(
        decode_index_keys(current.get::<_, &[u8]>(1))?,
        &u.write.index,
        &u.replaced_index_fields,
    );
    delete_entries(tx, &r.id, &removed).await?;
    tx.execute(
        "UPDATE customers SET residency = $2, status = $3, fields = $4, index_keys = $5, version = $6, updated_at = $7
         WHERE id = $1",
        &[&r.id, &r.residency, &r.status, &r.fields, &encode_index_keys(&kept), &r.version, &r.updated_at],
    )
    .await?;
    replace_tags(tx, &r.id, &r.tags, true).await?;
    insert_entries(tx, &r.id, &u.write.index).await
}

/// A read-only transaction that sees one snapshot throughout.
async fn snapshot(client: &mut deadpool_postgres::Client) -> Result<Transaction<'_>> {
    Ok(client
        .build_transaction()
        .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await?)
}

/// Deletes a customer's rows and index entries and leaves a tombstone; false when there is
/// no such customer.
pub(super) async fn erase_rows(tx: &Transaction<'_>, id: &Uuid, at: i64) -> Result<bool> {
    let Some(row) = tx
        .query_opt(
            "SELECT index_keys FROM customers WHERE id = $1 FOR UPDATE",
            &[id],
        )
        .await?
    else {
        return Ok(false);
    };
    delete_entries(tx, id, &decode_index_keys(row.get::<_, &[u8]>(0))?).await?;
    // What a retried create must find to know the customer was erased, and no more.
    tx.execute(
        "UPDATE idempotency_keys SET fingerprint = decode(repeat('00', 32), 'hex'), response = ''::bytea WHERE customer_id = $1",
        &[id],
    )
    .await?;
    crate::sql::customers::erase_rows(tx, *id, at).await?;
    Ok(true)
}

/// Applies a change set inside a transaction the caller commits.
pub(super) async fn apply_tx(
    tx: &Transaction<'_>,
    heads: &HeadKeeper,
    changes: ChangeSet,
) -> Result<Vec<AuditEntry>> {
    if let Some(spent) = &changes.spend_link {
        crate::sql::outbox::spend_link(tx, spent).await?;
    }
    if let Some(step) = &changes.campaign_step {
        crate::sql::campaigns::step(tx, step).await?;
    }
    // The kept answer goes in before anything else, so a second use of a key is reported as
    // such, not as whatever else of the same request collides with the first.
    if let Some(kept) = &changes.idempotency {
        crate::sql::idempotency::save(tx, kept).await?;
    }
    for w in &changes.inserts {
        insert_customer(tx, w).await?;
    }
    for u in &changes.updates {
        update_customer(tx, u).await?;
    }
    for i in &changes.interactions {
        tx.execute(
            "INSERT INTO interactions (id, customer_id, kind, occurred_at, sealed, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &i.id,
                &i.customer_id,
                &i.kind,
                &i.occurred_at,
                &i.sealed,
                &i.created_at,
            ],
        )
        .await
        .map_err(|e| {
            if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) {
                StoreError::NotFound
            } else {
                e.into()
            }
        })?;
    }
    if let Some(job) = &changes.import_job {
        crate::sql::customers::save_job(tx, job).await?;
    }
    for (customer, purpose, expected) in &changes.consent_guards {
        let current: Option<Uuid> = tx
            .query_opt(
                "SELECT id FROM consent_current WHERE customer_id = $1 AND purpose = $2 FOR UPDATE",
                &[customer, purpose],
            )
            .await?
            .map(|r| r.get(0));
        if current != Some(*expected) {
            return Err(StoreError::Conflict);
        }
    }
    for event in &changes.consents {
        crate::sql::consent_ledger::save(tx, event).await?;
    }
    crate::sql::outbox::save(tx, &changes).await?;
    if let Some(code) = &changes.portal_code {
        portal::save_code(tx, code).await?;
    }
    requests::save(tx, &changes).await?;
    signups::save(tx, &changes).await?;
    append_audit_tx(tx, heads, changes.audit).await
}

#[async_trait]
impl Changes for PostgresStore {
    async fn apply(&self, changes: ChangeSet) -> Result<Vec<AuditEntry>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let entries = apply_tx(&tx, &self.heads, changes).await?;
        tx.commit().await?;
        Ok(entries)
    }

    async fn erase_customer(&self, erasure: Erasure) -> Result<bool> {
        let id = erasure.id;
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if !erase_rows(&tx, &id, erasure.at).await? {
            return Ok(false);
        }
        apply_tx(&tx, &self.heads, erasure.with).await?;
        requests::erase(&tx, &id, erasure.suppress.as_ref(), erasure.at).await?;
        tx.commit().await?;
        Ok(true)
    }
}
