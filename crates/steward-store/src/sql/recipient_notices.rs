//! Art. 19 notices: one per change and per vendor that received the customer's data, written
//! with the change itself, and moved on by whoever tells the vendor. A notice to a vendor with
//! a webhook endpoint is queued for the webhook sender in the same transaction, so a change
//! never commits without the message that tells it.

use std::collections::{BTreeMap, BTreeSet};

use steward_core::audit::AuditRecord;
use uuid::Uuid;

use super::{Builder, Exec, Row, Sql, WriteTx, args, webhooks};
use crate::{
    RecipientNoticeFilter, RecipientNoticeRow, RecipientUpdate, Result, StoreError, WebhookRow,
};

macro_rules! notice_cols {
    () => {
        "id, update_id, customer_id, vendor_id, kind, fields, status, reason, due_at, created_at,
         sent_at, acknowledged_at, updated_at"
    };
}

/// Every vendor the customer's data went to, with what each share sent: one row per
/// disclosure, gathered per vendor below.
static RECIPIENTS: Sql = Sql::new(
    "SELECT d.vendor_id, s.share FROM disclosures d JOIN shares s ON s.id = d.share_id
     WHERE d.customer_id = ?1",
);
static INSERT: Sql = Sql::new(concat!(
    "INSERT INTO recipient_notices (",
    notice_cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
));
/// Whether the vendor takes webhooks.
static HAS_ENDPOINT: Sql = Sql::new("SELECT COUNT(*) FROM webhook_endpoints WHERE vendor_id = ?1");
/// The webhook kind the app's sender builds a notice's message from; the delivery names the
/// notice and nothing else.
const WEBHOOK_KIND: &str = "recipient.notice";
static NOTICE: Sql = Sql::new(concat!(
    "SELECT ",
    notice_cols!(),
    " FROM recipient_notices WHERE id = ?1"
));
static MOVE: Sql = Sql::new(
    "UPDATE recipient_notices SET status = ?2, reason = ?3, sent_at = ?4, acknowledged_at = ?5,
            updated_at = ?6
     WHERE id = ?1 AND status = ?7",
);
static OVERDUE: Sql = Sql::new(
    "SELECT COUNT(*) FROM recipient_notices
     WHERE status IN ('pending', 'failed') AND due_at < ?1",
);

fn notice_from(r: &dyn Row) -> Result<RecipientNoticeRow> {
    Ok(RecipientNoticeRow {
        id: r.id(0)?,
        update_id: r.id(1)?,
        customer_id: r.id(2)?,
        vendor_id: r.id(3)?,
        kind: r.text(4)?,
        fields: r
            .text(5)?
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect(),
        status: r.text(6)?,
        reason: r.opt_text(7)?,
        due_at: r.int(8)?,
        created_at: r.int(9)?,
        sent_at: r.opt_int(10)?,
        acknowledged_at: r.opt_int(11)?,
        updated_at: r.int(12)?,
    })
}

/// The fields a share sent, from the `fields` of its recorded body; `None` when the body
/// cannot say, and then the vendor counts as having received every field.
fn shared_fields(share: &str) -> Option<BTreeSet<String>> {
    let body: serde_json::Value = serde_json::from_str(share).ok()?;
    body.get("fields")?
        .as_array()?
        .iter()
        .map(|f| f.as_str().map(str::to_string))
        .collect()
}

/// Writes the notices one change calls for, inside the transaction that records it.
///
/// An erasure or a restriction is told to every vendor that ever received the customer's
/// data. A rectification is told only to the vendors that received one of the changed fields,
/// naming those fields: a vendor that never held the field has nothing to correct, and telling
/// it would itself disclose that the customer changed something. Lifting a restriction is not
/// a change Art. 19 asks recipients to be told of.
pub(crate) async fn notify(x: &impl Exec, u: &RecipientUpdate) -> Result<()> {
    if !matches!(u.kind.as_str(), "erasure" | "rectification" | "restriction") {
        return Ok(());
    }
    let sent = x
        .query(&RECIPIENTS, &args![u.customer_id], |r| {
            Ok((r.id(0)?, r.text(1)?))
        })
        .await?;
    let mut received: BTreeMap<Uuid, Option<BTreeSet<String>>> = BTreeMap::new();
    for (vendor, share) in sent {
        let fields = shared_fields(&share);
        let entry = received
            .entry(vendor)
            .or_insert_with(|| Some(BTreeSet::new()));
        match (entry.as_mut(), fields) {
            (Some(all), Some(fields)) => all.extend(fields),
            _ => *entry = None,
        }
    }
    for (vendor, got) in received {
        let fields: Vec<&str> = if u.kind == "rectification" {
            let told: Vec<&str> = u
                .fields
                .iter()
                .filter(|f| got.as_ref().is_none_or(|got| got.contains(*f)))
                .map(String::as_str)
                .collect();
            if told.is_empty() {
                continue;
            }
            told
        } else {
            Vec::new()
        };
        let fields = fields.join(",");
        let none: Option<i64> = None;
        let id = Uuid::now_v7();
        let args = args![
            id,
            u.id,
            u.customer_id,
            vendor,
            &u.kind,
            &fields,
            "pending",
            None::<&str>,
            u.notify_by,
            u.at,
            none,
            none,
            u.at
        ];
        x.execute(&INSERT, &args).await?;
        let endpoints = x
            .query_opt(&HAS_ENDPOINT, &args![vendor], |r| r.int(0))
            .await?
            .unwrap_or(0);
        if endpoints > 0 {
            let delivery = WebhookRow {
                id: Uuid::now_v7(),
                vendor_id: Some(vendor),
                subscription_id: None,
                kind: WEBHOOK_KIND.into(),
                subject_id: id,
                reference: "{}".into(),
                state: "pending".into(),
                attempts: 0,
                next_attempt_at: u.at,
                created_at: u.at,
                settled_at: None,
            };
            webhooks::queue(x, &[delivery]).await?;
        }
    }
    Ok(())
}

pub(crate) async fn notice(x: &impl Exec, id: Uuid) -> Result<Option<RecipientNoticeRow>> {
    x.query_opt(&NOTICE, &args![id], notice_from).await
}

pub(crate) async fn notices(
    x: &impl Exec,
    f: &RecipientNoticeFilter,
) -> Result<Vec<RecipientNoticeRow>> {
    let mut b = Builder::new(concat!(
        "SELECT ",
        notice_cols!(),
        " FROM recipient_notices WHERE 1 = 1"
    ));
    if let Some(status) = &f.status {
        b.push(" AND status = ?", &args![status]);
    }
    if let Some(due) = f.open_due_before {
        b.push(
            " AND status IN ('pending', 'failed') AND due_at < ?",
            &args![due],
        );
    }
    if let Some(customer) = f.customer {
        b.push(" AND customer_id = ?", &args![customer]);
    }
    b.sql.push_str(if f.open_due_before.is_some() {
        " ORDER BY due_at, id"
    } else {
        " ORDER BY created_at DESC, id DESC"
    });
    let limit = i64::try_from(f.limit).unwrap_or(i64::MAX);
    b.push(" LIMIT ?", &args![limit]);
    x.query_text(&b.sql, &b.args, notice_from).await
}

/// Moves a notice to `row`'s status, with its audit entries, if it is still in status `from`;
/// otherwise nothing is written and the move fails with `Conflict`.
pub(crate) async fn move_notice(
    x: &impl WriteTx,
    row: &RecipientNoticeRow,
    from: &str,
    audit: Vec<AuditRecord>,
) -> Result<()> {
    let args = args![
        row.id,
        &row.status,
        row.reason.as_ref(),
        row.sent_at,
        row.acknowledged_at,
        row.updated_at,
        from
    ];
    if x.execute(&MOVE, &args).await? == 0 {
        return Err(StoreError::Conflict);
    }
    x.append_audit(audit).await?;
    Ok(())
}

pub(crate) async fn overdue(x: &impl Exec, now: i64) -> Result<u64> {
    let n = x
        .query_opt(&OVERDUE, &args![now], |r| r.int(0))
        .await?
        .unwrap_or(0);
    Ok(u64::try_from(n).unwrap_or(0))
}
