//! Rights a signed-in customer exercises in the portal: erasure, restriction and objection.
//! Each is recorded as a request on the staff desk, so the desk's records and reports cover
//! every channel; what the customer can decide alone is carried out at once.

use steward_core::catalog::LawfulBasis;
use steward_core::consent::{ConsentMethod, ConsentState, is_direct_marketing};
use steward_core::contact::Email;
use steward_core::customer::CustomerStatus;
use steward_core::request::{RequestKind, RequestState};
use steward_core::sealed_fields::SealedFields;
use steward_store::{ChangeSet, CustomerRow, MailLink, RequestRow};
use uuid::Uuid;

use crate::collection::customers::MATCH_FIELD;
use crate::infra::mail::{Letter, LinkToken};
use crate::rights::erasure::ErasureOrder;
use crate::security::access::LEGAL_OBLIGATION;
use crate::security::access::Subject;
use crate::services::OwnRights;
use crate::{AppError, Evidence, RequestView, Steward};

/// What an objection made in the portal came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectionOutcome {
    /// Direct marketing: stopped at once.
    Upheld,
    /// Another purpose: staff weigh it (Art. 21(1)) and answer by the deadline.
    Opened(Box<RequestView>),
}

impl Steward {
    async fn own_row(&self, customer: Uuid) -> Result<CustomerRow, AppError> {
        self.store
            .get_customer(customer)
            .await?
            .ok_or(AppError::NotFound)
    }

    fn completed(row: RequestRow) -> RequestRow {
        RequestRow {
            state: RequestState::Completed.as_str().into(),
            closed_at: Some(row.received_at),
            ..row
        }
    }

    /// The customer's requests that are still open.
    async fn open_requests_of(&self, customer: Uuid) -> Result<Vec<RequestRow>, AppError> {
        Ok(self
            .store
            .requests(&steward_store::RequestFilter {
                open_only: true,
                customer: Some(customer),
                limit: crate::MAX_REQUESTS,
                ..Default::default()
            })
            .await?)
    }

    fn request_entry(
        &self,
        customer: Uuid,
        action: &str,
        row: &RequestRow,
    ) -> steward_core::audit::AuditRecord {
        self.subject_record(
            customer,
            action,
            LEGAL_OBLIGATION,
            vec![row.id.to_string(), customer.to_string()],
            Vec::new(),
            Some(format!("{} request made in the portal", row.kind)),
        )
    }
}

impl OwnRights<'_> {
    /// Erases the customer's account at their request (Art. 17), confirmed in the portal:
    /// the request is recorded as completed, the address suppressed, and a last message
    /// confirms it. The answer names the recipients of their data that will be told (Art.
    /// 19): once erased, the customer can no longer sign in to see them.
    pub async fn erase_account(
        &self,
        subject: &Subject,
    ) -> Result<Vec<crate::RecipientNoticeView>, AppError> {
        let customer = subject.customer();
        let row = self.app.own_row(customer).await?;
        // An erasure they asked for by other means and staff have not answered yet is the
        // one this completes.
        let open = self
            .app
            .open_requests_of(customer)
            .await?
            .into_iter()
            .find(|r| r.kind == RequestKind::Erasure.as_str());
        let mut with = ChangeSet::default();
        let request = match open {
            Some(logged) => {
                let now = self.app.clock.now().as_microsecond();
                let done = RequestRow {
                    state: RequestState::Completed.as_str().into(),
                    verified_at: logged.verified_at.or(Some(now)),
                    closed_at: Some(now),
                    updated_at: now,
                    ..logged.clone()
                };
                with.request_moves.push(steward_store::RequestMove {
                    row: done.clone(),
                    from: logged.state,
                });
                done
            }
            None => {
                let new = Steward::completed(
                    self.app
                        .portal_request(&row, RequestKind::Erasure, None)
                        .await?,
                );
                with.requests.push(new.clone());
                new
            }
        };
        let farewell = self.app.customer_address(&row).await?.map(|(_, to)| {
            (
                request.id,
                Letter {
                    to,
                    subject: "Your data is erased".into(),
                    text: "As you asked in the privacy portal, we have erased everything we held \
                           about you. If you sign up again, you will start afresh.\n"
                        .into(),
                    unsubscribe: None,
                },
            )
        });
        let audit = vec![
            self.app
                .request_entry(customer, "request.completed", &request),
            self.app.subject_record(
                customer,
                "customer.erase",
                LEGAL_OBLIGATION,
                vec![customer.to_string()],
                Vec::new(),
                Some("by the customer in the portal".into()),
            ),
        ];
        self.app
            .erase(
                &row,
                ErasureOrder {
                    at_their_request: true,
                    farewell,
                    with: ChangeSet { audit, ..with },
                },
            )
            .await?;
        let mut told = self.app.recipient_notice_views(customer).await?;
        told.retain(|n| n.kind == "erasure");
        Ok(told)
    }

    /// Restricts processing at the customer's request (Art. 18): their data is kept but used
    /// for nothing else until the restriction is lifted, and they are told before it is.
    pub async fn restrict(&self, subject: &Subject) -> Result<(), AppError> {
        let customer = subject.customer();
        let row = self.app.own_row(customer).await?;
        if row.status == CustomerStatus::Restricted.as_str() {
            return Ok(());
        }
        let request = Steward::completed(
            self.app
                .portal_request(&row, RequestKind::Restriction, None)
                .await?,
        );
        let now = request.received_at;
        let audit = vec![
            self.app
                .request_entry(customer, "request.completed", &request),
            self.app.subject_record(
                customer,
                "customer.restrict",
                LEGAL_OBLIGATION,
                vec![customer.to_string()],
                vec!["status".into()],
                Some("by the customer in the portal".into()),
            ),
        ];
        let mut changes = ChangeSet {
            requests: vec![request],
            audit,
            ..Default::default()
        };
        self.app.restrict(&mut changes, &row, now)?;
        self.app.store.apply(changes).await?;
        Ok(())
    }

    /// An objection made in the portal (Art. 21). To direct marketing it is absolute and
    /// takes effect at once; to a purpose resting on legitimate interests it opens a request
    /// for staff to decide.
    pub async fn object(
        &self,
        subject: &Subject,
        purpose: &str,
        evidence: &Evidence,
    ) -> Result<ObjectionOutcome, AppError> {
        let customer = subject.customer();
        let row = self.app.own_row(customer).await?;
        if is_direct_marketing(purpose) {
            let access = self.app.subject_access(customer)?;
            let request = Steward::completed(
                self.app
                    .portal_request(&row, RequestKind::Objection, Some("marketing".into()))
                    .await?,
            );
            let audit = self
                .app
                .request_entry(customer, "request.completed", &request);
            // The objection and the request it answers commit together.
            self.app
                .object_with(
                    &access,
                    customer,
                    evidence,
                    ChangeSet {
                        requests: vec![request],
                        audit: vec![audit],
                        ..Default::default()
                    },
                )
                .await?;
            return Ok(ObjectionOutcome::Upheld);
        }
        let purpose = self.app.check_objection_purpose(Some(purpose))?;
        let request = self
            .app
            .portal_request(&row, RequestKind::Objection, Some(purpose))
            .await?;
        let id = request.id;
        let audit = self.app.request_entry(customer, "request.create", &request);
        self.app
            .commit_request(ChangeSet {
                requests: vec![request],
                audit: vec![audit],
                ..Default::default()
            })
            .await?;
        let opened = self
            .app
            .own_requests(customer)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(AppError::NotFound)?;
        Ok(ObjectionOutcome::Opened(Box::new(opened)))
    }

    /// Withdraws one of the customer's consents, as easily as it was given.
    pub async fn withdraw(
        &self,
        subject: &Subject,
        purpose: &str,
        evidence: &Evidence,
    ) -> Result<(), AppError> {
        let customer = subject.customer();
        let access = self.app.subject_access(customer)?;
        let input = crate::ConsentInput {
            purpose: purpose.into(),
            state: ConsentState::Withdrawn.as_str().into(),
            notice_version: None,
            method: Some(ConsentMethod::Portal.as_str().into()),
            fields: Default::default(),
        };
        self.app
            .consent()
            .record(&access, customer, input, evidence)
            .await
            .map(|_| ())
    }

    /// The purposes a customer may object to in the portal beyond direct marketing: those
    /// resting on legitimate interests, as (key, name).
    pub fn objectable_purposes(&self) -> Vec<(String, String)> {
        self.app
            .catalog
            .purposes()
            .iter()
            .filter(|p| p.lawful_basis == LawfulBasis::LegitimateInterests)
            .filter(|p| !is_direct_marketing(&p.key))
            .map(|p| (p.key.clone(), p.name.clone()))
            .collect()
    }
}

/// The kind of emailed link that confirms a new sign-in address.
pub(crate) const ADDRESS_LINK: &str = "address";
const ADDRESS_LINK_HOURS: i64 = 24;

impl OwnRights<'_> {
    /// Asks for proof of a new sign-in address (Art. 16 for the address itself): a link goes
    /// to the new address, and the change waits on the request desk as a correction until
    /// it is followed. An address another customer holds gets no link; the answer is the
    /// same, so the portal cannot be used to learn who is a customer.
    pub async fn change_address(&self, subject: &Subject, raw: &str) -> Result<(), AppError> {
        let customer = subject.customer();
        let new = Email::parse(raw).map_err(|e| AppError::invalid("email", e.to_string()))?;
        let row = self.app.own_row(customer).await?;
        let Some((dek, current)) = self.app.customer_address(&row).await? else {
            return Err(AppError::invalid("email", "we hold no address for you"));
        };
        if Email::parse(&current).is_ok_and(|c| c == new) {
            return Err(AppError::invalid("email", "is already your address"));
        }
        let digest = self.app.vault.blind_index(MATCH_FIELD, new.as_str())?;
        if !self
            .app
            .store
            .lookup_index(MATCH_FIELD, &[digest])
            .await?
            .is_empty()
        {
            tracing::info!(customer = %customer, "an address change to an address in use was not sent");
            return Ok(());
        }
        let mut proposal = SealedFields::new();
        proposal.insert(MATCH_FIELD, dek.seal(MATCH_FIELD, new.as_str().as_bytes()));
        let mut request = self
            .app
            .portal_request(&row, RequestKind::Rectification, None)
            .await?;
        request.proposal = Some(proposal.encode());
        let now = request.received_at;
        let token = LinkToken::new();
        let letter = Letter {
            to: new.as_str().to_string(),
            subject: "Confirm your new address".into(),
            text: format!(
                "You asked us to sign you in with this address from now on. To confirm it is \
                 yours, open this link within a day:\n\n{}\n\nIf you did not ask, ignore this \
                 message: nothing changes.\n",
                self.app
                    .mailer
                    .url(&format!("/portal/address/{}", token.token))
            ),
            unsubscribe: None,
        };
        let audit = self.app.subject_record(
            customer,
            "request.create",
            LEGAL_OBLIGATION,
            vec![request.id.to_string(), customer.to_string()],
            vec![MATCH_FIELD.into()],
            Some("a new sign-in address, waiting for proof".into()),
        );
        self.app
            .store
            .apply(ChangeSet {
                requests: vec![request],
                links: vec![MailLink {
                    token_hash: token.hash,
                    kind: ADDRESS_LINK.into(),
                    customer_id: customer,
                    purpose: LEGAL_OBLIGATION.into(),
                    notice_version: None,
                    method: "portal".into(),
                    campaign_id: None,
                    created_at: now,
                    expires_at: now.saturating_add(ADDRESS_LINK_HOURS * 3_600_000_000),
                    used_at: None,
                }],
                mail: vec![
                    self.app
                        .outbox_row(&dek, ADDRESS_LINK, None, &letter, now)?,
                ],
                audit: vec![audit],
                ..Default::default()
            })
            .await?;
        self.app.mail_queued();
        Ok(())
    }

    /// Follows the link sent to a new address: the address is changed, its blind-index entry
    /// replaced, and the correction on the desk completed, in one transaction.
    pub async fn confirm_address(&self, token: &str) -> Result<(), AppError> {
        let link = self.app.mail_link(token, ADDRESS_LINK).await?;
        let now = self.app.clock.now().as_microsecond();
        if link.used_at.is_some() || link.expires_at <= now {
            return Err(AppError::LinkSpent);
        }
        let customer = link.customer_id;
        let row = self.app.own_row(customer).await?;
        let mut pending = None;
        // The request made together with this link, and no other: a link to an address
        // proves that address only.
        for r in self.app.open_requests_of(customer).await? {
            if r.kind != RequestKind::Rectification.as_str() || r.received_at != link.created_at {
                continue;
            }
            let Some(proposal) = r.proposal.clone() else {
                continue;
            };
            if let Ok((field, value)) = self.app.open_proposal(customer, &proposal).await
                && field == MATCH_FIELD
            {
                pending = Some((r, value));
                break;
            }
        }
        // Withdrawn or refused on the desk meanwhile.
        let Some((request, address)) = pending else {
            return Err(AppError::LinkSpent);
        };
        let def = self
            .app
            .catalog
            .field(MATCH_FIELD)
            .cloned()
            .ok_or_else(|| AppError::Setup("the catalog lacks an email field".into()))?;
        let done = RequestRow {
            state: RequestState::Completed.as_str().into(),
            closed_at: Some(now),
            updated_at: now,
            proposal: None,
            ..request.clone()
        };
        let audit = vec![
            self.app.subject_record(
                customer,
                "customer.rectify",
                LEGAL_OBLIGATION,
                vec![customer.to_string()],
                vec![MATCH_FIELD.into()],
                Some("a new sign-in address, proved by following the link sent to it".into()),
            ),
            self.app.subject_record(
                customer,
                "request.completed",
                LEGAL_OBLIGATION,
                vec![request.id.to_string(), customer.to_string()],
                Vec::new(),
                None,
            ),
        ];
        let mut changes = ChangeSet {
            spend_link: Some(steward_store::SpentLink {
                token_hash: link.token_hash,
                at: now,
            }),
            request_moves: vec![steward_store::RequestMove {
                row: done,
                from: request.state.clone(),
            }],
            audit,
            ..Default::default()
        };
        self.app
            .correct(&mut changes, &row, &def, &address, now)
            .await?;
        self.app
            .store
            .apply(changes)
            .await
            .map_err(|e| match AppError::from(e) {
                AppError::Duplicate { .. } => {
                    AppError::Conflict("that address is now in use by someone else".into())
                }
                AppError::StaleVersion => AppError::Conflict(
                    "your data or this change moved on meanwhile; ask again from the portal".into(),
                ),
                other => other,
            })?;
        Ok(())
    }
}
