//! The request desk: data-subject requests from the portal or logged by staff for the
//! email, phone and post that reach them, each with the legal deadlines of the subject's
//! jurisdiction, a state machine, duplicate detection, and mail to the requester on receipt,
//! extension, completion and denial. Staff handle requests under the legal-obligation
//! purpose only.

mod handling;
mod intake;
mod reading;

use jiff::Timestamp;
use steward_core::clock::from_micros;
use steward_core::request::{RequestKind, RequestState};
use steward_core::sealed_fields::SealedFields;
use steward_store::{ChangeSet, CustomerRow, MICROS_PER_DAY, RequestRow};
use uuid::Uuid;

use crate::infra::mail::Letter;
use crate::security::access::LEGAL_OBLIGATION;
use crate::{Access, AppError, Steward};

/// The derived key a request's subject is hashed with.
pub(crate) const SUBJECT: &str = "request.subject";
const MAX_REASON: usize = 2_000;
pub const MAX_REQUESTS: usize = 500;

/// A request as staff log it: the subject by customer id or by a contact detail.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestInput {
    /// access, portability, rectification, erasure, restriction or objection.
    #[serde(rename = "type")]
    pub kind: String,
    /// email, phone, post or api.
    pub channel: String,
    #[serde(default)]
    pub customer_id: Option<Uuid>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    /// The requester's country, when they are not a known customer: it picks the law.
    #[serde(default)]
    pub residency: Option<String>,
    /// For an objection: the purpose objected to.
    #[serde(default)]
    pub purpose: Option<String>,
}

/// Why a request is extended or denied; sent to the requester, so no personal values.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReasonInput {
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestView {
    pub id: Uuid,
    /// The right exercised.
    #[serde(rename = "type")]
    pub kind: String,
    pub channel: String,
    pub state: String,
    pub jurisdiction: String,
    /// Absent once the customer is erased, or when no customer matched.
    pub customer_id: Option<Uuid>,
    pub purpose: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub acknowledge_by: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub acknowledged_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub due_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub verified_at: Option<Timestamp>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<Timestamp>,
    pub extension_reason: Option<String>,
    pub denial_reason: Option<String>,
    /// Open and past its deadline.
    pub overdue: bool,
    /// A correction waiting for review: the field it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_field: Option<String>,
    /// The value it proposes; shown only when one request is read, and that read audited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_value: Option<String>,
}

/// One erasure, rectification or restriction, kept for the recipients of the data (Art. 19).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecipientUpdateView {
    /// erasure, rectification, restriction or restriction_lifted.
    pub kind: String,
    pub fields: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
    /// When the recipients were told; absent until then.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub notified_at: Option<Timestamp>,
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestQuery {
    /// Only those still open, soonest due first.
    pub open: bool,
    /// Only open ones due within this many days (overdue ones included).
    pub due_within_days: Option<u32>,
    pub customer_id: Option<Uuid>,
    pub limit: Option<usize>,
}

/// Counts by kind and outcome and the median days to complete: the figures the CCPA asks
/// large businesses to publish each year.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RequestReport {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub since: Timestamp,
    pub kinds: Vec<KindTally>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KindTally {
    pub kind: String,
    pub received: u64,
    pub completed: u64,
    pub denied: u64,
    pub open: u64,
    /// Median days from receipt to completion or denial; absent with none closed.
    pub median_days: Option<f64>,
}

fn view(row: &RequestRow, now: i64) -> RequestView {
    let state: Option<RequestState> = row.state.parse().ok();
    RequestView {
        id: row.id,
        kind: row.kind.clone(),
        channel: row.channel.clone(),
        state: row.state.clone(),
        jurisdiction: row.jurisdiction.clone(),
        customer_id: row.customer_id,
        purpose: row.purpose.clone(),
        received_at: from_micros(row.received_at),
        acknowledge_by: row.acknowledge_by.map(from_micros),
        acknowledged_at: row.acknowledged_at.map(from_micros),
        due_at: from_micros(row.due_at),
        verified_at: row.verified_at.map(from_micros),
        closed_at: row.closed_at.map(from_micros),
        extension_reason: row.extension_reason.clone(),
        denial_reason: row.denial_reason.clone(),
        overdue: !state.is_some_and(RequestState::is_final) && row.due_at < now,
        proposed_field: row
            .proposal
            .as_deref()
            .and_then(|p| SealedFields::decode(p).ok())
            .and_then(|f| f.iter().next().map(|(k, _)| k.to_string())),
        proposed_value: None,
    }
}

fn median(mut days: Vec<f64>) -> Option<f64> {
    if days.is_empty() {
        return None;
    }
    days.sort_by(f64::total_cmp);
    let mid = days.len() / 2;
    let m = if days.len().is_multiple_of(2) {
        (days[mid - 1] + days[mid]) / 2.0
    } else {
        days[mid]
    };
    Some((m * 10.0).round() / 10.0)
}

/// Tallies requests by kind, in the order of the kinds.
pub(crate) fn tally(rows: &[RequestRow]) -> Vec<KindTally> {
    RequestKind::ALL
        .iter()
        .map(|kind| {
            let of_kind: Vec<&RequestRow> =
                rows.iter().filter(|r| r.kind == kind.as_str()).collect();
            let count = |state: RequestState| {
                of_kind.iter().filter(|r| r.state == state.as_str()).count() as u64
            };
            let closed_days = of_kind
                .iter()
                .filter_map(|r| r.closed_at.map(|c| (c - r.received_at) as f64))
                .map(|micros| micros / MICROS_PER_DAY as f64)
                .collect();
            let completed = count(RequestState::Completed);
            let denied = count(RequestState::Denied);
            KindTally {
                kind: kind.as_str().into(),
                received: of_kind.len() as u64,
                completed,
                denied,
                open: of_kind.len() as u64 - completed - denied,
                median_days: median(closed_days),
            }
        })
        .collect()
}

fn parse_reason(input: &ReasonInput) -> Result<String, AppError> {
    let reason = input.reason.trim();
    if reason.is_empty() {
        return Err(AppError::invalid(
            "reason",
            "is needed: it is sent to the requester",
        ));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(AppError::invalid(
            "reason",
            format!("at most {MAX_REASON} characters"),
        ));
    }
    Ok(reason.to_string())
}

fn day(t: i64) -> String {
    from_micros(t)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

/// Only the legal-obligation purpose reaches the desk.
fn require_desk(access: &Access) -> Result<(), AppError> {
    if access.purpose.key == LEGAL_OBLIGATION {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "requests are handled under the purpose {LEGAL_OBLIGATION}"
        )))
    }
}

impl Steward {
    /// The pseudonym a subject's requests are kept under.
    pub(crate) fn request_subject(&self, key: &str) -> Result<Vec<u8>, AppError> {
        Ok(self.vault.blind_index(SUBJECT, key)?.to_vec())
    }

    fn request_record(
        &self,
        access: &Access,
        action: &str,
        row: &RequestRow,
        detail: Option<String>,
    ) -> steward_core::audit::AuditRecord {
        let mut targets = vec![row.id.to_string()];
        targets.extend(row.customer_id.map(|c| c.to_string()));
        let mut r = self.access_record(access, action, targets, Vec::new());
        r.detail = detail;
        r
    }

    /// A letter about a request to the customer it concerns, when one is known and has an
    /// address.
    async fn request_letter(
        &self,
        customer: Option<&CustomerRow>,
        kind: &str,
        subject: &str,
        text: String,
        now: i64,
    ) -> Result<Option<steward_store::OutboxRow>, AppError> {
        let Some(row) = customer else { return Ok(None) };
        let Some((dek, to)) = self.customer_address(row).await? else {
            return Ok(None);
        };
        let letter = Letter {
            to,
            subject: subject.into(),
            text,
            unsubscribe: None,
        };
        Ok(Some(self.outbox_row(&dek, kind, None, &letter, now)?))
    }

    /// Writes a change to the request desk and wakes the mail sender when it queued mail.
    pub(crate) async fn commit_request(&self, changes: ChangeSet) -> Result<(), AppError> {
        let queued = !changes.mail.is_empty();
        self.store.apply(changes).await.map_err(|e| match e {
            steward_store::StoreError::Conflict => {
                AppError::Conflict("the request moved on meanwhile; reload it".into())
            }
            e => e.into(),
        })?;
        if queued {
            self.mail_queued();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, state: &str, received: i64, closed: Option<i64>) -> RequestRow {
        RequestRow {
            id: Uuid::now_v7(),
            kind: kind.into(),
            channel: "email".into(),
            state: state.into(),
            jurisdiction: "gdpr".into(),
            customer_id: None,
            subject: vec![],
            purpose: None,
            received_at: received,
            acknowledge_by: None,
            acknowledged_at: None,
            due_at: received + 30 * MICROS_PER_DAY,
            verified_at: None,
            closed_at: closed,
            extension_reason: None,
            denial_reason: None,
            updated_at: received,
            proposal: None,
        }
    }

    #[test]
    fn the_report_counts_outcomes_and_the_median_days_to_close() {
        let d = MICROS_PER_DAY;
        let rows = vec![
            row("access", "completed", 0, Some(2 * d)),
            row("access", "completed", 0, Some(10 * d)),
            row("access", "denied", 0, Some(5 * d)),
            row("access", "received", 0, None),
            row("erasure", "completed", 0, Some(d)),
            row("erasure", "completed", 0, Some(4 * d)),
        ];
        let report = tally(&rows);
        let access = report.iter().find(|k| k.kind == "access").expect("access");
        assert_eq!(
            (
                access.received,
                access.completed,
                access.denied,
                access.open
            ),
            (4, 2, 1, 1)
        );
        assert_eq!(access.median_days, Some(5.0));
        let erasure = report
            .iter()
            .find(|k| k.kind == "erasure")
            .expect("erasure");
        assert_eq!(erasure.median_days, Some(2.5));
        let objection = report
            .iter()
            .find(|k| k.kind == "objection")
            .expect("all kinds");
        assert_eq!((objection.received, objection.median_days), (0, None));
    }
}
