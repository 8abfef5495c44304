//! Leases on jobs, in SQLite.

use super::*;
use crate::sql::leases;

#[async_trait]
impl Leases for SqliteStore {
    async fn take_lease(
        &self,
        job: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<Option<i64>> {
        let (job, holder) = (job.to_owned(), holder.to_owned());
        self.write(move |tx| ready(leases::take(tx, &job, &holder, now, until)))
            .await
    }

    async fn renew_lease(&self, job: &str, holder: &str, fence: i64, until: i64) -> Result<bool> {
        let (job, holder) = (job.to_owned(), holder.to_owned());
        self.write(move |tx| ready(leases::renew(tx, &job, &holder, fence, until)))
            .await
    }

    async fn release_lease(&self, job: &str, holder: &str, fence: i64) -> Result<bool> {
        let (job, holder) = (job.to_owned(), holder.to_owned());
        self.write(move |tx| ready(leases::release(tx, &job, &holder, fence)))
            .await
    }
}
