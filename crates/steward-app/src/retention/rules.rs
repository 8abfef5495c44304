//! The retention rules: seeded from the catalog, published to customers, changed only by
//! the privacy officer.

use steward_core::retention::{Rule, RuleInput};

use super::{RulePatch, RuleView, parse_stored, require_dpo, rule_error, stored, view_of};
use crate::services::Retention;
use crate::{Access, AppError, Steward};

impl Steward {
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

    pub(super) async fn rules(&self) -> Result<Vec<Rule>, AppError> {
        self.store
            .retention_rules()
            .await?
            .iter()
            .map(parse_stored)
            .collect()
    }
}

impl Retention<'_> {
    /// The rules in force, for the public notice and the portal: what is kept how long.
    pub async fn published(&self) -> Result<Vec<RuleView>, AppError> {
        Ok(self
            .app
            .rules()
            .await?
            .iter()
            .filter(|r| r.enabled)
            .map(view_of)
            .collect())
    }

    pub async fn rules(&self, access: &Access) -> Result<Vec<RuleView>, AppError> {
        require_dpo(access)?;
        Ok(self.app.rules().await?.iter().map(view_of).collect())
    }

    pub async fn create_rule(
        &self,
        access: &Access,
        input: RuleInput,
    ) -> Result<RuleView, AppError> {
        require_dpo(access)?;
        let rule = Rule::parse(&input).map_err(rule_error)?;
        let at = self.app.clock.now().as_microsecond();
        let mut audit = self.app.access_record(
            access,
            "retention.rule.create",
            vec![rule.key.clone()],
            vec![],
        );
        audit.detail = Some(format!(
            "{} {} after {}: {}",
            rule.record, rule.duration, rule.anchor, rule.action
        ));
        self.app
            .store
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

    pub async fn update_rule(
        &self,
        access: &Access,
        key: &str,
        patch: RulePatch,
    ) -> Result<RuleView, AppError> {
        require_dpo(access)?;
        let kept = self
            .app
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
        let mut row = stored(&rule, self.app.clock.now().as_microsecond())?;
        row.created_at = kept.created_at;
        let mut audit =
            self.app
                .access_record(access, "retention.rule.update", vec![key.into()], vec![]);
        audit.detail = Some(format!(
            "{} {} after {}: {}{}",
            rule.record,
            rule.duration,
            rule.anchor,
            rule.action,
            if rule.enabled { "" } else { " (disabled)" }
        ));
        if !self.app.store.update_retention_rule(&row, audit).await? {
            return Err(AppError::NotFound);
        }
        Ok(view_of(&rule))
    }
}
