//! Versioned privacy notices, drafted then published.

use super::*;
use crate::sql::notices;

#[async_trait]
impl Notices for SqliteStore {
    async fn create_notice(&self, n: &NoticeRow, audit: AuditRecord) -> Result<()> {
        let n = n.clone();
        self.write(move |tx| ready(notices::create(tx, &n, audit)))
            .await
    }

    async fn publish_notice(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        self.write(move |tx| ready(notices::publish(tx, id, at, audit)))
            .await
    }

    async fn notices(&self) -> Result<Vec<NoticeRow>> {
        self.read(|c| ready(notices::all(c)))
    }
}
