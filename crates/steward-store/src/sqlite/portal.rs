//! Portal codes and sessions, in SQLite.

use super::*;

use crate::sql::portal;
use crate::{CodeCheck, PortalCode, PortalSession};

#[async_trait]
impl Portal for SqliteStore {
    async fn portal_code(&self, address: &[u8], now: i64) -> Result<Option<PortalCode>> {
        self.read(|c| ready(portal::code(c, address, now)))
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
        let session = session.clone();
        self.write(move |tx| {
            ready(portal::check_code(
                tx,
                code,
                now,
                matched,
                max_attempts,
                &session,
                audit,
            ))
        })
        .await
    }

    async fn portal_session(&self, token_hash: &[u8; 32]) -> Result<Option<PortalSession>> {
        self.read(|c| ready(portal::session(c, token_hash)))
    }

    async fn touch_portal_session(&self, token_hash: &[u8; 32], at: i64, end: bool) -> Result<()> {
        let token_hash = *token_hash;
        self.write(move |tx| ready(portal::touch_session(tx, &token_hash, at, end)))
            .await
    }
}
