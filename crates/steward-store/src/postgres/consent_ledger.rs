//! The consent ledger: every event, and each purpose's current state.

use super::*;

#[async_trait]
impl ConsentLedger for PostgresStore {
    async fn consents(&self, customer: Uuid) -> Result<Vec<ConsentEvent>> {
        let client = self.pool.get().await?;
        current_consents(&client, customer).await
    }

    async fn customer_with_consents(
        &self,
        id: Uuid,
    ) -> Result<Option<(CustomerRow, Vec<ConsentEvent>)>> {
        let mut client = self.pool.get().await?;
        // One snapshot for both reads.
        let tx = snapshot(&mut client).await?;
        let Some(row) = customer_by_id(&tx, id).await? else {
            return Ok(None);
        };
        let consents = current_consents(&tx, id).await?;
        tx.commit().await?;
        Ok(Some((row, consents)))
    }

    async fn consent_event(&self, id: Uuid) -> Result<Option<ConsentEvent>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!("SELECT {CONSENT_COLS} FROM consent_events WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(consent_from))
    }

    async fn lapsed_consents(
        &self,
        now: i64,
        given_since: Option<i64>,
        limit: usize,
    ) -> Result<Vec<ConsentEvent>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {CONSENT_COLS} FROM consent_current
                     WHERE state = 'given' AND (expires_at <= $1 OR at < $2)
                     ORDER BY customer_id LIMIT $3"
                ),
                &[&now, &given_since.unwrap_or(i64::MIN), &(limit as i64)],
            )
            .await?;
        Ok(rows.iter().map(consent_from).collect())
    }

    async fn consent_history(&self, customer: Uuid) -> Result<Vec<ConsentEvent>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {CONSENT_COLS} FROM consent_events WHERE customer_id = $1 ORDER BY at, id"
                ),
                &[&customer],
            )
            .await?;
        Ok(rows.iter().map(consent_from).collect())
    }
}
