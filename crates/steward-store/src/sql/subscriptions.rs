//! Integrations' webhook subscriptions, and the events a change queues for them in its own
//! transaction: one delivery per active subscription that wants the event, naming ids and
//! field names only.

use steward_core::audit::AuditRecord;
use uuid::Uuid;

use super::{Exec, Row, Sql, WriteTx, args, webhooks};
use crate::{ChangeSet, EventNote, Result, SubscriptionRow, WebhookAttempt, WebhookRow};

macro_rules! subscription_cols {
    () => {
        "id, name, url, events, secret, active, vendor_id, purpose, created_by, created_at, updated_at"
    };
}

/// The webhook kind the app's sender builds an event's message from.
const WEBHOOK_KIND: &str = "event";

static INSERT: Sql = Sql::new(concat!(
    "INSERT INTO webhook_subscriptions (",
    subscription_cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
));
static UPDATE: Sql = Sql::new(
    "UPDATE webhook_subscriptions SET name = ?2, url = ?3, events = ?4, secret = ?5, active = ?6,
            vendor_id = ?7, purpose = ?8, updated_at = ?9
     WHERE id = ?1",
);
static DELETE: Sql = Sql::new("DELETE FROM webhook_subscriptions WHERE id = ?1");
static ONE: Sql = Sql::new(concat!(
    "SELECT ",
    subscription_cols!(),
    " FROM webhook_subscriptions WHERE id = ?1"
));
static ALL: Sql = Sql::new(concat!(
    "SELECT ",
    subscription_cols!(),
    " FROM webhook_subscriptions ORDER BY created_at, id"
));
/// The one read a change with events makes: the active subscriptions and what each wants.
static ACTIVE: Sql = Sql::new("SELECT id, events FROM webhook_subscriptions WHERE active = ?1");
static DELIVERIES_TO: Sql = Sql::new(concat!(
    "SELECT ",
    webhooks::delivery_cols!(),
    " FROM webhook_deliveries WHERE subscription_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2"
));
static ATTEMPTS_TO: Sql = Sql::new(
    "SELECT a.delivery_id, a.attempt, a.at, a.outcome, a.status, a.error, a.micros, a.retry_at
     FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
     WHERE d.subscription_id = ?1 AND d.created_at >= ?2 ORDER BY a.delivery_id, a.attempt",
);

fn subscription_from(r: &dyn Row) -> Result<SubscriptionRow> {
    Ok(SubscriptionRow {
        id: r.id(0)?,
        name: r.text(1)?,
        url: r.text(2)?,
        events: split(&r.text(3)?),
        secret: r.bytes(4)?,
        active: r.bool(5)?,
        vendor_id: r.opt_id(6)?,
        purpose: r.opt_text(7)?,
        created_by: r.text(8)?,
        created_at: r.int(9)?,
        updated_at: r.int(10)?,
    })
}

fn split(events: &str) -> Vec<String> {
    events
        .split(',')
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) async fn create(
    x: &impl WriteTx,
    s: &SubscriptionRow,
    audit: AuditRecord,
) -> Result<()> {
    let events = s.events.join(",");
    let args = args![
        s.id,
        &s.name,
        &s.url,
        &events,
        &s.secret,
        s.active,
        s.vendor_id,
        s.purpose.as_ref(),
        &s.created_by,
        s.created_at,
        s.updated_at
    ];
    x.execute(&INSERT, &args).await?;
    x.append_audit(vec![audit]).await?;
    Ok(())
}

/// Replaces a subscription's settings with its audit entry; false, and nothing written, when
/// there is no such subscription.
pub(crate) async fn update(
    x: &impl WriteTx,
    s: &SubscriptionRow,
    audit: AuditRecord,
) -> Result<bool> {
    let events = s.events.join(",");
    let args = args![
        s.id,
        &s.name,
        &s.url,
        &events,
        &s.secret,
        s.active,
        s.vendor_id,
        s.purpose.as_ref(),
        s.updated_at
    ];
    if x.execute(&UPDATE, &args).await? == 0 {
        return Ok(false);
    }
    x.append_audit(vec![audit]).await?;
    Ok(true)
}

/// Deletes a subscription with its audit entry; its deliveries stay as history, and those
/// still pending fail at their next attempt.
pub(crate) async fn delete(x: &impl WriteTx, id: Uuid, audit: AuditRecord) -> Result<bool> {
    if x.execute(&DELETE, &args![id]).await? == 0 {
        return Ok(false);
    }
    x.append_audit(vec![audit]).await?;
    Ok(true)
}

pub(crate) async fn one(x: &impl Exec, id: Uuid) -> Result<Option<SubscriptionRow>> {
    x.query_opt(&ONE, &args![id], subscription_from).await
}

pub(crate) async fn all(x: &impl Exec) -> Result<Vec<SubscriptionRow>> {
    x.query(&ALL, &args![], subscription_from).await
}

/// A subscription's latest deliveries, newest first, and their attempts.
pub(crate) async fn deliveries_to(
    x: &impl Exec,
    subscription: Uuid,
    limit: usize,
) -> Result<(Vec<WebhookRow>, Vec<WebhookAttempt>)> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let deliveries = x
        .query(
            &DELIVERIES_TO,
            &args![subscription, limit],
            webhooks::delivery_from,
        )
        .await?;
    let Some(oldest) = deliveries.iter().map(|d| d.created_at).min() else {
        return Ok((deliveries, Vec::new()));
    };
    let attempts = x
        .query(
            &ATTEMPTS_TO,
            &args![subscription, oldest],
            webhooks::attempt_from,
        )
        .await?;
    Ok((deliveries, attempts))
}

/// The events a change set makes: those the use case named, each consent decision, and each
/// request completed.
fn noted(changes: &ChangeSet) -> Vec<EventNote> {
    let mut notes = changes.events.clone();
    for e in &changes.consents {
        // A consent asked for and not yet confirmed is no decision.
        if e.state == "requested" {
            continue;
        }
        notes.push(EventNote {
            kind: "consent.changed".into(),
            subject_id: e.customer_id,
            at: e.at,
            data: serde_json::json!({
                "customer_id": e.customer_id,
                "purpose": e.purpose,
                "state": e.state,
            })
            .to_string(),
        });
    }
    // A request the portal carries out at once is written completed; others move there.
    let completed = (changes.requests.iter())
        .filter(|r| r.state == "completed")
        .chain(
            (changes.request_moves.iter())
                .filter(|m| m.row.state == "completed" && m.from != "completed")
                .map(|m| &m.row),
        );
    for r in completed {
        notes.push(EventNote {
            kind: "request.completed".into(),
            subject_id: r.id,
            at: r.updated_at,
            data: serde_json::json!({
                "request_id": r.id,
                "customer_id": r.customer_id,
                "kind": r.kind,
            })
            .to_string(),
        });
    }
    notes
}

/// Queues, inside the change's transaction, one delivery per event and per active
/// subscription that wants it. A change without events reads nothing; one with events reads
/// the active subscriptions once.
pub(crate) async fn queue(x: &impl Exec, changes: &ChangeSet) -> Result<()> {
    queue_notes(x, noted(changes)).await
}

/// Queues, inside the caller's transaction, one delivery per event and per active
/// subscription that wants it.
pub(crate) async fn queue_notes(x: &impl Exec, notes: Vec<EventNote>) -> Result<()> {
    if notes.is_empty() {
        return Ok(());
    }
    let active = x
        .query(&ACTIVE, &args![true], |r| {
            Ok((r.id(0)?, split(&r.text(1)?)))
        })
        .await?;
    if active.is_empty() {
        return Ok(());
    }
    let mut deliveries = Vec::new();
    for note in &notes {
        for (subscription, wants) in &active {
            if wants.contains(&note.kind) {
                deliveries.push(WebhookRow {
                    id: Uuid::now_v7(),
                    vendor_id: None,
                    subscription_id: Some(*subscription),
                    kind: WEBHOOK_KIND.into(),
                    subject_id: note.subject_id,
                    reference: format!(
                        r#"{{"type":{},"data":{}}}"#,
                        serde_json::Value::from(note.kind.as_str()),
                        note.data
                    ),
                    state: "pending".into(),
                    attempts: 0,
                    next_attempt_at: note.at,
                    created_at: note.at,
                    settled_at: None,
                });
            }
        }
    }
    webhooks::queue(x, &deliveries).await
}
