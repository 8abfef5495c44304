//! Answers kept for idempotency keys.

use super::*;

#[async_trait]
impl Idempotency for SqliteStore {
    async fn find_idempotent(
        &self,
        key_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<IdempotentRow>> {
        self.read(|c| {
            let found = c
                .prepare_cached(
                    "SELECT fingerprint, customer_id, response, created_at, expires_at
                     FROM idempotency_keys WHERE key_hash = ?1 AND expires_at > ?2",
                )?
                .query_row(params![key_hash.as_slice(), now], |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .optional()?;
            found
                .map(
                    |(fingerprint, customer, response, created_at, expires_at)| {
                        Ok(IdempotentRow {
                            key_hash: *key_hash,
                            fingerprint: hash32(&fingerprint)?,
                            customer_id: uuid_from(customer)?,
                            response,
                            created_at,
                            expires_at,
                        })
                    },
                )
                .transpose()
        })
    }
}
