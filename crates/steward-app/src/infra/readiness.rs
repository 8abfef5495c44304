//! Whether this instance can serve requests, for a load balancer's readiness check: the data
//! database and the key store must answer, and the key-encryption key (in the master key file
//! or a PKCS#11 token) must unwrap, since no customer can be read without all three.

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
    #[error("the key-encryption key cannot be used")]
    KeyEncryptionKey,
}

impl Steward {
    /// Reads the audit chain's head from the database and the key-encryption key versions
    /// from the key store, and wraps and unwraps a throwaway key by the current
    /// key-encryption key, each within [`PATIENCE`]. Nothing personal is read.
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
            Ok(Ok(Ok(_))) => {}
            Ok(Ok(Err(e))) => {
                tracing::warn!(error = %e, "not ready: the key store does not answer");
                return Err(NotReady::KeyStore);
            }
            Ok(Err(_)) | Err(_) => {
                tracing::warn!("not ready: the key store did not answer in time");
                return Err(NotReady::KeyStore);
            }
        }
        // A token's calls block: on a thread of their own, so a hung token is given up on.
        let probe = self.vault.kek_probe();
        let check = tokio::task::spawn_blocking(move || probe.check());
        match tokio::time::timeout(PATIENCE, check).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => {
                tracing::warn!(error = %e, "not ready: the key-encryption key cannot be used");
                Err(NotReady::KeyEncryptionKey)
            }
            Ok(Err(_)) | Err(_) => {
                tracing::warn!("not ready: the key-encryption key did not answer in time");
                Err(NotReady::KeyEncryptionKey)
            }
        }
    }
}
