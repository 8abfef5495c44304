//! Retention rules, legal holds, runs and the records they act on, in SQLite.

use super::*;

use rusqlite::params;

use super::{erase_rows, requests};
use crate::sql::retention as shared;
use crate::sql::sweep::{count_due, due, swept_audit};
use crate::{
    DueQuery, DueRecord, FoundRecord, LegalHold, RetentionAction, RetentionRun, StoredRule,
    SweepBatch,
};

fn blob(id: &Uuid) -> &[u8] {
    id.as_bytes().as_slice()
}

fn sweep(tx: &Transaction, batch: SweepBatch) -> Result<Vec<DueRecord>> {
    let mut done = Vec::with_capacity(batch.records.len());
    for r in &batch.records {
        let key = blob(&r.record_id);
        // The row is the record of the act: a record another run acted on is left alone.
        let first = tx
            .prepare_cached(
                "INSERT INTO retention_actions (rule_key, record_id, run_id, customer_id, anchor_at, due_at, done_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (rule_key, record_id) DO NOTHING",
            )?
            .execute(params![
                batch.rule_key,
                key,
                blob(&batch.run.id),
                r.customer_id.as_ref().map(blob),
                r.anchor_at,
                r.due_at,
                batch.at
            ])?;
        if first == 0 {
            continue;
        }
        let acted = match (batch.record.as_str(), batch.action.as_str()) {
            ("customer", "erase") => {
                let erased = erase_rows(tx, key, batch.at)?;
                if erased {
                    requests::erase(tx, key, None, batch.at)?;
                    requests::record_erasure(tx, r.record_id, batch.at)?;
                }
                erased
            }
            ("interaction", "delete") => {
                tx.prepare_cached("DELETE FROM interactions WHERE id = ?1")?
                    .execute([key])?
                    > 0
            }
            ("interaction", "anonymise") => {
                tx.prepare_cached("UPDATE interactions SET sealed = ?2 WHERE id = ?1")?
                    .execute(params![key, batch.blank])?
                    > 0
            }
            ("request", "delete") => {
                tx.prepare_cached("DELETE FROM requests WHERE id = ?1")?
                    .execute([key])?
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
            tx.prepare_cached(
                "DELETE FROM retention_actions WHERE rule_key = ?1 AND record_id = ?2",
            )?
            .execute(params![batch.rule_key, key])?;
            continue;
        }
        done.push(*r);
    }
    append_audit_tx(tx, swept_audit(batch.audit, &done))?;
    ready(shared::save_run(tx, &batch.run))?;
    Ok(done)
}

#[async_trait]
impl Retention for SqliteStore {
    async fn seed_retention_rules(&self, rules: &[StoredRule]) -> Result<()> {
        let rules = rules.to_vec();
        self.write(move |tx| ready(shared::seed_rules(tx, &rules)))
            .await
    }

    async fn retention_rules(&self) -> Result<Vec<StoredRule>> {
        self.read(|c| ready(shared::rules(c)))
    }

    async fn create_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<()> {
        let rule = rule.clone();
        self.write(move |tx| ready(shared::create_rule(tx, &rule, audit)))
            .await
    }

    async fn update_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<bool> {
        let rule = rule.clone();
        self.write(move |tx| ready(shared::update_rule(tx, &rule, audit)))
            .await
    }

    async fn legal_holds(&self) -> Result<Vec<LegalHold>> {
        self.read(|c| ready(shared::holds(c)))
    }

    async fn create_legal_hold(&self, hold: &LegalHold, audit: AuditRecord) -> Result<()> {
        let hold = hold.clone();
        self.write(move |tx| ready(shared::create_hold(tx, &hold, audit)))
            .await
    }

    async fn release_legal_hold(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        self.write(move |tx| ready(shared::release_hold(tx, id, at, audit)))
            .await
    }

    async fn save_retention_run(&self, run: &RetentionRun) -> Result<()> {
        let run = run.clone();
        self.write(move |tx| ready(shared::save_run(tx, &run)))
            .await
    }

    async fn retention_run(&self, id: Uuid) -> Result<Option<RetentionRun>> {
        self.read(|c| ready(shared::run(c, id)))
    }

    async fn retention_runs(&self, limit: usize) -> Result<Vec<RetentionRun>> {
        self.read(|c| ready(shared::runs(c, limit)))
    }

    async fn due_records(&self, query: &DueQuery) -> Result<Vec<FoundRecord>> {
        self.read(|c| ready(due(c, query)))
    }

    async fn count_due(&self, query: &DueQuery) -> Result<u64> {
        self.read(|c| ready(count_due(c, query)))
    }

    async fn sweep(&self, batch: SweepBatch) -> Result<Vec<DueRecord>> {
        self.write(move |tx| sweep(tx, batch)).await
    }

    async fn retention_counts(&self, run: Uuid) -> Result<Vec<(String, u64)>> {
        self.read(|c| ready(shared::counts(c, run)))
    }

    async fn retention_actions(&self, run: Uuid) -> Result<Vec<RetentionAction>> {
        self.read(|c| ready(shared::actions(c, run)))
    }
}
