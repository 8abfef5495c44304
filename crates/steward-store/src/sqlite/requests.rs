//! Data-subject requests, suppression entries and the records kept for recipients, in SQLite.

use super::*;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};
use uuid::Uuid;

use super::uuid_from;
use crate::records::IndexDigest;
use crate::{ChangeSet, RecipientUpdate, RequestFilter, RequestRow, Result, StoreError};

const COLS: &str =
    "id, kind, channel, state, jurisdiction, customer_id, subject, purpose, received_at,
    acknowledge_by, acknowledged_at, due_at, verified_at, closed_at, extension_reason,
    denial_reason, updated_at, proposal";

fn blob(id: &Uuid) -> &[u8] {
    id.as_bytes().as_slice()
}

pub(super) fn save(tx: &Transaction, changes: &ChangeSet) -> Result<()> {
    if !changes.requests.is_empty() {
        let mut ins = tx.prepare_cached(&format!(
            "INSERT INTO requests ({COLS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
        ))?;
        for r in &changes.requests {
            ins.execute(params![
                blob(&r.id),
                r.kind,
                r.channel,
                r.state,
                r.jurisdiction,
                r.customer_id.as_ref().map(blob),
                r.subject,
                r.purpose,
                r.received_at,
                r.acknowledge_by,
                r.acknowledged_at,
                r.due_at,
                r.verified_at,
                r.closed_at,
                r.extension_reason,
                r.denial_reason,
                r.updated_at,
                r.proposal
            ])?;
        }
    }
    for m in &changes.request_moves {
        let r = &m.row;
        let moved = tx
            .prepare_cached(
                "UPDATE requests SET state = ?2, customer_id = ?3, acknowledged_at = ?4,
                        due_at = ?5, verified_at = ?6, closed_at = ?7, extension_reason = ?8,
                        denial_reason = ?9, updated_at = ?10, proposal = ?12
                 WHERE id = ?1 AND state = ?11",
            )?
            .execute(params![
                blob(&r.id),
                r.state,
                r.customer_id.as_ref().map(blob),
                r.acknowledged_at,
                r.due_at,
                r.verified_at,
                r.closed_at,
                r.extension_reason,
                r.denial_reason,
                r.updated_at,
                m.from,
                r.proposal
            ])?;
        if moved == 0 {
            return Err(StoreError::Conflict);
        }
    }
    if !changes.recipient_updates.is_empty() {
        let mut ins = tx.prepare_cached(
            "INSERT INTO recipient_updates (id, customer_id, kind, fields, at, notified_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for u in &changes.recipient_updates {
            ins.execute(params![
                blob(&u.id),
                blob(&u.customer_id),
                u.kind,
                u.fields.join(","),
                u.at,
                u.notified_at
            ])?;
        }
    }
    for digest in &changes.unsuppress {
        tx.prepare_cached("DELETE FROM suppressions WHERE digest = ?1")?
            .execute([digest.as_slice()])?;
    }
    Ok(())
}

/// At erasure: the address is suppressed, and the person's requests keep only the pseudonym.
pub(super) fn erase(
    tx: &Transaction,
    customer: &[u8],
    suppress: Option<&IndexDigest>,
    at: i64,
) -> Result<()> {
    if let Some(digest) = suppress {
        tx.prepare_cached(
            "INSERT INTO suppressions (digest, created_at) VALUES (?1, ?2)
             ON CONFLICT (digest) DO NOTHING",
        )?
        .execute(params![digest.as_slice(), at])?;
    }
    tx.prepare_cached(
        "UPDATE requests SET customer_id = NULL, proposal = NULL WHERE customer_id = ?1",
    )?
    .execute([customer])?;
    Ok(())
}

/// Keeps an erasure for the recipients of the customer's data (Art. 19).
pub(super) fn record_erasure(tx: &Transaction, customer: Uuid, at: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO recipient_updates (id, customer_id, kind, fields, at, notified_at)
         VALUES (?1, ?2, 'erasure', '', ?3, NULL)",
    )?
    .execute(params![blob(&Uuid::now_v7()), blob(&customer), at])?;
    Ok(())
}

fn request_from(r: &rusqlite::Row) -> rusqlite::Result<(Vec<u8>, Option<Vec<u8>>, RequestRow)> {
    Ok((
        r.get(0)?,
        r.get(5)?,
        RequestRow {
            id: Uuid::nil(),
            kind: r.get(1)?,
            channel: r.get(2)?,
            state: r.get(3)?,
            jurisdiction: r.get(4)?,
            customer_id: None,
            subject: r.get(6)?,
            purpose: r.get(7)?,
            received_at: r.get(8)?,
            acknowledge_by: r.get(9)?,
            acknowledged_at: r.get(10)?,
            due_at: r.get(11)?,
            verified_at: r.get(12)?,
            closed_at: r.get(13)?,
            extension_reason: r.get(14)?,
            denial_reason: r.get(15)?,
            updated_at: r.get(16)?,
            proposal: r.get(17)?,
        },
    ))
}

fn finish((id, customer, mut row): (Vec<u8>, Option<Vec<u8>>, RequestRow)) -> Result<RequestRow> {
    row.id = uuid_from(id)?;
    row.customer_id = customer.map(uuid_from).transpose()?;
    Ok(row)
}

pub(super) fn request(c: &Connection, id: Uuid) -> Result<Option<RequestRow>> {
    c.prepare_cached(&format!("SELECT {COLS} FROM requests WHERE id = ?1"))?
        .query_row([blob(&id)], request_from)
        .optional()?
        .map(finish)
        .transpose()
}

pub(super) fn requests(c: &Connection, f: &RequestFilter) -> Result<Vec<RequestRow>> {
    let mut sql = format!("SELECT {COLS} FROM requests WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    if f.open_only {
        sql.push_str(" AND state NOT IN ('completed', 'denied')");
    }
    if let Some(due) = f.due_before {
        args.push(Value::Integer(due));
        sql.push_str(&format!(" AND due_at < ?{}", args.len()));
    }
    if let Some(since) = f.received_since {
        args.push(Value::Integer(since));
        sql.push_str(&format!(" AND received_at >= ?{}", args.len()));
    }
    if let Some(customer) = f.customer {
        args.push(Value::Blob(blob(&customer).to_vec()));
        sql.push_str(&format!(" AND customer_id = ?{}", args.len()));
    }
    if let Some(subject) = &f.subject {
        args.push(Value::Blob(subject.clone()));
        sql.push_str(&format!(" AND subject = ?{}", args.len()));
    }
    sql.push_str(if f.open_only {
        " ORDER BY due_at, id"
    } else {
        " ORDER BY received_at DESC, id DESC"
    });
    args.push(Value::Integer(i64::try_from(f.limit).unwrap_or(i64::MAX)));
    sql.push_str(&format!(" LIMIT ?{}", args.len()));
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), request_from)?;
    rows.map(|r| finish(r?)).collect()
}

pub(super) fn suppressed(c: &Connection, digests: &[IndexDigest]) -> Result<Vec<IndexDigest>> {
    // One read transaction for the whole list, not one per lookup.
    let tx = c.unchecked_transaction()?;
    let mut stmt = tx.prepare_cached("SELECT 1 FROM suppressions WHERE digest = ?1")?;
    let mut out = Vec::new();
    for d in digests {
        if stmt.exists([d.as_slice()])? {
            out.push(*d);
        }
    }
    Ok(out)
}

pub(super) fn recipient_updates(c: &Connection, customer: Uuid) -> Result<Vec<RecipientUpdate>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, kind, fields, at, notified_at FROM recipient_updates
         WHERE customer_id = ?1 ORDER BY at, id",
    )?;
    let rows = stmt.query_map([blob(&customer)], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    rows.map(|r| {
        let (id, kind, fields, at, notified_at) = r?;
        Ok(RecipientUpdate {
            id: uuid_from(id)?,
            customer_id: customer,
            kind,
            fields: fields
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect(),
            at,
            notified_at,
        })
    })
    .collect()
}

#[async_trait]
impl RequestDesk for SqliteStore {
    async fn request(&self, id: Uuid) -> Result<Option<RequestRow>> {
        self.read(|c| request(c, id))
    }

    async fn requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRow>> {
        self.read(|c| requests(c, filter))
    }

    async fn suppressed(&self, digests: &[IndexDigest]) -> Result<Vec<IndexDigest>> {
        self.read(|c| suppressed(c, digests))
    }

    async fn recipient_updates(&self, customer: Uuid) -> Result<Vec<RecipientUpdate>> {
        self.read(|c| recipient_updates(c, customer))
    }
}
