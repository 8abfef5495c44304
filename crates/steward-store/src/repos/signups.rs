//! Sign-ups from public forms, held sealed until their address is confirmed.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{Result, SignupRow};

#[async_trait]
pub trait Signups: Send + Sync {
    async fn signup(&self, id: Uuid) -> Result<Option<SignupRow>>;
    /// Up to `limit` sign-ups whose links ran out by `now`, oldest first.
    async fn expired_signups(&self, now: i64, limit: usize) -> Result<Vec<Uuid>>;
    /// Deletes these sign-ups with their messages and links; returns those it deleted, so
    /// that of several callers each sign-up is deleted by one.
    async fn drop_signups(&self, ids: &[Uuid]) -> Result<Vec<Uuid>>;
}
