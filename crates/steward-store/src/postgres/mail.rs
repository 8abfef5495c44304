//! The outbox, delivery records and emailed links, in PostgreSQL.

use super::*;

use crate::sql::{Sql, outbox, outbox::outbox_cols};
use crate::{Delivery, MailLink, OutboxRow};

/// Rows locked by another instance's claim are skipped, not waited for.
static CLAIM: Sql = Sql::new(concat!(
    "UPDATE outbox SET lease_until = ?2 WHERE id IN (
       SELECT id FROM outbox
       WHERE state = 'pending' AND next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)
       ORDER BY next_attempt_at, id LIMIT ?3 FOR UPDATE SKIP LOCKED)
     RETURNING ",
    outbox_cols!()
));

#[async_trait]
impl Outbox for PostgresStore {
    async fn claim_mail(&self, now: i64, lease_until: i64, limit: usize) -> Result<Vec<OutboxRow>> {
        outbox::claim(&self.pool.get().await?, &CLAIM, now, lease_until, limit).await
    }

    async fn finish_mail(&self, delivery: &Delivery) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        outbox::finish(&tx, delivery).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn customer_mail(&self, customer: Uuid) -> Result<Vec<OutboxRow>> {
        outbox::customer_mail(&self.pool.get().await?, customer).await
    }

    async fn deliveries(&self, message: Uuid) -> Result<Vec<Delivery>> {
        outbox::deliveries(&self.pool.get().await?, message).await
    }

    async fn find_link(&self, token_hash: &[u8; 32]) -> Result<Option<MailLink>> {
        outbox::find_link(&self.pool.get().await?, token_hash).await
    }
}
