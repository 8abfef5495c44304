//! The privacy portal's sign-in codes and sessions.

use async_trait::async_trait;
use steward_core::audit::AuditRecord;
use uuid::Uuid;

use crate::{CodeCheck, PortalCode, PortalSession, Result};

#[async_trait]
pub trait Portal: Send + Sync {
    /// The newest unspent portal code sent to this address, unexpired at `now`.
    async fn portal_code(&self, address: &[u8], now: i64) -> Result<Option<PortalCode>>;
    /// Records an attempt at a code: when `matched` and attempts are left, spends it and
    /// opens `session`; otherwise counts the attempt. Atomic, so racing attempts each count.
    async fn check_portal_code(
        &self,
        code: Uuid,
        now: i64,
        matched: bool,
        max_attempts: i64,
        session: &PortalSession,
        audit: AuditRecord,
    ) -> Result<CodeCheck>;
    async fn portal_session(&self, token_hash: &[u8; 32]) -> Result<Option<PortalSession>>;
    /// Marks a session used at `at`, or ended.
    async fn touch_portal_session(&self, token_hash: &[u8; 32], at: i64, end: bool) -> Result<()>;
}
