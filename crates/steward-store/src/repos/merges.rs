//! Duplicate customers merged into one: the merge itself, and where a merged-away id points.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{Merge, Result};

#[async_trait]
pub trait Merges: Send + Sync {
    /// Moves the merged-away customer's interactions and upheld objections to the survivor,
    /// points its id (and every id merged into it before) at the survivor, erases it and
    /// applies what goes with the erasure, in one transaction. Returns false, with nothing
    /// applied, when there was no such customer.
    async fn merge_customers(&self, merge: Merge) -> Result<bool>;
    /// The customer that `merged` was merged into, if it was.
    async fn survivor_of(&self, merged: Uuid) -> Result<Option<Uuid>>;
}
