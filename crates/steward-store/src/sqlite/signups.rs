//! Sign-ups from public forms held until their address is confirmed, in SQLite.

use super::*;

use crate::sql::signups;
use crate::{ChangeSet, SignupRow};

pub(super) fn save(tx: &Transaction, changes: &ChangeSet) -> Result<()> {
    ready(signups::insert(tx, changes))?;
    if let Some(id) = changes.settle_signup {
        ready(signups::settle(tx, id))?;
    }
    Ok(())
}

/// Deletes each sign-up that is still there, with its messages and links.
fn drop(tx: &Transaction, ids: &[Uuid]) -> Result<Vec<Uuid>> {
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
