//! Answers kept for idempotency keys.

use super::*;
use crate::sql::idempotency;

#[async_trait]
impl Idempotency for PostgresStore {
    async fn find_idempotent(
        &self,
        key_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<IdempotentRow>> {
        idempotency::find(&self.pool.get().await?, key_hash, now).await
    }
}
