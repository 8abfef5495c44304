//! What the scope of a breach reads: the audit entries of a time window, the customers a
//! vendor received, and where customers live. Windows are read in `(at, seq)` order, one
//! actor at a time, so that each page is a range of one index (`audit_log_at` or
//! `audit_log_actor_at`) and nothing is sorted.

use std::collections::HashSet;

use uuid::Uuid;

use super::{Builder, Exec, Row, Sql, Value, args, marks};
use crate::records::from_json;
use crate::{AuditWindow, Result, WindowEntry};

static DISCLOSED_TO: Sql = Sql::new(
    "SELECT DISTINCT d.customer_id FROM shares s JOIN disclosures d ON d.share_id = s.id
     WHERE s.vendor_id = ?1 AND s.created_at < ?2",
);

/// How many ids one lookup binds: well under either engine's limit on parameters.
pub(crate) const IDS_PER_LOOKUP: usize = 500;

fn window_entry(r: &dyn Row) -> Result<WindowEntry> {
    Ok(WindowEntry {
        seq: r.int(0)?,
        at: r.int(1)?,
        action: r.text(2)?,
        targets: from_json(&r.text(3)?)?,
        fields: from_json(&r.text(4)?)?,
    })
}

/// Up to `limit` entries of the window after `after` (an `(at, seq)` already read), in
/// `(at, seq)` order.
pub(crate) async fn window_page(
    x: &impl Exec,
    w: &AuditWindow,
    after: (i64, i64),
    limit: usize,
) -> Result<Vec<WindowEntry>> {
    let from = w.from.max(after.0);
    let mut b = Builder::new("SELECT seq, at, action, targets, fields FROM audit_log WHERE ");
    if let Some(actor) = &w.actor {
        b.push("actor = ? AND ", &args![actor]);
    }
    b.push("at >= ? AND at < ?", &args![from, w.to]);
    b.push(" AND (at > ? OR seq > ?)", &args![after.0, after.1]);
    if !w.actions.is_empty() {
        let actions: Vec<Value<'_>> = w.actions.iter().map(Value::from).collect();
        b.push(
            &format!(" AND action IN ({})", marks(actions.len())),
            &actions,
        );
    }
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    b.push(" ORDER BY at, seq LIMIT ?", &args![limit]);
    x.query_text(&b.sql, &b.args, window_entry).await
}

/// Customers disclosed to `vendor` by shares made before `before`.
pub(crate) async fn disclosed_to(x: &impl Exec, vendor: Uuid, before: i64) -> Result<Vec<Uuid>> {
    x.query(&DISCLOSED_TO, &args![vendor, before], |r| r.id(0))
        .await
}

/// The residency of each of `ids` that names a customer, `None` for one erased since; ids
/// that name neither are left out.
pub(crate) async fn residencies(
    x: &impl Exec,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, Option<String>)>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let values: Vec<Value<'_>> = chunk.iter().map(|id| Value::Id(*id)).collect();
        let mut live = Builder::new("SELECT id, residency FROM customers WHERE id IN (");
        live.push(&format!("{})", marks(values.len())), &values);
        let found = x
            .query_text(&live.sql, &live.args, |r| Ok((r.id(0)?, Some(r.text(1)?))))
            .await?;
        // Most ids name customers still here: only the rest are looked for among the erased.
        let here: HashSet<Uuid> = found.iter().map(|(id, _)| *id).collect();
        let rest: Vec<Value<'_>> = chunk
            .iter()
            .filter(|id| !here.contains(*id))
            .map(|id| Value::Id(*id))
            .collect();
        out.extend(found);
        if rest.is_empty() {
            continue;
        }
        let mut erased = Builder::new("SELECT customer_id FROM tombstones WHERE customer_id IN (");
        erased.push(&format!("{})", marks(rest.len())), &rest);
        out.extend(
            x.query_text(&erased.sql, &erased.args, |r| Ok((r.id(0)?, None)))
                .await?,
        );
    }
    Ok(out)
}
