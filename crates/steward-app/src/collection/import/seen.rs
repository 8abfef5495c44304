//! The addresses a file has shown so far, each with where it was first seen, kept for a whole
//! import: a million rows keep a million of them. Most sit in one sorted array of fixed-size
//! entries, with a table of where each leading 16 bits of digest start, as digests are keyed
//! hashes spread evenly; only the latest few are in a hash map, merged into the array when it
//! is full. A hash map of them all would take twice the memory, and as much again for a moment
//! each time it doubled.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use steward_store::IndexDigest;

use super::layout::Place;

/// Where each group of digests with the same leading 16 bits starts.
const GROUPS: usize = 1 << 16;
/// The fewest latest addresses kept apart before they are merged.
const LATEST: usize = 16_384;

pub(super) struct Seen {
    /// Sorted by digest.
    sorted: Vec<(IndexDigest, Place)>,
    /// `starts[g]..starts[g + 1]` are the entries of `sorted` in group `g`.
    starts: Vec<usize>,
    latest: HashMap<IndexDigest, Place>,
}

fn group(digest: &IndexDigest) -> usize {
    usize::from(u16::from_be_bytes([digest[0], digest[1]]))
}

impl Seen {
    pub(super) fn new() -> Seen {
        Seen {
            sorted: Vec::new(),
            starts: vec![0; GROUPS + 1],
            latest: HashMap::with_capacity(LATEST),
        }
    }

    /// Makes room for the addresses of `rows` more rows at once: growing the array as they
    /// come would hold it twice over while it is copied, at its largest near the end of the
    /// file. Room never filled costs address space, not memory; room that cannot be had is
    /// left to growing.
    pub(super) fn expect(&mut self, rows: u64) {
        // A fifth more, for rows shorter than the first ones.
        let room = usize::try_from(rows.saturating_add(rows / 5)).unwrap_or(usize::MAX);
        let _ = self.sorted.try_reserve_exact(room);
    }

    /// Where `address` was first seen; or, seen now for the first time at `at`, nothing.
    pub(super) fn first_or_note(&mut self, address: IndexDigest, at: Place) -> Option<Place> {
        let g = group(&address);
        let of_group = &self.sorted[self.starts[g]..self.starts[g + 1]];
        if let Ok(i) = of_group.binary_search_by(|(d, _)| d.cmp(&address)) {
            return Some(of_group[i].1);
        }
        let room = self.latest.len() < self.latest.capacity();
        match self.latest.entry(address) {
            Entry::Occupied(first) => return Some(*first.get()),
            Entry::Vacant(slot) if room => {
                slot.insert(at);
                return None;
            }
            Entry::Vacant(_) => {}
        }
        self.merge_latest();
        self.latest.insert(address, at);
        None
    }

    /// Moves the latest addresses into the sorted ones. The map kept for the next ones grows
    /// with the array, so that merging costs a fixed share of the rows however long the file.
    fn merge_latest(&mut self) {
        let mut latest: Vec<(IndexDigest, Place)> = self.latest.drain().collect();
        latest.sort_unstable_by_key(|(d, _)| *d);
        let (old, new) = (self.sorted.len(), latest.len());
        let filler = (IndexDigest::default(), Place { byte: 0, line: 0 });
        self.sorted.resize(old + new, filler);
        // From the back, each entry is written into room already free.
        let (mut i, mut j) = (old, new);
        while j > 0 {
            let k = i + j - 1;
            if i > 0 && self.sorted[i - 1].0 > latest[j - 1].0 {
                self.sorted[k] = self.sorted[i - 1];
                i -= 1;
            } else {
                self.sorted[k] = latest[j - 1];
                j -= 1;
            }
        }
        for (g, start) in self.starts.iter_mut().enumerate().skip(1) {
            *start = self.sorted.partition_point(|(d, _)| group(d) < g);
        }
        self.latest = HashMap::with_capacity(LATEST.max(self.sorted.len() / 8));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::{LATEST, Place, Seen};

    fn place(n: u64) -> Place {
        Place {
            byte: n * 100,
            line: n + 2,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Against a plain map, over files long enough to merge several times, with repeats
        /// both among the latest addresses and among those merged.
        #[test]
        fn answers_as_a_map_would(
            picks in proptest::collection::vec(0u32..60_000, (2 * LATEST)..(3 * LATEST)),
            spread in any::<u64>(),
        ) {
            let mut seen = Seen::new();
            seen.expect(picks.len() as u64 / 3);
            let mut map: HashMap<[u8; 16], Place> = HashMap::new();
            for (n, pick) in picks.iter().enumerate() {
                let mut digest = [0u8; 16];
                // Addresses that share their leading bytes as well as ones that do not.
                let wide = u64::from(*pick).wrapping_mul(spread | 1);
                digest[..8].copy_from_slice(&wide.to_be_bytes());
                digest[12..].copy_from_slice(&pick.to_be_bytes());
                let at = place(n as u64);
                let expected = map.get(&digest).copied();
                map.entry(digest).or_insert(at);
                let got = seen.first_or_note(digest, at);
                prop_assert_eq!(got.map(|p| (p.byte, p.line)), expected.map(|p| (p.byte, p.line)));
            }
        }
    }
}
