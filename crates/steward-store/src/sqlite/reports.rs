//! Counts for the dashboard: customers, consents and audit activity.

use super::*;

use crate::sql::reports;

#[async_trait]
impl Reports for SqliteStore {
    async fn customer_stats(&self, created_since: i64) -> Result<CustomerStats> {
        self.read(|c| ready(reports::customer_stats(c, created_since)))
    }

    async fn consent_stats(&self, since: i64) -> Result<ConsentStats> {
        self.read(|c| ready(reports::consent_stats(c, since)))
    }

    async fn audit_activity(&self, since: i64) -> Result<Vec<ActivityCount>> {
        self.read(|c| ready(reports::audit_activity(c, since)))
    }
}
