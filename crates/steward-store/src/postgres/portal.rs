//! Portal codes and sessions, in PostgreSQL.

use deadpool_postgres::{Object, Transaction};
use uuid::Uuid;

use crate::records::hash32;
use crate::{CodeCheck, PortalCode, PortalSession, Result};

pub(super) async fn save_code(tx: &Transaction<'_>, c: &PortalCode) -> Result<()> {
    tx.execute(
        "INSERT INTO portal_codes (id, customer_id, address, code_hash, created_at, expires_at, attempts, used_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &c.id,
            &c.customer_id,
            &c.address,
            &c.code_hash.as_slice(),
            &c.created_at,
            &c.expires_at,
            &c.attempts,
            &c.used_at,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn code(client: &Object, address: &[u8], now: i64) -> Result<Option<PortalCode>> {
    let row = client
        .query_opt(
            "SELECT id, customer_id, address, code_hash, created_at, expires_at, attempts, used_at
             FROM portal_codes WHERE address = $1 AND used_at IS NULL AND expires_at > $2
             ORDER BY created_at DESC LIMIT 1",
            &[&address, &now],
        )
        .await?;
    row.map(|r| {
        Ok(PortalCode {
            id: r.get(0),
            customer_id: r.get(1),
            address: r.get(2),
            code_hash: hash32(r.get(3))?,
            created_at: r.get(4),
            expires_at: r.get(5),
            attempts: r.get(6),
            used_at: r.get(7),
        })
    })
    .transpose()
}

pub(super) async fn codes_since(client: &Object, address: &[u8], since: i64) -> Result<u64> {
    let n: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM portal_codes WHERE address = $1 AND created_at >= $2",
            &[&address, &since],
        )
        .await?
        .get(0);
    Ok(n as u64)
}

pub(super) async fn check_code(
    tx: &Transaction<'_>,
    code: Uuid,
    now: i64,
    matched: bool,
    max_attempts: i64,
    session: &PortalSession,
) -> Result<CodeCheck> {
    let live = tx
        .execute(
            "UPDATE portal_codes SET attempts = attempts + 1,
               used_at = CASE WHEN $3 THEN $2 ELSE NULL END
             WHERE id = $1 AND used_at IS NULL AND expires_at > $2 AND attempts < $4",
            &[&code, &now, &matched, &max_attempts],
        )
        .await?;
    if live == 0 {
        return Ok(CodeCheck::Void);
    }
    if !matched {
        return Ok(CodeCheck::Wrong);
    }
    tx.execute(
        "INSERT INTO portal_sessions (token_hash, customer_id, created_at, last_used_at, ended_at)
         VALUES ($1, $2, $3, $4, NULL)",
        &[
            &session.token_hash.as_slice(),
            &session.customer_id,
            &session.created_at,
            &session.last_used_at,
        ],
    )
    .await?;
    Ok(CodeCheck::SignedIn)
}

pub(super) async fn session(
    client: &Object,
    token_hash: &[u8; 32],
) -> Result<Option<PortalSession>> {
    let row = client
        .query_opt(
            "SELECT customer_id, created_at, last_used_at, ended_at FROM portal_sessions WHERE token_hash = $1",
            &[&token_hash.as_slice()],
        )
        .await?;
    Ok(row.map(|r| PortalSession {
        token_hash: *token_hash,
        customer_id: r.get(0),
        created_at: r.get(1),
        last_used_at: r.get(2),
        ended_at: r.get(3),
    }))
}

pub(super) async fn touch_session(
    client: &Object,
    token_hash: &[u8; 32],
    at: i64,
    end: bool,
) -> Result<()> {
    client
        .execute(
            "UPDATE portal_sessions SET last_used_at = $2, ended_at = CASE WHEN $3 THEN $2 ELSE ended_at END
             WHERE token_hash = $1",
            &[&token_hash.as_slice(), &at, &end],
        )
        .await?;
    Ok(())
}

pub(super) async fn erase(tx: &Transaction<'_>, customer: &Uuid) -> Result<()> {
    tx.execute(
        "DELETE FROM portal_codes WHERE customer_id = $1",
        &[customer],
    )
    .await?;
    tx.execute(
        "DELETE FROM portal_sessions WHERE customer_id = $1",
        &[customer],
    )
    .await?;
    Ok(())
}
