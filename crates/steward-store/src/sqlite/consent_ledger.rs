//! The consent ledger: every event, and each purpose's current state.

use super::*;

#[async_trait]
impl ConsentLedger for SqliteStore {
    async fn consents(&self, customer: Uuid) -> Result<Vec<ConsentEvent>> {
        self.read(|c| current_consents(c, customer))
    }

    async fn customer_with_consents(
        &self,
        id: Uuid,
    ) -> Result<Option<(CustomerRow, Vec<ConsentEvent>)>> {
        self.read(|c| {
            // One snapshot for both reads.
            let tx = c.unchecked_transaction()?;
            let Some(row) = customer_by_id(&tx, id)? else {
                return Ok(None);
            };
            Ok(Some((row, current_consents(&tx, id)?)))
        })
    }

    async fn consent_event(&self, id: Uuid) -> Result<Option<ConsentEvent>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {CONSENT_COLS} FROM consent_events WHERE id = ?1"
            ))?
            .query_row([id.as_bytes().as_slice()], consent_from)
            .optional()?
            .map(finish_consent)
            .transpose()
        })
    }

    async fn lapsed_consents(
        &self,
        now: i64,
        given_since: Option<i64>,
        limit: usize,
    ) -> Result<Vec<ConsentEvent>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {CONSENT_COLS} FROM consent_current
                 WHERE state = 'given' AND (expires_at <= ?1 OR at < ?2)
                 ORDER BY customer_id LIMIT ?3"
            ))?;
            let rows = stmt.query_map(
                params![now, given_since.unwrap_or(i64::MIN), limit as i64],
                consent_from,
            )?;
            rows.map(|r| finish_consent(r?)).collect()
        })
    }

    async fn consent_history(&self, customer: Uuid) -> Result<Vec<ConsentEvent>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {CONSENT_COLS} FROM consent_events WHERE customer_id = ?1 ORDER BY at, id"
            ))?;
            let rows = stmt.query_map([customer.as_bytes().as_slice()], consent_from)?;
            rows.map(|r| finish_consent(r?)).collect()
        })
    }
}
