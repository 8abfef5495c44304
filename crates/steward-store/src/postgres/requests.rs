//! Data-subject requests, suppression entries and the records kept for recipients, in
//! PostgreSQL.

use super::*;

use deadpool_postgres::{Object, Transaction};
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::records::IndexDigest;
use crate::{ChangeSet, RecipientUpdate, RequestFilter, RequestRow, Result, StoreError};

const COLS: &str =
    "id, kind, channel, state, jurisdiction, customer_id, subject, purpose, received_at,
    acknowledge_by, acknowledged_at, due_at, verified_at, closed_at, extension_reason,
    denial_reason, updated_at, proposal";

pub(super) async fn save(tx: &Transaction<'_>, changes: &ChangeSet) -> Result<()> {
    if !changes.requests.is_empty() {
        let ins = tx
            .prepare_cached(&format!(
                "INSERT INTO requests ({COLS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
            ))
            .await?;
        for r in &changes.requests {
            tx.execute(
                &ins,
                &[
                    &r.id,
                    &r.kind,
                    &r.channel,
                    &r.state,
                    &r.jurisdiction,
                    &r.customer_id,
                    &r.subject,
                    &r.purpose,
                    &r.received_at,
                    &r.acknowledge_by,
                    &r.acknowledged_at,
                    &r.due_at,
                    &r.verified_at,
                    &r.closed_at,
                    &r.extension_reason,
                    &r.denial_reason,
                    &r.updated_at,
                    &r.proposal,
                ],
            )
            .await?;
        }
    }
    for m in &changes.request_moves {
        let r = &m.row;
        let moved = tx
            .execute(
                "UPDATE requests SET state = $2, customer_id = $3, acknowledged_at = $4,
                        due_at = $5, verified_at = $6, closed_at = $7, extension_reason = $8,
                        denial_reason = $9, updated_at = $10, proposal = $12
                 WHERE id = $1 AND state = $11",
                &[
                    &r.id,
                    &r.state,
                    &r.customer_id,
                    &r.acknowledged_at,
                    &r.due_at,
                    &r.verified_at,
                    &r.closed_at,
                    &r.extension_reason,
                    &r.denial_reason,
                    &r.updated_at,
                    &m.from,
                    &r.proposal,
                ],
            )
            .await?;
        if moved == 0 {
            return Err(StoreError::Conflict);
        }
    }
    for u in &changes.recipient_updates {
        tx.execute(
            "INSERT INTO recipient_updates (id, customer_id, kind, fields, at, notified_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &u.id,
                &u.customer_id,
                &u.kind,
                &u.fields.join(","),
                &u.at,
                &u.notified_at,
            ],
        )
        .await?;
    }
    for digest in &changes.unsuppress {
        tx.execute(
            "DELETE FROM suppressions WHERE digest = $1",
            &[&digest.as_slice()],
        )
        .await?;
    }
    Ok(())
}

/// At erasure: the address is suppressed, and the person's requests keep only the pseudonym.
pub(super) async fn erase(
    tx: &Transaction<'_>,
    customer: &Uuid,
    suppress: Option<&IndexDigest>,
    at: i64,
) -> Result<()> {
    if let Some(digest) = suppress {
        tx.execute(
            "INSERT INTO suppressions (digest, created_at) VALUES ($1, $2)
             ON CONFLICT (digest) DO NOTHING",
            &[&digest.as_slice(), &at],
        )
        .await?;
    }
    tx.execute(
        "UPDATE requests SET customer_id = NULL, proposal = NULL WHERE customer_id = $1",
        &[customer],
    )
    .await?;
    Ok(())
}

/// Keeps an erasure for the recipients of the customer's data (Art. 19).
pub(super) async fn record_erasure(tx: &Transaction<'_>, customer: Uuid, at: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO recipient_updates (id, customer_id, kind, fields, at, notified_at)
         VALUES ($1, $2, 'erasure', '', $3, NULL)",
        &[&Uuid::now_v7(), &customer, &at],
    )
    .await?;
    Ok(())
}

fn request_from(r: &tokio_postgres::Row) -> RequestRow {
    RequestRow {
        id: r.get(0),
        kind: r.get(1),
        channel: r.get(2),
        state: r.get(3),
        jurisdiction: r.get(4),
        customer_id: r.get(5),
        subject: r.get(6),
        purpose: r.get(7),
        received_at: r.get(8),
        acknowledge_by: r.get(9),
        acknowledged_at: r.get(10),
        due_at: r.get(11),
        verified_at: r.get(12),
        closed_at: r.get(13),
        extension_reason: r.get(14),
        denial_reason: r.get(15),
        updated_at: r.get(16),
        proposal: r.get(17),
    }
}

pub(super) async fn request(client: &Object, id: Uuid) -> Result<Option<RequestRow>> {
    Ok(client
        .query_opt(
            &format!("SELECT {COLS} FROM requests WHERE id = $1"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(request_from))
}

pub(super) async fn requests(client: &Object, f: &RequestFilter) -> Result<Vec<RequestRow>> {
    let mut sql = format!("SELECT {COLS} FROM requests WHERE TRUE");
    let mut args: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    if f.open_only {
        sql.push_str(" AND state NOT IN ('completed', 'denied')");
    }
    if let Some(due) = f.due_before {
        args.push(Box::new(due));
        sql.push_str(&format!(" AND due_at < ${}", args.len()));
    }
    if let Some(since) = f.received_since {
        args.push(Box::new(since));
        sql.push_str(&format!(" AND received_at >= ${}", args.len()));
    }
    if let Some(customer) = f.customer {
        args.push(Box::new(customer));
        sql.push_str(&format!(" AND customer_id = ${}", args.len()));
    }
    if let Some(subject) = &f.subject {
        args.push(Box::new(subject.clone()));
        sql.push_str(&format!(" AND subject = ${}", args.len()));
    }
    sql.push_str(if f.open_only {
        " ORDER BY due_at, id"
    } else {
        " ORDER BY received_at DESC, id DESC"
    });
    args.push(Box::new(i64::try_from(f.limit).unwrap_or(i64::MAX)));
    sql.push_str(&format!(" LIMIT ${}", args.len()));
    let refs: Vec<&(dyn ToSql + Sync)> = args
        .iter()
        .map(|a| a.as_ref() as &(dyn ToSql + Sync))
        .collect();
    Ok(client
        .query(&sql, &refs)
        .await?
        .iter()
        .map(request_from)
        .collect())
}

pub(super) async fn suppressed(
    client: &Object,
    digests: &[IndexDigest],
) -> Result<Vec<IndexDigest>> {
    let wanted: Vec<&[u8]> = digests.iter().map(|d| d.as_slice()).collect();
    let rows = client
        .query(
            "SELECT digest FROM suppressions WHERE digest = ANY($1)",
            &[&wanted],
        )
        .await?;
    Ok(digests
        .iter()
        .filter(|d| rows.iter().any(|r| r.get::<_, &[u8]>(0) == d.as_slice()))
        .copied()
        .collect())
}

pub(super) async fn recipient_updates(
    client: &Object,
    customer: Uuid,
) -> Result<Vec<RecipientUpdate>> {
    let rows = client
        .query(
            "SELECT id, kind, fields, at, notified_at FROM recipient_updates
             WHERE customer_id = $1 ORDER BY at, id",
            &[&customer],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| RecipientUpdate {
            id: r.get(0),
            customer_id: customer,
            kind: r.get(1),
            fields: r
                .get::<_, String>(2)
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect(),
            at: r.get(3),
            notified_at: r.get(4),
        })
        .collect())
}

#[async_trait]
impl RequestDesk for PostgresStore {
    async fn request(&self, id: Uuid) -> Result<Option<RequestRow>> {
        request(&self.pool.get().await?, id).await
    }

    async fn requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRow>> {
        requests(&self.pool.get().await?, filter).await
    }

    async fn suppressed(&self, digests: &[IndexDigest]) -> Result<Vec<IndexDigest>> {
        suppressed(&self.pool.get().await?, digests).await
    }

    async fn recipient_updates(&self, customer: Uuid) -> Result<Vec<RecipientUpdate>> {
        recipient_updates(&self.pool.get().await?, customer).await
    }
}
