//! Sign-ups from public forms held until their address is confirmed, in SQLite.

use super::*;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::{mail, uuid_from};
use crate::{ChangeSet, Result, SignupRow};

pub(super) fn save(tx: &Transaction, changes: &ChangeSet) -> Result<()> {
    if !changes.signups.is_empty() {
        let mut ins = tx.prepare_cached(
            "INSERT INTO signups (id, form, created_at, expires_at, sealed) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for s in &changes.signups {
            ins.execute(params![
                s.id.as_bytes().as_slice(),
                s.form,
                s.created_at,
                s.expires_at,
                s.sealed
            ])?;
        }
    }
    if let Some(id) = &changes.settle_signup {
        let id = id.as_bytes().as_slice();
        // After the change's own link was spent, so following the last link settles it.
        let settled = tx
            .prepare_cached(
                "DELETE FROM signups WHERE id = ?1
                 AND NOT EXISTS (SELECT 1 FROM mail_links WHERE customer_id = ?1 AND used_at IS NULL)",
            )?
            .execute([id])?;
        if settled > 0 {
            // Sealed under the sign-up's key, which goes with it. The spent links stay, so
            // that following one again is told it was used.
            mail::erase_messages(tx, id)?;
        }
    }
    Ok(())
}

pub(super) fn signup(c: &Connection, id: Uuid) -> Result<Option<SignupRow>> {
    c.prepare_cached("SELECT form, created_at, expires_at, sealed FROM signups WHERE id = ?1")?
        .query_row([id.as_bytes().as_slice()], |r| {
            Ok(SignupRow {
                id,
                form: r.get(0)?,
                created_at: r.get(1)?,
                expires_at: r.get(2)?,
                sealed: r.get(3)?,
            })
        })
        .optional()
        .map_err(Into::into)
}

pub(super) fn expired(c: &Connection, now: i64, limit: usize) -> Result<Vec<Uuid>> {
    let mut stmt = c.prepare_cached(
        "SELECT id FROM signups WHERE expires_at <= ?1 ORDER BY expires_at, id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit as i64], |r| r.get::<_, Vec<u8>>(0))?;
    rows.map(|r| uuid_from(r?)).collect()
}

/// Deletes each sign-up that is still there, with its messages and links.
pub(super) fn drop(tx: &Transaction, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    let mut dropped = Vec::new();
    for id in ids {
        let key = id.as_bytes().as_slice();
        let n = tx
            .prepare_cached("DELETE FROM signups WHERE id = ?1")?
            .execute([key])?;
        if n > 0 {
            mail::erase(tx, key)?;
            dropped.push(*id);
        }
    }
    Ok(dropped)
}

#[async_trait]
impl Signups for SqliteStore {
    async fn signup(&self, id: Uuid) -> Result<Option<SignupRow>> {
        self.read(|c| signup(c, id))
    }

    async fn expired_signups(&self, now: i64, limit: usize) -> Result<Vec<Uuid>> {
        self.read(|c| expired(c, now, limit))
    }

    async fn drop_signups(&self, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let ids = ids.to_vec();
        self.write(move |tx| drop(tx, &ids)).await
    }
}
