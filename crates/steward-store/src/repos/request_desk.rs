//! The request desk: customers' requests, the suppression list and updates owed to recipients.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{IndexDigest, RecipientUpdate, RequestFilter, RequestRow, Result};

#[async_trait]
pub trait RequestDesk: Send + Sync {
    async fn request(&self, id: Uuid) -> Result<Option<RequestRow>>;
    async fn requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRow>>;
    /// Which of `digests` belong to people erased at their request.
    async fn suppressed(&self, digests: &[IndexDigest]) -> Result<Vec<IndexDigest>>;
    /// What recipients of a customer's data are to be told, oldest first.
    async fn recipient_updates(&self, customer: Uuid) -> Result<Vec<RecipientUpdate>>;
    /// Whether the customer's objection to `purpose` (Art. 21) was upheld: a request of kind
    /// objection, completed. (Shares also stop at objections still open: `objecting`.)
    async fn objected(&self, customer: Uuid, purpose: &str) -> Result<bool>;
    /// Which of `customers` had an objection to `purpose` upheld.
    async fn objected_among(&self, purpose: &str, customers: &[Uuid]) -> Result<Vec<Uuid>>;
}
