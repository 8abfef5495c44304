//! Shares with vendors and the disclosures they made.

use steward_core::audit::AuditRecord;
use uuid::Uuid;

use super::{Builder, Exec, Row, Sql, Value, WriteTx, args};
use crate::{DisclosureRow, Result, ShareRow, StoreError, WebhookRow};

static INSERT_SHARE: Sql = Sql::new(
    "INSERT INTO shares (id, vendor_id, agreement_id, purpose, share, shared, created_by, created_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
);
static SHARE: Sql = Sql::new(
    "SELECT id, vendor_id, agreement_id, purpose, share, shared, created_by, created_at
     FROM shares WHERE id = ?1",
);
static SHARES: Sql = Sql::new(
    "SELECT id, vendor_id, agreement_id, purpose, share, shared, created_by, created_at
     FROM shares ORDER BY created_at DESC, id DESC LIMIT ?1",
);
static INSERT_DISCLOSURE: Sql = Sql::new(
    "INSERT INTO disclosures (share_id, customer_id, vendor_id, purpose, disclosure, sealed, at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
);
static SHARE_DISCLOSURES: Sql = Sql::new(
    "SELECT share_id, customer_id, vendor_id, purpose, disclosure, sealed, at FROM disclosures
     WHERE share_id = ?1 ORDER BY customer_id LIMIT ?2",
);
static SHARE_DISCLOSURES_AFTER: Sql = Sql::new(
    "SELECT share_id, customer_id, vendor_id, purpose, disclosure, sealed, at FROM disclosures
     WHERE share_id = ?1 AND customer_id > ?3 ORDER BY customer_id LIMIT ?2",
);
static SHARE_DISCLOSURES_BETWEEN: Sql = Sql::new(
    "SELECT share_id, customer_id, vendor_id, purpose, disclosure, sealed, at FROM disclosures
     WHERE share_id = ?1 AND customer_id >= ?2 AND customer_id <= ?3 ORDER BY customer_id",
);
static DISCLOSURES_OF: Sql = Sql::new(
    "SELECT share_id, customer_id, vendor_id, purpose, disclosure, sealed, at FROM disclosures
     WHERE customer_id = ?1 ORDER BY at, share_id",
);

fn share_from(r: &dyn Row) -> Result<ShareRow> {
    Ok(ShareRow {
        id: r.id(0)?,
        vendor_id: r.id(1)?,
        agreement_id: r.id(2)?,
        purpose: r.text(3)?,
        share: r.text(4)?,
        shared: r.int(5)?,
        created_by: r.text(6)?,
        created_at: r.int(7)?,
    })
}

fn disclosure_from(r: &dyn Row) -> Result<DisclosureRow> {
    Ok(DisclosureRow {
        share_id: r.id(0)?,
        customer_id: r.id(1)?,
        vendor_id: r.id(2)?,
        purpose: r.text(3)?,
        disclosure: r.text(4)?,
        sealed: r.bytes(5)?,
        at: r.int(6)?,
    })
}

pub(crate) async fn record_share(
    x: &impl WriteTx,
    s: &ShareRow,
    disclosures: &[DisclosureRow],
    deliveries: &[WebhookRow],
    audit: Vec<AuditRecord>,
) -> Result<()> {
    let args = args![
        s.id,
        s.vendor_id,
        s.agreement_id,
        &s.purpose,
        &s.share,
        s.shared,
        &s.created_by,
        s.created_at
    ];
    x.execute(&INSERT_SHARE, &args).await?;
    let rows: Vec<_> = disclosures
        .iter()
        .map(|d| {
            args![
                d.share_id,
                d.customer_id,
                d.vendor_id,
                &d.purpose,
                &d.disclosure,
                &d.sealed,
                d.at
            ]
        })
        .collect();
    x.execute_each(&INSERT_DISCLOSURE, &rows)
        .await
        .map_err(|(_, e): (usize, StoreError)| e)?;
    super::webhooks::queue(x, deliveries).await?;
    x.append_audit(audit).await?;
    Ok(())
}

pub(crate) async fn share(x: &impl Exec, id: Uuid) -> Result<Option<ShareRow>> {
    x.query_opt(&SHARE, &args![id], share_from).await
}

pub(crate) async fn shares(x: &impl Exec, limit: usize) -> Result<Vec<ShareRow>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    x.query(&SHARES, &args![limit], share_from).await
}

pub(crate) async fn share_disclosures(
    x: &impl Exec,
    share: Uuid,
    after: Option<Uuid>,
    limit: usize,
) -> Result<Vec<DisclosureRow>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    match after {
        Some(after) => {
            x.query(
                &SHARE_DISCLOSURES_AFTER,
                &args![share, limit, after],
                disclosure_from,
            )
            .await
        }
        None => {
            x.query(&SHARE_DISCLOSURES, &args![share, limit], disclosure_from)
                .await
        }
    }
}

/// The disclosures of a share from customer `first` to `last`, both included, in order.
pub(crate) async fn share_disclosures_between(
    x: &impl Exec,
    share: Uuid,
    first: Uuid,
    last: Uuid,
) -> Result<Vec<DisclosureRow>> {
    x.query(
        &SHARE_DISCLOSURES_BETWEEN,
        &args![share, first, last],
        disclosure_from,
    )
    .await
}

pub(crate) async fn disclosures_of(x: &impl Exec, customer: Uuid) -> Result<Vec<DisclosureRow>> {
    x.query(&DISCLOSURES_OF, &args![customer], disclosure_from)
        .await
}

/// Which of `customers` object to `purpose` (Art. 21) with an objection that stands: made at
/// the request desk or in the portal and not denied. Until the controller shows grounds that
/// override it, their data is not processed for that purpose.
pub(crate) async fn objecting(
    x: &impl Exec,
    purpose: &str,
    customers: &[Uuid],
) -> Result<Vec<Uuid>> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = Builder::new("SELECT DISTINCT customer_id FROM requests");
    b.push(
        " WHERE kind = 'objection' AND state <> 'denied' AND purpose = ?",
        &args![purpose],
    );
    let marks = vec!["?"; customers.len()].join(", ");
    let values: Vec<Value> = customers.iter().map(|c| Value::from(*c)).collect();
    b.push(&format!(" AND customer_id IN ({marks})"), &values);
    x.query_text(&b.sql, &b.args, |r| r.id(0)).await
}
