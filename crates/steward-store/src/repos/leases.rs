//! Leases on jobs that one instance at a time should run. A lease only saves duplicate work:
//! what must happen once per item is claimed per item by the job itself.

use async_trait::async_trait;

use crate::Result;

#[async_trait]
pub trait Leases: Send + Sync {
    /// Takes `job`'s lease for `holder` until `until` if it is free, expired at `now`, or
    /// `holder`'s already; answers the take's fence, larger than any before it, or `None`
    /// when another holder's lease is live.
    async fn take_lease(
        &self,
        job: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<Option<i64>>;
    /// Moves the lease's end to `until`; false when the take with `fence` no longer holds it.
    async fn renew_lease(&self, job: &str, holder: &str, fence: i64, until: i64) -> Result<bool>;
    /// Lets the lease go at once; false when the take with `fence` no longer held it.
    async fn release_lease(&self, job: &str, holder: &str, fence: i64) -> Result<bool>;
}
