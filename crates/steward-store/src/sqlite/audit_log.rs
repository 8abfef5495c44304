//! The tamper-evident audit log: its hash chain, signed head and searches.

use super::*;

fn signed_head(conn: &Connection) -> Result<Option<SignedHead>> {
    ready(crate::sql::audit_log::signed_head(conn))
}

fn head(conn: &Connection) -> Result<(i64, Hash)> {
    ready(crate::sql::audit_log::last(conn))
}

/// How far the list of audit targets reaches.
fn listed_upto(c: &Connection) -> Result<i64> {
    Ok(
        c.prepare_cached("SELECT seq FROM audit_targets_upto WHERE id = 1")?
            .query_row([], |r| r.get(0))?,
    )
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>> {
        self.write(move |tx| append_audit_tx(tx, records)).await
    }

    async fn audit_page(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        self.read(|c| ready(crate::sql::audit_log::page(c, after_seq, limit)))
    }

    async fn audit_search(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        self.read(|c| {
            // One snapshot for the listed entries and the scan past them.
            let tx = c.unchecked_transaction()?;
            let listed = match f.target.as_deref().and_then(target_id) {
                Some(id) => Some((id, listed_upto(&tx)?)),
                None => None,
            };
            let mut out = Vec::new();
            for (source, after) in audit_reads(f, listed) {
                if out.len() == f.limit {
                    break;
                }
                out.extend(ready(crate::sql::audit_log::search(
                    &tx,
                    &source,
                    after,
                    f,
                    f.limit - out.len(),
                    "instr",
                ))?);
            }
            Ok(out)
        })
    }

    async fn index_audit_targets(&self, max: usize) -> Result<usize> {
        // Read and sorted on a reader, so that the writer is held only for the inserts.
        let (upto, entries) = self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let upto = listed_upto(&tx)?;
            let entries: Vec<(i64, String)> = tx
                .prepare_cached(
                    "SELECT seq, targets FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )?
                .query_map(params![upto, max as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            Ok((upto, entries))
        })?;
        let Some(&(last, _)) = entries.last() else {
            return Ok(0);
        };
        let listed = listed_targets(entries.iter().map(|(seq, t)| (*seq, t.as_str())))?;
        let count = entries.len();
        self.write(move |tx| {
            if listed_upto(tx)? != upto {
                // Another pass listed these meanwhile.
                return Ok(0);
            }
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO audit_targets (target, seq) VALUES (?1, ?2)",
            )?;
            for (id, seq) in &listed {
                insert.execute(params![id.as_bytes().as_slice(), seq])?;
            }
            tx.prepare_cached("UPDATE audit_targets_upto SET seq = ?1 WHERE id = 1")?
                .execute([last])?;
            Ok(count)
        })
        .await
    }

    async fn audit_head(&self) -> Result<(i64, Hash)> {
        self.read(head)
    }

    async fn signed_head(&self) -> Result<Option<SignedHead>> {
        self.read(signed_head)
    }

    async fn sign_head_as_is(&self) -> Result<Option<SignedHead>> {
        let heads = self.heads.clone();
        self.write(move |tx| {
            let found = head_row(tx)?;
            if found.signature.is_none() {
                let signed = heads.sign(found.seq, found.hash, found.at);
                tx.prepare_cached("UPDATE audit_head SET signature = ?1 WHERE id = 1")?
                    .execute(params![signed.signature])?;
            }
            Ok(())
        })
        .await?;
        self.read(signed_head)
    }
}
