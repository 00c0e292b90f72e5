//! A fast keyed hasher for neighbor tables.
//!
//! The keys are protocol addresses, and in a scan (RFC 6583) the low 64
//! bits are the attacker's choice. FxHash alone (rustc-hash) maps inputs
//! that share their low bits to the same bucket, whatever its seed: the
//! bucket index is the low bits of `(state ^ word) * K`, which depend only
//! on the low bits of `word`. So this is FxHash's word loop for speed, a
//! secret per-table seed, and murmur3's 64-bit finaliser so that every input
//! bit reaches the bucket bits. Not a MAC: just enough that choosing
//! colliding addresses needs the seed. The seed comes from the engine's
//! [`Rng`](crate::base::Rng), which keeps replays repeatable.

use core::hash::{BuildHasher, Hasher};

/// FxHash's multiplier (rustc-hash 1.x, 64-bit).
const K: u64 = 0x517c_c1b7_2722_0a95;

/// Builds [`NeighborHasher`]s that start from one seed.
#[derive(Debug, Clone, Copy)]
pub(super) struct NeighborHashBuilder {
    seed: u64,
}

impl NeighborHashBuilder {
    /// Hashers seeded with `seed`.
    pub(super) fn new(seed: u64) -> NeighborHashBuilder {
        NeighborHashBuilder { seed }
    }
}

impl BuildHasher for NeighborHashBuilder {
    type Hasher = NeighborHasher;

    fn build_hasher(&self) -> NeighborHasher {
        NeighborHasher { state: self.seed }
    }
}

/// FxHash's word loop with a murmur3 finaliser.
#[derive(Debug, Clone)]
pub(super) struct NeighborHasher {
    state: u64,
}

impl NeighborHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.state = (self.state.rotate_left(5) ^ word).wrapping_mul(K);
    }
}

impl Hasher for NeighborHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            if let Ok(w) = <[u8; 8]>::try_from(word) {
                self.add(u64::from_le_bytes(w));
            }
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let w = rest
                .iter()
                .rev()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            self.add(w);
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    /// murmur3's fmix64: full avalanche, so the bucket bits depend on
    /// every input bit.
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.state;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn hash<T: core::hash::Hash>(b: &NeighborHashBuilder, v: &T) -> u64 {
        b.hash_one(v)
    }

    #[test]
    fn deterministic_per_seed() {
        let a = NeighborHashBuilder::new(1);
        let b = NeighborHashBuilder::new(1);
        let c = NeighborHashBuilder::new(2);
        let addr: Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(hash(&a, &addr), hash(&b, &addr));
        assert_ne!(hash(&a, &addr), hash(&c, &addr));
        let v4 = Ipv4Addr::new(198, 51, 100, 7);
        assert_eq!(hash(&a, &v4), hash(&b, &v4));
        assert_ne!(hash(&a, &v4), hash(&c, &v4));
    }

    #[test]
    fn scan_with_fixed_low_bits_spreads_over_buckets() {
        // A scan picking addresses whose low 16 bits are all equal: plain
        // FxHash would put all of them in one bucket of a 4096-bucket table.
        let b = NeighborHashBuilder::new(0x1234_5678);
        let mut buckets = vec![0u32; 4096];
        for i in 0..4096u64 {
            let iid = (i << 16) | 0xbeef;
            let addr = Ipv6Addr::from((0x2001_0db8_0000_0001u128 << 64) | u128::from(iid));
            buckets[(hash(&b, &addr) & 4095) as usize] += 1;
        }
        let used = buckets.iter().filter(|n| **n > 0).count();
        let worst = buckets.iter().copied().max().unwrap();
        // A uniform hash fills about 1 - 1/e (63%) of the buckets.
        assert!(used > 2400, "only {used} buckets used");
        assert!(worst < 12, "a bucket got {worst} keys");
    }
}
