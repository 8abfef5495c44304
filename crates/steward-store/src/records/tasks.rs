use uuid::Uuid;

/// A task or reminder on a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// The title, sealed with the customer's key (field `task/{id}/title`).
    pub sealed: Vec<u8>,
    /// `YYYY-MM-DD`, so that text order is date order on both engines.
    pub due_on: Option<String>,
    /// The staff account the task is for.
    pub owner_id: Uuid,
    /// The actor that made it (`user:<id>` or `token:<id>`).
    pub created_by: String,
    pub created_at: i64,
    pub done_at: Option<i64>,
    pub done_by: Option<String>,
}

/// A task marked done (`done` holds who and when) or open again (`done` is `None`). Applies
/// only while the task is in the other state; otherwise nothing of its change set is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskMove {
    pub id: Uuid,
    pub done: Option<(String, i64)>,
}
