//! Personalization: the level each customer chose and its history, their profile attributes
//! (values sealed with their key), the keys they asked not to be derived again, offers, and
//! the runs that recompute profiles.

use steward_core::personalization::{Level, Source};
use uuid::Uuid;

/// A customer's chosen level; no row is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelRow {
    pub customer_id: Uuid,
    pub level: Level,
    /// The profiling consent `full` rests on.
    pub consent_event_id: Option<Uuid>,
    pub reason: String,
    pub changed_at: i64,
}

/// One change of level, kept for the customer's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelEventRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub level: Level,
    pub previous: Level,
    /// chosen, consent_withdrawn, consent_expired, objection_marketing or objection_upheld.
    pub reason: String,
    /// Who made the change (an audit actor: `user:...`, `subject:...`, `system:...`).
    pub actor: String,
    pub consent_event_id: Option<Uuid>,
    pub at: i64,
}

/// A profile attribute. The value is sealed with the customer's data key (field
/// `profile/<key>`); what it was derived from is in clear, and holds no value.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeRow {
    pub customer_id: Uuid,
    pub key: String,
    pub source: Source,
    /// The lowest level at which the attribute may be used (never below its source's floor).
    pub min_level: Level,
    pub value: Vec<u8>,
    /// JSON: `{"kinds":["order"],"window":"P12M"}`; `{}` for a declared attribute.
    pub derived_from: String,
    pub rule_key: Option<String>,
    pub rule_version: Option<u32>,
    pub computed_at: i64,
    pub expires_at: Option<i64>,
}

/// Which attributes a read may see. Only rows matching every part leave the database.
#[derive(Debug, Clone, Default)]
pub struct AttributeQuery {
    pub customers: Vec<Uuid>,
    /// Only these keys; empty means every key.
    pub keys: Vec<String>,
    /// Only rows whose minimum level is one of these; empty means none at all.
    pub min_levels: Vec<Level>,
    /// Rows that expired at or before this instant are left out.
    pub now: i64,
    /// Derived rows are read only at their rule's current version: (rule key, version).
    /// A derived row whose rule is not listed is left out; declared rows have no rule.
    pub rule_versions: Vec<(String, u32)>,
}

/// A key the customer deleted and does not want derived again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuppressionRow {
    pub customer_id: Uuid,
    pub key: String,
    pub at: i64,
}

/// One interaction as a profile sees it: no summary and no body, only its facets (sealed
/// with the customer's key under field `interaction/{id}/facets`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactRow {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub kind: String,
    pub occurred_at: i64,
    pub facets: Option<Vec<u8>>,
}

/// An offer; no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferRow {
    pub key: String,
    pub title: String,
    pub category: Option<String>,
    pub tags: Vec<String>,
    /// JSON, as the catalog writes it: `{"when":{"attribute":"lapsing","equals":"true"}}`.
    pub eligibility: String,
    pub priority: i64,
    /// `catalog` or `api`.
    pub origin: String,
    pub created_by: String,
    pub created_at: i64,
    pub retired_at: Option<i64>,
}

/// A recompute run and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalizationRun {
    pub id: Uuid,
    pub started_at: i64,
    pub heartbeat_at: i64,
    pub finished_at: Option<i64>,
    /// The last customer done, so a run can be followed.
    pub cursor: Option<Uuid>,
    pub customers: i64,
    pub attributes: i64,
    /// `running`, `finished` or `failed`.
    pub state: String,
}

/// A change to personalization, committed with the rest of its change set (after its
/// consent events, so a level can rest on a consent given in the same commit).
#[derive(Debug, Clone, PartialEq)]
pub enum ProfileChange {
    /// The customer's level becomes `level`. At full it rests on the customer's profiling
    /// consent, which must be given and unexpired at `at`, or nothing is applied and the
    /// change fails with `Conflict`. An event is written when the level changes.
    SetLevel {
        customer: Uuid,
        level: Level,
        reason: String,
        actor: String,
        at: i64,
        event: Uuid,
    },
    /// The level falls to `at_most` if it is above it (an event is written only then); with
    /// `delete_profiled`, observed and inferred attributes go whatever the level was.
    DropLevel {
        customer: Uuid,
        at_most: Level,
        delete_profiled: bool,
        reason: String,
        actor: String,
        at: i64,
        event: Uuid,
    },
    /// Writes (or replaces) one attribute.
    PutAttribute(AttributeRow),
    /// Deletes one attribute; with `suppress`, it is not derived again until allowed.
    DeleteAttribute {
        customer: Uuid,
        key: String,
        suppress: bool,
        at: i64,
    },
    /// Lifts a suppression.
    Allow { customer: Uuid, key: String },
    /// A recompute's results for `customers`. For each customer still at full when the
    /// change commits (its level row locked first), its observed and inferred attributes are
    /// replaced by its `rows`, suppressed keys left out; customers no longer at full are left
    /// as they are, so a withdrawal committed meanwhile is never undone.
    Recomputed {
        customers: Vec<Uuid>,
        rows: Vec<AttributeRow>,
        at: i64,
    },
    /// Deletes attributes that expired at or before this instant.
    PurgeExpired { now: i64 },
    /// Writes an offer (new or changed).
    SaveOffer(OfferRow),
    /// Records a recompute run's progress.
    SaveRun(PersonalizationRun),
}
