//! Shares with vendors and the disclosures they made.

use async_trait::async_trait;
use steward_core::audit::AuditRecord;
use uuid::Uuid;

use crate::{DisclosureRow, Result, ShareRow, WebhookRow};

#[async_trait]
pub trait Shares: Send + Sync {
    /// Records a share, one disclosure per customer whose data went, the webhook deliveries
    /// that will carry it (none for a file), and their audit entries, all in one transaction.
    async fn record_share(
        &self,
        share: &ShareRow,
        disclosures: Vec<DisclosureRow>,
        deliveries: Vec<WebhookRow>,
        audit: Vec<AuditRecord>,
    ) -> Result<()>;
    async fn share(&self, id: Uuid) -> Result<Option<ShareRow>>;
    /// The latest `limit` shares, newest first.
    async fn shares(&self, limit: usize) -> Result<Vec<ShareRow>>;
    /// Up to `limit` disclosures of a share, in customer-id order after `after`.
    async fn share_disclosures(
        &self,
        share: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<DisclosureRow>>;
    /// The disclosures of a share from customer `first` to `last`, both included, in order.
    async fn share_disclosures_between(
        &self,
        share: Uuid,
        first: Uuid,
        last: Uuid,
    ) -> Result<Vec<DisclosureRow>>;
    /// Every disclosure of a customer's data, oldest first.
    async fn disclosures_of(&self, customer: Uuid) -> Result<Vec<DisclosureRow>>;
    /// Which of `customers` have an objection to `purpose` that stands (made, not denied).
    async fn objecting(&self, purpose: &str, customers: &[Uuid]) -> Result<Vec<Uuid>>;
    /// Customers disclosed to `vendor` by shares made before `before`.
    async fn disclosed_to(&self, vendor: Uuid, before: i64) -> Result<Vec<Uuid>>;
}
