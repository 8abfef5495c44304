//! Breaches opened, changed and read: opening one needs the response plan, whose steps become
//! its checklist; a change is a merge patch of the record as written, checked as a whole.

use jiff::Timestamp;
use steward_core::breach::{Breach, BreachInput, BreachRefusal, StepKind};
use steward_core::clock::from_micros;
use steward_store::BreachRow;
use uuid::Uuid;

use super::{
    BreachView, ChecklistStep, decoded, encoded, input_of, invalid, require_keeper, require_reader,
    summary,
};
use crate::infra::merge_patch::merged;
use crate::services::Breaches;
use crate::{Access, Actor, AppError, Steward};

/// A step of the checklist marked done, or undone.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepUpdate {
    pub done: bool,
}

impl Steward {
    fn parse_breach(&self, id: Uuid, input: &BreachInput) -> Result<Breach, AppError> {
        let catalog = &self.catalog;
        // A category is known when a field of the catalog holds it or one under it.
        let known = |c: &str| {
            catalog.fields().iter().any(|f| {
                f.category
                    .strip_prefix(c)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            })
        };
        Breach::parse(id, input, self.clock.now(), &known).map_err(invalid)
    }

    /// A breach a processor reported names a vendor of the register.
    async fn check_reporter(&self, breach: &Breach) -> Result<(), AppError> {
        match breach.reported_by_vendor {
            Some(v) if self.store.vendor(v).await?.is_none() => Err(AppError::invalid(
                "reported_by_vendor",
                "is not a vendor of the register",
            )),
            _ => Ok(()),
        }
    }

    pub(crate) fn breach_of(&self, row: &BreachRow) -> Result<Breach, AppError> {
        let input = input_of(row.id, &row.breach)?;
        // Kept records were checked when written; read back, only their form is checked
        // again, since what was in the past then is in the past now.
        Breach::parse(row.id, &input, Timestamp::MAX, &|_| true)
            .map_err(|_| AppError::Integrity(format!("breach {}", row.id)))
    }

    pub(crate) async fn breach_view(&self, row: &BreachRow) -> Result<BreachView, AppError> {
        let breach = self.breach_of(row)?;
        let now = self.clock.now();
        let clock = breach.clock(now);
        let phases = self.phase_views(row.id).await?;
        let (affected, notices) = self.store.breach_counts(row.id).await?;
        Ok(BreachView {
            deadline: breach.deadline(),
            hours_left: (!breach.decided() && breach.closed_at.is_none())
                .then(|| breach.hours_left(now)),
            clock,
            checklist: decoded(row.id, &row.checklist)?,
            phases,
            scope: self.scope_of(row)?,
            affected_customers: affected,
            customer_notices: notices,
            version: row.version,
            opened_by: row.opened_by.clone(),
            created_at: from_micros(row.created_at),
            updated_at: from_micros(row.updated_at),
            breach,
        })
    }

    pub(crate) async fn breach_views(&self) -> Result<Vec<BreachView>, AppError> {
        let mut views = Vec::new();
        for row in self.store.breaches().await? {
            views.push(self.breach_view(&row).await?);
        }
        Ok(views)
    }

    async fn kept_breach(&self, id: Uuid) -> Result<BreachRow, AppError> {
        self.store.breach(id).await?.ok_or(AppError::NotFound)
    }
}

impl Breaches<'_> {
    /// Opens a breach with the response plan's steps as its checklist, and tells the
    /// response team.
    pub async fn open(&self, access: &Access, input: BreachInput) -> Result<BreachView, AppError> {
        require_keeper(access)?;
        let plan = self
            .app
            .security
            .breach_plan
            .as_ref()
            .ok_or(AppError::BreachRefused(BreachRefusal::NoBreachPlan))?;
        let id = Uuid::now_v7();
        let breach = self.app.parse_breach(id, &input)?;
        self.app.check_reporter(&breach).await?;
        let checklist: Vec<ChecklistStep> = plan
            .steps
            .iter()
            .map(|s| ChecklistStep {
                step: s.step,
                owner: s.owner.clone(),
                description: s.description.clone(),
                done_at: None,
                done_by: None,
            })
            .collect();
        let now = self.app.clock.now();
        let at = now.as_microsecond();
        let row = BreachRow {
            id,
            breach: encoded(&breach.input())?,
            checklist: encoded(&checklist)?,
            scope: None,
            opened_by: access.actor.id.clone(),
            version: 1,
            created_at: at,
            updated_at: at,
        };
        let mut audit =
            self.app
                .access_record(access, "breach.open", vec![format!("breach:{id}")], vec![]);
        audit.detail = Some(summary(&breach, now));
        self.app.store.create_breach(&row, audit).await?;
        self.app.alert_response_team(&row).await?;
        self.app.breach_view(&row).await
    }

    /// Applies `patch` (a JSON merge patch of the breach as written) at `if_version`, or at
    /// whatever version is kept when none is given. A patch that changes nothing writes
    /// nothing; a closed breach is kept as it was closed.
    pub async fn update(
        &self,
        access: &Access,
        id: Uuid,
        patch: &serde_json::Value,
        if_version: Option<i64>,
    ) -> Result<BreachView, AppError> {
        require_keeper(access)?;
        let kept = self.app.kept_breach(id).await?;
        if if_version.is_some_and(|v| v != kept.version) {
            return Err(AppError::StaleVersion);
        }
        let current = self.app.breach_of(&kept)?;
        if current.closed_at.is_some() {
            return Err(AppError::BreachRefused(BreachRefusal::BreachClosed));
        }
        let (input, changed) = merged(&current.input(), patch)?;
        if changed.is_empty() {
            return self.app.breach_view(&kept).await;
        }
        let breach = self.app.parse_breach(id, &input)?;
        self.app.check_reporter(&breach).await?;
        self.app.check_exemption(&kept, &breach).await?;
        let now = self.app.clock.now();
        let row = BreachRow {
            breach: encoded(&breach.input())?,
            version: kept.version + 1,
            updated_at: now.as_microsecond(),
            ..kept
        };
        let mut audit = self.app.access_record(
            access,
            "breach.update",
            vec![format!("breach:{id}")],
            vec![],
        );
        audit.detail = Some(format!(
            "{}; changed {}",
            summary(&breach, now),
            changed.join(", ")
        ));
        if !self.app.store.update_breach(&row, None, audit).await? {
            return Err(AppError::StaleVersion);
        }
        self.app.breach_view(&row).await
    }

    /// Marks a step of the breach's checklist done, or not done after all.
    pub async fn step(
        &self,
        access: &Access,
        id: Uuid,
        step: StepKind,
        update: StepUpdate,
    ) -> Result<BreachView, AppError> {
        require_keeper(access)?;
        let kept = self.app.kept_breach(id).await?;
        if self.app.breach_of(&kept)?.closed_at.is_some() {
            return Err(AppError::BreachRefused(BreachRefusal::BreachClosed));
        }
        let mut checklist: Vec<ChecklistStep> = decoded(id, &kept.checklist)?;
        let now = self.app.clock.now();
        let Some(entry) = checklist.iter_mut().find(|s| s.step == step) else {
            return Err(AppError::NotFound);
        };
        if entry.done_at.is_some() == update.done {
            return self.app.breach_view(&kept).await;
        }
        entry.done_at = update.done.then_some(now);
        entry.done_by = update.done.then(|| access.actor.id.clone());
        let row = BreachRow {
            checklist: encoded(&checklist)?,
            version: kept.version + 1,
            updated_at: now.as_microsecond(),
            ..kept
        };
        let mut audit =
            self.app
                .access_record(access, "breach.step", vec![format!("breach:{id}")], vec![]);
        audit.detail = Some(format!(
            "step {step} {}",
            if update.done { "done" } else { "reopened" }
        ));
        if !self.app.store.update_breach(&row, None, audit).await? {
            return Err(AppError::StaleVersion);
        }
        self.app.breach_view(&row).await
    }

    /// Every breach, newest first.
    pub async fn list(&self, actor: &Actor) -> Result<Vec<BreachView>, AppError> {
        require_reader(actor)?;
        self.app.breach_views().await
    }

    pub async fn get(&self, actor: &Actor, id: Uuid) -> Result<BreachView, AppError> {
        require_reader(actor)?;
        let row = self.app.kept_breach(id).await?;
        self.app.breach_view(&row).await
    }

    /// The response plan, for whoever reads the register.
    pub fn plan(
        &self,
        actor: &Actor,
    ) -> Result<Option<steward_core::breach::BreachPlan>, AppError> {
        require_reader(actor)?;
        Ok(self.app.security.breach_plan.clone())
    }
}
