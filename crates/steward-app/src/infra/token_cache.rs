//! Recently verified bearer tokens, so that a busy integration is not a database read per
//! request. Only valid tokens are kept, by hash, for a short time; revoking a token, signing
//! out, or changing an account drops entries at once in this process. Another instance
//! sharing the PostgreSQL database sees a revocation within `TTL_MICROS` at the latest.

use std::collections::HashMap;
use std::sync::Mutex;

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

#[derive(Default)]
pub(crate) struct TokenCache {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The actor for a token verified less than the time-to-live ago and not expired by `now`.
    pub(crate) fn get(&self, hash: &[u8; 32], now: i64) -> Option<Actor> {
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

    pub(crate) fn put(
        &self,
        hash: [u8; 32],
        token: Uuid,
        actor: &Actor,
        expires_at: Option<i64>,
        now: i64,
    ) {
        let mut entries = self.lock();
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
        self.lock().retain(|_, e| e.token != token);
    }

    /// After an account changes, every token is checked against the database again.
    pub(crate) fn forget_all(&self) {
        self.lock().clear();
    }
}
