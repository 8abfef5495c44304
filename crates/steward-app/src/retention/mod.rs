//! Retention carried out: the rules (seeded from the catalog, changed by the privacy
//! officer), legal holds, and the sweeper that finds what is due, claims it, acts on it and
//! reports it, batch by batch, each batch one transaction.
//!
//! Two sweepers never act on one record: the row recording the act is inserted in the
//! transaction that acts, under a unique key, so the second sweeper to reach a record inserts
//! nothing and leaves it alone. Nothing is half-claimed, so a run cut short leaves only
//! whole batches behind, and the next run finds the rest; a run left running by a sweeper
//! that stopped is carried on by the next start. A dry run walks the same pages with the
//! same queries and changes nothing, so it predicts the real run exactly.

use std::collections::{BTreeMap, HashSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use jiff::Timestamp;
use steward_core::clock::from_micros;
use steward_core::retention::{RecordType, RetentionAction, Rule, RuleInput};
use steward_core::sealed_fields::SealedFields;
use steward_store::{DueQuery, DueRecord, LegalHold, RetentionRun, StoredRule, SweepBatch};
use uuid::Uuid;

use crate::collection::customers::LEGAL_OBLIGATION;
use crate::{Access, Actor, AppError, FieldError, Steward};

const BATCH: usize = 1_000;
/// A run whose sweeper has been silent this long is taken to have stopped.
const STALLED_MICROS: i64 = 2 * 60 * 1_000_000;
/// Items a report lists by name; counts are always complete.
const LISTED: usize = 1_000;

/// A rule as the API and console show it: as written, and how long in plain words.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleView {
    pub key: String,
    pub record: String,
    pub kind: Option<String>,
    pub duration: String,
    pub anchor: String,
    pub action: String,
    pub description: String,
    pub enabled: bool,
    pub period: String,
}

/// A change to a rule: what is given is replaced.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RulePatch {
    pub duration: Option<String>,
    pub action: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldInput {
    /// Hold one customer...
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    /// ...or a whole category: a record type (customer, interaction, request) or a rule key.
    #[serde(default)]
    pub category: Option<String>,
    pub reason: String,
    /// Who answers for the hold.
    pub owner: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub ends_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldView {
    pub id: Uuid,
    pub customer_id: Option<Uuid>,
    pub category: Option<String>,
    pub reason: String,
    pub owner: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub ends_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub released_at: Option<Timestamp>,
    /// In force now.
    pub active: bool,
}

/// One record in a report: which rule, when its time counted from and when it fell due. Ids
/// only, never a personal value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportItem {
    pub rule: String,
    pub record_id: Uuid,
    pub customer_id: Option<Uuid>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub anchor_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub due_at: Timestamp,
}

/// What one rule came to in a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleOutcome {
    pub rule: String,
    pub record: String,
    pub action: String,
    /// Acted on (or, in a dry run, that would be).
    pub done: u64,
    /// Due but held.
    pub held: u64,
    /// Carried out elsewhere, and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforced_by: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunReport {
    pub rules: Vec<RuleOutcome>,
    /// What went (or would go), up to a thousand items.
    pub items: Vec<ReportItem>,
    /// What was due but held, up to a thousand items.
    pub held: Vec<ReportItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RunView {
    pub id: Uuid,
    pub dry_run: bool,
    /// running, finished or failed.
    pub state: String,
    pub started_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub started_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub finished_at: Option<Timestamp>,
    pub report: RunReport,
}

/// Progress of a run, for a progress bar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepProgress {
    pub done: u64,
    pub held: u64,
}

/// Records due per week for the weeks ahead, by rule: what the console charts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Upcoming {
    pub rule: String,
    /// Due now or overdue, then in each of the next weeks.
    pub per_week: Vec<u64>,
}

fn require_dpo(access: &Access) -> Result<(), AppError> {
    if access.purpose.key == LEGAL_OBLIGATION {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "retention is managed under the purpose {LEGAL_OBLIGATION}"
        )))
    }
}

fn stored(rule: &Rule, at: i64) -> Result<StoredRule, AppError> {
    Ok(StoredRule {
        key: rule.key.clone(),
        rule: serde_json::to_string(&rule.input()).map_err(|e| AppError::Io(e.to_string()))?,
        created_at: at,
        updated_at: at,
    })
}

fn parse_stored(s: &StoredRule) -> Result<Rule, AppError> {
    let input: RuleInput = serde_json::from_str(&s.rule)
        .map_err(|_| AppError::Integrity(format!("retention rule {}", s.key)))?;
    Rule::parse(&input).map_err(|e| AppError::Integrity(format!("retention rule {}: {e}", s.key)))
}

fn rule_error(e: steward_core::retention::RuleError) -> AppError {
    AppError::invalid(e.field, e.reason)
}

fn view_of(rule: &Rule) -> RuleView {
    let written = rule.input();
    RuleView {
        key: written.key,
        record: written.record,
        kind: written.kind,
        duration: written.duration,
        anchor: written.anchor,
        action: written.action,
        description: written.description,
        enabled: written.enabled,
        period: rule.plain_period(),
    }
}

fn hold_view(h: &LegalHold, now: i64) -> HoldView {
    HoldView {
        id: h.id,
        customer_id: h.customer_id,
        category: h.category.clone(),
        reason: h.reason.clone(),
        owner: h.owner.clone(),
        created_at: from_micros(h.created_at),
        ends_at: h.ends_at.map(from_micros),
        released_at: h.released_at.map(from_micros),
        active: is_active(h, now),
    }
}

fn is_active(h: &LegalHold, now: i64) -> bool {
    h.released_at.is_none() && h.ends_at.is_none_or(|end| end > now)
}

fn parse_run(run: &RetentionRun) -> Result<RunView, AppError> {
    Ok(RunView {
        id: run.id,
        dry_run: run.dry_run,
        state: run.state.clone(),
        started_by: run.started_by.clone(),
        started_at: from_micros(run.started_at),
        finished_at: run.finished_at.map(from_micros),
        report: serde_json::from_str(&run.report)
            .map_err(|_| AppError::Integrity(format!("retention run {}", run.id)))?,
    })
}

/// The holds in force now: customers held one by one, and categories held whole.
struct Holds {
    customers: HashSet<Uuid>,
    categories: HashSet<String>,
}

impl Holds {
    fn covers_rule(&self, rule: &Rule) -> bool {
        self.categories.contains(rule.record.as_str()) || self.categories.contains(&rule.key)
    }
}

impl Steward {
    /// A run as shown: for a real run, what each rule did is counted from the records of the
    /// acts themselves, so a run cut short between two saves still reports exactly.
    async fn run_view(&self, run: &RetentionRun) -> Result<RunView, AppError> {
        let mut view = parse_run(run)?;
        if !run.dry_run {
            let counts = self.store.retention_counts(run.id).await?;
            for outcome in &mut view.report.rules {
                outcome.done = counts
                    .iter()
                    .find(|(rule, _)| *rule == outcome.rule)
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
            }
        }
        Ok(view)
    }

    /// Copies the catalog's rules into the database, keeping rules already kept as they
    /// are (the operator may have changed them).
    pub(crate) async fn seed_retention_rules(&self) -> Result<(), AppError> {
        let at = self.clock.now().as_microsecond();
        let rules = self
            .catalog
            .retention_rules()
            .iter()
            .map(|r| stored(r, at))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.store.seed_retention_rules(&rules).await?)
    }

    async fn rules(&self) -> Result<Vec<Rule>, AppError> {
        self.store
            .retention_rules()
            .await?
            .iter()
            .map(parse_stored)
            .collect()
    }

    /// The rules in force, for the public notice and the portal: what is kept how long.
    pub async fn published_retention(&self) -> Result<Vec<RuleView>, AppError> {
        Ok(self
            .rules()
            .await?
            .iter()
            .filter(|r| r.enabled)
            .map(view_of)
            .collect())
    }

    pub async fn retention_rules(&self, access: &Access) -> Result<Vec<RuleView>, AppError> {
        require_dpo(access)?;
        Ok(self.rules().await?.iter().map(view_of).collect())
    }

    pub async fn create_retention_rule(
        &self,
        access: &Access,
        input: RuleInput,
    ) -> Result<RuleView, AppError> {
        require_dpo(access)?;
        let rule = Rule::parse(&input).map_err(rule_error)?;
        let at = self.clock.now().as_microsecond();
        let mut audit = self.access_record(
            access,
            "retention.rule.create",
            vec![rule.key.clone()],
            vec![],
        );
        audit.detail = Some(format!(
            "{} {} after {}: {}",
            rule.record, rule.duration, rule.anchor, rule.action
        ));
        self.store
            .create_retention_rule(&stored(&rule, at)?, audit)
            .await
            .map_err(|e| match e {
                steward_store::StoreError::Duplicate { .. } => AppError::Duplicate {
                    field: "key".into(),
                },
                e => e.into(),
            })?;
        Ok(view_of(&rule))
    }

    pub async fn update_retention_rule(
        &self,
        access: &Access,
        key: &str,
        patch: RulePatch,
    ) -> Result<RuleView, AppError> {
        require_dpo(access)?;
        let kept = self
            .store
            .retention_rules()
            .await?
            .into_iter()
            .find(|r| r.key == key)
            .ok_or(AppError::NotFound)?;
        let mut input = parse_stored(&kept)?.input();
        if let Some(d) = patch.duration {
            input.duration = d;
        }
        if let Some(a) = patch.action {
            input.action = a;
        }
        if let Some(d) = patch.description {
            input.description = d;
        }
        if let Some(e) = patch.enabled {
            input.enabled = e;
        }
        let rule = Rule::parse(&input).map_err(rule_error)?;
        let mut row = stored(&rule, self.clock.now().as_microsecond())?;
        row.created_at = kept.created_at;
        let mut audit =
            self.access_record(access, "retention.rule.update", vec![key.into()], vec![]);
        audit.detail = Some(format!(
            "{} {} after {}: {}{}",
            rule.record,
            rule.duration,
            rule.anchor,
            rule.action,
            if rule.enabled { "" } else { " (disabled)" }
        ));
        if !self.store.update_retention_rule(&row, audit).await? {
            return Err(AppError::NotFound);
        }
        Ok(view_of(&rule))
    }

    pub async fn legal_holds(&self, access: &Access) -> Result<Vec<HoldView>, AppError> {
        require_dpo(access)?;
        let now = self.clock.now().as_microsecond();
        Ok(self
            .store
            .legal_holds()
            .await?
            .iter()
            .map(|h| hold_view(h, now))
            .collect())
    }

    pub async fn create_legal_hold(
        &self,
        access: &Access,
        input: HoldInput,
    ) -> Result<HoldView, AppError> {
        require_dpo(access)?;
        let now = self.clock.now().as_microsecond();
        let mut errors = Vec::new();
        match (&input.customer_id, &input.category) {
            (Some(_), Some(_)) | (None, None) => errors.push(FieldError::new(
                "customer_id",
                "hold either one customer (customer_id) or one category",
            )),
            (None, Some(c)) => {
                let rules = self.rules().await?;
                let known = RecordType::ALL.iter().any(|r| r.as_str() == c)
                    || rules.iter().any(|r| &r.key == c);
                if !known {
                    errors.push(FieldError::new(
                        "category",
                        "must be a record type (customer, interaction, fields, request) or a rule key",
                    ));
                }
            }
            (Some(id), None) => {
                if self.store.get_customer(*id).await?.is_none() {
                    errors.push(FieldError::new("customer_id", "no such customer"));
                }
            }
        }
        for (field, text, max) in [
            ("reason", &input.reason, 1_000),
            ("owner", &input.owner, 200),
        ] {
            let len = text.trim().chars().count();
            if len == 0 || len > max {
                errors.push(FieldError::new(
                    field,
                    format!("is needed, at most {max} characters"),
                ));
            }
        }
        let ends_at = input.ends_at.map(|t| t.as_microsecond());
        if ends_at.is_some_and(|e| e <= now) {
            errors.push(FieldError::new("ends_at", "must be in the future"));
        }
        if !errors.is_empty() {
            return Err(AppError::Invalid(errors));
        }
        let hold = LegalHold {
            id: Uuid::now_v7(),
            customer_id: input.customer_id,
            category: input.category,
            reason: input.reason.trim().into(),
            owner: input.owner.trim().into(),
            created_at: now,
            ends_at,
            released_at: None,
        };
        let mut targets = vec![hold.id.to_string()];
        targets.extend(hold.customer_id.map(|c| c.to_string()));
        let audit = self.access_record(access, "retention.hold", targets, vec![]);
        self.store.create_legal_hold(&hold, audit).await?;
        Ok(hold_view(&hold, now))
    }

    pub async fn release_legal_hold(&self, access: &Access, id: Uuid) -> Result<(), AppError> {
        require_dpo(access)?;
        let now = self.clock.now().as_microsecond();
        let audit = self.access_record(access, "retention.release", vec![id.to_string()], vec![]);
        if self.store.release_legal_hold(id, now, audit).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    async fn holds_now(&self, now: i64) -> Result<Holds, AppError> {
        let mut holds = Holds {
            customers: HashSet::new(),
            categories: HashSet::new(),
        };
        for h in self.store.legal_holds().await? {
            if !is_active(&h, now) {
                continue;
            }
            if let Some(c) = h.customer_id {
                holds.customers.insert(c);
            }
            if let Some(c) = h.category {
                holds.categories.insert(c);
            }
        }
        Ok(holds)
    }

    /// Starts a run: a new one, or the latest run left running by a sweeper that stopped
    /// (silent for two minutes), which then carries on where it stopped.
    pub async fn start_retention_run(
        &self,
        access: &Access,
        dry_run: bool,
    ) -> Result<RunView, AppError> {
        require_dpo(access)?;
        let now = self.clock.now().as_microsecond();
        let stalled = if dry_run {
            None
        } else {
            self.store.retention_runs(20).await?.into_iter().find(|r| {
                !r.dry_run
                    && r.state == "running"
                    && r.heartbeat_at.saturating_add(STALLED_MICROS) <= now
            })
        };
        let run = match stalled {
            Some(mut run) => {
                run.heartbeat_at = now;
                run
            }
            None => RetentionRun {
                id: Uuid::now_v7(),
                dry_run,
                state: "running".into(),
                started_by: access.actor.id.clone(),
                started_at: now,
                heartbeat_at: now,
                finished_at: None,
                report: serde_json::to_string(&RunReport::default())
                    .map_err(|e| AppError::Io(e.to_string()))?,
            },
        };
        self.store.save_retention_run(&run).await?;
        self.run_view(&run).await
    }

    pub async fn retention_run(&self, access: &Access, id: Uuid) -> Result<RunView, AppError> {
        require_dpo(access)?;
        let run = self
            .store
            .retention_run(id)
            .await?
            .ok_or(AppError::NotFound)?;
        self.run_view(&run).await
    }

    pub async fn retention_runs(&self, access: &Access) -> Result<Vec<RunView>, AppError> {
        require_dpo(access)?;
        let mut views = Vec::new();
        for run in self.store.retention_runs(50).await? {
            views.push(self.run_view(&run).await?);
        }
        Ok(views)
    }

    /// The records a run acted on, as report items.
    pub async fn retention_run_items(
        &self,
        access: &Access,
        id: Uuid,
    ) -> Result<Vec<ReportItem>, AppError> {
        require_dpo(access)?;
        Ok(self
            .store
            .retention_actions(id)
            .await?
            .into_iter()
            .map(|a| ReportItem {
                rule: a.rule_key,
                record_id: a.record_id,
                customer_id: a.customer_id,
                anchor_at: from_micros(a.anchor_at),
                due_at: from_micros(a.due_at),
            })
            .collect())
    }

    /// Carries out a started run to its end (or until `progress` breaks, which leaves it to
    /// be resumed). A dry run reports every item it would act on through `planned`.
    pub async fn run_retention(
        &self,
        run_id: Uuid,
        progress: impl FnMut(SweepProgress) -> ControlFlow<()>,
        planned: impl FnMut(&ReportItem),
    ) -> Result<RunView, AppError> {
        let outcome = self.sweep_run(run_id, progress, planned).await;
        if let Err(e) = &outcome {
            // The acts done stay done and counted; the run says it did not finish.
            tracing::error!(run = %run_id, error = %e, "retention run failed");
            if let Ok(Some(mut run)) = self.store.retention_run(run_id).await
                && run.state == "running"
            {
                run.state = "failed".into();
                run.finished_at = Some(self.clock.now().as_microsecond());
                if let Err(e) = self.store.save_retention_run(&run).await {
                    tracing::error!(run = %run_id, error = %e, "retention run not marked failed");
                }
            }
        }
        outcome
    }

    async fn sweep_run(
        &self,
        run_id: Uuid,
        mut progress: impl FnMut(SweepProgress) -> ControlFlow<()>,
        mut planned: impl FnMut(&ReportItem),
    ) -> Result<RunView, AppError> {
        let mut run = self
            .store
            .retention_run(run_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let mut report: RunReport = serde_json::from_str(&run.report)
            .map_err(|_| AppError::Integrity(format!("retention run {run_id}")))?;
        let actor = Actor::system("retention", &[LEGAL_OBLIGATION]);
        let now = self.clock.now().as_microsecond();
        let blank = SealedFields::new().encode();
        let mut counts = SweepProgress::default();
        for rule in self.rules().await?.into_iter().filter(|r| r.enabled) {
            let at = report.rules.iter().position(|o| o.rule == rule.key);
            let at = at.unwrap_or_else(|| {
                report.rules.push(RuleOutcome {
                    rule: rule.key.clone(),
                    record: rule.record.as_str().into(),
                    action: rule.action.as_str().into(),
                    ..Default::default()
                });
                report.rules.len() - 1
            });
            if rule.record == RecordType::Fields {
                report.rules[at].enforced_by = Some(
                    "the consent ledger, at the moment a consent is withdrawn or expires".into(),
                );
                continue;
            }
            report.rules[at].held = 0;
            let mut query = DueQuery {
                rule_key: rule.key.clone(),
                record: rule.record.as_str().into(),
                anchor: rule.anchor.as_str().into(),
                kind: rule.kind.map(|k| k.as_str().to_string()),
                cutoff: rule.cutoff(from_micros(now)).as_microsecond(),
                after: None,
                limit: BATCH,
            };
            loop {
                // Holds are read again for every page, so one placed mid-run counts at once.
                let holds = self.holds_now(self.clock.now().as_microsecond()).await?;
                let held_whole = holds.covers_rule(&rule);
                let found = self.store.due_records(&query).await?;
                let Some(last) = found.last() else { break };
                query.after = Some(last.record_id);
                let mut due = Vec::with_capacity(found.len());
                for f in &found {
                    let item = ReportItem {
                        rule: rule.key.clone(),
                        record_id: f.record_id,
                        customer_id: f.customer_id,
                        anchor_at: from_micros(f.anchor_at),
                        due_at: rule.due(from_micros(f.anchor_at)),
                    };
                    let held =
                        held_whole || f.customer_id.is_some_and(|c| holds.customers.contains(&c));
                    if held {
                        report.rules[at].held += 1;
                        counts.held += 1;
                        if report.held.len() < LISTED {
                            report.held.push(item);
                        }
                        continue;
                    }
                    due.push(DueRecord {
                        record_id: f.record_id,
                        customer_id: f.customer_id,
                        anchor_at: f.anchor_at,
                        due_at: item.due_at.as_microsecond(),
                    });
                    if run.dry_run {
                        planned(&item);
                        report.rules[at].done += 1;
                        counts.done += 1;
                        if report.items.len() < LISTED {
                            report.items.push(item);
                        }
                    }
                }
                if !run.dry_run && !due.is_empty() {
                    let done = self
                        .sweep_batch(&actor, &rule, &mut run, &report, due, &blank, &mut counts)
                        .await?;
                    report.rules[at].done += done.len() as u64;
                    for item in done {
                        if report.items.len() < LISTED {
                            report.items.push(item);
                        }
                    }
                }
                run.heartbeat_at = self.clock.now().as_microsecond();
                if progress(counts).is_break() {
                    run.report =
                        serde_json::to_string(&report).map_err(|e| AppError::Io(e.to_string()))?;
                    self.store.save_retention_run(&run).await?;
                    return self.run_view(&run).await;
                }
            }
        }
        run.state = "finished".into();
        run.finished_at = Some(self.clock.now().as_microsecond());
        run.report = serde_json::to_string(&report).map_err(|e| AppError::Io(e.to_string()))?;
        // Counted from the acts themselves, so earlier cut-short parts of the run count too.
        let counted = self.run_view(&run).await?.report;
        run.report = serde_json::to_string(&counted).map_err(|e| AppError::Io(e.to_string()))?;
        let summary = self.record(
            &actor,
            "retention.run",
            Some(LEGAL_OBLIGATION),
            vec![run.id.to_string()],
            vec![],
            Some(
                counted
                    .rules
                    .iter()
                    .map(|o| format!("{}: {} done, {} held", o.rule, o.done, o.held))
                    .collect::<Vec<_>>()
                    .join("; ")
                    + if run.dry_run { " (dry run)" } else { "" },
            ),
        );
        // The summary and the finished run commit together, so a resumed run cannot write
        // a second summary.
        self.store
            .sweep(SweepBatch {
                run: run.clone(),
                rule_key: String::new(),
                record: String::new(),
                action: String::new(),
                records: Vec::new(),
                at: self.clock.now().as_microsecond(),
                blank: Vec::new(),
                audit: vec![(Vec::new(), summary)],
            })
            .await?;
        parse_run(&run)
    }

    /// Acts on a page of due records in one transaction, with an audit entry per customer
    /// affected; returns what was done (records another run reached first are left out).
    #[allow(clippy::too_many_arguments)]
    async fn sweep_batch(
        &self,
        actor: &Actor,
        rule: &Rule,
        run: &mut RetentionRun,
        report: &RunReport,
        due: Vec<DueRecord>,
        blank: &[u8],
        counts: &mut SweepProgress,
    ) -> Result<Vec<ReportItem>, AppError> {
        let now = self.clock.now().as_microsecond();
        let action = match (rule.record, rule.action) {
            (RecordType::Customer, _) => "customer.erase",
            (RecordType::Interaction, RetentionAction::Anonymise) => "interaction.anonymise",
            (RecordType::Interaction, _) => "interaction.delete",
            (RecordType::Request, _) => "request.delete",
            (RecordType::Fields, _) => "customer.minimise",
        };
        let mut by_customer: BTreeMap<Option<Uuid>, Vec<Uuid>> = BTreeMap::new();
        for r in &due {
            by_customer
                .entry(r.customer_id)
                .or_default()
                .push(r.record_id);
        }
        let mut audit = Vec::with_capacity(by_customer.len());
        for (customer, records) in by_customer {
            let mut targets: Vec<String> = customer.iter().map(|c| c.to_string()).collect();
            if rule.record != RecordType::Customer {
                targets.extend(records.iter().map(|r| r.to_string()));
            }
            let entry = self.record(
                actor,
                action,
                Some(LEGAL_OBLIGATION),
                targets,
                Vec::new(),
                Some(format!("retention rule {}, run {}", rule.key, run.id)),
            );
            audit.push((records, entry));
        }
        if rule.record == RecordType::Customer {
            let ids: Vec<Uuid> = due.iter().map(|r| r.record_id).collect();
            // Keys first: a crash after this leaves rows no one can read, which the next
            // run finds due and deletes.
            self.keys.destroy_data_keys(&ids)?;
        }
        run.heartbeat_at = now;
        run.report = serde_json::to_string(report).map_err(|e| AppError::Io(e.to_string()))?;
        let done = self
            .store
            .sweep(SweepBatch {
                run: run.clone(),
                rule_key: rule.key.clone(),
                record: rule.record.as_str().into(),
                action: rule.action.as_str().into(),
                records: due,
                at: now,
                blank: blank.to_vec(),
                audit,
            })
            .await?;
        counts.done += done.len() as u64;
        Ok(done
            .iter()
            .map(|r| ReportItem {
                rule: rule.key.clone(),
                record_id: r.record_id,
                customer_id: r.customer_id,
                anchor_at: from_micros(r.anchor_at),
                due_at: from_micros(r.due_at),
            })
            .collect())
    }

    /// How many records the enabled rules find due now, held ones included: the length of a
    /// run, for a progress bar.
    pub async fn retention_due(&self, access: &Access) -> Result<u64, AppError> {
        Ok(self
            .upcoming_expiries(access, 0)
            .await?
            .iter()
            .map(|u| u.per_week.first().copied().unwrap_or(0))
            .sum())
    }

    /// Records due per week for the next `weeks` weeks, by enabled rule (the first bucket
    /// holds what is due already).
    pub async fn upcoming_expiries(
        &self,
        access: &Access,
        weeks: usize,
    ) -> Result<Vec<Upcoming>, AppError> {
        require_dpo(access)?;
        let now = self.clock.now();
        let week = jiff::SignedDuration::from_hours(24 * 7);
        let mut out = Vec::new();
        for rule in self.rules().await?.into_iter().filter(|r| r.enabled) {
            if rule.record == RecordType::Fields {
                continue;
            }
            let mut cumulative = Vec::with_capacity(weeks + 1);
            for w in 0..=weeks {
                let at = now
                    .checked_add(week * i32::try_from(w).unwrap_or(0))
                    .unwrap_or(now);
                let query = DueQuery {
                    rule_key: rule.key.clone(),
                    record: rule.record.as_str().into(),
                    anchor: rule.anchor.as_str().into(),
                    kind: rule.kind.map(|k| k.as_str().to_string()),
                    cutoff: rule.cutoff(at).as_microsecond(),
                    after: None,
                    limit: 0,
                };
                cumulative.push(self.store.count_due(&query).await?);
            }
            let per_week = cumulative
                .iter()
                .enumerate()
                .map(|(i, n)| n.saturating_sub(if i == 0 { 0 } else { cumulative[i - 1] }))
                .collect();
            out.push(Upcoming {
                rule: rule.key.clone(),
                per_week,
            });
        }
        Ok(out)
    }

    /// Runs the sweeper every `every` until `stop` completes.
    pub async fn run_retention_sweeper(
        self: Arc<Self>,
        every: std::time::Duration,
        stop: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(stop);
        let actor = Actor::system("retention", &[LEGAL_OBLIGATION]);
        loop {
            let outcome = async {
                let access = self.access(&actor, Some(LEGAL_OBLIGATION))?;
                let run = self.start_retention_run(&access, false).await?;
                self.run_retention(run.id, |_| ControlFlow::Continue(()), |_| {})
                    .await
            }
            .await;
            match outcome {
                Ok(run) => {
                    let done: u64 = run.report.rules.iter().map(|r| r.done).sum();
                    if done > 0 {
                        tracing::info!(run = %run.id, records = done, "retention sweep");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = &mut stop => break,
            }
        }
    }
}
