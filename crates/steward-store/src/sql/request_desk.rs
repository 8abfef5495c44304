//! The request desk: data-subject requests, the suppression list and the records kept for
//! recipients.

use uuid::Uuid;

use super::{Builder, Exec, Row, Sql, Value, args, recipient_notices};
use crate::records::IndexDigest;
use crate::{ChangeSet, RecipientUpdate, RequestFilter, RequestRow, Result, StoreError};

macro_rules! request_cols {
    () => {
        "id, kind, channel, state, jurisdiction, customer_id, subject, purpose, received_at,
         acknowledge_by, acknowledged_at, due_at, verified_at, closed_at, extension_reason,
         denial_reason, updated_at, proposal"
    };
}

static INSERT: Sql = Sql::new(concat!(
    "INSERT INTO requests (",
    request_cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
));
static MOVE: Sql = Sql::new(
    "UPDATE requests SET state = ?2, customer_id = ?3, acknowledged_at = ?4,
            due_at = ?5, verified_at = ?6, closed_at = ?7, extension_reason = ?8,
            denial_reason = ?9, updated_at = ?10, proposal = ?12
     WHERE id = ?1 AND state = ?11",
);
static INSERT_UPDATE: Sql = Sql::new(
    "INSERT INTO recipient_updates (id, customer_id, kind, fields, at, notified_at, notify_by)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
);
static UNSUPPRESS: Sql = Sql::new("DELETE FROM suppressions WHERE digest = ?1");
static SUPPRESS: Sql = Sql::new(
    "INSERT INTO suppressions (digest, created_at) VALUES (?1, ?2)
     ON CONFLICT (digest) DO NOTHING",
);
static PSEUDONYMISE: Sql =
    Sql::new("UPDATE requests SET customer_id = NULL, proposal = NULL WHERE customer_id = ?1");
static REQUEST: Sql = Sql::new(concat!(
    "SELECT ",
    request_cols!(),
    " FROM requests WHERE id = ?1"
));
static OBJECTED: Sql = Sql::new(
    "SELECT 1 FROM requests
     WHERE kind = 'objection' AND state = 'completed' AND purpose = ?2 AND customer_id = ?1
     LIMIT 1",
);
/// A bound on the placeholders of one statement, well under either engine's limit.
const IDS_PER_LOOKUP: usize = 500;
static UPDATES: Sql = Sql::new(
    "SELECT id, kind, fields, at, notified_at, notify_by FROM recipient_updates
     WHERE customer_id = ?1 ORDER BY at, id",
);

fn request_from(r: &dyn Row) -> Result<RequestRow> {
    Ok(RequestRow {
        id: r.id(0)?,
        kind: r.text(1)?,
        channel: r.text(2)?,
        state: r.text(3)?,
        jurisdiction: r.text(4)?,
        customer_id: r.opt_id(5)?,
        subject: r.bytes(6)?,
        purpose: r.opt_text(7)?,
        received_at: r.int(8)?,
        acknowledge_by: r.opt_int(9)?,
        acknowledged_at: r.opt_int(10)?,
        due_at: r.int(11)?,
        verified_at: r.opt_int(12)?,
        closed_at: r.opt_int(13)?,
        extension_reason: r.opt_text(14)?,
        denial_reason: r.opt_text(15)?,
        updated_at: r.int(16)?,
        proposal: r.opt_bytes(17)?,
    })
}

pub(crate) async fn save(x: &impl Exec, changes: &ChangeSet) -> Result<()> {
    for r in &changes.requests {
        let args = args![
            r.id,
            &r.kind,
            &r.channel,
            &r.state,
            &r.jurisdiction,
            r.customer_id,
            &r.subject,
            r.purpose.as_ref(),
            r.received_at,
            r.acknowledge_by,
            r.acknowledged_at,
            r.due_at,
            r.verified_at,
            r.closed_at,
            r.extension_reason.as_ref(),
            r.denial_reason.as_ref(),
            r.updated_at,
            r.proposal.as_ref()
        ];
        x.execute(&INSERT, &args).await?;
    }
    for m in &changes.request_moves {
        let r = &m.row;
        let args = args![
            r.id,
            &r.state,
            r.customer_id,
            r.acknowledged_at,
            r.due_at,
            r.verified_at,
            r.closed_at,
            r.extension_reason.as_ref(),
            r.denial_reason.as_ref(),
            r.updated_at,
            &m.from,
            r.proposal.as_ref()
        ];
        if x.execute(&MOVE, &args).await? == 0 {
            return Err(StoreError::Conflict);
        }
    }
    for u in &changes.recipient_updates {
        record_update(x, u).await?;
    }
    for digest in &changes.unsuppress {
        x.execute(&UNSUPPRESS, &args![digest]).await?;
    }
    Ok(())
}

/// At erasure: the address is suppressed, and the person's requests keep only the pseudonym.
pub(crate) async fn erase(
    x: &impl Exec,
    customer: Uuid,
    suppress: Option<&IndexDigest>,
    at: i64,
) -> Result<()> {
    if let Some(digest) = suppress {
        x.execute(&SUPPRESS, &args![digest, at]).await?;
    }
    x.execute(&PSEUDONYMISE, &args![customer]).await?;
    Ok(())
}

/// Keeps a change for the recipients of the customer's data, with a notice to each of them
/// that it concerns (Art. 19), so the change never commits without its notices.
pub(crate) async fn record_update(x: &impl Exec, u: &RecipientUpdate) -> Result<()> {
    let fields = u.fields.join(",");
    let args = args![
        u.id,
        u.customer_id,
        &u.kind,
        &fields,
        u.at,
        u.notified_at,
        u.notify_by
    ];
    x.execute(&INSERT_UPDATE, &args).await?;
    recipient_notices::notify(x, u).await
}

pub(crate) async fn request(x: &impl Exec, id: Uuid) -> Result<Option<RequestRow>> {
    x.query_opt(&REQUEST, &args![id], request_from).await
}

pub(crate) async fn requests(x: &impl Exec, f: &RequestFilter) -> Result<Vec<RequestRow>> {
    let mut b = Builder::new(concat!(
        "SELECT ",
        request_cols!(),
        " FROM requests WHERE 1 = 1"
    ));
    if f.open_only {
        b.sql.push_str(" AND state NOT IN ('completed', 'denied')");
    }
    if let Some(due) = f.due_before {
        b.push(" AND due_at < ?", &args![due]);
    }
    if let Some(since) = f.received_since {
        b.push(" AND received_at >= ?", &args![since]);
    }
    if let Some(customer) = f.customer {
        b.push(" AND customer_id = ?", &args![customer]);
    }
    if let Some(subject) = &f.subject {
        b.push(" AND subject = ?", &args![subject]);
    }
    b.sql.push_str(if f.open_only {
        " ORDER BY due_at, id"
    } else {
        " ORDER BY received_at DESC, id DESC"
    });
    let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
    b.push(" LIMIT ?", &args![limit]);
    x.query_text(&b.sql, &b.args, request_from).await
}

/// Whether the desk upheld an objection of `customer` to `purpose` (Art. 21): a completed
/// objection request for it. An objection still open is not enough; one denied never counts.
pub(crate) async fn objected(x: &impl Exec, customer: Uuid, purpose: &str) -> Result<bool> {
    Ok(
        x.query_opt(&OBJECTED, &args![customer, purpose], |_| Ok(()))
            .await?
            .is_some(),
    )
}

/// Which of `ids` have an upheld objection to `purpose`, for a batch to leave them out.
pub(crate) async fn objected_among(
    x: &impl Exec,
    purpose: &str,
    ids: &[Uuid],
) -> Result<Vec<Uuid>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let mut b = Builder::new("SELECT DISTINCT customer_id FROM requests");
        b.push(
            " WHERE kind = 'objection' AND state = 'completed' AND purpose = ?",
            &args![purpose],
        );
        let marks = vec!["?"; chunk.len()].join(", ");
        let values: Vec<Value> = chunk.iter().map(|c| Value::from(*c)).collect();
        b.push(&format!(" AND customer_id IN ({marks})"), &values);
        out.extend(x.query_text(&b.sql, &b.args, |r| r.id(0)).await?);
    }
    Ok(out)
}

pub(crate) async fn recipient_updates(
    x: &impl Exec,
    customer: Uuid,
) -> Result<Vec<RecipientUpdate>> {
    x.query(&UPDATES, &args![customer], |r| {
        Ok(RecipientUpdate {
            id: r.id(0)?,
            customer_id: customer,
            kind: r.text(1)?,
            fields: r
                .text(2)?
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect(),
            at: r.int(3)?,
            notified_at: r.opt_int(4)?,
            // Changes recorded before due dates were kept were due at once.
            notify_by: r.opt_int(5)?.map_or(r.int(3), Ok)?,
        })
    })
    .await
}
