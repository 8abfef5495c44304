//! Sign-ups from public forms held until their address is confirmed, in SQLite.

use super::*;

use crate::SignupRow;
use crate::sql::{Exec, Sql, args, outbox, signups};

/// One statement a sign-up: SQLite runs each without a round trip.
static DROP: Sql = Sql::new("DELETE FROM signups WHERE id = ?1");

/// Deletes each sign-up that is still there, with its messages and links.
fn drop(tx: &Transaction, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    let mut dropped = Vec::new();
    for id in ids {
        if ready(tx.execute(&DROP, &args![*id]))? > 0 {
            ready(outbox::erase(tx, *id))?;
            dropped.push(*id);
        }
    }
    Ok(dropped)
}

#[async_trait]
impl Signups for SqliteStore {
    async fn signup(&self, id: Uuid) -> Result<Option<SignupRow>> {
        self.read(|c| ready(signups::signup(c, id)))
    }

    async fn expired_signups(&self, now: i64, limit: usize) -> Result<Vec<Uuid>> {
        self.read(|c| ready(signups::expired(c, now, limit)))
    }

    async fn drop_signups(&self, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let ids = ids.to_vec();
        self.write(move |tx| drop(tx, &ids)).await
    }
}
