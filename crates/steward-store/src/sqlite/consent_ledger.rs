//! The consent ledger: every event, and each purpose's current state.

use super::*;
use crate::sql::consent_ledger;

#[async_trait]
impl ConsentLedger for SqliteStore {
    async fn consents(&self, customer: Uuid) -> Result<Vec<ConsentEvent>> {
        self.read(|c| ready(consent_ledger::current(c, customer)))
    }

    async fn consents_for(&self, purpose: &str, customers: &[Uuid]) -> Result<Vec<ConsentEvent>> {
        self.read(|c| ready(consent_ledger::current_for(c, purpose, customers)))
    }

    async fn customer_with_consents(
        &self,
        id: Uuid,
    ) -> Result<Option<(CustomerRow, Vec<ConsentEvent>)>> {
        self.read(|c| {
            // One snapshot for both reads.
            let tx = c.unchecked_transaction()?;
            let Some(row) = ready(crate::sql::customers::get(&tx, id))? else {
                return Ok(None);
            };
            Ok(Some((row, ready(consent_ledger::current(&tx, id))?)))
        })
    }

    async fn consent_event(&self, id: Uuid) -> Result<Option<ConsentEvent>> {
        self.read(|c| ready(consent_ledger::event(c, id)))
    }

    async fn lapsed_consents(
        &self,
        now: i64,
        given_since: Option<i64>,
        limit: usize,
    ) -> Result<Vec<ConsentEvent>> {
        self.read(|c| ready(consent_ledger::lapsed(c, now, given_since, limit)))
    }

    async fn consent_history(&self, customer: Uuid) -> Result<Vec<ConsentEvent>> {
        self.read(|c| ready(consent_ledger::history(c, customer)))
    }

    async fn consent_proof(&self, event: Uuid) -> Result<Option<ConsentProof>> {
        self.read(|c| ready(crate::sql::consent_proofs::get(c, event)))
    }
}
