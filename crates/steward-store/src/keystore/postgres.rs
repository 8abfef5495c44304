//! The key store as a PostgreSQL database of its own, shared by every instance. Destroying
//! keys notifies the other instances in the same transaction (`steward_keys`, the customers'
//! ids), so that none keeps a destroyed key in its cache.
//!
//! PostgreSQL has nothing like SQLite's `secure_delete`: a deleted key stays in dead tuples
//! until vacuumed, and in the write-ahead log and backups for as long as they are kept. What
//! makes those copies useless is retiring the key-encryption key version that wrapped it
//! (rotate, rewrap, retire), on the schedule backups are kept.

use std::collections::HashMap;

use deadpool_postgres::Pool;
use steward_core::audit::SignedHead;
use uuid::Uuid;

use super::{KekUsage, KekVersionRow, PendingBatch, Rewrapped, StoredKey};
use crate::Result;
use crate::migrations::KEYSTORE_POSTGRES;
use crate::postgres::dedicated::{self, Dedicated};
use crate::postgres::exec::{execute_arrays, query_arrays};
use crate::postgres::listen::Listener;
use crate::postgres::tls::{PgTarget, parse_url};
use crate::postgres::{MigrationSet, migrate, pool, refuse_if_holds};
use crate::sql::keystore as q;
use crate::sql::{Row, Sql};

/// The channel destroyed keys are announced on, with the customers' ids.
pub const KEYS_CHANNEL: &str = "steward_keys";
/// Ids per notification: a payload may hold 8,000 bytes, an id and its comma take 37.
const IDS_PER_NOTICE: usize = 200;

const MIGRATIONS: MigrationSet = MigrationSet {
    table: "keystore_migrations",
    // "STEWKEYS": apart from the data database's lock, should both be on one server.
    lock: 0x5354_4557_4b45_5953,
    list: KEYSTORE_POSTGRES,
};

/// Locks the version's row in share mode until the writer commits, so that a retirement
/// waits for the keys being written with it (and then counts them) or has already happened
/// (and they are refused).
static IS_RETIRED_LOCKED: Sql =
    Sql::new("SELECT retired_at IS NOT NULL FROM kek_versions WHERE version = ?1 FOR SHARE");
static INSERT_DATA_KEYS: Sql = Sql::new(
    "INSERT INTO data_keys (customer_id, kek_version, wrapped)
     SELECT * FROM unnest(?1::uuid[], ?2::bigint[], ?3::bytea[])",
);
static DATA_KEYS: Sql =
    Sql::new("SELECT customer_id, kek_version, wrapped FROM data_keys WHERE customer_id = ANY(?1)");
static DELETE_DATA_KEYS: Sql =
    Sql::new("DELETE FROM data_keys WHERE customer_id = ANY(?1) RETURNING customer_id");
static NOTIFY: Sql = Sql::new("SELECT pg_notify(?1, ?2)");
static TRY_JOB_LOCK: Sql =
    Sql::new("SELECT pg_try_advisory_lock(hashtextextended('steward-import:' || ?1, 0))");

pub(super) struct PgKeys {
    pool: Pool,
    target: PgTarget,
}

/// A run's lock as a session-level advisory lock, held on a connection of its own.
pub(super) struct SessionLock {
    _conn: Dedicated,
}

impl PgKeys {
    pub(super) async fn connect(url: &str) -> Result<PgKeys> {
        let target = parse_url(url, "keystore_url")?;
        let pool = pool(&target, 8).await?;
        refuse_if_holds(&pool, &target, "schema_migrations", "customer data").await?;
        migrate(&pool, &MIGRATIONS).await?;
        Ok(PgKeys { pool, target })
    }

    pub(super) async fn try_job_lock(&self, job: &str) -> Result<Option<SessionLock>> {
        let conn = dedicated::connect(&self.target, "steward-import-lock").await?;
        let row = conn
            .client
            .query_one(TRY_JOB_LOCK.postgres(), &[&job])
            .await?;
        Ok(row
            .try_get::<_, bool>(0)?
            .then_some(SessionLock { _conn: conn }))
    }

    pub(super) fn listen(&self) -> Listener {
        Listener::start(
            self.target.config.clone(),
            self.target.connector.clone(),
            KEYS_CHANNEL,
        )
    }

    pub(super) async fn put_data_keys(
        &self,
        keys: &[(Uuid, StoredKey)],
        pending: Option<(Uuid, &str)>,
    ) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        q::refuse_retired(
            &tx,
            &IS_RETIRED_LOCKED,
            &keys.iter().map(|(_, k)| k.kek_version).collect::<Vec<_>>(),
        )
        .await?;
        let ids: Vec<Uuid> = keys.iter().map(|(id, _)| *id).collect();
        let versions: Vec<i64> = keys.iter().map(|(_, k)| i64::from(k.kek_version)).collect();
        let wrapped: Vec<&[u8]> = keys.iter().map(|(_, k)| k.bytes.as_slice()).collect();
        execute_arrays(&tx, &INSERT_DATA_KEYS, &[&ids, &versions, &wrapped]).await?;
        if let Some((batch, job)) = pending {
            q::insert_pending(&tx, batch, job, &ids).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn settle(&self, batch: Uuid) -> Result<()> {
        q::settle(&self.pool.get().await?, batch).await
    }

    pub(super) async fn pending_batches(&self) -> Result<Vec<PendingBatch>> {
        q::pending_batches(&self.pool.get().await?).await
    }

    pub(super) async fn data_key(&self, id: Uuid) -> Result<Option<StoredKey>> {
        q::data_key(&self.pool.get().await?, id).await
    }

    pub(super) async fn data_keys(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, StoredKey>> {
        let client = self.pool.get().await?;
        let rows = query_arrays(&client, &DATA_KEYS, &[&ids]).await?;
        let mut out = HashMap::with_capacity(rows.len());
        for r in &rows {
            out.insert(r.try_get(0)?, q::stored_key(r as &dyn Row, 1)?);
        }
        Ok(out)
    }

    /// Deletes the keys and announces whose they were, in one transaction: the other
    /// instances hear of it only once it is committed.
    pub(super) async fn destroy(&self, ids: &[Uuid], pending: Option<Uuid>) -> Result<usize> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let gone = query_arrays(&tx, &DELETE_DATA_KEYS, &[&ids]).await?;
        let gone: Vec<Uuid> = gone
            .iter()
            .map(|r| r.try_get(0))
            .collect::<std::result::Result<_, _>>()?;
        for chunk in gone.chunks(IDS_PER_NOTICE) {
            let payload = chunk
                .iter()
                .map(Uuid::to_string)
                .collect::<Vec<_>>()
                .join(",");
            tx.query(NOTIFY.postgres(), &[&KEYS_CHANNEL, &payload])
                .await?;
        }
        if let Some(batch) = pending {
            q::settle(&tx, batch).await?;
        }
        tx.commit().await?;
        Ok(gone.len())
    }

    pub(super) async fn count_data_keys(&self) -> Result<u64> {
        q::count_data_keys(&self.pool.get().await?).await
    }

    pub(super) async fn secret(&self, name: &str) -> Result<Option<StoredKey>> {
        q::secret(&self.pool.get().await?, name).await
    }

    pub(super) async fn put_secrets_or_get(
        &self,
        secrets: &[(String, StoredKey)],
    ) -> Result<Vec<(String, StoredKey)>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        q::refuse_retired(
            &tx,
            &IS_RETIRED_LOCKED,
            &secrets
                .iter()
                .map(|(_, k)| k.kek_version)
                .collect::<Vec<_>>(),
        )
        .await?;
        let mut stored = Vec::with_capacity(secrets.len());
        for (name, key) in secrets {
            stored.push((name.clone(), q::put_secret_or_get(&tx, name, key).await?));
        }
        tx.commit().await?;
        Ok(stored)
    }

    pub(super) async fn record_kek_version(&self, version: u32, at: i64) -> Result<()> {
        q::record_kek_version(&self.pool.get().await?, version, at).await
    }

    pub(super) async fn kek_versions(&self) -> Result<Vec<KekVersionRow>> {
        q::kek_versions(&self.pool.get().await?).await
    }

    pub(super) async fn kek_usage(&self) -> Result<HashMap<u32, KekUsage>> {
        q::kek_usage(&self.pool.get().await?).await
    }

    pub(super) async fn data_keys_below(
        &self,
        below: u32,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<(Uuid, StoredKey)>> {
        q::data_keys_below(&self.pool.get().await?, below, after, limit).await
    }

    pub(super) async fn replace_data_keys(&self, keys: &[Rewrapped<Uuid>]) -> Result<usize> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        q::refuse_retired(
            &tx,
            &IS_RETIRED_LOCKED,
            &keys.iter().map(|k| k.key.kek_version).collect::<Vec<_>>(),
        )
        .await?;
        let n = q::replace_data_keys(&tx, keys).await?;
        tx.commit().await?;
        Ok(n)
    }

    pub(super) async fn secrets_below(&self, below: u32) -> Result<Vec<(String, StoredKey)>> {
        q::secrets_below(&self.pool.get().await?, below).await
    }

    pub(super) async fn replace_secrets(&self, keys: &[Rewrapped<String>]) -> Result<usize> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        q::refuse_retired(
            &tx,
            &IS_RETIRED_LOCKED,
            &keys.iter().map(|k| k.key.kek_version).collect::<Vec<_>>(),
        )
        .await?;
        let n = q::replace_secrets(&tx, keys).await?;
        tx.commit().await?;
        Ok(n)
    }

    pub(super) async fn retire_kek_version(&self, version: u32, at: i64) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if !q::retire_kek_version(&tx, version, at).await? {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    pub(super) async fn mark_kek_compromised(
        &self,
        version: u32,
        at: i64,
        reason: &str,
    ) -> Result<Option<KekVersionRow>> {
        q::mark_kek_compromised(&self.pool.get().await?, version, at, reason).await
    }

    pub(super) async fn witnessed_head(&self) -> Result<Option<SignedHead>> {
        q::witnessed_head(&self.pool.get().await?).await
    }

    pub(super) async fn put_witnessed_head(&self, head: &SignedHead) -> Result<()> {
        q::put_witnessed_head(&self.pool.get().await?, head).await
    }
}
