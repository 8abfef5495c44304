//! Retention rules, legal holds, runs and what they find due.

use uuid::Uuid;

/// A retention rule as kept: its written form, as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRule {
    pub key: String,
    pub rule: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A legal hold: retention stops for one customer, or for a whole category (a record type
/// or a rule key), until it ends or is released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalHold {
    pub id: Uuid,
    pub customer_id: Option<Uuid>,
    pub category: Option<String>,
    pub reason: String,
    pub owner: String,
    pub created_at: i64,
    pub ends_at: Option<i64>,
    pub released_at: Option<i64>,
}

/// A sweep, real or dry, and its report so far (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRun {
    pub id: Uuid,
    pub dry_run: bool,
    /// `running`, `finished` or `failed`.
    pub state: String,
    pub started_by: String,
    pub started_at: i64,
    pub heartbeat_at: i64,
    pub finished_at: Option<i64>,
    pub report: String,
}

/// Which records a rule finds due: those whose anchor is at or before `cutoff` and that no
/// run has acted on, by id after `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueQuery {
    pub rule_key: String,
    /// `customer`, `interaction`, `request` or `consent_proof`.
    pub record: String,
    pub anchor: String,
    pub kind: Option<String>,
    pub cutoff: i64,
    pub after: Option<Uuid>,
    pub limit: usize,
}

/// A record a rule found, the customer it belongs to, and the instant its time counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundRecord {
    pub record_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub anchor_at: i64,
}

/// A record found due, with the instant it fell due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueRecord {
    pub record_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub anchor_at: i64,
    pub due_at: i64,
}

/// What a run does with a page of due records, in one transaction: the action, its audit
/// entries, and the run's progress. A record another run acted on already is left alone, and
/// so is its audit entry; an erased customer's erasure is recorded for recipients (Art. 19).
#[derive(Debug, Clone)]
pub struct SweepBatch {
    pub run: RetentionRun,
    pub rule_key: String,
    pub record: String,
    pub action: String,
    pub records: Vec<DueRecord>,
    pub at: i64,
    /// When the recipients of an erased customer's data must have been told (Art. 19).
    pub notify_by: i64,
    /// For `anonymise`: the sealed content an interaction is left with.
    pub blank: Vec<u8>,
    /// For `erase`: the proof of each consent event of the customers, by event id, kept
    /// when their ledgers go.
    pub proofs: std::collections::HashMap<Uuid, crate::ConsentProof>,
    /// Each entry with the records it speaks for: written only if one of them was acted on,
    /// and naming only those (an entry for no record is always written).
    pub audit: Vec<(Vec<Uuid>, steward_core::audit::AuditRecord)>,
    /// Each webhook event with the record it is about: queued only if that record was acted on.
    pub events: Vec<(Uuid, crate::EventNote)>,
}

/// One record a rule acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionAction {
    pub rule_key: String,
    pub record_id: Uuid,
    pub run_id: Uuid,
    pub customer_id: Option<Uuid>,
    pub anchor_at: i64,
    pub due_at: i64,
    pub done_at: i64,
}
