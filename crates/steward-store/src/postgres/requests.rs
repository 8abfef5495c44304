//! Data-subject requests, suppression entries and the records kept for recipients, in PostgreSQL.

use super::*;

use deadpool_postgres::Object;

use super::exec::query_arrays;
use crate::records::IndexDigest;
use crate::sql::{Row, Sql, request_desk};
use crate::{RecipientUpdate, RequestFilter, RequestRow};

/// One statement for the whole list: `= ANY` takes the digests as one array.
static SUPPRESSED: Sql = Sql::new("SELECT digest FROM suppressions WHERE digest = ANY(?1)");

async fn suppressed(client: &Object, digests: &[IndexDigest]) -> Result<Vec<IndexDigest>> {
    let wanted: Vec<&[u8]> = digests.iter().map(|d| d.as_slice()).collect();
    let rows = query_arrays(client, &SUPPRESSED, &[&wanted]).await?;
    let found = rows
        .iter()
        .map(|r| r.blob(0))
        .collect::<Result<Vec<&[u8]>>>()?;
    Ok(digests
        .iter()
        .filter(|d| found.contains(&d.as_slice()))
        .copied()
        .collect())
}

#[async_trait]
impl RequestDesk for PostgresStore {
    async fn request(&self, id: Uuid) -> Result<Option<RequestRow>> {
        request_desk::request(&self.pool.get().await?, id).await
    }

    async fn requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRow>> {
        request_desk::requests(&self.pool.get().await?, filter).await
    }

    async fn suppressed(&self, digests: &[IndexDigest]) -> Result<Vec<IndexDigest>> {
        suppressed(&self.pool.get().await?, digests).await
    }

    async fn recipient_updates(&self, customer: Uuid) -> Result<Vec<RecipientUpdate>> {
        request_desk::recipient_updates(&self.pool.get().await?, customer).await
    }

    async fn objected(&self, customer: Uuid, purpose: &str) -> Result<bool> {
        request_desk::objected(&self.pool.get().await?, customer, purpose).await
    }

    async fn objected_among(&self, purpose: &str, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        request_desk::objected_among(&self.pool.get().await?, purpose, ids).await
    }
}
