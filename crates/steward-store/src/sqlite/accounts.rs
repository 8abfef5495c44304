//! Staff accounts, their sign-in failures and second factor, and API and session tokens.

use super::*;
use crate::sql::accounts;

#[async_trait]
impl Accounts for SqliteStore {
    async fn create_user(&self, u: &UserRow, audit: AuditRecord) -> Result<()> {
        let u = u.clone();
        self.write(move |tx| ready(accounts::create_user(tx, &u, audit)))
            .await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        self.read(|c| ready(accounts::find_user_by_email(c, email)))
    }

    async fn create_token(&self, t: &TokenRow, audit: AuditRecord) -> Result<()> {
        let t = t.clone();
        self.write(move |tx| ready(accounts::create_token(tx, &t, audit)))
            .await
    }

    async fn find_token(&self, hash: &[u8; 32]) -> Result<Option<TokenRow>> {
        self.read(|c| ready(accounts::find_token(c, hash)))
    }

    async fn list_users(&self) -> Result<Vec<UserRow>> {
        self.read(|c| ready(accounts::users(c)))
    }

    async fn set_display_name(&self, id: Uuid, name: &str, audit: AuditRecord) -> Result<bool> {
        let name = name.to_string();
        self.write(move |tx| ready(accounts::set_display_name(tx, id, &name, audit)))
            .await
    }

    async fn display_names(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>> {
        self.read(|c| ready(accounts::display_names(c, ids)))
    }

    async fn update_user(
        &self,
        id: Uuid,
        role: Option<&str>,
        disabled: Option<bool>,
        at: i64,
        audit: AuditRecord,
    ) -> Result<bool> {
        let role = role.map(str::to_string);
        self.write(move |tx| {
            ready(accounts::update_user(
                tx,
                id,
                role.as_deref(),
                disabled,
                at,
                audit,
            ))
        })
        .await
    }

    async fn set_password(
        &self,
        id: Uuid,
        password_hash: &str,
        at: i64,
        audit: AuditRecord,
    ) -> Result<bool> {
        let password_hash = password_hash.to_string();
        self.write(move |tx| ready(accounts::set_password(tx, id, &password_hash, at, audit)))
            .await
    }

    async fn record_login_failure(&self, id: Uuid) -> Result<i64> {
        self.write(move |tx| ready(accounts::record_login_failure(tx, id)))
            .await
    }

    async fn reset_login_failures(&self, id: Uuid) -> Result<()> {
        self.write(move |tx| ready(accounts::reset_login_failures(tx, id)))
            .await
    }

    async fn set_totp_secret(
        &self,
        id: Uuid,
        sealed: Option<&[u8]>,
        audit: AuditRecord,
    ) -> Result<()> {
        let sealed = sealed.map(<[u8]>::to_vec);
        self.write(move |tx| ready(accounts::set_totp_secret(tx, id, sealed.as_deref(), audit)))
            .await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRow>> {
        self.read(|c| ready(accounts::tokens(c)))
    }

    async fn revoke_token(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        self.write(move |tx| ready(accounts::revoke_token(tx, id, at, audit)))
            .await
    }

    async fn touch_token(&self, id: Uuid, at: i64) -> Result<()> {
        self.write(move |tx| ready(accounts::touch_token(tx, id, at)))
            .await
    }

    async fn sign_in_failures(&self, key: &[u8]) -> Result<Option<SignInFailures>> {
        self.read(|c| ready(accounts::sign_in_failures(c, key)))
    }

    async fn count_sign_in_failure(
        &self,
        key: &[u8],
        at: i64,
        stale_before: i64,
    ) -> Result<SignInFailures> {
        let key = key.to_vec();
        self.write(move |tx| ready(accounts::count_sign_in_failure(tx, &key, at, stale_before)))
            .await
    }

    async fn clear_sign_in_failures(&self, key: &[u8]) -> Result<()> {
        let key = key.to_vec();
        self.write(move |tx| ready(accounts::clear_sign_in_failures(tx, &key)))
            .await
    }

    async fn forget_sign_in_failures(&self, before: i64) -> Result<u64> {
        self.write(move |tx| ready(accounts::forget_sign_in_failures(tx, before)))
            .await
    }
}
