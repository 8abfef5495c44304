//! Staff accounts, their sign-in failures and second factor, and API and session tokens.

use async_trait::async_trait;
use steward_core::audit::AuditRecord;
use uuid::Uuid;

use crate::{Result, SignInFailures, TokenRow, UserRow};

#[async_trait]
pub trait Accounts: Send + Sync {
    async fn create_user(&self, user: &UserRow, audit: AuditRecord) -> Result<()>;
    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRow>>;
    async fn create_token(&self, token: &TokenRow, audit: AuditRecord) -> Result<()>;
    async fn find_token(&self, hash: &[u8; 32]) -> Result<Option<TokenRow>>;
    async fn list_users(&self) -> Result<Vec<UserRow>>;
    /// Counts one more failed sign-in and returns the new count. Atomic, so concurrent
    /// attempts each count.
    async fn record_login_failure(&self, id: Uuid) -> Result<i64>;
    async fn reset_login_failures(&self, id: Uuid) -> Result<()>;
    async fn set_totp_secret(
        &self,
        id: Uuid,
        sealed: Option<&[u8]>,
        audit: AuditRecord,
    ) -> Result<()>;
    /// Changes a user's role and/or disabled flag and ends their sign-in sessions (their
    /// tokens named `session`), in one transaction; false when there is no such user.
    async fn update_user(
        &self,
        id: Uuid,
        role: Option<&str>,
        disabled: Option<bool>,
        at: i64,
        audit: AuditRecord,
    ) -> Result<bool>;
    /// Replaces a user's password hash, clears their failed sign-ins and lock-out and ends
    /// their sign-in sessions, in one transaction; false when there is no such user.
    async fn set_password(
        &self,
        id: Uuid,
        password_hash: &str,
        at: i64,
        audit: AuditRecord,
    ) -> Result<bool>;
    /// Sets a user's display name; false when there is no such user.
    async fn set_display_name(&self, id: Uuid, name: &str, audit: AuditRecord) -> Result<bool>;
    /// The display name of each of `ids` that names a user.
    async fn display_names(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>>;
    async fn list_tokens(&self) -> Result<Vec<TokenRow>>;
    /// Revokes a token; false when there is no such token or it was revoked already.
    async fn revoke_token(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool>;
    /// Records that a session or token was used at `at`.
    async fn touch_token(&self, id: Uuid, at: i64) -> Result<()>;
    /// A source's run of failed sign-ins at an address, by the digest of the two.
    async fn sign_in_failures(&self, key: &[u8]) -> Result<Option<SignInFailures>>;
    /// Counts one more failed sign-in of a source at an address and returns the run; a run
    /// whose last failure was at or before `stale_before` starts over. Atomic, so failures
    /// on several instances at once each count.
    async fn count_sign_in_failure(
        &self,
        key: &[u8],
        at: i64,
        stale_before: i64,
    ) -> Result<SignInFailures>;
    async fn clear_sign_in_failures(&self, key: &[u8]) -> Result<()>;
    /// Forgets the runs whose last failure was at or before `before`; returns how many.
    async fn forget_sign_in_failures(&self, before: i64) -> Result<u64>;
}
