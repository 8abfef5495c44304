//! The records a retention rule finds due, as SQL written once for both engines.

use uuid::Uuid;

use crate::sql::segments::{Arg, Builder};
use crate::{DueQuery, Result, StoreError};

/// `SELECT record_id, customer_id, anchor_at ...` for the query, ordered by record id.
pub(crate) fn due_sql(
    q: &DueQuery,
    placeholder: &dyn Fn(usize) -> String,
) -> Result<(String, Vec<Arg>)> {
    let mut b = Builder {
        sql: String::new(),
        args: Vec::new(),
        placeholder,
    };
    let (table, alias) = match q.record.as_str() {
        "customer" => ("customers", "c"),
        "interaction" => ("interactions", "i"),
        "request" => ("requests", "r"),
        other => {
            return Err(StoreError::Corrupt(format!(
                "no due records for record type {other}"
            )));
        }
    };
    let latest = |kind: &str| {
        format!(
            "COALESCE((SELECT MAX(x.occurred_at) FROM interactions x WHERE x.customer_id = c.id{kind}), c.created_at)"
        )
    };
    let (select, condition): (String, String) = match (q.record.as_str(), q.anchor.as_str()) {
        ("customer", "created") => ("c.id, c.id, c.created_at".into(), "c.created_at <= ?".into()),
        ("customer", "last_interaction") => (
            format!("c.id, c.id, {}", latest("")),
            "c.created_at <= ? AND NOT EXISTS (SELECT 1 FROM interactions x WHERE x.customer_id = c.id AND x.occurred_at > ?)".into(),
        ),
        ("customer", "last_order") => (
            format!("c.id, c.id, {}", latest(" AND x.kind = 'order'")),
            "c.created_at <= ? AND NOT EXISTS (SELECT 1 FROM interactions x WHERE x.customer_id = c.id AND x.kind = 'order' AND x.occurred_at > ?)".into(),
        ),
        ("customer", "account_closed") => (
            "c.id, c.id, c.updated_at".into(),
            "c.status = 'closed' AND c.updated_at <= ?".into(),
        ),
        ("interaction", "created") => (
            "i.id, i.customer_id, i.occurred_at".into(),
            "i.occurred_at <= ?".into(),
        ),
        ("request", "request_completed") => (
            "r.id, r.customer_id, r.closed_at".into(),
            "r.state IN ('completed', 'denied') AND r.closed_at <= ?".into(),
        ),
        (record, anchor) => {
            return Err(StoreError::Corrupt(format!(
                "a {record} rule does not count from {anchor}"
            )));
        }
    };
    let cutoffs = vec![Arg::Int(q.cutoff); condition.matches('?').count()];
    b.push(
        &format!("SELECT {select} FROM {table} {alias} WHERE {condition}"),
        cutoffs,
    );
    if let Some(kind) = &q.kind {
        b.push(
            &format!(" AND {alias}.kind = ?"),
            vec![Arg::Text(kind.clone())],
        );
    }
    if let Some(after) = q.after {
        b.push(&format!(" AND {alias}.id > ?"), vec![Arg::Id(after)]);
    }
    // Not acted on yet.
    b.push(
        &format!(
            " AND NOT EXISTS (SELECT 1 FROM retention_actions a WHERE a.rule_key = ? AND a.record_id = {alias}.id)"
        ),
        vec![Arg::Text(q.rule_key.clone())],
    );
    b.push(
        &format!(" ORDER BY {alias}.id LIMIT ?"),
        vec![Arg::Int(i64::try_from(q.limit).unwrap_or(i64::MAX))],
    );
    Ok((b.sql, b.args))
}

/// The audit entries of a sweep that speak for records it acted on, naming only those; an
/// entry that speaks for no record (a run's summary) is always written.
pub(crate) fn swept_audit(
    audit: Vec<(Vec<Uuid>, steward_core::audit::AuditRecord)>,
    done: &[crate::DueRecord],
) -> Vec<steward_core::audit::AuditRecord> {
    let acted: std::collections::HashSet<Uuid> = done.iter().map(|r| r.record_id).collect();
    audit
        .into_iter()
        .filter(|(records, _)| records.is_empty() || records.iter().any(|r| acted.contains(r)))
        .map(|(records, mut entry)| {
            let skipped: Vec<String> = records
                .iter()
                .filter(|r| !acted.contains(r))
                .map(|r| r.to_string())
                .collect();
            entry.targets.retain(|t| !skipped.contains(t));
            entry
        })
        .collect()
}
