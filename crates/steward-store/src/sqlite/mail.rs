//! The outbox, delivery records and emailed links, in SQLite.

use super::*;

use crate::sql::{Sql, outbox, outbox::outbox_cols};
use crate::{Delivery, MailLink, OutboxRow};

/// SQLite has one writer, so a claim needs no lock to keep other senders off its messages.
static CLAIM: Sql = Sql::new(concat!(
    "UPDATE outbox SET lease_until = ?2 WHERE id IN (
       SELECT id FROM outbox
       WHERE state = 'pending' AND next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)
       ORDER BY next_attempt_at, id LIMIT ?3)
     RETURNING ",
    outbox_cols!()
));

#[async_trait]
impl Outbox for SqliteStore {
    async fn claim_mail(&self, now: i64, lease_until: i64, limit: usize) -> Result<Vec<OutboxRow>> {
        self.write(move |tx| ready(outbox::claim(tx, &CLAIM, now, lease_until, limit)))
            .await
    }

    async fn finish_mail(&self, delivery: &Delivery) -> Result<()> {
        let delivery = delivery.clone();
        self.write(move |tx| ready(outbox::finish(tx, &delivery)))
            .await
    }

    async fn customer_mail(&self, customer: Uuid) -> Result<Vec<OutboxRow>> {
        self.read(|c| ready(outbox::customer_mail(c, customer)))
    }

    async fn deliveries(&self, message: Uuid) -> Result<Vec<Delivery>> {
        self.read(|c| ready(outbox::deliveries(c, message)))
    }

    async fn find_link(&self, token_hash: &[u8; 32]) -> Result<Option<MailLink>> {
        self.read(|c| ready(outbox::find_link(c, token_hash)))
    }
}
