//! Proof of consent after erasure. Erasing a customer deletes their consent ledger, yet the
//! controller must still be able to show that a consent was given (Art. 7(1)) and a person
//! who kept a receipt must still be able to have it checked. Before the key is destroyed, each
//! event's receipt is signed once more and only its SHA-256 is kept, under the request desk's
//! pseudonym, with what was decided and when: no customer id, no evidence, nothing personal.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use steward_store::ConsentProof;
use uuid::Uuid;

use crate::{AppError, Steward};

/// How many times an erasure starts again when a consent was recorded while it ran. Each
/// time takes a consent landing in the moment between building the proofs and committing;
/// past this, the erasure is refused as stale rather than chasing a stream of consents. A
/// sweep's batch gets one more try for each of its customers, so that every one of them
/// consenting once meanwhile cannot hold it back.
pub(crate) const ERASE_ATTEMPTS: usize = 3;

impl Steward {
    /// The proof of every event in the ledgers of `customers`, as erased at `erased_at`, by
    /// event id. Built from the ledger and the receipt key only, so it can be built again after
    /// the data key is gone.
    pub(crate) async fn consent_proofs(
        &self,
        customers: &[Uuid],
        erased_at: i64,
    ) -> Result<HashMap<Uuid, ConsentProof>, AppError> {
        let mut proofs = HashMap::new();
        for &customer in customers {
            let subject = self.request_subject(&customer.to_string())?;
            for e in self.store.consent_history(customer).await? {
                let receipt = self.sign_receipt(&e)?;
                proofs.insert(
                    e.id,
                    ConsentProof {
                        event_id: e.id,
                        subject: subject.clone(),
                        purpose: e.purpose,
                        state: e.state,
                        method: e.method,
                        notice_version: e.notice_version,
                        at: e.at,
                        expires_at: e.expires_at,
                        receipt_hash: Sha256::digest(receipt.jws.as_bytes()).to_vec(),
                        erased_at,
                    },
                );
            }
        }
        Ok(proofs)
    }
}
