//! Personal-data breaches: who a breach reached, computed from the audit log.

pub(crate) mod scope;
