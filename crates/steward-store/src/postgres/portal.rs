//! Portal codes and sessions, in PostgreSQL.

use super::*;

use deadpool_postgres::{Object, Transaction};
use uuid::Uuid;

use crate::records::hash32;
use crate::{CodeCheck, NewPortalCode, PortalCode, PortalSession, Result, StoreError};

pub(super) async fn save_code(tx: &Transaction<'_>, new: &NewPortalCode) -> Result<()> {
    let c = &new.code;
    // Codes to one address are counted under a lock on the address, so racing requests
    // cannot both pass the quota.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(encode($1, 'hex'), 0))",
        &[&c.address],
    )
    .await?;
    let row = tx
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE created_at >= $2),
                    COALESCE(SUM(failed) FILTER (WHERE created_at >= $3), 0)::BIGINT
             FROM portal_codes WHERE address = $1",
            &[&c.address, &new.since, &new.failures_since],
        )
        .await?;
    let (recent, failed): (i64, i64) = (row.get(0), row.get(1));
    if recent >= new.max_since || failed >= new.max_failures {
        return Err(StoreError::Conflict);
    }
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
               failed = failed + CASE WHEN $3 THEN 0 ELSE 1 END,
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
    // Signing in spends every other code that went to the same address.
    tx.execute(
        "UPDATE portal_codes SET used_at = $2
         WHERE used_at IS NULL AND address = (SELECT address FROM portal_codes WHERE id = $1)",
        &[&code, &now],
    )
    .await?;
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

#[async_trait]
impl Portal for PostgresStore {
    async fn portal_code(&self, address: &[u8], now: i64) -> Result<Option<PortalCode>> {
        code(&self.pool.get().await?, address, now).await
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
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let outcome = check_code(&tx, code, now, matched, max_attempts, session).await?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn portal_session(&self, token_hash: &[u8; 32]) -> Result<Option<PortalSession>> {
        session(&self.pool.get().await?, token_hash).await
    }

    async fn touch_portal_session(&self, token_hash: &[u8; 32], at: i64, end: bool) -> Result<()> {
        touch_session(&self.pool.get().await?, token_hash, at, end).await
    }
}
