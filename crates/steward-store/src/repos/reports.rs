//! Counts for the dashboard: customers, consents and audit activity.

use async_trait::async_trait;

use crate::{ActivityCount, ConsentStats, CustomerStats, Result};

#[async_trait]
pub trait Reports: Send + Sync {
    async fn customer_stats(&self, created_since: i64) -> Result<CustomerStats>;
    /// Consent counts now, and consent events per day since `since`.
    async fn consent_stats(&self, since: i64) -> Result<ConsentStats>;
    /// Audit entries since `since`, counted per day, role, purpose and action.
    async fn audit_activity(&self, since: i64) -> Result<Vec<ActivityCount>>;
}
