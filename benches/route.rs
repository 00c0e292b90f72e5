//! FIB lookup benchmark: which LPM structure `routelet::route::Fib` ships.
//!
//! `cargo bench --bench route`. For 10, 1,000 and 100,000 prefixes per
//! family, lookups per second of each candidate over the same table and the
//! same 4096 keys (3/4 hits inside a random table prefix, so at every
//! depth; 1/4 random addresses, mostly falling to the default route):
//!
//! - `waldvogel`: binary search on prefix lengths over one FxHash table per
//!   length, markers carrying their best match. Shipped [`Fib`] for IPv6;
//!   for IPv4 a copy here.
//! - `dir16_8_8` (IPv4): 2^16-slot first level, 8-bit strides. Shipped
//!   [`Fib`] for IPv4.
//! - `linear`: one FxHash table per length, probed longest first.
//! - `prefix_trie`: `prefix_trie::PrefixMap::get_lpm`, the RIB's store.
//!
//! Tables are synthetic (fixed-seed xorshift): IPv6 inside 2000::/3,
//! clustered under a few /32 allocations, mostly /48–/64 with some
//! /32–/47, /65–/128 and a default; IPv4 first octets 1–223 without 10,
//! 127, 172 and 192, mostly /24 with some /16–/23, /25–/32 and a default.
//! Every candidate is checked against the shipped FIB on every key before
//! it is timed. The losing candidates live here only.
// Test fixtures and bench inputs cast small, known values.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]

use std::collections::HashSet;
use std::hash::Hash;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;
use routelet::base::IfaceId;
use routelet::route::{Fib, FibEntry};
use rustc_hash::FxHashMap;

const SIZES: [usize; 3] = [10, 1_000, 100_000];
const KEYS: usize = 4096;
const NONE: u32 = u32::MAX;

/// xorshift64*: fixed seeds, no `rand`.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: u8, hi: u8) -> u8 {
        lo + self.below(u64::from(hi - lo) + 1) as u8
    }
    fn u128(&mut self) -> u128 {
        (u128::from(self.next()) << 64) | u128::from(self.next())
    }
}

fn v6_table(n: usize, seed: u64) -> Vec<Ipv6Net> {
    let mut rng = Rng(seed);
    // Allocations: /32s inside 2000::/3, about one per 64 prefixes.
    let allocs: Vec<u128> = (0..(n / 64).max(1))
        .map(|_| (0b001u128 << 125) | ((rng.u128() >> 3) & (u128::MAX << 96) & !(0b111u128 << 125)))
        .collect();
    let mut seen = HashSet::new();
    let mut out = vec![Ipv6Net::default()];
    seen.insert(out[0]);
    while out.len() < n {
        let len = match rng.below(100) {
            0..=3 => rng.range(32, 47),
            4..=29 => 48,
            30..=44 => 56,
            45..=79 => 64,
            80..=84 => rng.range(49, 63),
            85..=94 => rng.range(65, 127),
            _ => 128,
        };
        let base = allocs[rng.below(allocs.len() as u64) as usize];
        let addr = base | (rng.u128() >> 32);
        let net = Ipv6Net::new(Ipv6Addr::from(addr), len).unwrap().trunc();
        if seen.insert(net) {
            out.push(net);
        }
    }
    out
}

fn v4_table(n: usize, seed: u64) -> Vec<Ipv4Net> {
    let mut rng = Rng(seed);
    let mut seen = HashSet::new();
    let mut out = vec![Ipv4Net::default()];
    seen.insert(out[0]);
    while out.len() < n {
        let len = match rng.below(100) {
            0..=59 => 24,
            60..=84 => rng.range(16, 23),
            85..=94 => rng.range(25, 31),
            _ => 32,
        };
        let addr = v4_public(&mut rng);
        let net = Ipv4Net::new(Ipv4Addr::from(addr), len).unwrap().trunc();
        if seen.insert(net) {
            out.push(net);
        }
    }
    out
}

/// A random address with first octet in 1..=223, not 10, 127, 172 or 192.
fn v4_public(rng: &mut Rng) -> u32 {
    loop {
        let a = rng.next() as u32;
        let first = a >> 24;
        if (1..=223).contains(&first) && ![10, 127, 172, 192].contains(&first) {
            return a;
        }
    }
}

fn v6_keys(table: &[Ipv6Net], seed: u64) -> Vec<Ipv6Addr> {
    let mut rng = Rng(seed);
    (0..KEYS)
        .map(|_| {
            if rng.below(4) == 0 || table.len() < 2 {
                Ipv6Addr::from((0b001u128 << 125) | (rng.u128() >> 3))
            } else {
                let net = table[1 + rng.below(table.len() as u64 - 1) as usize];
                let host = rng.u128() & !u128::from(net.netmask());
                Ipv6Addr::from(u128::from(net.network()) | host)
            }
        })
        .collect()
}

fn v4_keys(table: &[Ipv4Net], seed: u64) -> Vec<Ipv4Addr> {
    let mut rng = Rng(seed);
    (0..KEYS)
        .map(|_| {
            if rng.below(4) == 0 || table.len() < 2 {
                Ipv4Addr::from(v4_public(&mut rng))
            } else {
                let net = table[1 + rng.below(table.len() as u64 - 1) as usize];
                let host = rng.next() as u32 & !u32::from(net.netmask());
                Ipv4Addr::from(u32::from(net.network()) | host)
            }
        })
        .collect()
}

/// The FIB entries for a table: interface and gateway vary with position.
fn fib_entries(table: impl Iterator<Item = IpNet>) -> Vec<FibEntry> {
    table
        .enumerate()
        .map(|(i, prefix)| {
            let mut e = FibEntry::connected(prefix, IfaceId((i % 7) as u16));
            if i % 3 == 0 {
                e.gateway = Some(IpAddr::V6(Ipv6Addr::new(
                    0xfe80, 0, 0, 0, 0, 0, 0, i as u16,
                )));
            }
            e
        })
        .collect()
}

trait Key: Copy + Eq + Hash {
    const BITS: u8;
    fn mask(len: u8) -> Self;
    fn and(self, other: Self) -> Self;
}

impl Key for u32 {
    const BITS: u8 = 32;
    fn mask(len: u8) -> u32 {
        u32::MAX.checked_shl(u32::from(32 - len)).unwrap_or(0)
    }
    #[inline]
    fn and(self, other: u32) -> u32 {
        self & other
    }
}

impl Key for u128 {
    const BITS: u8 = 128;
    fn mask(len: u8) -> u128 {
        u128::MAX.checked_shl(u32::from(128 - len)).unwrap_or(0)
    }
    #[inline]
    fn and(self, other: u128) -> u128 {
        self & other
    }
}

/// Candidate `linear`: per-length hash tables, longest length first.
struct Linear<K> {
    entries: Vec<FibEntry>,
    default: u32,
    /// Longest first.
    levels: Vec<(K, FxHashMap<K, u32>)>,
}

impl<K: Key> Linear<K> {
    fn build(entries: Vec<FibEntry>, key: impl Fn(&IpNet) -> K) -> Self {
        let mut by_len: Vec<FxHashMap<K, u32>> =
            vec![FxHashMap::default(); usize::from(K::BITS) + 1];
        let mut default = NONE;
        for (i, e) in entries.iter().enumerate() {
            let len = e.prefix.prefix_len();
            if len == 0 {
                default = i as u32;
            } else {
                by_len[usize::from(len)].insert(key(&e.prefix), i as u32);
            }
        }
        let levels = by_len
            .into_iter()
            .enumerate()
            .rev()
            .filter(|(_, m)| !m.is_empty())
            .map(|(len, m)| (K::mask(len as u8), m))
            .collect();
        Linear {
            entries,
            default,
            levels,
        }
    }

    #[inline]
    fn lookup(&self, addr: K) -> Option<&FibEntry> {
        let mut found = self.default;
        for (mask, map) in &self.levels {
            if let Some(&i) = map.get(&addr.and(*mask)) {
                found = i;
                break;
            }
        }
        self.entries.get(found as usize)
    }
}

/// Candidate `prefix_trie`: the crate's LPM, used directly.
struct Trie<P: prefix_trie::Prefix> {
    entries: Vec<FibEntry>,
    map: PrefixMap<P, u32>,
}

impl<P: prefix_trie::Prefix> Trie<P> {
    fn build(entries: Vec<FibEntry>, net: impl Fn(&IpNet) -> P) -> Self {
        let mut map = PrefixMap::new();
        for (i, e) in entries.iter().enumerate() {
            map.insert(net(&e.prefix), i as u32);
        }
        Trie { entries, map }
    }

    #[inline]
    fn lookup(&self, host: &P) -> Option<&FibEntry> {
        let (_, &i) = self.map.get_lpm(host)?;
        self.entries.get(i as usize)
    }
}

/// Candidate `waldvogel` for IPv4 (the shipped IPv6 structure, a copy of
/// `fib.rs`'s `Table`): binary search on lengths, markers with best match.
struct Waldvogel<K> {
    entries: Vec<FibEntry>,
    default: u32,
    /// Shortest first.
    levels: Vec<(K, FxHashMap<K, u32>)>,
}

impl<K: Key> Waldvogel<K> {
    fn build(entries: Vec<FibEntry>, key: impl Fn(&IpNet) -> K) -> Self {
        let mut lens: Vec<u8> = entries
            .iter()
            .map(|e| e.prefix.prefix_len())
            .filter(|&l| l > 0)
            .collect();
        lens.sort_unstable();
        lens.dedup();
        let mut default = NONE;
        let mut real: Vec<FxHashMap<K, u32>> = vec![FxHashMap::default(); lens.len()];
        for (i, e) in entries.iter().enumerate() {
            let len = e.prefix.prefix_len();
            if len == 0 {
                default = i as u32;
            } else {
                let pos = lens.binary_search(&len).unwrap();
                real[pos].insert(key(&e.prefix), i as u32);
            }
        }
        let best = |k: K, upto: usize| {
            (0..=upto)
                .rev()
                .find_map(|p| real[p].get(&k.and(K::mask(lens[p]))).copied())
                .unwrap_or(default)
        };
        let mut levels: Vec<(K, FxHashMap<K, u32>)> = lens
            .iter()
            .zip(&real)
            .map(|(&l, m)| (K::mask(l), m.clone()))
            .collect();
        for (target, map) in real.iter().enumerate() {
            for &net in map.keys() {
                let (mut lo, mut hi) = (0, lens.len());
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if mid == target {
                        break;
                    }
                    if mid > target {
                        hi = mid;
                        continue;
                    }
                    let marker = net.and(levels[mid].0);
                    levels[mid]
                        .1
                        .entry(marker)
                        .or_insert_with(|| best(marker, mid));
                    lo = mid + 1;
                }
            }
        }
        Waldvogel {
            entries,
            default,
            levels,
        }
    }

    #[inline]
    fn lookup(&self, addr: K) -> Option<&FibEntry> {
        let mut best = self.default;
        let (mut lo, mut hi) = (0, self.levels.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let (mask, map) = &self.levels[mid];
            match map.get(&addr.and(*mask)) {
                Some(&i) => {
                    best = i;
                    lo = mid + 1;
                }
                None => hi = mid,
            }
        }
        self.entries.get(best as usize)
    }
}

fn run<A: Copy, F>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    n: usize,
    keys: &[A],
    lookup: F,
) where
    F: Fn(A) -> Option<u16>,
{
    group.bench_with_input(BenchmarkId::new(name, n), keys, |b, keys| {
        b.iter(|| {
            let mut acc = 0u32;
            for &k in keys {
                if let Some(iface) = lookup(black_box(k)) {
                    acc = acc.wrapping_add(u32::from(iface));
                }
            }
            acc
        })
    });
}

fn check<A: Copy + std::fmt::Debug>(
    name: &str,
    keys: &[A],
    fib: impl Fn(A) -> Option<FibEntry>,
    cand: impl Fn(A) -> Option<FibEntry>,
) {
    for &k in keys {
        assert_eq!(fib(k), cand(k), "{name} disagrees with the FIB on {k:?}");
    }
}

fn ipv6(c: &mut Criterion) {
    let mut group = c.benchmark_group("lookup_v6");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(KEYS as u64));
    for n in SIZES {
        let table = v6_table(n, 0x5eed_0006 ^ n as u64);
        let keys = v6_keys(&table, 0x0bad_cafe ^ n as u64);
        let fib = Fib::from_entries(fib_entries(table.iter().map(|n| IpNet::V6(*n))));
        // The candidates hold the FIB's own entries (adjacencies numbered).
        let entries = fib.entries().to_vec();
        let linear = Linear::<u128>::build(entries.clone(), |p| u128::from(p.network_v6()));
        let trie = Trie::<Ipv6Net>::build(entries, |p| p.v6());
        let f = |k: Ipv6Addr| fib.lookup_v6(k).copied();
        check("linear", &keys, f, |k| {
            linear.lookup(u128::from(k)).copied()
        });
        check("prefix_trie", &keys, f, |k| {
            trie.lookup(&Ipv6Net::from(k)).copied()
        });
        eprintln!(
            "lookup_v6/{n}: {} lengths, shipped FIB tables {} KiB",
            fib.v6_levels(),
            fib.memory_bytes() / 1024
        );

        run(&mut group, "waldvogel", n, &keys, |k| {
            fib.lookup_v6(k).map(|e| e.iface.0)
        });
        run(&mut group, "linear", n, &keys, |k| {
            linear.lookup(u128::from(k)).map(|e| e.iface.0)
        });
        run(&mut group, "prefix_trie", n, &keys, |k| {
            trie.lookup(&Ipv6Net::from(k)).map(|e| e.iface.0)
        });
    }
    group.finish();
}

fn ipv4(c: &mut Criterion) {
    let mut group = c.benchmark_group("lookup_v4");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Elements(KEYS as u64));
    for n in SIZES {
        let table = v4_table(n, 0x5eed_0004 ^ n as u64);
        let keys = v4_keys(&table, 0x0bad_beef ^ n as u64);
        let fib = Fib::from_entries(fib_entries(table.iter().map(|n| IpNet::V4(*n))));
        // The candidates hold the FIB's own entries (adjacencies numbered).
        let entries = fib.entries().to_vec();
        let linear = Linear::<u32>::build(entries.clone(), |p| u32::from(p.network_v4()));
        let trie = Trie::<Ipv4Net>::build(entries.clone(), |p| p.v4());
        let wald = Waldvogel::<u32>::build(entries, |p| u32::from(p.network_v4()));
        let f = |k: Ipv4Addr| fib.lookup_v4(k).copied();
        check("linear", &keys, f, |k| linear.lookup(u32::from(k)).copied());
        check("prefix_trie", &keys, f, |k| {
            trie.lookup(&Ipv4Net::from(k)).copied()
        });
        check("waldvogel", &keys, f, |k| {
            wald.lookup(u32::from(k)).copied()
        });
        eprintln!(
            "lookup_v4/{n}: shipped FIB tables {} KiB",
            fib.memory_bytes() / 1024
        );

        run(&mut group, "dir16_8_8", n, &keys, |k| {
            fib.lookup_v4(k).map(|e| e.iface.0)
        });
        run(&mut group, "waldvogel", n, &keys, |k| {
            wald.lookup(u32::from(k)).map(|e| e.iface.0)
        });
        run(&mut group, "linear", n, &keys, |k| {
            linear.lookup(u32::from(k)).map(|e| e.iface.0)
        });
        run(&mut group, "prefix_trie", n, &keys, |k| {
            trie.lookup(&Ipv4Net::from(k)).map(|e| e.iface.0)
        });
    }
    group.finish();
}

trait NetExt {
    fn v6(&self) -> Ipv6Net;
    fn v4(&self) -> Ipv4Net;
    fn network_v6(&self) -> Ipv6Addr;
    fn network_v4(&self) -> Ipv4Addr;
}

impl NetExt for IpNet {
    fn v6(&self) -> Ipv6Net {
        match self {
            IpNet::V6(n) => *n,
            IpNet::V4(_) => unreachable!("IPv6 table holds IPv4"),
        }
    }
    fn v4(&self) -> Ipv4Net {
        match self {
            IpNet::V4(n) => *n,
            IpNet::V6(_) => unreachable!("IPv4 table holds IPv6"),
        }
    }
    fn network_v6(&self) -> Ipv6Addr {
        self.v6().network()
    }
    fn network_v4(&self) -> Ipv4Addr {
        self.v4().network()
    }
}

criterion_group!(benches, ipv6, ipv4);
criterion_main!(benches);
