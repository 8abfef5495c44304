//! The audit chain's entries, appended after the head. Which head a transaction starts from,
//! how it is locked and when the new one is signed stay with each engine.

use steward_core::audit::{AuditEntry, AuditRecord, GENESIS, Hash, SignedHead, chain_hash};

use super::audit_search::{AuditSource, audit_sql};
use super::{Exec, Row, Sql, args};
use crate::records::{AuditRecordRaw, to_json};
use crate::{AuditFilter, Result};

static INSERT: Sql = Sql::new(
    "INSERT INTO audit_log (seq, at, actor, role, action, purpose, targets, fields, detail, prev_hash, hash)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
);
static PAGE: Sql = Sql::new(
    "SELECT seq, at, actor, role, action, purpose, targets, fields, detail, prev_hash, hash
     FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2",
);
static LAST: Sql = Sql::new("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
static SIGNED_HEAD: Sql = Sql::new(
    "SELECT seq, hash, at, signature FROM audit_head WHERE id = 1 AND signature IS NOT NULL",
);
static MOVE_HEAD: Sql =
    Sql::new("UPDATE audit_head SET seq = ?1, hash = ?2, at = ?3, signature = ?4 WHERE id = 1");

/// Appends `records` after the entry `seq` whose hash is `prev`, each linked to the one
/// before it.
pub(crate) async fn append_after(
    x: &impl Exec,
    mut seq: i64,
    mut prev: Hash,
    records: Vec<AuditRecord>,
) -> Result<Vec<AuditEntry>> {
    let mut out = Vec::with_capacity(records.len());
    for record in records {
        seq += 1;
        let hash = chain_hash(&prev, seq, &record);
        let (targets, fields) = (to_json(&record.targets), to_json(&record.fields));
        let args = args![
            seq,
            record.at,
            &record.actor,
            &record.role,
            &record.action,
            record.purpose.as_ref(),
            &targets,
            &fields,
            record.detail.as_ref(),
            &prev,
            &hash
        ];
        x.execute(&INSERT, &args).await?;
        out.push(AuditEntry {
            seq,
            record,
            prev_hash: prev,
            hash,
        });
        prev = hash;
    }
    Ok(out)
}

/// Moves the head to the last entry appended, with its signature when it is signed now.
pub(crate) async fn move_head(
    x: &impl Exec,
    seq: i64,
    hash: &Hash,
    at: i64,
    signature: Option<&[u8]>,
) -> Result<()> {
    x.execute(&MOVE_HEAD, &args![seq, hash, at, signature])
        .await?;
    Ok(())
}

fn entry_from(r: &dyn Row) -> Result<AuditEntry> {
    let raw = AuditRecordRaw {
        at: r.int(1)?,
        actor: r.text(2)?,
        role: r.text(3)?,
        action: r.text(4)?,
        purpose: r.opt_text(5)?,
        targets: r.text(6)?,
        fields: r.text(7)?,
        detail: r.opt_text(8)?,
    };
    raw.into_entry(r.int(0)?, &r.bytes(9)?, &r.bytes(10)?)
}

/// Entries after `after_seq`, oldest first.
pub(crate) async fn page(x: &impl Exec, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>> {
    x.query(&PAGE, &args![after_seq, limit as i64], entry_from)
        .await
}

/// Entries from one source that match a filter; `find` names the engine's function for the
/// position of one string in another.
pub(crate) async fn search(
    x: &impl Exec,
    source: &AuditSource,
    after: i64,
    f: &AuditFilter,
    limit: usize,
    find: &str,
) -> Result<Vec<AuditEntry>> {
    let b = audit_sql(source, after, f, limit, find);
    x.query_text(&b.sql, &b.args, entry_from).await
}

/// The last entry in the log: its sequence number and hash.
pub(crate) async fn last(x: &impl Exec) -> Result<(i64, Hash)> {
    let last = x
        .query_opt(&LAST, &[], |r| Ok((r.int(0)?, r.hash(1)?)))
        .await?;
    Ok(last.unwrap_or((0, GENESIS)))
}

/// The head as the last commit that appended entries signed it; `None` when unsigned.
pub(crate) async fn signed_head(x: &impl Exec) -> Result<Option<SignedHead>> {
    x.query_opt(&SIGNED_HEAD, &[], |r| {
        Ok(SignedHead {
            seq: r.int(0)?,
            head: r.hash(1)?,
            at: r.int(2)?,
            signature: r.bytes(3)?,
        })
    })
    .await
}
