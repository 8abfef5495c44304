//! The breach register: breaches, their phases, who they affected, and what was sent of them.

use uuid::Uuid;

/// A breach as kept: the record as written, the plan's checklist, and the scope found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachRow {
    pub id: Uuid,
    /// The record as written (JSON).
    pub breach: String,
    /// The response plan's steps as the breach goes through them (JSON).
    pub checklist: String,
    /// The query of the audit log and what it found (JSON), once one was run.
    pub scope: Option<String>,
    /// Who opened it, as the audit log names actors.
    pub opened_by: String,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Information added to a breach as it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachPhaseRow {
    pub id: Uuid,
    pub breach_id: Uuid,
    /// The phase as written (JSON).
    pub phase: String,
    pub recorded_by: String,
    pub recorded_at: i64,
}

/// A breach notice queued for a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreachNoticeRow {
    pub breach_id: Uuid,
    pub customer_id: Uuid,
    /// The outbox message that carries it.
    pub message_id: Uuid,
    pub queued_at: i64,
}
