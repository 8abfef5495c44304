//! The tamper-evident audit log: its hash chain, signed head and searches.

use super::*;

use steward_core::audit::ChainLink;

use crate::audit_head::HeadKeeper;
use crate::sql::{Exec, Sql, args, audit_log, breach_scope};

/// Which head a write transaction started from, noted at its first append.
static NOTE_MOVED: Sql = Sql::new(
    "INSERT OR IGNORE INTO temp.head_moved (id, seq, hash, at, signature) VALUES (1, ?1, ?2, ?3, ?4)",
);
static MOVED_FROM: Sql =
    Sql::new("SELECT seq, hash, at, signature FROM temp.head_moved WHERE id = 1");
static FORGET_MOVED: Sql = Sql::new("DELETE FROM temp.head_moved");

pub(super) fn append_audit_tx(
    tx: &Transaction,
    records: Vec<AuditRecord>,
) -> Result<Vec<AuditEntry>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let found = ready(audit_log::head(tx))?;
    // The head this transaction starts from is checked at its commit, before the new one is
    // signed; later appends in the same transaction follow from what it wrote.
    let from = args![found.seq, &found.hash, found.at, found.signature.as_ref()];
    ready(tx.execute(&NOTE_MOVED, &from))?;
    let last_at = records.last().map_or(0, |r| r.at);
    let out = ready(audit_log::append_after(tx, found.seq, found.hash, records))?;
    let (seq, hash) = out
        .last()
        .map_or((found.seq, found.hash), |e| (e.seq, e.hash));
    // Signed at the commit, so writes that share one commit share one signature.
    ready(audit_log::move_head(tx, seq, &hash, last_at, None))?;
    Ok(out)
}

/// Runs just before every commit: if the transaction moved the head, checks the head it
/// started from and signs the new one. Which head a transaction started from is noted in a
/// temporary table: it is in no file, so no one but this connection can write it, and it is
/// undone with the savepoint of a write that fails.
pub(super) fn sign_moved_head(tx: &Transaction, keeper: &HeadKeeper) -> Result<()> {
    let Some(from) = ready(tx.query_opt(&MOVED_FROM, &[], audit_log::head_from))? else {
        return Ok(());
    };
    ready(tx.execute(&FORGET_MOVED, &[]))?;
    keeper.check(&from)?;
    let now = ready(audit_log::head(tx))?;
    let signed = keeper.sign(now.seq, now.hash, now.at);
    ready(audit_log::sign_head(tx, &signed.signature))
}

#[async_trait]
impl AuditLog for SqliteStore {
    async fn append_audit(&self, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>> {
        self.write(move |tx| append_audit_tx(tx, records)).await
    }

    async fn audit_page(&self, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>> {
        self.read(|c| ready(audit_log::page(c, after_seq, limit)))
    }

    async fn audit_links(&self, after_seq: i64, limit: usize) -> Result<Vec<ChainLink>> {
        self.read(|c| ready(audit_log::links(c, after_seq, limit)))
    }

    async fn audit_search(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        self.read(|c| {
            // One snapshot for the listed entries and the scan past them.
            let tx = c.unchecked_transaction()?;
            ready(audit_log::search(&tx, f, "instr"))
        })
    }

    async fn audit_window(
        &self,
        window: &AuditWindow,
        after: (i64, i64),
        limit: usize,
    ) -> Result<Vec<WindowEntry>> {
        self.read(|c| ready(breach_scope::window_page(c, window, after, limit)))
    }

    async fn index_audit_targets(&self, max: usize) -> Result<usize> {
        // Read and sorted on a reader, so that the writer is held only for the inserts.
        let (upto, entries) = self.read(|c| {
            let tx = c.unchecked_transaction()?;
            let upto = ready(audit_log::listed_upto(&tx))?;
            Ok((upto, ready(audit_log::unlisted(&tx, upto, max))?))
        })?;
        let Some(&(last, _)) = entries.last() else {
            return Ok(0);
        };
        let listed = listed_targets(entries.iter().map(|(seq, t)| (*seq, t.as_str())))?;
        let count = entries.len();
        self.write(move |tx| {
            if ready(audit_log::listing_upto(tx))? != upto {
                // Another pass listed these meanwhile.
                return Ok(0);
            }
            // One cached statement a target: SQLite runs each without a round trip.
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO audit_targets (target, seq) VALUES (?1, ?2)",
            )?;
            for (id, seq) in &listed {
                insert.execute(params![id.as_bytes().as_slice(), seq])?;
            }
            ready(audit_log::listed_to(tx, last))?;
            Ok(count)
        })
        .await
    }

    async fn audit_head(&self) -> Result<(i64, Hash)> {
        self.read(|c| ready(audit_log::last(c)))
    }

    async fn signed_head(&self) -> Result<Option<SignedHead>> {
        self.read(|c| ready(audit_log::signed_head(c)))
    }

    async fn sign_head_as_is(&self) -> Result<Option<SignedHead>> {
        let heads = self.heads.clone();
        self.write(move |tx| ready(audit_log::sign_as_is(tx, &heads)))
            .await?;
        self.signed_head().await
    }
}
