//! What a share records beside its columns and answers with: its view, the bodies kept as
//! JSON, the reasons customers are left out, how far its webhook deliveries have come, and
//! the label its sealed values are bound to.

use std::collections::BTreeMap;

use jiff::Timestamp;
use steward_store::ShareRow;
use uuid::Uuid;

use crate::AppError;

/// How far a share's webhook deliveries have come, in messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryProgress {
    pub pending: u64,
    pub delivered: u64,
    pub failed: u64,
}

/// Why a customer asked for was left out of a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exclusion {
    /// The purpose rests on consent and none is given and unexpired.
    NoConsent,
    /// Processing is restricted (Art. 18).
    Restricted,
    /// The customer objected to the purpose (Art. 21).
    Objected,
    /// The customer's account is closed.
    Closed,
    /// No such customer, or one erased.
    NotFound,
    /// The transfer rests on the customer's explicit consent (Art. 49(1)(a)), given as consent
    /// to the purpose the agreement names for it, and the customer has not given it.
    NoExplicitConsent,
}

impl Exclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Exclusion::NoConsent => "no_consent",
            Exclusion::Restricted => "restricted",
            Exclusion::Objected => "objected",
            Exclusion::Closed => "closed",
            Exclusion::NotFound => "not_found",
            Exclusion::NoExplicitConsent => "no_explicit_consent",
        }
    }
}

/// What a share records beside its columns, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ShareBody {
    pub fields: Vec<String>,
    pub categories: Vec<String>,
    pub excluded: BTreeMap<String, u64>,
    pub delivery: String,
}

/// Where one customer's data went and on what basis, as a disclosure records it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct DisclosureBody {
    pub agreement_id: Uuid,
    pub categories: Vec<String>,
    /// Each country the data reaches, through whom, and on what basis.
    pub destinations: Vec<serde_json::Value>,
}

/// A share as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShareView {
    pub id: Uuid,
    pub vendor_id: Uuid,
    pub agreement_id: Uuid,
    pub purpose: String,
    pub fields: Vec<String>,
    pub shared: u64,
    /// Customers asked for and left out, by reason.
    pub excluded: BTreeMap<String, u64>,
    /// How the data is delivered: `file`, a signed JSON-lines document to download, or
    /// `webhook`, pushed to the vendor's endpoint.
    pub delivery: String,
    /// For a webhook share, how many of its messages are pending, delivered and failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<DeliveryProgress>,
    pub created_by: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

impl ShareView {
    pub(crate) fn of(row: &ShareRow) -> Result<ShareView, AppError> {
        let body: ShareBody = serde_json::from_str(&row.share)
            .map_err(|_| AppError::corrupt(format!("share {}", row.id)))?;
        Ok(ShareView {
            id: row.id,
            vendor_id: row.vendor_id,
            agreement_id: row.agreement_id,
            purpose: row.purpose.clone(),
            fields: body.fields,
            shared: u64::try_from(row.shared).unwrap_or_default(),
            excluded: body.excluded,
            delivery: body.delivery,
            deliveries: None,
            created_by: row.created_by.clone(),
            created_at: steward_core::clock::from_micros(row.created_at),
        })
    }
}

/// The label a share's sealed values are bound to, so one share's values cannot pass for
/// another's.
pub(crate) fn sealed_label(share: Uuid) -> String {
    format!("share:{share}")
}
