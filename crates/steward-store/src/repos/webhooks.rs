//! Webhook delivery to vendors: their endpoints, the outbox of deliveries senders claim, and
//! the attempts made.

use async_trait::async_trait;
use steward_core::audit::AuditRecord;
use uuid::Uuid;

use crate::{
    Result, SubscriptionRow, WebhookAttempt, WebhookEndpointRow, WebhookProgress, WebhookRow,
};

#[async_trait]
pub trait Webhooks: Send + Sync {
    /// Sets or replaces a vendor's endpoint, with its audit entry, in one transaction.
    async fn set_webhook(&self, endpoint: &WebhookEndpointRow, audit: AuditRecord) -> Result<()>;
    /// Removes a vendor's endpoint with its audit entry; false when it had none.
    async fn remove_webhook(&self, vendor: Uuid, audit: AuditRecord) -> Result<bool>;
    async fn webhook(&self, vendor: Uuid) -> Result<Option<WebhookEndpointRow>>;
    /// Claims up to `limit` deliveries due by `now` that no other sender holds, leasing them
    /// until `lease_until`.
    async fn claim_webhooks(
        &self,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> Result<Vec<WebhookRow>>;
    /// Records an attempt on a claimed delivery, releases it, and appends `audit`, in one
    /// transaction; false (nothing written) when the delivery was no longer pending.
    async fn finish_webhook(
        &self,
        attempt: &WebhookAttempt,
        audit: Vec<AuditRecord>,
    ) -> Result<bool>;
    /// How many deliveries about `subject` are pending, delivered and failed.
    async fn webhook_progress(&self, subject: Uuid) -> Result<WebhookProgress>;
    /// The deliveries about `subject`, oldest first, and every attempt on them, by delivery
    /// then in order, read in one snapshot: a delivery settled meanwhile never shows without
    /// the attempt that settled it.
    async fn webhook_deliveries(
        &self,
        subject: Uuid,
    ) -> Result<(Vec<WebhookRow>, Vec<WebhookAttempt>)>;
    /// Adds an integration's subscription with its audit entry.
    async fn create_subscription(&self, row: &SubscriptionRow, audit: AuditRecord) -> Result<()>;
    /// Replaces a subscription's settings (and secret) with its audit entry; false when there
    /// is no such subscription.
    async fn update_subscription(&self, row: &SubscriptionRow, audit: AuditRecord) -> Result<bool>;
    /// Deletes a subscription with its audit entry; false when there is none.
    async fn delete_subscription(&self, id: Uuid, audit: AuditRecord) -> Result<bool>;
    async fn subscription(&self, id: Uuid) -> Result<Option<SubscriptionRow>>;
    async fn subscriptions(&self) -> Result<Vec<SubscriptionRow>>;
    /// A subscription's latest `limit` deliveries, newest first, with their attempts, read in
    /// one snapshot.
    async fn subscription_deliveries(
        &self,
        id: Uuid,
        limit: usize,
    ) -> Result<(Vec<WebhookRow>, Vec<WebhookAttempt>)>;
}
