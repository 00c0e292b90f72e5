//! A small deterministic random source for timer jitter.
//!
//! The engine reads no clock and no OS entropy, so that replay is
//! repeatable: it is handed a seed. Replay and tests seed from the router's
//! name; `routelet run` seeds each worker from [`os_seed`], because the
//! same generator seeds the neighbor tables' keyed hash, which must not be
//! predictable. xorshift64* (Vigna 2016).

/// xorshift64* state; never zero.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeds from arbitrary bytes (FNV-1a), never yielding the zero state.
    pub fn from_seed_bytes(seed: &[u8]) -> Rng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in seed {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(if h == 0 { 0x9e37_79b9_7f4a_7c15 } else { h })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[lo, hi]` (both included); `lo` when `hi <= lo`.
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let span = hi - lo;
        if span == u64::MAX {
            return self.next_u64();
        }
        lo + self.next_u64() % (span + 1)
    }
}

/// 64 bits from the operating system's entropy: std's `RandomState` keys
/// are drawn from the OS generator (getrandom(2) on Linux); hashing a
/// counter with a fresh one yields an unpredictable value without a crate
/// or `unsafe`.
pub fn os_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x726f_7574_656c_6574);
    h.finish()
}

#[cfg(test)]
// Fixtures cast small, known values.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
mod tests {
    use super::*;

    #[test]
    fn os_seeds_differ() {
        let seeds: std::collections::HashSet<u64> = (0..8).map(|_| os_seed()).collect();
        assert_eq!(seeds.len(), 8);
    }

    #[test]
    fn deterministic_and_in_range() {
        let mut a = Rng::from_seed_bytes(b"r1");
        let mut b = Rng::from_seed_bytes(b"r1");
        for _ in 0..1000 {
            let x = a.range_inclusive(30, 100);
            assert_eq!(x, b.range_inclusive(30, 100));
            assert!((30..=100).contains(&x));
        }
        assert_eq!(a.range_inclusive(5, 5), 5);
        assert_eq!(a.range_inclusive(7, 3), 7);
    }

    #[test]
    fn spreads_over_the_range() {
        let mut r = Rng::from_seed_bytes(b"spread");
        let mut seen = [false; 8];
        for _ in 0..1000 {
            seen[r.range_inclusive(0, 7) as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
