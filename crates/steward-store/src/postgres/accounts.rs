//! Staff accounts, their sign-in failures and second factor, and API and session tokens.

use super::*;

#[async_trait]
impl Accounts for PostgresStore {
    async fn create_user(&self, u: &UserRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO users (id, email, role, purposes, password_hash, disabled, created_at, totp_secret)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &u.id,
                &u.email,
                &u.role,
                &to_json(&u.purposes),
                &u.password_hash,
                &u.disabled,
                &u.created_at,
                &u.totp_secret,
            ],
        )
        .await
        .map_err(|e| map_unique(e, "email"))?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!("SELECT {USER_COLS} FROM users WHERE email = $1"),
                &[&email],
            )
            .await?;
        row.as_ref().map(user_from).transpose()
    }

    async fn create_token(&self, t: &TokenRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            "INSERT INTO api_tokens (id, token_hash, name, role, purposes, created_by, created_at, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &t.id,
                &&t.token_hash[..],
                &t.name,
                &t.role,
                &to_json(&t.purposes),
                &t.created_by,
                &t.created_at,
                &t.expires_at,
                &t.revoked_at,
            ],
        )
        .await?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_token(&self, hash: &[u8; 32]) -> Result<Option<TokenRow>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &format!("SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = $1"),
                &[&&hash[..]],
            )
            .await?;
        row.as_ref().map(token_from).transpose()
    }

    async fn list_users(&self) -> Result<Vec<UserRow>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!("SELECT {USER_COLS} FROM users ORDER BY email"),
                &[],
            )
            .await?;
        rows.iter().map(user_from).collect()
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
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE users SET role = coalesce($2, role), disabled = coalesce($3, disabled) WHERE id = $1",
                &[&id, &role, &disabled],
            )
            .await?;
        if n > 0 {
            tx.execute(
                "UPDATE api_tokens SET revoked_at = $2
                 WHERE created_by = $1 AND name = 'session' AND revoked_at IS NULL",
                &[&format!("user:{id}"), &at],
            )
            .await?;
            append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn set_password(
        &self,
        id: Uuid,
        password_hash: &str,
        at: i64,
        audit: AuditRecord,
    ) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE users SET password_hash = $2, failed_logins = 0
                 WHERE id = $1",
                &[&id, &password_hash],
            )
            .await?;
        if n > 0 {
            tx.execute(
                "UPDATE api_tokens SET revoked_at = $2
                 WHERE created_by = $1 AND name = 'session' AND revoked_at IS NULL",
                &[&format!("user:{id}"), &at],
            )
            .await?;
            append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn record_login_failure(&self, id: Uuid) -> Result<i64> {
        let client = self.pool.get().await?;
        let row = client
            .query_one(
                "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
                &[&id],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn reset_login_failures(&self, id: Uuid) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute("UPDATE users SET failed_logins = 0 WHERE id = $1", &[&id])
            .await?;
        Ok(())
    }

    async fn set_totp_secret(
        &self,
        id: Uuid,
        sealed: Option<&[u8]>,
        audit: AuditRecord,
    ) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE users SET totp_secret = $2 WHERE id = $1",
                &[&id, &sealed],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRow>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY id"),
                &[],
            )
            .await?;
        rows.iter().map(token_from).collect()
    }

    async fn revoke_token(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
                &[&id, &at],
            )
            .await?;
        if n > 0 {
            append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn touch_token(&self, id: Uuid, at: i64) -> Result<()> {
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1",
                &[&id, &at],
            )
            .await?;
        Ok(())
    }
}
