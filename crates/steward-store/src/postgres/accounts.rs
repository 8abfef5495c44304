//! Staff accounts, their sign-in failures and second factor, and API and session tokens.

use super::*;
use crate::sql::accounts;

#[async_trait]
impl Accounts for PostgresStore {
    async fn create_user(&self, u: &UserRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        accounts::create_user(&tx, u, audit).await?;
        tx.commit().await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        accounts::find_user_by_email(&self.pool.get().await?, email).await
    }

    async fn create_token(&self, t: &TokenRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        accounts::create_token(&tx, t, audit).await?;
        tx.commit().await
    }

    async fn find_token(&self, hash: &[u8; 32]) -> Result<Option<TokenRow>> {
        accounts::find_token(&self.pool.get().await?, hash).await
    }

    async fn list_users(&self) -> Result<Vec<UserRow>> {
        accounts::users(&self.pool.get().await?).await
    }

    async fn set_display_name(&self, id: Uuid, name: &str, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let found = accounts::set_display_name(&tx, id, name, audit).await?;
        tx.commit().await?;
        Ok(found)
    }

    async fn display_names(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>> {
        accounts::display_names(&self.pool.get().await?, ids).await
    }

    async fn update_user(
        &self,
        id: Uuid,
        role: Option<&str>,
        disabled: Option<bool>,
        at: i64,
        audit: AuditRecord,
    ) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let updated = accounts::update_user(&tx, id, role, disabled, at, audit).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn set_password(
        &self,
        id: Uuid,
        password_hash: &str,
        at: i64,
        audit: AuditRecord,
    ) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let updated = accounts::set_password(&tx, id, password_hash, at, audit).await?;
        tx.commit().await?;
        Ok(updated)
    }

    async fn record_login_failure(&self, id: Uuid) -> Result<i64> {
        accounts::record_login_failure(&self.pool.get().await?, id).await
    }

    async fn reset_login_failures(&self, id: Uuid) -> Result<()> {
        accounts::reset_login_failures(&self.pool.get().await?, id).await
    }

    async fn set_totp_secret(
        &self,
        id: Uuid,
        sealed: Option<&[u8]>,
        audit: AuditRecord,
    ) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        accounts::set_totp_secret(&tx, id, sealed, audit).await?;
        tx.commit().await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRow>> {
        accounts::tokens(&self.pool.get().await?).await
    }

    async fn revoke_token(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let revoked = accounts::revoke_token(&tx, id, at, audit).await?;
        tx.commit().await?;
        Ok(revoked)
    }

    async fn touch_token(&self, id: Uuid, at: i64) -> Result<()> {
        accounts::touch_token(&self.pool.get().await?, id, at).await
    }

    async fn sign_in_failures(&self, key: &[u8]) -> Result<Option<SignInFailures>> {
        accounts::sign_in_failures(&self.pool.get().await?, key).await
    }

    async fn count_sign_in_failure(
        &self,
        key: &[u8],
        at: i64,
        stale_before: i64,
    ) -> Result<SignInFailures> {
        accounts::count_sign_in_failure(&self.pool.get().await?, key, at, stale_before).await
    }

    async fn clear_sign_in_failures(&self, key: &[u8]) -> Result<()> {
        accounts::clear_sign_in_failures(&self.pool.get().await?, key).await
    }

    async fn forget_sign_in_failures(&self, before: i64) -> Result<u64> {
        accounts::forget_sign_in_failures(&self.pool.get().await?, before).await
    }
}
