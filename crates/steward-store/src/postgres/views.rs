//! Saved views of the customer list, in PostgreSQL.

use super::*;
use crate::SavedViewRow;
use crate::sql::views;

#[async_trait]
impl SavedViews for PostgresStore {
    async fn save_view(&self, view: &SavedViewRow) -> Result<()> {
        views::save(&self.pool.get().await?, view).await
    }

    async fn views_of(&self, owner: &str) -> Result<Vec<SavedViewRow>> {
        views::of_owner(&self.pool.get().await?, owner).await
    }

    async fn delete_view(&self, owner: &str, id: Uuid) -> Result<bool> {
        views::delete(&self.pool.get().await?, owner, id).await
    }
}
