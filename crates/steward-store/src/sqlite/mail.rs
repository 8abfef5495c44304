//! The outbox, delivery records and emailed links, in SQLite.

use super::*;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::uuid_from;
use crate::records::hash32;
use crate::{
    ChangeSet, Delivery, DeliveryOutcome, MailLink, OutboxRow, Result, SpentLink, StoreError,
};

const OUTBOX_COLS: &str = "id, customer_id, kind, campaign_id, sealed, state, attempts, next_attempt_at, created_at, sent_at, last_error";
const LINK_COLS: &str = "token_hash, kind, customer_id, purpose, notice_version, method, campaign_id, created_at, expires_at, used_at";

fn opt_uuid(bytes: Option<Vec<u8>>) -> Result<Option<Uuid>> {
    bytes.map(uuid_from).transpose()
}

/// A row with its ids still as bytes.
type RawOutbox = (Vec<u8>, Vec<u8>, Option<Vec<u8>>, OutboxRow);

fn outbox_from(r: &rusqlite::Row) -> rusqlite::Result<RawOutbox> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(3)?,
        OutboxRow {
            id: Uuid::nil(),
            customer_id: Uuid::nil(),
            kind: r.get(2)?,
            campaign_id: None,
            sealed: r.get(4)?,
            state: r.get(5)?,
            attempts: r.get(6)?,
            next_attempt_at: r.get(7)?,
            created_at: r.get(8)?,
            sent_at: r.get(9)?,
            last_error: r.get(10)?,
        },
    ))
}

fn finish_outbox((id, customer, campaign, mut row): RawOutbox) -> Result<OutboxRow> {
    row.id = uuid_from(id)?;
    row.customer_id = uuid_from(customer)?;
    row.campaign_id = opt_uuid(campaign)?;
    Ok(row)
}

/// Spends the change's link first: if it cannot be spent, nothing else happens.
pub(super) fn spend_link(tx: &Transaction, spent: &SpentLink) -> Result<()> {
    let n = tx
        .prepare_cached(
            "UPDATE mail_links SET used_at = ?2
             WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
        )?
        .execute(params![spent.token_hash.as_slice(), spent.at])?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) fn save(tx: &Transaction, changes: &ChangeSet) -> Result<()> {
    if !changes.mail.is_empty() {
        let mut ins = tx.prepare_cached(&format!(
            "INSERT INTO outbox ({OUTBOX_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ))?;
        for m in &changes.mail {
            ins.execute(params![
                m.id.as_bytes().as_slice(),
                m.customer_id.as_bytes().as_slice(),
                m.kind,
                m.campaign_id.as_ref().map(|c| c.as_bytes().to_vec()),
                m.sealed,
                m.state,
                m.attempts,
                m.next_attempt_at,
                m.created_at,
                m.sent_at,
                m.last_error,
            ])
            // One campaign message per customer: a second send of a campaign collides here.
            .map_err(|e| super::map_unique(e, "campaign"))?;
        }
    }
    if !changes.links.is_empty() {
        let mut ins = tx.prepare_cached(&format!(
            "INSERT INTO mail_links ({LINK_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ))?;
        for l in &changes.links {
            ins.execute(params![
                l.token_hash.as_slice(),
                l.kind,
                l.customer_id.as_bytes().as_slice(),
                l.purpose,
                l.notice_version,
                l.method,
                l.campaign_id.as_ref().map(|c| c.as_bytes().to_vec()),
                l.created_at,
                l.expires_at,
                l.used_at,
            ])?;
        }
    }
    Ok(())
}

pub(super) fn erase(tx: &Transaction, customer: &[u8]) -> Result<()> {
    erase_messages(tx, customer)?;
    tx.prepare_cached("DELETE FROM mail_links WHERE customer_id = ?1")?
        .execute([customer])?;
    Ok(())
}

/// The messages to a customer (or sign-up) and the records of their delivery.
pub(super) fn erase_messages(tx: &Transaction, customer: &[u8]) -> Result<()> {
    tx.prepare_cached(
        "DELETE FROM mail_deliveries WHERE message_id IN (SELECT id FROM outbox WHERE customer_id = ?1)",
    )?
    .execute([customer])?;
    tx.prepare_cached("DELETE FROM outbox WHERE customer_id = ?1")?
        .execute([customer])?;
    Ok(())
}

pub(super) fn claim(
    tx: &Transaction,
    now: i64,
    lease_until: i64,
    limit: usize,
) -> Result<Vec<OutboxRow>> {
    let mut stmt = tx.prepare_cached(&format!(
        "UPDATE outbox SET lease_until = ?2 WHERE id IN (
           SELECT id FROM outbox
           WHERE state = 'pending' AND next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)
           ORDER BY next_attempt_at, id LIMIT ?3)
         RETURNING {OUTBOX_COLS}"
    ))?;
    let rows = stmt.query_map(params![now, lease_until, limit as i64], outbox_from)?;
    let mut claimed = rows
        .map(|r| finish_outbox(r?))
        .collect::<Result<Vec<_>>>()?;
    // RETURNING keeps no order.
    claimed.sort_by_key(|m| (m.next_attempt_at, m.id));
    Ok(claimed)
}

pub(super) fn finish(tx: &Transaction, d: &Delivery) -> Result<()> {
    let id = d.message_id.as_bytes().as_slice();
    let n = match &d.outcome {
        DeliveryOutcome::Sent => tx
            .prepare_cached(
                "UPDATE outbox SET state = 'sent', attempts = ?2, sent_at = ?3, lease_until = NULL, last_error = NULL
                 WHERE id = ?1",
            )?
            .execute(params![id, d.attempt, d.at])?,
        DeliveryOutcome::Retry { at } => tx
            .prepare_cached(
                "UPDATE outbox SET attempts = ?2, next_attempt_at = ?3, lease_until = NULL, last_error = ?4
                 WHERE id = ?1",
            )?
            .execute(params![id, d.attempt, at, d.detail])?,
        DeliveryOutcome::Failed => tx
            .prepare_cached(
                "UPDATE outbox SET state = 'failed', attempts = ?2, lease_until = NULL, last_error = ?3
                 WHERE id = ?1",
            )?
            .execute(params![id, d.attempt, d.detail])?,
    };
    // A message erased with its customer while it was being sent leaves no record behind.
    if n > 0 {
        let retry_at = match d.outcome {
            DeliveryOutcome::Retry { at } => Some(at),
            _ => None,
        };
        tx.prepare_cached(
            "INSERT INTO mail_deliveries (message_id, attempt, at, outcome, detail, retry_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            id,
            d.attempt,
            d.at,
            d.outcome.as_str(),
            d.detail,
            retry_at
        ])?;
    }
    Ok(())
}

pub(super) fn customer_mail(c: &Connection, customer: Uuid) -> Result<Vec<OutboxRow>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {OUTBOX_COLS} FROM outbox WHERE customer_id = ?1 ORDER BY created_at DESC, id DESC"
    ))?;
    let rows = stmt.query_map([customer.as_bytes().as_slice()], outbox_from)?;
    rows.map(|r| finish_outbox(r?)).collect()
}

pub(super) fn deliveries(c: &Connection, message: Uuid) -> Result<Vec<Delivery>> {
    let mut stmt = c.prepare_cached(
        "SELECT attempt, at, outcome, detail, retry_at FROM mail_deliveries WHERE message_id = ?1 ORDER BY attempt",
    )?;
    let rows = stmt.query_map([message.as_bytes().as_slice()], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    rows.map(|r| {
        let (attempt, at, outcome, detail, retry_at) = r?;
        Ok(Delivery {
            message_id: message,
            attempt,
            at,
            outcome: DeliveryOutcome::from_parts(&outcome, retry_at)?,
            detail,
        })
    })
    .collect()
}

pub(super) fn find_link(c: &Connection, token_hash: &[u8; 32]) -> Result<Option<MailLink>> {
    let found = c
        .prepare_cached(&format!(
            "SELECT {LINK_COLS} FROM mail_links WHERE token_hash = ?1"
        ))?
        .query_row([token_hash.as_slice()], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Option<Vec<u8>>>(6)?,
                MailLink {
                    token_hash: [0; 32],
                    kind: r.get(1)?,
                    customer_id: Uuid::nil(),
                    purpose: r.get(3)?,
                    notice_version: r.get(4)?,
                    method: r.get(5)?,
                    campaign_id: None,
                    created_at: r.get(7)?,
                    expires_at: r.get(8)?,
                    used_at: r.get(9)?,
                },
            ))
        })
        .optional()?;
    found
        .map(|(hash, customer, campaign, mut link)| {
            link.token_hash = hash32(&hash)?;
            link.customer_id = uuid_from(customer)?;
            link.campaign_id = opt_uuid(campaign)?;
            Ok(link)
        })
        .transpose()
}

#[async_trait]
impl Outbox for SqliteStore {
    async fn claim_mail(&self, now: i64, lease_until: i64, limit: usize) -> Result<Vec<OutboxRow>> {
        self.write(move |tx| claim(tx, now, lease_until, limit))
            .await
    }

    async fn finish_mail(&self, delivery: &Delivery) -> Result<()> {
        let delivery = delivery.clone();
        self.write(move |tx| finish(tx, &delivery)).await
    }

    async fn customer_mail(&self, customer: Uuid) -> Result<Vec<OutboxRow>> {
        self.read(|c| customer_mail(c, customer))
    }

    async fn deliveries(&self, message: Uuid) -> Result<Vec<Delivery>> {
        self.read(|c| deliveries(c, message))
    }

    async fn find_link(&self, token_hash: &[u8; 32]) -> Result<Option<MailLink>> {
        self.read(|c| find_link(c, token_hash))
    }
}
