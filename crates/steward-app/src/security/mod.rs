//! Security: staff accounts, sign-in and its throttle, tokens, purpose-bound access, the
//! tamper-evident audit log and its outside witness, and the keys: their rotation and the
//! keys of customers who are gone.

pub(crate) mod access;
pub(crate) mod accounts;
pub(crate) mod audit_log;
pub(crate) mod audit_witness;
pub(crate) mod keys;
pub(crate) mod sign_in;
