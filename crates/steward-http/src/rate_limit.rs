//! Token-bucket rate limits per client address and per credential, stricter for sign-in.
//! Answers 429 with `Retry-After`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

/// Requests per second allowed on average, and how many may come at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub per_client: Rate,
    pub per_credential: Rate,
    pub login_per_client: Rate,
}

#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_client: Rate {
                per_second: 200.0,
                burst: 400.0,
            },
            per_credential: Rate {
                per_second: 100.0,
                burst: 200.0,
            },
            login_per_client: Rate {
                per_second: 0.2,
                burst: 10.0,
            },
        }
    }
}

impl Limits {
    /// Limits high enough never to bite: for load tests and benchmarks on loopback.
    pub fn unlimited() -> Limits {
        let open = Rate {
            per_second: 1e9,
            burst: 1e9,
        };
        Limits {
            per_client: open,
            per_credential: open,
            login_per_client: open,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Client(IpAddr),
    Login(IpAddr),
    /// The first bytes of the credential's SHA-256: the credential itself is never kept.
    Credential([u8; 16]),
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct RateLimiter {
    limits: Limits,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

/// Beyond this many tracked keys, idle full buckets are dropped.
const MAX_KEYS: usize = 100_000;

impl RateLimiter {
    pub fn new(limits: Limits) -> RateLimiter {
        RateLimiter {
            limits,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn rate(&self, key: &Key) -> Rate {
        match key {
            Key::Client(_) => self.limits.per_client,
            Key::Login(_) => self.limits.login_per_client,
            Key::Credential(_) => self.limits.per_credential,
        }
    }

    /// Takes one request from the key's bucket; on refusal, the seconds until one is free.
    pub fn check(&self, key: Key) -> Result<(), u64> {
        let rate = self.rate(&key);
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_KEYS {
            buckets.retain(|k, b| {
                let r = self.rate(k);
                b.tokens + now.duration_since(b.at).as_secs_f64() * r.per_second < r.burst
            });
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * rate.per_second;
        bucket.tokens = (bucket.tokens + refill).min(rate.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / rate.per_second).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let limiter = RateLimiter::new(Limits {
            login_per_client: Rate {
                per_second: 0.5,
                burst: 3.0,
            },
            ..Limits::default()
        });
        let key = Key::Login(IpAddr::from([127, 0, 0, 1]));
        for _ in 0..3 {
            assert_eq!(limiter.check(key), Ok(()));
        }
        assert_eq!(limiter.check(key), Err(2));
        assert_eq!(
            limiter.check(Key::Login(IpAddr::from([127, 0, 0, 2]))),
            Ok(()),
            "addresses are counted apart"
        );
    }
}
