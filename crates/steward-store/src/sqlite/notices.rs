//! Versioned privacy notices, drafted then published.

use super::*;

#[async_trait]
impl Notices for SqliteStore {
    async fn create_notice(&self, n: &NoticeRow, audit: AuditRecord) -> Result<()> {
        let n = n.clone();
        self.write(move |tx| {
            tx.prepare_cached(&format!(
                "INSERT INTO notices ({NOTICE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ))?
            .execute(params![
                n.id.as_bytes().as_slice(),
                n.version,
                n.language,
                n.effective_at,
                n.material,
                n.body,
                n.summaries,
                n.created_at,
                n.published_at
            ])
            .map_err(|e| map_unique(e, "version"))?;
            append_audit_tx(tx, vec![audit])?;
            Ok(())
        })
        .await
    }

    async fn publish_notice(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        self.write(move |tx| {
            let n = tx
                .prepare_cached(
                    "UPDATE notices SET published_at = ?2 WHERE id = ?1 AND published_at IS NULL",
                )?
                .execute(params![id.as_bytes().as_slice(), at])?;
            if n > 0 {
                append_audit_tx(tx, vec![audit])?;
            }
            Ok(n > 0)
        })
        .await
    }

    async fn notices(&self) -> Result<Vec<NoticeRow>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {NOTICE_COLS} FROM notices ORDER BY created_at DESC, version DESC"
            ))?;
            let rows = stmt.query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    NoticeRow {
                        id: Uuid::nil(),
                        version: r.get(1)?,
                        language: r.get(2)?,
                        effective_at: r.get(3)?,
                        material: r.get(4)?,
                        body: r.get(5)?,
                        summaries: r.get(6)?,
                        created_at: r.get(7)?,
                        published_at: r.get(8)?,
                    },
                ))
            })?;
            rows.map(|r| {
                let (id, mut row) = r?;
                row.id = uuid_from(id)?;
                Ok(row)
            })
            .collect()
        })
    }
}
