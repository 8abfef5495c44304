//! The machinery the mechanisms share and that holds no privacy rule of its own: group
//! commit, the token cache, idempotent retries, page cursors, changes as JSON merge patches,
//! mail transport, and the leases that keep a job to one instance at a time.

pub(crate) mod cursor;
pub(crate) mod following;
pub(crate) mod group_commit;
pub(crate) mod idempotency;
pub(crate) mod leases;
pub(crate) mod mail;
pub(crate) mod merge_patch;
pub(crate) mod readiness;
pub(crate) mod token_cache;
