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
