//! Customers: what both engines read and write alike. Their rows, tags and index entries
//! stay each engine's own (tags are gathered and written differently, and SQLite writes
//! index entries in key order).

use uuid::Uuid;

use super::{Exec, Sql, args};
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
