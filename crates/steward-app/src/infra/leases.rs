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
        let renewer = Renewer(tokio::spawn(renew(
            self.store.clone(),
            self.clock.clone(),
            self.instance.clone(),
            (job, fence),
            hold,
            held.clone(),
        )));
        let outcome = work(held).await;
        drop(renewer);
        // What the work did stands either way; a lease not let go only runs out later.
        if release && let Err(e) = self.store.release_lease(job, &self.instance, fence).await {
            tracing::warn!(job, fence, error = %e, "letting the lease go failed");
        }
        outcome.map(Some)
    }
}

/// Stops renewing when the work ends, however it ends (a panic, or its future dropped at
/// shutdown), so a lease no work holds runs out.
struct Renewer(tokio::task::JoinHandle<()>);

impl Drop for Renewer {
    fn drop(&mut self) {
        self.0.abort();
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

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;
    use steward_core::{Catalog, FixedClock};

    use super::*;
    use crate::OpenOptions;

    const HOLD: Duration = Duration::from_millis(90);

    async fn open(dir: &std::path::Path) -> (Steward, Arc<FixedClock>) {
        let clock = Arc::new(FixedClock::new(
            "2026-01-15T10:00:00Z".parse().expect("time"),
        ));
        let app = Steward::open(OpenOptions {
            data_dir: dir.to_path_buf(),
            database_url: None,
            keystore_url: None,
            master_key_file: None,
            kek_token: None,
            catalog: Catalog::default_catalog().expect("catalog"),
            clock: clock.clone(),
            controller: Default::default(),
            mail: Default::default(),
            readable_at_least: crate::READABLE_AT_LEAST,
            staff_shown_as: Default::default(),
            sharing: steward_core::sharing::SharingRules::shipped().expect("rules"),
            webhooks: Default::default(),
            security: Default::default(),
        })
        .await
        .expect("open");
        (app, clock)
    }

    /// Another instance's try at the lease, now.
    async fn taken_by_another(app: &Steward) -> bool {
        let now = app.clock.now().as_microsecond();
        app.store
            .take_lease("job", "another", now, now + micros(HOLD))
            .await
            .expect("take")
            .is_some()
    }

    #[tokio::test]
    async fn a_lease_is_renewed_while_its_work_runs_past_its_first_end() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (app, clock) = open(dir.path()).await;
        let (app, clock) = (&app, &clock);
        let kept = app
            .leased("job", HOLD, false, |held| async move {
                // Well past its first end, in steps the renewals keep ahead of.
                for _ in 0..12 {
                    clock.advance(SignedDuration::from_millis(20));
                    tokio::time::sleep(HOLD / 2).await;
                }
                Ok((held.still(), taken_by_another(app).await))
            })
            .await
            .expect("leased");
        assert_eq!(kept, Some((true, false)), "held, and refused to another");
        assert_eq!(
            app.leased("job", HOLD, false, |_| async { Ok(()) })
                .await
                .expect("again"),
            Some(()),
            "its holder takes it again"
        );
    }

    #[tokio::test]
    async fn a_lease_taken_over_while_its_work_runs_stops_the_work() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (app, clock) = open(dir.path()).await;
        let (app, clock) = (&app, &clock);
        let batches = app
            .leased("job", HOLD, false, |held| async move {
                // Stalled past its lease, the holder is taken over.
                clock.advance(SignedDuration::from_secs(1));
                assert!(taken_by_another(app).await);
                let mut batches = 0;
                while held.still() && batches < 100 {
                    batches += 1;
                    tokio::time::sleep(HOLD / 6).await;
                }
                Ok(batches)
            })
            .await
            .expect("leased")
            .expect("taken");
        assert!(batches < 100, "stopped once its renewal failed");
        assert_eq!(
            app.leased("job", HOLD, false, |_| async { Ok(()) })
                .await
                .expect("again"),
            None,
            "now the other's"
        );
    }
}
