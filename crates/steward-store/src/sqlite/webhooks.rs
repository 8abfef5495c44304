//! Webhook endpoints, deliveries and attempts, in SQLite.

use super::*;

use crate::sql::{Sql, subscriptions, webhooks as shared, webhooks::delivery_cols};
use crate::{SubscriptionRow, WebhookAttempt, WebhookEndpointRow, WebhookProgress, WebhookRow};

/// SQLite has one writer, so a claim needs no lock to keep other senders off its deliveries.
/// A paused subscription's deliveries wait for it to be resumed.
static CLAIM: Sql = Sql::new(concat!(
    "UPDATE webhook_deliveries SET lease_until = ?2 WHERE id IN (
       SELECT id FROM webhook_deliveries
       WHERE state = 'pending' AND next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)
         AND NOT EXISTS (SELECT 1 FROM webhook_subscriptions s
                         WHERE s.id = webhook_deliveries.subscription_id AND s.active = FALSE)
       ORDER BY next_attempt_at, id LIMIT ?3)
     RETURNING ",
    delivery_cols!()
));

#[async_trait]
impl Webhooks for SqliteStore {
    async fn set_webhook(&self, endpoint: &WebhookEndpointRow, audit: AuditRecord) -> Result<()> {
        let endpoint = endpoint.clone();
        self.write(move |tx| ready(shared::set_endpoint(tx, &endpoint, audit)))
            .await
    }

    async fn remove_webhook(&self, vendor: Uuid, audit: AuditRecord) -> Result<bool> {
        self.write(move |tx| ready(shared::remove_endpoint(tx, vendor, audit)))
            .await
    }

    async fn webhook(&self, vendor: Uuid) -> Result<Option<WebhookEndpointRow>> {
        self.read(|c| ready(shared::endpoint(c, vendor)))
    }

    async fn claim_webhooks(
        &self,
        now: i64,
        lease_until: i64,
        limit: usize,
    ) -> Result<Vec<WebhookRow>> {
        self.write(move |tx| ready(shared::claim(tx, &CLAIM, now, lease_until, limit)))
            .await
    }

    async fn finish_webhook(
        &self,
        attempt: &WebhookAttempt,
        audit: Vec<AuditRecord>,
    ) -> Result<bool> {
        let attempt = attempt.clone();
        self.write(move |tx| ready(shared::finish(tx, &attempt, audit)))
            .await
    }

    async fn webhook_progress(&self, subject: Uuid) -> Result<WebhookProgress> {
        self.read(|c| ready(shared::progress(c, subject)))
    }

    async fn webhook_deliveries(
        &self,
        subject: Uuid,
    ) -> Result<(Vec<WebhookRow>, Vec<WebhookAttempt>)> {
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            Ok((
                ready(shared::deliveries_of(&tx, subject))?,
                ready(shared::attempts_of(&tx, subject))?,
            ))
        })
    }

    async fn create_subscription(&self, row: &SubscriptionRow, audit: AuditRecord) -> Result<()> {
        let row = row.clone();
        self.write(move |tx| ready(subscriptions::create(tx, &row, audit)))
            .await
    }

    async fn update_subscription(&self, row: &SubscriptionRow, audit: AuditRecord) -> Result<bool> {
        let row = row.clone();
        self.write(move |tx| ready(subscriptions::update(tx, &row, audit)))
            .await
    }

    async fn delete_subscription(&self, id: Uuid, audit: AuditRecord) -> Result<bool> {
        self.write(move |tx| ready(subscriptions::delete(tx, id, audit)))
            .await
    }

    async fn subscription(&self, id: Uuid) -> Result<Option<SubscriptionRow>> {
        self.read(|c| ready(subscriptions::one(c, id)))
    }

    async fn subscriptions(&self) -> Result<Vec<SubscriptionRow>> {
        self.read(|c| ready(subscriptions::all(c)))
    }

    async fn subscription_deliveries(
        &self,
        id: Uuid,
        limit: usize,
    ) -> Result<(Vec<WebhookRow>, Vec<WebhookAttempt>)> {
        self.read(|c| {
            let tx = c.unchecked_transaction()?;
            ready(subscriptions::deliveries_to(&tx, id, limit))
        })
    }
}
