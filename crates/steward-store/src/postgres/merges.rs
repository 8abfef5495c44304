//! Duplicate customers merged into one, in PostgreSQL.

use super::*;
use crate::Merge;
use crate::sql::merges;

#[async_trait]
impl Merges for PostgresStore {
    async fn merge_customers(&self, merge: Merge) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let merged = merges::merge(&tx, merge).await?;
        tx.commit().await?;
        Ok(merged)
    }

    async fn survivor_of(&self, merged: Uuid) -> Result<Option<Uuid>> {
        merges::survivor_of(&self.pool.get().await?, merged).await
    }
}
