//! Keys an import wrote for customers whose rows never committed. An import writes each
//! batch's new keys to the key store as pending before it commits the rows to the data
//! database (the two cannot share a commit), and settles them after. A run that was killed
//! in between leaves a pending batch; the next import of that file, and every start, sweep
//! it: keys of customers with a row stay, the others are destroyed.
//!
//! A batch is only swept when no run of its import is alive, which a lock per import tells:
//! a file lock beside the key store file, or a session lock in the shared key store, both let
//! go when the process holding them ends, however it ends. A lock that can be taken means
//! that no instance is between writing those keys and committing rows.

use std::collections::HashSet;

use steward_store::{JobLock, KeyStore, PendingBatch, Store};
use uuid::Uuid;

use crate::services::Keys;
use crate::{AppError, Steward};

impl Steward {
    /// Takes the lock of `job`'s runs, or `None` when a live run holds it, on this instance
    /// or, with a shared key store, on any other.
    pub(crate) async fn try_job_lock(&self, job: &str) -> Result<Option<JobLock>, AppError> {
        Ok(self.keys.try_job_lock(&self.key_dir, job).await?)
    }
}

/// Destroys the keys of a pending batch's customers that have no row, and forgets the
/// batch. Only for a batch whose writer is done: finished, failed or dead.
pub(crate) async fn sweep_batch(
    store: &dyn Store,
    keys: &KeyStore,
    batch: &PendingBatch,
) -> Result<usize, AppError> {
    let present: HashSet<Uuid> = store
        .get_customers(&batch.customers)
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    let orphans: Vec<Uuid> = batch
        .customers
        .iter()
        .filter(|id| !present.contains(id))
        .copied()
        .collect();
    keys.discard_pending(batch.batch, &orphans).await?;
    Ok(orphans.len())
}

impl Steward {
    /// Sweeps the pending key batches of every import that no live run holds, plus those of
    /// `held`, the job whose lock the caller has; returns how many keys were destroyed.
    pub(crate) async fn sweep_orphan_keys_of(&self, held: Option<&str>) -> Result<u64, AppError> {
        let mut destroyed = 0;
        for batch in self.keys.pending_batches().await? {
            let _lock = if held == Some(batch.job.as_str()) {
                None
            } else {
                match self.try_job_lock(&batch.job).await? {
                    Some(lock) => Some(lock),
                    None => continue,
                }
            };
            let n = sweep_batch(self.store.as_ref(), &self.keys, &batch).await?;
            if n > 0 {
                tracing::info!(
                    batch = %batch.batch,
                    keys = n,
                    "destroyed the data keys an interrupted import wrote for customers it never stored"
                );
            }
            destroyed += n as u64;
        }
        Ok(destroyed)
    }
}

impl Keys<'_> {
    /// Sweeps the keys that interrupted imports left for customers they never stored, leaving
    /// alone those of imports still running. Also done at every start.
    pub async fn sweep_orphans(&self) -> Result<u64, AppError> {
        self.app.sweep_orphan_keys_of(None).await
    }
}
