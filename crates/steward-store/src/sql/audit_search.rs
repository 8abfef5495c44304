//! An audit search as SQL, put together per search. The engines differ only in what finds
//! one text inside another, which the caller names.

use uuid::Uuid;

use super::{Builder, args};
use crate::AuditFilter;

/// Where an audit search reads entries from.
pub(crate) enum AuditSource {
    /// The entries `audit_targets` lists for a record, up to `upto`.
    Listed { id: Uuid, upto: i64 },
    /// The log itself, each entry's targets searched for the quoted `target`.
    Scan { target: Option<String> },
}

/// The reads an audit search makes, in order, each with the sequence number it reads after.
/// A search that names a record id reaches by `listed` (the id, and how far the list of
/// targets reaches) reads the list and scans the log past it (newest first, the other way
/// round); any other scans the log.
pub(crate) fn audit_reads(f: &AuditFilter, listed: Option<(Uuid, i64)>) -> Vec<(AuditSource, i64)> {
    let Some((id, upto)) = listed else {
        let target = f.target.as_ref().map(|t| format!("\"{t}\""));
        return vec![(AuditSource::Scan { target }, f.after_seq)];
    };
    let mut reads = Vec::with_capacity(2);
    if f.after_seq < upto {
        reads.push((AuditSource::Listed { id, upto }, f.after_seq));
    }
    // Entries not listed yet name the id as the app writes it.
    let target = Some(format!("\"{id}\""));
    let past_list = f.after_seq.max(upto);
    if f.before_seq
        .is_none_or(|before| before > past_list.saturating_add(1))
    {
        reads.push((AuditSource::Scan { target }, past_list));
    }
    if f.newest_first {
        reads.reverse();
    }
    reads
}

/// The query for the entries after `after` (and before `f.before_seq`) that `source` holds
/// and `f` lets through, in `f`'s order, `limit` at most. `contains` names the engine's
/// `(haystack, needle)` position function.
pub(crate) fn audit_sql<'a>(
    source: &'a AuditSource,
    after: i64,
    f: &'a AuditFilter,
    limit: usize,
    contains: &str,
) -> Builder<'a> {
    let (from, order) = match source {
        AuditSource::Listed { .. } => (
            "FROM audit_targets t JOIN audit_log a ON a.seq = t.seq WHERE t.seq > ?",
            "t.seq",
        ),
        AuditSource::Scan { .. } => ("FROM audit_log a WHERE a.seq > ?", "a.seq"),
    };
    let mut b = Builder::new(
        "SELECT a.seq, a.at, a.actor, a.role, a.action, a.purpose, a.targets, \
         a.fields, a.detail, a.prev_hash, a.hash ",
    );
    b.push(from, &args![after]);
    match source {
        AuditSource::Listed { id, upto } => {
            b.push(" AND t.target = ? AND t.seq <= ?", &args![*id, *upto]);
        }
        // Targets are a JSON array; a quoted target matches one element exactly.
        AuditSource::Scan { target: Some(t) } => {
            b.push(&format!(" AND {contains}(a.targets, ?) > 0"), &args![t]);
        }
        AuditSource::Scan { target: None } => {}
    }
    if let Some(before) = f.before_seq {
        b.push(&format!(" AND {order} < ?"), &args![before]);
    }
    if let Some(a) = &f.actor {
        b.push(" AND a.actor = ?", &args![a]);
    }
    if let Some(a) = &f.action {
        b.push(" AND a.action = ?", &args![a]);
    }
    if let Some(from) = f.from {
        b.push(" AND a.at >= ?", &args![from]);
    }
    if let Some(to) = f.to {
        b.push(" AND a.at < ?", &args![to]);
    }
    let direction = if f.newest_first { "DESC" } else { "ASC" };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    b.push(
        &format!(" ORDER BY {order} {direction} LIMIT ?"),
        &args![limit],
    );
    b
}
