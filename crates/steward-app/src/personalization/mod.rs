//! Personalization the customer controls (I8): the level they chose, the profile attributes
//! derived from their interactions at full, and the recompute that keeps those up to date.
//! Attribute values are sealed with the customer's key (`values.rs`); only customers at full
//! have anything derived (`recompute.rs`).

pub(crate) mod recompute;
pub(crate) mod values;

#[cfg(feature = "local-staff")]
pub(crate) mod fixtures;

pub use recompute::RecomputeReport;
