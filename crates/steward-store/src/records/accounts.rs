//! Staff accounts and tokens.

use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub role: String,
    pub purposes: Vec<String>,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
    /// Sealed by the vault; `None` until the second factor is set up.
    pub totp_secret: Option<Vec<u8>>,
    /// Consecutive failed sign-ins since the last success, from every source.
    pub failed_logins: i64,
}

#[derive(Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: Uuid,
    pub token_hash: [u8; 32],
    pub name: String,
    pub role: String,
    pub purposes: Vec<String>,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// When it was last used: at minute granularity for sessions (the idle time-out), hourly
    /// for API tokens (finding the ones left unused).
    pub last_used_at: Option<i64>,
}

impl std::fmt::Debug for TokenRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRow")
            .field("id", &self.id)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}
