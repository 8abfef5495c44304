//! The vendor register and data-sharing agreements, each kept as JSON the app writes and reads.

use uuid::Uuid;

/// A vendor: its written form, as JSON, and its processor when it is a sub-processor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorRow {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub vendor: String,
    /// 1 when created, one more with each change.
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One review of a vendor, as JSON; appended, never changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorReviewRow {
    pub id: Uuid,
    pub vendor_id: Uuid,
    pub review: String,
    pub recorded_at: i64,
}

/// A data-sharing agreement with a vendor, as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementRow {
    pub id: Uuid,
    pub vendor_id: Uuid,
    pub agreement: String,
    /// 1 when created, one more with each change.
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One share with a vendor: its id, the agreement it went under, and the rest (fields, who
/// was left out and why, how it was delivered) as JSON the app writes and reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRow {
    pub id: Uuid,
    pub vendor_id: Uuid,
    pub agreement_id: Uuid,
    pub purpose: String,
    pub share: String,
    /// How many customers' data went.
    pub shared: i64,
    pub created_by: String,
    pub created_at: i64,
}

/// One customer's part of a share: where their data went and on what basis (as JSON), and the
/// values sent, sealed under the customer's data key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosureRow {
    pub share_id: Uuid,
    pub customer_id: Uuid,
    pub vendor_id: Uuid,
    pub purpose: String,
    pub disclosure: String,
    pub sealed: Vec<u8>,
    pub at: i64,
}

/// One Art. 19 notice: a recipient to be told of one erasure, rectification or restriction.
/// Ids, field names and dates only, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientNoticeRow {
    pub id: Uuid,
    /// The recipient update it tells of.
    pub update_id: Uuid,
    pub customer_id: Uuid,
    pub vendor_id: Uuid,
    /// `erasure`, `rectification` or `restriction`.
    pub kind: String,
    /// For a rectification, the changed fields this recipient received; otherwise none.
    pub fields: Vec<String>,
    /// `pending`, `sent`, `acknowledged`, `failed` or `impossible`.
    pub status: String,
    /// Why telling the recipient was impossible, or why it failed.
    pub reason: Option<String>,
    pub due_at: i64,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub acknowledged_at: Option<i64>,
    pub updated_at: i64,
}

/// Which notices to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct RecipientNoticeFilter {
    pub status: Option<String>,
    /// Only notices still to be sent (pending or failed) whose due date is before this time.
    pub open_due_before: Option<i64>,
    pub customer: Option<Uuid>,
    pub limit: usize,
}
