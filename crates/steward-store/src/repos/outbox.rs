//! The mail outbox: messages claimed by senders, their deliveries and their links.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{Delivery, MailLink, OutboxRow, Result};

#[async_trait]
pub trait Outbox: Send + Sync {
    /// Claims up to `limit` messages due by `now` that no other sender holds, leasing them
    /// until `lease_until`.
    async fn claim_mail(&self, now: i64, lease_until: i64, limit: usize) -> Result<Vec<OutboxRow>>;
    /// Records an attempt to deliver a claimed message and releases it.
    async fn finish_mail(&self, delivery: &Delivery) -> Result<()>;
    /// A customer's messages, newest first.
    async fn customer_mail(&self, customer: Uuid) -> Result<Vec<OutboxRow>>;
    /// The attempts to deliver one message, in order.
    async fn deliveries(&self, message: Uuid) -> Result<Vec<Delivery>>;
    async fn find_link(&self, token_hash: &[u8; 32]) -> Result<Option<MailLink>>;
}
