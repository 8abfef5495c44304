//! Customers' data keys opened recently, so that reading a customer is one read of the data
//! database and not a second of the key store. Bounded in number and in age; a key leaves
//! when it is destroyed here, and, with a shared key store, when another instance announces
//! that it destroyed it. A dropped key is zeroized with its last holder.
//!
//! The cache only serves paths that have just read the customer's row: erasure destroys the
//! key before it deletes the rows and answers only after both, so once it has answered no
//! instance finds the row, whatever its cache still holds for the moment an announcement takes.
//! While announcements cannot be heard, nothing is cached.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::sync::Arc;
use steward_store::{Heard, Listener};

use steward_vault::DataKey;
use uuid::Uuid;

const TTL: Duration = Duration::from_secs(60);
/// A key schedule is a few hundred bytes: at most a few megabytes in all.
const MAX_ENTRIES: usize = 20_000;

struct Entries<K> {
    keys: HashMap<Uuid, (Arc<K>, Instant)>,
    /// Oldest first; may name keys already gone, which are skipped.
    order: VecDeque<Uuid>,
}

impl<K> Default for Entries<K> {
    fn default() -> Self {
        Entries {
            keys: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

/// Generic over what it keeps only so that its tests need no vault.
pub(crate) struct KeyCache<K = DataKey> {
    entries: Mutex<Entries<K>>,
    /// Moves on at every eviction, under the entries' lock: a key read from the key store
    /// before a destruction was announced is not cached after it.
    epoch: AtomicU64,
    /// Off while destructions by other instances may go unheard.
    enabled: AtomicBool,
}

impl<K> KeyCache<K> {
    /// A cache that starts on, or off until `follow` hears that it is listening.
    pub(crate) fn new(enabled: bool) -> KeyCache<K> {
        KeyCache {
            entries: Mutex::default(),
            epoch: AtomicU64::new(0),
            enabled: AtomicBool::new(enabled),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries<K>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Taken before reading a key from the key store, and given back to `put`.
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub(crate) fn get(&self, id: Uuid) -> Option<Arc<K>> {
        if !self.enabled.load(Ordering::Acquire) {
            return None;
        }
        let mut entries = self.lock();
        match entries.keys.get(&id) {
            Some((key, at)) if at.elapsed() < TTL => Some(key.clone()),
            Some(_) => {
                entries.keys.remove(&id);
                None
            }
            None => None,
        }
    }

    /// Keeps `key` unless something was evicted since `epoch` was taken.
    pub(crate) fn put(&self, id: Uuid, key: Arc<K>, epoch: u64) {
        if !self.enabled.load(Ordering::Acquire) {
            return;
        }
        let mut entries = self.lock();
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        while entries.keys.len() >= MAX_ENTRIES {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            entries.keys.remove(&oldest);
        }
        if entries.keys.insert(id, (key, Instant::now())).is_none() {
            entries.order.push_back(id);
        }
    }

    pub(crate) fn evict(&self, ids: &[Uuid]) {
        let mut entries = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        for id in ids {
            entries.keys.remove(id);
        }
        if entries.order.len() > 2 * MAX_ENTRIES {
            let Entries { keys, order } = &mut *entries;
            order.retain(|id| keys.contains_key(id));
        }
    }

    fn forget_all(&self) {
        let mut entries = self.lock();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.keys.clear();
        entries.order.clear();
    }

    /// Whether this instance hears other instances' destructions, so may cache.
    pub(crate) fn is_on(&self) -> bool {
        self.enabled.load(Ordering::Acquire)
    }

    /// Follows what other instances destroy, for as long as the listener runs.
    pub(crate) async fn follow(&self, mut listener: Listener) {
        while let Some(heard) = listener.recv().await {
            match heard {
                Heard::Listening => {
                    // What was cached before may have been destroyed while nothing was heard.
                    self.forget_all();
                    self.enabled.store(true, Ordering::Release);
                    tracing::info!("hearing key destructions by other instances; keys are cached");
                }
                Heard::Notified(payload) => {
                    let ids: Result<Vec<Uuid>, _> =
                        payload.split(',').map(Uuid::parse_str).collect();
                    match ids {
                        Ok(ids) => self.evict(&ids),
                        Err(_) => {
                            tracing::warn!(
                                "an unreadable key destruction was heard; forgetting every key"
                            );
                            self.forget_all();
                        }
                    }
                }
                Heard::Lost(error) => {
                    self.enabled.store(false, Ordering::Release);
                    self.forget_all();
                    tracing::warn!(
                        %error,
                        "key destructions by other instances cannot be heard; no key is cached until they can"
                    );
                }
            }
        }
        self.enabled.store(false, Ordering::Release);
        self.forget_all();
    }
}

impl crate::Steward {
    /// The data key of a customer whose row the caller has just read, from the cache when
    /// it is there.
    pub(crate) async fn row_key(
        &self,
        row: &steward_store::CustomerRow,
    ) -> Result<Arc<DataKey>, crate::AppError> {
        if let Some(key) = self.key_cache.get(row.id) {
            return Ok(key);
        }
        let epoch = self.key_cache.epoch();
        let key = Arc::new(self.data_key(row.id).await?);
        self.key_cache.put(row.id, key.clone(), epoch);
        Ok(key)
    }

    /// Destroys a customer's data key, here and in this instance's cache. Returns whether
    /// there was one.
    pub(crate) async fn destroy_key(&self, id: Uuid) -> Result<bool, crate::AppError> {
        Ok(self.destroy_keys(&[id]).await? > 0)
    }

    /// Destroys data keys in one transaction; the cache lets them go once that committed, so
    /// that no read which began before can put them back.
    pub(crate) async fn destroy_keys(&self, ids: &[Uuid]) -> Result<usize, crate::AppError> {
        let destroyed = self.keys.destroy_data_keys(ids).await;
        self.key_cache.evict(ids);
        Ok(destroyed?)
    }
}

impl crate::services::Keys<'_> {
    /// Whether this instance caches customers' data keys: always with its own key store;
    /// with a shared one, only while it hears what other instances destroy.
    pub fn caching(&self) -> bool {
        self.app.key_cache.is_on()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: Uuid) -> Arc<Uuid> {
        Arc::new(id)
    }

    #[test]
    fn a_key_read_before_an_eviction_is_not_cached_after_it() {
        let cache = KeyCache::<Uuid>::new(true);
        let id = Uuid::now_v7();
        let epoch = cache.epoch();
        cache.evict(&[id]);
        cache.put(id, key(id), epoch);
        assert!(cache.get(id).is_none());
        cache.put(id, key(id), cache.epoch());
        assert!(cache.get(id).is_some());
        cache.evict(&[id]);
        assert!(cache.get(id).is_none());
    }

    #[test]
    fn it_holds_a_bounded_number_of_keys_dropping_the_oldest() {
        let cache = KeyCache::<Uuid>::new(true);
        let ids: Vec<Uuid> = (0..MAX_ENTRIES + 5).map(|_| Uuid::now_v7()).collect();
        for id in &ids {
            cache.put(*id, key(*id), cache.epoch());
        }
        assert_eq!(cache.lock().keys.len(), MAX_ENTRIES);
        assert!(cache.get(ids[0]).is_none());
        assert!(cache.get(ids[MAX_ENTRIES + 4]).is_some());
    }

    #[test]
    fn nothing_is_cached_while_off() {
        let cache = KeyCache::<Uuid>::new(false);
        let id = Uuid::now_v7();
        cache.put(id, key(id), cache.epoch());
        assert!(cache.get(id).is_none());
    }
}
