//! Levels, profile attributes, suppressed keys, offers and recompute runs, in SQLite.

use super::*;

use steward_core::personalization::Level;

use crate::sql::personalization as shared;
use crate::{
    AttributeQuery, AttributeRow, FactRow, LevelEventRow, LevelRow, OfferRow, PersonalizationRun,
    SuppressionRow,
};

#[async_trait]
impl Personalization for SqliteStore {
    async fn level(&self, customer: Uuid) -> Result<Option<LevelRow>> {
        self.read(|c| ready(shared::level(c, customer)))
    }

    async fn levels(&self, customers: &[Uuid]) -> Result<Vec<LevelRow>> {
        self.read(|c| ready(shared::levels(c, customers)))
    }

    async fn level_history(&self, customer: Uuid) -> Result<Vec<LevelEventRow>> {
        self.read(|c| ready(shared::level_history(c, customer)))
    }

    async fn attributes(&self, query: &AttributeQuery) -> Result<Vec<AttributeRow>> {
        self.read(|c| ready(shared::attributes(c, query)))
    }

    async fn suppressed_keys(&self, customers: &[Uuid]) -> Result<Vec<SuppressionRow>> {
        self.read(|c| ready(shared::suppressed_keys(c, customers)))
    }

    async fn profiled_after(&self, cursor: Option<Uuid>, limit: usize) -> Result<Vec<Uuid>> {
        self.read(|c| ready(shared::profiled_after(c, cursor, limit)))
    }

    async fn level_counts(&self) -> Result<Vec<(Level, u64)>> {
        self.read(|c| ready(shared::level_counts(c)))
    }

    async fn profile_facts(
        &self,
        customers: &[Uuid],
        since: i64,
        kinds: &[String],
    ) -> Result<Vec<FactRow>> {
        self.read(|c| ready(shared::profile_facts(c, customers, since, kinds)))
    }

    async fn offers(&self) -> Result<Vec<OfferRow>> {
        self.read(|c| ready(shared::offers(c)))
    }

    async fn seed_offers(&self, offers: &[OfferRow]) -> Result<()> {
        let offers = offers.to_vec();
        self.write(move |tx| ready(shared::seed_offers(tx, &offers)))
            .await
    }

    async fn personalization_runs(&self, limit: usize) -> Result<Vec<PersonalizationRun>> {
        self.read(|c| ready(shared::runs(c, limit)))
    }
}
