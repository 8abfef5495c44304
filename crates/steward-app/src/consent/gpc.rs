//! Global Privacy Control: a browser's signal that its user opts out of the sale and sharing
//! of their data and of third-party advertising, honoured as the withdrawal of every purpose
//! it covers, all in one transaction.

use steward_core::consent::{self, ConsentMethod, ConsentState};
use steward_store::ChangeSet;
use uuid::Uuid;

use crate::services::Consents;
use crate::{Access, AppError, ConsentEventView, ConsentInput, Evidence, Steward};

impl Steward {
    /// The withdrawals a GPC signal asks for now.
    pub(crate) async fn gpc_withdrawals(
        &self,
        access: &Access,
        customer: Uuid,
    ) -> Result<Vec<ConsentInput>, AppError> {
        Ok(self
            .consent()
            .current(access, customer)
            .await?
            .into_iter()
            .filter(|status| {
                consent::covered_by_gpc(&status.purpose)
                    && !matches!(
                        status.state,
                        Some(ConsentState::Withdrawn | ConsentState::Refused)
                    )
            })
            .map(|status| withdrawal(status.purpose))
            .collect())
    }

    /// The withdrawals a GPC signal asks for from a customer made in the same commit: every
    /// purpose it covers, since such a customer holds no decision yet but the one being made.
    pub(crate) fn gpc_withdrawals_for_new(&self) -> Vec<ConsentInput> {
        self.catalog
            .purposes()
            .iter()
            .filter(|p| consent::covered_by_gpc(&p.key))
            .map(|p| withdrawal(p.key.clone()))
            .collect()
    }
}

fn withdrawal(purpose: String) -> ConsentInput {
    ConsentInput {
        purpose,
        state: ConsentState::Withdrawn.as_str().into(),
        notice_version: None,
        method: Some(ConsentMethod::Gpc.as_str().into()),
        fields: Default::default(),
    }
}

impl Consents<'_> {
    /// Honours a Global Privacy Control signal: withdraws every purpose that sells or shares
    /// the customer's data or advertises through third parties, unless already withdrawn or
    /// refused. Returns the events recorded.
    pub async fn honour_gpc(
        &self,
        access: &Access,
        customer: Uuid,
        evidence: &Evidence,
    ) -> Result<Vec<ConsentEventView>, AppError> {
        let withdrawals = self.app.gpc_withdrawals(access, customer).await?;
        if withdrawals.is_empty() {
            return Ok(Vec::new());
        }
        self.app
            .record_decisions(
                access,
                customer,
                withdrawals.into_iter().map(|w| (w, false)).collect(),
                evidence,
                ChangeSet::default(),
            )
            .await
    }
}
