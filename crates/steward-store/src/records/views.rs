use uuid::Uuid;

/// A view of the customer list a staff member saved; its filter is the app's JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedViewRow {
    pub id: Uuid,
    pub owner: String,
    pub name: String,
    pub filter: String,
    pub created_at: i64,
}
