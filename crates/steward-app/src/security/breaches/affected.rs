//! Who a breach reached, attached to it: the scope worked out from the audit log is kept with
//! the breach (its query, what it found, the authority of each residency) and its customers
//! by pseudonymous id; and the Art. 34(3)(a) exemption, claimed only while no key that
//! protects the data is marked compromised and the scope found none exposed.

use std::collections::BTreeMap;

use jiff::Timestamp;
use steward_core::breach::{BreachRefusal, ScopeQuery, ScopeResult};
use steward_store::BreachRow;
use uuid::Uuid;

use super::{decoded, encoded, require_keeper};
use crate::services::Breaches;
use crate::{Access, AppError, BreachView, Steward};

/// The supervisory authority for some of the customers reached.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorityReach {
    pub authority: String,
    pub contact: String,
    /// Countries of residence it is the authority for, among those reached.
    pub countries: Vec<String>,
    pub customers: u64,
}

/// A breach's scope as kept with it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BreachScope {
    #[serde(flatten)]
    pub result: ScopeResult,
    pub query: ScopeQuery,
    /// The authorities of the customers' residencies, from the response plan.
    pub authorities: Vec<AuthorityReach>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub found_at: Timestamp,
    pub found_by: String,
}

impl Steward {
    /// Whether some key-encryption key version is marked compromised.
    async fn keys_exposed(&self) -> Result<bool, AppError> {
        Ok(!self.keys().compromised_versions().await?.is_empty())
    }

    pub(crate) fn scope_of(&self, row: &BreachRow) -> Result<Option<BreachScope>, AppError> {
        row.scope.as_deref().map(|s| decoded(row.id, s)).transpose()
    }

    /// Refuses the encryption exemption where it does not hold.
    pub(crate) async fn check_exemption(
        &self,
        row: &BreachRow,
        breach: &steward_core::breach::Breach,
    ) -> Result<(), AppError> {
        let claims_a = breach
            .customer_decision
            .as_ref()
            .is_some_and(|d| d.exemption == Some(steward_core::breach::Exemption::A));
        if !claims_a {
            return Ok(());
        }
        let scope_says_no = self
            .scope_of(row)?
            .is_some_and(|s| !s.result.encrypted_exemption_possible);
        if self.keys_exposed().await? || scope_says_no {
            return Err(AppError::BreachRefused(
                BreachRefusal::EncryptionExemptionUnavailable,
            ));
        }
        Ok(())
    }

    fn authorities_of(&self, result: &ScopeResult) -> Vec<AuthorityReach> {
        let Some(plan) = &self.security.breach_plan else {
            return Vec::new();
        };
        let mut by_name: BTreeMap<String, AuthorityReach> = BTreeMap::new();
        for (country, n) in &result.residencies {
            let authority = match country {
                Some(c) => plan.authority_for(*c),
                None => &plan.lead_authority,
            };
            let reach = by_name
                .entry(authority.name.clone())
                .or_insert_with(|| AuthorityReach {
                    authority: authority.name.clone(),
                    contact: authority.contact.clone(),
                    countries: Vec::new(),
                    customers: 0,
                });
            reach.customers += n;
            if let Some(c) = country {
                reach.countries.push(c.as_str().to_owned());
            }
        }
        let mut out: Vec<AuthorityReach> = by_name.into_values().collect();
        out.sort_by(|a, b| {
            b.customers
                .cmp(&a.customers)
                .then(a.authority.cmp(&b.authority))
        });
        out
    }
}

impl Breaches<'_> {
    /// Works out from the audit log whom the breach reached, keeps it with the breach, and
    /// attaches the customers by pseudonymous id, replacing an earlier scope.
    pub async fn scope(
        &self,
        access: &Access,
        id: Uuid,
        query: ScopeQuery,
    ) -> Result<BreachScope, AppError> {
        require_keeper(access)?;
        let kept = self.app.store.breach(id).await?.ok_or(AppError::NotFound)?;
        if self.app.breach_of(&kept)?.closed_at.is_some() {
            return Err(AppError::BreachRefused(BreachRefusal::BreachClosed));
        }
        let mut result = self
            .app
            .audit()
            .scope(&access.actor, &query, self.app.keys_exposed().await?)
            .await?;
        let affected = std::mem::take(&mut result.affected);
        let now = self.app.clock.now();
        let scope = BreachScope {
            authorities: self.app.authorities_of(&result),
            result,
            query,
            found_at: now,
            found_by: access.actor.id.clone(),
        };
        let row = BreachRow {
            scope: Some(encoded(&scope)?),
            version: kept.version + 1,
            updated_at: now.as_microsecond(),
            ..kept
        };
        let mut audit =
            self.app
                .access_record(access, "breach.scope", vec![format!("breach:{id}")], vec![]);
        audit.detail = Some(format!(
            "{} customers, {} entries, special categories {}",
            scope.result.customers, scope.result.records, scope.result.special
        ));
        if !self
            .app
            .store
            .update_breach(&row, Some(&affected), audit)
            .await?
        {
            return Err(AppError::StaleVersion);
        }
        Ok(scope)
    }
}

impl BreachView {
    /// The authorities to tell, from the scope when one was found.
    pub fn authorities(&self) -> &[AuthorityReach] {
        self.scope
            .as_ref()
            .map_or(&[], |s| s.authorities.as_slice())
    }
}
