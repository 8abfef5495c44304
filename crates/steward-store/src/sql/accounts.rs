//! Staff accounts, their sign-in failures and second factor, and API and session tokens.

use steward_core::audit::AuditRecord;
use uuid::Uuid;

use super::breach_scope::IDS_PER_LOOKUP;
use super::{Builder, Exec, Row, Sql, Value, WriteTx, args, marks};
use crate::records::{from_json, to_json};
use crate::{Result, Revoked, SignInFailures, StoreError, TokenRow, UserRow};

macro_rules! user_cols {
    () => {
        "id, email, role, purposes, password_hash, disabled, created_at, totp_secret, failed_logins, display_name"
    };
}
macro_rules! token_cols {
    () => {
        "id, token_hash, name, role, purposes, created_by, created_at, expires_at, revoked_at, last_used_at"
    };
}

static INSERT_USER: Sql = Sql::new(
    "INSERT INTO users (id, email, role, purposes, password_hash, disabled, created_at, totp_secret,
       display_name)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
);
static USER_BY_EMAIL: Sql = Sql::new(concat!(
    "SELECT ",
    user_cols!(),
    " FROM users WHERE email = ?1"
));
static USERS: Sql = Sql::new(concat!(
    "SELECT ",
    user_cols!(),
    " FROM users ORDER BY email"
));
static INSERT_TOKEN: Sql = Sql::new(
    "INSERT INTO api_tokens (id, token_hash, name, role, purposes, created_by, created_at, expires_at, revoked_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
);
static TOKEN_BY_HASH: Sql = Sql::new(concat!(
    "SELECT ",
    token_cols!(),
    " FROM api_tokens WHERE token_hash = ?1"
));
static TOKENS: Sql = Sql::new(concat!(
    "SELECT ",
    token_cols!(),
    " FROM api_tokens ORDER BY id"
));
static UPDATE_USER: Sql = Sql::new(
    "UPDATE users SET role = coalesce(?2, role), disabled = coalesce(?3, disabled) WHERE id = ?1",
);
static SET_PASSWORD: Sql =
    Sql::new("UPDATE users SET password_hash = ?2, failed_logins = 0 WHERE id = ?1");
static END_SESSIONS: Sql = Sql::new(
    "UPDATE api_tokens SET revoked_at = ?2
     WHERE created_by = ?1 AND name = 'session' AND revoked_at IS NULL",
);
static COUNT_FAILURE: Sql = Sql::new(
    "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?1 RETURNING failed_logins",
);
static RESET_FAILURES: Sql = Sql::new("UPDATE users SET failed_logins = 0 WHERE id = ?1");
static SET_DISPLAY_NAME: Sql = Sql::new("UPDATE users SET display_name = ?2 WHERE id = ?1");
static SET_TOTP: Sql = Sql::new("UPDATE users SET totp_secret = ?2 WHERE id = ?1");
static REVOKE_TOKEN: Sql =
    Sql::new("UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL");
static TOUCH_TOKEN: Sql = Sql::new("UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1");
static SIGN_IN_FAILURES: Sql =
    Sql::new("SELECT failures, last_at FROM login_throttle WHERE key = ?1");
/// One statement, so failures of one source on several instances at once each count; a run
/// of failures whose last is older than `?3` starts over.
static COUNT_SIGN_IN_FAILURE: Sql = Sql::new(
    "INSERT INTO login_throttle (key, failures, last_at) VALUES (?1, 1, ?2)
     ON CONFLICT (key) DO UPDATE SET
       failures = CASE WHEN login_throttle.last_at <= ?3 THEN 1 ELSE login_throttle.failures + 1 END,
       last_at = ?2
     RETURNING failures, last_at",
);
static CLEAR_SIGN_IN_FAILURES: Sql = Sql::new("DELETE FROM login_throttle WHERE key = ?1");
static FORGET_SIGN_IN_FAILURES: Sql = Sql::new("DELETE FROM login_throttle WHERE last_at <= ?1");

fn user_from(r: &dyn Row) -> Result<UserRow> {
    Ok(UserRow {
        id: r.id(0)?,
        email: r.text(1)?,
        role: r.text(2)?,
        purposes: from_json(&r.text(3)?)?,
        password_hash: r.text(4)?,
        disabled: r.bool(5)?,
        created_at: r.int(6)?,
        totp_secret: r.opt_bytes(7)?,
        failed_logins: r.int(8)?,
        display_name: r.text(9)?,
    })
}

fn token_from(r: &dyn Row) -> Result<TokenRow> {
    Ok(TokenRow {
        id: r.id(0)?,
        token_hash: r.hash(1)?,
        name: r.text(2)?,
        role: r.text(3)?,
        purposes: from_json(&r.text(4)?)?,
        created_by: r.text(5)?,
        created_at: r.int(6)?,
        expires_at: r.opt_int(7)?,
        revoked_at: r.opt_int(8)?,
        last_used_at: r.opt_int(9)?,
    })
}

pub(crate) async fn create_user(e: &impl WriteTx, u: &UserRow, audit: AuditRecord) -> Result<()> {
    let purposes = to_json(&u.purposes);
    e.execute(
        &INSERT_USER,
        &args![
            u.id,
            &u.email,
            &u.role,
            &purposes,
            &u.password_hash,
            u.disabled,
            u.created_at,
            u.totp_secret.as_ref(),
            &u.display_name
        ],
    )
    .await
    .map_err(|e| e.duplicate_of("email"))?;
    e.append_audit(vec![audit]).await?;
    Ok(())
}

pub(crate) async fn find_user_by_email(e: &impl Exec, email: &str) -> Result<Option<UserRow>> {
    e.query_opt(&USER_BY_EMAIL, &args![email], user_from).await
}

pub(crate) async fn users(e: &impl Exec) -> Result<Vec<UserRow>> {
    e.query(&USERS, &[], user_from).await
}

pub(crate) async fn create_token(e: &impl WriteTx, t: &TokenRow, audit: AuditRecord) -> Result<()> {
    let purposes = to_json(&t.purposes);
    e.execute(
        &INSERT_TOKEN,
        &args![
            t.id,
            &t.token_hash,
            &t.name,
            &t.role,
            &purposes,
            &t.created_by,
            t.created_at,
            t.expires_at,
            t.revoked_at
        ],
    )
    .await?;
    e.append_audit(vec![audit]).await?;
    Ok(())
}

pub(crate) async fn find_token(e: &impl Exec, hash: &[u8; 32]) -> Result<Option<TokenRow>> {
    e.query_opt(&TOKEN_BY_HASH, &args![hash], token_from).await
}

pub(crate) async fn tokens(e: &impl Exec) -> Result<Vec<TokenRow>> {
    e.query(&TOKENS, &[], token_from).await
}

/// Ends a user's sign-in sessions (their tokens named `session`) and audits the change that
/// did so.
async fn end_sessions(e: &impl WriteTx, id: Uuid, at: i64, audit: AuditRecord) -> Result<()> {
    let by = format!("user:{id}");
    e.execute(&END_SESSIONS, &args![&by, at]).await?;
    e.append_audit(vec![audit]).await?;
    e.revoked(Revoked::User(id)).await
}

pub(crate) async fn update_user(
    e: &impl WriteTx,
    id: Uuid,
    role: Option<&str>,
    disabled: Option<bool>,
    at: i64,
    audit: AuditRecord,
) -> Result<bool> {
    let n = e.execute(&UPDATE_USER, &args![id, role, disabled]).await?;
    if n > 0 {
        end_sessions(e, id, at, audit).await?;
    }
    Ok(n > 0)
}

pub(crate) async fn set_password(
    e: &impl WriteTx,
    id: Uuid,
    password_hash: &str,
    at: i64,
    audit: AuditRecord,
) -> Result<bool> {
    let n = e.execute(&SET_PASSWORD, &args![id, password_hash]).await?;
    if n > 0 {
        end_sessions(e, id, at, audit).await?;
    }
    Ok(n > 0)
}

pub(crate) async fn set_display_name(
    e: &impl WriteTx,
    id: Uuid,
    name: &str,
    audit: AuditRecord,
) -> Result<bool> {
    let n = e.execute(&SET_DISPLAY_NAME, &args![id, name]).await?;
    if n > 0 {
        e.append_audit(vec![audit]).await?;
    }
    Ok(n > 0)
}

/// The display name of each of `ids` that names a staff account, in one statement per
/// few hundred ids.
pub(crate) async fn display_names(e: &impl Exec, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let values: Vec<Value<'_>> = chunk.iter().map(|id| Value::Id(*id)).collect();
        let mut b = Builder::new("SELECT id, display_name FROM users WHERE id IN (");
        b.push(&format!("{})", marks(values.len())), &values);
        out.extend(
            e.query_text(&b.sql, &b.args, |r| Ok((r.id(0)?, r.text(1)?)))
                .await?,
        );
    }
    Ok(out)
}

pub(crate) async fn record_login_failure(e: &impl Exec, id: Uuid) -> Result<i64> {
    e.query_opt(&COUNT_FAILURE, &args![id], |r| r.int(0))
        .await?
        // As when a statement that must return a row returns none: a storage failure,
        // not an answer the caller could act on.
        .ok_or_else(|| StoreError::Database("a failed sign-in was counted for no user".into()))
}

pub(crate) async fn reset_login_failures(e: &impl Exec, id: Uuid) -> Result<()> {
    e.execute(&RESET_FAILURES, &args![id]).await?;
    Ok(())
}

pub(crate) async fn set_totp_secret(
    e: &impl WriteTx,
    id: Uuid,
    sealed: Option<&[u8]>,
    audit: AuditRecord,
) -> Result<()> {
    if e.execute(&SET_TOTP, &args![id, sealed]).await? == 0 {
        return Err(StoreError::NotFound);
    }
    e.append_audit(vec![audit]).await?;
    Ok(())
}

pub(crate) async fn revoke_token(
    e: &impl WriteTx,
    id: Uuid,
    at: i64,
    audit: AuditRecord,
) -> Result<bool> {
    let n = e.execute(&REVOKE_TOKEN, &args![id, at]).await?;
    if n > 0 {
        e.append_audit(vec![audit]).await?;
        e.revoked(Revoked::Token(id)).await?;
    }
    Ok(n > 0)
}

pub(crate) async fn touch_token(e: &impl Exec, id: Uuid, at: i64) -> Result<()> {
    e.execute(&TOUCH_TOKEN, &args![id, at]).await?;
    Ok(())
}

fn failures_from(r: &dyn Row) -> Result<SignInFailures> {
    Ok(SignInFailures {
        failures: r.int(0)?,
        last_at: r.int(1)?,
    })
}

pub(crate) async fn sign_in_failures(e: &impl Exec, key: &[u8]) -> Result<Option<SignInFailures>> {
    e.query_opt(&SIGN_IN_FAILURES, &args![key], failures_from)
        .await
}

pub(crate) async fn count_sign_in_failure(
    e: &impl Exec,
    key: &[u8],
    at: i64,
    stale_before: i64,
) -> Result<SignInFailures> {
    e.query_opt(
        &COUNT_SIGN_IN_FAILURE,
        &args![key, at, stale_before],
        failures_from,
    )
    .await?
    // An upsert that returns no row is a storage failure, as above.
    .ok_or_else(|| StoreError::Database("a failed sign-in was counted for no source".into()))
}

pub(crate) async fn clear_sign_in_failures(e: &impl Exec, key: &[u8]) -> Result<()> {
    e.execute(&CLEAR_SIGN_IN_FAILURES, &args![key]).await?;
    Ok(())
}

pub(crate) async fn forget_sign_in_failures(e: &impl Exec, before: i64) -> Result<u64> {
    e.execute(&FORGET_SIGN_IN_FAILURES, &args![before]).await
}
