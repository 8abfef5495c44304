//! Cross-border transfers as staff see them: the adequacy findings Steward applies (shipped,
//! or as the operator's configuration changed them), and the check of where one vendor's data
//! would go for a customer of a given residency, answered with the basis for each country the
//! vendor and its sub-processors reach, or the first refusal and its code; and the agreements
//! that rest on a finding that has ended or soon will. None of it shares or changes anything;
//! the rules are `steward_core::transfers`.

use std::collections::HashMap;

use jiff::ToSpan;
use jiff::civil::Date;
use steward_core::CountryCode;
use steward_core::sharing::{AdequacyLapse, Transfers as Cleared, check_transfers};
use steward_core::transfers::{AdequacyRow, utc_day};
use uuid::Uuid;

use crate::services::Transfers;
use crate::sharing::register::agreement_of;
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

/// How far ahead an adequacy finding's end is flagged: time enough to negotiate clauses.
pub const LAPSE_NOTICE_DAYS: i32 = 180;

/// An agreement in force whose destination rests on an adequacy finding that has ended, or
/// ends within [`LAPSE_NOTICE_DAYS`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AffectedAgreement {
    pub vendor_id: Uuid,
    /// The vendor, as the register names it.
    pub vendor: String,
    #[serde(flatten)]
    pub lapse: AdequacyLapse,
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

    /// The agreements in force that rest on an adequacy finding which has ended (their
    /// transfers are refused now) or ends within [`LAPSE_NOTICE_DAYS`], ended ones first.
    pub async fn affected_agreements(
        &self,
        actor: &Actor,
    ) -> Result<Vec<AffectedAgreement>, AppError> {
        require_reader(actor)?;
        let app = self.app;
        let today = utc_day(app.clock.now());
        let horizon = today
            .checked_add(LAPSE_NOTICE_DAYS.days())
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let names: HashMap<Uuid, String> = app
            .register()
            .await?
            .into_iter()
            .map(|(_, v)| (v.id, v.legal_name))
            .collect();
        let mut affected = Vec::new();
        for row in app.store.agreements(None).await? {
            let agreement = agreement_of(&row)?;
            if !agreement.is_live(today) {
                continue;
            }
            for lapse in agreement.adequacy_lapses(&app.sharing.transfers, today, horizon) {
                affected.push(AffectedAgreement {
                    vendor_id: agreement.vendor,
                    vendor: names.get(&agreement.vendor).cloned().unwrap_or_default(),
                    lapse,
                });
            }
        }
        affected.sort_by_key(|a| (!a.lapse.ended, a.lapse.valid_until));
        Ok(affected)
    }
}
