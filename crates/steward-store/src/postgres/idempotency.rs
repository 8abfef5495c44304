//! Answers kept for idempotency keys.

use super::*;

#[async_trait]
impl Idempotency for PostgresStore {
    async fn find_idempotent(
        &self,
        key_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<IdempotentRow>> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                "SELECT fingerprint, customer_id, response, created_at, expires_at
                 FROM idempotency_keys WHERE key_hash = $1 AND expires_at > $2",
                &[&key_hash.as_slice(), &now],
            )
            .await?;
        row.map(|r| {
            Ok(IdempotentRow {
                key_hash: *key_hash,
                fingerprint: hash32(r.get::<_, &[u8]>(0))?,
                customer_id: r.get(1),
                response: r.get(2),
                created_at: r.get(3),
                expires_at: r.get(4),
            })
        })
        .transpose()
    }
}
