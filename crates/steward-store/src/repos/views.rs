//! Views of the customer list saved by each staff member.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{Result, SavedViewRow};

#[async_trait]
pub trait SavedViews: Send + Sync {
    /// Saves a view; its name must be new among its owner's (`Duplicate` on `name`).
    async fn save_view(&self, view: &SavedViewRow) -> Result<()>;
    /// The owner's views, by name.
    async fn views_of(&self, owner: &str) -> Result<Vec<SavedViewRow>>;
    /// Deletes one of the owner's views; false when the owner has no such view.
    async fn delete_view(&self, owner: &str, id: Uuid) -> Result<bool>;
}
