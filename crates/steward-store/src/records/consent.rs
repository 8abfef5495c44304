//! The consent ledger and the privacy notices consents name.

use uuid::Uuid;

/// One event of the consent ledger, or (read from the current state) the latest one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentEvent {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub purpose: String,
    pub state: String,
    pub notice_version: Option<String>,
    pub method: String,
    /// JSON of hashed evidence (client address, user agent); never raw values.
    pub evidence: Option<String>,
    pub at: i64,
    pub expires_at: Option<i64>,
}

/// A version of the privacy notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    pub id: Uuid,
    pub version: String,
    pub language: String,
    pub effective_at: i64,
    /// A material change: consent given under earlier versions must be asked for again.
    pub material: bool,
    /// The full text, Markdown.
    pub body: String,
    /// JSON: the plain-language summary of each purpose.
    pub summaries: String,
    pub created_at: i64,
    pub published_at: Option<i64>,
}

/// What stays of one consent event after its customer is erased: the decision and the hash of
/// its receipt, under the request desk's pseudonym instead of the customer's id, and without
/// the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentProof {
    pub event_id: Uuid,
    /// The pseudonym the customer's requests are kept under.
    pub subject: Vec<u8>,
    pub purpose: String,
    pub state: String,
    pub method: String,
    pub notice_version: Option<String>,
    pub at: i64,
    pub expires_at: Option<i64>,
    /// SHA-256 of the receipt's compact JWS as it was signed before the erasure.
    pub receipt_hash: Vec<u8>,
    pub erased_at: i64,
}
