//! Erasure by crypto-shredding, and what goes with it: the suppression entry that keeps the
//! person from being brought back unasked (see `suppression`), the record for recipients of
//! the data (Art. 19), and a last message to the person sealed under a key of its own, since
//! theirs is gone by the time it is sent.

use steward_core::contact::Email;
use steward_store::{ChangeSet, CustomerRow, Erasure, StoreError};
use uuid::Uuid;

use crate::collection::customers::MAX_LIMIT;
use crate::consent::proofs::ERASE_ATTEMPTS;
use crate::infra::mail::{FAREWELL, Letter};
use crate::services::Rights;
use crate::sharing::webhooks::{EventType, note};
use crate::{Access, AppError, Steward};

/// How one erasure is carried out.
pub(crate) struct ErasureOrder {
    /// Whether the person asked for it: then their address is suppressed.
    pub at_their_request: bool,
    /// A last message to them, sent under the id of the request it answers.
    pub farewell: Option<(Uuid, Letter)>,
    /// What commits with the erasure.
    pub with: ChangeSet,
}

impl Steward {
    /// Erases the customer: the data key is destroyed first, so that even if the rows
    /// survived a crash they could not be read; then rows, index entries, mail and sessions
    /// go in one transaction with everything in `order`, and a tombstone remains, with the
    /// proofs of the customer's consents.
    pub(crate) async fn erase(
        &self,
        row: &CustomerRow,
        order: ErasureOrder,
    ) -> Result<(), AppError> {
        let id = row.id;
        let now = self.clock.now().as_microsecond();
        if self.customer_held(&[id], now).await? {
            return Err(AppError::ErasureHeld);
        }
        // An erasure cut short after its key was destroyed can no longer read the address.
        let address = match self.customer_address(row).await {
            Ok(found) => found.map(|(_, a)| a),
            Err(AppError::NotFound) => None,
            Err(e) => return Err(e),
        };
        let suppress = match (&address, order.at_their_request) {
            (Some(a), true) => Email::parse(a)
                .ok()
                .map(|e| self.suppression_digest(&e))
                .transpose()?,
            _ => None,
        };
        let mut with = order.with;
        if let Some((message, letter)) = order.farewell {
            with.mail
                .push(self.own_key_letter(message, FAREWELL, &letter, now).await?);
        }
        with.recipient_updates
            .push(self.recipient_update(id, "erasure", Vec::new(), now)?);
        with.events
            .push(note(EventType::CustomerErased, id, &[], now));
        let queued = !with.mail.is_empty();
        let mut attempts = 0;
        let erased = loop {
            attempts += 1;
            // Built while the ledger is still there; the key is not needed for them, so a
            // retry after it is gone builds them as well.
            let proofs = self.consent_proofs(&[id], now).await?;
            self.destroy_key(id).await?;
            let erasure = Erasure {
                id,
                at: now,
                suppress,
                proofs,
                with: with.clone(),
            };
            match self.store.erase_customer(erasure).await {
                // A consent recorded since the proofs were built: build them again.
                Err(StoreError::Conflict) if attempts < ERASE_ATTEMPTS => continue,
                done => break done?,
            }
        };
        if !erased {
            // Erased by someone else meanwhile: nothing of this erasure was recorded.
            return Err(AppError::NotFound);
        }
        if queued {
            self.mail_queued();
        }
        self.webhooks_queued();
        Ok(())
    }
}

/// What erasing a selection came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SelectionErased {
    pub erased: usize,
    /// Not there any more when their turn came: erased or merged away meanwhile.
    pub already_gone: usize,
    /// Kept because a legal hold covers them.
    pub held: usize,
}

impl Rights<'_> {
    /// Erasure by crypto-shredding , by staff.
    pub async fn erase(&self, access: &Access, id: Uuid) -> Result<(), AppError> {
        if !access.actor.role.may_erase() {
            return Err(AppError::Forbidden(format!(
                "role {} may not erase customers",
                access.actor.role
            )));
        }
        let row = self
            .app
            .store
            .get_customer(id)
            .await?
            .ok_or(AppError::NotFound)?;
        let audit =
            self.app
                .access_record(access, "customer.erase", vec![id.to_string()], Vec::new());
        self.app
            .erase(
                &row,
                ErasureOrder {
                    at_their_request: false,
                    farewell: None,
                    with: ChangeSet {
                        audit: vec![audit],
                        ..Default::default()
                    },
                },
            )
            .await
    }

    /// Erases each customer of a selection, one erasure (and one audit entry) each, as if
    /// erased one by one: an erasure cannot be undone, so one that is done stays done when a
    /// later one fails. Those erased by someone else meanwhile, and those a legal hold keeps,
    /// are counted apart.
    pub async fn erase_selected(
        &self,
        access: &Access,
        ids: &[Uuid],
    ) -> Result<SelectionErased, AppError> {
        if !access.actor.role.may_erase() {
            return Err(AppError::Forbidden(format!(
                "role {} may not erase customers",
                access.actor.role
            )));
        }
        let ids: std::collections::BTreeSet<Uuid> = ids.iter().copied().collect();
        if ids.is_empty() || ids.len() > MAX_LIMIT {
            return Err(AppError::invalid(
                "ids",
                format!("select between 1 and {MAX_LIMIT} customers"),
            ));
        }
        let mut done = SelectionErased::default();
        for id in ids {
            match self.erase(access, id).await {
                Ok(()) => done.erased += 1,
                Err(AppError::NotFound) => done.already_gone += 1,
                Err(AppError::ErasureHeld) => done.held += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }

    pub async fn is_erased(&self, id: Uuid) -> Result<bool, AppError> {
        Ok(self.app.store.is_tombstoned(id).await?)
    }
}
