//! The breach register (Art. 33(5)): breaches opened from the response plan with its steps as
//! a checklist (`register.rs`), phases of information appended as they come in
//! (`phases.rs`), the response team mailed when a breach opens and as its 72-hour clock runs
//! down (`alerts.rs`), and what is owed in words to the authority and to customers
//! (`notices.rs`); whom it reached, worked out from the audit log (`scope.rs`) and attached
//! to it with the authorities to tell (`affected.rs`); the customers are told by
//! `rights/breach_notices.rs`.
//! What a breach is and the rules its record obeys live in steward-core's `breach`.

mod affected;
mod alerts;
mod notices;
mod phases;
mod register;
pub(crate) mod scope;

use jiff::Timestamp;
use steward_core::breach::{Breach, BreachInput, ClockState, StepKind};
use steward_core::sharing::InvalidInput;
use uuid::Uuid;

use crate::{Access, Actor, AppError};

pub use affected::{AuthorityReach, BreachScope};
pub use phases::{PhaseInput, PhaseView};
pub use register::StepUpdate;

const LEGAL_OBLIGATION: &str = "essential.legal_obligation";

/// A step of the response plan as a breach goes through it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChecklistStep {
    pub step: StepKind,
    pub owner: String,
    pub description: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub done_at: Option<Timestamp>,
    /// Who marked it done, as the audit log names actors.
    #[serde(default)]
    pub done_by: Option<String>,
}

/// A breach as the register shows it: the record, where its clock stands, its checklist,
/// its phases and what was found and sent.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreachView {
    #[serde(flatten)]
    pub breach: Breach,
    /// The version a change is made from (`If-Match`).
    pub version: i64,
    pub opened_by: String,
    /// When the company became aware, plus 72 hours.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub deadline: Timestamp,
    pub clock: ClockState,
    /// Hours until the deadline (negative past it) while the decision is still to be made.
    pub hours_left: Option<f64>,
    pub checklist: Vec<ChecklistStep>,
    pub phases: Vec<PhaseView>,
    /// Whom the audit log says the breach reached, once the scope was worked out.
    pub scope: Option<BreachScope>,
    /// Customers attached to the breach by its scope.
    pub affected_customers: u64,
    /// Customers a notice was queued for.
    pub customer_notices: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl BreachView {
    /// Whether the clock needs someone now: due soon or overdue.
    pub fn pressing(&self) -> bool {
        matches!(self.clock, ClockState::DueSoon | ClockState::Overdue)
    }
}

pub(crate) fn require_keeper(access: &Access) -> Result<(), AppError> {
    if !access.actor.role.may_keep_breaches() {
        return Err(AppError::Forbidden(format!(
            "role {} may not write the breach register",
            access.actor.role
        )));
    }
    if access.purpose.key != LEGAL_OBLIGATION {
        return Err(AppError::Forbidden(format!(
            "the breach register is kept under the purpose {LEGAL_OBLIGATION}"
        )));
    }
    Ok(())
}

fn require_reader(actor: &Actor) -> Result<(), AppError> {
    if actor.role.may_read_breaches() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {} may not read the breach register",
            actor.role
        )))
    }
}

fn invalid(e: InvalidInput) -> AppError {
    AppError::invalid(e.field, e.message)
}

fn encoded<T: serde::Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| AppError::Internal(e.to_string()))
}

fn decoded<T: serde::de::DeserializeOwned>(id: Uuid, text: &str) -> Result<T, AppError> {
    serde_json::from_str(text).map_err(|_| AppError::Integrity(format!("breach {id}")))
}

fn input_of(id: Uuid, text: &str) -> Result<BreachInput, AppError> {
    decoded(id, text)
}

/// What the audit log says of a breach: its standing, never its description.
fn summary(b: &Breach, now: Timestamp) -> String {
    let risk = b.risk.map_or("not judged", |r| r.as_str());
    format!("clock {}, risk {risk}", b.clock(now))
}
