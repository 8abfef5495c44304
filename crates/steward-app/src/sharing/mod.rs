//! Third parties: the vendor register (vendors, their reviews, what needs the privacy officer's
//! attention) and the data-sharing agreements. The privacy officer keeps them, under the
//! purpose of the legal obligation; the auditor reads them. Every change commits with its
//! audit entry, and is made only from the version that was read.
//!
//! A vendor is kept as written and checked again when read, as of the moment it was written,
//! so a later clock never turns a good record bad. An agreement is kept as checked (see
//! `steward_core::sharing::Agreement`): what was agreed stays what it was while the vendor
//! changes around it.
//!
//! A share (`shares.rs`) is the only way personal data leaves for a vendor; what it delivered
//! is read back in `disclosures.rs`, and pushed to the vendor's endpoint by `webhooks/`. The
//! vendors that received a customer's data are told of the customer's erasure, rectification
//! or restriction (`recipient_notices.rs`).

mod agreements;
pub(crate) mod disclosures;
pub(crate) mod recipient_notices;
pub(crate) mod register;
pub(crate) mod share_input;
pub(crate) mod share_view;
pub(crate) mod shares;
mod vendors;
pub(crate) mod webhooks;

use jiff::Timestamp;
use jiff::civil::Date;
use steward_core::sharing::{
    Agreement, Attention, DpaState, InvalidInput, Review, Vendor, VendorStatus,
};
use uuid::Uuid;

use crate::security::access::LEGAL_OBLIGATION;
use crate::{Access, Actor, AppError};

/// A vendor as the register shows it: as checked, with its review due date and what needs
/// attention.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VendorView {
    #[serde(flatten)]
    pub vendor: Vendor,
    /// The version a change is made from (`If-Match`).
    pub version: i64,
    /// When the next review is due; absent for a vendor never reviewed.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = Date))]
    pub next_review_due: Option<Date>,
    pub attention: Attention,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewView {
    pub id: Uuid,
    pub vendor_id: Uuid,
    #[serde(flatten)]
    pub review: Review,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub recorded_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgreementView {
    #[serde(flatten)]
    pub agreement: Agreement,
    /// The version a change is made from (`If-Match`).
    pub version: i64,
    /// In force today.
    pub live: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

/// A vendor that needs the privacy officer: a review overdue (or never made), a processing
/// contract missing, ended or incomplete, or certifications ending within 30 days or ended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VendorAttention {
    pub vendor_id: Uuid,
    pub legal_name: String,
    pub status: VendorStatus,
    pub attention: Attention,
}

impl VendorAttention {
    pub(crate) fn needed(attention: &Attention) -> bool {
        attention.review.is_overdue()
            || attention
                .dpa
                .as_ref()
                .is_some_and(|d| *d != DpaState::Current)
            || attention.certifications_expiring > 0
            || attention.certifications_expired > 0
    }
}

/// Changes to the register: the privacy officer's (or Steward's own, at the operator's
/// command), under the purpose of the legal obligation it serves, which the audit log records.
fn require_keeper(access: &Access) -> Result<(), AppError> {
    if !access.actor.role.may_keep_register() {
        return Err(AppError::Forbidden(format!(
            "role {} may not change the vendor register",
            access.actor.role
        )));
    }
    if access.purpose.key != LEGAL_OBLIGATION {
        return Err(AppError::Forbidden(format!(
            "the vendor register is kept under the purpose {LEGAL_OBLIGATION}"
        )));
    }
    Ok(())
}

/// Reading the register, its agreements and the transfer rules.
pub(crate) fn require_reader(actor: &Actor) -> Result<(), AppError> {
    if actor.role.may_read_register() {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "role {} may not read the vendor register",
            actor.role
        )))
    }
}

/// Input the register refuses, named by its field; the message never repeats the value.
pub(crate) fn invalid(e: InvalidInput) -> AppError {
    AppError::invalid(e.field, e.message)
}

/// A value of Steward's own that JSON cannot hold: a bug, never the caller's doing.
fn encoded<T: serde::Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| AppError::Internal(e.to_string()))
}
