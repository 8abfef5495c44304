//! Art. 19 notices to the recipients of a customer's data. They are written with the change
//! they tell of (see `ChangeSet::recipient_updates`); here they are read and moved on.

use async_trait::async_trait;
use steward_core::audit::AuditRecord;
use uuid::Uuid;

use crate::{RecipientNoticeFilter, RecipientNoticeRow, Result};

#[async_trait]
pub trait RecipientNotices: Send + Sync {
    async fn recipient_notice(&self, id: Uuid) -> Result<Option<RecipientNoticeRow>>;
    async fn recipient_notices(
        &self,
        filter: &RecipientNoticeFilter,
    ) -> Result<Vec<RecipientNoticeRow>>;
    /// Writes `row` (its status, reason and times) with its audit entries, if the notice is
    /// still in status `from`; otherwise nothing is written and it fails with `Conflict`. A
    /// sender of notices calls it too, to mark what it sent or failed to send.
    async fn move_recipient_notice(
        &self,
        row: &RecipientNoticeRow,
        from: &str,
        audit: Vec<AuditRecord>,
    ) -> Result<()>;
    /// Notices still to be sent (pending or failed) whose due date is before `now`.
    async fn overdue_recipient_notices(&self, now: i64) -> Result<u64>;
}
