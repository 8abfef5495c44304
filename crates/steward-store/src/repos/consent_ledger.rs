//! The consent ledger: every event, and each purpose's current state.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{ConsentEvent, ConsentProof, CustomerRow, Result};

#[async_trait]
pub trait ConsentLedger: Send + Sync {
    /// The current consent state of each purpose the customer has an event for.
    async fn consents(&self, customer: Uuid) -> Result<Vec<ConsentEvent>>;
    /// The current state of one purpose for each of `customers` that has an event for it, in
    /// one read: for checking a page of customers at once.
    async fn consents_for(&self, purpose: &str, customers: &[Uuid]) -> Result<Vec<ConsentEvent>>;
    /// A customer's row and current consents, read together.
    async fn customer_with_consents(
        &self,
        id: Uuid,
    ) -> Result<Option<(CustomerRow, Vec<ConsentEvent>)>>;
    async fn consent_event(&self, id: Uuid) -> Result<Option<ConsentEvent>>;
    /// Current consents still marked given that have lapsed at `now`: past their expiry, or
    /// given before `given_since` (a material notice change). Up to `limit`, by customer.
    async fn lapsed_consents(
        &self,
        now: i64,
        given_since: Option<i64>,
        limit: usize,
    ) -> Result<Vec<ConsentEvent>>;
    /// Every consent event of the customer, oldest first.
    async fn consent_history(&self, customer: Uuid) -> Result<Vec<ConsentEvent>>;
    /// The proof kept of a consent event when its customer was erased.
    async fn consent_proof(&self, event: Uuid) -> Result<Option<ConsentProof>>;
}
