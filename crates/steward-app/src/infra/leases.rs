//! Leases on the background jobs that one instance at a time should run, when several
//! instances serve one database. A lease saves duplicate work and nothing more: each job
//! still claims every item it acts on, so two holders at once (one stalled past its lease,
//! say) still act on each item once.
//!
//! A periodic job takes its lease for its whole period and keeps it when it is done, so the
//! other instances, waking meanwhile, find it held and wait for the next period; the holder
//! takes it again at its next round. One that stops holding it (stalled, killed, cut off
//! from the database) is taken over once the period has passed.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use steward_core::Clock;
use steward_store::Store;

use crate::{AppError, Steward};

/// Whether this instance still holds the lease it took; a job asks at each batch boundary
/// and stops when it no longer does.
#[derive(Clone)]
pub(crate) struct Held(Arc<AtomicBool>);

impl Held {
    pub(crate) fn still(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl Steward {
    /// Runs `work` if this instance holds `job`'s lease, taking it for `hold` when it is free
    /// or expired, and renewing it every third of `hold` while `work` runs; `None` when
    /// another instance holds it. With `release`, the lease is let go when `work` ends, for
    /// jobs that any instance may start again at once.
    pub(crate) async fn leased<T, F>(
        &self,
        job: &'static str,
        hold: Duration,
        release: bool,
        work: impl FnOnce(Held) -> F,
    ) -> Result<Option<T>, AppError>
    where
        F: Future<Output = Result<T, AppError>>,
    {
        let now = self.clock.now().as_microsecond();
        let until = now.saturating_add(micros(hold));
        let Some(fence) = self
            .store
            .take_lease(job, &self.instance, now, until)
            .await?
        else {
            return Ok(None);
        };
        tracing::debug!(job, fence, "lease taken");
        let held = Held(Arc::new(AtomicBool::new(true)));
        let renewer = tokio::spawn(renew(
            self.store.clone(),
            self.clock.clone(),
            self.instance.clone(),
            (job, fence),
            hold,
            held.clone(),
        ));
        let outcome = work(held).await;
        renewer.abort();
        if release {
            self.store.release_lease(job, &self.instance, fence).await?;
        }
        outcome.map(Some)
    }
}

async fn renew(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    instance: String,
    (job, fence): (&'static str, i64),
    hold: Duration,
    held: Held,
) {
    loop {
        tokio::time::sleep(hold / 3).await;
        let until = clock.now().as_microsecond().saturating_add(micros(hold));
        let lost = match store.renew_lease(job, &instance, fence, until).await {
            Ok(true) => continue,
            Ok(false) => "taken over by another instance",
            // Whether it still holds is unknown, so the job stops as if it did not.
            Err(e) => {
                tracing::warn!(job, fence, error = %e, "renewing the lease failed");
                "not renewed"
            }
        };
        tracing::warn!(
            job,
            fence,
            lost,
            "lease lost; the job stops at its next batch"
        );
        held.0.store(false, Ordering::Release);
        return;
    }
}
