//! Answers kept for idempotency keys.

use uuid::Uuid;

use super::{Exec, Sql, args};
use crate::{IDEMPOTENCY_KEY, IdempotentRow, Result};

static DROP_EXPIRED: Sql = Sql::new("DELETE FROM idempotency_keys WHERE expires_at <= ?1");
static INSERT: Sql = Sql::new(
    "INSERT INTO idempotency_keys (key_hash, fingerprint, customer_id, response, created_at, expires_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
);
static SCRUB: Sql =
    Sql::new("UPDATE idempotency_keys SET fingerprint = ?2, response = ?3 WHERE customer_id = ?1");
static FIND: Sql = Sql::new(
    "SELECT fingerprint, customer_id, response, created_at, expires_at
     FROM idempotency_keys WHERE key_hash = ?1 AND expires_at > ?2",
);

/// Keeps a POST's first answer. Expired keys go first, so a key may be used again once its
/// day is over.
pub(crate) async fn save(e: &impl Exec, kept: &IdempotentRow) -> Result<()> {
    e.execute(&DROP_EXPIRED, &args![kept.created_at]).await?;
    e.execute(
        &INSERT,
        &args![
            &kept.key_hash,
            &kept.fingerprint,
            kept.customer_id,
            &kept.response,
            kept.created_at,
            kept.expires_at
        ],
    )
    .await
    .map_err(|e| e.duplicate_of(IDEMPOTENCY_KEY))?;
    Ok(())
}

/// At erasure: a retried create must still find that the customer was erased, and no more.
pub(crate) async fn scrub(e: &impl Exec, customer: Uuid) -> Result<()> {
    let nothing: &[u8] = &[];
    e.execute(&SCRUB, &args![customer, &[0u8; 32], nothing])
        .await?;
    Ok(())
}

pub(crate) async fn find(
    e: &impl Exec,
    key_hash: &[u8; 32],
    now: i64,
) -> Result<Option<IdempotentRow>> {
    e.query_opt(&FIND, &args![key_hash, now], |r| {
        Ok(IdempotentRow {
            key_hash: *key_hash,
            fingerprint: r.hash(0)?,
            customer_id: r.id(1)?,
            response: r.bytes(2)?,
            created_at: r.int(3)?,
            expires_at: r.int(4)?,
        })
    })
    .await
}
