//! What a retention run finds and does: the records a rule finds due, as SQL put together
//! per rule, and the sweep that acts on a page of them, each record once, and audits it.

use uuid::Uuid;

use super::{
    Builder, Exec, Sql, WriteTx, args, consent_proofs, customers, request_desk, retention,
    subscriptions,
};
use crate::{DueQuery, DueRecord, FoundRecord, RecipientUpdate, Result, StoreError, SweepBatch};

static RECORD_ACT: Sql = Sql::new(
    "INSERT INTO retention_actions (rule_key, record_id, run_id, customer_id, anchor_at, due_at, done_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (rule_key, record_id) DO NOTHING",
);
static UNDO_ACT: Sql =
    Sql::new("DELETE FROM retention_actions WHERE rule_key = ?1 AND record_id = ?2");
static DELETE_INTERACTION: Sql = Sql::new("DELETE FROM interactions WHERE id = ?1");
/// An anonymised interaction keeps its kind and time for counting, nothing of its content:
/// its facets go with its text.
static BLANK_INTERACTION: Sql =
    Sql::new("UPDATE interactions SET sealed = ?2, facets = NULL WHERE id = ?1");
static DELETE_REQUEST: Sql = Sql::new("DELETE FROM requests WHERE id = ?1");
static DELETE_PROOF: Sql = Sql::new("DELETE FROM consent_proofs WHERE event_id = ?1");

/// `SELECT record_id, customer_id, anchor_at ...` for the query, ordered by record id.
fn due_sql(q: &DueQuery) -> Result<Builder<'_>> {
    let (table, alias, id) = match q.record.as_str() {
        "customer" => ("customers", "c", "c.id"),
        "interaction" => ("interactions", "i", "i.id"),
        "request" => ("requests", "r", "r.id"),
        "consent_proof" => ("consent_proofs", "p", "p.event_id"),
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
    let (select, condition): (String, &str) = match (q.record.as_str(), q.anchor.as_str()) {
        ("customer", "created") => ("c.id, c.id, c.created_at".into(), "c.created_at <= ?"),
        ("customer", "last_interaction") => (
            format!("c.id, c.id, {}", latest("")),
            "c.created_at <= ? AND NOT EXISTS (SELECT 1 FROM interactions x WHERE x.customer_id = c.id AND x.occurred_at > ?)",
        ),
        ("customer", "last_order") => (
            format!("c.id, c.id, {}", latest(" AND x.kind = 'order'")),
            "c.created_at <= ? AND NOT EXISTS (SELECT 1 FROM interactions x WHERE x.customer_id = c.id AND x.kind = 'order' AND x.occurred_at > ?)",
        ),
        ("customer", "account_closed") => (
            "c.id, c.id, c.updated_at".into(),
            "c.status = 'closed' AND c.updated_at <= ?",
        ),
        ("interaction", "created") => (
            "i.id, i.customer_id, i.occurred_at".into(),
            "i.occurred_at <= ?",
        ),
        ("request", "request_completed") => (
            "r.id, r.customer_id, r.closed_at".into(),
            "r.state IN ('completed', 'denied') AND r.closed_at <= ?",
        ),
        // A proof belongs to no customer any more; NULLIF gives a null of the id's own type,
        // which PostgreSQL reads as an absent uuid.
        ("consent_proof", "created") => (
            "p.event_id, NULLIF(p.event_id, p.event_id), p.erased_at".into(),
            "p.erased_at <= ?",
        ),
        (record, anchor) => {
            return Err(StoreError::Corrupt(format!(
                "a {record} rule does not count from {anchor}"
            )));
        }
    };
    let mut b = Builder::new("");
    // Every mark in the condition is the cutoff.
    b.push(
        &format!("SELECT {select} FROM {table} {alias} WHERE {condition}"),
        &args![q.cutoff],
    );
    if let Some(kind) = &q.kind {
        b.push(&format!(" AND {alias}.kind = ?"), &args![kind]);
    }
    if let Some(after) = q.after {
        b.push(&format!(" AND {id} > ?"), &args![after]);
    }
    // Not acted on yet.
    b.push(
        &format!(
            " AND NOT EXISTS (SELECT 1 FROM retention_actions a WHERE a.rule_key = ? AND a.record_id = {id})"
        ),
        &args![&q.rule_key],
    );
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
    b.push(&format!(" ORDER BY {id} LIMIT ?"), &args![limit]);
    Ok(b)
}

pub(crate) async fn due(x: &impl Exec, q: &DueQuery) -> Result<Vec<FoundRecord>> {
    let b = due_sql(q)?;
    x.query_text(&b.sql, &b.args, |r| {
        Ok(FoundRecord {
            record_id: r.id(0)?,
            customer_id: r.opt_id(1)?,
            anchor_at: r.int(2)?,
        })
    })
    .await
}

/// How many records the query finds, however many pages they take.
pub(crate) async fn count_due(x: &impl Exec, q: &DueQuery) -> Result<u64> {
    let all = DueQuery {
        after: None,
        limit: usize::MAX >> 1,
        ..q.clone()
    };
    let mut b = due_sql(&all)?;
    b.sql = format!("SELECT COUNT(*) FROM ({}) d", b.sql);
    let count = x.query_text(&b.sql, &b.args, |r| r.int(0)).await?;
    Ok(count.first().map_or(0, |&n| u64::try_from(n).unwrap_or(0)))
}

/// Acts on a page of due records, each once whichever run gets to it first, audits what was
/// done and records the run's progress.
pub(crate) async fn sweep(x: &impl WriteTx, batch: SweepBatch) -> Result<Vec<DueRecord>> {
    let mut done = Vec::with_capacity(batch.records.len());
    for r in &batch.records {
        let id = r.record_id;
        // The row is the record of the act: a record another run acted on is left alone. On
        // PostgreSQL two runs inserting one row at once wait for each other, and the second
        // inserts nothing.
        let args = args![
            &batch.rule_key,
            id,
            batch.run.id,
            r.customer_id,
            r.anchor_at,
            r.due_at,
            batch.at
        ];
        if x.execute(&RECORD_ACT, &args).await? == 0 {
            continue;
        }
        let acted = match (batch.record.as_str(), batch.action.as_str()) {
            ("customer", "erase") => {
                consent_proofs::keep(x, id, |event| batch.proofs.get(&event)).await?;
                let erased = customers::erase(x, id, batch.at).await?;
                if erased {
                    request_desk::erase(x, id, None, batch.at).await?;
                    let erasure = RecipientUpdate {
                        id: Uuid::now_v7(),
                        customer_id: id,
                        kind: "erasure".into(),
                        fields: Vec::new(),
                        at: batch.at,
                        notified_at: None,
                        notify_by: batch.notify_by,
                    };
                    request_desk::record_update(x, &erasure).await?;
                }
                erased
            }
            ("interaction", "delete") => {
                let deleted = x.execute(&DELETE_INTERACTION, &args![id]).await? > 0;
                if let (true, Some(customer)) = (deleted, r.customer_id) {
                    x.execute(&customers::RECOMPUTE_LAST_INTERACTION, &args![customer])
                        .await?;
                }
                deleted
            }
            ("interaction", "anonymise") => {
                x.execute(&BLANK_INTERACTION, &args![id, &batch.blank])
                    .await?
                    > 0
            }
            ("request", "delete") => x.execute(&DELETE_REQUEST, &args![id]).await? > 0,
            ("consent_proof", "delete") => x.execute(&DELETE_PROOF, &args![id]).await? > 0,
            (record, action) => {
                return Err(StoreError::Corrupt(format!(
                    "a {record} rule cannot {action}"
                )));
            }
        };
        // Gone meanwhile by other means (an erasure on request): nothing was done here.
        if !acted {
            x.execute(&UNDO_ACT, &args![&batch.rule_key, id]).await?;
            continue;
        }
        done.push(*r);
    }
    let acted: std::collections::HashSet<Uuid> = done.iter().map(|r| r.record_id).collect();
    let events = (batch.events.into_iter())
        .filter(|(record, _)| acted.contains(record))
        .map(|(_, note)| note)
        .collect();
    subscriptions::queue_notes(x, events).await?;
    x.append_audit(swept_audit(batch.audit, &done)).await?;
    retention::save_run(x, &batch.run).await?;
    Ok(done)
}

/// The audit entries of a sweep that speak for records it acted on, naming only those; an
/// entry that speaks for no record (a run's summary) is always written.
fn swept_audit(
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
