//! Counts for the dashboard: customers, consents and audit activity.

use super::*;

use crate::sql::reports;

#[async_trait]
impl Reports for PostgresStore {
    async fn customer_stats(&self, created_since: i64) -> Result<CustomerStats> {
        reports::customer_stats(&self.pool.get().await?, created_since).await
    }

    async fn consent_stats(&self, since: i64) -> Result<ConsentStats> {
        reports::consent_stats(&self.pool.get().await?, since).await
    }

    async fn audit_activity(&self, since: i64) -> Result<Vec<ActivityCount>> {
        reports::audit_activity(&self.pool.get().await?, since).await
    }
}
