//! Retention rules, legal holds, runs and the records they acted on.

use steward_core::audit::AuditRecord;
use uuid::Uuid;

use super::{Exec, Row, Sql, WriteTx, args};
use crate::{LegalHold, Result, RetentionAction, RetentionRun, StoredRule};

macro_rules! run_cols {
    () => {
        "id, dry_run, state, started_by, started_at, heartbeat_at, finished_at, report"
    };
}

static SEED_RULE: Sql = Sql::new(
    "INSERT INTO retention_rules (key, rule, created_at, updated_at) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT (key) DO NOTHING",
);
static RULES: Sql = Sql::new(
    "SELECT key, rule, created_at, updated_at FROM retention_rules ORDER BY created_at, key",
);
static INSERT_RULE: Sql = Sql::new(
    "INSERT INTO retention_rules (key, rule, created_at, updated_at) VALUES (?1, ?2, ?3, ?4)",
);
static UPDATE_RULE: Sql =
    Sql::new("UPDATE retention_rules SET rule = ?2, updated_at = ?3 WHERE key = ?1");
static HOLDS: Sql = Sql::new(
    "SELECT id, customer_id, category, reason, owner, created_at, ends_at, released_at
     FROM legal_holds ORDER BY created_at, id",
);
static INSERT_HOLD: Sql = Sql::new(
    "INSERT INTO legal_holds (id, customer_id, category, reason, owner, created_at, ends_at, released_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
);
static RELEASE_HOLD: Sql =
    Sql::new("UPDATE legal_holds SET released_at = ?2 WHERE id = ?1 AND released_at IS NULL");
static SAVE_RUN: Sql = Sql::new(concat!(
    "INSERT INTO retention_runs (",
    run_cols!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT (id) DO UPDATE SET state = excluded.state, heartbeat_at = excluded.heartbeat_at,
       finished_at = excluded.finished_at, report = excluded.report"
));
/// A compare-and-set on the heartbeat seen: of the instances that found a run stalled at
/// once, only the first to move its heartbeat carries it on.
static TAKE_OVER_RUN: Sql = Sql::new(
    "UPDATE retention_runs SET heartbeat_at = ?3
     WHERE id = ?1 AND heartbeat_at = ?2 AND state = 'running'",
);
static RUN: Sql = Sql::new(concat!(
    "SELECT ",
    run_cols!(),
    " FROM retention_runs WHERE id = ?1"
));
static RUNS: Sql = Sql::new(concat!(
    "SELECT ",
    run_cols!(),
    " FROM retention_runs ORDER BY started_at DESC, id DESC LIMIT ?1"
));
static COUNTS: Sql = Sql::new(
    "SELECT rule_key, COUNT(*) FROM retention_actions WHERE run_id = ?1 GROUP BY rule_key ORDER BY rule_key",
);
static ACTIONS: Sql = Sql::new(
    "SELECT rule_key, record_id, run_id, customer_id, anchor_at, due_at, done_at
     FROM retention_actions WHERE run_id = ?1 ORDER BY rule_key, record_id",
);

fn run_from(r: &dyn Row) -> Result<RetentionRun> {
    Ok(RetentionRun {
        id: r.id(0)?,
        dry_run: r.bool(1)?,
        state: r.text(2)?,
        started_by: r.text(3)?,
        started_at: r.int(4)?,
        heartbeat_at: r.int(5)?,
        finished_at: r.opt_int(6)?,
        report: r.text(7)?,
    })
}

/// Adds the rules that are not kept yet (by key); kept rules stay as they are.
pub(crate) async fn seed_rules(x: &impl Exec, rules: &[StoredRule]) -> Result<()> {
    for r in rules {
        let args = args![&r.key, &r.rule, r.created_at, r.updated_at];
        x.execute(&SEED_RULE, &args).await?;
    }
    Ok(())
}

pub(crate) async fn rules(x: &impl Exec) -> Result<Vec<StoredRule>> {
    x.query(&RULES, &[], |r| {
        Ok(StoredRule {
            key: r.text(0)?,
            rule: r.text(1)?,
            created_at: r.int(2)?,
            updated_at: r.int(3)?,
        })
    })
    .await
}

pub(crate) async fn create_rule(
    x: &impl WriteTx,
    r: &StoredRule,
    audit: AuditRecord,
) -> Result<()> {
    let args = args![&r.key, &r.rule, r.created_at, r.updated_at];
    x.execute(&INSERT_RULE, &args)
        .await
        .map_err(|e| e.duplicate_of("key"))?;
    x.append_audit(vec![audit]).await?;
    Ok(())
}

/// Replaces a rule; false, with nothing audited, when there is no rule with its key.
pub(crate) async fn update_rule(
    x: &impl WriteTx,
    r: &StoredRule,
    audit: AuditRecord,
) -> Result<bool> {
    if x.execute(&UPDATE_RULE, &args![&r.key, &r.rule, r.updated_at])
        .await?
        == 0
    {
        return Ok(false);
    }
    x.append_audit(vec![audit]).await?;
    Ok(true)
}

pub(crate) async fn holds(x: &impl Exec) -> Result<Vec<LegalHold>> {
    x.query(&HOLDS, &[], |r| {
        Ok(LegalHold {
            id: r.id(0)?,
            customer_id: r.opt_id(1)?,
            category: r.opt_text(2)?,
            reason: r.text(3)?,
            owner: r.text(4)?,
            created_at: r.int(5)?,
            ends_at: r.opt_int(6)?,
            released_at: r.opt_int(7)?,
        })
    })
    .await
}

pub(crate) async fn create_hold(x: &impl WriteTx, h: &LegalHold, audit: AuditRecord) -> Result<()> {
    let args = args![
        h.id,
        h.customer_id,
        h.category.as_ref(),
        &h.reason,
        &h.owner,
        h.created_at,
        h.ends_at,
        h.released_at
    ];
    x.execute(&INSERT_HOLD, &args).await?;
    x.append_audit(vec![audit]).await?;
    Ok(())
}

/// Releases a hold; false, with nothing audited, when there is no such hold or it was
/// released already.
pub(crate) async fn release_hold(
    x: &impl WriteTx,
    id: Uuid,
    at: i64,
    audit: AuditRecord,
) -> Result<bool> {
    if x.execute(&RELEASE_HOLD, &args![id, at]).await? == 0 {
        return Ok(false);
    }
    x.append_audit(vec![audit]).await?;
    Ok(true)
}

/// Adds or updates a run.
pub(crate) async fn save_run(x: &impl Exec, r: &RetentionRun) -> Result<()> {
    let args = args![
        r.id,
        r.dry_run,
        &r.state,
        &r.started_by,
        r.started_at,
        r.heartbeat_at,
        r.finished_at,
        &r.report
    ];
    x.execute(&SAVE_RUN, &args).await?;
    Ok(())
}

pub(crate) async fn take_over_run(x: &impl Exec, id: Uuid, seen: i64, now: i64) -> Result<bool> {
    Ok(x.execute(&TAKE_OVER_RUN, &args![id, seen, now]).await? == 1)
}

pub(crate) async fn run(x: &impl Exec, id: Uuid) -> Result<Option<RetentionRun>> {
    x.query_opt(&RUN, &args![id], run_from).await
}

pub(crate) async fn runs(x: &impl Exec, limit: usize) -> Result<Vec<RetentionRun>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    x.query(&RUNS, &args![limit], run_from).await
}

/// How many records a run acted on, by rule.
pub(crate) async fn counts(x: &impl Exec, run: Uuid) -> Result<Vec<(String, u64)>> {
    x.query(&COUNTS, &args![run], |r| {
        Ok((r.text(0)?, u64::try_from(r.int(1)?).unwrap_or(0)))
    })
    .await
}

pub(crate) async fn actions(x: &impl Exec, run: Uuid) -> Result<Vec<RetentionAction>> {
    x.query(&ACTIONS, &args![run], |r| {
        Ok(RetentionAction {
            rule_key: r.text(0)?,
            record_id: r.id(1)?,
            run_id: r.id(2)?,
            customer_id: r.opt_id(3)?,
            anchor_at: r.int(4)?,
            due_at: r.int(5)?,
            done_at: r.int(6)?,
        })
    })
    .await
}
