//! Personalization: levels and their history, profile attributes, suppressed keys, the
//! interactions a profile is derived from, offers and recompute runs. Writes go through a
//! change set (`ChangeSet.personalization`), apart from seeding the catalog's offers.

use async_trait::async_trait;
use steward_core::personalization::Level;
use uuid::Uuid;

use crate::{
    AttributeQuery, AttributeRow, FactRow, LevelEventRow, LevelRow, OfferRow, PersonalizationRun,
    Result, SuppressionRow,
};

#[async_trait]
pub trait Personalization: Send + Sync {
    async fn level(&self, customer: Uuid) -> Result<Option<LevelRow>>;
    /// The stored levels of those of `customers` who chose one.
    async fn levels(&self, customers: &[Uuid]) -> Result<Vec<LevelRow>>;
    /// A customer's changes of level, oldest first.
    async fn level_history(&self, customer: Uuid) -> Result<Vec<LevelEventRow>>;
    /// The attributes a read may see, by customer and key.
    async fn attributes(&self, query: &AttributeQuery) -> Result<Vec<AttributeRow>>;
    /// The keys those of `customers` asked not to be derived again.
    async fn suppressed_keys(&self, customers: &[Uuid]) -> Result<Vec<SuppressionRow>>;
    /// Up to `limit` customers at full, in id order, after `cursor`.
    async fn profiled_after(&self, cursor: Option<Uuid>, limit: usize) -> Result<Vec<Uuid>>;
    /// How many customers chose each level; those who never chose are counted at off.
    /// Levels nobody is at are left out.
    async fn level_counts(&self) -> Result<Vec<(Level, u64)>>;
    /// The interactions of `customers` of these kinds since `since`, without their text.
    async fn profile_facts(
        &self,
        customers: &[Uuid],
        since: i64,
        kinds: &[String],
    ) -> Result<Vec<FactRow>>;
    /// Every offer, retired ones included, by key.
    async fn offers(&self) -> Result<Vec<OfferRow>>;
    /// Adds the catalog's offers that are not there yet; an offer once stored is not changed.
    async fn seed_offers(&self, offers: &[OfferRow]) -> Result<()>;
    /// The latest recompute runs, newest first.
    async fn personalization_runs(&self, limit: usize) -> Result<Vec<PersonalizationRun>>;
}
