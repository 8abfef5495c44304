//! Consent: the ledger of opt-in, purpose-based choices with their evidence, the versioned
//! notices they were given under, receipts, double opt-in and its emailed links, public
//! sign-up forms, unsubscribe, and consent that expires.

pub(crate) mod decisions;
pub(crate) mod double_opt_in;
pub(crate) mod expiry;
pub(crate) mod forms;
pub(crate) mod gpc;
pub(crate) mod group;
pub(crate) mod ledger;
pub(crate) mod notices;
pub(crate) mod proofs;
pub(crate) mod receipt;
pub(crate) mod signups;
pub(crate) mod unsubscribe;
