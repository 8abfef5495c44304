//! The portal's sign-in codes and sessions.

use uuid::Uuid;

/// A one-time portal sign-in code, kept as a hash and bound to the address it went to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalCode {
    pub id: Uuid,
    pub customer_id: Uuid,
    /// The keyed hash of the address.
    pub address: Vec<u8>,
    pub code_hash: [u8; 32],
    pub created_at: i64,
    pub expires_at: i64,
    pub attempts: i64,
    pub used_at: Option<i64>,
}

/// A code to issue, within a quota per address: at most `max_since` codes created at or
/// after `since`, and at most `max_failures` failed attempts on codes created since then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPortalCode {
    pub code: PortalCode,
    pub since: i64,
    pub max_since: i64,
    pub failures_since: i64,
    pub max_failures: i64,
}

/// A signed-in portal session, kept under the hash of its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    pub token_hash: [u8; 32],
    pub customer_id: Uuid,
    pub created_at: i64,
    pub last_used_at: i64,
    pub ended_at: Option<i64>,
}

/// What entering a code came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// The code matched and is now spent; the session was opened.
    SignedIn,
    /// Wrong code; one attempt fewer left.
    Wrong,
    /// Spent, expired or out of attempts.
    Void,
}
