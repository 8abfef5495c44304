//! How failed sign-ins are slowed down without locking anyone out.
//!
//! Failures count per address typed and per source they came from (OWASP's throttling rather
//! than an account lock-out, which anyone who knows an address could hold shut forever): the
//! source that keeps failing waits longer and longer, while the owner signing in from
//! elsewhere does not wait at all. Unknown addresses count exactly like known ones, so the
//! answers say nothing about who has an account.

/// Seconds a source waits before its next try at an address after `failures` consecutive
/// failures there: none for the first three, then doubling from one second up to a
/// quarter of an hour.
pub fn throttle_delay(failures: u32) -> u64 {
    const MAX: u64 = 15 * 60;
    match failures {
        ..=3 => 0,
        n => 1u64.checked_shl(n - 4).map_or(MAX, |d| d.min(MAX)),
    }
}

/// Whether the account's owner is told when its consecutive failures, from every source,
/// reach `failures`: at 5, 20 and 100, then every 500, so an attack is noticed without
/// flooding the owner's mailbox.
pub fn tell_owner_at(failures: i64) -> bool {
    matches!(failures, 5 | 20 | 100) || (failures > 0 && failures % 500 == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_a_cap_and_never_become_a_lock() {
        let delays: Vec<u64> = (1..=16).map(throttle_delay).collect();
        assert_eq!(
            delays,
            [
                0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900
            ]
        );
        assert_eq!(throttle_delay(u32::MAX), 900);
    }

    #[test]
    fn the_owner_is_told_a_few_times_not_at_every_failure() {
        let told: Vec<i64> = (1..=1_000).filter(|&n| tell_owner_at(n)).collect();
        assert_eq!(told, [5, 20, 100, 500, 1_000]);
    }
}
