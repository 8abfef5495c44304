//! Campaigns and how their messages fared.

use async_trait::async_trait;
use steward_core::audit::AuditRecord;
use uuid::Uuid;

use crate::{CampaignRow, CampaignTimeline, ChangeSet, MailCounts, Result, TestSend};

#[async_trait]
pub trait Campaigns: Send + Sync {
    async fn create_campaign(&self, campaign: &CampaignRow, audit: AuditRecord) -> Result<()>;
    /// Every campaign, newest first.
    async fn campaigns(&self) -> Result<Vec<CampaignRow>>;
    async fn campaign(&self, id: Uuid) -> Result<Option<CampaignRow>>;
    /// Which of `customers` the campaign has queued a message for already.
    async fn campaign_mailed(&self, campaign: Uuid, customers: &[Uuid]) -> Result<Vec<Uuid>>;
    /// How the campaign's messages fared, and how many unsubscribed through them.
    async fn campaign_counts(&self, campaign: Uuid) -> Result<MailCounts>;
    /// Schedules a draft for `at`; `Conflict` when it is no draft.
    async fn schedule_campaign(
        &self,
        id: Uuid,
        at: i64,
        by: &str,
        audit: AuditRecord,
    ) -> Result<()>;
    /// Takes a scheduled campaign back to a draft; `Conflict` when it is not scheduled.
    async fn unschedule_campaign(&self, id: Uuid, audit: AuditRecord) -> Result<()>;
    /// Scheduled campaigns due by `now`, and sending ones whose sender's lease ran out, the
    /// longest waiting first.
    async fn due_campaigns(&self, now: i64, limit: usize) -> Result<Vec<Uuid>>;
    /// Moves a due campaign to `sending`, or takes over one whose lease ran out, holding it
    /// until `lease_until`, with its audit entry, if no one else did first: whether this
    /// call did.
    async fn claim_campaign(
        &self,
        id: Uuid,
        now: i64,
        lease_until: i64,
        audit: AuditRecord,
    ) -> Result<bool>;
    /// Counts a test send and applies `changes` with it, unless the staff member has made
    /// `limit` since `since` already; then nothing is written and the answer is when the
    /// oldest of those was made.
    async fn campaign_test_send(&self, send: &TestSend, changes: ChangeSet) -> Result<Option<i64>>;
    /// What the campaign's messages did, per bucket of `width` microseconds.
    async fn campaign_timeline(&self, campaign: Uuid, width: i64) -> Result<CampaignTimeline>;
}
