//! Versioned privacy notices, drafted then published.

use super::*;
use crate::sql::notices;

#[async_trait]
impl Notices for PostgresStore {
    async fn create_notice(&self, n: &NoticeRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        notices::create(&tx, n, audit).await?;
        tx.commit().await
    }

    async fn publish_notice(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let published = notices::publish(&tx, id, at, audit).await?;
        tx.commit().await?;
        Ok(published)
    }

    async fn notices(&self) -> Result<Vec<NoticeRow>> {
        notices::all(&self.pool.get().await?).await
    }
}
