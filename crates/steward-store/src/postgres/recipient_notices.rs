//! Art. 19 notices to recipients, in PostgreSQL.

use super::*;
use crate::sql::recipient_notices as shared;
use crate::{RecipientNoticeFilter, RecipientNoticeRow};

#[async_trait]
impl RecipientNotices for PostgresStore {
    async fn recipient_notice(&self, id: Uuid) -> Result<Option<RecipientNoticeRow>> {
        shared::notice(&self.pool.get().await?, id).await
    }

    async fn recipient_notices(
        &self,
        filter: &RecipientNoticeFilter,
    ) -> Result<Vec<RecipientNoticeRow>> {
        shared::notices(&self.pool.get().await?, filter).await
    }

    async fn move_recipient_notice(
        &self,
        row: &RecipientNoticeRow,
        from: &str,
        audit: Vec<AuditRecord>,
    ) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        shared::move_notice(&tx, row, from, audit).await?;
        tx.commit().await
    }

    async fn overdue_recipient_notices(&self, now: i64) -> Result<u64> {
        shared::overdue(&self.pool.get().await?, now).await
    }
}
