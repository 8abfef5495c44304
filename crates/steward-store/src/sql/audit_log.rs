//! The audit chain: its entries, appended after the head, the head and its signature, and
//! the list of the records each entry names. When a new head is signed, and how the head a
//! transaction starts from is checked, stay with each engine.

use steward_core::audit::{
    AuditEntry, AuditRecord, ChainLink, GENESIS, Hash, RecordParts, SignedHead, chain_hash,
    chain_hash_of,
};

use super::audit_search::{audit_reads, audit_sql};
use super::{Exec, Row, Sql, args};
use crate::audit_head::{FoundHead, HeadKeeper};
use crate::records::{AuditRecordRaw, from_json, target_id, to_json};
use crate::{AuditFilter, Result, StoreError};

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
static HEAD: Sql = Sql::for_update("SELECT seq, hash, at, signature FROM audit_head WHERE id = 1");
static SIGN_HEAD: Sql = Sql::new("UPDATE audit_head SET signature = ?1 WHERE id = 1");
static LISTED_UPTO: Sql = Sql::new("SELECT seq FROM audit_targets_upto WHERE id = 1");
static LISTING_UPTO: Sql = Sql::for_update("SELECT seq FROM audit_targets_upto WHERE id = 1");
static UNLISTED: Sql =
    Sql::new("SELECT seq, targets FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2");
static LISTED: Sql = Sql::new("UPDATE audit_targets_upto SET seq = ?1 WHERE id = 1");
static MOVE_HEAD: Sql =
    Sql::new("UPDATE audit_head SET seq = ?1, hash = ?2, at = ?3, signature = ?4 WHERE id = 1");

/// A head as one row of `seq, hash, at, signature`.
pub(crate) fn head_from(r: &dyn Row) -> Result<FoundHead> {
    Ok(FoundHead {
        seq: r.int(0)?,
        hash: r.hash(1)?,
        at: r.int(2)?,
        signature: r.opt_bytes(3)?,
    })
}

/// The head a write transaction appends after, locked on PostgreSQL until it ends.
pub(crate) async fn head(x: &impl Exec) -> Result<FoundHead> {
    x.query_opt(&HEAD, &[], head_from)
        .await?
        .ok_or_else(|| StoreError::Corrupt("the audit log's head is missing".into()))
}

pub(crate) async fn sign_head(x: &impl Exec, signature: &[u8]) -> Result<()> {
    x.execute(&SIGN_HEAD, &args![signature]).await?;
    Ok(())
}

/// Signs the head as it stands if no commit has signed it yet.
pub(crate) async fn sign_as_is(x: &impl Exec, keeper: &HeadKeeper) -> Result<()> {
    let found = head(x).await?;
    if found.signature.is_none() {
        let signed = keeper.sign(found.seq, found.hash, found.at);
        sign_head(x, &signed.signature).await?;
    }
    Ok(())
}

/// How far the list of the records each entry names reaches.
pub(crate) async fn listed_upto(x: &impl Exec) -> Result<i64> {
    listed(x, &LISTED_UPTO).await
}

/// How far the list reaches, for a pass that extends it: locked on PostgreSQL, so two servers
/// on one database list each entry once.
pub(crate) async fn listing_upto(x: &impl Exec) -> Result<i64> {
    listed(x, &LISTING_UPTO).await
}

async fn listed(x: &impl Exec, sql: &Sql) -> Result<i64> {
    x.query_opt(sql, &[], |r| r.int(0))
        .await?
        .ok_or_else(|| StoreError::Corrupt("how far audit targets are listed is missing".into()))
}

/// Up to `max` entries past the list, oldest first: `(seq, targets)`.
pub(crate) async fn unlisted(x: &impl Exec, upto: i64, max: usize) -> Result<Vec<(i64, String)>> {
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    x.query(&UNLISTED, &args![upto, max], |r| {
        Ok((r.int(0)?, r.text(1)?))
    })
    .await
}

/// Notes that the list reaches `seq`.
pub(crate) async fn listed_to(x: &impl Exec, seq: i64) -> Result<()> {
    x.execute(&LISTED, &args![seq]).await?;
    Ok(())
}

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

/// Entries after `after_seq`, oldest first, as links whose contents are hashed from the row
/// in place: a verification reads every entry, and copying each into a record of its own
/// cost more than hashing it.
pub(crate) async fn links(x: &impl Exec, after_seq: i64, limit: usize) -> Result<Vec<ChainLink>> {
    x.query(&PAGE, &args![after_seq, limit as i64], link_from)
        .await
}

fn link_from(r: &dyn Row) -> Result<ChainLink> {
    let seq = r.int(0)?;
    let prev_hash = r.hash(9)?;
    let (targets, fields) = (r.str(6)?, r.str(7)?);
    // Ids and field names need no escapes, so they are read in place; a list that has one
    // is decoded.
    let contents = match (
        serde_json::from_str::<Vec<&str>>(targets),
        serde_json::from_str::<Vec<&str>>(fields),
    ) {
        (Ok(t), Ok(f)) => contents(r, seq, &prev_hash, &t, &f)?,
        _ => contents(
            r,
            seq,
            &prev_hash,
            &from_json(targets)?,
            &from_json(fields)?,
        )?,
    };
    Ok(ChainLink {
        seq,
        prev_hash,
        hash: r.hash(10)?,
        contents,
    })
}

fn contents<S: AsRef<str>>(
    r: &dyn Row,
    seq: i64,
    prev: &Hash,
    targets: &[S],
    fields: &[S],
) -> Result<Hash> {
    Ok(chain_hash_of(
        prev,
        seq,
        &RecordParts {
            at: r.int(1)?,
            actor: r.str(2)?,
            role: r.str(3)?,
            action: r.str(4)?,
            purpose: r.opt_str(5)?,
            targets,
            fields,
            detail: r.opt_str(8)?,
        },
    ))
}

/// Entries after `after_seq`, oldest first.
pub(crate) async fn page(x: &impl Exec, after_seq: i64, limit: usize) -> Result<Vec<AuditEntry>> {
    x.query(&PAGE, &args![after_seq, limit as i64], entry_from)
        .await
}

/// The entries a filter lets through: from the list of the records each entry names, as far
/// as it reaches, and from the log past it. Both are read in the caller's transaction, which
/// should see one snapshot. `find` names the engine's function for the position of one
/// string in another.
pub(crate) async fn search(x: &impl Exec, f: &AuditFilter, find: &str) -> Result<Vec<AuditEntry>> {
    let listed = match f.target.as_deref().and_then(target_id) {
        Some(id) => Some((id, listed_upto(x).await?)),
        None => None,
    };
    let mut out = Vec::new();
    for (source, after) in audit_reads(f, listed) {
        if out.len() == f.limit {
            break;
        }
        let b = audit_sql(&source, after, f, f.limit - out.len(), find);
        out.extend(x.query_text(&b.sql, &b.args, entry_from).await?);
    }
    Ok(out)
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
    x.query_opt(&SIGNED_HEAD, &[], head_row).await
}

/// A signed head read as `seq, head, at, signature`, wherever it is kept.
pub(crate) fn head_row(r: &dyn Row) -> Result<SignedHead> {
    Ok(SignedHead {
        seq: r.int(0)?,
        head: r.hash(1)?,
        at: r.int(2)?,
        signature: r.bytes(3)?,
    })
}
