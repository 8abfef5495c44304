//! Levels, profile attributes, suppressed keys, offers and recompute runs, in PostgreSQL.

use super::*;

use steward_core::personalization::Level;

use crate::sql::personalization as shared;
use crate::{
    AttributeQuery, AttributeRow, FactRow, LevelEventRow, LevelRow, OfferRow, PersonalizationRun,
    SuppressionRow,
};

#[async_trait]
impl Personalization for PostgresStore {
    async fn level(&self, customer: Uuid) -> Result<Option<LevelRow>> {
        shared::level(&self.pool.get().await?, customer).await
    }

    async fn levels(&self, customers: &[Uuid]) -> Result<Vec<LevelRow>> {
        shared::levels(&self.pool.get().await?, customers).await
    }

    async fn level_history(&self, customer: Uuid) -> Result<Vec<LevelEventRow>> {
        shared::level_history(&self.pool.get().await?, customer).await
    }

    async fn attributes(&self, query: &AttributeQuery) -> Result<Vec<AttributeRow>> {
        shared::attributes(&self.pool.get().await?, query).await
    }

    async fn suppressed_keys(&self, customers: &[Uuid]) -> Result<Vec<SuppressionRow>> {
        shared::suppressed_keys(&self.pool.get().await?, customers).await
    }

    async fn profiled_after(&self, cursor: Option<Uuid>, limit: usize) -> Result<Vec<Uuid>> {
        shared::profiled_after(&self.pool.get().await?, cursor, limit).await
    }

    async fn level_counts(&self) -> Result<Vec<(Level, u64)>> {
        shared::level_counts(&self.pool.get().await?).await
    }

    async fn profile_facts(
        &self,
        customers: &[Uuid],
        since: i64,
        kinds: &[String],
    ) -> Result<Vec<FactRow>> {
        shared::profile_facts(&self.pool.get().await?, customers, since, kinds).await
    }

    async fn offers(&self) -> Result<Vec<OfferRow>> {
        shared::offers(&self.pool.get().await?).await
    }

    async fn seed_offers(&self, offers: &[OfferRow]) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        shared::seed_offers(&tx, offers).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn personalization_runs(&self, limit: usize) -> Result<Vec<PersonalizationRun>> {
        shared::runs(&self.pool.get().await?, limit).await
    }
}
