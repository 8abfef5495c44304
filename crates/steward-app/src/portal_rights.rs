//! Rights a signed-in customer exercises in the portal: erasure, restriction and objection.
//! Each is recorded as a request on the staff desk, so the desk's records and reports cover
//! every channel; what the customer can decide alone is carried out at once.

use steward_core::catalog::LawfulBasis;
use steward_core::consent::{ConsentMethod, ConsentState, is_direct_marketing};
use steward_core::customer::CustomerStatus;
use steward_core::request::{RequestKind, RequestState};
use steward_store::{ChangeSet, CustomerRow, RecipientUpdate, RequestRow};
use uuid::Uuid;

use crate::customers::LEGAL_OBLIGATION;
use crate::erasure::ErasureOrder;
use crate::mail::Letter;
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

    /// Erases the customer's account at their request (Art. 17), confirmed in the portal:
    /// the request is recorded as completed, the address suppressed, and a last message
    /// confirms it.
    pub async fn erase_own_account(&self, customer: Uuid) -> Result<(), AppError> {
        let row = self.own_row(customer).await?;
        let request = Self::completed(
            self.portal_request(&row, RequestKind::Erasure, None)
                .await?,
        );
        let farewell = self.customer_address(&row)?.map(|(_, to)| {
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
            self.request_entry(customer, "request.completed", &request),
            self.subject_record(
                customer,
                "customer.erase",
                LEGAL_OBLIGATION,
                vec![customer.to_string()],
                Vec::new(),
                Some("by the customer in the portal".into()),
            ),
        ];
        self.erase(
            &row,
            ErasureOrder {
                at_their_request: true,
                farewell,
                with: ChangeSet {
                    requests: vec![request],
                    audit,
                    ..Default::default()
                },
            },
        )
        .await
    }

    /// Restricts processing at the customer's request (Art. 18): their data is kept but used
    /// for nothing else until the restriction is lifted, and they are told before it is.
    pub async fn restrict_own_processing(&self, customer: Uuid) -> Result<(), AppError> {
        let row = self.own_row(customer).await?;
        if row.status == CustomerStatus::Restricted.as_str() {
            return Ok(());
        }
        let request = Self::completed(
            self.portal_request(&row, RequestKind::Restriction, None)
                .await?,
        );
        let now = request.received_at;
        let audit = vec![
            self.request_entry(customer, "request.completed", &request),
            self.subject_record(
                customer,
                "customer.restrict",
                LEGAL_OBLIGATION,
                vec![customer.to_string()],
                vec!["status".into()],
                Some("by the customer in the portal".into()),
            ),
        ];
        let entries = self
            .store
            .apply(ChangeSet {
                updates: vec![self.status_change(&row, CustomerStatus::Restricted, now)],
                requests: vec![request],
                recipient_updates: vec![RecipientUpdate {
                    id: Uuid::now_v7(),
                    customer_id: customer,
                    kind: "restriction".into(),
                    fields: Vec::new(),
                    at: now,
                    notified_at: None,
                }],
                audit,
                ..Default::default()
            })
            .await?;
        self.checkpoint_crossed(&entries).await
    }

    /// An objection made in the portal (Art. 21). To direct marketing it is absolute and
    /// takes effect at once; to a purpose resting on legitimate interests it opens a request
    /// for staff to decide.
    pub async fn object_as_customer(
        &self,
        customer: Uuid,
        purpose: &str,
        evidence: &Evidence,
    ) -> Result<ObjectionOutcome, AppError> {
        let row = self.own_row(customer).await?;
        if is_direct_marketing(purpose) {
            let access = self.subject_access(customer)?;
            self.object_to_direct_marketing(&access, customer, evidence)
                .await?;
            let request = Self::completed(
                self.portal_request(&row, RequestKind::Objection, Some("marketing".into()))
                    .await?,
            );
            let audit = self.request_entry(customer, "request.completed", &request);
            let entries = self
                .store
                .apply(ChangeSet {
                    requests: vec![request],
                    audit: vec![audit],
                    ..Default::default()
                })
                .await?;
            self.checkpoint_crossed(&entries).await?;
            return Ok(ObjectionOutcome::Upheld);
        }
        let purpose = self.check_objection_purpose(Some(purpose))?;
        let request = self
            .portal_request(&row, RequestKind::Objection, Some(purpose))
            .await?;
        let id = request.id;
        let audit = self.request_entry(customer, "request.create", &request);
        let entries = self
            .store
            .apply(ChangeSet {
                requests: vec![request],
                audit: vec![audit],
                ..Default::default()
            })
            .await?;
        self.checkpoint_crossed(&entries).await?;
        let opened = self
            .own_requests(customer)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(AppError::NotFound)?;
        Ok(ObjectionOutcome::Opened(Box::new(opened)))
    }

    /// Withdraws one of the customer's consents, as easily as it was given.
    pub async fn withdraw_as_customer(
        &self,
        customer: Uuid,
        purpose: &str,
        evidence: &Evidence,
    ) -> Result<(), AppError> {
        let access = self.subject_access(customer)?;
        let input = crate::ConsentInput {
            purpose: purpose.into(),
            state: ConsentState::Withdrawn.as_str().into(),
            notice_version: None,
            method: Some(ConsentMethod::Portal.as_str().into()),
            fields: Default::default(),
        };
        self.record_consent(&access, customer, input, evidence)
            .await
            .map(|_| ())
    }

    /// The purposes a customer may object to in the portal beyond direct marketing: those
    /// resting on legitimate interests, as (key, name).
    pub fn objectable_purposes(&self) -> Vec<(String, String)> {
        self.catalog
            .purposes()
            .iter()
            .filter(|p| p.lawful_basis == LawfulBasis::LegitimateInterests)
            .filter(|p| !is_direct_marketing(&p.key))
            .map(|p| (p.key.clone(), p.name.clone()))
            .collect()
    }
}
