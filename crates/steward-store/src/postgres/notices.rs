//! Versioned privacy notices, drafted then published.

use super::*;

#[async_trait]
impl Notices for PostgresStore {
    async fn create_notice(&self, n: &NoticeRow, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(
            &format!(
                "INSERT INTO notices ({NOTICE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            ),
            &[
                &n.id,
                &n.version,
                &n.language,
                &n.effective_at,
                &n.material,
                &n.body,
                &n.summaries,
                &n.created_at,
                &n.published_at,
            ],
        )
        .await
        .map_err(|e| map_unique(e, "version"))?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn publish_notice(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE notices SET published_at = $2 WHERE id = $1 AND published_at IS NULL",
                &[&id, &at],
            )
            .await?;
        if n > 0 {
            append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        }
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn notices(&self) -> Result<Vec<NoticeRow>> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {NOTICE_COLS} FROM notices ORDER BY created_at DESC, version DESC"
                ),
                &[],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| NoticeRow {
                id: r.get(0),
                version: r.get(1),
                language: r.get(2),
                effective_at: r.get(3),
                material: r.get(4),
                body: r.get(5),
                summaries: r.get(6),
                created_at: r.get(7),
                published_at: r.get(8),
            })
            .collect())
    }
}
