//! Answers kept for idempotency keys.

use super::*;
use crate::sql::idempotency;

#[async_trait]
impl Idempotency for SqliteStore {
    async fn find_idempotent(
        &self,
        key_hash: &[u8; 32],
        now: i64,
    ) -> Result<Option<IdempotentRow>> {
        self.read(|c| ready(idempotency::find(c, key_hash, now)))
    }
}
