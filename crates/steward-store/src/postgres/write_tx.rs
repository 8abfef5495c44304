//! PostgreSQL's write transaction: the shared SQL runs on it, and what the engines do each
//! their own way (appending to the audit chain under the head's row lock, taking locks) is
//! done here.

use deadpool_postgres::Transaction;
use steward_core::audit::{AuditEntry, AuditRecord};

use super::audit_log::append_audit_tx;
use super::listen::REVOKED_CHANNEL;
use crate::audit_head::HeadKeeper;
use crate::sql::{Exec, Insert, Lock, Row, Sql, Value, WriteTx, args};
use crate::{Result, Revoked, StoreError};

/// A write transaction and the keeper that signs the audit chain's head it moves.
pub(crate) struct PgTx<'a> {
    pub(crate) tx: Transaction<'a>,
    pub(crate) heads: &'a HeadKeeper,
}

impl PgTx<'_> {
    pub(crate) async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }
}

impl Exec for PgTx<'_> {
    async fn execute(&self, sql: &Sql, args: &[Value<'_>]) -> Result<u64> {
        Exec::execute(&self.tx, sql, args).await
    }

    async fn execute_each<'v, const N: usize>(
        &self,
        sql: &Sql,
        rows: &[[Value<'v>; N]],
    ) -> std::result::Result<(), (usize, StoreError)> {
        Exec::execute_each(&self.tx, sql, rows).await
    }

    async fn insert<'v, const N: usize>(
        &self,
        sql: &Insert,
        rows: &[[Value<'v>; N]],
    ) -> Result<()> {
        Exec::insert(&self.tx, sql, rows).await
    }

    async fn query<T>(
        &self,
        sql: &Sql,
        args: &[Value<'_>],
        row: impl FnMut(&dyn Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        Exec::query(&self.tx, sql, args, row).await
    }

    async fn query_text<T>(
        &self,
        sql: &str,
        args: &[Value<'_>],
        row: impl FnMut(&dyn Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        Exec::query_text(&self.tx, sql, args, row).await
    }

    async fn query_opt<T>(
        &self,
        sql: &Sql,
        args: &[Value<'_>],
        row: impl FnOnce(&dyn Row) -> Result<T>,
    ) -> Result<Option<T>> {
        Exec::query_opt(&self.tx, sql, args, row).await
    }
}

static LOCK_SIGNUP: Sql = Sql::for_update("SELECT 1 FROM signups WHERE id = ?1");
/// A transaction-scoped advisory lock, since an address that was never sent a code has no
/// row to lock.
static LOCK_ADDRESS: Sql =
    Sql::new("SELECT pg_advisory_xact_lock(hashtextextended(encode(?1, 'hex'), 0))");

/// Seeded apart from addresses' locks, though a shared hash would only make one wait.
static LOCK_CONSENTS: Sql =
    Sql::new("SELECT pg_advisory_xact_lock(hashtextextended(CAST(CAST(?1 AS uuid) AS text), 1))");

static LOCK_TEST_SENDS: Sql = Sql::new("SELECT pg_advisory_xact_lock(hashtextextended(?1, 2))");

/// Delivered by the server only once the transaction commits, and not at all if it rolls
/// back, so no instance evicts for a revocation that did not happen.
static NOTIFY_REVOKED: Sql = Sql::new("SELECT pg_notify(?1, ?2)");

impl WriteTx for PgTx<'_> {
    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>> {
        append_audit_tx(&self.tx, self.heads, records).await
    }

    async fn lock(&self, lock: Lock<'_>) -> Result<()> {
        match lock {
            Lock::Signup(id) => Exec::execute(self, &LOCK_SIGNUP, &args![id]).await?,
            Lock::Address(address) => Exec::execute(self, &LOCK_ADDRESS, &args![address]).await?,
            Lock::Consents(customer) => {
                Exec::execute(self, &LOCK_CONSENTS, &args![customer]).await?
            }
            Lock::TestSends(actor) => Exec::execute(self, &LOCK_TEST_SENDS, &args![actor]).await?,
        };
        Ok(())
    }

    async fn revoked(&self, revoked: Revoked) -> Result<()> {
        let payload = revoked.to_string();
        Exec::execute(self, &NOTIFY_REVOKED, &args![REVOKED_CHANNEL, &payload]).await?;
        Ok(())
    }
}
