//! Retention rules, legal holds, runs and the records they act on, in SQLite.

use super::*;

use crate::sql::retention as shared;
use crate::sql::sweep::{count_due, due, sweep};
use crate::{
    DueQuery, DueRecord, FoundRecord, LegalHold, RetentionAction, RetentionRun, StoredRule,
    SweepBatch,
};

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

    async fn take_over_retention_run(&self, id: Uuid, seen: i64, now: i64) -> Result<bool> {
        self.write(move |tx| ready(shared::take_over_run(tx, id, seen, now)))
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
        self.write(move |tx| ready(sweep(tx, batch))).await
    }

    async fn retention_counts(&self, run: Uuid) -> Result<Vec<(String, u64)>> {
        self.read(|c| ready(shared::counts(c, run)))
    }

    async fn retention_actions(&self, run: Uuid) -> Result<Vec<RetentionAction>> {
        self.read(|c| ready(shared::actions(c, run)))
    }
}
