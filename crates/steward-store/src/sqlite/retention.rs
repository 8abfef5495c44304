//! Retention rules, legal holds, runs and the records they act on, in SQLite.

use super::*;

use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};
use uuid::Uuid;

use super::{append_audit_tx, erase_rows, requests, sqlite_args, uuid_from};
use crate::retention_sql::{due_sql, swept_audit};
use crate::{
    DueQuery, DueRecord, FoundRecord, LegalHold, Result, RetentionAction, RetentionRun, StoreError,
    StoredRule, SweepBatch,
};

fn blob(id: &Uuid) -> &[u8] {
    id.as_bytes().as_slice()
}

pub(super) fn seed_rules(tx: &Transaction, rules: &[StoredRule]) -> Result<()> {
    let mut ins = tx.prepare_cached(
        "INSERT INTO retention_rules (key, rule, created_at, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (key) DO NOTHING",
    )?;
    for r in rules {
        ins.execute(params![r.key, r.rule, r.created_at, r.updated_at])?;
    }
    Ok(())
}

pub(super) fn rules(c: &Connection) -> Result<Vec<StoredRule>> {
    let mut stmt = c.prepare_cached(
        "SELECT key, rule, created_at, updated_at FROM retention_rules ORDER BY created_at, key",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(StoredRule {
            key: r.get(0)?,
            rule: r.get(1)?,
            created_at: r.get(2)?,
            updated_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn create_rule(tx: &Transaction, r: &StoredRule) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO retention_rules (key, rule, created_at, updated_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![r.key, r.rule, r.created_at, r.updated_at])
    .map_err(|e| super::map_unique(e, "key"))?;
    Ok(())
}

pub(super) fn update_rule(tx: &Transaction, r: &StoredRule) -> Result<bool> {
    Ok(tx
        .prepare_cached("UPDATE retention_rules SET rule = ?2, updated_at = ?3 WHERE key = ?1")?
        .execute(params![r.key, r.rule, r.updated_at])?
        > 0)
}

pub(super) fn holds(c: &Connection) -> Result<Vec<LegalHold>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, customer_id, category, reason, owner, created_at, ends_at, released_at
         FROM legal_holds ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Option<Vec<u8>>>(1)?,
            LegalHold {
                id: Uuid::nil(),
                customer_id: None,
                category: r.get(2)?,
                reason: r.get(3)?,
                owner: r.get(4)?,
                created_at: r.get(5)?,
                ends_at: r.get(6)?,
                released_at: r.get(7)?,
            },
        ))
    })?;
    rows.map(|r| {
        let (id, customer, mut hold) = r?;
        hold.id = uuid_from(id)?;
        hold.customer_id = customer.map(uuid_from).transpose()?;
        Ok(hold)
    })
    .collect()
}

pub(super) fn create_hold(tx: &Transaction, h: &LegalHold) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO legal_holds (id, customer_id, category, reason, owner, created_at, ends_at, released_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        blob(&h.id),
        h.customer_id.as_ref().map(blob),
        h.category,
        h.reason,
        h.owner,
        h.created_at,
        h.ends_at,
        h.released_at
    ])?;
    Ok(())
}

pub(super) fn release_hold(tx: &Transaction, id: Uuid, at: i64) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "UPDATE legal_holds SET released_at = ?2 WHERE id = ?1 AND released_at IS NULL",
        )?
        .execute(params![blob(&id), at])?
        > 0)
}

pub(super) fn save_run(tx: &Transaction, r: &RetentionRun) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO retention_runs (id, dry_run, state, started_by, started_at, heartbeat_at, finished_at, report)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, heartbeat_at = excluded.heartbeat_at,
           finished_at = excluded.finished_at, report = excluded.report",
    )?
    .execute(params![
        blob(&r.id),
        r.dry_run,
        r.state,
        r.started_by,
        r.started_at,
        r.heartbeat_at,
        r.finished_at,
        r.report
    ])?;
    Ok(())
}

const RUN_COLS: &str =
    "id, dry_run, state, started_by, started_at, heartbeat_at, finished_at, report";

fn run_from(r: &rusqlite::Row) -> rusqlite::Result<(Vec<u8>, RetentionRun)> {
    Ok((
        r.get(0)?,
        RetentionRun {
            id: Uuid::nil(),
            dry_run: r.get(1)?,
            state: r.get(2)?,
            started_by: r.get(3)?,
            started_at: r.get(4)?,
            heartbeat_at: r.get(5)?,
            finished_at: r.get(6)?,
            report: r.get(7)?,
        },
    ))
}

fn finish_run((id, mut run): (Vec<u8>, RetentionRun)) -> Result<RetentionRun> {
    run.id = uuid_from(id)?;
    Ok(run)
}

pub(super) fn run(c: &Connection, id: Uuid) -> Result<Option<RetentionRun>> {
    c.prepare_cached(&format!(
        "SELECT {RUN_COLS} FROM retention_runs WHERE id = ?1"
    ))?
    .query_row([blob(&id)], run_from)
    .optional()?
    .map(finish_run)
    .transpose()
}

pub(super) fn runs(c: &Connection, limit: usize) -> Result<Vec<RetentionRun>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {RUN_COLS} FROM retention_runs ORDER BY started_at DESC, id DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], run_from)?;
    rows.map(|r| finish_run(r?)).collect()
}

fn placeholder(n: usize) -> String {
    format!("?{n}")
}

pub(super) fn due(c: &Connection, q: &DueQuery) -> Result<Vec<FoundRecord>> {
    let (sql, args) = due_sql(q, &placeholder)?;
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(sqlite_args(args)), |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Option<Vec<u8>>>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    rows.map(|r| {
        let (id, customer, anchor_at) = r?;
        Ok(FoundRecord {
            record_id: uuid_from(id)?,
            customer_id: customer.map(uuid_from).transpose()?,
            anchor_at,
        })
    })
    .collect()
}

pub(super) fn count_due(c: &Connection, q: &DueQuery) -> Result<u64> {
    let (sql, args) = due_sql(q, &placeholder)?;
    let count: i64 = c
        .prepare_cached(&format!("SELECT COUNT(*) FROM ({sql})"))?
        .query_row(params_from_iter(sqlite_args(args)), |r| r.get(0))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

pub(super) fn sweep(tx: &Transaction, batch: SweepBatch) -> Result<Vec<DueRecord>> {
    let mut done = Vec::with_capacity(batch.records.len());
    for r in &batch.records {
        let key = blob(&r.record_id);
        // The row is the record of the act: a record another run acted on is left alone.
        let first = tx
            .prepare_cached(
                "INSERT INTO retention_actions (rule_key, record_id, run_id, customer_id, anchor_at, due_at, done_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (rule_key, record_id) DO NOTHING",
            )?
            .execute(params![
                batch.rule_key,
                key,
                blob(&batch.run.id),
                r.customer_id.as_ref().map(blob),
                r.anchor_at,
                r.due_at,
                batch.at
            ])?;
        if first == 0 {
            continue;
        }
        let acted = match (batch.record.as_str(), batch.action.as_str()) {
            ("customer", "erase") => {
                let erased = erase_rows(tx, key, batch.at)?;
                if erased {
                    requests::erase(tx, key, None, batch.at)?;
                    requests::record_erasure(tx, r.record_id, batch.at)?;
                }
                erased
            }
            ("interaction", "delete") => {
                tx.prepare_cached("DELETE FROM interactions WHERE id = ?1")?
                    .execute([key])?
                    > 0
            }
            ("interaction", "anonymise") => {
                tx.prepare_cached("UPDATE interactions SET sealed = ?2 WHERE id = ?1")?
                    .execute(params![key, batch.blank])?
                    > 0
            }
            ("request", "delete") => {
                tx.prepare_cached("DELETE FROM requests WHERE id = ?1")?
                    .execute([key])?
                    > 0
            }
            (record, action) => {
                return Err(StoreError::Corrupt(format!(
                    "a {record} rule cannot {action}"
                )));
            }
        };
        // Gone meanwhile by other means (an erasure on request): nothing was done here.
        if !acted {
            tx.prepare_cached(
                "DELETE FROM retention_actions WHERE rule_key = ?1 AND record_id = ?2",
            )?
            .execute(params![batch.rule_key, key])?;
            continue;
        }
        done.push(*r);
    }
    append_audit_tx(tx, swept_audit(batch.audit, &done))?;
    save_run(tx, &batch.run)?;
    Ok(done)
}

pub(super) fn counts(c: &Connection, run: Uuid) -> Result<Vec<(String, u64)>> {
    let mut stmt = c.prepare_cached(
        "SELECT rule_key, COUNT(*) FROM retention_actions WHERE run_id = ?1 GROUP BY rule_key ORDER BY rule_key",
    )?;
    let rows = stmt.query_map([blob(&run)], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    rows.map(|r| {
        let (rule, n) = r?;
        Ok((rule, u64::try_from(n).unwrap_or(0)))
    })
    .collect()
}

pub(super) fn actions(c: &Connection, run: Uuid) -> Result<Vec<RetentionAction>> {
    let mut stmt = c.prepare_cached(
        "SELECT rule_key, record_id, run_id, customer_id, anchor_at, due_at, done_at
         FROM retention_actions WHERE run_id = ?1 ORDER BY rule_key, record_id",
    )?;
    let rows = stmt.query_map([blob(&run)], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, Option<Vec<u8>>>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, i64>(6)?,
        ))
    })?;
    rows.map(|r| {
        let (rule_key, record, run, customer, anchor_at, due_at, done_at) = r?;
        Ok(RetentionAction {
            rule_key,
            record_id: uuid_from(record)?,
            run_id: uuid_from(run)?,
            customer_id: customer.map(uuid_from).transpose()?,
            anchor_at,
            due_at,
            done_at,
        })
    })
    .collect()
}

#[async_trait]
impl Retention for SqliteStore {
    async fn seed_retention_rules(&self, rules: &[StoredRule]) -> Result<()> {
        let rules = rules.to_vec();
        self.write(move |tx| seed_rules(tx, &rules)).await
    }

    async fn retention_rules(&self) -> Result<Vec<StoredRule>> {
        self.read(rules)
    }

    async fn create_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<()> {
        let rule = rule.clone();
        self.write(move |tx| {
            create_rule(tx, &rule)?;
            append_audit_tx(tx, vec![audit]).map(|_| ())
        })
        .await
    }

    async fn update_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<bool> {
        let rule = rule.clone();
        self.write(move |tx| {
            if !update_rule(tx, &rule)? {
                return Ok(false);
            }
            append_audit_tx(tx, vec![audit]).map(|_| true)
        })
        .await
    }

    async fn legal_holds(&self) -> Result<Vec<LegalHold>> {
        self.read(holds)
    }

    async fn create_legal_hold(&self, hold: &LegalHold, audit: AuditRecord) -> Result<()> {
        let hold = hold.clone();
        self.write(move |tx| {
            create_hold(tx, &hold)?;
            append_audit_tx(tx, vec![audit]).map(|_| ())
        })
        .await
    }

    async fn release_legal_hold(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        self.write(move |tx| {
            if !release_hold(tx, id, at)? {
                return Ok(false);
            }
            append_audit_tx(tx, vec![audit]).map(|_| true)
        })
        .await
    }

    async fn save_retention_run(&self, run: &RetentionRun) -> Result<()> {
        let run = run.clone();
        self.write(move |tx| save_run(tx, &run)).await
    }

    async fn retention_run(&self, id: Uuid) -> Result<Option<RetentionRun>> {
        self.read(|c| run(c, id))
    }

    async fn retention_runs(&self, limit: usize) -> Result<Vec<RetentionRun>> {
        self.read(|c| runs(c, limit))
    }

    async fn due_records(&self, query: &DueQuery) -> Result<Vec<FoundRecord>> {
        self.read(|c| due(c, query))
    }

    async fn count_due(&self, query: &DueQuery) -> Result<u64> {
        let all = DueQuery {
            after: None,
            limit: usize::MAX >> 1,
            ..query.clone()
        };
        self.read(|c| count_due(c, &all))
    }

    async fn sweep(&self, batch: SweepBatch) -> Result<Vec<DueRecord>> {
        self.write(move |tx| sweep(tx, batch)).await
    }

    async fn retention_counts(&self, run: Uuid) -> Result<Vec<(String, u64)>> {
        self.read(|c| counts(c, run))
    }

    async fn retention_actions(&self, run: Uuid) -> Result<Vec<RetentionAction>> {
        self.read(|c| actions(c, run))
    }
}
