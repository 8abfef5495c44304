//! Retention rules, legal holds, and the runs that sweep what is due.

use async_trait::async_trait;
use steward_core::audit::AuditRecord;
use uuid::Uuid;

use crate::{
    DueQuery, DueRecord, FoundRecord, LegalHold, Result, RetentionAction, RetentionRun, StoredRule,
    SweepBatch,
};

#[async_trait]
pub trait Retention: Send + Sync {
    /// Adds the rules that are not kept yet (by key); kept rules stay as they are.
    async fn seed_retention_rules(&self, rules: &[StoredRule]) -> Result<()>;
    async fn retention_rules(&self) -> Result<Vec<StoredRule>>;
    /// Adds a rule; its key must be new.
    async fn create_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<()>;
    /// Replaces a rule; false when there is no rule with its key.
    async fn update_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<bool>;
    async fn legal_holds(&self) -> Result<Vec<LegalHold>>;
    async fn create_legal_hold(&self, hold: &LegalHold, audit: AuditRecord) -> Result<()>;
    /// Releases a hold; false when there is no such hold or it was released already.
    async fn release_legal_hold(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool>;
    /// Adds or updates a run.
    async fn save_retention_run(&self, run: &RetentionRun) -> Result<()>;
    /// Moves a stalled run's heartbeat from `seen` to `now`; false when another instance
    /// moved it first (or the run ended), and then that instance carries it on.
    async fn take_over_retention_run(&self, id: Uuid, seen: i64, now: i64) -> Result<bool>;
    async fn retention_run(&self, id: Uuid) -> Result<Option<RetentionRun>>;
    /// The latest runs, newest first.
    async fn retention_runs(&self, limit: usize) -> Result<Vec<RetentionRun>>;
    /// A page of the records a rule finds due and no run has acted on or claimed.
    async fn due_records(&self, query: &DueQuery) -> Result<Vec<FoundRecord>>;
    /// How many records a rule finds due (the query's limit and `after` are ignored).
    async fn count_due(&self, query: &DueQuery) -> Result<u64>;
    /// Acts on a page of due records in one transaction, each only if no run acted on it
    /// before; returns the records it acted on.
    async fn sweep(&self, batch: SweepBatch) -> Result<Vec<DueRecord>>;
    /// How many records a run acted on, by rule.
    async fn retention_counts(&self, run: Uuid) -> Result<Vec<(String, u64)>>;
    /// The records a run acted on, by rule and id.
    async fn retention_actions(&self, run: Uuid) -> Result<Vec<RetentionAction>>;
}
