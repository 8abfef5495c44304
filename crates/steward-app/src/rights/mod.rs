//! Customers' rights: the privacy portal's use cases, the request desk with its deadlines,
//! the subject's export, erasure by crypto-shredding, the suppression list that keeps the
//! erased from coming back unasked, and the notices telling customers of a breach.

pub(crate) mod breach_notices;
pub(crate) mod erasure;
pub(crate) mod portal;
pub(crate) mod portal_rights;
pub(crate) mod requests;
pub(crate) mod subject_export;
pub(crate) mod suppression;
