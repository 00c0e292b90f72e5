//! Routing: the RIB the control plane edits, the FIB the workers read.
//!
//! - [`Rib`] is the authoritative route table: connected prefixes of each
//!   interface, static routes from the config (`[[route]]`), and runtime
//!   routes (delegated prefixes, `ctl route add`). It allocates and lives off
//!   the fast path.
//! - [`Rib::compile`] resolves next hops and picks one route per prefix,
//!   producing a [`Fib`]: an immutable longest-prefix-match table with
//!   [`Fib::lookup_v6`] / [`Fib::lookup_v4`] that take `&self`, allocate
//!   nothing, lock nothing and cannot panic.
//! - [`FibHandle`] publishes FIB snapshots (`arc_swap::ArcSwap<Fib>`): the
//!   control thread `store`s a new one, a worker `load`s a guard once per
//!   batch and keeps seeing that snapshot until its next `load`.
//!
//! Selection (RFC 1812 §5.2.4.3 "longest match", then administrative
//! preference): for a prefix the FIB takes the route of the most preferred
//! [`RouteSource`] whose next hop resolves, in the order Connected, Static,
//! Runtime. A [`NextHop::Recursive`] gateway (a config `[[route]]`) resolves
//! through the connected routes only (one level, as Neutron's `routes` must
//! have a next hop on a router subnet); one that does not stays in the RIB,
//! is left out of the FIB and is listed by [`Rib::unresolved`].
//!
//! # Why this FIB structure (measured)
//!
//! `cargo bench --bench route` (criterion, 2-core VM shared with other
//! builds; medians over 4096 lookups per iteration; key mix: 3/4 hits at
//! random depths inside a random table prefix, 1/4 random addresses that
//! mostly fall to the default route; tables as described in
//! `benches/route.rs`). ns per lookup (millions of lookups per second):
//!
//! | candidate         | 10 prefixes        | 1,000              | 100,000            |
//! |-------------------|--------------------|--------------------|--------------------|
//! | v6 `waldvogel` *  | 10.4 ns (95.9 M/s) | 24.7 ns (40.5 M/s) | 70.0 ns (14.3 M/s) |
//! | v6 `linear`       |  9.3 ns (108 M/s)  | 147 ns (6.8 M/s)   | 340 ns (2.9 M/s)   |
//! | v6 `prefix_trie`  | 77.0 ns (13.0 M/s) | 70.0 ns (14.3 M/s) | 148 ns (6.7 M/s)   |
//! | v4 `dir16_8_8` *  |  1.7 ns (594 M/s)  |  2.6 ns (388 M/s)  | 10.7 ns (93.5 M/s) |
//! | v4 `waldvogel`    |  7.9 ns (127 M/s)  | 13.4 ns (74.4 M/s) | 30.2 ns (33.1 M/s) |
//! | v4 `linear`       |  6.8 ns (146 M/s)  | 22.9 ns (43.6 M/s) | 32.0 ns (31.2 M/s) |
//! | v4 `prefix_trie`  | 24.6 ns (40.7 M/s) | 28.9 ns (34.6 M/s) | 49.9 ns (20.0 M/s) |
//!
//! (* shipped.) The machine is shared, so absolute figures move by ~30%
//! between runs; the ranking held over two runs. Lookup-table memory of the
//! shipped FIB (`Fib::memory_bytes`): IPv6 132 KiB at 1,000 prefixes (81
//! lengths), 12.5 MiB at 100,000 (97 lengths); IPv4 267 KiB at 10, 1.4 MiB
//! at 1,000, 60 MiB at 100,000.
//!
//! Candidates: `waldvogel` = binary search on prefix lengths over one
//! FxHash table per length with precomputed best-match markers (shipped
//! for IPv6, `fib.rs`); `linear` = the same per-length tables probed from the longest
//! length present down to the first hit; `prefix_trie` = the `prefix-trie`
//! crate's `PrefixMap::get_lpm`, the RIB's own store used directly;
//! `dir16_8_8` = an IPv4-only multibit trie with a 2^16 first level and
//! 8-bit strides (shipped for IPv4, `fib.rs`; IPv6 has no such bounded-memory variant: a stride-8 trie
//! over 100,000 scattered /48–/64 costs hundreds of MB). The losers live in
//! `benches/route.rs` only.
//!
//! Verdict: IPv6 ships `waldvogel`: with tens of distinct lengths the linear
//! per-length search is 6 times slower from 1,000 prefixes on (it probes
//! every length on a miss), and the trie walk 2 to 3 times slower at every
//! size; `linear` is 1 to 2 ns ahead at 10 prefixes (both runs), not worth
//! a second IPv6 structure. IPv4 ships
//! `dir16_8_8`: 3 to 5 times faster than anything else at every size. Its
//! price is memory at unrealistic sizes (60 MiB for 100,000 scattered
//! IPv4 prefixes, twice that during a swap); a tenant router has tens of
//! routes, 256 KiB of first level. Should that ever matter, the IPv6
//! structure is generic over the key and takes IPv4 as it is.

// Route input is untrusted (config files, `ctl route add`) and lookups run
// per packet: no path in here may panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod fib;
mod rib;

use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};
use ipnet::IpNet;

use crate::base::IfaceId;

pub use fib::Fib;
pub use rib::{connected_prefixes, LocalAddress, Resolved, Rib, RibError, Route, RouteInfo};

/// Where a route came from. The derived order is the preference: for the
/// same prefix a connected route beats a static one, which beats a runtime
/// one (the administrative distance, lower wins). Connected first because a
/// subnet the router is on must never be diverted by a stale route; static
/// over runtime because the config is the operator's intent and runtime
/// routes (prefix delegation, `ctl route add`) are additions to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RouteSource {
    /// A prefix of one of the router's interfaces (subnet CIDR or address).
    Connected,
    /// A `[[route]]` of the config.
    Static,
    /// Added at run time: a delegated prefix, `ctl route add`.
    Runtime,
}

impl RouteSource {
    /// All sources, most preferred first.
    pub const ALL: [RouteSource; 3] = [
        RouteSource::Connected,
        RouteSource::Static,
        RouteSource::Runtime,
    ];

    /// Administrative distance, lower preferred (Linux/Cisco-like numbers
    /// for `ctl show routes`; only the order matters here).
    pub fn admin_distance(self) -> u8 {
        match self {
            RouteSource::Connected => 0,
            RouteSource::Static => 1,
            RouteSource::Runtime => 20,
        }
    }

    /// Short name for `ctl show routes` and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteSource::Connected => "connected",
            RouteSource::Static => "static",
            RouteSource::Runtime => "runtime",
        }
    }
}

impl core::fmt::Display for RouteSource {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a route in the RIB says to do with a matching packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextHop {
    /// On-link: the destination itself is resolved (ND/ARP) on this
    /// interface.
    Connected(IfaceId),
    /// Via a gateway known to be on `iface`: a delegated prefix via the
    /// requesting router's (often link-local) address, `ctl route add ...
    /// dev`. Needs no resolution.
    Gateway { addr: IpAddr, iface: IfaceId },
    /// Via a gateway whose interface is found at compile time through the
    /// connected routes (a config `[[route]]`).
    Recursive(IpAddr),
}

impl NextHop {
    /// The gateway address, if the route has one.
    pub fn gateway(&self) -> Option<IpAddr> {
        match *self {
            NextHop::Connected(_) => None,
            NextHop::Gateway { addr, .. } | NextHop::Recursive(addr) => Some(addr),
        }
    }
}

/// One FIB entry: what a lookup answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FibEntry {
    /// The matched prefix (for `show` and counters).
    pub prefix: IpNet,
    /// Egress interface.
    pub iface: IfaceId,
    /// The neighbor to resolve: `None` means on-link, resolve the packet's
    /// destination itself; `Some` means resolve this gateway.
    pub gateway: Option<IpAddr>,
    /// Which kind of route won.
    pub source: RouteSource,
    /// What the packet does: go on, stop here, or go nowhere.
    pub action: FibAction,
    /// For a forward entry through a gateway, the number of its
    /// adjacency (one per distinct egress and gateway, dense from 0, see
    /// [`Fib::adjacency_count`]): the worker caches the neighbor's
    /// prebuilt Ethernet header there. [`NO_ADJACENCY`] otherwise.
    pub adjacency: u32,
}

/// [`FibEntry::adjacency`] of an entry without one.
pub const NO_ADJACENCY: u32 = u32::MAX;

/// What a FIB entry tells a packet to do (VPP's receive / drop DPOs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FibAction {
    /// Transit: resolve the neighbor and send it out of `iface`.
    Forward,
    /// One of the router's own addresses: local delivery.
    Receive,
    /// Never forwarded: the broadcast address of a connected IPv4 subnet
    /// (RFC 2644: directed broadcasts are not forwarded).
    Drop,
}

impl FibEntry {
    /// The address whose link-layer address the packet goes to: the
    /// gateway, or for on-link routes the destination itself.
    #[inline]
    pub fn neighbor(&self, dst: IpAddr) -> IpAddr {
        self.gateway.unwrap_or(dst)
    }
}

/// Publication point for FIB snapshots.
///
/// Readers never block and never see a half-built table: `store` swaps in a
/// whole new `Arc<Fib>`; a guard from `load` keeps its snapshot alive (and
/// unchanged) until dropped, so a worker loads once per batch and routes the
/// whole batch against one consistent table.
#[derive(Debug)]
pub struct FibHandle {
    current: ArcSwap<Fib>,
}

impl FibHandle {
    /// A handle publishing `fib`.
    pub fn new(fib: Fib) -> FibHandle {
        FibHandle {
            current: ArcSwap::from_pointee(fib),
        }
    }

    /// The current snapshot, cheaply (no refcount traffic in the common
    /// case). Hold it for a batch, not forever: a held guard keeps the old
    /// table alive.
    #[inline]
    pub fn load(&self) -> Guard<Arc<Fib>> {
        self.current.load()
    }

    /// The current snapshot as an owned `Arc` (for holders that outlive a
    /// batch, e.g. `ctl show routes`).
    pub fn load_full(&self) -> Arc<Fib> {
        self.current.load_full()
    }

    /// Publishes `fib`; readers see it from their next `load`.
    pub fn store(&self, fib: Fib) {
        self.current.store(Arc::new(fib));
    }
}

impl Default for FibHandle {
    fn default() -> Self {
        FibHandle::new(Fib::default())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn source_preference_order() {
        assert!(RouteSource::Connected < RouteSource::Static);
        assert!(RouteSource::Static < RouteSource::Runtime);
        let mut all = RouteSource::ALL;
        all.sort_by_key(|s| s.admin_distance());
        assert_eq!(all, RouteSource::ALL);
    }

    #[test]
    fn neighbor_is_gateway_or_destination() {
        let dst: IpAddr = "2001:db8:1::9".parse().unwrap();
        let gw: IpAddr = "fe80::1".parse().unwrap();
        let mut e = FibEntry::connected("2001:db8:1::/64".parse().unwrap(), IfaceId(0));
        assert_eq!(e.neighbor(dst), dst);
        e.gateway = Some(gw);
        assert_eq!(e.neighbor(dst), gw);
    }

    /// A worker holding a guard keeps routing with the old table until it
    /// reloads; a fresh load sees the new one.
    #[test]
    fn snapshot_swap_visible_only_after_reload() {
        let dst = "2001:db8:5::1".parse().unwrap();
        let handle = FibHandle::new(Fib::from_entries([FibEntry::connected(
            "2001:db8::/32".parse().unwrap(),
            IfaceId(1),
        )]));
        let old = handle.load();
        handle.store(Fib::from_entries([FibEntry::connected(
            "2001:db8:5::/48".parse().unwrap(),
            IfaceId(2),
        )]));
        assert_eq!(old.lookup_v6(dst).unwrap().iface, IfaceId(1));
        let new = handle.load();
        assert_eq!(new.lookup_v6(dst).unwrap().iface, IfaceId(2));
        assert_eq!(old.lookup_v6(dst).unwrap().iface, IfaceId(1));
        drop(old);
        assert_eq!(handle.load_full().len(), 1);
    }

    #[test]
    fn handle_from_another_thread() {
        let handle = Arc::new(FibHandle::default());
        assert!(handle.load().is_empty());
        let writer = Arc::clone(&handle);
        std::thread::spawn(move || {
            writer.store(Fib::from_entries([FibEntry::connected(
                "198.51.100.0/24".parse().unwrap(),
                IfaceId(3),
            )]))
        })
        .join()
        .unwrap();
        let fib = handle.load();
        let e = fib.lookup_v4("198.51.100.20".parse().unwrap()).unwrap();
        assert_eq!(e.iface, IfaceId(3));
    }
}
