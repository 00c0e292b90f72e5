//! What one worker changes: per-interface counters, neighbor caches and RA
//! timers, the adjacency caches, the ICMP error limiter. No other thread
//! touches it, so nothing on the path takes a lock. Stages borrow it; its
//! methods live here and nowhere else.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::base::{IfaceId, Instant, Rng, TokenBucket};
use crate::neighbor::{NeighborLimits, NeighborTable};

use crate::route::NO_ADJACENCY;

use super::compiled::{CompiledConfig, IfaceConfig};
use super::next::{Forward, Hop};
use super::ra::RaTimer;
use super::stats::{Consumed, DropReason, IfaceStats};
use super::TxBatch;

/// Host adjacency slots per worker: on-link destinations (no gateway, so
/// no FIB adjacency) are cached in a direct-mapped table of this many
/// slots, keyed by a seeded hash of the next hop. A collision only sends
/// a packet the slow way, through the neighbor table.
pub(crate) const HOST_SLOTS: usize = 256;

/// One adjacency's cached rewrite: the neighbor's Ethernet header, valid
/// while the neighbor stays REACHABLE and unchanged (VPP's adjacency
/// rewrite string). A forwarded packet whose adjacency is valid skips the
/// neighbor table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Adjacency {
    /// The egress and next hop this slot is for (host slots are shared by
    /// every next hop that hashes to them).
    pub egress: IfaceId,
    pub next_hop: Hop,
    /// Destination MAC, source MAC, EtherType: the frame's first 14 bytes.
    pub rewrite: [u8; 14],
    /// The neighbor entry's REACHABLE deadline: past it, NUD must see the
    /// next packet (REACHABLE → STALE → DELAY), so the cache is bypassed.
    pub valid_until: Instant,
    /// The neighbor table's generation when cached: any change to the
    /// table since (a new MAC, a state change, a deletion) invalidates it.
    pub generation: u64,
}

impl Adjacency {
    /// An adjacency that is never valid.
    pub const EMPTY: Adjacency = Adjacency {
        egress: IfaceId(u16::MAX),
        next_hop: Hop::V4(0),
        rewrite: [0; 14],
        valid_until: Instant::ZERO,
        generation: u64::MAX,
    };
}

/// One interface's per-worker state.
#[derive(Debug)]
pub(crate) struct IfaceState {
    pub stats: IfaceStats,
    pub ra_timer: Option<RaTimer>,
    pub nd6: NeighborTable<Ipv6Addr>,
    pub arp4: NeighborTable<Ipv4Addr>,
}

impl IfaceState {
    /// Fresh state for `iface`: empty caches, the first RA due at `now`.
    pub fn new(
        iface: &IfaceConfig,
        limits: &NeighborLimits,
        rng: &mut Rng,
        now: Instant,
    ) -> IfaceState {
        IfaceState {
            stats: IfaceStats::default(),
            ra_timer: iface.ra.as_ref().map(|_| RaTimer::new(now)),
            nd6: NeighborTable::new(limits.clone(), rng),
            arp4: NeighborTable::new(limits.clone(), rng),
        }
    }
}

/// Everything one worker changes.
#[derive(Debug)]
pub(crate) struct WorkerState {
    pub ifaces: Vec<IfaceState>,
    /// One slot per FIB adjacency (`Fib::adjacency_count`), then
    /// [`HOST_SLOTS`] host slots; emptied when a new FIB snapshot
    /// renumbers them.
    pub adjacencies: Vec<Adjacency>,
    /// Where the host slots start in `adjacencies`.
    pub host_slots_at: usize,
    /// The host slots' hash key, from the worker's seed.
    pub host_seed: u64,
    pub rng: Rng,
    /// Whether this worker sends the periodic RAs (one worker does).
    pub owns_timers: bool,
    /// RFC 4443 §2.4(f) / RFC 1812 §4.3.2.8.
    pub icmp_errors: TokenBucket,
    /// Reused buffer for packets on their way into a neighbor queue.
    pub scratch: Vec<u8>,
}

/// The neighbor-cache bounds of a config.
pub(crate) fn neighbor_limits(config: &CompiledConfig) -> NeighborLimits {
    let s = config.neighbor_settings;
    NeighborLimits {
        max_entries: s.max_entries,
        max_incomplete: s.max_incomplete,
        solicit_per_second: s.solicit_per_second,
        solicit_burst: s.solicit_burst,
        queue_per_entry_packets: s.queue_per_entry,
        queue_total_bytes: s.queue_bytes,
        ..NeighborLimits::default()
    }
}

/// The ICMP error limiter of a config.
pub(crate) fn icmp_limiter(config: &CompiledConfig) -> TokenBucket {
    let icmp = config.icmp_settings;
    TokenBucket::new(icmp.burst, icmp.errors_per_second)
}

impl WorkerState {
    /// Fresh state for `config`, seeded from `rng`.
    pub fn new(config: &CompiledConfig, mut rng: Rng, now: Instant) -> WorkerState {
        let limits = neighbor_limits(config);
        let ifaces = config
            .ifaces
            .iter()
            .map(|i| IfaceState::new(i, &limits, &mut rng, now))
            .collect();
        let host_seed = rng.next_u64() | 1;
        WorkerState {
            ifaces,
            adjacencies: Vec::new(),
            host_slots_at: 0,
            host_seed,
            rng,
            owns_timers: true,
            icmp_errors: icmp_limiter(config),
            scratch: Vec::with_capacity(16 * 1024),
        }
    }

    pub fn iface_mut(&mut self, id: IfaceId) -> Option<&mut IfaceState> {
        self.ifaces.get_mut(usize::from(id.0))
    }

    pub fn stats_mut(&mut self, id: IfaceId) -> Option<&mut IfaceStats> {
        self.iface_mut(id).map(|s| &mut s.stats)
    }

    pub fn count_drop(&mut self, id: IfaceId, reason: DropReason) {
        if let Some(s) = self.stats_mut(id) {
            s.drop(reason);
        }
    }

    pub fn count_consumed(&mut self, id: IfaceId, kind: Consumed) {
        if let Some(s) = self.stats_mut(id) {
            s.consume(kind);
        }
    }

    /// Empties every adjacency slot and sizes them for a FIB with `count`
    /// adjacencies (plus the host slots).
    pub fn reset_adjacencies(&mut self, count: usize) {
        self.adjacencies.clear();
        self.adjacencies
            .resize(count + HOST_SLOTS, Adjacency::EMPTY);
        self.host_slots_at = count;
    }

    /// The slot of `fwd`'s adjacency: the FIB's for a gateway route, else
    /// the host slot its next hop hashes to.
    #[inline(always)]
    pub fn adjacency_slot(&self, fwd: &Forward) -> usize {
        if fwd.adjacency != NO_ADJACENCY {
            return usize::try_from(fwd.adjacency).unwrap_or(usize::MAX);
        }
        let key = match fwd.next_hop {
            Hop::V6(a) => {
                let low = u64::try_from(a & u128::from(u64::MAX)).unwrap_or(0);
                low ^ u64::try_from(a >> 64).unwrap_or(0)
            }
            Hop::V4(a) => u64::from(a),
        };
        // Multiplicative hashing: the top bits of key × odd seed.
        let hash = (key ^ (key >> 29)).wrapping_mul(self.host_seed) >> 56;
        self.host_slots_at + usize::try_from(hash).unwrap_or(0) % HOST_SLOTS
    }

    /// Counts the frames emitted since `from` as sent by their interfaces.
    /// Runs of frames to one interface are summed first: one counter
    /// update per run, not per frame (measured: the per-frame updates were
    /// a serial chain of read-modify-writes, 7% of a forwarded packet).
    pub fn account_tx(&mut self, tx: &TxBatch, from: usize) {
        let mut run: Option<(IfaceId, u64, u64)> = None;
        for (iface, len) in tx.lengths_from(from) {
            run = match run {
                Some((id, frames, bytes)) if id == iface => {
                    Some((id, frames + 1, bytes + len as u64))
                }
                Some((id, frames, bytes)) => {
                    self.count_tx(id, frames, bytes);
                    Some((iface, 1, len as u64))
                }
                None => Some((iface, 1, len as u64)),
            };
        }
        if let Some((id, frames, bytes)) = run {
            self.count_tx(id, frames, bytes);
        }
    }

    fn count_tx(&mut self, id: IfaceId, frames: u64, bytes: u64) {
        if let Some(s) = self.stats_mut(id) {
            s.tx_frames += frames;
            s.tx_bytes += bytes;
        }
    }
}
