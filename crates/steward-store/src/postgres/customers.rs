//! Customers: their sealed rows, blind-index lookups, tombstones, interactions and import jobs.

use super::*;

use super::exec::query_arrays;
use crate::sql::customers::{self, customer_cols, customer_from};
use crate::sql::{Sql, blind_index};

/// Several customers in one statement: `= ANY` takes their ids as one array.
static BY_IDS: Sql = Sql::new(concat!(
    "SELECT ",
    customer_cols!(),
    " FROM customers c WHERE c.id = ANY(?1)"
));
/// Several digests in one statement, as one array.
static LOOKUP: Sql = Sql::new(
    "SELECT digest, customer_id FROM unique_index WHERE field = ?1 AND digest = ANY(?2)
     UNION ALL SELECT digest, customer_id FROM blind_index WHERE field = ?1 AND digest = ANY(?2)",
);

#[async_trait]
impl Customers for PostgresStore {
    async fn residencies(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, Option<String>)>> {
        crate::sql::breach_scope::residencies(&self.pool.get().await?, ids).await
    }

    async fn get_customer(&self, id: Uuid) -> Result<Option<CustomerRow>> {
        customers::get(&self.pool.get().await?, id).await
    }

    async fn get_customers(&self, ids: &[Uuid]) -> Result<Vec<CustomerRow>> {
        let rows = query_arrays(&self.pool.get().await?, &BY_IDS, &[&ids]).await?;
        rows.iter().map(|r| customer_from(r)).collect()
    }

    async fn list_customers(&self, f: &CustomerFilter) -> Result<Vec<CustomerRow>> {
        customers::list(&self.pool.get().await?, f).await
    }

    async fn count_listed(&self, f: &CustomerFilter) -> Result<u64> {
        customers::count_selected(&self.pool.get().await?, f).await
    }

    async fn count_customers(&self) -> Result<u64> {
        customers::count(&self.pool.get().await?).await
    }

    async fn lookup_index(
        &self,
        field: &str,
        digests: &[IndexDigest],
    ) -> Result<Vec<(IndexDigest, Uuid)>> {
        let list: Vec<&[u8]> = digests.iter().map(|d| &d[..]).collect();
        let rows = query_arrays(&self.pool.get().await?, &LOOKUP, &[&field, &list]).await?;
        rows.iter().map(|r| blind_index::hit(r)).collect()
    }

    async fn is_tombstoned(&self, id: Uuid) -> Result<bool> {
        customers::is_tombstoned(&self.pool.get().await?, id).await
    }

    async fn list_interactions(
        &self,
        customer: Uuid,
        after: Option<(i64, Uuid)>,
        limit: usize,
    ) -> Result<Vec<InteractionRow>> {
        customers::interactions(&self.pool.get().await?, customer, after, limit).await
    }

    async fn import_job(&self, fingerprint: &str) -> Result<Option<ImportJob>> {
        customers::import_job(&self.pool.get().await?, fingerprint).await
    }
}
