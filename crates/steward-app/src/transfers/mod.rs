//! Cross-border transfers as staff see them: the adequacy findings Steward applies (shipped,
//! or as the operator's configuration changed them), and the check of where one vendor's data
//! would go for a customer of a given residency, answered with the basis for each country the
//! vendor and its sub-processors reach, or the first refusal and its code. The check shares
//! nothing and changes nothing; the rules are `steward_core::transfers`.

use jiff::civil::Date;
use steward_core::CountryCode;
use steward_core::sharing::{Transfers as Cleared, check_transfers};
use steward_core::transfers::{AdequacyRow, utc_day};
use uuid::Uuid;

use crate::services::Transfers;
use crate::sharing::require_reader;
use crate::{Actor, AppError};

/// The adequacy findings, each with whether it is in force today.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdequacyTable {
    /// Which sources, at which versions, the findings come from.
    pub version: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub today: Date,
    pub decisions: Vec<AdequacyEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdequacyEntry {
    #[serde(flatten)]
    pub decision: AdequacyRow,
    pub in_force: bool,
}

/// Data of a customer resident in `residency` may go to the vendor: the law it is under and
/// the basis for each country it reaches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransferCheck {
    pub vendor_id: Uuid,
    pub residency: CountryCode,
    #[serde(flatten)]
    pub transfers: Cleared,
    /// The adequacy table the answer was given by.
    pub rules_version: String,
}

impl Transfers<'_> {
    pub fn adequacy(&self, actor: &Actor) -> Result<AdequacyTable, AppError> {
        require_reader(actor)?;
        let rules = &self.app.sharing.transfers;
        let today = utc_day(self.app.clock.now());
        Ok(AdequacyTable {
            version: rules.version(),
            today,
            decisions: rules
                .rows()
                .iter()
                .map(|row| AdequacyEntry {
                    in_force: row.in_force(today),
                    decision: row.clone(),
                })
                .collect(),
        })
    }

    /// Whether a customer resident in `residency` may have their data sent to `vendor_id`,
    /// as far as where it goes: every country the vendor and its sub-processors keep or read
    /// the data in, against the adequacy findings and the safeguards of the vendor's agreements
    /// in force. A refusal is `AppError::Refused`, whose code names the first reason.
    pub async fn check(
        &self,
        actor: &Actor,
        vendor_id: Uuid,
        residency: &str,
    ) -> Result<TransferCheck, AppError> {
        require_reader(actor)?;
        let residency = CountryCode::parse(residency)
            .map_err(|e| AppError::invalid("residency", e.to_string()))?;
        let dossier = self
            .app
            .dossier(vendor_id)
            .await?
            .ok_or_else(|| AppError::invalid("vendor_id", "is not a vendor of the register"))?;
        let rules = &self.app.sharing;
        let transfers = check_transfers(&dossier.file(), residency, rules, self.app.clock.now())
            .map_err(AppError::Refused)?;
        Ok(TransferCheck {
            vendor_id,
            residency,
            transfers,
            rules_version: rules.transfers.version(),
        })
    }
}
