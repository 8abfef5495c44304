//! The consent ledger: every event, and each purpose's current state.

use uuid::Uuid;

use super::{Builder, Exec, Row, Sql, Value, args};
use crate::{ConsentEvent, Result, StoreError};

macro_rules! consent_cols {
    () => {
        "id, customer_id, purpose, state, notice_version, method, evidence, at, expires_at"
    };
}

static ADD_EVENT: Sql = Sql::new(concat!(
    "INSERT INTO consent_events (",
    consent_cols!(),
    ") SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM customers WHERE id = ?2)"
));
static SET_CURRENT: Sql = Sql::new(concat!(
    "INSERT INTO consent_current (",
    consent_cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
     ON CONFLICT (customer_id, purpose) DO UPDATE SET id = excluded.id, state = excluded.state,
       notice_version = excluded.notice_version, method = excluded.method,
       evidence = excluded.evidence, at = excluded.at, expires_at = excluded.expires_at"
));
static CURRENT_ID: Sql =
    Sql::for_update("SELECT id FROM consent_current WHERE customer_id = ?1 AND purpose = ?2");
static CURRENT: Sql = Sql::new(concat!(
    "SELECT ",
    consent_cols!(),
    " FROM consent_current WHERE customer_id = ?1 ORDER BY purpose"
));
static EVENT: Sql = Sql::new(concat!(
    "SELECT ",
    consent_cols!(),
    " FROM consent_events WHERE id = ?1"
));
static LAPSED: Sql = Sql::new(concat!(
    "SELECT ",
    consent_cols!(),
    " FROM consent_current
     WHERE state = 'given' AND (expires_at <= ?1 OR at < ?2)
     ORDER BY customer_id LIMIT ?3"
));
static HISTORY: Sql = Sql::new(concat!(
    "SELECT ",
    consent_cols!(),
    " FROM consent_events WHERE customer_id = ?1 ORDER BY at, id"
));

fn consent_from(r: &dyn Row) -> Result<ConsentEvent> {
    Ok(ConsentEvent {
        id: r.id(0)?,
        customer_id: r.id(1)?,
        purpose: r.text(2)?,
        state: r.text(3)?,
        notice_version: r.opt_text(4)?,
        method: r.text(5)?,
        evidence: r.opt_text(6)?,
        at: r.int(7)?,
        expires_at: r.opt_int(8)?,
    })
}

/// `Conflict` unless the purpose's current state is still the event `expected`, which a
/// change was decided on. The state is locked on PostgreSQL until the transaction ends, so
/// no other write moves it meanwhile.
pub(crate) async fn expect_current(
    x: &impl Exec,
    customer: Uuid,
    purpose: &str,
    expected: Uuid,
) -> Result<()> {
    let current = x
        .query_opt(&CURRENT_ID, &args![customer, purpose], |r| r.id(0))
        .await?;
    if current != Some(expected) {
        return Err(StoreError::Conflict);
    }
    Ok(())
}

/// Appends to the ledger and makes the event its purpose's current state; a customer who is
/// not (or no longer) there gets no event.
pub(crate) async fn save(x: &impl Exec, e: &ConsentEvent) -> Result<()> {
    let args = args![
        e.id,
        e.customer_id,
        &e.purpose,
        &e.state,
        e.notice_version.as_ref(),
        &e.method,
        e.evidence.as_ref(),
        e.at,
        e.expires_at
    ];
    if x.execute(&ADD_EVENT, &args).await? == 0 {
        return Err(StoreError::NotFound);
    }
    x.execute(&SET_CURRENT, &args).await?;
    Ok(())
}

/// The current consent state of each purpose the customer has an event for.
pub(crate) async fn current(x: &impl Exec, customer: Uuid) -> Result<Vec<ConsentEvent>> {
    x.query(&CURRENT, &args![customer], consent_from).await
}

/// The current state of one purpose for each of `customers` that has an event for it.
pub(crate) async fn current_for(
    x: &impl Exec,
    purpose: &str,
    customers: &[Uuid],
) -> Result<Vec<ConsentEvent>> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let mut b = Builder::new(concat!("SELECT ", consent_cols!(), " FROM consent_current"));
    b.push(" WHERE purpose = ?", &args![purpose]);
    let marks = vec!["?"; customers.len()].join(", ");
    let values: Vec<Value> = customers.iter().map(|c| Value::from(*c)).collect();
    b.push(&format!(" AND customer_id IN ({marks})"), &values);
    x.query_text(&b.sql, &b.args, consent_from).await
}

pub(crate) async fn event(x: &impl Exec, id: Uuid) -> Result<Option<ConsentEvent>> {
    x.query_opt(&EVENT, &args![id], consent_from).await
}

pub(crate) async fn lapsed(
    x: &impl Exec,
    now: i64,
    given_since: Option<i64>,
    limit: usize,
) -> Result<Vec<ConsentEvent>> {
    let args = args![now, given_since.unwrap_or(i64::MIN), limit as i64];
    x.query(&LAPSED, &args, consent_from).await
}

pub(crate) async fn history(x: &impl Exec, customer: Uuid) -> Result<Vec<ConsentEvent>> {
    x.query(&HISTORY, &args![customer], consent_from).await
}
