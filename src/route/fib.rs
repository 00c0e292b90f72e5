//! The FIB: the compiled, immutable longest-prefix-match table the workers
//! read.
//!
//! Structure, chosen by `benches/route.rs` (numbers in [`super`]):
//!
//! - IPv6: binary search on prefix lengths over one FxHash table per length
//!   (Waldvogel, Varghese, Turner, Plattner, "Scalable High Speed IP Routing
//!   Lookups", SIGCOMM 1997), with the best-matching prefix precomputed on
//!   every marker so that the search never backtracks. A lookup probes at
//!   most `ceil(log2(distinct lengths + 1))` tables: 2 to 3 for a tenant's
//!   handful of routes, 7 for 100,000 prefixes over 97 lengths. Memory is
//!   about two table slots per prefix (12.5 MiB at 100,000). A multibit
//!   trie, the other fast option, costs hundreds of MB for scattered
//!   /48–/64 prefixes.
//! - IPv4: a DIR-16-8-8 multibit trie (`Dir16`): at most three dependent
//!   array reads, 3 to 5 times faster than the hash search on IPv4, at a
//!   fixed 256 KiB plus 1 KiB per populated /16 or /24 chunk.
//!
//! Contract: built once (off the fast path, allocating freely) by
//! [`Fib::from_entries`] or [`Rib::compile`](super::Rib::compile), then only
//! read. [`Fib::lookup_v6`] and [`Fib::lookup_v4`] take `&self`, allocate
//! nothing, lock nothing and cannot panic: every table access is `get`.
//! IPv6 and IPv4 live in separate tables, so an IPv4-mapped IPv6 address
//! (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) only ever matches IPv6 prefixes.

use std::cmp::Ordering;
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::{FibAction, FibEntry, RouteSource, NO_ADJACENCY};
use crate::base::IfaceId;

/// "No entry" in the u32 slots of the tables.
const NONE: u32 = u32::MAX;

/// An address as the integer the tables hash: `u32` for IPv4, `u128` for
/// IPv6. Network byte order maps to integer order, so a prefix of length
/// `l` is the top `l` bits.
pub(crate) trait Key: Copy + Eq + Hash {
    /// Address width in bits.
    const BITS: u8;
    /// The netmask of a `len`-bit prefix; `len` above `BITS` is taken as
    /// `BITS`.
    fn mask(len: u8) -> Self;
    /// Bitwise and.
    fn and(self, other: Self) -> Self;
}

impl Key for u32 {
    const BITS: u8 = 32;
    #[inline]
    fn mask(len: u8) -> u32 {
        // checked_shl(32) is None: the mask of /0 is all zeroes.
        u32::MAX
            .checked_shl(u32::from(<Self as Key>::BITS.saturating_sub(len)))
            .unwrap_or(0)
    }
    #[inline]
    fn and(self, other: u32) -> u32 {
        self & other
    }
}

impl Key for u128 {
    const BITS: u8 = 128;
    #[inline]
    fn mask(len: u8) -> u128 {
        u128::MAX
            .checked_shl(u32::from(<Self as Key>::BITS.saturating_sub(len)))
            .unwrap_or(0)
    }
    #[inline]
    fn and(self, other: u128) -> u128 {
        self & other
    }
}

/// The prefixes of one length, plus the markers longer prefixes leave on
/// it. A value is the index (into [`Fib::entries`]) of the longest real
/// prefix that matches the key at this length or shorter, `NONE` if none.
#[derive(Debug, Clone)]
struct Level<K> {
    mask: K,
    map: FxHashMap<K, u32>,
}

/// The level a search between `lo` and `hi` (exclusive) probes: the lower
/// middle. With markers, a miss at a level rules out every longer one, so
/// probing the shorter half first ends the common searches soonest: with
/// two lengths (a tenant's /64 subnets and the /128 receive entries of the
/// router's own addresses) a destination off every subnet (the default
/// route's traffic) costs one probe, not two. Build and lookup must split
/// alike, since markers are left along the search path.
#[inline(always)]
fn lower_middle(lo: usize, hi: usize) -> usize {
    lo + (hi - lo - 1) / 2
}

/// One address family's LPM table.
#[derive(Debug, Clone)]
pub(crate) struct Table<K> {
    /// The default route (`/0`), kept out of the levels: it is the answer
    /// when no level matches, so it costs no probe.
    default: u32,
    /// One level per distinct prefix length above 0, shortest first.
    levels: Box<[Level<K>]>,
}

impl<K: Key> Default for Table<K> {
    fn default() -> Self {
        Table {
            default: NONE,
            levels: Box::new([]),
        }
    }
}

impl<K: Key> Table<K> {
    /// Builds from `(network, len, index)`; `network` must have no host
    /// bits (it is masked again anyway) and `len <= K::BITS`. A later
    /// duplicate prefix replaces an earlier one.
    pub(crate) fn build(prefixes: &[(K, u8, u32)]) -> Self {
        let mut lens: Vec<u8> = prefixes
            .iter()
            .map(|&(_, len, _)| len.min(K::BITS))
            .filter(|&len| len > 0)
            .collect();
        lens.sort_unstable();
        lens.dedup();

        let mut default = NONE;
        // The real prefixes alone, per level: what markers' best matches
        // are computed from.
        let mut real: Vec<FxHashMap<K, u32>> = vec![FxHashMap::default(); lens.len()];
        for &(net, len, index) in prefixes {
            let len = len.min(K::BITS);
            if len == 0 {
                default = index;
            } else if let Ok(pos) = lens.binary_search(&len) {
                if let Some(map) = real.get_mut(pos) {
                    map.insert(net.and(K::mask(len)), index);
                }
            }
        }

        // Longest real prefix of length <= lens[upto] covering `key`.
        let best_match = |key: K, upto: usize| -> u32 {
            for pos in (0..=upto).rev() {
                let (Some(map), Some(&len)) = (real.get(pos), lens.get(pos)) else {
                    continue;
                };
                if let Some(&index) = map.get(&key.and(K::mask(len))) {
                    return index;
                }
            }
            default
        };

        let mut levels: Vec<Level<K>> = lens
            .iter()
            .zip(real.iter())
            .map(|(&len, map)| Level {
                mask: K::mask(len),
                map: map.clone(),
            })
            .collect();

        // Markers: walk each prefix's binary-search path; wherever the
        // search must go to longer lengths, leave a marker that says so and
        // carries the best match found up to there.
        for (target, map) in real.iter().enumerate() {
            for &net in map.keys() {
                let (mut lo, mut hi) = (0usize, lens.len());
                while lo < hi {
                    let mid = lower_middle(lo, hi);
                    match mid.cmp(&target) {
                        Ordering::Equal => break,
                        Ordering::Greater => hi = mid,
                        Ordering::Less => {
                            let Some(level) = levels.get_mut(mid) else {
                                break;
                            };
                            let marker = net.and(level.mask);
                            level
                                .map
                                .entry(marker)
                                .or_insert_with(|| best_match(marker, mid));
                            lo = mid + 1;
                        }
                    }
                }
            }
        }

        for level in &mut levels {
            level.map.shrink_to_fit();
        }
        Table {
            default,
            levels: levels.into_boxed_slice(),
        }
    }

    /// Index of the longest prefix covering `addr`, or `NONE`.
    #[inline]
    pub(crate) fn lookup(&self, addr: K) -> u32 {
        let mut best = self.default;
        let (mut lo, mut hi) = (0usize, self.levels.len());
        while lo < hi {
            let mid = lower_middle(lo, hi);
            let Some(level) = self.levels.get(mid) else {
                break;
            };
            match level.map.get(&addr.and(level.mask)) {
                Some(&index) => {
                    best = index;
                    lo = mid + 1;
                }
                None => hi = mid,
            }
        }
        best
    }

    /// Number of distinct prefix lengths (excluding /0) — the depth of the
    /// binary search.
    pub(crate) fn level_count(&self) -> usize {
        self.levels.len()
    }

    /// Approximate bytes of table memory (hash tables at their capacity).
    fn memory_bytes(&self) -> usize {
        let slot = core::mem::size_of::<(K, u32)>() + 1;
        self.levels
            .iter()
            .map(|l| l.map.capacity() * slot)
            .sum::<usize>()
            + self.levels.len() * core::mem::size_of::<Level<K>>()
    }
}

/// Slot flag: the rest of the slot is a chunk number, not an entry index.
const PTR: u32 = 1 << 31;
/// Slot value "no route" (its `PTR` bit is clear, and no entry has this
/// index: [`Fib::from_entries`] keeps fewer entries than this).
const EMPTY: u32 = PTR - 1;
/// Slots in the first IPv4 level: one per /16.
const TOP_SLOTS: usize = 1 << 16;
/// Slots in a chunk: one per value of the next 8 bits.
const CHUNK_BITS: u32 = 8;
const CHUNK: usize = 1 << CHUNK_BITS;

/// The IPv4 table: a DIR-16-8-8 multibit trie (Gupta, Lin, McKeown,
/// "Routing Lookups in Hardware at Memory Access Speeds", INFOCOM 1998,
/// with the 24-bit first level cut to 16 so an empty-ish table costs
/// 256 KiB, not 64 MiB). Prefixes are expanded into slots (controlled
/// prefix expansion), so a lookup is at most three dependent array reads.
///
/// Memory: 256 KiB for the first level once any IPv4 prefix exists, plus
/// 1 KiB per /16 holding a prefix longer than /16 and per /24 holding one
/// longer than /24.
#[derive(Debug, Clone, Default)]
pub(crate) struct Dir16 {
    /// `TOP_SLOTS` slots, or none at all when there is no IPv4 prefix.
    top: Box<[u32]>,
    /// Chunks of `CHUNK` slots, back to back; chunk `n` starts at `n * CHUNK`.
    chunks: Vec<u32>,
}

impl Dir16 {
    /// Builds from `(network, len, index)`, indexes below `EMPTY`, no
    /// duplicate prefixes (a later duplicate would win).
    pub(crate) fn build(prefixes: &[(u32, u8, u32)]) -> Self {
        if prefixes.is_empty() {
            return Dir16::default();
        }
        let mut order: Vec<(u32, u8, u32)> = prefixes
            .iter()
            .map(|&(net, len, index)| {
                let len = len.min(32);
                (net & <u32 as Key>::mask(len), len, index)
            })
            .filter(|&(_, _, index)| index < EMPTY)
            .collect();
        // Shorter first: a longer prefix then overwrites its part of the
        // range, and a chunk created for it inherits the covering value.
        order.sort_by_key(|&(_, len, _)| len);
        let mut dir = Dir16 {
            top: vec![EMPTY; TOP_SLOTS].into_boxed_slice(),
            chunks: Vec::new(),
        };
        for (net, len, index) in order {
            dir.insert(net, len, index);
        }
        dir.chunks.shrink_to_fit();
        dir
    }

    fn insert(&mut self, net: u32, len: u8, index: u32) {
        let hi = usize::from((net >> 16) as u16);
        let mid = ((net >> 8) & 0xff) as usize;
        let lo = (net & 0xff) as usize;
        if len <= 16 {
            let count = 1usize << (16 - len);
            if let Some(slots) = self.top.get_mut(hi..hi.saturating_add(count)) {
                slots.fill(index);
            }
            return;
        }
        let Some(l2) = self.top.get(hi).copied().and_then(|v| self.descend(v)) else {
            return;
        };
        if let Some(slot) = self.top.get_mut(hi) {
            *slot = PTR | l2.0;
        }
        let base2 = l2.1;
        if len <= 24 {
            let count = 1usize << (24 - len);
            let start = base2.saturating_add(mid);
            if let Some(slots) = self.chunks.get_mut(start..start.saturating_add(count)) {
                slots.fill(index);
            }
            return;
        }
        let at = base2.saturating_add(mid);
        let Some(l3) = self.chunks.get(at).copied().and_then(|v| self.descend(v)) else {
            return;
        };
        if let Some(slot) = self.chunks.get_mut(at) {
            *slot = PTR | l3.0;
        }
        let count = 1usize << (32 - len);
        let start = l3.1.saturating_add(lo);
        if let Some(slots) = self.chunks.get_mut(start..start.saturating_add(count)) {
            slots.fill(index);
        }
    }

    /// The chunk a slot holding `v` points to, creating one filled with `v`
    /// if it holds an entry: `(chunk number, offset of its first slot)`.
    /// `None` only past 2^31 chunks, which memory rules out.
    fn descend(&mut self, v: u32) -> Option<(u32, usize)> {
        if v & PTR != 0 {
            let n = v & !PTR;
            return Some((n, usize::try_from(n).ok()?.checked_mul(CHUNK)?));
        }
        let start = self.chunks.len();
        let n = u32::try_from(start / CHUNK).ok().filter(|&n| n < PTR)?;
        self.chunks.resize(start.checked_add(CHUNK)?, v);
        Some((n, start))
    }

    /// Index of the longest prefix covering `addr`, or `EMPTY`.
    #[inline]
    pub(crate) fn lookup(&self, addr: u32) -> u32 {
        let Some(&v) = self.top.get(usize::from((addr >> 16) as u16)) else {
            return EMPTY;
        };
        if v & PTR == 0 {
            return v;
        }
        // Shifts, not multiplies: nothing here can overflow-panic.
        let at = ((v & !PTR) as usize) << CHUNK_BITS | ((addr >> 8) & 0xff) as usize;
        let Some(&v) = self.chunks.get(at) else {
            return EMPTY;
        };
        if v & PTR == 0 {
            return v;
        }
        let at = ((v & !PTR) as usize) << CHUNK_BITS | (addr & 0xff) as usize;
        self.chunks.get(at).copied().unwrap_or(EMPTY)
    }

    /// Bytes of table memory.
    fn memory_bytes(&self) -> usize {
        (self.top.len() + self.chunks.capacity()) * core::mem::size_of::<u32>()
    }
}

/// The compiled forwarding table: longest-prefix match for IPv6 and IPv4.
///
/// Immutable once built; publish it through a [`FibHandle`](super::FibHandle).
#[derive(Debug, Clone, Default)]
pub struct Fib {
    /// Every entry, sorted (IPv4 before IPv6, then by prefix), for `show`.
    entries: Box<[FibEntry]>,
    /// Distinct (egress, gateway) pairs among the forward entries.
    adjacency_count: usize,
    v6: Table<u128>,
    v4: Dir16,
}

impl Fib {
    /// Builds a FIB from entries. A prefix given twice keeps the later
    /// entry. Host bits in `prefix` are cleared. Entries past `u32::MAX - 1`
    /// are ignored (no router table comes near that).
    pub fn from_entries<I: IntoIterator<Item = FibEntry>>(entries: I) -> Fib {
        let mut by_prefix: FxHashMap<IpNet, FibEntry> = FxHashMap::with_hasher(FxBuildHasher);
        for mut entry in entries {
            entry.prefix = entry.prefix.trunc();
            by_prefix.insert(entry.prefix, entry);
        }
        let mut entries: Vec<FibEntry> = by_prefix.into_values().collect();
        entries.sort_unstable_by_key(|e| e.prefix);
        // Indexes must stay below both tables' "no route" values.
        entries.truncate(usize::try_from(EMPTY).unwrap_or(usize::MAX));
        // One adjacency per distinct (egress, gateway), numbered densely.
        let mut adjacencies: FxHashMap<(IfaceId, IpAddr), u32> =
            FxHashMap::with_hasher(FxBuildHasher);
        for entry in entries.iter_mut() {
            entry.adjacency = match (entry.action, entry.gateway) {
                (FibAction::Forward, Some(gw)) => {
                    let next = u32::try_from(adjacencies.len()).unwrap_or(NO_ADJACENCY);
                    *adjacencies.entry((entry.iface, gw)).or_insert(next)
                }
                _ => NO_ADJACENCY,
            };
        }
        let adjacency_count = adjacencies.len();

        let mut v6 = Vec::new();
        let mut v4 = Vec::new();
        for (index, entry) in (0u32..).zip(entries.iter()) {
            match entry.prefix {
                IpNet::V6(n) => v6.push((u128::from(n.network()), n.prefix_len(), index)),
                IpNet::V4(n) => v4.push((u32::from(n.network()), n.prefix_len(), index)),
            }
        }
        Fib {
            adjacency_count,
            entries: entries.into_boxed_slice(),
            v6: Table::build(&v6),
            v4: Dir16::build(&v4),
        }
    }

    /// The route for an IPv6 destination: the longest matching prefix.
    #[inline]
    pub fn lookup_v6(&self, dst: Ipv6Addr) -> Option<&FibEntry> {
        self.entry(self.v6.lookup(u128::from(dst)))
    }

    /// The route for an IPv4 destination: the longest matching prefix.
    #[inline]
    pub fn lookup_v4(&self, dst: Ipv4Addr) -> Option<&FibEntry> {
        self.entry(self.v4.lookup(u32::from(dst)))
    }

    /// The route for a destination of either family.
    #[inline]
    pub fn lookup(&self, dst: IpAddr) -> Option<&FibEntry> {
        match dst {
            IpAddr::V6(a) => self.lookup_v6(a),
            IpAddr::V4(a) => self.lookup_v4(a),
        }
    }

    #[inline]
    fn entry(&self, index: u32) -> Option<&FibEntry> {
        self.entries.get(usize::try_from(index).ok()?)
    }

    /// All entries, IPv4 first, each family by prefix (for `ctl show`).
    pub fn entries(&self) -> &[FibEntry] {
        &self.entries
    }

    /// How many adjacencies the forward entries number: a worker keeps
    /// one cache slot per adjacency.
    pub fn adjacency_count(&self) -> usize {
        self.adjacency_count
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Distinct IPv6 prefix lengths (other than /0): an IPv6 lookup probes
    /// about log2 of this many hash tables.
    pub fn v6_levels(&self) -> usize {
        self.v6.level_count()
    }

    /// Approximate bytes of lookup-table memory (not counting the entries):
    /// for `ctl show stats` and for sizing.
    pub fn memory_bytes(&self) -> usize {
        self.v6.memory_bytes() + self.v4.memory_bytes()
    }
}

impl FibEntry {
    /// An on-link entry: the destination itself is resolved on `iface`.
    pub fn connected(prefix: IpNet, iface: IfaceId) -> FibEntry {
        FibEntry {
            prefix,
            iface,
            gateway: None,
            source: RouteSource::Connected,
            action: FibAction::Forward,
            adjacency: NO_ADJACENCY,
        }
    }
}

#[cfg(test)]
// Fixtures cast small, known values.
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
mod tests {
    use super::*;

    /// xorshift64*: fixed-seed randomness without a crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn entry(prefix: &str, iface: u16) -> FibEntry {
        FibEntry::connected(prefix.parse().unwrap(), IfaceId(iface))
    }

    fn naive(entries: &[FibEntry], dst: IpAddr) -> Option<IpNet> {
        entries
            .iter()
            .filter(|e| e.prefix.contains(&dst))
            .max_by_key(|e| e.prefix.prefix_len())
            .map(|e| e.prefix)
    }

    #[test]
    fn masks() {
        assert_eq!(<u32 as Key>::mask(0), 0);
        assert_eq!(<u32 as Key>::mask(24), 0xffff_ff00);
        assert_eq!(<u32 as Key>::mask(32), u32::MAX);
        assert_eq!(<u32 as Key>::mask(200), u32::MAX);
        assert_eq!(<u128 as Key>::mask(0), 0);
        assert_eq!(<u128 as Key>::mask(1), 1u128 << 127);
        assert_eq!(<u128 as Key>::mask(128), u128::MAX);
    }

    #[test]
    fn empty_fib_matches_nothing() {
        let fib = Fib::default();
        assert!(fib.lookup_v6("2001:db8::1".parse().unwrap()).is_none());
        assert!(fib.lookup_v4("198.51.100.1".parse().unwrap()).is_none());
        assert!(fib.is_empty());
    }

    /// An IPv6-only router pays nothing for the IPv4 first level.
    #[test]
    fn no_ipv4_no_ipv4_table() {
        let fib = Fib::from_entries([entry("2001:db8::/32", 1)]);
        assert!(fib.memory_bytes() < 4096);
        assert!(fib.lookup_v4("198.51.100.1".parse().unwrap()).is_none());
        let fib = Fib::from_entries([entry("198.51.100.0/24", 1)]);
        assert!(fib.memory_bytes() >= TOP_SLOTS * 4);
    }

    #[test]
    fn default_route() {
        let fib = Fib::from_entries([entry("::/0", 1), entry("0.0.0.0/0", 2)]);
        assert_eq!(
            fib.lookup_v6("2001:db8::1".parse().unwrap()).unwrap().iface,
            IfaceId(1)
        );
        assert_eq!(
            fib.lookup_v4("203.0.113.9".parse().unwrap()).unwrap().iface,
            IfaceId(2)
        );
        assert_eq!(fib.v6_levels(), 0);
    }

    #[test]
    fn host_routes_and_overlaps() {
        let fib = Fib::from_entries([
            entry("::/0", 0),
            entry("2001:db8::/32", 1),
            entry("2001:db8:1::/48", 2),
            entry("2001:db8:1:2::/64", 3),
            entry("2001:db8:1:2::5/128", 4),
            entry("0.0.0.0/0", 0),
            entry("198.51.100.0/24", 1),
            entry("198.51.100.128/25", 2),
            entry("198.51.100.200/32", 3),
        ]);
        let v6 = |s: &str| {
            fib.lookup_v6(s.parse().unwrap())
                .unwrap()
                .prefix
                .to_string()
        };
        assert_eq!(v6("2001:db8:1:2::5"), "2001:db8:1:2::5/128");
        assert_eq!(v6("2001:db8:1:2::6"), "2001:db8:1:2::/64");
        assert_eq!(v6("2001:db8:1:3::5"), "2001:db8:1::/48");
        assert_eq!(v6("2001:db8:2::5"), "2001:db8::/32");
        assert_eq!(v6("2001:db9::5"), "::/0");
        let v4 = |s: &str| {
            fib.lookup_v4(s.parse().unwrap())
                .unwrap()
                .prefix
                .to_string()
        };
        assert_eq!(v4("198.51.100.200"), "198.51.100.200/32");
        assert_eq!(v4("198.51.100.201"), "198.51.100.128/25");
        assert_eq!(v4("198.51.100.127"), "198.51.100.0/24");
        assert_eq!(v4("203.0.113.1"), "0.0.0.0/0");
    }

    #[test]
    fn ipv4_mapped_is_not_ipv4() {
        let fib = Fib::from_entries([entry("198.51.100.0/24", 1)]);
        assert!(fib
            .lookup_v6("::ffff:198.51.100.7".parse().unwrap())
            .is_none());
        let fib = Fib::from_entries([entry("::ffff:198.51.100.0/120", 2)]);
        assert!(fib.lookup_v4("198.51.100.7".parse().unwrap()).is_none());
        assert_eq!(
            fib.lookup_v6("::ffff:198.51.100.7".parse().unwrap())
                .unwrap()
                .iface,
            IfaceId(2)
        );
    }

    #[test]
    fn later_duplicate_replaces_and_host_bits_cleared() {
        let fib = Fib::from_entries([entry("2001:db8::1/64", 1), entry("2001:db8::/64", 2)]);
        assert_eq!(fib.len(), 1);
        let e = fib.lookup_v6("2001:db8::9".parse().unwrap()).unwrap();
        assert_eq!(
            (e.iface, e.prefix.to_string().as_str()),
            (IfaceId(2), "2001:db8::/64")
        );
    }

    /// A marker whose best match is shorter than the level it sits on must
    /// not hide that match. Levels /24 /26 /28 /30 /32: the search starts
    /// at /28, where 198.51.100.20/30 left a marker whose best match is the
    /// /24, then misses /32 and /30.
    #[test]
    fn marker_carries_best_match() {
        let fib = Fib::from_entries([
            entry("198.51.100.0/24", 1),
            entry("198.51.100.128/26", 2),
            entry("198.51.100.20/30", 3),
            entry("198.51.100.64/32", 4),
        ]);
        let iface = |s: &str| fib.lookup_v4(s.parse().unwrap()).unwrap().iface;
        assert_eq!(iface("198.51.100.17"), IfaceId(1));
        assert_eq!(iface("198.51.100.21"), IfaceId(3));
        assert_eq!(iface("198.51.100.64"), IfaceId(4));
        assert_eq!(iface("198.51.100.65"), IfaceId(1));
        assert_eq!(iface("198.51.100.130"), IfaceId(2));
    }

    /// Random tables inside 2001:db8::/32 (/32../128) and 198.51.100.0/24 +
    /// 203.0.113.0/24 (/24../32), with and without a default, checked
    /// against a linear scan: a few thousand lookups per round.
    #[test]
    fn lpm_matches_linear_scan() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..4u16 {
            let mut entries = Vec::new();
            if round % 2 == 0 {
                entries.push(entry("::/0", 0));
                entries.push(entry("0.0.0.0/0", 0));
            }
            for i in 0..300u16 {
                let base = 0x2001_0db8u128 << 96;
                let len = 32 + rng.below(97) as u8;
                let bits = (u128::from(rng.next()) << 64 | u128::from(rng.next())) >> 32;
                // Few distinct high bits so that prefixes overlap.
                let bits = bits & !(0xffff_fff0u128 << 64);
                let net = ipnet::Ipv6Net::new(Ipv6Addr::from(base | bits), len).unwrap();
                entries.push(FibEntry::connected(IpNet::V6(net.trunc()), IfaceId(i)));
                let base: u32 = if rng.below(2) == 0 {
                    0xc633_6400
                } else {
                    0xcb00_7100
                };
                let len = 24 + rng.below(9) as u8;
                let net =
                    ipnet::Ipv4Net::new(Ipv4Addr::from(base | (rng.next() as u32 & 0xff)), len)
                        .unwrap();
                entries.push(FibEntry::connected(IpNet::V4(net.trunc()), IfaceId(i)));
            }
            let fib = Fib::from_entries(entries.clone());
            for _ in 0..2000 {
                let pick = &entries[rng.below(entries.len() as u64) as usize];
                let dst = match pick.prefix {
                    IpNet::V6(n) => {
                        let host = u128::from(rng.next()) & !<u128 as Key>::mask(n.prefix_len());
                        IpAddr::V6(Ipv6Addr::from(u128::from(n.network()) | host))
                    }
                    IpNet::V4(n) => {
                        let host = rng.next() as u32 & !<u32 as Key>::mask(n.prefix_len());
                        IpAddr::V4(Ipv4Addr::from(u32::from(n.network()) | host))
                    }
                };
                assert_eq!(
                    fib.lookup(dst).map(|e| e.prefix),
                    naive(&entries, dst),
                    "{dst}"
                );
            }
            for _ in 0..500 {
                let dst = IpAddr::V6(Ipv6Addr::from(
                    (0x2001_0db8u128 << 96) | (u128::from(rng.next()) << 32),
                ));
                assert_eq!(fib.lookup(dst).map(|e| e.prefix), naive(&entries, dst));
                let base: u32 = if rng.below(2) == 0 {
                    0xc633_6400
                } else {
                    0xcb00_7100
                };
                let dst = IpAddr::V4(Ipv4Addr::from(base | (rng.next() as u32 & 0xff)));
                assert_eq!(fib.lookup(dst).map(|e| e.prefix), naive(&entries, dst));
            }
        }
    }
}
