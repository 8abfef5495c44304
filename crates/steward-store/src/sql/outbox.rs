//! The outbox, delivery records and emailed links.

use uuid::Uuid;

use super::{Exec, Row, Sql, args};
use crate::{
    ChangeSet, Delivery, DeliveryOutcome, MailLink, OutboxRow, Result, SpentLink, StoreError,
};

macro_rules! outbox_cols {
    () => {
        "id, customer_id, kind, campaign_id, sealed, state, attempts, next_attempt_at, created_at, sent_at, last_error"
    };
}
macro_rules! link_cols {
    () => {
        "token_hash, kind, customer_id, purpose, notice_version, method, campaign_id, created_at, expires_at, used_at"
    };
}
pub(crate) use outbox_cols;

static SPEND_LINK: Sql = Sql::new(
    "UPDATE mail_links SET used_at = ?2
     WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
);
static INSERT_MESSAGE: Sql = Sql::new(concat!(
    "INSERT INTO outbox (",
    outbox_cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
));
static INSERT_LINK: Sql = Sql::new(concat!(
    "INSERT INTO mail_links (",
    link_cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
));
static ERASE_LINKS: Sql = Sql::new("DELETE FROM mail_links WHERE customer_id = ?1");
static ERASE_DELIVERIES: Sql = Sql::new(
    "DELETE FROM mail_deliveries WHERE message_id IN (SELECT id FROM outbox WHERE customer_id = ?1)",
);
static ERASE_MESSAGES: Sql = Sql::new("DELETE FROM outbox WHERE customer_id = ?1");
static SENT: Sql = Sql::new(
    "UPDATE outbox SET state = 'sent', attempts = ?2, sent_at = ?3, lease_until = NULL, last_error = NULL
     WHERE id = ?1",
);
static RETRY: Sql = Sql::new(
    "UPDATE outbox SET attempts = ?2, next_attempt_at = ?3, lease_until = NULL, last_error = ?4
     WHERE id = ?1",
);
static FAILED: Sql = Sql::new(
    "UPDATE outbox SET state = 'failed', attempts = ?2, lease_until = NULL, last_error = ?3
     WHERE id = ?1",
);
static INSERT_DELIVERY: Sql = Sql::new(
    "INSERT INTO mail_deliveries (message_id, attempt, at, outcome, detail, retry_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
);
static CUSTOMER_MAIL: Sql = Sql::new(concat!(
    "SELECT ",
    outbox_cols!(),
    " FROM outbox WHERE customer_id = ?1 ORDER BY created_at DESC, id DESC"
));
static DELIVERIES: Sql = Sql::new(
    "SELECT attempt, at, outcome, detail, retry_at FROM mail_deliveries
     WHERE message_id = ?1 ORDER BY attempt",
);
static LINK: Sql = Sql::new(concat!(
    "SELECT ",
    link_cols!(),
    " FROM mail_links WHERE token_hash = ?1"
));

pub(crate) fn outbox_from(r: &dyn Row) -> Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.id(0)?,
        customer_id: r.id(1)?,
        kind: r.text(2)?,
        campaign_id: r.opt_id(3)?,
        sealed: r.bytes(4)?,
        state: r.text(5)?,
        attempts: r.int(6)?,
        next_attempt_at: r.int(7)?,
        created_at: r.int(8)?,
        sent_at: r.opt_int(9)?,
        last_error: r.opt_text(10)?,
    })
}

/// Spends the change's link first: if it cannot be spent, nothing else happens.
pub(crate) async fn spend_link(x: &impl Exec, spent: &SpentLink) -> Result<()> {
    if x.execute(&SPEND_LINK, &args![&spent.token_hash, spent.at])
        .await?
        == 0
    {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(crate) async fn save(x: &impl Exec, changes: &ChangeSet) -> Result<()> {
    for m in &changes.mail {
        let args = args![
            m.id,
            m.customer_id,
            &m.kind,
            m.campaign_id,
            &m.sealed,
            &m.state,
            m.attempts,
            m.next_attempt_at,
            m.created_at,
            m.sent_at,
            m.last_error.as_ref()
        ];
        x.execute(&INSERT_MESSAGE, &args)
            .await
            // One campaign message per customer: a second send of a campaign collides here.
            .map_err(|e| e.duplicate_of("campaign"))?;
    }
    for l in &changes.links {
        let args = args![
            &l.token_hash,
            &l.kind,
            l.customer_id,
            &l.purpose,
            l.notice_version.as_ref(),
            &l.method,
            l.campaign_id,
            l.created_at,
            l.expires_at,
            l.used_at
        ];
        x.execute(&INSERT_LINK, &args).await?;
    }
    Ok(())
}

pub(crate) async fn erase(x: &impl Exec, customer: Uuid) -> Result<()> {
    erase_messages(x, customer).await?;
    x.execute(&ERASE_LINKS, &args![customer]).await?;
    Ok(())
}

/// The messages to a customer (or sign-up) and the records of their delivery.
pub(crate) async fn erase_messages(x: &impl Exec, customer: Uuid) -> Result<()> {
    x.execute(&ERASE_DELIVERIES, &args![customer]).await?;
    x.execute(&ERASE_MESSAGES, &args![customer]).await?;
    Ok(())
}

/// Leases up to `limit` due messages with the engine's own claim (`statement`), in order.
pub(crate) async fn claim(
    x: &impl Exec,
    statement: &Sql,
    now: i64,
    lease_until: i64,
    limit: usize,
) -> Result<Vec<OutboxRow>> {
    let mut claimed = x
        .query(
            statement,
            &args![now, lease_until, limit as i64],
            outbox_from,
        )
        .await?;
    // RETURNING keeps no order.
    claimed.sort_by_key(|m| (m.next_attempt_at, m.id));
    Ok(claimed)
}

pub(crate) async fn finish(x: &impl Exec, d: &Delivery) -> Result<()> {
    let id = d.message_id;
    let n = match &d.outcome {
        DeliveryOutcome::Sent => x.execute(&SENT, &args![id, d.attempt, d.at]).await?,
        DeliveryOutcome::Retry { at } => {
            let args = args![id, d.attempt, *at, d.detail.as_ref()];
            x.execute(&RETRY, &args).await?
        }
        DeliveryOutcome::Failed => {
            x.execute(&FAILED, &args![id, d.attempt, d.detail.as_ref()])
                .await?
        }
    };
    // A message erased with its customer while it was being sent leaves no record behind.
    if n > 0 {
        let retry_at = match d.outcome {
            DeliveryOutcome::Retry { at } => Some(at),
            _ => None,
        };
        let args = args![
            id,
            d.attempt,
            d.at,
            d.outcome.as_str(),
            d.detail.as_ref(),
            retry_at
        ];
        x.execute(&INSERT_DELIVERY, &args).await?;
    }
    Ok(())
}

pub(crate) async fn customer_mail(x: &impl Exec, customer: Uuid) -> Result<Vec<OutboxRow>> {
    x.query(&CUSTOMER_MAIL, &args![customer], outbox_from).await
}

pub(crate) async fn deliveries(x: &impl Exec, message: Uuid) -> Result<Vec<Delivery>> {
    x.query(&DELIVERIES, &args![message], |r| {
        Ok(Delivery {
            message_id: message,
            attempt: r.int(0)?,
            at: r.int(1)?,
            outcome: DeliveryOutcome::from_parts(&r.text(2)?, r.opt_int(4)?)?,
            detail: r.opt_text(3)?,
        })
    })
    .await
}

pub(crate) async fn find_link(x: &impl Exec, token_hash: &[u8; 32]) -> Result<Option<MailLink>> {
    x.query_opt(&LINK, &args![token_hash], |r| {
        Ok(MailLink {
            token_hash: r.hash(0)?,
            kind: r.text(1)?,
            customer_id: r.id(2)?,
            purpose: r.text(3)?,
            notice_version: r.opt_text(4)?,
            method: r.text(5)?,
            campaign_id: r.opt_id(6)?,
            created_at: r.int(7)?,
            expires_at: r.int(8)?,
            used_at: r.opt_int(9)?,
        })
    })
    .await
}
