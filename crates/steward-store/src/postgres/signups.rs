//! Sign-ups from public forms held until their address is confirmed, in PostgreSQL.

use super::*;

use deadpool_postgres::Transaction;
use uuid::Uuid;

use crate::sql::signups;
use crate::{Result, SignupRow};

/// Deletes each sign-up that is still there, with its messages and links.
pub(super) async fn drop(tx: &Transaction<'_>, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    let rows = tx
        .query(
            "DELETE FROM signups WHERE id = ANY($1) RETURNING id",
            &[&ids],
        )
        .await?;
    let mut dropped: Vec<Uuid> = rows.iter().map(|r| r.get(0)).collect();
    dropped.sort();
    for id in &dropped {
        crate::sql::outbox::erase(tx, *id).await?;
    }
    Ok(dropped)
}

#[async_trait]
impl Signups for PostgresStore {
    async fn signup(&self, id: Uuid) -> Result<Option<SignupRow>> {
        signups::signup(&self.pool.get().await?, id).await
    }

    async fn expired_signups(&self, now: i64, limit: usize) -> Result<Vec<Uuid>> {
        signups::expired(&self.pool.get().await?, now, limit).await
    }

    async fn drop_signups(&self, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let dropped = drop(&tx, ids).await?;
        tx.commit().await?;
        Ok(dropped)
    }
}
