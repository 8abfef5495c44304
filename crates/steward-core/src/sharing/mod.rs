//! Third parties: the vendor register (roles, countries, the Art. 28 contract and its
//! checklist, certifications, the Data Privacy Framework, risk tiers and reviews), the
//! data-sharing agreements, and the checks a share must pass, each refusal with its code.
//!
//! Where the data may go is judged by [`crate::transfers`]; this module says who receives it,
//! under what, and asks that module about every country the vendor and its sub-processors
//! reach.

mod agreement;
mod check;
mod dpa;
pub(crate) mod invalid;
mod refusal;
mod reliance;
mod review;
mod vendor;

#[cfg(test)]
mod tests;

pub use agreement::{Agreement, AgreementInput, Destination, DestinationInput, MechanismInput};
pub use check::{
    Clearance, CustomerCondition, DestinationBasis, SharingRules, Transfers, VendorFile,
    check_share, check_transfers,
};
pub use dpa::{ChecklistItem, Dpa, DpaChecklist, DpaState};
pub use invalid::{InvalidCode, InvalidInput};
pub use refusal::{Refusal, RefusalCode, Standing};
pub use reliance::AdequacyLapse;
pub use review::{
    Answer, Attention, Review, ReviewAnswer, ReviewInput, ReviewIntervals, ReviewOutcome,
    ReviewQuestion, ReviewState,
};
pub use vendor::{
    CERTIFICATION_NOTICE_DAYS, Certification, CertificationScheme, RiskTier,
    SubProcessorAuthorisation, Vendor, VendorInput, VendorRole, VendorStatus,
};
