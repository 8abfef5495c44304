//! Rotation: a new key-encryption key version, then the rewrap that moves every wrapped key
//! onto it while the server keeps serving, then the retirement of the versions nothing uses.
//!
//! The rewrap keeps no state of its own: what is left is every key wrapped by a version below
//! the current one, so a rewrap that was stopped or killed is resumed by running it again.
//! It walks the keys in customer order, a batch per key-store transaction, and writes each
//! rewrapped key only where the row still holds the version it was read with: a key destroyed
//! meanwhile stays destroyed, and no request's write is lost (data keys are only ever
//! inserted or destroyed by requests, never changed).
//!
//! A version is retired in one key-store transaction with the count that finds no key using
//! it; from then on the key store refuses keys wrapped by it, so a key wrapped before the
//! rotation and written after the walk is either caught by the count (and the walk runs
//! again) or refused, never written unreadable. Only then does its line leave the master key
//! file.
//!
//! Another process (the server, when the command line rotates) takes a new version in by
//! reading the master key file every [`REFRESH_EVERY`]; until then it still wraps new keys by
//! the old version. So a version is retired only once the file has stood unchanged for
//! [`RETIRE_GRACE`], by which time every process wraps by the new one.

use steward_store::Rewrapped;

use crate::collection::customers::unwrap_stored;
use crate::security::keys::kek_target;
use crate::services::{Jobs, Keys};
use crate::{Actor, AppError, Steward};

/// Keys per key-store transaction.
pub const REWRAP_BATCH: usize = 1_000;

/// Walks over the keys before a version is retired: a key written with an old version during
/// a walk is found by the next one.
const WALKS: usize = 5;

/// How often the server reads the master key file for versions another process added.
pub const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// How long the master key file stands unchanged before an old version is retired: more than
/// two reads of it by every running process.
pub const RETIRE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// How long the rewrap's lease lasts unrenewed, should the instance walking the keys stop.
const REWRAP_LEASE: std::time::Duration = std::time::Duration::from_secs(60);
const FAILED_REWRAP_PAUSE: std::time::Duration = std::time::Duration::from_secs(60);

/// What a rewrap did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RewrapOutcome {
    /// The version keys were moved to.
    pub to: u32,
    pub data_keys: u64,
    pub secrets: u64,
    /// Versions retired at the end: gone from the master key file.
    pub retired: Vec<u32>,
    /// False when it stopped at its batch limit with keys left to move.
    pub finished: bool,
}

impl Steward {
    /// Moves up to one batch of data keys after `after` onto the current version; returns the
    /// last customer looked at (`None` at the end of the walk) and how many were moved.
    async fn rewrap_batch(
        &self,
        below: u32,
        after: Option<uuid::Uuid>,
    ) -> Result<(Option<uuid::Uuid>, u64), AppError> {
        let old = self
            .keys
            .data_keys_below(below, after, REWRAP_BATCH)
            .await?;
        let Some(last) = old.last().map(|(id, _)| *id) else {
            return Ok((None, 0));
        };
        let mut new = Vec::with_capacity(old.len());
        for (id, key) in old {
            let from = key.kek_version;
            let wrapped = self.vault.rewrap_data_key(&id, &unwrap_stored(key))?;
            new.push(Rewrapped {
                id,
                from,
                key: steward_store::StoredKey {
                    kek_version: wrapped.kek_version,
                    bytes: wrapped.bytes,
                },
            });
        }
        let moved = self.keys.replace_data_keys(&new).await?;
        Ok((Some(last), moved as u64))
    }

    async fn rewrap_secrets(&self, below: u32) -> Result<u64, AppError> {
        let mut new = Vec::new();
        for (name, key) in self.keys.secrets_below(below).await? {
            let from = key.kek_version;
            let wrapped = self.vault.rewrap_secret(&name, &unwrap_stored(key))?;
            new.push(Rewrapped {
                id: name,
                from,
                key: steward_store::StoredKey {
                    kek_version: wrapped.kek_version,
                    bytes: wrapped.bytes,
                },
            });
        }
        Ok(self.keys.replace_secrets(&new).await? as u64)
    }

    /// Retires every loaded version below the current one that no key uses any more.
    async fn retire_unused(&self, actor: &Actor, current: u32) -> Result<Vec<u32>, AppError> {
        let mut retired = Vec::new();
        for v in self.vault.kek_versions() {
            if v >= current {
                continue;
            }
            if !self
                .keys
                .retire_kek_version(v, self.clock.now().as_microsecond())
                .await?
            {
                continue;
            }
            self.vault.retire(v)?;
            self.append(vec![self.record(
                actor,
                "keys.retired",
                None,
                vec![kek_target(v)],
                vec![],
                Some(format!(
                    "no key is wrapped by version {v} any more; removed from the master key file"
                )),
            )])
            .await?;
            tracing::info!(version = v, "key-encryption key version retired");
            retired.push(v);
        }
        Ok(retired)
    }
}

impl Keys<'_> {
    /// Adds a new key-encryption key version, current at once, and records it. The keys
    /// still wrapped by older versions are moved by [`Keys::rewrap`] (the server runs it in
    /// the background).
    pub async fn rotate(&self, actor: &Actor) -> Result<u32, AppError> {
        Steward::require_key_admin(actor)?;
        self.rotate_because(actor, "rotation asked for").await
    }

    pub(super) async fn rotate_because(&self, actor: &Actor, why: &str) -> Result<u32, AppError> {
        let app = self.app;
        let from = app.vault.kek_version();
        let version = app.vault.rotate()?;
        app.keys
            .record_kek_version(version, app.clock.now().as_microsecond())
            .await?;
        app.append(vec![app.record(
            actor,
            "keys.rotated",
            None,
            vec![kek_target(version)],
            vec![],
            Some(format!(
                "version {version} created and current ({why}); keys of version {from} and older are rewrapped onto it"
            )),
        )])
        .await?;
        tracing::info!(version, "key-encryption key rotated");
        app.rewrap_wanted.notify_one();
        Ok(version)
    }

    /// Moves every key wrapped by an older version onto the current one, a batch per
    /// transaction, then retires the versions left unused. `max_batches` stops it early
    /// (resumed by running it again); `progress` hears the data keys moved so far.
    pub async fn rewrap(
        &self,
        actor: &Actor,
        max_batches: Option<usize>,
        mut progress: impl FnMut(u64),
    ) -> Result<RewrapOutcome, AppError> {
        Steward::require_key_admin(actor)?;
        let app = self.app;
        let _one_at_a_time = app.rewrapping.lock().await;
        let current = app.vault.kek_version();
        let mut out = RewrapOutcome {
            to: current,
            ..RewrapOutcome::default()
        };
        let mut batches = 0;
        for _ in 0..WALKS {
            out.secrets += app.rewrap_secrets(current).await?;
            let mut after = None;
            let mut moved_in_walk = 0;
            loop {
                if max_batches.is_some_and(|max| batches >= max) {
                    return Ok(out);
                }
                let (last, moved) = app.rewrap_batch(current, after).await?;
                let Some(last) = last else { break };
                after = Some(last);
                batches += 1;
                moved_in_walk += moved;
                out.data_keys += moved;
                progress(out.data_keys);
                app.append(vec![app.record(
                    actor,
                    "keys.rewrapped",
                    None,
                    vec![kek_target(current)],
                    vec![],
                    Some(format!(
                        "batch {batches}: {moved} data keys moved to version {current}, {} so far",
                        out.data_keys
                    )),
                )])
                .await?;
                // Requests waiting for the key store or this thread go first.
                tokio::task::yield_now().await;
            }
            if moved_in_walk == 0 {
                let written = app.vault.master_key_written_at()?;
                let age = std::time::SystemTime::now()
                    .duration_since(written)
                    .unwrap_or_default();
                if let Some(wait) = RETIRE_GRACE.checked_sub(age) {
                    tokio::time::sleep(wait).await;
                }
                out.retired = app.retire_unused(actor, current).await?;
                let left = app
                    .keys
                    .kek_usage()
                    .await?
                    .into_iter()
                    .any(|(v, used)| v < current && used.data_keys + used.secrets > 0);
                if !left {
                    out.finished = true;
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    /// Whether a version older than the current one is still loaded: keys may still be
    /// wrapped by it, and it is not retired yet. (Keys wrapped by a version no longer loaded
    /// could not be rewrapped anyway; the status shows them.)
    pub fn rewrap_due(&self) -> bool {
        let current = self.app.vault.kek_version();
        self.app.vault.kek_versions().iter().any(|v| *v < current)
    }
}

impl Jobs {
    /// Runs the rewrap whenever an older version still wraps keys: after a rotation through
    /// the API, one from the command line, or a rewrap a kill interrupted.
    pub async fn key_rewrapper(self, stop: impl std::future::Future<Output = ()>) {
        let actor = Actor::system("key-rewrap", &[]);
        tokio::pin!(stop);
        loop {
            let keys = self.app.keys();
            // A rotation made from the command line reached the file, not this process.
            match self.app.vault.refresh() {
                // Recorded here too in case the process that rotated died before it could.
                Ok(true) => {
                    if let Err(e) = self.app.record_kek_versions().await {
                        tracing::warn!(error = %e, "recording the key versions failed");
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "reading the master key file failed"),
            }
            let mut wait = REFRESH_EVERY;
            if keys.rewrap_due() {
                // Let go when done: the next rotation's rewrap may start on any instance.
                let walk = self.app.leased("key-rewrap", REWRAP_LEASE, true, |_| {
                    keys.rewrap(&actor, None, |_| {})
                });
                match walk.await {
                    Ok(None) => {}
                    Ok(Some(done)) => tracing::info!(
                        to = done.to,
                        data_keys = done.data_keys,
                        secrets = done.secrets,
                        retired = ?done.retired,
                        "keys rewrapped"
                    ),
                    Err(e) => {
                        tracing::warn!(error = %e, "rewrapping keys failed");
                        // A walk over every key is not worth repeating every few seconds.
                        wait = FAILED_REWRAP_PAUSE;
                    }
                }
            }
            tokio::select! {
                _ = self.app.rewrap_wanted.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = &mut stop => break,
            }
        }
    }
}
