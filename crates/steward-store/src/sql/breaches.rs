//! The breach register.

use steward_core::audit::AuditRecord;
use uuid::Uuid;

use super::{Exec, Row, Sql, WriteTx, args, changes};
use crate::{BreachNoticeRow, BreachPhaseRow, BreachRow, ChangeSet, Result, StoreError};

macro_rules! breach_cols {
    () => {
        "id, breach, checklist, scope, opened_by, version, created_at, updated_at"
    };
}

static INSERT: Sql = Sql::new(concat!(
    "INSERT INTO breaches (",
    breach_cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
));
static UPDATE: Sql = Sql::new(
    "UPDATE breaches SET breach = ?2, checklist = ?3, scope = ?4, version = ?5, updated_at = ?6
     WHERE id = ?1 AND version = ?7",
);
static BREACH: Sql = Sql::new(concat!(
    "SELECT ",
    breach_cols!(),
    " FROM breaches WHERE id = ?1"
));
static BREACHES: Sql = Sql::new(concat!(
    "SELECT ",
    breach_cols!(),
    " FROM breaches ORDER BY created_at DESC, id DESC"
));
static INSERT_PHASE: Sql = Sql::new(
    "INSERT INTO breach_phases (id, breach_id, phase, recorded_by, recorded_at)
     VALUES (?1, ?2, ?3, ?4, ?5)",
);
static PHASES: Sql = Sql::new(
    "SELECT id, breach_id, phase, recorded_by, recorded_at FROM breach_phases
     WHERE breach_id = ?1 ORDER BY recorded_at, id",
);
static CLEAR_AFFECTED: Sql = Sql::new("DELETE FROM breach_affected WHERE breach_id = ?1");
static INSERT_AFFECTED: Sql = Sql::new(
    "INSERT INTO breach_affected (breach_id, customer_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
);
static AFFECTED: Sql =
    Sql::new("SELECT customer_id FROM breach_affected WHERE breach_id = ?1 ORDER BY customer_id");
static COUNTS: Sql = Sql::new(
    "SELECT (SELECT COUNT(*) FROM breach_affected WHERE breach_id = ?1),
            (SELECT COUNT(*) FROM breach_notices WHERE breach_id = ?1)",
);
static ALERTS_SENT: Sql =
    Sql::new("SELECT milestone FROM breach_alerts WHERE breach_id = ?1 ORDER BY milestone");
static INSERT_ALERT: Sql = Sql::new(
    "INSERT INTO breach_alerts (breach_id, milestone, sent_at) VALUES (?1, ?2, ?3)
     ON CONFLICT DO NOTHING",
);
static INSERT_NOTICE: Sql = Sql::new(
    "INSERT INTO breach_notices (breach_id, customer_id, message_id, queued_at)
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
);
static NOTICES_OF_BREACH: Sql = Sql::new(
    "SELECT breach_id, customer_id, message_id, queued_at FROM breach_notices
     WHERE breach_id = ?1 ORDER BY customer_id",
);
static NOTICES_OF_CUSTOMER: Sql = Sql::new(
    "SELECT breach_id, customer_id, message_id, queued_at FROM breach_notices
     WHERE customer_id = ?1 ORDER BY queued_at, breach_id",
);

fn breach_from(r: &dyn Row) -> Result<BreachRow> {
    Ok(BreachRow {
        id: r.id(0)?,
        breach: r.text(1)?,
        checklist: r.text(2)?,
        scope: r.opt_text(3)?,
        opened_by: r.text(4)?,
        version: r.int(5)?,
        created_at: r.int(6)?,
        updated_at: r.int(7)?,
    })
}

fn phase_from(r: &dyn Row) -> Result<BreachPhaseRow> {
    Ok(BreachPhaseRow {
        id: r.id(0)?,
        breach_id: r.id(1)?,
        phase: r.text(2)?,
        recorded_by: r.text(3)?,
        recorded_at: r.int(4)?,
    })
}

fn notice_from(r: &dyn Row) -> Result<BreachNoticeRow> {
    Ok(BreachNoticeRow {
        breach_id: r.id(0)?,
        customer_id: r.id(1)?,
        message_id: r.id(2)?,
        queued_at: r.int(3)?,
    })
}

pub(crate) async fn create(x: &impl WriteTx, b: &BreachRow, audit: AuditRecord) -> Result<()> {
    let args = args![
        b.id,
        &b.breach,
        &b.checklist,
        b.scope.as_deref(),
        &b.opened_by,
        b.version,
        b.created_at,
        b.updated_at
    ];
    x.execute(&INSERT, &args).await?;
    x.append_audit(vec![audit]).await?;
    Ok(())
}

/// Replaces a breach at the version before the row's, and the customers it affected when
/// given; false, with nothing written, when the kept version is another.
pub(crate) async fn update(
    x: &impl WriteTx,
    b: &BreachRow,
    affected: Option<&[Uuid]>,
    audit: AuditRecord,
) -> Result<bool> {
    let args = args![
        b.id,
        &b.breach,
        &b.checklist,
        b.scope.as_deref(),
        b.version,
        b.updated_at,
        b.version.saturating_sub(1)
    ];
    if x.execute(&UPDATE, &args).await? == 0 {
        return Ok(false);
    }
    if let Some(customers) = affected {
        x.execute(&CLEAR_AFFECTED, &args![b.id]).await?;
        for c in customers {
            x.execute(&INSERT_AFFECTED, &args![b.id, *c]).await?;
        }
    }
    x.append_audit(vec![audit]).await?;
    Ok(true)
}

pub(crate) async fn breach(x: &impl Exec, id: Uuid) -> Result<Option<BreachRow>> {
    x.query_opt(&BREACH, &args![id], breach_from).await
}

pub(crate) async fn breaches(x: &impl Exec) -> Result<Vec<BreachRow>> {
    x.query(&BREACHES, &[], breach_from).await
}

pub(crate) async fn add_phase(
    x: &impl WriteTx,
    p: &BreachPhaseRow,
    audit: AuditRecord,
) -> Result<()> {
    let args = args![p.id, p.breach_id, &p.phase, &p.recorded_by, p.recorded_at];
    x.execute(&INSERT_PHASE, &args).await?;
    x.append_audit(vec![audit]).await?;
    Ok(())
}

pub(crate) async fn phases(x: &impl Exec, breach: Uuid) -> Result<Vec<BreachPhaseRow>> {
    x.query(&PHASES, &args![breach], phase_from).await
}

pub(crate) async fn affected(x: &impl Exec, breach: Uuid) -> Result<Vec<Uuid>> {
    x.query(&AFFECTED, &args![breach], |r| r.id(0)).await
}

pub(crate) async fn counts(x: &impl Exec, breach: Uuid) -> Result<(u64, u64)> {
    let found = x
        .query_opt(&COUNTS, &args![breach], |r| Ok((r.int(0)?, r.int(1)?)))
        .await?;
    let (affected, notices) = found.unwrap_or((0, 0));
    Ok((affected.max(0) as u64, notices.max(0) as u64))
}

pub(crate) async fn alerts_sent(x: &impl Exec, breach: Uuid) -> Result<Vec<String>> {
    x.query(&ALERTS_SENT, &args![breach], |r| r.text(0)).await
}

pub(crate) async fn alert(
    x: &impl WriteTx,
    breach: Uuid,
    milestone: &str,
    at: i64,
    with: ChangeSet,
) -> Result<bool> {
    if x.execute(&INSERT_ALERT, &args![breach, milestone, at])
        .await?
        == 0
    {
        return Ok(false);
    }
    changes::apply(x, with).await?;
    Ok(true)
}

/// Queues notices with their messages; a notice already queued for its customer means another
/// writer came first, and nothing of this batch is written.
pub(crate) async fn queue_notices(
    x: &impl WriteTx,
    notices: &[BreachNoticeRow],
    with: ChangeSet,
) -> Result<usize> {
    for n in notices {
        let args = args![n.breach_id, n.customer_id, n.message_id, n.queued_at];
        if x.execute(&INSERT_NOTICE, &args).await? == 0 {
            return Err(StoreError::Conflict);
        }
    }
    changes::apply(x, with).await?;
    Ok(notices.len())
}

pub(crate) async fn notices(
    x: &impl Exec,
    breach: Option<Uuid>,
    customer: Option<Uuid>,
) -> Result<Vec<BreachNoticeRow>> {
    match (breach, customer) {
        (Some(b), _) => x.query(&NOTICES_OF_BREACH, &args![b], notice_from).await,
        (None, Some(c)) => x.query(&NOTICES_OF_CUSTOMER, &args![c], notice_from).await,
        (None, None) => Ok(Vec::new()),
    }
}
