//! Leases on jobs that one instance at a time should run.

use super::{Exec, Sql, args};
use crate::Result;

/// Taken when no one holds it, when it has expired, or when the taker holds it already; the
/// `WHERE` of the upsert leaves a live lease of another holder as it is, and then no row
/// comes back.
static TAKE: Sql = Sql::new(
    "INSERT INTO job_leases (job, holder, expires_at, fence) VALUES (?1, ?2, ?4, 1)
     ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
       fence = job_leases.fence + 1
     WHERE job_leases.expires_at <= ?3 OR job_leases.holder = excluded.holder
     RETURNING fence",
);
/// Only the take that made the fence may renew: a holder whose lease was taken over, even by
/// itself in a later take, finds no row.
static RENEW: Sql =
    Sql::new("UPDATE job_leases SET expires_at = ?4 WHERE job = ?1 AND holder = ?2 AND fence = ?3");
static RELEASE: Sql =
    Sql::new("UPDATE job_leases SET expires_at = 0 WHERE job = ?1 AND holder = ?2 AND fence = ?3");

pub(crate) async fn take(
    e: &impl Exec,
    job: &str,
    holder: &str,
    now: i64,
    until: i64,
) -> Result<Option<i64>> {
    e.query_opt(&TAKE, &args![job, holder, now, until], |r| r.int(0))
        .await
}

pub(crate) async fn renew(
    e: &impl Exec,
    job: &str,
    holder: &str,
    fence: i64,
    until: i64,
) -> Result<bool> {
    Ok(e.execute(&RENEW, &args![job, holder, fence, until]).await? == 1)
}

pub(crate) async fn release(e: &impl Exec, job: &str, holder: &str, fence: i64) -> Result<bool> {
    Ok(e.execute(&RELEASE, &args![job, holder, fence]).await? == 1)
}
