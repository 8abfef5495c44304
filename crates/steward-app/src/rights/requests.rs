//! The request desk: data-subject requests from the portal or logged by staff for the
//! email, phone and post that reach them, each with the legal deadlines of the subject's
//! jurisdiction, a state machine, duplicate detection, and mail to the requester on receipt,
//! extension, completion and denial. Staff handle requests under the legal-obligation
//! purpose only.

use jiff::Timestamp;
use steward_core::CountryCode;
use steward_core::catalog::LawfulBasis;
use steward_core::clock::from_micros;
use steward_core::contact::{Email, Phone};
use steward_core::customer::CustomerStatus;
use steward_core::request::{Channel, Deadlines, Jurisdiction, RequestKind, RequestState};
use steward_core::sealed_fields::SealedFields;
use steward_store::{
    ChangeSet, CustomerRow, CustomerUpdate, CustomerWrite, MICROS_PER_DAY, RecipientUpdate,
    RequestFilter, RequestMove, RequestRow, days_in_micros,
};
use uuid::Uuid;

use crate::collection::customers::LEGAL_OBLIGATION;
use crate::infra::mail::Letter;
use crate::rights::erasure::ErasureOrder;
use crate::{Access, AppError, FieldError, Steward};

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
    fn request_letter(
        &self,
        customer: Option<&CustomerRow>,
        kind: &str,
        subject: &str,
        text: String,
        now: i64,
    ) -> Result<Option<steward_store::OutboxRow>, AppError> {
        let Some(row) = customer else { return Ok(None) };
        let Some((dek, to)) = self.customer_address(row)? else {
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

    /// Finds the customer a request names, by id or by a contact detail.
    async fn request_customer(
        &self,
        input: &RequestInput,
    ) -> Result<(Option<CustomerRow>, Vec<u8>), AppError> {
        if let Some(id) = input.customer_id {
            let row = self
                .store
                .get_customer(id)
                .await?
                .ok_or_else(|| AppError::invalid("customer_id", "no such customer"))?;
            let subject = self.request_subject(&id.to_string())?;
            return Ok((Some(row), subject));
        }
        let (field, value) = match (&input.email, &input.phone) {
            (Some(e), _) => (
                "email",
                Email::parse(e)
                    .map_err(|m| AppError::invalid("email", m.to_string()))?
                    .as_str()
                    .to_string(),
            ),
            (None, Some(p)) => (
                "phone",
                Phone::parse(p)
                    .map_err(|m| AppError::invalid("phone", m.to_string()))?
                    .as_str()
                    .to_string(),
            ),
            (None, None) => {
                return Err(AppError::invalid(
                    "customer_id",
                    "name the subject: give customer_id, email or phone",
                ));
            }
        };
        if !self.catalog.field(field).is_some_and(|f| f.searchable) {
            return Err(AppError::invalid(
                field,
                "customers cannot be found by it: give customer_id",
            ));
        }
        let digest = self.vault.blind_index(field, &value)?;
        let found = self.store.lookup_index(field, &[digest]).await?;
        if found.len() > 1 {
            return Err(AppError::invalid(
                field,
                "several customers share it: give customer_id",
            ));
        }
        match found.first() {
            Some((_, id)) => {
                let row = self.store.get_customer(*id).await?;
                Ok((row, self.request_subject(&id.to_string())?))
            }
            None => Ok((None, self.request_subject(&format!("{field}:{value}"))?)),
        }
    }

    pub(crate) fn check_objection_purpose(
        &self,
        purpose: Option<&str>,
    ) -> Result<String, AppError> {
        let key = purpose.ok_or_else(|| {
            AppError::invalid("purpose", "an objection names the purpose objected to")
        })?;
        let def = self
            .catalog
            .purpose(key)
            .ok_or_else(|| AppError::invalid("purpose", "is not in the catalog"))?;
        if !matches!(
            def.lawful_basis,
            LawfulBasis::LegitimateInterests | LawfulBasis::PublicTask
        ) {
            return Err(AppError::invalid(
                "purpose",
                "an objection (Art. 21) applies to purposes resting on legitimate interests or a public task; a consent is withdrawn instead",
            ));
        }
        Ok(def.key.clone())
    }

    /// A new request's row, refusing a duplicate of one still open.
    async fn new_request(
        &self,
        kind: RequestKind,
        channel: Channel,
        customer: Option<&CustomerRow>,
        subject: Vec<u8>,
        residency: Option<CountryCode>,
        purpose: Option<String>,
    ) -> Result<RequestRow, AppError> {
        let duplicate = self
            .store
            .requests(&RequestFilter {
                open_only: true,
                subject: Some(subject.clone()),
                limit: MAX_REQUESTS,
                ..Default::default()
            })
            .await?
            .into_iter()
            .find(|r| r.kind == kind.as_str() && r.purpose == purpose);
        if let Some(open) = duplicate {
            return Err(AppError::Conflict(format!(
                "an open {kind} request for this person exists already: {}",
                open.id
            )));
        }
        let jurisdiction = customer
            .and_then(|c| CountryCode::parse(&c.residency).ok())
            .or(residency)
            .map(|c| Jurisdiction::of(&c))
            .unwrap_or(Jurisdiction::Gdpr);
        let now = self.clock.now();
        let deadlines = Deadlines::new(jurisdiction, now);
        let at = now.as_microsecond();
        Ok(RequestRow {
            id: Uuid::now_v7(),
            kind: kind.as_str().into(),
            channel: channel.as_str().into(),
            state: RequestState::Received.as_str().into(),
            jurisdiction: jurisdiction.as_str().into(),
            customer_id: customer.map(|c| c.id),
            subject,
            purpose,
            received_at: at,
            acknowledge_by: deadlines.acknowledge_by.map(|t| t.as_microsecond()),
            acknowledged_at: None,
            due_at: deadlines.answer_by.as_microsecond(),
            verified_at: None,
            closed_at: None,
            extension_reason: None,
            denial_reason: None,
            updated_at: at,
            proposal: None,
        })
    }

    /// Logs a request that reached staff by email, phone or post (or an integration), and
    /// acknowledges it to the customer when one is known.
    pub async fn create_request(
        &self,
        access: &Access,
        input: RequestInput,
    ) -> Result<RequestView, AppError> {
        require_desk(access)?;
        let mut errors = Vec::new();
        let kind = input
            .kind
            .parse::<RequestKind>()
            .map_err(|m| errors.push(FieldError::new("type", m)))
            .ok();
        let channel = input
            .channel
            .parse::<Channel>()
            .map_err(|m| errors.push(FieldError::new("channel", m)))
            .ok()
            .filter(|c| {
                let staff = *c != Channel::Portal;
                if !staff {
                    errors.push(FieldError::new(
                        "channel",
                        "portal requests are made by the customer in the portal",
                    ));
                }
                staff
            });
        let residency = input.residency.as_deref().and_then(|r| {
            CountryCode::parse(r)
                .map_err(|e| errors.push(FieldError::new("residency", e.to_string())))
                .ok()
        });
        let purpose = match kind {
            Some(RequestKind::Objection) => self
                .check_objection_purpose(input.purpose.as_deref())
                .map_err(|e| {
                    if let AppError::Invalid(mut e) = e {
                        errors.append(&mut e)
                    }
                })
                .ok(),
            _ if input.purpose.is_some() => {
                errors.push(FieldError::new(
                    "purpose",
                    "only an objection names a purpose",
                ));
                None
            }
            _ => None,
        };
        let (Some(kind), Some(channel), true) = (kind, channel, errors.is_empty()) else {
            return Err(AppError::Invalid(errors));
        };
        let (customer, subject) = self.request_customer(&input).await?;
        let mut row = self
            .new_request(
                kind,
                channel,
                customer.as_ref(),
                subject,
                residency,
                purpose,
            )
            .await?;
        let now = row.received_at;
        let mail = self.request_letter(
            customer.as_ref(),
            "request_received",
            "We received your privacy request",
            format!(
                "We received your {kind} request on {}.\n\n\
                 We will answer by {} at the latest. We may first ask you to confirm who you are.\n",
                day(row.received_at),
                day(row.due_at)
            ),
            now,
        )?;
        if mail.is_some() {
            row.acknowledged_at = Some(now);
        }
        let audit = self.request_record(access, "request.create", &row, None);
        self.commit_request(ChangeSet {
            requests: vec![row.clone()],
            mail: mail.into_iter().collect(),
            audit: vec![audit],
            ..Default::default()
        })
        .await?;
        Ok(view(&row, now))
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

    pub async fn request(&self, access: &Access, id: Uuid) -> Result<RequestView, AppError> {
        require_desk(access)?;
        let row = self.store.request(id).await?.ok_or(AppError::NotFound)?;
        let proposed = match (&row.proposal, row.customer_id) {
            (Some(p), Some(customer)) => Some(self.open_proposal(customer, p)?),
            _ => None,
        };
        let mut record = self.request_record(access, "request.read", &row, None);
        record.fields = proposed.iter().map(|(f, _)| f.clone()).collect();
        self.append(vec![record]).await?;
        let mut shown = view(&row, self.clock.now().as_microsecond());
        shown.proposed_value = proposed.map(|(_, v)| v);
        Ok(shown)
    }

    /// The field and value a correction proposes.
    pub(crate) fn open_proposal(
        &self,
        customer: Uuid,
        sealed: &[u8],
    ) -> Result<(String, String), AppError> {
        let broken = || AppError::Integrity(format!("a proposal for customer {customer}"));
        let fields = SealedFields::decode(sealed).map_err(|_| broken())?;
        let (field, bytes) = fields.iter().next().ok_or_else(broken)?;
        let value = self
            .data_key(customer)?
            .open_string(field, bytes)
            .map_err(|_| broken())?;
        Ok((field.to_string(), value))
    }

    pub async fn requests(
        &self,
        access: &Access,
        query: &RequestQuery,
    ) -> Result<Vec<RequestView>, AppError> {
        require_desk(access)?;
        let now = self.clock.now().as_microsecond();
        let limit = query.limit.unwrap_or(100).clamp(1, MAX_REQUESTS);
        let rows = self
            .store
            .requests(&RequestFilter {
                open_only: query.open || query.due_within_days.is_some(),
                due_before: query
                    .due_within_days
                    .map(|d| now.saturating_add(days_in_micros(i64::from(d)))),
                customer: query.customer_id,
                limit,
                ..Default::default()
            })
            .await?;
        let targets: Vec<String> = rows.iter().map(|r| r.id.to_string()).collect();
        self.append(vec![self.access_record(
            access,
            "request.list",
            targets,
            Vec::new(),
        )])
        .await?;
        Ok(rows.iter().map(|r| view(r, now)).collect())
    }

    /// What the recipients of a customer's data are to be told, oldest first; kept after
    /// erasure, under the erased customer's id.
    pub async fn recipient_updates(
        &self,
        access: &Access,
        customer: Uuid,
    ) -> Result<Vec<RecipientUpdateView>, AppError> {
        require_desk(access)?;
        let rows = self.store.recipient_updates(customer).await?;
        self.append(vec![self.access_record(
            access,
            "customer.recipient_updates",
            vec![customer.to_string()],
            Vec::new(),
        )])
        .await?;
        Ok(rows
            .into_iter()
            .map(|u| RecipientUpdateView {
                kind: u.kind,
                fields: u.fields,
                at: from_micros(u.at),
                notified_at: u.notified_at.map(from_micros),
            })
            .collect())
    }

    /// Requests received in the last twelve months, counted.
    pub async fn request_report(&self, access: &Access) -> Result<RequestReport, AppError> {
        require_desk(access)?;
        let since = self
            .clock
            .now()
            .as_microsecond()
            .saturating_sub(365 * MICROS_PER_DAY);
        let rows = self
            .store
            .requests(&RequestFilter {
                received_since: Some(since),
                limit: usize::MAX >> 1,
                ..Default::default()
            })
            .await?;
        self.append(vec![self.access_record(
            access,
            "request.report",
            Vec::new(),
            Vec::new(),
        )])
        .await?;
        Ok(RequestReport {
            since: from_micros(since),
            kinds: tally(&rows),
        })
    }

    pub async fn verify_request(&self, access: &Access, id: Uuid) -> Result<RequestView, AppError> {
        self.move_request(access, id, RequestState::Verified, None)
            .await
    }

    pub async fn start_request(&self, access: &Access, id: Uuid) -> Result<RequestView, AppError> {
        self.move_request(access, id, RequestState::InProgress, None)
            .await
    }

    pub async fn extend_request(
        &self,
        access: &Access,
        id: Uuid,
        input: &ReasonInput,
    ) -> Result<RequestView, AppError> {
        let reason = parse_reason(input)?;
        self.move_request(access, id, RequestState::Extended, Some(reason))
            .await
    }

    pub async fn deny_request(
        &self,
        access: &Access,
        id: Uuid,
        input: &ReasonInput,
    ) -> Result<RequestView, AppError> {
        let reason = parse_reason(input)?;
        self.move_request(access, id, RequestState::Denied, Some(reason))
            .await
    }

    /// Completes a request, carrying it out where Steward can: an erasure erases (and
    /// suppresses the address), a restriction restricts. Access, portability and
    /// rectification are answered by staff through the export and the customer record
    /// before they complete the request.
    pub async fn complete_request(
        &self,
        access: &Access,
        id: Uuid,
    ) -> Result<RequestView, AppError> {
        self.move_request(access, id, RequestState::Completed, None)
            .await
    }

    /// Moves a request on, with its effect and its letter, in one transaction.
    async fn move_request(
        &self,
        access: &Access,
        id: Uuid,
        to: RequestState,
        reason: Option<String>,
    ) -> Result<RequestView, AppError> {
        require_desk(access)?;
        let row = self.store.request(id).await?.ok_or(AppError::NotFound)?;
        let from: RequestState = row
            .state
            .parse()
            .map_err(|_| AppError::Integrity(format!("request {id}")))?;
        if !from.may_become(to) {
            return Err(AppError::Conflict(format!(
                "a request that is {from} cannot become {to}"
            )));
        }
        if to == RequestState::Extended && row.extension_reason.is_some() {
            return Err(AppError::Conflict(
                "a request is extended once at most".into(),
            ));
        }
        let kind: RequestKind = row
            .kind
            .parse()
            .map_err(|_| AppError::Integrity(format!("request {id}")))?;
        let now = self.clock.now().as_microsecond();
        let mut next = RequestRow {
            state: to.as_str().into(),
            updated_at: now,
            ..row.clone()
        };
        match to {
            RequestState::Verified => next.verified_at = Some(now),
            RequestState::Extended => {
                let jurisdiction: Jurisdiction = row
                    .jurisdiction
                    .parse()
                    .map_err(|_| AppError::Integrity(format!("request {id}")))?;
                next.due_at = Deadlines::extended(jurisdiction, from_micros(row.received_at))
                    .as_microsecond();
                next.extension_reason = reason.clone();
            }
            RequestState::Denied => {
                next.closed_at = Some(now);
                next.denial_reason = reason.clone();
                next.proposal = None;
            }
            RequestState::Completed => {
                next.closed_at = Some(now);
                next.proposal = None;
            }
            RequestState::Received | RequestState::InProgress => {}
        }
        let customer = match row.customer_id {
            Some(c) => self.store.get_customer(c).await?,
            None => None,
        };
        let action = format!("request.{}", to.as_str());
        let audit = self.request_record(access, &action, &next, reason.clone());
        let mut changes = ChangeSet {
            request_moves: vec![RequestMove {
                row: next.clone(),
                from: row.state.clone(),
            }],
            audit: vec![audit],
            ..Default::default()
        };
        let letter = match to {
            RequestState::Extended => Some((
                "Your privacy request needs more time".to_string(),
                format!(
                    "We need more time to answer your {kind} request of {}, for this reason:\n\n{}\n\n\
                     We will answer by {} at the latest.\n",
                    day(row.received_at),
                    reason.as_deref().unwrap_or_default(),
                    day(next.due_at)
                ),
            )),
            RequestState::Denied => Some((
                "Your privacy request".to_string(),
                format!(
                    "We cannot carry out your {kind} request of {}, for this reason:\n\n{}\n\n\
                     You may complain to a data protection authority.\n",
                    day(row.received_at),
                    reason.as_deref().unwrap_or_default()
                ),
            )),
            RequestState::Completed => Some((
                "Your privacy request is complete".to_string(),
                format!(
                    "We have carried out your {kind} request of {}.\n",
                    day(row.received_at)
                ),
            )),
            _ => None,
        };
        if to == RequestState::Completed
            && kind == RequestKind::Erasure
            && let Some(customer) = &customer
        {
            changes.audit.push(self.access_record(
                access,
                "customer.erase",
                vec![customer.id.to_string()],
                Vec::new(),
            ));
            // The person's own key is gone once the erasure commits: the letter is sealed
            // under one of its own.
            let address = match self.customer_address(customer) {
                Ok(found) => found,
                Err(AppError::NotFound) => None,
                Err(e) => return Err(e),
            };
            let farewell = match (address, letter) {
                (Some((_, to)), Some((subject, text))) => Some((
                    row.id,
                    Letter {
                        to,
                        subject,
                        text: format!(
                            "{text}\nEverything we held about you is erased. If you sign up again, \
                             you will start afresh.\n"
                        ),
                        unsubscribe: None,
                    },
                )),
                _ => None,
            };
            // The key goes before the commit that moves the request: a request moved meanwhile
            // (denied by a colleague) must stop the erasure before that.
            if self.store.request(id).await?.map(|r| r.state) != Some(row.state.clone()) {
                return Err(AppError::Conflict(
                    "the request moved on meanwhile; reload it".into(),
                ));
            }
            self.erase(
                customer,
                ErasureOrder {
                    at_their_request: true,
                    farewell,
                    with: changes,
                },
            )
            .await
            .map_err(|e| match e {
                AppError::StaleVersion => {
                    AppError::Conflict("the request moved on meanwhile; reload it".into())
                }
                e => e,
            })?;
            return Ok(view(&next, now));
        }
        if to == RequestState::Completed
            && kind == RequestKind::Restriction
            && let Some(customer) = &customer
            && customer.status != CustomerStatus::Restricted.as_str()
        {
            changes.audit.push(self.access_record(
                access,
                "customer.restrict",
                vec![customer.id.to_string()],
                vec!["status".into()],
            ));
            changes
                .updates
                .push(self.status_change(customer, CustomerStatus::Restricted, now));
            changes.recipient_updates.push(RecipientUpdate {
                id: Uuid::now_v7(),
                customer_id: customer.id,
                kind: "restriction".into(),
                fields: Vec::new(),
                at: now,
                notified_at: None,
            });
        }
        if to == RequestState::Completed
            && kind == RequestKind::Rectification
            && let (Some(customer), Some(proposal)) = (&customer, &row.proposal)
        {
            let (field, value) = self.open_proposal(customer.id, proposal)?;
            changes.audit.push(self.access_record(
                access,
                "customer.rectify",
                vec![customer.id.to_string()],
                vec![field.clone()],
            ));
            let def = self
                .catalog
                .field(&field)
                .cloned()
                .ok_or_else(|| AppError::Integrity(format!("request {id}: unknown field")))?;
            changes
                .updates
                .push(self.corrected(customer, &def, &value, now)?);
            changes.recipient_updates.push(RecipientUpdate {
                id: Uuid::now_v7(),
                customer_id: customer.id,
                kind: "rectification".into(),
                fields: vec![field],
                at: now,
                notified_at: None,
            });
        }
        if let Some((subject, text)) = letter {
            changes.mail.extend(self.request_letter(
                customer.as_ref(),
                &format!("request_{}", to.as_str()),
                &subject,
                text,
                now,
            )?);
        }
        self.commit_request(changes).await?;
        Ok(view(&next, now))
    }

    /// The customer row with a new status, as an update guarded by its version.
    pub(crate) fn status_change(
        &self,
        row: &CustomerRow,
        status: CustomerStatus,
        now: i64,
    ) -> CustomerUpdate {
        CustomerUpdate {
            write: CustomerWrite {
                row: CustomerRow {
                    status: status.as_str().into(),
                    version: row.version + 1,
                    updated_at: now,
                    ..row.clone()
                },
                index: Vec::new(),
            },
            expected_version: row.version,
            replaced_index_fields: Vec::new(),
        }
    }

    /// A request the customer makes in the portal: they are who they signed in as, so it
    /// starts verified.
    pub(crate) async fn portal_request(
        &self,
        customer: &CustomerRow,
        kind: RequestKind,
        purpose: Option<String>,
    ) -> Result<RequestRow, AppError> {
        let subject = self.request_subject(&customer.id.to_string())?;
        let mut row = self
            .new_request(
                kind,
                Channel::Portal,
                Some(customer),
                subject,
                None,
                purpose,
            )
            .await?;
        row.state = RequestState::Verified.as_str().into();
        row.verified_at = Some(row.received_at);
        row.acknowledged_at = Some(row.received_at);
        Ok(row)
    }

    /// The customer's own requests, newest first.
    pub(crate) async fn own_requests(&self, customer: Uuid) -> Result<Vec<RequestView>, AppError> {
        let now = self.clock.now().as_microsecond();
        Ok(self
            .store
            .requests(&RequestFilter {
                customer: Some(customer),
                limit: MAX_REQUESTS,
                ..Default::default()
            })
            .await?
            .iter()
            .map(|r| view(r, now))
            .collect())
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
