//! The outbox, delivery records and emailed links, in PostgreSQL.

use super::*;

use deadpool_postgres::{Object, Transaction};
use uuid::Uuid;

use crate::records::hash32;
use crate::{
    ChangeSet, Delivery, DeliveryOutcome, MailLink, OutboxRow, Result, SpentLink, StoreError,
};

const OUTBOX_COLS: &str = "id, customer_id, kind, campaign_id, sealed, state, attempts, next_attempt_at, created_at, sent_at, last_error";
const LINK_COLS: &str = "token_hash, kind, customer_id, purpose, notice_version, method, campaign_id, created_at, expires_at, used_at";

fn outbox_from(r: &tokio_postgres::Row) -> OutboxRow {
    OutboxRow {
        id: r.get(0),
        customer_id: r.get(1),
        kind: r.get(2),
        campaign_id: r.get(3),
        sealed: r.get(4),
        state: r.get(5),
        attempts: r.get(6),
        next_attempt_at: r.get(7),
        created_at: r.get(8),
        sent_at: r.get(9),
        last_error: r.get(10),
    }
}

/// Spends the change's link first: if it cannot be spent, nothing else happens.
pub(super) async fn spend_link(tx: &Transaction<'_>, spent: &SpentLink) -> Result<()> {
    let n = tx
        .execute(
            "UPDATE mail_links SET used_at = $2
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            &[&spent.token_hash.as_slice(), &spent.at],
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub(super) async fn save(tx: &Transaction<'_>, changes: &ChangeSet) -> Result<()> {
    if !changes.mail.is_empty() {
        let ins = tx
            .prepare_cached(&format!(
                "INSERT INTO outbox ({OUTBOX_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
            ))
            .await?;
        for m in &changes.mail {
            tx.execute(
                &ins,
                &[
                    &m.id,
                    &m.customer_id,
                    &m.kind,
                    &m.campaign_id,
                    &m.sealed,
                    &m.state,
                    &m.attempts,
                    &m.next_attempt_at,
                    &m.created_at,
                    &m.sent_at,
                    &m.last_error,
                ],
            )
            .await
            // One campaign message per customer: a second send of a campaign collides here.
            .map_err(|e| super::map_unique(e, "campaign"))?;
        }
    }
    if !changes.links.is_empty() {
        let ins = tx
            .prepare_cached(&format!(
                "INSERT INTO mail_links ({LINK_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .await?;
        for l in &changes.links {
            tx.execute(
                &ins,
                &[
                    &l.token_hash.as_slice(),
                    &l.kind,
                    &l.customer_id,
                    &l.purpose,
                    &l.notice_version,
                    &l.method,
                    &l.campaign_id,
                    &l.created_at,
                    &l.expires_at,
                    &l.used_at,
                ],
            )
            .await?;
        }
    }
    Ok(())
}

pub(super) async fn erase(tx: &Transaction<'_>, customer: &Uuid) -> Result<()> {
    erase_messages(tx, customer).await?;
    tx.execute("DELETE FROM mail_links WHERE customer_id = $1", &[customer])
        .await?;
    Ok(())
}

/// The messages to a customer (or sign-up) and the records of their delivery.
pub(super) async fn erase_messages(tx: &Transaction<'_>, customer: &Uuid) -> Result<()> {
    tx.execute(
        "DELETE FROM mail_deliveries WHERE message_id IN (SELECT id FROM outbox WHERE customer_id = $1)",
        &[customer],
    )
    .await?;
    tx.execute("DELETE FROM outbox WHERE customer_id = $1", &[customer])
        .await?;
    Ok(())
}

/// Rows locked by another instance's claim are skipped, not waited for.
pub(super) async fn claim(
    client: &Object,
    now: i64,
    lease_until: i64,
    limit: usize,
) -> Result<Vec<OutboxRow>> {
    let rows = client
        .query(
            &format!(
                "UPDATE outbox SET lease_until = $2 WHERE id IN (
                   SELECT id FROM outbox
                   WHERE state = 'pending' AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
                   ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
                 RETURNING {OUTBOX_COLS}"
            ),
            &[&now, &lease_until, &(limit as i64)],
        )
        .await?;
    let mut claimed: Vec<OutboxRow> = rows.iter().map(outbox_from).collect();
    // RETURNING keeps no order.
    claimed.sort_by_key(|m| (m.next_attempt_at, m.id));
    Ok(claimed)
}

pub(super) async fn finish(tx: &Transaction<'_>, d: &Delivery) -> Result<()> {
    let n = match &d.outcome {
        DeliveryOutcome::Sent => {
            tx.execute(
                "UPDATE outbox SET state = 'sent', attempts = $2, sent_at = $3, lease_until = NULL, last_error = NULL
                 WHERE id = $1",
                &[&d.message_id, &d.attempt, &d.at],
            )
            .await?
        }
        DeliveryOutcome::Retry { at } => {
            tx.execute(
                "UPDATE outbox SET attempts = $2, next_attempt_at = $3, lease_until = NULL, last_error = $4
                 WHERE id = $1",
                &[&d.message_id, &d.attempt, at, &d.detail],
            )
            .await?
        }
        DeliveryOutcome::Failed => {
            tx.execute(
                "UPDATE outbox SET state = 'failed', attempts = $2, lease_until = NULL, last_error = $3
                 WHERE id = $1",
                &[&d.message_id, &d.attempt, &d.detail],
            )
            .await?
        }
    };
    // A message erased with its customer while it was being sent leaves no record behind.
    if n > 0 {
        let retry_at = match d.outcome {
            DeliveryOutcome::Retry { at } => Some(at),
            _ => None,
        };
        tx.execute(
            "INSERT INTO mail_deliveries (message_id, attempt, at, outcome, detail, retry_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &d.message_id,
                &d.attempt,
                &d.at,
                &d.outcome.as_str(),
                &d.detail,
                &retry_at,
            ],
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn customer_mail(client: &Object, customer: Uuid) -> Result<Vec<OutboxRow>> {
    let rows = client
        .query(
            &format!(
                "SELECT {OUTBOX_COLS} FROM outbox WHERE customer_id = $1 ORDER BY created_at DESC, id DESC"
            ),
            &[&customer],
        )
        .await?;
    Ok(rows.iter().map(outbox_from).collect())
}

pub(super) async fn deliveries(client: &Object, message: Uuid) -> Result<Vec<Delivery>> {
    let rows = client
        .query(
            "SELECT attempt, at, outcome, detail, retry_at FROM mail_deliveries
             WHERE message_id = $1 ORDER BY attempt",
            &[&message],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Delivery {
                message_id: message,
                attempt: r.get(0),
                at: r.get(1),
                outcome: DeliveryOutcome::from_parts(r.get(2), r.get(4))?,
                detail: r.get(3),
            })
        })
        .collect()
}

pub(super) async fn find_link(client: &Object, token_hash: &[u8; 32]) -> Result<Option<MailLink>> {
    let row = client
        .query_opt(
            &format!("SELECT {LINK_COLS} FROM mail_links WHERE token_hash = $1"),
            &[&token_hash.as_slice()],
        )
        .await?;
    row.map(|r| {
        Ok(MailLink {
            token_hash: hash32(r.get(0))?,
            kind: r.get(1),
            customer_id: r.get(2),
            purpose: r.get(3),
            notice_version: r.get(4),
            method: r.get(5),
            campaign_id: r.get(6),
            created_at: r.get(7),
            expires_at: r.get(8),
            used_at: r.get(9),
        })
    })
    .transpose()
}

#[async_trait]
impl Outbox for PostgresStore {
    async fn claim_mail(&self, now: i64, lease_until: i64, limit: usize) -> Result<Vec<OutboxRow>> {
        let client = self.pool.get().await?;
        claim(&client, now, lease_until, limit).await
    }

    async fn finish_mail(&self, delivery: &Delivery) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        finish(&tx, delivery).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn customer_mail(&self, customer: Uuid) -> Result<Vec<OutboxRow>> {
        let client = self.pool.get().await?;
        customer_mail(&client, customer).await
    }

    async fn deliveries(&self, message: Uuid) -> Result<Vec<Delivery>> {
        let client = self.pool.get().await?;
        deliveries(&client, message).await
    }

    async fn find_link(&self, token_hash: &[u8; 32]) -> Result<Option<MailLink>> {
        let client = self.pool.get().await?;
        find_link(&client, token_hash).await
    }
}
