//! The scale-out engine: PostgreSQL through tokio-postgres with a deadpool pool. Several
//! Steward instances may share one database: the audit chain's head is a locked row, and
//! migrations run under an advisory lock.

mod campaigns;
mod mail;
mod portal;
mod requests;
mod retention;
mod signups;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use std::sync::Arc;

use steward_core::audit::{AuditEntry, AuditRecord, Hash, HeadSigner, SignedHead, chain_hash};

use crate::audit_head::{FoundHead, HeadKeeper};
use tokio_postgres::NoTls;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

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

pub struct PostgresStore {
    pool: Pool,
    heads: HeadKeeper,
}

/// Key for the advisory lock that serialises migrations across instances.
const MIGRATION_LOCK: i64 = 0x0053_5445_5741_5244;

pub(super) type BoxedArg = Box<dyn ToSql + Sync + Send>;

pub(super) fn postgres_args(args: &[Arg]) -> Vec<BoxedArg> {
    args.iter()
        .map(|a| -> BoxedArg {
            match a {
                Arg::Text(t) => Box::new(t.clone()),
                Arg::Int(i) => Box::new(*i),
                Arg::Id(id) => Box::new(*id),
            }
        })
        .collect()
}

pub(super) fn arg_refs(args: &[BoxedArg]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter()
        .map(|a| a.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

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
    /// Connects and migrates; `heads` signs the audit chain's head in every transaction
    /// that appends to it.
    pub async fn connect(
        url: &str,
        max_connections: usize,
        heads: Arc<dyn HeadSigner>,
    ) -> Result<PostgresStore> {
        let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
            StoreError::Database(format!("database URL: {e}"))
        })?;
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
            .map_err(|e| StoreError::Database(e.to_string()))?;
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
                        reason: e.to_string(),
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
    let (mut seq, mut prev) = (found.seq, found.hash);
    let stmt = tx
        .prepare_cached(
            "INSERT INTO audit_log (seq, at, actor, role, action, purpose, targets, fields, detail, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .await?;
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        seq += 1;
        let hash = chain_hash(&prev, seq, &record);
        tx.execute(
            &stmt,
            &[
                &seq,
                &record.at,
                &record.actor,
                &record.role,
                &record.action,
                &record.purpose,
                &to_json(&record.targets),
                &to_json(&record.fields),
                &record.detail,
                &&prev[..],
                &&hash[..],
            ],
        )
        .await?;
        out.push(AuditEntry {
            seq,
            record,
            prev_hash: prev,
            hash,
        });
        prev = hash;
    }
    let at = out.last().map_or(0, |e| e.record.at);
    let signed = heads.sign(seq, prev, at);
    tx.execute(
        "UPDATE audit_head SET seq = $1, hash = $2, at = $3, signature = $4 WHERE id = 1",
        &[&seq, &&prev[..], &at, &signed.signature],
    )
    .await?;
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

const CUSTOMER_COLS: &str =
    "c.id, c.residency, c.status, c.fields, c.version, c.created_at, c.updated_at,
     ARRAY(SELECT tag FROM customer_tags t WHERE t.customer_id = c.id ORDER BY tag)";

fn customer_from(r: &tokio_postgres::Row) -> CustomerRow {
    CustomerRow {
        id: r.get(0),
        residency: r.get(1),
        status: r.get(2),
        fields: r.get(3),
        version: r.get(4),
        created_at: r.get(5),
        updated_at: r.get(6),
        tags: r.get(7),
    }
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

async fn audit_query(
    tx: &Transaction<'_>,
    source: &AuditSource,
    after: i64,
    f: &AuditFilter,
    limit: usize,
) -> Result<Vec<AuditEntry>> {
    let (sql, args) = audit_sql(source, after, f, limit, "strpos", &|n| format!("${n}"));
    let args = postgres_args(&args);
    let rows = tx.query(&sql, &arg_refs(&args)).await?;
    rows.iter().map(audit_from).collect()
}

fn audit_from(r: &tokio_postgres::Row) -> Result<AuditEntry> {
    AuditRecordRaw {
        at: r.get(1),
        actor: r.get(2),
        role: r.get(3),
        action: r.get(4),
        purpose: r.get(5),
        targets: r.get(6),
        fields: r.get(7),
        detail: r.get(8),
    }
    .into_entry(r.get(0), r.get(9), r.get(10))
}

const USER_COLS: &str =
    "id, email, role, purposes, password_hash, disabled, created_at, totp_secret, failed_logins";
const TOKEN_COLS: &str = "id, token_hash, name, role, purposes, created_by, created_at, expires_at, revoked_at, last_used_at";

const NOTICE_COLS: &str =
    "id, version, language, effective_at, material, body, summaries, created_at, published_at";

const CONSENT_COLS: &str =
    "id, customer_id, purpose, state, notice_version, method, evidence, at, expires_at";

fn consent_args(e: &ConsentEvent) -> [&(dyn ToSql + Sync); 9] {
    [
        &e.id,
        &e.customer_id,
        &e.purpose,
        &e.state,
        &e.notice_version,
        &e.method,
        &e.evidence,
        &e.at,
        &e.expires_at,
    ]
}

async fn customer_by_id(
    client: &impl deadpool_postgres::GenericClient,
    id: Uuid,
) -> Result<Option<CustomerRow>> {
    let stmt = client
        .prepare_cached(&format!(
            "SELECT {CUSTOMER_COLS} FROM customers c WHERE c.id = $1"
        ))
        .await?;
    Ok(client
        .query_opt(&stmt, &[&id])
        .await?
        .map(|r| customer_from(&r)))
}

async fn current_consents(
    client: &impl deadpool_postgres::GenericClient,
    customer: Uuid,
) -> Result<Vec<ConsentEvent>> {
    let rows = client
        .query(
            &format!(
                "SELECT {CONSENT_COLS} FROM consent_current WHERE customer_id = $1 ORDER BY purpose"
            ),
            &[&customer],
        )
        .await?;
    Ok(rows.iter().map(consent_from).collect())
}

fn consent_from(r: &tokio_postgres::Row) -> ConsentEvent {
    ConsentEvent {
        id: r.get(0),
        customer_id: r.get(1),
        purpose: r.get(2),
        state: r.get(3),
        notice_version: r.get(4),
        method: r.get(5),
        evidence: r.get(6),
        at: r.get(7),
        expires_at: r.get(8),
    }
}

fn user_from(r: &tokio_postgres::Row) -> Result<UserRow> {
    Ok(UserRow {
        id: r.get(0),
        email: r.get(1),
        role: r.get(2),
        purposes: from_json(r.get(3))?,
        password_hash: r.get(4),
        disabled: r.get(5),
        created_at: r.get(6),
        totp_secret: r.get(7),
        failed_logins: r.get(8),
    })
}

fn token_from(r: &tokio_postgres::Row) -> Result<TokenRow> {
    Ok(TokenRow {
        id: r.get(0),
        token_hash: hash32(r.get::<_, &[u8]>(1))?,
        name: r.get(2),
        role: r.get(3),
        purposes: from_json(r.get(4))?,
        created_by: r.get(5),
        created_at: r.get(6),
        expires_at: r.get(7),
        revoked_at: r.get(8),
        last_used_at: r.get(9),
    })
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
    for sql in [
        "DELETE FROM interactions WHERE customer_id = $1",
        "DELETE FROM customer_tags WHERE customer_id = $1",
        // What a retried create must find to know the customer was erased, and no more.
        "UPDATE idempotency_keys SET fingerprint = decode(repeat('00', 32), 'hex'), response = ''::bytea WHERE customer_id = $1",
        "DELETE FROM consent_current WHERE customer_id = $1",
        "DELETE FROM consent_events WHERE customer_id = $1",
    ] {
        tx.execute(sql, &[id]).await?;
    }
    mail::erase(tx, id).await?;
    portal::erase(tx, id).await?;
    tx.execute("DELETE FROM customers WHERE id = $1", &[id])
        .await?;
    tx.execute(
        "INSERT INTO tombstones (customer_id, erased_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        &[id, &at],
    )
    .await?;
    Ok(true)
}

/// Applies a change set inside a transaction the caller commits.
pub(super) async fn apply_tx(
    tx: &Transaction<'_>,
    heads: &HeadKeeper,
    changes: ChangeSet,
) -> Result<Vec<AuditEntry>> {
    if let Some(spent) = &changes.spend_link {
        mail::spend_link(tx, spent).await?;
    }
    if let Some(step) = &changes.campaign_step {
        campaigns::step(tx, step).await?;
    }
    if let Some(kept) = &changes.idempotency {
        // Expired keys go first, so a key may be used again once its day is over. The
        // kept answer goes in before anything else, so a second use of a key is reported
        // as such, not as whatever else of the same request collides with the first.
        tx.execute(
            "DELETE FROM idempotency_keys WHERE expires_at <= $1",
            &[&kept.created_at],
        )
        .await?;
        tx.execute(
            "INSERT INTO idempotency_keys (key_hash, fingerprint, customer_id, response, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &kept.key_hash.as_slice(),
                &kept.fingerprint.as_slice(),
                &kept.customer_id,
                &kept.response,
                &kept.created_at,
                &kept.expires_at,
            ],
        )
        .await
        .map_err(|e| map_unique(e, IDEMPOTENCY_KEY))?;
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
    if let Some(j) = &changes.import_job {
        tx.execute(
            "INSERT INTO import_jobs (fingerprint, byte_offset, line, imported, rejected, reject_len, finished, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (fingerprint) DO UPDATE SET byte_offset = excluded.byte_offset, line = excluded.line,
               imported = excluded.imported, rejected = excluded.rejected, reject_len = excluded.reject_len,
               finished = excluded.finished, updated_at = excluded.updated_at",
            &[
                &j.fingerprint,
                &(j.byte_offset as i64),
                &(j.line as i64),
                &(j.imported as i64),
                &(j.rejected as i64),
                &(j.reject_len as i64),
                &j.finished,
                &j.updated_at,
            ],
        )
        .await?;
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
    for e in &changes.consents {
        let added = tx
            .execute(
                &format!(
                    "INSERT INTO consent_events ({CONSENT_COLS})
                     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS (SELECT 1 FROM customers WHERE id = $2)"
                ),
                &consent_args(e),
            )
            .await?;
        if added == 0 {
            return Err(StoreError::NotFound);
        }
        tx.execute(
            &format!(
                "INSERT INTO consent_current ({CONSENT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (customer_id, purpose) DO UPDATE SET id = excluded.id, state = excluded.state,
                   notice_version = excluded.notice_version, method = excluded.method,
                   evidence = excluded.evidence, at = excluded.at, expires_at = excluded.expires_at"
            ),
            &consent_args(e),
        )
        .await?;
    }
    mail::save(tx, &changes).await?;
    if let Some(code) = &changes.portal_code {
        portal::save_code(tx, code).await?;
    }
    requests::save(tx, &changes).await?;
    signups::save(tx, &changes).await?;
    append_audit_tx(tx, heads, changes.audit).await
}

#[async_trait]
impl Store for PostgresStore {
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

    async fn get_customer(&self, id: Uuid) -> Result<Option<CustomerRow>> {
        let client = self.pool.get().await?;
        customer_by_id(&client, id).await
    }

    async fn get_customers(&self, ids: &[Uuid]) -> Result<Vec<CustomerRow>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!("SELECT {CUSTOMER_COLS} FROM customers c WHERE c.id = ANY($1)"),
                &[&ids],
            )
            .await?;
        Ok(rows.iter().map(customer_from).collect())
    }

    async fn list_customers(&self, f: &CustomerFilter) -> Result<Vec<CustomerRow>> {
        let mut sql = format!("SELECT {CUSTOMER_COLS} FROM customers c WHERE TRUE");
        let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
        if let Some((field, digest)) = &f.index {
            args.push(Box::new(field.clone()));
            args.push(Box::new(digest.to_vec()));
            sql.push_str(
                " AND c.id IN (SELECT customer_id FROM unique_index WHERE field = $1 AND digest = $2
                  UNION ALL SELECT customer_id FROM blind_index WHERE field = $1 AND digest = $2)",
            );
        }
        let mut arg = |sql: &mut String, clause: &str, v: Box<dyn ToSql + Sync + Send>| {
            args.push(v);
            sql.push_str(&clause.replace('?', &format!("${}", args.len())));
        };
        if let Some(tag) = &f.tag {
            arg(
                &mut sql,
                " AND c.id IN (SELECT customer_id FROM customer_tags WHERE tag = ?)",
                Box::new(tag.clone()),
            );
        }
        if let Some(s) = &f.status {
            arg(&mut sql, " AND c.status = ?", Box::new(s.clone()));
        }
        if let Some(r) = &f.residency {
            arg(&mut sql, " AND c.residency = ?", Box::new(r.clone()));
        }
        for (bound, clause) in [
            (f.created_after, " AND c.created_at > ?"),
            (f.created_before, " AND c.created_at < ?"),
            (f.updated_after, " AND c.updated_at > ?"),
            (f.updated_before, " AND c.updated_at < ?"),
        ] {
            if let Some(b) = bound {
                arg(&mut sql, clause, Box::new(b));
            }
        }
        if let Some(after) = f.after {
            arg(&mut sql, " AND c.id > ?", Box::new(after));
        }
        arg(&mut sql, " ORDER BY c.id LIMIT ?", Box::new(f.limit as i64));
        let client = self.pool.get().await?;
        let params: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = client.query(&sql, &params).await?;
        Ok(rows.iter().map(customer_from).collect())
    }

    async fn count_customers(&self) -> Result<u64> {
        let client = self.pool.get().await?;
        let n: i64 = client
            .query_one("SELECT count(*) FROM customers", &[])
            .await?
            .get(0);
        Ok(n as u64)
    }

    async fn lookup_index(
        &self,
        field: &str,
        digests: &[IndexDigest],
    ) -> Result<Vec<(IndexDigest, Uuid)>> {
        let client = self.pool.get().await?;
        let list: Vec<&[u8]> = digests.iter().map(|d| &d[..]).collect();
        let rows = client
            .query(
                "SELECT digest, customer_id FROM unique_index WHERE field = $1 AND digest = ANY($2)
                 UNION ALL SELECT digest, customer_id FROM blind_index WHERE field = $1 AND digest = ANY($2)",
                &[&field, &list],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let d: &[u8] = r.get(0);
                let digest: IndexDigest = d
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("digest length".into()))?;
                Ok((digest, r.get(1)))
            })
            .collect()
    }

    async fn is_tombstoned(&self, id: Uuid) -> Result<bool> {
        let client = self.pool.get().await?;
        Ok(client
            .query_opt("SELECT 1 FROM tombstones WHERE customer_id = $1", &[&id])
            .await?
            .is_some())
    }

    async fn list_interactions(
        &self,
        customer: Uuid,
        after: Option<(i64, Uuid)>,
        limit: usize,
    ) -> Result<Vec<InteractionRow>> {
        let client = self.pool.get().await?;
        let (at, id) = after.unwrap_or((i64::MAX, Uuid::max()));
        let rows = client
            .query(
                "SELECT id, kind, occurred_at, sealed, created_at FROM interactions
                 WHERE customer_id = $1 AND (occurred_at, id) < ($2, $3)
                 ORDER BY occurred_at DESC, id DESC LIMIT $4",
                &[&customer, &at, &id, &(limit as i64)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| InteractionRow {
                id: r.get(0),
                customer_id: customer,
                kind: r.get(1),
                occurred_at: r.get(2),
                sealed: r.get(3),
                created_at: r.get(4),
            })
            .collect())
    }

    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let out = append_audit_tx(&tx, &self.heads, records).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn audit_page(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                "SELECT seq, at, actor, role, action, purpose, targets, fields, detail, prev_hash, hash
                 FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after_seq, &(limit as i64)],
            )
            .await?;
        rows.iter().map(audit_from).collect()
    }

    async fn audit_search(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut client = self.pool.get().await?;
        // One snapshot for the listed entries and the scan past them.
        let tx = snapshot(&mut client).await?;
        let listed = match f.target.as_deref().and_then(target_id) {
            Some(id) => Some((
                id,
                tx.query_one("SELECT seq FROM audit_targets_upto WHERE id = 1", &[])
                    .await?
                    .get::<_, i64>(0),
            )),
            None => None,
        };
        let mut out = Vec::new();
        for (source, after) in audit_reads(f, listed) {
            if out.len() == f.limit {
                break;
            }
            out.extend(audit_query(&tx, &source, after, f, f.limit - out.len()).await?);
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn index_audit_targets(&self, max: usize) -> Result<usize> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Taken for update: two servers on one database list each entry once.
        let upto: i64 = tx
            .query_one(
                "SELECT seq FROM audit_targets_upto WHERE id = 1 FOR UPDATE",
                &[],
            )
            .await?
            .get(0);
        let entries = tx
            .query(
                "SELECT seq, targets FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&upto, &(max as i64)],
            )
            .await?;
        let Some(last) = entries.last().map(|r| r.get::<_, i64>(0)) else {
            return Ok(0);
        };
        let listed = listed_targets(entries.iter().map(|r| (r.get(0), r.get(1))))?;
        let (ids, seqs): (Vec<Uuid>, Vec<i64>) = listed.into_iter().unzip();
        // One statement for all of them: an import's entry names every customer of its batch.
        tx.execute(
            "INSERT INTO audit_targets (target, seq) SELECT * FROM UNNEST($1::uuid[], $2::bigint[])
             ON CONFLICT DO NOTHING",
            &[&ids, &seqs],
        )
        .await?;
        tx.execute(
            "UPDATE audit_targets_upto SET seq = $1 WHERE id = 1",
            &[&last],
        )
        .await?;
        tx.commit().await?;
        Ok(entries.len())
    }

    async fn audit_head(&self) -> Result<(i64, Hash)> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                &[],
            )
            .await?;
        match row {
            Some(r) => Ok((r.get(0), hash32(r.get::<_, &[u8]>(1))?)),
            None => Ok((0, steward_core::audit::GENESIS)),
        }
    }

    async fn signed_head(&self) -> Result<Option<SignedHead>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT seq, hash, at, signature FROM audit_head WHERE id = 1",
                &[],
            )
            .await?;
        let Some(r) = row else { return Ok(None) };
        let Some(signature) = r.get::<_, Option<Vec<u8>>>(3) else {
            return Ok(None);
        };
        Ok(Some(SignedHead {
            seq: r.get(0),
            head: hash32(r.get::<_, &[u8]>(1))?,
            at: r.get(2),
            signature,
        }))
    }

    async fn sign_head_as_is(&self) -> Result<Option<SignedHead>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                "SELECT seq, hash, at FROM audit_head WHERE id = 1 AND signature IS NULL FOR UPDATE",
                &[],
            )
            .await?;
        if let Some(r) = row {
            let signed = self
                .heads
                .sign(r.get(0), hash32(r.get::<_, &[u8]>(1))?, r.get(2));
            tx.execute(
                "UPDATE audit_head SET signature = $1 WHERE id = 1",
                &[&signed.signature],
            )
            .await?;
        }
        tx.commit().await?;
        drop(client);
        self.signed_head().await
    }

    async fn create_user(&self, u: &UserRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO users (id, email, role, purposes, password_hash, disabled, created_at, totp_secret)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &u.id,
                &u.email,
                &u.role,
                &to_json(&u.purposes),
                &u.password_hash,
                &u.disabled,
                &u.created_at,
                &u.totp_secret,
            ],
        )
        .await
        .map_err(|e| map_unique(e, "email"))?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!("SELECT {USER_COLS} FROM users WHERE email = $1"),
                &[&email],
            )
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    async fn create_token(&self, t: &TokenRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO api_tokens (id, token_hash, name, role, purposes, created_by, created_at, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &t.id,
                &&t.token_hash[..],
                &t.name,
                &t.role,
                &to_json(&t.purposes),
                &t.created_by,
                &t.created_at,
                &t.expires_at,
                &t.revoked_at,
            ],
        )
        .await?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_token(&self, hash: &[u8; 32]) -> Result<Option<TokenRow>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = $1"),
                &[&&hash[..]],
            )
            .await?;
        row.as_ref().map(token_from).transpose()
    }

    async fn list_users(&self) -> Result<Vec<UserRow>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!("SELECT {USER_COLS} FROM users ORDER BY email"),
                &[],
            )
            .await?;
        rows.iter().map(user_from).collect()
    }

    async fn update_user(
        &self,
        id: Uuid,
        role: Option<&str>,
        disabled: Option<bool>,
        at: i64,
        audit: AuditRecord,
    ) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE users SET role = coalesce($2, role), disabled = coalesce($3, disabled) WHERE id = $1",
                &[&id, &role, &disabled],
            )
            .await?;
        if n > 0 {
            tx.execute(
                "UPDATE api_tokens SET revoked_at = $2
                 WHERE created_by = $1 AND name = 'session' AND revoked_at IS NULL",
                &[&format!("user:{id}"), &at],
            )
            .await?;
            append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn set_password(
        &self,
        id: Uuid,
        password_hash: &str,
        at: i64,
        audit: AuditRecord,
    ) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE users SET password_hash = $2, failed_logins = 0
                 WHERE id = $1",
                &[&id, &password_hash],
            )
            .await?;
        if n > 0 {
            tx.execute(
                "UPDATE api_tokens SET revoked_at = $2
                 WHERE created_by = $1 AND name = 'session' AND revoked_at IS NULL",
                &[&format!("user:{id}"), &at],
            )
            .await?;
            append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn record_login_failure(&self, id: Uuid) -> Result<i64> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
                &[&id],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn reset_login_failures(&self, id: Uuid) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute("UPDATE users SET failed_logins = 0 WHERE id = $1", &[&id])
            .await?;
        Ok(())
    }

    async fn set_totp_secret(
        &self,
        id: Uuid,
        sealed: Option<&[u8]>,
        audit: AuditRecord,
    ) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE users SET totp_secret = $2 WHERE id = $1",
                &[&id, &sealed],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRow>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY id"),
                &[],
            )
            .await?;
        rows.iter().map(token_from).collect()
    }

    async fn revoke_token(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &at],
            )
            .await?;
        if n > 0 {
            append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn import_job(&self, fingerprint: &str) -> Result<Option<ImportJob>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT byte_offset, line, imported, rejected, reject_len, finished, updated_at
                 FROM import_jobs WHERE fingerprint = $1",
                &[&fingerprint],
            )
            .await?;
        Ok(row.map(|r| ImportJob {
            fingerprint: fingerprint.to_string(),
            byte_offset: r.get::<_, i64>(0) as u64,
            line: r.get::<_, i64>(1) as u64,
            imported: r.get::<_, i64>(2) as u64,
            rejected: r.get::<_, i64>(3) as u64,
            reject_len: r.get::<_, i64>(4) as u64,
            finished: r.get(5),
            updated_at: r.get(6),
        }))
    }

    async fn consents(&self, customer: Uuid) -> Result<Vec<ConsentEvent>> {
        let client = self.pool.get().await?;
        current_consents(&client, customer).await
    }

    async fn customer_with_consents(
        &self,
        id: Uuid,
    ) -> Result<Option<(CustomerRow, Vec<ConsentEvent>)>> {
        let mut client = self.pool.get().await?;
        // One snapshot for both reads.
        let tx = snapshot(&mut client).await?;
        let Some(row) = customer_by_id(&tx, id).await? else {
            return Ok(None);
        };
        let consents = current_consents(&tx, id).await?;
        tx.commit().await?;
        Ok(Some((row, consents)))
    }

    async fn create_notice(&self, n: &NoticeRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            &format!(
                "INSERT INTO notices ({NOTICE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            &[
                &n.id,
                &n.version,
                &n.language,
                &n.effective_at,
                &n.material,
                &n.body,
                &n.summaries,
                &n.created_at,
                &n.published_at,
            ],
        )
        .await
        .map_err(|e| map_unique(e, "version"))?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn publish_notice(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE notices SET published_at = $2 WHERE id = $1 AND published_at IS NULL",
                &[&id, &at],
            )
            .await?;
        if n > 0 {
            append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn notices(&self) -> Result<Vec<NoticeRow>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {NOTICE_COLS} FROM notices ORDER BY created_at DESC, version DESC"
                ),
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| NoticeRow {
                id: r.get(0),
                version: r.get(1),
                language: r.get(2),
                effective_at: r.get(3),
                material: r.get(4),
                body: r.get(5),
                summaries: r.get(6),
                created_at: r.get(7),
                published_at: r.get(8),
            })
            .collect())
    }

    async fn count_segment(&self, q: &SegmentQuery) -> Result<u64> {
        let seg = segment_sql(q, None, false, &|n| format!("${n}"));
        let sql = format!("SELECT COUNT(*) {}", seg.from_where);
        let args = postgres_args(&seg.args);
        let client = self.pool.get().await?;
        let n: i64 = client.query_one(&sql, &arg_refs(&args)).await?.get(0);
        Ok(n as u64)
    }

    async fn segment_page(
        &self,
        q: &SegmentQuery,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<CustomerRow>> {
        let seg = segment_sql(q, after, true, &|n| format!("${n}"));
        let sql = format!(
            "SELECT {CUSTOMER_COLS} {} ORDER BY {} LIMIT {limit}",
            seg.from_where, seg.id_column
        );
        let args = postgres_args(&seg.args);
        let client = self.pool.get().await?;
        let rows = client.query(&sql, &arg_refs(&args)).await?;
        Ok(rows.iter().map(customer_from).collect())
    }

    async fn consent_event(&self, id: Uuid) -> Result<Option<ConsentEvent>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!("SELECT {CONSENT_COLS} FROM consent_events WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(consent_from))
    }

    async fn lapsed_consents(
        &self,
        now: i64,
        given_since: Option<i64>,
        limit: usize,
    ) -> Result<Vec<ConsentEvent>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {CONSENT_COLS} FROM consent_current
                     WHERE state = 'given' AND (expires_at <= $1 OR at < $2)
                     ORDER BY customer_id LIMIT $3"
                ),
                &[&now, &given_since.unwrap_or(i64::MIN), &(limit as i64)],
            )
            .await?;
        Ok(rows.iter().map(consent_from).collect())
    }

    async fn consent_history(&self, customer: Uuid) -> Result<Vec<ConsentEvent>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {CONSENT_COLS} FROM consent_events WHERE customer_id = $1 ORDER BY at, id"
                ),
                &[&customer],
            )
            .await?;
        Ok(rows.iter().map(consent_from).collect())
    }

    async fn claim_mail(&self, now: i64, lease_until: i64, limit: usize) -> Result<Vec<OutboxRow>> {
        let client = self.pool.get().await?;
        mail::claim(&client, now, lease_until, limit).await
    }

    async fn finish_mail(&self, delivery: &Delivery) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        mail::finish(&tx, delivery).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn customer_mail(&self, customer: Uuid) -> Result<Vec<OutboxRow>> {
        let client = self.pool.get().await?;
        mail::customer_mail(&client, customer).await
    }

    async fn deliveries(&self, message: Uuid) -> Result<Vec<Delivery>> {
        let client = self.pool.get().await?;
        mail::deliveries(&client, message).await
    }

    async fn find_link(&self, token_hash: &[u8; 32]) -> Result<Option<MailLink>> {
        let client = self.pool.get().await?;
        mail::find_link(&client, token_hash).await
    }

    async fn signup(&self, id: Uuid) -> Result<Option<SignupRow>> {
        signups::signup(&self.pool.get().await?, id).await
    }

    async fn expired_signups(&self, now: i64, limit: usize) -> Result<Vec<Uuid>> {
        signups::expired(&self.pool.get().await?, now, limit).await
    }

    async fn drop_signups(&self, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let dropped = signups::drop(&tx, ids).await?;
        tx.commit().await?;
        Ok(dropped)
    }

    async fn portal_code(&self, address: &[u8], now: i64) -> Result<Option<PortalCode>> {
        portal::code(&self.pool.get().await?, address, now).await
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
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let outcome = portal::check_code(&tx, code, now, matched, max_attempts, session).await?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn portal_session(&self, token_hash: &[u8; 32]) -> Result<Option<PortalSession>> {
        portal::session(&self.pool.get().await?, token_hash).await
    }

    async fn touch_portal_session(&self, token_hash: &[u8; 32], at: i64, end: bool) -> Result<()> {
        portal::touch_session(&self.pool.get().await?, token_hash, at, end).await
    }

    async fn create_segment(&self, segment: &SegmentRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        campaigns::create_segment(&tx, segment).await?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn segments(&self) -> Result<Vec<SegmentRow>> {
        campaigns::segments(&self.pool.get().await?).await
    }

    async fn segment(&self, id: Uuid) -> Result<Option<SegmentRow>> {
        campaigns::segment(&self.pool.get().await?, id).await
    }

    async fn create_campaign(&self, campaign: &CampaignRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        campaigns::create_campaign(&tx, campaign).await?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn campaigns(&self) -> Result<Vec<CampaignRow>> {
        campaigns::campaigns(&self.pool.get().await?).await
    }

    async fn campaign(&self, id: Uuid) -> Result<Option<CampaignRow>> {
        campaigns::campaign(&self.pool.get().await?, id).await
    }

    async fn campaign_mailed(&self, campaign: Uuid, customers: &[Uuid]) -> Result<Vec<Uuid>> {
        campaigns::mailed(&self.pool.get().await?, campaign, customers).await
    }

    async fn campaign_counts(&self, campaign: Uuid) -> Result<MailCounts> {
        campaigns::counts(&self.pool.get().await?, campaign).await
    }

    async fn request(&self, id: Uuid) -> Result<Option<RequestRow>> {
        requests::request(&self.pool.get().await?, id).await
    }

    async fn requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRow>> {
        requests::requests(&self.pool.get().await?, filter).await
    }

    async fn suppressed(&self, digests: &[IndexDigest]) -> Result<Vec<IndexDigest>> {
        requests::suppressed(&self.pool.get().await?, digests).await
    }

    async fn recipient_updates(&self, customer: Uuid) -> Result<Vec<RecipientUpdate>> {
        requests::recipient_updates(&self.pool.get().await?, customer).await
    }

    async fn seed_retention_rules(&self, rules: &[StoredRule]) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        retention::seed_rules(&tx, rules).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn retention_rules(&self) -> Result<Vec<StoredRule>> {
        retention::rules(&self.pool.get().await?).await
    }

    async fn create_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        retention::create_rule(&tx, rule).await?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if !retention::update_rule(&tx, rule).await? {
            return Ok(false);
        }
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn legal_holds(&self) -> Result<Vec<LegalHold>> {
        retention::holds(&self.pool.get().await?).await
    }

    async fn create_legal_hold(&self, hold: &LegalHold, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        retention::create_hold(&tx, hold).await?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn release_legal_hold(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if !retention::release_hold(&tx, id, at).await? {
            return Ok(false);
        }
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn save_retention_run(&self, run: &RetentionRun) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        retention::save_run(&tx, run).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn retention_run(&self, id: Uuid) -> Result<Option<RetentionRun>> {
        retention::run(&self.pool.get().await?, id).await
    }

    async fn retention_runs(&self, limit: usize) -> Result<Vec<RetentionRun>> {
        retention::runs(&self.pool.get().await?, limit).await
    }

    async fn due_records(&self, query: &DueQuery) -> Result<Vec<FoundRecord>> {
        retention::due(&self.pool.get().await?, query).await
    }

    async fn count_due(&self, query: &DueQuery) -> Result<u64> {
        let all = DueQuery {
            after: None,
            limit: usize::MAX >> 1,
            ..query.clone()
        };
        retention::count_due(&self.pool.get().await?, &all).await
    }

    async fn sweep(&self, batch: SweepBatch) -> Result<Vec<DueRecord>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let done = retention::sweep(&tx, &self.heads, batch).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn retention_counts(&self, run: Uuid) -> Result<Vec<(String, u64)>> {
        retention::counts(&self.pool.get().await?, run).await
    }

    async fn retention_actions(&self, run: Uuid) -> Result<Vec<RetentionAction>> {
        retention::actions(&self.pool.get().await?, run).await
    }

    async fn find_idempotent(
        &self,
        key_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<IdempotentRow>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT fingerprint, customer_id, response, created_at, expires_at
                 FROM idempotency_keys WHERE key_hash = $1 AND expires_at > $2",
                &[&key_hash.as_slice(), &now],
            )
            .await?;
        row.map(|r| {
            Ok(IdempotentRow {
                key_hash: *key_hash,
                fingerprint: hash32(r.get::<_, &[u8]>(0))?,
                customer_id: r.get(1),
                response: r.get(2),
                created_at: r.get(3),
                expires_at: r.get(4),
            })
        })
        .transpose()
    }

    async fn touch_token(&self, id: Uuid, at: i64) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1",
                &[&id, &at],
            )
            .await?;
        Ok(())
    }

    async fn customer_stats(&self, created_since: i64) -> Result<CustomerStats> {
        let client = self.pool.get().await?;
        let by_residency = client
            .query(
                "SELECT residency, COUNT(*) FROM customers GROUP BY residency ORDER BY 2 DESC, 1",
                &[],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect();
        let created_per_day = client
            .query(
                "SELECT created_at / $1 AS day, COUNT(*) FROM customers WHERE created_at >= $2
                 GROUP BY day ORDER BY day",
                &[&MICROS_PER_DAY, &created_since],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u64))
            .collect();
        Ok(CustomerStats {
            by_residency,
            created_per_day,
        })
    }

    async fn consent_stats(&self, since: i64) -> Result<ConsentStats> {
        let client = self.pool.get().await?;
        let current = client
            .query(
                "SELECT purpose, state, COUNT(*) FROM consent_current GROUP BY purpose, state ORDER BY 1, 2",
                &[],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get::<_, i64>(2) as u64))
            .collect();
        let per_day = client
            .query(
                "SELECT at / $1 AS day, purpose, state, COUNT(*) FROM consent_events WHERE at >= $2
                 GROUP BY day, purpose, state ORDER BY day, purpose, state",
                &[&MICROS_PER_DAY, &since],
            )
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get::<_, i64>(3) as u64))
            .collect();
        Ok(ConsentStats { current, per_day })
    }

    async fn audit_activity(&self, since: i64) -> Result<Vec<ActivityCount>> {
        let client = self.pool.get().await?;
        Ok(client
            .query(
                "SELECT at / $1 AS day, role, purpose, action, COUNT(*) FROM audit_log
                 WHERE at >= $2 GROUP BY day, role, purpose, action ORDER BY day",
                &[&MICROS_PER_DAY, &since],
            )
            .await?
            .iter()
            .map(|r| ActivityCount {
                day: r.get(0),
                role: r.get(1),
                purpose: r.get(2),
                action: r.get(3),
                count: r.get::<_, i64>(4) as u64,
            })
            .collect())
    }
}
