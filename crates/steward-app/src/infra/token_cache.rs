//! Recently verified bearer tokens, so that a busy integration is not a database read per
//! request. Only valid tokens are kept, by hash, for a short time; revoking a token, signing
//! out, or changing an account drops entries at once in this process. On PostgreSQL the
//! transaction that revokes also tells every other instance (`Revoked` on the sessions
//! channel), which drops them too; while an instance cannot hear that, its cache is off and
//! every token is checked against the database.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use steward_store::{Heard, Listener, Revoked};
use uuid::Uuid;

use crate::Actor;

const TTL_MICROS: i64 = 10_000_000;
/// Beyond this many tokens the cache starts over rather than growing.
const MAX_ENTRIES: usize = 10_000;

struct Entry {
    token: Uuid,
    actor: Actor,
    expires_at: Option<i64>,
    fetched_at: i64,
}

pub(crate) struct TokenCache {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    /// Moves on at every eviction, under the entries' lock: a token read from the database
    /// before an eviction may predate the revocation, so it is not cached after it.
    epoch: AtomicU64,
    /// Off while revocations made by other instances may go unheard.
    enabled: AtomicBool,
}

impl TokenCache {
    /// A cache that starts on, or off until `follow` hears that it is listening.
    pub(crate) fn new(enabled: bool) -> TokenCache {
        TokenCache {
            entries: Mutex::default(),
            epoch: AtomicU64::new(0),
            enabled: AtomicBool::new(enabled),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Taken before reading a token from the database, and given back to `put`.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// The actor for a token verified less than the time-to-live ago and not expired by `now`.
    pub(crate) fn get(&self, hash: &[u8; 32], now: i64) -> Option<Actor> {
        if !self.enabled.load(Ordering::Acquire) {
            return None;
        }
        let mut entries = self.lock();
        let entry = entries.get(hash)?;
        let fresh = now.saturating_sub(entry.fetched_at) < TTL_MICROS && entry.fetched_at <= now;
        if fresh && entry.expires_at.is_none_or(|e| e > now) {
            Some(entry.actor.clone())
        } else {
            entries.remove(hash);
            None
        }
    }

    /// Keeps a token read from the database, unless something was evicted since `epoch`
    /// was taken or the cache is off.
    pub(crate) fn put(
        &self,
        hash: [u8; 32],
        token: Uuid,
        actor: &Actor,
        expires_at: Option<i64>,
        now: i64,
        epoch: u64,
    ) {
        let mut entries = self.lock();
        if !self.enabled.load(Ordering::Acquire) || self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            hash,
            Entry {
                token,
                actor: actor.clone(),
                expires_at,
                fetched_at: now,
            },
        );
    }

    pub(crate) fn forget_token(&self, token: Uuid) {
        let mut entries = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.retain(|_, e| e.token != token);
    }

    /// After an account changes, every token is checked against the database again.
    pub(crate) fn forget_all(&self) {
        let mut entries = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }

    fn revoked(&self, revoked: Revoked) {
        match revoked {
            Revoked::Token(id) => self.forget_token(id),
            // Entries are kept by token, and which tokens are the account's sessions is in
            // the database: all go, as after a change made here.
            Revoked::User(_) => self.forget_all(),
        }
    }

    /// Whether this instance hears other instances' revocations, so may cache.
    pub(crate) fn is_on(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    fn turn_off(&self) {
        self.enabled.store(false, Ordering::Release);
        self.forget_all();
    }

    /// What was cached before may have been revoked while nothing was heard.
    fn turn_on(&self) {
        self.forget_all();
        self.enabled.store(true, Ordering::Release);
    }

    /// Follows what other instances revoke, for as long as the listener runs.
    pub(crate) async fn follow(&self, mut listener: Listener) {
        while let Some(heard) = listener.recv().await {
            match heard {
                Heard::Listening => {
                    self.turn_on();
                    tracing::info!("hearing revocations by other instances; tokens are cached");
                }
                Heard::Notified(payload) => match payload.parse::<Revoked>() {
                    Ok(revoked) => self.revoked(revoked),
                    // Not from this version of Steward: whatever it meant, forgetting
                    // everything is safe.
                    Err(()) => {
                        tracing::warn!(%payload, "unknown revocation heard");
                        self.forget_all();
                    }
                },
                Heard::Lost(error) => {
                    self.turn_off();
                    tracing::warn!(
                        %error,
                        "revocations by other instances cannot be heard; every token is checked against the database until they can"
                    );
                }
            }
        }
        self.turn_off();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor() -> Actor {
        Actor::system("test", &[])
    }

    #[test]
    fn a_token_read_before_an_eviction_is_not_cached_after_it() {
        let cache = TokenCache::new(true);
        let (hash, token) = ([7; 32], Uuid::now_v7());
        let epoch = cache.epoch();
        // Revoked by another instance while this one was reading the row.
        cache.revoked(Revoked::Token(token));
        cache.put(hash, token, &actor(), None, 0, epoch);
        assert!(cache.get(&hash, 1).is_none());
        cache.put(hash, token, &actor(), None, 0, cache.epoch());
        assert!(cache.get(&hash, 1).is_some());
    }

    #[test]
    fn nothing_is_cached_or_served_while_off() {
        let cache = TokenCache::new(true);
        let hash = [1; 32];
        cache.put(hash, Uuid::now_v7(), &actor(), None, 0, cache.epoch());
        cache.turn_off();
        assert!(cache.get(&hash, 1).is_none());
        cache.put(hash, Uuid::now_v7(), &actor(), None, 0, cache.epoch());
        cache.turn_on();
        assert!(cache.get(&hash, 1).is_none());
    }
}
