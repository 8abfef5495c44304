//! The consent ledger: every event, and each purpose's current state.

use super::*;
use crate::sql::consent_ledger;

#[async_trait]
impl ConsentLedger for PostgresStore {
    async fn consents(&self, customer: Uuid) -> Result<Vec<ConsentEvent>> {
        consent_ledger::current(&self.pool.get().await?, customer).await
    }

    async fn consents_for(&self, purpose: &str, customers: &[Uuid]) -> Result<Vec<ConsentEvent>> {
        consent_ledger::current_for(&self.pool.get().await?, purpose, customers).await
    }

    async fn customer_with_consents(
        &self,
        id: Uuid,
    ) -> Result<Option<(CustomerRow, Vec<ConsentEvent>)>> {
        let mut client = self.pool.get().await?;
        // One snapshot for both reads.
        let tx = snapshot(&mut client).await?;
        let Some(row) = crate::sql::customers::get(&tx, id).await? else {
            return Ok(None);
        };
        let consents = consent_ledger::current(&tx, id).await?;
        tx.commit().await?;
        Ok(Some((row, consents)))
    }

    async fn consent_event(&self, id: Uuid) -> Result<Option<ConsentEvent>> {
        consent_ledger::event(&self.pool.get().await?, id).await
    }

    async fn lapsed_consents(
        &self,
        now: i64,
        given_since: Option<i64>,
        limit: usize,
    ) -> Result<Vec<ConsentEvent>> {
        consent_ledger::lapsed(&self.pool.get().await?, now, given_since, limit).await
    }

    async fn consent_history(&self, customer: Uuid) -> Result<Vec<ConsentEvent>> {
        consent_ledger::history(&self.pool.get().await?, customer).await
    }

    async fn consent_proof(&self, event: Uuid) -> Result<Option<ConsentProof>> {
        crate::sql::consent_proofs::get(&self.pool.get().await?, event).await
    }
}
