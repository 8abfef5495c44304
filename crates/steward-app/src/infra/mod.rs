//! The machinery the mechanisms share and that holds no privacy rule of its own: group
//! commit, the token cache, idempotent retries, page cursors, changes as JSON merge patches,
//! and mail transport.

pub(crate) mod cursor;
pub(crate) mod group_commit;
pub(crate) mod idempotency;
pub(crate) mod mail;
pub(crate) mod merge_patch;
pub(crate) mod readiness;
pub(crate) mod token_cache;
