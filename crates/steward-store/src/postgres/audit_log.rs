//! The tamper-evident audit log: its hash chain, signed head and searches.

use super::*;

use deadpool_postgres::Transaction;
use steward_core::audit::ChainLink;

use super::exec::execute_arrays;
use crate::audit_head::HeadKeeper;
use crate::sql::{Sql, WriteTx, audit_log, breach_scope};

/// Appends entries after the head, locked for the transaction, and signs the new head in the
/// same transaction: no commit leaves an entry that no signed head covers.
pub(super) async fn append_audit_tx(
    tx: &Transaction<'_>,
    heads: &HeadKeeper,
    records: Vec<AuditRecord>,
) -> Result<Vec<AuditEntry>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let found = audit_log::head(tx).await?;
    heads.check(&found)?;
    let out = audit_log::append_after(tx, found.seq, found.hash, records).await?;
    let (seq, hash) = out
        .last()
        .map_or((found.seq, found.hash), |e| (e.seq, e.hash));
    let at = out.last().map_or(0, |e| e.record.at);
    let signed = heads.sign(seq, hash, at);
    audit_log::move_head(tx, seq, &hash, at, Some(&signed.signature)).await?;
    Ok(out)
}

/// All of them in one statement: an import's entry names every customer of its batch.
static LIST_TARGETS: Sql = Sql::new(
    "INSERT INTO audit_targets (target, seq) SELECT * FROM UNNEST(?1::uuid[], ?2::bigint[])
     ON CONFLICT DO NOTHING",
);

#[async_trait]
impl AuditLog for PostgresStore {
    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>> {
        let mut client = self.pool.get().await?;
        let tx = self.begin(&mut client).await?;
        let out = tx.append_audit(records).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn audit_page(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        audit_log::page(&self.pool.get().await?, after_seq, limit).await
    }

    async fn audit_links(&self, after_seq: i64, limit: usize) -> Result<Vec<ChainLink>> {
        audit_log::links(&self.pool.get().await?, after_seq, limit).await
    }

    async fn audit_search(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut client = self.pool.get().await?;
        // One snapshot for the listed entries and the scan past them.
        let tx = snapshot(&mut client).await?;
        let out = audit_log::search(&tx, f, "strpos").await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn audit_window(
        &self,
        window: &AuditWindow,
        after: (i64, i64),
        limit: usize,
    ) -> Result<Vec<WindowEntry>> {
        breach_scope::window_page(&self.pool.get().await?, window, after, limit).await
    }

    async fn index_audit_targets(&self, max: usize) -> Result<usize> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let upto = audit_log::listing_upto(&tx).await?;
        let entries = audit_log::unlisted(&tx, upto, max).await?;
        let Some(&(last, _)) = entries.last() else {
            return Ok(0);
        };
        let listed = listed_targets(entries.iter().map(|(seq, t)| (*seq, t.as_str())))?;
        let (ids, seqs): (Vec<Uuid>, Vec<i64>) = listed.into_iter().unzip();
        execute_arrays(&tx, &LIST_TARGETS, &[&ids, &seqs]).await?;
        audit_log::listed_to(&tx, last).await?;
        tx.commit().await?;
        Ok(entries.len())
    }

    async fn audit_head(&self) -> Result<(i64, Hash)> {
        audit_log::last(&self.pool.get().await?).await
    }

    async fn signed_head(&self) -> Result<Option<SignedHead>> {
        audit_log::signed_head(&self.pool.get().await?).await
    }

    async fn sign_head_as_is(&self) -> Result<Option<SignedHead>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        audit_log::sign_as_is(&tx, &self.heads).await?;
        tx.commit().await?;
        drop(client);
        self.signed_head().await
    }
}
