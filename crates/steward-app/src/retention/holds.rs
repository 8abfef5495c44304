//! Legal holds: what they cover, placed and released by the privacy officer, and which are
//! in force when a sweep runs.

use std::collections::HashSet;

use steward_core::retention::RecordType;
use steward_store::LegalHold;
use uuid::Uuid;

use super::{HoldInput, HoldSet, HoldView, hold_view, is_active, require_dpo};
use crate::services::Holds;
use crate::{Access, AppError, FieldError, Steward};

impl Steward {
    pub(super) async fn holds_now(&self, now: i64) -> Result<HoldSet, AppError> {
        let mut holds = HoldSet {
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
}

impl Steward {
    /// Whether a legal hold in force covers any of these customers: one on their id, or one
    /// on every customer record. What such a hold covers must not be destroyed (Art. 17(3)(e)).
    pub(crate) async fn customer_held(&self, ids: &[Uuid], now: i64) -> Result<bool, AppError> {
        Ok(self.store.legal_holds().await?.iter().any(|h| {
            (h.customer_id.is_some_and(|c| ids.contains(&c))
                || h.category.as_deref() == Some(RecordType::Customer.as_str()))
                && is_active(h, now)
        }))
    }
}

impl Holds<'_> {
    pub async fn list(&self, access: &Access) -> Result<Vec<HoldView>, AppError> {
        require_dpo(access)?;
        let now = self.app.clock.now().as_microsecond();
        Ok(self
            .app
            .store
            .legal_holds()
            .await?
            .iter()
            .map(|h| hold_view(h, now))
            .collect())
    }

    pub async fn create(&self, access: &Access, input: HoldInput) -> Result<HoldView, AppError> {
        require_dpo(access)?;
        let now = self.app.clock.now().as_microsecond();
        let mut errors = Vec::new();
        match (&input.customer_id, &input.category) {
            (Some(_), Some(_)) | (None, None) => errors.push(FieldError::new(
                "customer_id",
                "hold either one customer (customer_id) or one category",
            )),
            (None, Some(c)) => {
                let rules = self.app.rules().await?;
                let known = RecordType::ALL.iter().any(|r| r.as_str() == c)
                    || rules.iter().any(|r| &r.key == c);
                if !known {
                    errors.push(FieldError::new(
                        "category",
                        "must be a record type (customer, interaction, fields, request, consent_proof) or a rule key",
                    ));
                }
            }
            (Some(id), None) => {
                if self.app.store.get_customer(*id).await?.is_none() {
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
        let audit = self
            .app
            .access_record(access, "retention.hold", targets, vec![]);
        self.app.store.create_legal_hold(&hold, audit).await?;
        Ok(hold_view(&hold, now))
    }

    pub async fn release(&self, access: &Access, id: Uuid) -> Result<(), AppError> {
        require_dpo(access)?;
        let now = self.app.clock.now().as_microsecond();
        let audit =
            self.app
                .access_record(access, "retention.release", vec![id.to_string()], vec![]);
        if self.app.store.release_legal_hold(id, now, audit).await? {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}
