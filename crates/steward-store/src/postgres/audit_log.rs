//! The tamper-evident audit log: its hash chain, signed head and searches.

use super::*;

#[async_trait]
impl AuditLog for PostgresStore {
    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let out = append_audit_tx(&tx, &self.heads, records).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn audit_page(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        crate::sql::audit_log::page(&self.pool.get().await?, after_seq, limit).await
    }

    async fn audit_search(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut client = self.pool.get().await?;
        // One snapshot for the listed entries and the scan past them.
        let tx = snapshot(&mut client).await?;
        let listed = match f.target.as_deref().and_then(target_id) {
            Some(id) => Some((
                id,
                tx.query_one("SELECT seq FROM audit_targets_upto WHERE id = 1", &[])
                    .await?
                    .get::<_, i64>(0),
            )),
            None => None,
        };
        let mut out = Vec::new();
        for (source, after) in audit_reads(f, listed) {
            if out.len() == f.limit {
                break;
            }
            out.extend(
                crate::sql::audit_log::search(
                    &tx,
                    &source,
                    after,
                    f,
                    f.limit - out.len(),
                    "strpos",
                )
                .await?,
            );
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn index_audit_targets(&self, max: usize) -> Result<usize> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        // Taken for update: two servers on one database list each entry once.
        let upto: i64 = tx
            .query_one(
                "SELECT seq FROM audit_targets_upto WHERE id = 1 FOR UPDATE",
                &[],
            )
            .await?
            .get(0);
        let entries = tx
            .query(
                "SELECT seq, targets FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&upto, &(max as i64)],
            )
            .await?;
        let Some(last) = entries.last().map(|r| r.get::<_, i64>(0)) else {
            return Ok(0);
        };
        let listed = listed_targets(entries.iter().map(|r| (r.get(0), r.get(1))))?;
        let (ids, seqs): (Vec<Uuid>, Vec<i64>) = listed.into_iter().unzip();
        // One statement for all of them: an import's entry names every customer of its batch.
        tx.execute(
            "INSERT INTO audit_targets (target, seq) SELECT * FROM UNNEST($1::uuid[], $2::bigint[])
             ON CONFLICT DO NOTHING",
            &[&ids, &seqs],
        )
        .await?;
        tx.execute(
            "UPDATE audit_targets_upto SET seq = $1 WHERE id = 1",
            &[&last],
        )
        .await?;
        tx.commit().await?;
        Ok(entries.len())
    }

    async fn audit_head(&self) -> Result<(i64, Hash)> {
        crate::sql::audit_log::last(&self.pool.get().await?).await
    }

    async fn signed_head(&self) -> Result<Option<SignedHead>> {
        crate::sql::audit_log::signed_head(&self.pool.get().await?).await
    }

    async fn sign_head_as_is(&self) -> Result<Option<SignedHead>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let row = tx
            .query_opt(
                "SELECT seq, hash, at FROM audit_head WHERE id = 1 AND signature IS NULL FOR UPDATE",
                &[],
            )
            .await?;
        if let Some(r) = row {
            let signed = self
                .heads
                .sign(r.get(0), hash32(r.get::<_, &[u8]>(1))?, r.get(2));
            tx.execute(
                "UPDATE audit_head SET signature = $1 WHERE id = 1",
                &[&signed.signature],
            )
            .await?;
        }
        tx.commit().await?;
        drop(client);
        self.signed_head().await
    }
}
