//! Art. 19 notices to recipients, in SQLite.

use super::*;
use crate::sql::recipient_notices as shared;
use crate::{RecipientNoticeFilter, RecipientNoticeRow};

#[async_trait]
impl RecipientNotices for SqliteStore {
    async fn recipient_notice(&self, id: Uuid) -> Result<Option<RecipientNoticeRow>> {
        self.read(|c| ready(shared::notice(c, id)))
    }

    async fn recipient_notices(
        &self,
        filter: &RecipientNoticeFilter,
    ) -> Result<Vec<RecipientNoticeRow>> {
        self.read(|c| ready(shared::notices(c, filter)))
    }

    async fn move_recipient_notice(
        &self,
        row: &RecipientNoticeRow,
        from: &str,
        audit: Vec<AuditRecord>,
    ) -> Result<()> {
        let row = row.clone();
        let from = from.to_string();
        self.write(move |tx| ready(shared::move_notice(tx, &row, &from, audit)))
            .await
    }

    async fn overdue_recipient_notices(&self, now: i64) -> Result<u64> {
        self.read(|c| ready(shared::overdue(c, now)))
    }
}
