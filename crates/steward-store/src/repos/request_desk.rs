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
    /// Whether the desk upheld an objection of `customer` to `purpose` (Art. 21).
    async fn objected(&self, customer: Uuid, purpose: &str) -> Result<bool>;
    /// Which of `ids` have an upheld objection to `purpose`.
    async fn objected_among(&self, purpose: &str, ids: &[Uuid]) -> Result<Vec<Uuid>>;
}
