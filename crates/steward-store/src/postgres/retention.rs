//! Retention rules, legal holds, runs and the records they act on, in PostgreSQL.

use super::*;

use crate::sql::retention as shared;
use crate::sql::sweep::{count_due, due, sweep};
use crate::{
    DueQuery, DueRecord, FoundRecord, LegalHold, RetentionAction, RetentionRun, StoredRule,
    SweepBatch,
};

#[async_trait]
impl Retention for PostgresStore {
    async fn seed_retention_rules(&self, rules: &[StoredRule]) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        shared::seed_rules(&tx, rules).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn retention_rules(&self) -> Result<Vec<StoredRule>> {
        shared::rules(&self.pool.get().await?).await
    }

    async fn create_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        shared::create_rule(&tx, rule, audit).await?;
        tx.commit().await
    }

    async fn update_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let updated = shared::update_rule(&tx, rule, audit).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn legal_holds(&self) -> Result<Vec<LegalHold>> {
        shared::holds(&self.pool.get().await?).await
    }

    async fn create_legal_hold(&self, hold: &LegalHold, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        shared::create_hold(&tx, hold, audit).await?;
        tx.commit().await
    }

    async fn release_legal_hold(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let released = shared::release_hold(&tx, id, at, audit).await?;
        tx.commit().await?;
        Ok(released)
    }

    async fn save_retention_run(&self, run: &RetentionRun) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        shared::save_run(&tx, run).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn take_over_retention_run(&self, id: Uuid, seen: i64, now: i64) -> Result<bool> {
        shared::take_over_run(&self.pool.get().await?, id, seen, now).await
    }

    async fn retention_run(&self, id: Uuid) -> Result<Option<RetentionRun>> {
        shared::run(&self.pool.get().await?, id).await
    }

    async fn retention_runs(&self, limit: usize) -> Result<Vec<RetentionRun>> {
        shared::runs(&self.pool.get().await?, limit).await
    }

    async fn due_records(&self, query: &DueQuery) -> Result<Vec<FoundRecord>> {
        due(&self.pool.get().await?, query).await
    }

    async fn count_due(&self, query: &DueQuery) -> Result<u64> {
        count_due(&self.pool.get().await?, query).await
    }

    async fn sweep(&self, batch: SweepBatch) -> Result<Vec<DueRecord>> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let done = sweep(&tx, batch).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn retention_counts(&self, run: Uuid) -> Result<Vec<(String, u64)>> {
        shared::counts(&self.pool.get().await?, run).await
    }

    async fn retention_actions(&self, run: Uuid) -> Result<Vec<RetentionAction>> {
        shared::actions(&self.pool.get().await?, run).await
    }
}
