//! Customers: their sealed rows, blind-index lookups, tombstones, interactions and import jobs.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{CustomerFilter, CustomerRow, ImportJob, IndexDigest, InteractionRow, Result};

#[async_trait]
pub trait Customers: Send + Sync {
    async fn get_customer(&self, id: Uuid) -> Result<Option<CustomerRow>>;
    async fn get_customers(&self, ids: &[Uuid]) -> Result<Vec<CustomerRow>>;
    async fn list_customers(&self, filter: &CustomerFilter) -> Result<Vec<CustomerRow>>;
    async fn count_customers(&self) -> Result<u64>;
    /// How many customers `filter` selects, its cursor, offset and limit aside.
    async fn count_listed(&self, filter: &CustomerFilter) -> Result<u64>;
    /// Customers whose index entry for `field` equals one of `digests`.
    async fn lookup_index(
        &self,
        field: &str,
        digests: &[IndexDigest],
    ) -> Result<Vec<(IndexDigest, Uuid)>>;
    async fn is_tombstoned(&self, id: Uuid) -> Result<bool>;
    async fn list_interactions(
        &self,
        customer: Uuid,
        after: Option<(i64, Uuid)>,
        limit: usize,
    ) -> Result<Vec<InteractionRow>>;
    async fn import_job(&self, fingerprint: &str) -> Result<Option<ImportJob>>;
    /// The residency of each of `ids` that names a customer, `None` for one erased since;
    /// ids that name neither are left out.
    async fn residencies(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, Option<String>)>>;
}
