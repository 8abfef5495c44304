//! The audit chain's entries, appended after the head. Which head a transaction starts from,
//! how it is locked and when the new one is signed stay with each engine.

use steward_core::audit::{AuditEntry, AuditRecord, Hash, chain_hash};

use super::{Exec, Sql, args};
use crate::Result;
use crate::records::to_json;

static INSERT: Sql = Sql::new(
    "INSERT INTO audit_log (seq, at, actor, role, action, purpose, targets, fields, detail, prev_hash, hash)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
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
