//! The breach register: breaches, phases appended to them, the customers they affected, the
//! response team's alerts and the customers' notices, each sent once.

use async_trait::async_trait;
use steward_core::audit::AuditRecord;
use uuid::Uuid;

use crate::{BreachNoticeRow, BreachPhaseRow, BreachRow, ChangeSet, Result};

#[async_trait]
pub trait Breaches: Send + Sync {
    /// Opens a breach; its id must be new.
    async fn create_breach(&self, breach: &BreachRow, audit: AuditRecord) -> Result<()>;
    /// Replaces a breach whose kept version is the one before `breach.version`; false, with
    /// nothing audited, when another change came first or there is no such breach. With
    /// `affected`, the customers it affected are replaced by those given.
    async fn update_breach(
        &self,
        breach: &BreachRow,
        affected: Option<&[Uuid]>,
        audit: AuditRecord,
    ) -> Result<bool>;
    async fn breach(&self, id: Uuid) -> Result<Option<BreachRow>>;
    /// Every breach, newest first.
    async fn breaches(&self) -> Result<Vec<BreachRow>>;
    /// Appends a phase to a breach that exists.
    async fn add_breach_phase(&self, phase: &BreachPhaseRow, audit: AuditRecord) -> Result<()>;
    /// A breach's phases, in the order they were recorded.
    async fn breach_phases(&self, breach: Uuid) -> Result<Vec<BreachPhaseRow>>;
    /// The customers a breach affected, by id.
    async fn breach_affected(&self, breach: Uuid) -> Result<Vec<Uuid>>;
    /// How many customers a breach affected, and how many were sent its notice.
    async fn breach_counts(&self, breach: Uuid) -> Result<(u64, u64)>;
    /// The milestones the response team was told of already.
    async fn breach_alerts_sent(&self, breach: Uuid) -> Result<Vec<String>>;
    /// Records that the response team was told of a milestone and commits the message and
    /// its audit entry with it, unless that milestone was told already: then nothing is
    /// written and the answer is false.
    async fn breach_alert(
        &self,
        breach: Uuid,
        milestone: &str,
        at: i64,
        with: ChangeSet,
    ) -> Result<bool>;
    /// Queues notices to customers with the messages that carry them (a message's id is its
    /// notice's `message_id`). A customer already told of this breach is skipped, with their
    /// message; the answer is how many were queued.
    async fn queue_breach_notices(
        &self,
        notices: &[BreachNoticeRow],
        with: ChangeSet,
    ) -> Result<usize>;
    /// The notices of one breach, or those a customer was sent.
    async fn breach_notices(
        &self,
        breach: Option<Uuid>,
        customer: Option<Uuid>,
    ) -> Result<Vec<BreachNoticeRow>>;
}
