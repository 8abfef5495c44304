//! Portal codes and sessions, in SQLite.

use super::*;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::uuid_from;
use crate::records::hash32;
use crate::{CodeCheck, NewPortalCode, PortalCode, PortalSession, Result, StoreError};

pub(super) fn save_code(tx: &Transaction, new: &NewPortalCode) -> Result<()> {
    let c = &new.code;
    let (recent, failed): (i64, i64) = tx
        .prepare_cached(
            "SELECT COUNT(*) FILTER (WHERE created_at >= ?2),
                    COALESCE(SUM(failed) FILTER (WHERE created_at >= ?3), 0)
             FROM portal_codes WHERE address = ?1",
        )?
        .query_row(params![c.address, new.since, new.failures_since], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    if recent >= new.max_since || failed >= new.max_failures {
        return Err(StoreError::Conflict);
    }
    tx.prepare_cached(
        "INSERT INTO portal_codes (id, customer_id, address, code_hash, created_at, expires_at, attempts, used_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        c.id.as_bytes().as_slice(),
        c.customer_id.as_bytes().as_slice(),
        c.address,
        c.code_hash.as_slice(),
        c.created_at,
        c.expires_at,
        c.attempts,
        c.used_at
    ])?;
    Ok(())
}

pub(super) fn code(c: &Connection, address: &[u8], now: i64) -> Result<Option<PortalCode>> {
    let found = c
        .prepare_cached(
            "SELECT id, customer_id, address, code_hash, created_at, expires_at, attempts, used_at
             FROM portal_codes WHERE address = ?1 AND used_at IS NULL AND expires_at > ?2
             ORDER BY created_at DESC LIMIT 1",
        )?
        .query_row(params![address, now], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(3)?,
                PortalCode {
                    id: Uuid::nil(),
                    customer_id: Uuid::nil(),
                    address: r.get(2)?,
                    code_hash: [0; 32],
                    created_at: r.get(4)?,
                    expires_at: r.get(5)?,
                    attempts: r.get(6)?,
                    used_at: r.get(7)?,
                },
            ))
        })
        .optional()?;
    found
        .map(|(id, customer, hash, mut code)| {
            code.id = uuid_from(id)?;
            code.customer_id = uuid_from(customer)?;
            code.code_hash = hash32(&hash)?;
            Ok(code)
        })
        .transpose()
}

pub(super) fn check_code(
    tx: &Transaction,
    code: Uuid,
    now: i64,
    matched: bool,
    max_attempts: i64,
    session: &PortalSession,
) -> Result<CodeCheck> {
    let id = code.as_bytes().as_slice();
    let live = tx
        .prepare_cached(
            "UPDATE portal_codes SET attempts = attempts + 1,
               failed = failed + CASE WHEN ?3 THEN 0 ELSE 1 END,
               used_at = CASE WHEN ?3 THEN ?2 ELSE NULL END
             WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2 AND attempts < ?4",
        )?
        .execute(params![id, now, matched, max_attempts])?;
    if live == 0 {
        return Ok(CodeCheck::Void);
    }
    if !matched {
        return Ok(CodeCheck::Wrong);
    }
    // Signing in spends every other code that went to the same address.
    tx.prepare_cached(
        "UPDATE portal_codes SET used_at = ?2
         WHERE used_at IS NULL AND address = (SELECT address FROM portal_codes WHERE id = ?1)",
    )?
    .execute(params![id, now])?;
    tx.prepare_cached(
        "INSERT INTO portal_sessions (token_hash, customer_id, created_at, last_used_at, ended_at)
         VALUES (?1, ?2, ?3, ?4, NULL)",
    )?
    .execute(params![
        session.token_hash.as_slice(),
        session.customer_id.as_bytes().as_slice(),
        session.created_at,
        session.last_used_at
    ])?;
    Ok(CodeCheck::SignedIn)
}

pub(super) fn session(c: &Connection, token_hash: &[u8; 32]) -> Result<Option<PortalSession>> {
    let found = c
        .prepare_cached(
            "SELECT customer_id, created_at, last_used_at, ended_at FROM portal_sessions WHERE token_hash = ?1",
        )?
        .query_row([token_hash.as_slice()], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                PortalSession {
                    token_hash: *token_hash,
                    customer_id: Uuid::nil(),
                    created_at: r.get(1)?,
                    last_used_at: r.get(2)?,
                    ended_at: r.get(3)?,
                },
            ))
        })
        .optional()?;
    found
        .map(|(customer, mut s)| {
            s.customer_id = uuid_from(customer)?;
            Ok(s)
        })
        .transpose()
}

pub(super) fn touch_session(
    tx: &Transaction,
    token_hash: &[u8; 32],
    at: i64,
    end: bool,
) -> Result<()> {
    tx.prepare_cached(
        "UPDATE portal_sessions SET last_used_at = ?2, ended_at = CASE WHEN ?3 THEN ?2 ELSE ended_at END
         WHERE token_hash = ?1",
    )?
    .execute(params![token_hash.as_slice(), at, end])?;
    Ok(())
}

pub(super) fn erase(tx: &Transaction, customer: &[u8]) -> Result<()> {
    tx.prepare_cached("DELETE FROM portal_codes WHERE customer_id = ?1")?
        .execute([customer])?;
    tx.prepare_cached("DELETE FROM portal_sessions WHERE customer_id = ?1")?
        .execute([customer])?;
    Ok(())
}

#[async_trait]
impl Portal for SqliteStore {
    async fn portal_code(&self, address: &[u8], now: i64) -> Result<Option<PortalCode>> {
        self.read(|c| code(c, address, now))
    }

    async fn check_portal_code(
        &self,
        code: Uuid,
        now: i64,
        matched: bool,
        max_attempts: i64,
        session: &PortalSession,
        audit: AuditRecord,
    ) -> Result<CodeCheck> {
        let session = session.clone();
        self.write(move |tx| {
            let outcome = check_code(tx, code, now, matched, max_attempts, &session)?;
            append_audit_tx(tx, vec![audit])?;
            Ok(outcome)
        })
        .await
    }

    async fn portal_session(&self, token_hash: &[u8; 32]) -> Result<Option<PortalSession>> {
        self.read(|c| session(c, token_hash))
    }

    async fn touch_portal_session(&self, token_hash: &[u8; 32], at: i64, end: bool) -> Result<()> {
        let token_hash = *token_hash;
        self.write(move |tx| touch_session(tx, &token_hash, at, end))
            .await
    }
}
