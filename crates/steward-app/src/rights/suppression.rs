//! The suppression list: the addresses of people erased at their own request, kept only as
//! keyed hashes. Every way a record can be created (the API and console, import, sign-up
//! forms) asks `suppressed_among` before creating one, so no door brings such a person back
//! unasked; only following a confirmation link sent to the address, which shows that it is
//! theirs, lifts the suppression.

use std::collections::HashSet;
use std::hash::Hash;

use steward_core::contact::Email;
use steward_store::IndexDigest;
use uuid::Uuid;

use crate::{AppError, Steward};

/// The derived key suppression entries are hashed with.
pub(crate) const SUPPRESSION: &str = "suppression";

impl Steward {
    /// The keyed hash an address is suppressed under.
    pub(crate) fn suppression_digest(&self, email: &Email) -> Result<IndexDigest, AppError> {
        Ok(self.vault.blind_index(SUPPRESSION, email.as_str())?)
    }

    /// The suppression that following a customer's confirmation link lifts. Sign-ups are
    /// held until confirmed now (see `signups`), but earlier versions made the record of
    /// someone who signed up again at once and kept the address suppressed until a link
    /// sent to it was followed: such a record is still waiting for that link.
    pub(crate) async fn suppression_lifted_by_confirming(
        &self,
        customer: Uuid,
    ) -> Result<Option<IndexDigest>, AppError> {
        let Some(row) = self.store.get_customer(customer).await? else {
            return Ok(None);
        };
        let Some(email) = self
            .customer_address(&row)
            .await?
            .and_then(|(_, address)| Email::parse(&address).ok())
        else {
            return Ok(None);
        };
        let digest = self.suppression_digest(&email)?;
        Ok((!self.store.suppressed(&[digest]).await?.is_empty()).then_some(digest))
    }

    /// Which of the given addresses belong to people erased at their own request: the keys
    /// they came with, in one lookup.
    pub(crate) async fn suppressed_among<'a, K: Copy + Eq + Hash>(
        &self,
        addresses: impl IntoIterator<Item = (K, &'a Email)>,
    ) -> Result<HashSet<K>, AppError> {
        let mut keyed = Vec::new();
        for (key, address) in addresses {
            keyed.push((key, self.suppression_digest(address)?));
        }
        if keyed.is_empty() {
            return Ok(HashSet::new());
        }
        let digests: Vec<IndexDigest> = keyed.iter().map(|(_, d)| *d).collect();
        let found: HashSet<IndexDigest> =
            self.store.suppressed(&digests).await?.into_iter().collect();
        Ok(keyed
            .into_iter()
            .filter(|(_, d)| found.contains(d))
            .map(|(k, _)| k)
            .collect())
    }

    /// Refuses to create a record for `address`, given as `field`, if its owner asked to be
    /// erased.
    pub(crate) async fn refuse_suppressed(
        &self,
        field: &str,
        address: &Email,
    ) -> Result<(), AppError> {
        if self.suppressed_among([((), address)]).await?.is_empty() {
            Ok(())
        } else {
            Err(AppError::Suppressed {
                field: field.to_string(),
            })
        }
    }
}
