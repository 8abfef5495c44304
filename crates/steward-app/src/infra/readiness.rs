//! Whether this instance can serve requests, for a load balancer's readiness check: both the
//! data database and the key store must answer, since no customer can be read without either.

use std::sync::Arc;
use std::time::Duration;

use crate::Steward;

/// How long a part may take to answer before the instance counts as not ready: a load
/// balancer's probe gives up after a few seconds, and a slower answer is no better.
const PATIENCE: Duration = Duration::from_secs(2);

/// The part of the installation that does not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    #[error("the database does not answer")]
    Database,
    #[error("the key store does not answer")]
    KeyStore,
}

impl Steward {
    /// Reads the audit chain's head from the database and the key-encryption key versions
    /// from the key store, each within [`PATIENCE`]. Nothing personal is read.
    pub async fn readiness(&self) -> Result<(), NotReady> {
        match tokio::time::timeout(PATIENCE, self.store.audit_head()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "not ready: the database does not answer");
                return Err(NotReady::Database);
            }
            Err(_) => {
                tracing::warn!("not ready: the database did not answer in time");
                return Err(NotReady::Database);
            }
        }
        let keys = Arc::clone(&self.keys);
        // On a blocking thread: a SQLite key store held by a long write would otherwise hold
        // up this worker too, and the probe could not give up on it.
        let runtime = tokio::runtime::Handle::current();
        let read = tokio::task::spawn_blocking(move || runtime.block_on(keys.kek_versions()));
        match tokio::time::timeout(PATIENCE, read).await {
            Ok(Ok(Ok(_))) => Ok(()),
            Ok(Ok(Err(e))) => {
                tracing::warn!(error = %e, "not ready: the key store does not answer");
                Err(NotReady::KeyStore)
            }
            Ok(Err(_)) | Err(_) => {
                tracing::warn!("not ready: the key store did not answer in time");
                Err(NotReady::KeyStore)
            }
        }
    }
}
