//! Requests coming in: logged by staff for the email, phone and post that reach them, or
//! made by the customer in the portal; the subject found, duplicates refused, receipt
//! acknowledged.

use steward_core::CountryCode;
use steward_core::contact::{Email, Phone};
use steward_core::request::{Channel, Deadlines, Jurisdiction, RequestKind, RequestState};
use steward_store::{ChangeSet, CustomerRow, RequestFilter, RequestRow};
use uuid::Uuid;

use super::{MAX_REQUESTS, RequestInput, RequestView, day, require_desk, view};
use crate::services::Requests;
use crate::{Access, AppError, FieldError, Steward};

impl Steward {
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
        if !def.lawful_basis.open_to_objection() {
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
}

impl Requests<'_> {
    /// Logs a request that reached staff by email, phone or post (or an integration), and
    /// acknowledges it to the customer when one is known.
    pub async fn create(
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
                .app
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
        let (customer, subject) = self.app.request_customer(&input).await?;
        let mut row = self
            .app
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
        let mail = self.app.request_letter(
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
        ).await?;
        if mail.is_some() {
            row.acknowledged_at = Some(now);
        }
        let audit = self
            .app
            .request_record(access, "request.create", &row, None);
        self.app
            .commit_request(ChangeSet {
                requests: vec![row.clone()],
                mail: mail.into_iter().collect(),
                audit: vec![audit],
                ..Default::default()
            })
            .await?;
        Ok(view(&row, now))
    }
}
