//! Retention rules, legal holds, runs and the records they act on, in PostgreSQL.

use super::*;

use deadpool_postgres::Transaction;

use super::{erase_rows, requests};
use crate::sql::retention as shared;
use crate::sql::sweep::{count_due, due, swept_audit};
use crate::{
    DueQuery, DueRecord, FoundRecord, LegalHold, RetentionAction, RetentionRun, StoredRule,
    SweepBatch,
};

async fn sweep(
    tx: &Transaction<'_>,
    heads: &crate::audit_head::HeadKeeper,
    batch: SweepBatch,
) -> Result<Vec<DueRecord>> {
    let mut done = Vec::with_capacity(batch.records.len());
    // The row is the record of the act: a record another run acted on is left alone. Two
    // runs inserting one row at once wait for each other, and the second inserts nothing.
    let record = tx
        .prepare_cached(
            "INSERT INTO retention_actions (rule_key, record_id, run_id, customer_id, anchor_at, due_at, done_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (rule_key, record_id) DO NOTHING",
        )
        .await?;
    for r in &batch.records {
        let id = r.record_id;
        let first = tx
            .execute(
                &record,
                &[
                    &batch.rule_key,
                    &id,
                    &batch.run.id,
                    &r.customer_id,
                    &r.anchor_at,
                    &r.due_at,
                    &batch.at,
                ],
            )
            .await?;
        if first == 0 {
            continue;
        }
        let acted = match (batch.record.as_str(), batch.action.as_str()) {
            ("customer", "erase") => {
                let erased = erase_rows(tx, &id, batch.at).await?;
                if erased {
                    requests::erase(tx, &id, None, batch.at).await?;
                    requests::record_erasure(tx, id, batch.at).await?;
                }
                erased
            }
            ("interaction", "delete") => {
                tx.execute("DELETE FROM interactions WHERE id = $1", &[&id])
                    .await?
                    > 0
            }
            ("interaction", "anonymise") => {
                tx.execute(
                    "UPDATE interactions SET sealed = $2 WHERE id = $1",
                    &[&id, &batch.blank],
                )
                .await?
                    > 0
            }
            ("request", "delete") => {
                tx.execute("DELETE FROM requests WHERE id = $1", &[&id])
                    .await?
                    > 0
            }
            (record, action) => {
                return Err(StoreError::Corrupt(format!(
                    "a {record} rule cannot {action}"
                )));
            }
        };
        // Gone meanwhile by other means (an erasure on request): nothing was done here.
        if !acted {
            tx.execute(
                "DELETE FROM retention_actions WHERE rule_key = $1 AND record_id = $2",
                &[&batch.rule_key, &id],
            )
            .await?;
            continue;
        }
        done.push(*r);
    }
    append_audit_tx(tx, heads, swept_audit(batch.audit, &done)).await?;
    shared::save_run(tx, &batch.run).await?;
    Ok(done)
}

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
        let tx = client.transaction().await?;
        let done = sweep(&tx, &self.heads, batch).await?;
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
