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
