//! Customers: what both engines read and write alike. Their rows, tags and index entries
//! stay each engine's own (tags are gathered and written differently, and SQLite writes
//! index entries in key order).

use uuid::Uuid;

use super::{Exec, Sql, args, outbox, portal};
use crate::{ImportJob, Result};

static COUNT: Sql = Sql::new("SELECT count(*) FROM customers");
static TOMBSTONED: Sql = Sql::new("SELECT 1 FROM tombstones WHERE customer_id = ?1");
static SAVE_JOB: Sql = Sql::new(
    "INSERT INTO import_jobs (fingerprint, byte_offset, line, imported, rejected, reject_len, finished, updated_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT (fingerprint) DO UPDATE SET byte_offset = excluded.byte_offset, line = excluded.line,
       imported = excluded.imported, rejected = excluded.rejected, reject_len = excluded.reject_len,
       finished = excluded.finished, updated_at = excluded.updated_at",
);
static JOB: Sql = Sql::new(
    "SELECT byte_offset, line, imported, rejected, reject_len, finished, updated_at
     FROM import_jobs WHERE fingerprint = ?1",
);

static ERASE_INTERACTIONS: Sql = Sql::new("DELETE FROM interactions WHERE customer_id = ?1");
static ERASE_TAGS: Sql = Sql::new("DELETE FROM customer_tags WHERE customer_id = ?1");
static ERASE_CURRENT_CONSENTS: Sql = Sql::new("DELETE FROM consent_current WHERE customer_id = ?1");
static ERASE_CONSENT_EVENTS: Sql = Sql::new("DELETE FROM consent_events WHERE customer_id = ?1");
static ERASE_CUSTOMER: Sql = Sql::new("DELETE FROM customers WHERE id = ?1");
static TOMBSTONE: Sql = Sql::new(
    "INSERT INTO tombstones (customer_id, erased_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
);

/// Deletes a customer's rows, children first and explicitly, so erasure never depends on
/// foreign keys, and leaves a tombstone. Their index entries and idempotency keys are the
/// caller's: each engine finds and scrubs those its own way.
pub(crate) async fn erase_rows(x: &impl Exec, id: Uuid, at: i64) -> Result<()> {
    for sql in [
        &ERASE_INTERACTIONS,
        &ERASE_TAGS,
        &ERASE_CURRENT_CONSENTS,
        &ERASE_CONSENT_EVENTS,
    ] {
        x.execute(sql, &args![id]).await?;
    }
    outbox::erase(x, id).await?;
    portal::erase(x, id).await?;
    x.execute(&ERASE_CUSTOMER, &args![id]).await?;
    x.execute(&TOMBSTONE, &args![id, at]).await?;
    Ok(())
}

pub(crate) async fn count(x: &impl Exec) -> Result<u64> {
    let n = x.query_opt(&COUNT, &[], |r| r.int(0)).await?;
    Ok(n.unwrap_or(0) as u64)
}

pub(crate) async fn is_tombstoned(x: &impl Exec, id: Uuid) -> Result<bool> {
    Ok(x.query_opt(&TOMBSTONED, &args![id], |_| Ok(()))
        .await?
        .is_some())
}

/// Adds or updates an import's progress.
pub(crate) async fn save_job(x: &impl Exec, j: &ImportJob) -> Result<()> {
    let args = args![
        &j.fingerprint,
        j.byte_offset as i64,
        j.line as i64,
        j.imported as i64,
        j.rejected as i64,
        j.reject_len as i64,
        j.finished,
        j.updated_at
    ];
    x.execute(&SAVE_JOB, &args).await?;
    Ok(())
}

pub(crate) async fn import_job(x: &impl Exec, fingerprint: &str) -> Result<Option<ImportJob>> {
    x.query_opt(&JOB, &args![fingerprint], |r| {
        Ok(ImportJob {
            fingerprint: fingerprint.to_string(),
            byte_offset: r.int(0)? as u64,
            line: r.int(1)? as u64,
            imported: r.int(2)? as u64,
            rejected: r.int(3)? as u64,
            reject_len: r.int(4)? as u64,
            finished: r.bool(5)?,
            updated_at: r.int(6)?,
        })
    })
    .await
}
