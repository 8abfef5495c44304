//! Keys an import wrote for customers whose rows never committed. An import writes each
//! batch's new keys to the key store as pending before it commits the rows to the data
//! database (the two cannot share a commit), and settles them after. A run that was killed
//! in between leaves a pending batch; the next import of that file, and every start, sweep
//! it: keys of customers with a row stay, the others are destroyed.
//!
//! A batch is only swept when no run of its import is alive, which a lock file per import
//! tells: the system lets go of a file lock when its process ends, however it ends, so a lock
//! that can be taken means that no one is between writing those keys and committing rows.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use steward_store::{KeyStore, PendingBatch, Store};
use uuid::Uuid;

use crate::services::Keys;
use crate::{AppError, Steward};

/// Held for as long as an import of one file runs.
pub(crate) struct JobLock {
    path: PathBuf,
    _file: File,
}

impl JobLock {
    /// Takes the lock of `job`, or `None` when a live run holds it.
    pub(crate) fn try_take(key_dir: &Path, job: &str) -> Result<Option<JobLock>, AppError> {
        let path = key_dir.join(format!("import-{job}.lock"));
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
            }
            // The holder before removes the file as it lets go: a lock on a file no longer
            // at the path would be a lock nobody else sees, so take the new one instead.
            if same_file(&file, &path) {
                return Ok(Some(JobLock { path, _file: file }));
            }
        }
    }
}

impl Drop for JobLock {
    fn drop(&mut self) {
        // Removed while still locked, so no one can take the lock of a file that is going.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
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
    keys.discard_pending(batch.batch, &orphans)?;
    Ok(orphans.len())
}

impl Steward {
    /// Sweeps the pending key batches of every import that no live run holds, plus those of
    /// `held`, the job whose lock the caller has; returns how many keys were destroyed.
    pub(crate) async fn sweep_orphan_keys_of(&self, held: Option<&str>) -> Result<u64, AppError> {
        let mut destroyed = 0;
        for batch in self.keys.pending_batches()? {
            let _lock = if held == Some(batch.job.as_str()) {
                None
            } else {
                match JobLock::try_take(&self.key_dir, &batch.job)? {
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
