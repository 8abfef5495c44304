//! Answers kept for idempotency keys.

use async_trait::async_trait;

use crate::{IdempotentRow, Result};

#[async_trait]
pub trait Idempotency: Send + Sync {
    /// The kept answer for an idempotency key, if one was kept and has not expired by `now`.
    async fn find_idempotent(&self, key_hash: &[u8; 32], now: i64)
    -> Result<Option<IdempotentRow>>;
}
