//! The level a customer chooses: read by staff, set by staff on the customer's word, chosen
//! by the customer in the portal. Full rests on profiling consent; choosing it with the box
//! ticked records that consent, its receipt and the level in one commit.

use steward_core::consent::{ConsentMethod, ConsentState};
use steward_core::personalization::{LIMITED, Level, PROFILED};
use steward_store::{ChangeSet, ProfileChange};
use uuid::Uuid;

use super::{LevelEventView, LevelInput, LevelView, at};
use crate::services::{OwnRights, Personalization};
use crate::{Access, Actor, AppError, ConsentInput, Evidence, Steward, Subject};

impl Steward {
    /// The customer's level with its history; `NotFound` for an unknown customer.
    pub(crate) async fn level_view(&self, customer: Uuid) -> Result<LevelView, AppError> {
        let standing = self
            .standings(&[customer])
            .await?
            .remove(&customer)
            .ok_or(AppError::NotFound)?;
        let history = self
            .store
            .level_history(customer)
            .await?
            .into_iter()
            .map(|e| {
                Ok(LevelEventView {
                    id: e.id,
                    level: e.level,
                    previous: e.previous,
                    reason: e.reason,
                    actor: e.actor,
                    consent_event_id: e.consent_event_id,
                    at: at(e.at)?,
                })
            })
            .collect::<Result<_, AppError>>()?;
        Ok(LevelView {
            customer_id: customer,
            chosen: standing.chosen.as_ref().map_or(Level::Off, |l| l.level),
            effective: standing.effective,
            basis: standing.basis,
            changed_at: standing
                .chosen
                .as_ref()
                .map(|l| at(l.changed_at))
                .transpose()?,
            history,
            receipt: None,
        })
    }

    /// Whether the customer's profiling consent is given and not expired now, and its event.
    async fn profiling_consent(&self, customer: Uuid) -> Result<Option<Uuid>, AppError> {
        let moment = self.consent_moment().await?;
        Ok(self
            .store
            .consents_for(PROFILED, &[customer])
            .await?
            .into_iter()
            .find(|e| {
                e.state.parse::<ConsentState>().is_ok_and(|s| {
                    steward_core::consent::effective(s, e.at, e.expires_at, moment)
                        == ConsentState::Given
                })
            })
            .map(|e| e.id))
    }

    /// Refuses a level the customer's upheld objection to the limited purpose rules out.
    async fn refuse_after_objection(&self, customer: Uuid, level: Level) -> Result<(), AppError> {
        if level != Level::Off && self.store.objected(customer, LIMITED).await? {
            return Err(AppError::Objected {
                purpose: LIMITED.into(),
            });
        }
        Ok(())
    }

    /// Derives a customer's profile as soon as they are at full, so their suggestions need
    /// not wait for the next run. The level is committed already: a failure here leaves the
    /// profile to that run.
    async fn derive_now(&self, customer: Uuid) {
        let actor = Actor::system("personalization-level", &[PROFILED]);
        if let Err(e) = self
            .personalization()
            .for_customers(&actor, &[customer])
            .await
        {
            tracing::warn!(customer = %customer, error = %e, "profile not derived at once; the next run derives it");
        }
    }

    /// The change and its audit entry that set a level.
    fn level_change(
        &self,
        actor: &Actor,
        customer: Uuid,
        level: Level,
        now: i64,
    ) -> (ProfileChange, steward_core::audit::AuditRecord) {
        let event = Uuid::now_v7();
        let change = ProfileChange::SetLevel {
            customer,
            level,
            reason: "chosen".into(),
            actor: actor.id.clone(),
            at: now,
            event,
        };
        let audit = self.record(
            actor,
            "personalization.level",
            level.purpose(),
            vec![customer.to_string(), format!("level-event:{event}")],
            vec![],
            Some(format!("level={level} reason=chosen")),
        );
        (change, audit)
    }
}

/// How many customers chose each level, counts only: those who never chose are at off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LevelCounts {
    pub off: u64,
    pub basic: u64,
    pub full: u64,
}

impl LevelCounts {
    pub fn at(&self, level: Level) -> u64 {
        match level {
            Level::Off => self.off,
            Level::Basic => self.basic,
            Level::Full => self.full,
        }
    }

    pub fn total(&self) -> u64 {
        self.off + self.basic + self.full
    }
}

impl Personalization<'_> {
    /// How many customers chose each level. Counts only, like the dashboard's: no customer
    /// is named, so nothing is audited.
    pub async fn level_counts(&self) -> Result<LevelCounts, AppError> {
        let mut counts = LevelCounts::default();
        for (level, n) in self.app.store.level_counts().await? {
            match level {
                Level::Off => counts.off += n,
                Level::Basic => counts.basic += n,
                Level::Full => counts.full += n,
            }
        }
        Ok(counts)
    }

    /// A customer's level and its history, for staff who open records.
    pub async fn level(&self, access: &Access, customer: Uuid) -> Result<LevelView, AppError> {
        access.require_record_access()?;
        let row = self
            .app
            .store
            .get_customer(customer)
            .await?
            .ok_or(AppError::NotFound)?;
        self.app.ensure_processable(access, &row).await?;
        self.app.level_view(customer).await
    }

    /// Sets the level the customer asked for (by telephone, by letter). Full needs their
    /// profiling consent given and not expired: staff cannot give it for them here.
    pub async fn set_level(
        &self,
        access: &Access,
        customer: Uuid,
        input: LevelInput,
    ) -> Result<LevelView, AppError> {
        access.require_record_access()?;
        let row = self
            .app
            .store
            .get_customer(customer)
            .await?
            .ok_or(AppError::NotFound)?;
        self.app.ensure_processable(access, &row).await?;
        self.app
            .refuse_after_objection(customer, input.level)
            .await?;
        let mut changes = ChangeSet::default();
        if input.level == Level::Full {
            let event = self.app.profiling_consent(customer).await?.ok_or_else(|| {
                AppError::ConsentRequired {
                    purpose: PROFILED.into(),
                }
            })?;
            // Only if the consent read is still the current one when this commits: a
            // withdrawal meanwhile wins.
            changes.consent_guards = vec![(customer, PROFILED.into(), event)];
        }
        let now = self.app.clock.now().as_microsecond();
        let (change, audit) = self
            .app
            .level_change(&access.actor, customer, input.level, now);
        changes.personalization.push(change);
        changes.audit.push(audit);
        self.app.store.apply(changes).await?;
        if input.level == Level::Full {
            self.app.derive_now(customer).await;
        }
        self.app.level_view(customer).await
    }
}

impl OwnRights<'_> {
    /// The customer chooses their level in the portal. Choosing full with
    /// `consent_to_profiling` ticked gives the profiling consent: the consent, its receipt
    /// and the level commit together. Full unticked needs a consent given before.
    pub async fn choose_level(
        &self,
        subject: &Subject,
        level: Level,
        consent_to_profiling: bool,
        evidence: &Evidence,
    ) -> Result<LevelView, AppError> {
        let customer = subject.customer();
        let access = self.app.subject_access(customer)?;
        let row = self
            .app
            .store
            .get_customer(customer)
            .await?
            .ok_or(AppError::NotFound)?;
        self.app.ensure_processable(&access, &row).await?;
        self.app.refuse_after_objection(customer, level).await?;
        let now = self.app.clock.now().as_microsecond();
        let (change, audit) = self.app.level_change(&access.actor, customer, level, now);
        let with = ChangeSet {
            personalization: vec![change],
            audit: vec![audit],
            ..Default::default()
        };
        if level == Level::Full && consent_to_profiling {
            let input = ConsentInput {
                purpose: PROFILED.into(),
                state: ConsentState::Given.as_str().into(),
                notice_version: None,
                method: Some(ConsentMethod::Portal.as_str().into()),
                fields: Default::default(),
            };
            let mut events = self
                .app
                .record_decisions(&access, customer, vec![(input, true)], evidence, with)
                .await?;
            self.app.derive_now(customer).await;
            let mut view = self.app.level_view(customer).await?;
            view.receipt = events.pop().and_then(|e| e.receipt);
            return Ok(view);
        }
        let mut with = with;
        if level == Level::Full {
            let event = self.app.profiling_consent(customer).await?.ok_or_else(|| {
                AppError::ConsentRequired {
                    purpose: PROFILED.into(),
                }
            })?;
            with.consent_guards = vec![(customer, PROFILED.into(), event)];
        }
        self.app.store.apply(with).await?;
        if level == Level::Full {
            self.app.derive_now(customer).await;
        }
        self.app.level_view(customer).await
    }
}
