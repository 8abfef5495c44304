//! The request desk's requests and what recipients are to be told.

use uuid::Uuid;

/// A data-subject request as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    pub id: Uuid,
    pub kind: String,
    pub channel: String,
    pub state: String,
    pub jurisdiction: String,
    /// Cleared when the customer is erased.
    pub customer_id: Option<Uuid>,
    /// A keyed hash standing for the subject: how duplicates are found, before and after
    /// erasure.
    pub subject: Vec<u8>,
    /// For an objection: the purpose objected to.
    pub purpose: Option<String>,
    pub received_at: i64,
    pub acknowledge_by: Option<i64>,
    pub acknowledged_at: Option<i64>,
    pub due_at: i64,
    pub verified_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub extension_reason: Option<String>,
    pub denial_reason: Option<String>,
    pub updated_at: i64,
    /// A correction waiting for review: the proposed value, sealed with the customer's key
    /// (encoded `SealedFields` with one entry). Cleared when the request closes.
    pub proposal: Option<Vec<u8>>,
}

/// A request's new state, applied only if it is still in `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMove {
    pub row: RequestRow,
    pub from: String,
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only those not yet completed or denied, soonest due first (otherwise newest first).
    pub open_only: bool,
    pub due_before: Option<i64>,
    pub received_since: Option<i64>,
    pub customer: Option<Uuid>,
    pub subject: Option<Vec<u8>>,
    pub limit: usize,
}

/// One erasure, rectification or restriction, for the recipients of the data (Art. 19).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientUpdate {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// `erasure`, `rectification`, `restriction` or `restriction_lifted`.
    pub kind: String,
    pub fields: Vec<String>,
    pub at: i64,
    pub notified_at: Option<i64>,
    /// When the recipients must have been told: the due date of the notices it makes.
    pub notify_by: i64,
}
