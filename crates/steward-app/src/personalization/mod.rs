//! Personalization the customer controls (I8): the level they choose, the profile attributes
//! read only through the gate, and recommendations that say why. Consent and rights never
//! reach in here: what they do to a level travels as store changes (`ProfileChange`) and
//! core rules (`drop_after_consent`). Attribute values are sealed with the customer's key
//! (`values.rs`); only customers at full have anything derived (`recompute.rs`).

mod export;
mod gate;
mod level;
mod notice;
pub(crate) mod offers;
mod profile;
mod recommend;
pub(crate) mod recompute;
pub(crate) mod values;

#[cfg(feature = "local-staff")]
pub(crate) mod fixtures;

use jiff::Timestamp;
use serde::Serialize;
use steward_core::personalization::{AttrValue, Level, Source};
use uuid::Uuid;

use crate::{AppError, Receipt};

pub(crate) use gate::{ReadAttribute, ReadFor, Wanted};
pub use level::LevelCounts;
pub use notice::{HowItWorks, HowLevel, HowRule};
pub use offers::OfferView;
pub use profile::{PersonalizationPage, SuppressedView};
pub use recommend::{
    AttributeUsed, Counterfactual, DEFAULT_RECOMMENDATIONS, OfferItem, OfferRef, Recommendations,
    WhyExplanation,
};
pub use recompute::RecomputeReport;

/// What a level rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Basis {
    /// Full: the customer's profiling consent, whose signed receipt can be fetched.
    Consent {
        purpose: String,
        event_id: Uuid,
        /// Where the consent's receipt is read.
        receipt: String,
    },
    /// Basic: what the customer told us, used on legitimate interests.
    LegitimateInterests { purpose: String },
}

impl Basis {
    pub(crate) fn consent(purpose: &str, event_id: Uuid) -> Basis {
        Basis::Consent {
            purpose: purpose.to_string(),
            event_id,
            receipt: format!("/api/v1/receipts/{event_id}"),
        }
    }
}

/// A customer's level: the one chosen and the one in force, with its history.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LevelView {
    pub customer_id: Uuid,
    /// What the customer chose (off when they never chose).
    pub chosen: Level,
    /// What is used now: full needs profiling consent given and not expired; nothing is used
    /// while processing is restricted or the account closed.
    pub effective: Level,
    pub basis: Option<Basis>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub changed_at: Option<Timestamp>,
    pub history: Vec<LevelEventView>,
    /// The profiling consent's signed receipt, in the answer to choosing full with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Receipt>,
}

/// One change of level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LevelEventView {
    pub id: Uuid,
    pub level: Level,
    pub previous: Level,
    /// chosen, consent_withdrawn, consent_expired, objection_marketing or objection_upheld.
    pub reason: String,
    pub actor: String,
    /// The profiling consent a change to full rested on.
    pub consent_event_id: Option<Uuid>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}

/// One profile attribute as the customer's copy of their data shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttributeView {
    pub key: String,
    pub label: String,
    pub value: AttrValue,
    /// declared (they told us), observed (we counted it) or inferred (we worked it out).
    pub source: Source,
    /// What it was derived from, without values; `{}` for what they declared.
    pub derived_from: String,
    pub rule_key: Option<String>,
    pub rule_version: Option<u32>,
    pub confidence: f64,
    /// The lowest level at which it is used.
    pub min_level: Level,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub computed_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<Timestamp>,
    /// Why it says what it says, in the customer's words.
    pub explanation: String,
}

/// Personalization's part of what is held about a customer.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonalizationHeld {
    pub level: LevelView,
    /// Every attribute kept, whatever the level: kept is disclosed, used or not.
    pub attributes: Vec<AttributeView>,
}

/// A level asked for by staff.
#[derive(Debug, Clone, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LevelInput {
    pub level: Level,
}

fn at(micros: i64) -> Result<Timestamp, AppError> {
    Timestamp::from_microsecond(micros).map_err(|e| AppError::Integrity(e.to_string()))
}
