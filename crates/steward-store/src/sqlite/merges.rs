//! Duplicate customers merged into one, in SQLite.

use super::*;
use crate::Merge;
use crate::sql::merges;

#[async_trait]
impl Merges for SqliteStore {
    async fn merge_customers(&self, merge: Merge) -> Result<bool> {
        self.write(move |tx| ready(merges::merge(tx, merge))).await
    }

    async fn survivor_of(&self, merged: Uuid) -> Result<Option<Uuid>> {
        self.read(|c| ready(merges::survivor_of(c, merged)))
    }
}
