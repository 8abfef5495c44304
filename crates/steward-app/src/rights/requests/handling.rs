//! Requests moved through their states by staff: verified, started, extended, denied or
//! completed, each with its effect on the customer and its letter, in one transaction.

use steward_core::clock::from_micros;
use steward_core::customer::CustomerStatus;
use steward_core::personalization::drop_after_objection;
use steward_core::request::{Deadlines, Jurisdiction, RequestKind, RequestState};
use steward_store::{
    ChangeSet, CustomerRow, CustomerUpdate, CustomerWrite, RequestMove, RequestRow,
};
use uuid::Uuid;

use super::{ReasonInput, RequestView, day, parse_reason, require_desk, view};
use crate::infra::mail::Letter;
use crate::rights::erasure::ErasureOrder;
use crate::services::Requests;
use crate::sharing::webhooks::{EventType, note};
use crate::{Access, AppError, Steward};

impl Steward {
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
            let address = match self.customer_address(customer).await {
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
            self.restrict(&mut changes, customer, now)?;
        }
        // Art. 21(1): the completed request is what every later read, audience and export
        // of the purpose checks; the entry says when and by whom the objection was upheld.
        if to == RequestState::Completed
            && kind == RequestKind::Objection
            && let (Some(customer), Some(purpose)) = (&customer, &row.purpose)
        {
            let mut upheld = self.access_record(
                access,
                "objection.upheld",
                vec![customer.id.to_string(), row.id.to_string()],
                Vec::new(),
            );
            upheld.detail = Some(format!("purpose={purpose}"));
            changes.audit.push(upheld);
            // Upheld against limited personalization, the level falls to off in this commit.
            if let Some(drop) = drop_after_objection(purpose) {
                self.drop_level(&access.actor, customer.id, drop, &mut changes, now);
            }
        }
        if to == RequestState::Completed
            && kind == RequestKind::Rectification
            && let (Some(customer), Some(proposal)) = (&customer, &row.proposal)
        {
            let (field, value) = self.open_proposal(customer.id, proposal).await?;
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
            self.correct(&mut changes, customer, &def, &value, now)
                .await?;
        }
        if let Some((subject, text)) = letter {
            changes.mail.extend(
                self.request_letter(
                    customer.as_ref(),
                    &format!("request_{}", to.as_str()),
                    &subject,
                    text,
                    now,
                )
                .await?,
            );
        }
        self.commit_request(changes).await?;
        Ok(view(&next, now))
    }

    /// The customer restricted (Art. 18), as an update guarded by its version, with what
    /// its recipients (Art. 19) and the webhook subscriptions are to be told, into `changes`.
    pub(crate) fn restrict(
        &self,
        changes: &mut ChangeSet,
        row: &CustomerRow,
        now: i64,
    ) -> Result<(), AppError> {
        changes.recipient_updates.push(self.recipient_update(
            row.id,
            "restriction",
            Vec::new(),
            now,
        )?);
        changes.events.push(note(
            EventType::CustomerUpdated,
            row.id,
            &["status".to_owned()],
            now,
        ));
        changes.updates.push(CustomerUpdate {
            write: CustomerWrite {
                row: CustomerRow {
                    status: CustomerStatus::Restricted.as_str().into(),
                    version: row.version + 1,
                    updated_at: now,
                    ..row.clone()
                },
                index: Vec::new(),
            },
            expected_version: row.version,
            replaced_index_fields: Vec::new(),
        });
        Ok(())
    }
}

impl Requests<'_> {
    pub async fn verify(&self, access: &Access, id: Uuid) -> Result<RequestView, AppError> {
        self.app
            .move_request(access, id, RequestState::Verified, None)
            .await
    }

    pub async fn start(&self, access: &Access, id: Uuid) -> Result<RequestView, AppError> {
        self.app
            .move_request(access, id, RequestState::InProgress, None)
            .await
    }

    pub async fn extend(
        &self,
        access: &Access,
        id: Uuid,
        input: &ReasonInput,
    ) -> Result<RequestView, AppError> {
        let reason = parse_reason(input)?;
        self.app
            .move_request(access, id, RequestState::Extended, Some(reason))
            .await
    }

    pub async fn deny(
        &self,
        access: &Access,
        id: Uuid,
        input: &ReasonInput,
    ) -> Result<RequestView, AppError> {
        let reason = parse_reason(input)?;
        self.app
            .move_request(access, id, RequestState::Denied, Some(reason))
            .await
    }

    /// Completes a request, carrying it out where Steward can: an erasure erases (and
    /// suppresses the address), a restriction restricts. Access, portability and
    /// rectification are answered by staff through the export and the customer record
    /// before they complete the request.
    pub async fn complete(&self, access: &Access, id: Uuid) -> Result<RequestView, AppError> {
        self.app
            .move_request(access, id, RequestState::Completed, None)
            .await
    }
}
