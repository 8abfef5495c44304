//! Sign-ups from public forms held until their address is confirmed, in PostgreSQL.

use super::*;

use deadpool_postgres::Transaction;
use uuid::Uuid;

use super::exec::query_arrays;
use crate::sql::{Row, Sql, signups};
use crate::{Result, SignupRow};

/// All of them in one statement, taken as one array.
static DROP: Sql = Sql::new("DELETE FROM signups WHERE id = ANY(?1) RETURNING id");

/// Deletes each sign-up that is still there, with its messages and links.
async fn drop(tx: &Transaction<'_>, ids: &[Uuid]) -> Result<Vec<Uuid>> {
    let rows = query_arrays(tx, &DROP, &[&ids]).await?;
    let mut dropped = rows
        .iter()
        .map(|r| r.id(0))
        .collect::<Result<Vec<Uuid>>>()?;
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
