//! Webhook endpoints, deliveries and attempts, in PostgreSQL.

use super::*;

use crate::sql::{Sql, subscriptions, webhooks as shared, webhooks::delivery_cols};
use crate::{SubscriptionRow, WebhookAttempt, WebhookEndpointRow, WebhookProgress, WebhookRow};

/// Rows locked by another instance's claim are skipped, not waited for. A paused
/// subscription's deliveries wait for it to be resumed.
static CLAIM: Sql = Sql::new(concat!(
    "UPDATE webhook_deliveries SET lease_until = ?2 WHERE id IN (
       SELECT id FROM webhook_deliveries
       WHERE state = 'pending' AND next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)
         AND NOT EXISTS (SELECT 1 FROM webhook_subscriptions s
                         WHERE s.id = webhook_deliveries.subscription_id AND s.active = FALSE)
       ORDER BY next_attempt_at, id LIMIT ?3 FOR UPDATE SKIP LOCKED)
     RETURNING ",
    delivery_cols!()
));

#[async_trait]
impl Webhooks for PostgresStore {
    async fn set_webhook(&self, endpoint: &WebhookEndpointRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        shared::set_endpoint(&tx, endpoint, audit).await?;
        tx.commit().await
    }

    async fn remove_webhook(&self, vendor: Uuid, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let removed = shared::remove_endpoint(&tx, vendor, audit).await?;
        tx.commit().await?;
        Ok(removed)
    }

    async fn webhook(&self, vendor: Uuid) -> Result<Option<WebhookEndpointRow>> {
        shared::endpoint(&self.pool.get().await?, vendor).await
    }

    async fn claim_webhooks(
        &self,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> Result<Vec<WebhookRow>> {
        shared::claim(&self.pool.get().await?, &CLAIM, now, lease_until, limit).await
    }

    async fn finish_webhook(
        &self,
        attempt: &WebhookAttempt,
        audit: Vec<AuditRecord>,
    ) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let finished = shared::finish(&tx, attempt, audit).await?;
        tx.commit().await?;
        Ok(finished)
    }

    async fn webhook_progress(&self, subject: Uuid) -> Result<WebhookProgress> {
        shared::progress(&self.pool.get().await?, subject).await
    }

    async fn webhook_deliveries(
        &self,
        subject: Uuid,
    ) -> Result<(Vec<WebhookRow>, Vec<WebhookAttempt>)> {
        let mut client = self.pool.get().await?;
        let tx = snapshot(&mut client).await?;
        let deliveries = shared::deliveries_of(&tx, subject).await?;
        let attempts = shared::attempts_of(&tx, subject).await?;
        tx.commit().await?;
        Ok((deliveries, attempts))
    }

    async fn create_subscription(&self, row: &SubscriptionRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        subscriptions::create(&tx, row, audit).await?;
        tx.commit().await
    }

    async fn update_subscription(&self, row: &SubscriptionRow, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let updated = subscriptions::update(&tx, row, audit).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn delete_subscription(&self, id: Uuid, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let deleted = subscriptions::delete(&tx, id, audit).await?;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn subscription(&self, id: Uuid) -> Result<Option<SubscriptionRow>> {
        subscriptions::one(&self.pool.get().await?, id).await
    }

    async fn subscriptions(&self) -> Result<Vec<SubscriptionRow>> {
        subscriptions::all(&self.pool.get().await?).await
    }

    async fn subscription_deliveries(
        &self,
        id: Uuid,
        limit: usize,
    ) -> Result<(Vec<WebhookRow>, Vec<WebhookAttempt>)> {
        let mut client = self.pool.get().await?;
        let tx = snapshot(&mut client).await?;
        let read = subscriptions::deliveries_to(&tx, id, limit).await?;
        tx.commit().await?;
        Ok(read)
    }
}
