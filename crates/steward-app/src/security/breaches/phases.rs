//! Information about a breach given in phases (Art. 33(4)): each phase is appended with who
//! recorded it and when; none is ever changed or removed, so what the authority was told at
//! each step stays as it was told.

use jiff::Timestamp;
use steward_core::breach::BreachRefusal;
use steward_core::clock::from_micros;
use steward_store::BreachPhaseRow;
use uuid::Uuid;

use super::{decoded, encoded, require_keeper};
use crate::services::Breaches;
use crate::{Access, AppError, Steward};

const PHASE_MAX: usize = 10_000;

/// A phase as written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhaseInput {
    /// What was learned or done.
    pub text: String,
    /// Whether this phase was sent to the supervisory authority.
    #[serde(default)]
    pub sent_to_authority: bool,
}

/// A phase as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhaseView {
    pub id: Uuid,
    #[serde(flatten)]
    pub phase: PhaseInput,
    pub recorded_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub recorded_at: Timestamp,
}

fn checked(input: &PhaseInput) -> Result<PhaseInput, AppError> {
    let text = input.text.trim();
    if text.is_empty() {
        return Err(AppError::invalid("text", "must not be empty"));
    }
    if text.chars().count() > PHASE_MAX {
        return Err(AppError::invalid(
            "text",
            format!("must be at most {PHASE_MAX} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AppError::invalid("text", "contains control characters"));
    }
    Ok(PhaseInput {
        text: text.replace("\r\n", "\n"),
        sent_to_authority: input.sent_to_authority,
    })
}

impl Steward {
    pub(crate) async fn phase_views(&self, breach: Uuid) -> Result<Vec<PhaseView>, AppError> {
        self.store
            .breach_phases(breach)
            .await?
            .into_iter()
            .map(|r| {
                Ok(PhaseView {
                    id: r.id,
                    phase: decoded(r.breach_id, &r.phase)?,
                    recorded_by: r.recorded_by,
                    recorded_at: from_micros(r.recorded_at),
                })
            })
            .collect()
    }
}

impl Breaches<'_> {
    /// Appends a phase of information to an open breach.
    pub async fn add_phase(
        &self,
        access: &Access,
        id: Uuid,
        input: PhaseInput,
    ) -> Result<PhaseView, AppError> {
        require_keeper(access)?;
        let kept = self.app.store.breach(id).await?.ok_or(AppError::NotFound)?;
        if self.app.breach_of(&kept)?.closed_at.is_some() {
            return Err(AppError::BreachRefused(BreachRefusal::BreachClosed));
        }
        let phase = checked(&input)?;
        let now = self.app.clock.now();
        let row = BreachPhaseRow {
            id: Uuid::now_v7(),
            breach_id: id,
            phase: encoded(&phase)?,
            recorded_by: access.actor.id.clone(),
            recorded_at: now.as_microsecond(),
        };
        let mut audit = self.app.access_record(
            access,
            "breach.phase",
            vec![format!("breach:{id}"), format!("phase:{}", row.id)],
            vec![],
        );
        audit.detail = Some(format!(
            "phase appended{}",
            if phase.sent_to_authority {
                ", sent to the authority"
            } else {
                ""
            }
        ));
        self.app.store.add_breach_phase(&row, audit).await?;
        Ok(PhaseView {
            id: row.id,
            phase,
            recorded_by: row.recorded_by,
            recorded_at: now,
        })
    }
}
