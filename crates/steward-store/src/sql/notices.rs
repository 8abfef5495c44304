//! Versioned privacy notices, drafted then published.

use steward_core::audit::AuditRecord;
use uuid::Uuid;

use super::{Exec, Row, Sql, WriteTx, args};
use crate::{NoticeRow, Result};

macro_rules! notice_cols {
    () => {
        "id, version, language, effective_at, material, body, summaries, created_at, published_at"
    };
}

static INSERT: Sql = Sql::new(concat!(
    "INSERT INTO notices (",
    notice_cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
));
static PUBLISH: Sql =
    Sql::new("UPDATE notices SET published_at = ?2 WHERE id = ?1 AND published_at IS NULL");
static ALL: Sql = Sql::new(concat!(
    "SELECT ",
    notice_cols!(),
    " FROM notices ORDER BY created_at DESC, version DESC"
));

fn notice_from(r: &dyn Row) -> Result<NoticeRow> {
    Ok(NoticeRow {
        id: r.id(0)?,
        version: r.text(1)?,
        language: r.text(2)?,
        effective_at: r.int(3)?,
        material: r.bool(4)?,
        body: r.text(5)?,
        summaries: r.text(6)?,
        created_at: r.int(7)?,
        published_at: r.opt_int(8)?,
    })
}

/// Adds a draft; its version must be new.
pub(crate) async fn create(x: &impl WriteTx, n: &NoticeRow, audit: AuditRecord) -> Result<()> {
    let args = args![
        n.id,
        &n.version,
        &n.language,
        n.effective_at,
        n.material,
        &n.body,
        &n.summaries,
        n.created_at,
        n.published_at
    ];
    x.execute(&INSERT, &args)
        .await
        .map_err(|e| e.duplicate_of("version"))?;
    x.append_audit(vec![audit]).await?;
    Ok(())
}

/// Publishes a draft; false when there is no such draft.
pub(crate) async fn publish(
    x: &impl WriteTx,
    id: Uuid,
    at: i64,
    audit: AuditRecord,
) -> Result<bool> {
    let n = x.execute(&PUBLISH, &args![id, at]).await?;
    if n > 0 {
        x.append_audit(vec![audit]).await?;
    }
    Ok(n > 0)
}

pub(crate) async fn all(x: &impl Exec) -> Result<Vec<NoticeRow>> {
    x.query(&ALL, &[], notice_from).await
}
