//! Campaigns and how their messages fared.

use async_trait::async_trait;
use steward_core::audit::AuditRecord;
use uuid::Uuid;

use crate::{CampaignRow, MailCounts, Result};

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
}
