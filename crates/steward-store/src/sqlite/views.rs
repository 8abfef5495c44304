//! Saved views of the customer list, in SQLite.

use super::*;
use crate::SavedViewRow;
use crate::sql::views;

#[async_trait]
impl SavedViews for SqliteStore {
    async fn save_view(&self, view: &SavedViewRow) -> Result<()> {
        let view = view.clone();
        self.write(move |tx| ready(views::save(tx, &view))).await
    }

    async fn views_of(&self, owner: &str) -> Result<Vec<SavedViewRow>> {
        self.read(|c| ready(views::of_owner(c, owner)))
    }

    async fn delete_view(&self, owner: &str, id: Uuid) -> Result<bool> {
        let owner = owner.to_string();
        self.write(move |tx| ready(views::delete(tx, &owner, id)))
            .await
    }
}
