//! How failed sign-ins slow down and then stop further attempts.

/// Failures after which the account is locked for `LOCK_SECONDS`.
pub const LOCK_AFTER: i64 = 10;
pub const LOCK_SECONDS: i64 = 15 * 60;

/// Seconds to wait after `failures` consecutive failures: none for the first two, then
/// doubling from one second, and a lock-out from the tenth.
pub fn lockout_delay(failures: i64) -> i64 {
    match failures {
        ..=2 => 0,
        n if n >= LOCK_AFTER => LOCK_SECONDS,
        n => 1 << (n - 3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_lock() {
        let delays: Vec<i64> = (1..=11).map(lockout_delay).collect();
        assert_eq!(delays, [0, 0, 1, 2, 4, 8, 16, 32, 64, 900, 900]);
    }
}
