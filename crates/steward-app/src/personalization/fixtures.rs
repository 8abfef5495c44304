//! What tests and benchmarks need before the level use cases exist for them: histories with
//! facets sealed with the customers' real keys, levels set (with the profiling consent full
//! rests on) or dropped as a withdrawal drops them, and keys suppressed as a customer's
//! deleting them does, without an audit entry per row. Only builds with `local-staff` have it.

use jiff::Timestamp;
use steward_core::consent::{ConsentMethod, ConsentState};
use steward_core::customer::InteractionKind;
use steward_core::personalization::{Facets, Level, PROFILED};
use steward_store::{ChangeSet, ConsentEvent, ProfileChange};
use uuid::Uuid;

use crate::collection::interactions::NewInteraction;
use crate::{AppError, Steward};

/// One interaction for [`Steward::bench_interactions`].
#[derive(Debug, Clone)]
pub struct BenchInteraction {
    pub customer: Uuid,
    pub kind: InteractionKind,
    pub occurred_at: Timestamp,
    pub facets: Facets,
}

impl Steward {
    /// Writes interactions, each sealed with its customer's key, in one change set.
    pub async fn bench_interactions(&self, rows: &[BenchInteraction]) -> Result<(), AppError> {
        let now = self.clock.now().as_microsecond();
        let mut ids: Vec<Uuid> = rows.iter().map(|r| r.customer).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut keys = std::collections::HashMap::new();
        for (id, stored) in self.keys.data_keys(&ids).await? {
            let dek = self
                .vault
                .open_data_key(&id, &crate::collection::customers::unwrap_stored(stored))?;
            keys.insert(id, dek);
        }
        let mut changes = ChangeSet::default();
        for r in rows {
            let dek = keys.get(&r.customer).ok_or(AppError::NotFound)?;
            changes.interactions.push(self.seal_interaction(
                dek,
                r.customer,
                NewInteraction {
                    kind: r.kind,
                    occurred_at: r.occurred_at.as_microsecond(),
                    summary: "benchmark",
                    body: None,
                    facets: &r.facets,
                },
                now,
            ));
        }
        self.store.apply(changes).await?;
        Ok(())
    }

    /// Sets each customer's level; at full, with the profiling consent given first.
    pub async fn bench_levels(&self, levels: &[(Uuid, Level)]) -> Result<(), AppError> {
        let now = self.clock.now().as_microsecond();
        let valid = self
            .catalog
            .purpose(PROFILED)
            .and_then(|p| p.consent_valid_days)
            .map(|d| now + i64::from(d) * 86_400_000_000);
        let mut changes = ChangeSet::default();
        for &(customer, level) in levels {
            if level == Level::Full {
                changes.consents.push(ConsentEvent {
                    id: Uuid::now_v7(),
                    customer_id: customer,
                    purpose: PROFILED.into(),
                    state: ConsentState::Given.as_str().into(),
                    notice_version: None,
                    method: ConsentMethod::Import.as_str().into(),
                    evidence: None,
                    at: now,
                    expires_at: valid,
                });
            }
            changes.personalization.push(ProfileChange::SetLevel {
                customer,
                level,
                reason: "chosen".into(),
                actor: "system:bench".into(),
                at: now,
                event: Uuid::now_v7(),
            });
        }
        self.store.apply(changes).await?;
        Ok(())
    }

    /// Withdraws the customer's profiling consent and drops their level with it, in one
    /// commit, as the consent ledger does.
    pub async fn bench_withdraw_profiling(&self, customer: Uuid) -> Result<(), AppError> {
        let now = self.clock.now().as_microsecond();
        self.store
            .apply(ChangeSet {
                consents: vec![ConsentEvent {
                    id: Uuid::now_v7(),
                    customer_id: customer,
                    purpose: PROFILED.into(),
                    state: ConsentState::Withdrawn.as_str().into(),
                    notice_version: None,
                    method: ConsentMethod::Import.as_str().into(),
                    evidence: None,
                    at: now,
                    expires_at: None,
                }],
                personalization: vec![ProfileChange::DropLevel {
                    customer,
                    at_most: Level::Basic,
                    delete_profiled: true,
                    reason: "consent_withdrawn".into(),
                    actor: "system:bench".into(),
                    at: now,
                    event: Uuid::now_v7(),
                }],
                ..Default::default()
            })
            .await?;
        Ok(())
    }

    /// Deletes a customer's attribute and keeps it from being derived again, as their
    /// deleting it does.
    pub async fn bench_suppress(&self, customer: Uuid, key: &str) -> Result<(), AppError> {
        self.store
            .apply(ChangeSet {
                personalization: vec![ProfileChange::DeleteAttribute {
                    customer,
                    key: key.into(),
                    suppress: true,
                    at: self.clock.now().as_microsecond(),
                }],
                ..Default::default()
            })
            .await?;
        Ok(())
    }
}
