//! Versioned privacy notices, drafted then published.

use async_trait::async_trait;
use steward_core::audit::AuditRecord;
use uuid::Uuid;

use crate::{NoticeRow, Result};

#[async_trait]
pub trait Notices: Send + Sync {
    /// Adds a draft notice; its version must be new.
    async fn create_notice(&self, notice: &NoticeRow, audit: AuditRecord) -> Result<()>;
    /// Publishes a draft; false when there is no such draft (absent or already published).
    async fn publish_notice(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool>;
    /// Every version, newest first.
    async fn notices(&self) -> Result<Vec<NoticeRow>>;
}
