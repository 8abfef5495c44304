//! The scale-out engine: PostgreSQL through tokio-postgres with a deadpool pool. Several
//! Steward instances may share one database: the audit chain's head is a locked row, and
//! migrations run under an advisory lock.

mod accounts;
mod audit_log;
mod breaches;
mod campaigns;
mod companies;
mod consent_ledger;
mod customers;
pub(crate) mod dedicated;
pub(crate) mod exec;
mod idempotency;
mod leases;
pub mod listen;
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
pub(crate) mod tls;
mod views;
mod webhooks;
mod write_tx;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use std::sync::Arc;

use steward_core::audit::{AuditEntry, AuditRecord, Hash, HeadSigner, SignedHead};

use crate::audit_head::HeadKeeper;
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::records::listed_targets;
use crate::repos::*;
use crate::sql::changes;
use crate::{
    ActivityCount, AuditFilter, AuditWindow, ChangeSet, ConsentEvent, ConsentProof, ConsentStats,
    CustomerFilter, CustomerRow, CustomerStats, Erasure, IdempotentRow, ImportJob, IndexDigest,
    InteractionRow, NoticeRow, Result, SegmentQuery, SignInFailures, StoreError, TokenRow, UserRow,
    WindowEntry, migrations,
};

pub struct PostgresStore {
    pool: Pool,
    heads: HeadKeeper,
    /// How to reach the database again, for a listener's connection of its own.
    config: tokio_postgres::Config,
    tls: Option<tls::RustlsConnect>,
}

/// Key for the advisory lock that serialises migrations across instances.
const MIGRATION_LOCK: i64 = 0x0053_5445_5741_5244;

impl PostgresStore {
    /// Starts a write transaction whose audit entries this store's keeper signs.
    async fn begin<'a>(
        &'a self,
        client: &'a mut deadpool_postgres::Client,
    ) -> Result<write_tx::PgTx<'a>> {
        Ok(write_tx::PgTx {
            tx: client.transaction().await?,
            heads: &self.heads,
        })
    }

    /// Connects and migrates; `heads` signs the audit chain's head in every transaction
    /// that appends to it. `url` is the `database_url` setting: its `sslmode` and
    /// `sslrootcert` are honoured as libpq does, and a failure names the setting, never the
    /// password.
    pub async fn connect(
        url: &str,
        max_connections: usize,
        heads: Arc<dyn HeadSigner>,
    ) -> Result<PostgresStore> {
        let target = tls::parse_url(url, "database_url")?;
        let store = PostgresStore {
            pool: pool(&target, max_connections).await?,
            heads: HeadKeeper::new(heads),
            config: target.config.clone(),
            tls: target.connector.clone(),
        };
        refuse_if_holds(&store.pool, &target, "keystore_migrations", "the key store").await?;
        migrate(&store.pool, &DATA_MIGRATIONS).await?;
        Ok(store)
    }

    /// Listens on `channel` of this database, over the same TLS, until the listener is
    /// dropped.
    pub fn listen(&self, channel: &'static str) -> listen::Listener {
        listen::Listener::start(self.config.clone(), self.tls.clone(), channel)
    }
}

/// Which migrations a database takes, where it records them, and the advisory lock that
/// serialises them across instances.
pub(crate) struct MigrationSet {
    pub(crate) table: &'static str,
    pub(crate) lock: i64,
    pub(crate) list: &'static [(u32, &'static str)],
}

const DATA_MIGRATIONS: MigrationSet = MigrationSet {
    table: "schema_migrations",
    lock: MIGRATION_LOCK,
    list: migrations::POSTGRES,
};

/// A pool for `target`, and its first connection made at once: a server that cannot be
/// reached or trusted is reported as the setting that names it, and why.
pub(crate) async fn pool(target: &tls::PgTarget, max_connections: usize) -> Result<Pool> {
    let config = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = match &target.connector {
        Some(tls) => Manager::from_config(target.config.clone(), tls.clone(), config),
        None => Manager::from_config(target.config.clone(), NoTls, config),
    };
    let pool = Pool::builder(manager)
        .max_size(max_connections)
        .build()
        .map_err(|e| StoreError::open("database pool", e))?;
    drop(pool.get().await.map_err(|e| target.explain(e.into()))?);
    Ok(pool)
}

/// Refuses a database that already holds `table`, the mark of `what`: the key store and the
/// data must never share a database, or a copy of one would be a copy of both.
pub(crate) async fn refuse_if_holds(
    pool: &Pool,
    target: &tls::PgTarget,
    table: &str,
    what: &str,
) -> Result<()> {
    let client = pool.get().await?;
    let row = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await?;
    if row.try_get::<_, bool>(0)? {
        return Err(StoreError::Database(format!(
            "{}: this database holds {what}; the data and the key store each need a database of their own",
            target.setting()
        )));
    }
    Ok(())
}

/// Applies the migrations of `set` not yet recorded, each in its own transaction under the
/// set's advisory lock.
pub(crate) async fn migrate(pool: &Pool, set: &MigrationSet) -> Result<()> {
    let mut client = pool.get().await?;
    // Under the lock too: `IF NOT EXISTS` does not keep two instances starting together from
    // both creating the table, and one of them failing on the other's row type.
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&set.lock])
        .await?;
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {} (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
        set.table
    ))
    .await?;
    tx.commit().await?;
    let done_sql = format!("SELECT 1 FROM {} WHERE version = $1", set.table);
    let record_sql = format!("INSERT INTO {} (version) VALUES ($1)", set.table);
    for (version, sql) in set.list {
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&set.lock])
            .await?;
        let v = *version as i32;
        if tx.query_opt(&done_sql, &[&v]).await?.is_none() {
            tx.batch_execute(sql)
                .await
                .map_err(|e| StoreError::Migration {
                    version: *version,
                    source: Box::new(e.into()),
                })?;
            tx.execute(&record_sql, &[&v]).await?;
        }
        tx.commit().await?;
    }
    Ok(())
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

#[async_trait]
impl Changes for PostgresStore {
    async fn apply(&self, changes: ChangeSet) -> Result<Vec<AuditEntry>> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let entries = changes::apply(&tx, changes).await?;
        tx.commit().await?;
        Ok(entries)
    }

    async fn erase_customer(&self, erasure: Erasure) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let erased = changes::erase(&tx, erasure).await?;
        tx.commit().await?;
        Ok(erased)
    }
}
