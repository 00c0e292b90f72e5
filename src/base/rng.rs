//! A small deterministic random source for timer jitter.
//!
//! The engine reads no clock and no OS entropy, so that replay is
//! repeatable; RA intervals only need to be spread, not secret. xorshift64*
//! (Vigna 2016) seeded from the router name.

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

#[cfg(test)]
mod tests {
    use super::*;

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
