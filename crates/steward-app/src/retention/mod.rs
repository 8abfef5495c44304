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

mod forecast;
mod holds;
mod rules;
mod runs;
mod sweep;

use std::collections::HashSet;

use jiff::Timestamp;
use steward_core::clock::from_micros;
use steward_core::retention::{Rule, RuleInput};
use steward_store::{LegalHold, RetentionRun, StoredRule};
use uuid::Uuid;

use crate::security::access::LEGAL_OBLIGATION;
use crate::{Access, AppError};

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
    /// ...or a whole category: a record type (customer, interaction, request, consent_proof) or a rule key.
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
        rule: serde_json::to_string(&rule.input()).map_err(AppError::Encode)?,
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
struct HoldSet {
    customers: HashSet<Uuid>,
    categories: HashSet<String>,
}

impl HoldSet {
    fn covers_rule(&self, rule: &Rule) -> bool {
        self.categories.contains(rule.record.as_str()) || self.categories.contains(&rule.key)
    }
}
