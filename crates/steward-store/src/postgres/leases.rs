//! Leases on jobs, in PostgreSQL, where instances sharing the database take them.

use super::*;
use crate::sql::leases;

#[async_trait]
impl Leases for PostgresStore {
    async fn take_lease(
        &self,
        job: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<Option<i64>> {
        leases::take(&self.pool.get().await?, job, holder, now, until).await
    }

    async fn renew_lease(&self, job: &str, holder: &str, fence: i64, until: i64) -> Result<bool> {
        leases::renew(&self.pool.get().await?, job, holder, fence, until).await
    }

    async fn release_lease(&self, job: &str, holder: &str, fence: i64) -> Result<bool> {
        leases::release(&self.pool.get().await?, job, holder, fence).await
    }
}
