//! Audit log searches, and the rows both engines read the log into.

use uuid::Uuid;

use super::{from_json, hash32};

/// Which audit entries to return: those after `after_seq` (and before `before_seq`, when
/// given), oldest first unless `newest_first`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub after_seq: i64,
    pub before_seq: Option<i64>,
    pub newest_first: bool,
    pub limit: usize,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// An id that must be among the entry's targets.
    pub target: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// The record id an audit target names, when it is one: `audit_targets` lists ids, and other
/// targets (`consent:...`, `mail:...`) are found by scanning.
pub(crate) fn target_id(target: &str) -> Option<Uuid> {
    (target.len() == 36)
        .then(|| Uuid::try_parse(target).ok())
        .flatten()
}

/// The record ids that entries name, as `(id, seq)` rows of `audit_targets`, from each
/// entry's sequence number and stored targets. In key order, so that each page of the list
/// is written once per pass.
pub(crate) fn listed_targets<'a>(
    entries: impl IntoIterator<Item = (i64, &'a str)>,
) -> crate::Result<Vec<(Uuid, i64)>> {
    let mut listed = Vec::new();
    for (seq, targets) in entries {
        listed.extend(
            from_json(targets)?
                .iter()
                .filter_map(|t| target_id(t))
                .map(|id| (id, seq)),
        );
    }
    listed.sort_unstable();
    Ok(listed)
}

/// An audit row as both engines read it, before its lists are parsed.
pub(crate) struct AuditRecordRaw {
    pub at: i64,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub purpose: Option<String>,
    pub targets: String,
    pub fields: String,
    pub detail: Option<String>,
}

impl AuditRecordRaw {
    pub(crate) fn into_entry(
        self,
        seq: i64,
        prev: &[u8],
        hash: &[u8],
    ) -> crate::Result<steward_core::audit::AuditEntry> {
        Ok(steward_core::audit::AuditEntry {
            seq,
            record: steward_core::audit::AuditRecord {
                at: self.at,
                actor: self.actor,
                role: self.role,
                action: self.action,
                purpose: self.purpose,
                targets: from_json(&self.targets)?,
                fields: from_json(&self.fields)?,
                detail: self.detail,
            },
            prev_hash: hash32(prev)?,
            hash: hash32(hash)?,
        })
    }
}

/// Audit entries stamped in `[from, to)`, by `actor` when given, of one of `actions`.
#[derive(Debug, Clone, Default)]
pub struct AuditWindow {
    /// Microseconds since the epoch.
    pub from: i64,
    pub to: i64,
    pub actor: Option<String>,
    pub actions: Vec<String>,
}

/// What a breach's scope reads of an entry: when, what, which records and which fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowEntry {
    pub seq: i64,
    pub at: i64,
    pub action: String,
    pub targets: Vec<String>,
    pub fields: Vec<String>,
}
