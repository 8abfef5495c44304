//! Shares with vendors and the disclosures they made, in PostgreSQL.

use super::*;
use crate::sql::shares as shared;
use crate::{DisclosureRow, ShareRow, WebhookRow};

#[async_trait]
impl Shares for PostgresStore {
    async fn disclosed_to(&self, vendor: Uuid, before: i64) -> Result<Vec<Uuid>> {
        crate::sql::breach_scope::disclosed_to(&self.pool.get().await?, vendor, before).await
    }

    async fn record_share(
        &self,
        share: &ShareRow,
        disclosures: Vec<DisclosureRow>,
        deliveries: Vec<WebhookRow>,
        audit: Vec<AuditRecord>,
    ) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        shared::record_share(&tx, share, &disclosures, &deliveries, audit).await?;
        tx.commit().await
    }

    async fn share(&self, id: Uuid) -> Result<Option<ShareRow>> {
        shared::share(&self.pool.get().await?, id).await
    }

    async fn shares(&self, limit: usize) -> Result<Vec<ShareRow>> {
        shared::shares(&self.pool.get().await?, limit).await
    }

    async fn share_disclosures(
        &self,
        share: Uuid,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<DisclosureRow>> {
        shared::share_disclosures(&self.pool.get().await?, share, after, limit).await
    }

    async fn share_disclosures_between(
        &self,
        share: Uuid,
        first: Uuid,
        last: Uuid,
    ) -> Result<Vec<DisclosureRow>> {
        shared::share_disclosures_between(&self.pool.get().await?, share, first, last).await
    }

    async fn disclosures_of(&self, customer: Uuid) -> Result<Vec<DisclosureRow>> {
        shared::disclosures_of(&self.pool.get().await?, customer).await
    }

    async fn objecting(&self, purpose: &str, customers: &[Uuid]) -> Result<Vec<Uuid>> {
        shared::objecting(&self.pool.get().await?, purpose, customers).await
    }
}
