//! Portal codes and sessions, in PostgreSQL.

use super::*;

use crate::sql::portal;
use crate::{CodeCheck, PortalCode, PortalSession};

#[async_trait]
impl Portal for PostgresStore {
    async fn portal_code(&self, address: &[u8], now: i64) -> Result<Option<PortalCode>> {
        portal::code(&self.pool.get().await?, address, now).await
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
        let tx = self.begin(&mut client).await?;
        let outcome =
            portal::check_code(&tx, code, now, matched, max_attempts, session, audit).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    async fn portal_session(&self, token_hash: &[u8; 32]) -> Result<Option<PortalSession>> {
        portal::session(&self.pool.get().await?, token_hash).await
    }

    async fn touch_portal_session(&self, token_hash: &[u8; 32], at: i64, end: bool) -> Result<()> {
        portal::touch_session(&self.pool.get().await?, token_hash, at, end).await
    }
}
