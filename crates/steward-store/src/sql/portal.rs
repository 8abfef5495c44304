//! The privacy portal's sign-in codes and sessions.

use steward_core::audit::AuditRecord;
use uuid::Uuid;

use super::{Exec, Lock, Sql, WriteTx, args};
use crate::{CodeCheck, NewPortalCode, PortalCode, PortalSession, Result, StoreError};

static QUOTA: Sql = Sql::new(
    "SELECT COUNT(*) FILTER (WHERE created_at >= ?2),
            CAST(COALESCE(SUM(failed) FILTER (WHERE created_at >= ?3), 0) AS BIGINT)
     FROM portal_codes WHERE address = ?1",
);
static INSERT_CODE: Sql = Sql::new(
    "INSERT INTO portal_codes (id, customer_id, address, code_hash, created_at, expires_at, attempts, used_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
);
// Codes asked for within one tick of the clock are told apart by their time-ordered ids:
// left to the engine, PostgreSQL may answer with the older one, used up, and the code
// just mailed would never work.
static CODE: Sql = Sql::new(
    "SELECT id, customer_id, address, code_hash, created_at, expires_at, attempts, used_at
     FROM portal_codes WHERE address = ?1 AND used_at IS NULL AND expires_at > ?2
     ORDER BY created_at DESC, id DESC LIMIT 1",
);
static ATTEMPT: Sql = Sql::new(
    "UPDATE portal_codes SET attempts = attempts + 1,
       failed = failed + CASE WHEN ?3 THEN 0 ELSE 1 END,
       used_at = CASE WHEN ?3 THEN ?2 ELSE NULL END
     WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2 AND attempts < ?4",
);
static SPEND_OTHERS: Sql = Sql::new(
    "UPDATE portal_codes SET used_at = ?2
     WHERE used_at IS NULL AND address = (SELECT address FROM portal_codes WHERE id = ?1)",
);
static OPEN_SESSION: Sql = Sql::new(
    "INSERT INTO portal_sessions (token_hash, customer_id, created_at, last_used_at, ended_at)
     VALUES (?1, ?2, ?3, ?4, NULL)",
);
static SESSION: Sql = Sql::new(
    "SELECT customer_id, created_at, last_used_at, ended_at FROM portal_sessions WHERE token_hash = ?1",
);
static TOUCH_SESSION: Sql = Sql::new(
    "UPDATE portal_sessions SET last_used_at = ?2, ended_at = CASE WHEN ?3 THEN ?2 ELSE ended_at END
     WHERE token_hash = ?1",
);
static ERASE_CODES: Sql = Sql::new("DELETE FROM portal_codes WHERE customer_id = ?1");
static ERASE_SESSIONS: Sql = Sql::new("DELETE FROM portal_sessions WHERE customer_id = ?1");

/// Issues a code within its address's quota; `Conflict` past it. Codes to one address are
/// counted under a lock on the address, so racing requests cannot both pass the quota.
pub(crate) async fn save_code(x: &impl WriteTx, new: &NewPortalCode) -> Result<()> {
    let c = &new.code;
    x.lock(Lock::Address(&c.address)).await?;
    let quota = args![&c.address, new.since, new.failures_since];
    let (recent, failed) = x
        .query_opt(&QUOTA, &quota, |r| Ok((r.int(0)?, r.int(1)?)))
        .await?
        .unwrap_or((0, 0));
    if recent >= new.max_since || failed >= new.max_failures {
        return Err(StoreError::Conflict);
    }
    let args = args![
        c.id,
        c.customer_id,
        &c.address,
        &c.code_hash,
        c.created_at,
        c.expires_at,
        c.attempts,
        c.used_at
    ];
    x.execute(&INSERT_CODE, &args).await?;
    Ok(())
}

pub(crate) async fn code(x: &impl Exec, address: &[u8], now: i64) -> Result<Option<PortalCode>> {
    x.query_opt(&CODE, &args![address, now], |r| {
        Ok(PortalCode {
            id: r.id(0)?,
            customer_id: r.id(1)?,
            address: r.bytes(2)?,
            code_hash: r.hash(3)?,
            created_at: r.int(4)?,
            expires_at: r.int(5)?,
            attempts: r.int(6)?,
            used_at: r.opt_int(7)?,
        })
    })
    .await
}

/// Records an attempt at a code, signing in when it matched, and audits it.
pub(crate) async fn check_code(
    x: &impl WriteTx,
    code: Uuid,
    now: i64,
    matched: bool,
    max_attempts: i64,
    session: &PortalSession,
    audit: AuditRecord,
) -> Result<CodeCheck> {
    let outcome = attempt(x, code, now, matched, max_attempts, session).await?;
    x.append_audit(vec![audit]).await?;
    Ok(outcome)
}

async fn attempt(
    x: &impl Exec,
    code: Uuid,
    now: i64,
    matched: bool,
    max_attempts: i64,
    session: &PortalSession,
) -> Result<CodeCheck> {
    let live = x
        .execute(&ATTEMPT, &args![code, now, matched, max_attempts])
        .await?;
    if live == 0 {
        return Ok(CodeCheck::Void);
    }
    if !matched {
        return Ok(CodeCheck::Wrong);
    }
    // Signing in spends every other code that went to the same address.
    x.execute(&SPEND_OTHERS, &args![code, now]).await?;
    let args = args![
        &session.token_hash,
        session.customer_id,
        session.created_at,
        session.last_used_at
    ];
    x.execute(&OPEN_SESSION, &args).await?;
    Ok(CodeCheck::SignedIn)
}

pub(crate) async fn session(x: &impl Exec, token_hash: &[u8; 32]) -> Result<Option<PortalSession>> {
    x.query_opt(&SESSION, &args![token_hash], |r| {
        Ok(PortalSession {
            token_hash: *token_hash,
            customer_id: r.id(0)?,
            created_at: r.int(1)?,
            last_used_at: r.int(2)?,
            ended_at: r.opt_int(3)?,
        })
    })
    .await
}

pub(crate) async fn touch_session(
    x: &impl Exec,
    token_hash: &[u8; 32],
    at: i64,
    end: bool,
) -> Result<()> {
    x.execute(&TOUCH_SESSION, &args![token_hash, at, end])
        .await?;
    Ok(())
}

pub(crate) async fn erase(x: &impl Exec, customer: Uuid) -> Result<()> {
    x.execute(&ERASE_CODES, &args![customer]).await?;
    x.execute(&ERASE_SESSIONS, &args![customer]).await?;
    Ok(())
}
