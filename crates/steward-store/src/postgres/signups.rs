//! Sign-ups from public forms held until their address is confirmed, in PostgreSQL.

use super::*;

use deadpool_postgres::{Object, Transaction};
use uuid::Uuid;

use super::mail;
use crate::{ChangeSet, Result, SignupRow};

pub(super) async fn save(tx: &Transaction<'_>, changes: &ChangeSet) -> Result<()> {
    for s in &changes.signups {
        tx.execute(
            "INSERT INTO signups (id, form, created_at, expires_at, sealed) VALUES ($1, $2, $3, $4, $5)",
            &[&s.id, &s.form, &s.created_at, &s.expires_at, &s.sealed],
        )
        .await?;
    }
    if let Some(id) = &changes.settle_signup {
        // Links of one sign-up followed at once each wait here for the other: the last to
        // take the row sees every other link spent, and settles it.
        tx.execute("SELECT 1 FROM signups WHERE id = $1 FOR UPDATE", &[id])
            .await?;
        let settled = tx
            .execute(
                "DELETE FROM signups WHERE id = $1
                 AND NOT EXISTS (SELECT 1 FROM mail_links WHERE customer_id = $1 AND used_at IS NULL)",
                &[id],
            )
            .await?;
        if settled > 0 {
            // Sealed under the sign-up's key, which goes with it. The spent links stay, so
            // that following one again is told it was used.
            mail::erase_messages(tx, id).await?;
        }
    }
    Ok(())
}

pub(super) async fn signup(client: &Object, id: Uuid) -> Result<Option<SignupRow>> {
    let row = client
        .query_opt(
            "SELECT form, created_at, expires_at, sealed FROM signups WHERE id = $1",
            &[&id],
        )
        .await?;
    Ok(row.map(|r| SignupRow {
        id,
        form: r.get(0),
        created_at: r.get(1),
        expires_at: r.get(2),
        sealed: r.get(3),
    }))
}

pub(super) async fn expired(client: &Object, now: i64, limit: usize) -> Result<Vec<Uuid>> {
    let rows = client
        .query(
            "SELECT id FROM signups WHERE expires_at <= $1 ORDER BY expires_at, id LIMIT $2",
            &[&now, &(limit as i64)],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

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
        mail::erase(tx, id).await?;
    }
    Ok(dropped)
}

#[async_trait]
impl Signups for PostgresStore {
    async fn signup(&self, id: Uuid) -> Result<Option<SignupRow>> {
        signup(&self.pool.get().await?, id).await
    }

    async fn expired_signups(&self, now: i64, limit: usize) -> Result<Vec<Uuid>> {
        expired(&self.pool.get().await?, now, limit).await
    }

    async fn drop_signups(&self, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let dropped = drop(&tx, ids).await?;
        tx.commit().await?;
        Ok(dropped)
    }
}
