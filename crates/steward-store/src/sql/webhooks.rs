//! Webhook endpoints, the deliveries waiting for them, and the attempts made.

use steward_core::audit::AuditRecord;
use uuid::Uuid;

use super::{Exec, Row, Sql, WriteTx, args};
use crate::{
    Result, WebhookAttempt, WebhookEndpointRow, WebhookOutcome, WebhookProgress, WebhookRow,
};

macro_rules! delivery_cols {
    () => {
        "id, vendor_id, kind, subject_id, reference, state, attempts, next_attempt_at, created_at, settled_at,
         subscription_id"
    };
}
pub(crate) use delivery_cols;

static SET_ENDPOINT: Sql = Sql::new(
    "INSERT INTO webhook_endpoints (vendor_id, url, secret, set_by, set_at) VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (vendor_id) DO UPDATE
     SET url = excluded.url, secret = excluded.secret, set_by = excluded.set_by, set_at = excluded.set_at",
);
static REMOVE_ENDPOINT: Sql = Sql::new("DELETE FROM webhook_endpoints WHERE vendor_id = ?1");
static ENDPOINT: Sql = Sql::new(
    "SELECT vendor_id, url, secret, set_by, set_at FROM webhook_endpoints WHERE vendor_id = ?1",
);
static INSERT_DELIVERY: Sql = Sql::new(concat!(
    "INSERT INTO webhook_deliveries (",
    delivery_cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
));
static DELIVERED: Sql = Sql::new(
    "UPDATE webhook_deliveries SET state = 'delivered', attempts = ?2, settled_at = ?3, lease_until = NULL
     WHERE id = ?1 AND state = 'pending'",
);
static RETRY: Sql = Sql::new(
    "UPDATE webhook_deliveries SET attempts = ?2, next_attempt_at = ?3, lease_until = NULL
     WHERE id = ?1 AND state = 'pending'",
);
static FAILED: Sql = Sql::new(
    "UPDATE webhook_deliveries SET state = 'failed', attempts = ?2, settled_at = ?3, lease_until = NULL
     WHERE id = ?1 AND state = 'pending'",
);
static INSERT_ATTEMPT: Sql = Sql::new(
    "INSERT INTO webhook_attempts (delivery_id, attempt, at, outcome, status, error, micros, retry_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
);
static PROGRESS: Sql =
    Sql::new("SELECT state, COUNT(*) FROM webhook_deliveries WHERE subject_id = ?1 GROUP BY state");
static DELIVERIES_OF: Sql = Sql::new(concat!(
    "SELECT ",
    delivery_cols!(),
    " FROM webhook_deliveries WHERE subject_id = ?1 ORDER BY created_at, id"
));
static ATTEMPTS_OF: Sql = Sql::new(
    "SELECT a.delivery_id, a.attempt, a.at, a.outcome, a.status, a.error, a.micros, a.retry_at
     FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
     WHERE d.subject_id = ?1 ORDER BY a.delivery_id, a.attempt",
);

fn endpoint_from(r: &dyn Row) -> Result<WebhookEndpointRow> {
    Ok(WebhookEndpointRow {
        vendor_id: r.id(0)?,
        url: r.text(1)?,
        secret: r.bytes(2)?,
        set_by: r.text(3)?,
        set_at: r.int(4)?,
    })
}

pub(crate) fn delivery_from(r: &dyn Row) -> Result<WebhookRow> {
    Ok(WebhookRow {
        id: r.id(0)?,
        vendor_id: r.opt_id(1)?,
        subscription_id: r.opt_id(10)?,
        kind: r.text(2)?,
        subject_id: r.id(3)?,
        reference: r.text(4)?,
        state: r.text(5)?,
        attempts: r.int(6)?,
        next_attempt_at: r.int(7)?,
        created_at: r.int(8)?,
        settled_at: r.opt_int(9)?,
    })
}

/// Sets (or replaces) a vendor's endpoint with its audit entry.
pub(crate) async fn set_endpoint(
    x: &impl WriteTx,
    e: &WebhookEndpointRow,
    audit: AuditRecord,
) -> Result<()> {
    let args = args![e.vendor_id, &e.url, &e.secret, &e.set_by, e.set_at];
    x.execute(&SET_ENDPOINT, &args).await?;
    x.append_audit(vec![audit]).await?;
    Ok(())
}

/// Removes a vendor's endpoint with its audit entry; false, and nothing written, when it had
/// none.
pub(crate) async fn remove_endpoint(
    x: &impl WriteTx,
    vendor: Uuid,
    audit: AuditRecord,
) -> Result<bool> {
    if x.execute(&REMOVE_ENDPOINT, &args![vendor]).await? == 0 {
        return Ok(false);
    }
    x.append_audit(vec![audit]).await?;
    Ok(true)
}

pub(crate) async fn endpoint(x: &impl Exec, vendor: Uuid) -> Result<Option<WebhookEndpointRow>> {
    x.query_opt(&ENDPOINT, &args![vendor], endpoint_from).await
}

pub(crate) async fn queue(x: &impl Exec, deliveries: &[WebhookRow]) -> Result<()> {
    let rows: Vec<_> = deliveries
        .iter()
        .map(|d| {
            args![
                d.id,
                d.vendor_id,
                &d.kind,
                d.subject_id,
                &d.reference,
                &d.state,
                d.attempts,
                d.next_attempt_at,
                d.created_at,
                d.settled_at,
                d.subscription_id
            ]
        })
        .collect();
    x.execute_each(&INSERT_DELIVERY, &rows)
        .await
        .map_err(|(_, e)| e)
}

/// Leases up to `limit` due deliveries with the engine's own claim (`statement`), in order.
pub(crate) async fn claim(
    x: &impl Exec,
    statement: &Sql,
    now: i64,
    lease_until: i64,
    limit: usize,
) -> Result<Vec<WebhookRow>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut claimed = x
        .query(statement, &args![now, lease_until, limit], delivery_from)
        .await?;
    // RETURNING keeps no order.
    claimed.sort_by_key(|d| (d.next_attempt_at, d.id));
    Ok(claimed)
}

/// Records an attempt, settles or reschedules its delivery, and appends the attempt's audit
/// entries, together. A delivery no longer pending (settled by another sender whose lease
/// ran out under this one) keeps its state and gains no attempt.
pub(crate) async fn finish(
    x: &impl WriteTx,
    a: &WebhookAttempt,
    audit: Vec<AuditRecord>,
) -> Result<bool> {
    let id = a.delivery_id;
    let n = match &a.outcome {
        WebhookOutcome::Delivered => x.execute(&DELIVERED, &args![id, a.attempt, a.at]).await?,
        WebhookOutcome::Retry { at } => x.execute(&RETRY, &args![id, a.attempt, *at]).await?,
        WebhookOutcome::Failed => x.execute(&FAILED, &args![id, a.attempt, a.at]).await?,
    };
    if n == 0 {
        return Ok(false);
    }
    let retry_at = match a.outcome {
        WebhookOutcome::Retry { at } => Some(at),
        _ => None,
    };
    let args = args![
        id,
        a.attempt,
        a.at,
        a.outcome.as_str(),
        a.status,
        a.error.as_ref(),
        a.micros,
        retry_at
    ];
    x.execute(&INSERT_ATTEMPT, &args).await?;
    if !audit.is_empty() {
        x.append_audit(audit).await?;
    }
    Ok(true)
}

pub(crate) async fn progress(x: &impl Exec, subject: Uuid) -> Result<WebhookProgress> {
    let counts = x
        .query(&PROGRESS, &args![subject], |r| Ok((r.text(0)?, r.int(1)?)))
        .await?;
    let mut p = WebhookProgress::default();
    for (state, n) in counts {
        match state.as_str() {
            "pending" => p.pending = n,
            "delivered" => p.delivered = n,
            "failed" => p.failed = n,
            other => {
                return Err(crate::StoreError::Corrupt(format!(
                    "webhook delivery state {other:?}"
                )));
            }
        }
    }
    Ok(p)
}

pub(crate) async fn deliveries_of(x: &impl Exec, subject: Uuid) -> Result<Vec<WebhookRow>> {
    x.query(&DELIVERIES_OF, &args![subject], delivery_from)
        .await
}

pub(crate) async fn attempts_of(x: &impl Exec, subject: Uuid) -> Result<Vec<WebhookAttempt>> {
    x.query(&ATTEMPTS_OF, &args![subject], attempt_from).await
}

pub(crate) fn attempt_from(r: &dyn Row) -> Result<WebhookAttempt> {
    Ok(WebhookAttempt {
        delivery_id: r.id(0)?,
        attempt: r.int(1)?,
        at: r.int(2)?,
        outcome: WebhookOutcome::from_parts(&r.text(3)?, r.opt_int(7)?)?,
        status: r.opt_int(4)?,
        error: r.opt_text(5)?,
        micros: r.int(6)?,
    })
}
