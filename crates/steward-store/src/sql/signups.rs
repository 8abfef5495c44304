//! Sign-ups from public forms, held until their address is confirmed.

use uuid::Uuid;

use super::{Exec, Lock, Sql, WriteTx, args, outbox};
use crate::{ChangeSet, Result, SignupRow};

static INSERT: Sql = Sql::new(
    "INSERT INTO signups (id, form, created_at, expires_at, sealed) VALUES (?1, ?2, ?3, ?4, ?5)",
);
static SETTLE: Sql = Sql::new(
    "DELETE FROM signups WHERE id = ?1
     AND NOT EXISTS (SELECT 1 FROM mail_links WHERE customer_id = ?1 AND used_at IS NULL)",
);
static SIGNUP: Sql =
    Sql::new("SELECT form, created_at, expires_at, sealed FROM signups WHERE id = ?1");
static EXPIRED: Sql =
    Sql::new("SELECT id FROM signups WHERE expires_at <= ?1 ORDER BY expires_at, id LIMIT ?2");

/// Holds a change's new sign-ups, and settles the one whose link it spent: the sign-up goes
/// once none of its links is left to follow. Runs after the change's own link was spent, so
/// following the last link settles it.
pub(crate) async fn save(x: &impl WriteTx, changes: &ChangeSet) -> Result<()> {
    for s in &changes.signups {
        let args = args![s.id, &s.form, s.created_at, s.expires_at, &s.sealed];
        x.execute(&INSERT, &args).await?;
    }
    let Some(id) = changes.settle_signup else {
        return Ok(());
    };
    x.lock(Lock::Signup(id)).await?;
    if x.execute(&SETTLE, &args![id]).await? > 0 {
        // Sealed under the sign-up's key, which goes with it. The spent links stay, so
        // that following one again is told it was used.
        outbox::erase_messages(x, id).await?;
    }
    Ok(())
}

pub(crate) async fn signup(x: &impl Exec, id: Uuid) -> Result<Option<SignupRow>> {
    x.query_opt(&SIGNUP, &args![id], |r| {
        Ok(SignupRow {
            id,
            form: r.text(0)?,
            created_at: r.int(1)?,
            expires_at: r.int(2)?,
            sealed: r.bytes(3)?,
        })
    })
    .await
}

pub(crate) async fn expired(x: &impl Exec, now: i64, limit: usize) -> Result<Vec<Uuid>> {
    x.query(&EXPIRED, &args![now, limit as i64], |r| r.id(0))
        .await
}
