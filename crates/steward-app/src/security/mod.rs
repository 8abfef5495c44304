//! Security: staff accounts, sign-in and its throttle, tokens, purpose-bound access, the
//! tamper-evident audit log and its outside witness, the keys (their rotation, and the keys
//! of customers who are gone), the breach register with its response plan, and the security
//! self-audit over the whole installation.

pub(crate) mod access;
pub(crate) mod accounts;
pub(crate) mod audit_log;
pub(crate) mod audit_witness;
pub(crate) mod breaches;
pub(crate) mod keys;
pub(crate) mod self_audit;
pub(crate) mod settings;
pub(crate) mod sign_in;
pub(crate) mod staff;
