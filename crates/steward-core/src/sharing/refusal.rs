//! Why a share or a transfer is refused: one code for machines, and what is at fault.

use std::fmt;

use jiff::civil::Date;
use uuid::Uuid;

use super::dpa::DpaState;
use super::vendor::VendorStatus;
use crate::CountryCode;
use crate::transfers::{Gap, SccModule, TransferRefusal};

/// The refusal codes, spelled as the API's problem codes are (`NO_AGREEMENT`), in the order
/// the checks run. That order goes from the relationship to the request: a vendor out of good
/// standing makes every agreement moot, so its own state is judged first (status, then the
/// contract processing rests on, then the review that vouches for both); then whether an
/// agreement is in force, then whether it covers this purpose and each field asked for, and
/// last where the data would go, which depends on all of them. The last four are answered
/// destination by destination, each with its own first defect: the clauses' module before
/// their assessment, a lapsed certification only where nothing else is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefusalCode {
    VendorNotActive,
    DpaMissing,
    ReviewOverdue,
    NoAgreement,
    AgreementExpired,
    PurposeNotAgreed,
    CategoryNotAgreed,
    NoTransferMechanism,
    SccModuleMismatch,
    TiaStale,
    DpfInactive,
}

impl RefusalCode {
    pub const ALL: [RefusalCode; 11] = [
        RefusalCode::VendorNotActive,
        RefusalCode::DpaMissing,
        RefusalCode::ReviewOverdue,
        RefusalCode::NoAgreement,
        RefusalCode::AgreementExpired,
        RefusalCode::PurposeNotAgreed,
        RefusalCode::CategoryNotAgreed,
        RefusalCode::NoTransferMechanism,
        RefusalCode::SccModuleMismatch,
        RefusalCode::TiaStale,
        RefusalCode::DpfInactive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::VendorNotActive => "VENDOR_NOT_ACTIVE",
            RefusalCode::DpaMissing => "DPA_MISSING",
            RefusalCode::ReviewOverdue => "REVIEW_OVERDUE",
            RefusalCode::NoAgreement => "NO_AGREEMENT",
            RefusalCode::AgreementExpired => "AGREEMENT_EXPIRED",
            RefusalCode::PurposeNotAgreed => "PURPOSE_NOT_AGREED",
            RefusalCode::CategoryNotAgreed => "CATEGORY_NOT_AGREED",
            RefusalCode::NoTransferMechanism => "NO_TRANSFER_MECHANISM",
            RefusalCode::SccModuleMismatch => "SCC_MODULE_MISMATCH",
            RefusalCode::TiaStale => "TIA_STALE",
            RefusalCode::DpfInactive => "DPF_INACTIVE",
        }
    }
}

impl fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

vocabulary!(
    /// Why a vendor is not in good standing.
    Standing {
        Onboarding => "onboarding",
        Suspended => "suspended",
        Offboarded => "offboarded",
        SuspendedByReview => "suspended_by_review",
        SubProcessorSuspended => "sub_processor_suspended",
    }
);

impl Standing {
    pub(crate) fn of(status: VendorStatus) -> Option<Standing> {
        match status {
            VendorStatus::Active => None,
            VendorStatus::Onboarding => Some(Standing::Onboarding),
            VendorStatus::Suspended => Some(Standing::Suspended),
            VendorStatus::Offboarded => Some(Standing::Offboarded),
        }
    }
}

/// The first reason a share or transfer is refused, with what is at fault. A transfer refusal
/// names the country and, where the data reaches it through a sub-processor, that
/// sub-processor (`via`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Refusal {
    #[error("vendor {vendor} is not in good standing: {standing}")]
    VendorNotActive { vendor: Uuid, standing: Standing },
    #[error("the vendor's data processing agreement does not carry processing: {}", dpa_words(.dpa))]
    DpaMissing { dpa: DpaState },
    #[error("the vendor's review is overdue")]
    ReviewOverdue { due: Option<Date> },
    #[error("no agreement with the vendor is in force")]
    NoAgreement { starts_on: Option<Date> },
    #[error("the agreement ended on {ended_on}")]
    AgreementExpired { agreement: Uuid, ended_on: Date },
    #[error("no agreement in force covers the purpose {purpose}")]
    PurposeNotAgreed { purpose: String },
    #[error("the field {field} ({category}) is not in an agreed data category")]
    CategoryNotAgreed { field: String, category: String },
    #[error("no transfer mechanism carries the data to {country}: {}", .gap.explain())]
    NoTransferMechanism {
        country: CountryCode,
        via: Option<Uuid>,
        gap: Gap,
    },
    #[error("the clauses for {country} are module {}, the roles call for module {}", .recorded.number(), .expected.number())]
    SccModuleMismatch {
        country: CountryCode,
        via: Option<Uuid>,
        recorded: SccModule,
        expected: SccModule,
    },
    #[error("the transfer impact assessment for {country} was due again by {re_evaluate_by}")]
    TiaStale {
        country: CountryCode,
        via: Option<Uuid>,
        re_evaluate_by: Date,
    },
    #[error(
        "the recipient in {country} is not actively certified under the Data Privacy Framework"
    )]
    DpfInactive {
        country: CountryCode,
        via: Option<Uuid>,
    },
}

fn dpa_words(state: &DpaState) -> String {
    match state {
        DpaState::Missing => "none is recorded".into(),
        DpaState::Expired { on } => format!("it ended on {on}"),
        DpaState::Incomplete { missing } => {
            let items: Vec<&str> = missing.iter().map(|m| m.point()).collect();
            format!("it lacks the terms of Art. {}", items.join(", "))
        }
        DpaState::Current => "it is current".into(),
    }
}

impl Refusal {
    pub fn code(&self) -> RefusalCode {
        match self {
            Refusal::VendorNotActive { .. } => RefusalCode::VendorNotActive,
            Refusal::DpaMissing { .. } => RefusalCode::DpaMissing,
            Refusal::ReviewOverdue { .. } => RefusalCode::ReviewOverdue,
            Refusal::NoAgreement { .. } => RefusalCode::NoAgreement,
            Refusal::AgreementExpired { .. } => RefusalCode::AgreementExpired,
            Refusal::PurposeNotAgreed { .. } => RefusalCode::PurposeNotAgreed,
            Refusal::CategoryNotAgreed { .. } => RefusalCode::CategoryNotAgreed,
            Refusal::NoTransferMechanism { .. } => RefusalCode::NoTransferMechanism,
            Refusal::SccModuleMismatch { .. } => RefusalCode::SccModuleMismatch,
            Refusal::TiaStale { .. } => RefusalCode::TiaStale,
            Refusal::DpfInactive { .. } => RefusalCode::DpfInactive,
        }
    }

    /// The field at fault, for `CATEGORY_NOT_AGREED`.
    pub fn field(&self) -> Option<&str> {
        match self {
            Refusal::CategoryNotAgreed { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The destination at fault, for the transfer refusals.
    pub fn country(&self) -> Option<CountryCode> {
        match self {
            Refusal::NoTransferMechanism { country, .. }
            | Refusal::SccModuleMismatch { country, .. }
            | Refusal::TiaStale { country, .. }
            | Refusal::DpfInactive { country, .. } => Some(*country),
            _ => None,
        }
    }

    pub(crate) fn transfer(
        country: CountryCode,
        via: Option<Uuid>,
        why: TransferRefusal,
    ) -> Refusal {
        match why {
            TransferRefusal::NoMechanism(gap) => Refusal::NoTransferMechanism { country, via, gap },
            TransferRefusal::SccModuleMismatch { recorded, expected } => {
                Refusal::SccModuleMismatch {
                    country,
                    via,
                    recorded,
                    expected,
                }
            }
            TransferRefusal::TiaStale { re_evaluate_by } => Refusal::TiaStale {
                country,
                via,
                re_evaluate_by,
            },
            TransferRefusal::DpfInactive => Refusal::DpfInactive { country, via },
        }
    }
}
