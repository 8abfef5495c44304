//! Staff accounts, their sign-in failures and second factor, and API and session tokens.

use super::*;

#[async_trait]
impl Accounts for SqliteStore {
    async fn create_user(&self, u: &UserRow, audit: AuditRecord) -> Result<()> {
        let u = u.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO users (id, email, role, purposes, password_hash, disabled, created_at, totp_secret)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    u.id.as_bytes().as_slice(),
                    u.email,
                    u.role,
                    to_json(&u.purposes),
                    u.password_hash,
                    u.disabled,
                    u.created_at,
                    u.totp_secret
                ],
            )
            .map_err(|e| map_unique(e, "email"))?;
            append_audit_tx(tx, vec![audit])?;
            Ok(())
        }).await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        self.read(|c| {
            c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE email = ?1"))?
                .query_row([email], user_from)
                .optional()?
                .map(finish_user)
                .transpose()
        })
    }

    async fn create_token(&self, t: &TokenRow, audit: AuditRecord) -> Result<()> {
        let t = t.clone();
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO api_tokens (id, token_hash, name, role, purposes, created_by, created_at, expires_at, revoked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    t.id.as_bytes().as_slice(),
                    &t.token_hash[..],
                    t.name,
                    t.role,
                    to_json(&t.purposes),
                    t.created_by,
                    t.created_at,
                    t.expires_at,
                    t.revoked_at
                ],
            )?;
            append_audit_tx(tx, vec![audit])?;
            Ok(())
        }).await
    }

    async fn find_token(&self, hash: &[u8; 32]) -> Result<Option<TokenRow>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = ?1"
            ))?
            .query_row([&hash[..]], token_from)
            .optional()?
            .map(finish_token)
            .transpose()
        })
    }

    async fn list_users(&self) -> Result<Vec<UserRow>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached(&format!("SELECT {USER_COLS} FROM users ORDER BY email"))?;
            let rows = stmt.query_map([], user_from)?;
            rows.map(|r| finish_user(r?)).collect()
        })
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
            let n = tx.execute(
                "UPDATE users SET role = coalesce(?2, role), disabled = coalesce(?3, disabled) WHERE id = ?1",
                params![id.as_bytes().as_slice(), role, disabled],
            )?;
            if n > 0 {
                tx.execute(
                    "UPDATE api_tokens SET revoked_at = ?2
                     WHERE created_by = ?1 AND name = 'session' AND revoked_at IS NULL",
                    params![format!("user:{id}"), at],
                )?;
                append_audit_tx(tx, vec![audit])?;
            }
            Ok(n > 0)
        }).await
    }

    async fn set_password(
        &self,
        id: Uuid,
        password_hash: &str,
        at: i64,
        audit: AuditRecord,
    ) -> Result<bool> {
        let password_hash = password_hash.to_string();
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE users SET password_hash = ?2, failed_logins = 0
                 WHERE id = ?1",
                params![id.as_bytes().as_slice(), password_hash],
            )?;
            if n > 0 {
                tx.execute(
                    "UPDATE api_tokens SET revoked_at = ?2
                     WHERE created_by = ?1 AND name = 'session' AND revoked_at IS NULL",
                    params![format!("user:{id}"), at],
                )?;
                append_audit_tx(tx, vec![audit])?;
            }
            Ok(n > 0)
        })
        .await
    }

    async fn record_login_failure(&self, id: Uuid) -> Result<i64> {
        self.write(move |tx| {
            Ok(tx.query_row(
                "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?1 RETURNING failed_logins",
                [id.as_bytes().as_slice()],
                |r| r.get(0),
            )?)
        })
        .await
    }

    async fn reset_login_failures(&self, id: Uuid) -> Result<()> {
        self.write(move |tx| {
            tx.execute(
                "UPDATE users SET failed_logins = 0 WHERE id = ?1",
                [id.as_bytes().as_slice()],
            )?;
            Ok(())
        })
        .await
    }

    async fn set_totp_secret(
        &self,
        id: Uuid,
        sealed: Option<&[u8]>,
        audit: AuditRecord,
    ) -> Result<()> {
        let sealed = sealed.map(<[u8]>::to_vec);
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE users SET totp_secret = ?2 WHERE id = ?1",
                params![id.as_bytes().as_slice(), sealed],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            append_audit_tx(tx, vec![audit])?;
            Ok(())
        })
        .await
    }

    async fn list_tokens(&self) -> Result<Vec<TokenRow>> {
        self.read(|c| {
            let mut stmt =
                c.prepare_cached(&format!("SELECT {TOKEN_COLS} FROM api_tokens ORDER BY id"))?;
            let rows = stmt.query_map([], token_from)?;
            rows.map(|r| finish_token(r?)).collect()
        })
    }

    async fn revoke_token(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                params![id.as_bytes().as_slice(), at],
            )?;
            if n > 0 {
                append_audit_tx(tx, vec![audit])?;
            }
            Ok(n > 0)
        })
        .await
    }

    async fn touch_token(&self, id: Uuid, at: i64) -> Result<()> {
        self.write(move |tx| {
            tx.prepare_cached("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1")?
                .execute(params![id.as_bytes().as_slice(), at])?;
            Ok(())
        })
        .await
    }
}
