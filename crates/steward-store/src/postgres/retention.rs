//! Retention rules, legal holds, runs and the records they act on, in PostgreSQL.

use super::*;

use deadpool_postgres::{Object, Transaction};
use uuid::Uuid;

use super::{append_audit_tx, arg_refs, erase_rows, map_unique, postgres_args, requests};
use crate::retention_sql::{due_sql, swept_audit};
use crate::{
    DueQuery, DueRecord, FoundRecord, LegalHold, Result, RetentionAction, RetentionRun, StoreError,
    StoredRule, SweepBatch,
};

pub(super) async fn seed_rules(tx: &Transaction<'_>, rules: &[StoredRule]) -> Result<()> {
    for r in rules {
        tx.execute(
            "INSERT INTO retention_rules (key, rule, created_at, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (key) DO NOTHING",
            &[&r.key, &r.rule, &r.created_at, &r.updated_at],
        )
        .await?;
    }
    Ok(())
}

pub(super) async fn rules(client: &Object) -> Result<Vec<StoredRule>> {
    Ok(client
        .query(
            "SELECT key, rule, created_at, updated_at FROM retention_rules ORDER BY created_at, key",
            &[],
        )
        .await?
        .iter()
        .map(|r| StoredRule {
            key: r.get(0),
            rule: r.get(1),
            created_at: r.get(2),
            updated_at: r.get(3),
        })
        .collect())
}

pub(super) async fn create_rule(tx: &Transaction<'_>, r: &StoredRule) -> Result<()> {
    tx.execute(
        "INSERT INTO retention_rules (key, rule, created_at, updated_at) VALUES ($1, $2, $3, $4)",
        &[&r.key, &r.rule, &r.created_at, &r.updated_at],
    )
    .await
    .map_err(|e| map_unique(e, "key"))?;
    Ok(())
}

pub(super) async fn update_rule(tx: &Transaction<'_>, r: &StoredRule) -> Result<bool> {
    Ok(tx
        .execute(
            "UPDATE retention_rules SET rule = $2, updated_at = $3 WHERE key = $1",
            &[&r.key, &r.rule, &r.updated_at],
        )
        .await?
        > 0)
}

pub(super) async fn holds(client: &Object) -> Result<Vec<LegalHold>> {
    Ok(client
        .query(
            "SELECT id, customer_id, category, reason, owner, created_at, ends_at, released_at
             FROM legal_holds ORDER BY created_at, id",
            &[],
        )
        .await?
        .iter()
        .map(|r| LegalHold {
            id: r.get(0),
            customer_id: r.get(1),
            category: r.get(2),
            reason: r.get(3),
            owner: r.get(4),
            created_at: r.get(5),
            ends_at: r.get(6),
            released_at: r.get(7),
        })
        .collect())
}

pub(super) async fn create_hold(tx: &Transaction<'_>, h: &LegalHold) -> Result<()> {
    tx.execute(
        "INSERT INTO legal_holds (id, customer_id, category, reason, owner, created_at, ends_at, released_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &h.id,
            &h.customer_id,
            &h.category,
            &h.reason,
            &h.owner,
            &h.created_at,
            &h.ends_at,
            &h.released_at,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn release_hold(tx: &Transaction<'_>, id: Uuid, at: i64) -> Result<bool> {
    Ok(tx
        .execute(
            "UPDATE legal_holds SET released_at = $2 WHERE id = $1 AND released_at IS NULL",
            &[&id, &at],
        )
        .await?
        > 0)
}

pub(super) async fn save_run(tx: &Transaction<'_>, r: &RetentionRun) -> Result<()> {
    tx.execute(
        "INSERT INTO retention_runs (id, dry_run, state, started_by, started_at, heartbeat_at, finished_at, report)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, heartbeat_at = excluded.heartbeat_at,
           finished_at = excluded.finished_at, report = excluded.report",
        &[
            &r.id,
            &r.dry_run,
            &r.state,
            &r.started_by,
            &r.started_at,
            &r.heartbeat_at,
            &r.finished_at,
            &r.report,
        ],
    )
    .await?;
    Ok(())
}

const RUN_COLS: &str =
    "id, dry_run, state, started_by, started_at, heartbeat_at, finished_at, report";

fn run_from(r: &tokio_postgres::Row) -> RetentionRun {
    RetentionRun {
        id: r.get(0),
        dry_run: r.get(1),
        state: r.get(2),
        started_by: r.get(3),
        started_at: r.get(4),
        heartbeat_at: r.get(5),
        finished_at: r.get(6),
        report: r.get(7),
    }
}

pub(super) async fn run(client: &Object, id: Uuid) -> Result<Option<RetentionRun>> {
    Ok(client
        .query_opt(
            &format!("SELECT {RUN_COLS} FROM retention_runs WHERE id = $1"),
            &[&id],
        )
        .await?
        .as_ref()
        .map(run_from))
}

pub(super) async fn runs(client: &Object, limit: usize) -> Result<Vec<RetentionRun>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    Ok(client
        .query(
            &format!(
                "SELECT {RUN_COLS} FROM retention_runs ORDER BY started_at DESC, id DESC LIMIT $1"
            ),
            &[&limit],
        )
        .await?
        .iter()
        .map(run_from)
        .collect())
}

fn placeholder(n: usize) -> String {
    format!("${n}")
}

pub(super) async fn due(client: &Object, q: &DueQuery) -> Result<Vec<FoundRecord>> {
    let (sql, args) = due_sql(q, &placeholder)?;
    let args = postgres_args(&args);
    Ok(client
        .query(&sql, &arg_refs(&args))
        .await?
        .iter()
        .map(|r| FoundRecord {
            record_id: r.get(0),
            customer_id: r.get(1),
            anchor_at: r.get(2),
        })
        .collect())
}

pub(super) async fn count_due(client: &Object, q: &DueQuery) -> Result<u64> {
    let (sql, args) = due_sql(q, &placeholder)?;
    let args = postgres_args(&args);
    let count: i64 = client
        .query_one(&format!("SELECT COUNT(*) FROM ({sql}) d"), &arg_refs(&args))
        .await?
        .get(0);
    Ok(u64::try_from(count).unwrap_or(0))
}

pub(super) async fn sweep(
    tx: &Transaction<'_>,
    heads: &crate::audit_head::HeadKeeper,
    batch: SweepBatch,
) -> Result<Vec<DueRecord>> {
    let mut done = Vec::with_capacity(batch.records.len());
    // The row is the record of the act: a record another run acted on is left alone. Two
    // runs inserting one row at once wait for each other, and the second inserts nothing.
    let record = tx
        .prepare_cached(
            "INSERT INTO retention_actions (rule_key, record_id, run_id, customer_id, anchor_at, due_at, done_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (rule_key, record_id) DO NOTHING",
        )
        .await?;
    for r in &batch.records {
        let id = r.record_id;
        let first = tx
            .execute(
                &record,
                &[
                    &batch.rule_key,
                    &id,
                    &batch.run.id,
                    &r.customer_id,
                    &r.anchor_at,
                    &r.due_at,
                    &batch.at,
                ],
            )
            .await?;
        if first == 0 {
            continue;
        }
        let acted = match (batch.record.as_str(), batch.action.as_str()) {
            ("customer", "erase") => {
                let erased = erase_rows(tx, &id, batch.at).await?;
                if erased {
                    requests::erase(tx, &id, None, batch.at).await?;
                    requests::record_erasure(tx, id, batch.at).await?;
                }
                erased
            }
            ("interaction", "delete") => {
                tx.execute("DELETE FROM interactions WHERE id = $1", &[&id])
                    .await?
                    > 0
            }
            ("interaction", "anonymise") => {
                tx.execute(
                    "UPDATE interactions SET sealed = $2 WHERE id = $1",
                    &[&id, &batch.blank],
                )
                .await?
                    > 0
            }
            ("request", "delete") => {
                tx.execute("DELETE FROM requests WHERE id = $1", &[&id])
                    .await?
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
            tx.execute(
                "DELETE FROM retention_actions WHERE rule_key = $1 AND record_id = $2",
                &[&batch.rule_key, &id],
            )
            .await?;
            continue;
        }
        done.push(*r);
    }
    append_audit_tx(tx, heads, swept_audit(batch.audit, &done)).await?;
    save_run(tx, &batch.run).await?;
    Ok(done)
}

pub(super) async fn counts(client: &Object, run: Uuid) -> Result<Vec<(String, u64)>> {
    Ok(client
        .query(
            "SELECT rule_key, COUNT(*) FROM retention_actions WHERE run_id = $1 GROUP BY rule_key ORDER BY rule_key",
            &[&run],
        )
        .await?
        .iter()
        .map(|r| (r.get::<_, String>(0), u64::try_from(r.get::<_, i64>(1)).unwrap_or(0)))
        .collect())
}

pub(super) async fn actions(client: &Object, run: Uuid) -> Result<Vec<RetentionAction>> {
    Ok(client
        .query(
            "SELECT rule_key, record_id, run_id, customer_id, anchor_at, due_at, done_at
             FROM retention_actions WHERE run_id = $1 ORDER BY rule_key, record_id",
            &[&run],
        )
        .await?
        .iter()
        .map(|r| RetentionAction {
            rule_key: r.get(0),
            record_id: r.get(1),
            run_id: r.get(2),
            customer_id: r.get(3),
            anchor_at: r.get(4),
            due_at: r.get(5),
            done_at: r.get(6),
        })
        .collect())
}

#[async_trait]
impl Retention for PostgresStore {
    async fn seed_retention_rules(&self, rules: &[StoredRule]) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        seed_rules(&tx, rules).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn retention_rules(&self) -> Result<Vec<StoredRule>> {
        rules(&self.pool.get().await?).await
    }

    async fn create_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        create_rule(&tx, rule).await?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_retention_rule(&self, rule: &StoredRule, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if !update_rule(&tx, rule).await? {
            return Ok(false);
        }
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn legal_holds(&self) -> Result<Vec<LegalHold>> {
        holds(&self.pool.get().await?).await
    }

    async fn create_legal_hold(&self, hold: &LegalHold, audit: AuditRecord) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        create_hold(&tx, hold).await?;
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn release_legal_hold(&self, id: Uuid, at: i64, audit: AuditRecord) -> Result<bool> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        if !release_hold(&tx, id, at).await? {
            return Ok(false);
        }
        append_audit_tx(&tx, &self.heads, vec![audit]).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn save_retention_run(&self, run: &RetentionRun) -> Result<()> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        save_run(&tx, run).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn retention_run(&self, id: Uuid) -> Result<Option<RetentionRun>> {
        run(&self.pool.get().await?, id).await
    }

    async fn retention_runs(&self, limit: usize) -> Result<Vec<RetentionRun>> {
        runs(&self.pool.get().await?, limit).await
    }

    async fn due_records(&self, query: &DueQuery) -> Result<Vec<FoundRecord>> {
        due(&self.pool.get().await?, query).await
    }

    async fn count_due(&self, query: &DueQuery) -> Result<u64> {
        let all = DueQuery {
            after: None,
            limit: usize::MAX >> 1,
            ..query.clone()
        };
        count_due(&self.pool.get().await?, &all).await
    }

    async fn sweep(&self, batch: SweepBatch) -> Result<Vec<DueRecord>> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let done = sweep(&tx, &self.heads, batch).await?;
        tx.commit().await?;
        Ok(done)
    }

    async fn retention_counts(&self, run: Uuid) -> Result<Vec<(String, u64)>> {
        counts(&self.pool.get().await?, run).await
    }

    async fn retention_actions(&self, run: Uuid) -> Result<Vec<RetentionAction>> {
        actions(&self.pool.get().await?, run).await
    }
}
