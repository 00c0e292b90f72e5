//! The neighbor cache: address resolution state for one interface and one
//! family, generic over the protocol address ([`Ipv6Addr`] for neighbor
//! discovery, [`Ipv4Addr`] for ARP).
//!
//! # Contract
//!
//! Pure state: no I/O, no clock, no frame building. Time is passed in; the
//! table says what to send ([`Resolution::Solicit`],
//! [`NeighborEvent::Solicit`]) and the caller builds the NS or ARP request.
//! Queued packets are handed back through closures, borrowed from the
//! table's pool, so nothing is allocated per packet: the map, the packet
//! pool and the scratch buffer are all sized at construction.
//!
//! # Neighbor unreachability detection (RFC 4861 §7.3, appendix C)
//!
//! States INCOMPLETE, REACHABLE, STALE, DELAY, PROBE, driven by:
//! - [`NeighborTable::resolve`] (a packet to send): no entry → INCOMPLETE
//!   and a multicast solicitation; REACHABLE past ReachableTime or STALE →
//!   DELAY; the caller sends to the cached address in every state but
//!   INCOMPLETE.
//! - [`NeighborTable::on_advertisement`] (NA, or an ARP reply): §7.2.5.
//! - [`NeighborTable::on_solicitation`] (NS, gratuitous ARP, ARP request)
//!   and [`NeighborTable::on_router_solicitation`] (RS): §7.2.3 and §6.2.6,
//!   the "unsolicited information" half of appendix C.
//! - [`NeighborTable::confirm`]: upper-layer reachability confirmation.
//! - [`NeighborTable::on_timer`]: INCOMPLETE retransmits
//!   MAX_MULTICAST_SOLICIT (3) solicitations RetransTimer (1 s) apart, then
//!   deletes the entry and reports its queued packets unreachable (the
//!   caller answers each with ICMPv6 destination unreachable code 3 or
//!   ICMPv4 host unreachable, rate-limited); DELAY becomes PROBE after
//!   DELAY_FIRST_PROBE_TIME (5 s); PROBE sends MAX_UNICAST_SOLICIT (3)
//!   unicast probes 1 s apart, then deletes; REACHABLE becomes STALE after
//!   ReachableTime; STALE is garbage-collected after `stale_timeout`.
//!
//! Where appendix C's summary and the §7.2.5 text differ, the text wins
//! (the appendix says it summarises §7.2.5 and §7.3.3):
//! - a solicited NA without a target link-layer address option confirms
//!   reachability (REACHABLE); the appendix says "unchanged", but §7.2.4
//!   lets a node omit the option in answer to a unicast probe, so following
//!   the appendix would fail NUD for every such neighbor;
//! - an NA with O=0 and a different link-layer address turns REACHABLE into
//!   STALE whatever S is (§7.2.5 I.a); the appendix lists only S=1.
//!
//! Queued packets released by a solicitation or an unsolicited NA are sent
//! from STALE, and sending from STALE starts the delay timer (appendix C,
//! "STALE, sending packet"), so such an entry lands in DELAY.
//! When an NA clears the R flag of a router entry, §7.2.5 asks to drop the
//! router from the default router list; this router keeps none, so it is
//! recorded ([`AdvertOutcome::Updated`], [`NeighborStats::router_cleared`]).
//!
//! ReachableTime is uniform in [0.5, 1.5] × BaseReachableTime (§6.3.2),
//! drawn from a generator seeded by the engine's [`Rng`] and drawn again
//! every [`REACHABLE_TIME_REFRESH`] ("at least every few hours", §6.3.4).
//!
//! ARP has no S, O or R flags: a reply to our request maps to
//! `on_advertisement` with [`AdvertFlags::ARP_REPLY`] (solicited and
//! override); a request from a host or a gratuitous ARP maps to
//! `on_solicitation` (RFC 826's "merge": a different address replaces the
//! cached one, and the entry goes STALE as after an NS).
//!
//! # Bounds (RFC 6583)
//!
//! A scan of a /64 must never break forwarding to known hosts (RFC 6583
//! §6, recommendations for implementers: prioritise existing entries, bound
//! queues and solicitation rates). Defaults
//! ([`NeighborLimits::default`]), each documented on its field:
//!
//! | limit | default |
//! |---|---|
//! | `max_entries` | 4096 |
//! | `max_incomplete` | 256 |
//! | `solicit_per_second` / `solicit_burst` | 100 / 100 |
//! | `queue_per_entry_packets` | 3 |
//! | `queue_total_bytes` | 256 KiB |
//! | `queue_max_packet_bytes` | 9216 |
//! | `stale_timeout` | 10 min |
//! | `evict_min_idle` | 60 s |
//!
//! - INCOMPLETE entries are capped by `max_incomplete`; at the cap new
//!   resolutions are refused ([`RefuseReason::IncompleteLimit`]) and nothing
//!   is evicted.
//! - New resolutions take a token from a per-table bucket
//!   ([`RefuseReason::SolicitRateLimited`]); retransmissions do not, since
//!   each resolution sends at most MAX_MULTICAST_SOLICIT solicitations the
//!   multicast NS rate is at most 3 × `solicit_per_second`.
//! - When the table holds `max_entries`, a new entry may evict only a STALE
//!   entry that the forwarding path has never used or has not used for
//!   `evict_min_idle`, least recently used first. REACHABLE, DELAY, PROBE
//!   and INCOMPLETE entries are never evicted, and neither is a STALE entry
//!   in recent use, so an unresolved address never displaces a live one
//!   ([`RefuseReason::TableFull`] instead). An evicted entry costs one
//!   re-resolution should its host talk again.
//! - Queues live in one pool of `queue_total_bytes`; per entry at most
//!   `queue_per_entry_packets`, the oldest replaced (§7.2.2).
//!
//! # Cost
//!
//! `resolve` is one hash lookup. The hasher is FxHash-style with a per-table
//! seed and a finaliser (see `hash.rs` for why the seed matters when keys
//! are a scanner's choice). The map is reserved at twice `max_entries`, so
//! that deleted-slot clean-up always rehashes in place: it never allocates.
//! `on_timer` walks the table, O(entries), and runs only when the earliest
//! deadline has passed. Looking for an eviction victim also walks the
//! table, at most once per solicitation token, and a failed search is
//! remembered until a STALE entry could become evictable.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod hash;
mod pool;

use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::wire::EthernetAddress;

use crate::base::{Instant, Rng, TokenBucket};

use hash::NeighborHashBuilder;
use pool::{PacketList, PacketPool, Pushed};

pub use pool::CHUNK as QUEUE_CHUNK_BYTES;

/// RFC 4861 §10: multicast solicitations sent while INCOMPLETE.
pub const MAX_MULTICAST_SOLICIT: u8 = 3;
/// RFC 4861 §10: unicast probes sent while PROBE.
pub const MAX_UNICAST_SOLICIT: u8 = 3;
/// RFC 4861 §10: RetransTimer, between solicitations.
pub const RETRANS_TIMER: Duration = Duration::from_secs(1);
/// RFC 4861 §10: how long DELAY waits for an upper-layer confirmation.
pub const DELAY_FIRST_PROBE_TIME: Duration = Duration::from_secs(5);
/// RFC 4861 §10: REACHABLE_TIME, the default BaseReachableTime.
pub const REACHABLE_TIME: Duration = Duration::from_secs(30);
/// How often ReachableTime is drawn again (§6.3.4: "at least every few
/// hours").
pub const REACHABLE_TIME_REFRESH: Duration = Duration::from_secs(2 * 3600);
/// Ceiling on `max_entries`, whatever the configuration says, so that the
/// up-front reservation stays finite.
pub const MAX_ENTRIES_CEILING: usize = 1 << 20;
/// Ceiling on `queue_total_bytes`.
pub const QUEUE_BYTES_CEILING: usize = 64 << 20;
/// Ceiling on `queue_max_packet_bytes`: an IPv6 packet without jumbogram.
pub const MAX_PACKET_CEILING: usize = 65_535 + 40;
/// Floor on the timers, so that a zero in the configuration cannot make the
/// caller's timer loop spin.
pub const MIN_TIMER: Duration = Duration::from_millis(1);

/// A protocol address a neighbor table resolves.
pub trait NeighborAddr: Copy + Eq + core::hash::Hash + fmt::Debug + fmt::Display {
    /// Whether a neighbor entry may exist for the address: a unicast
    /// address. Multicast and broadcast map to link-layer addresses without
    /// resolution (RFC 4861 §7.2.1), and the unspecified address is nobody.
    fn is_neighbor_unicast(&self) -> bool;
}

impl NeighborAddr for Ipv6Addr {
    fn is_neighbor_unicast(&self) -> bool {
        !self.is_unspecified() && !self.is_multicast() && !self.is_loopback()
    }
}

impl NeighborAddr for Ipv4Addr {
    fn is_neighbor_unicast(&self) -> bool {
        !self.is_unspecified()
            && !self.is_multicast()
            && !self.is_broadcast()
            && !self.is_loopback()
    }
}

/// The bounds and timers of one table. Out-of-range values are clamped by
/// [`NeighborTable::new`], never rejected: see each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborLimits {
    /// Entries in all states. 4096 covers a /20 of live hosts, far beyond a
    /// Neutron network's usual size; the map reserves 2 × this many slots
    /// up front (16384 buckets of 73 bytes, 1.2 MB, for IPv6). Clamped to
    /// [`MAX_ENTRIES_CEILING`].
    pub max_entries: usize,
    /// INCOMPLETE entries. 256 resolutions in flight is a busy subnet's
    /// worth (Linux's unresolved default is similar), and it bounds the
    /// queued packets and retransmissions a scan can cause. Clamped to
    /// `max_entries`.
    pub max_incomplete: usize,
    /// New resolutions (each one multicast solicitation now, two more
    /// later) per second. 100/s lets a whole /24 come up in seconds and
    /// caps a scan's multicast NS at 300/s.
    pub solicit_per_second: u32,
    /// Bucket depth for `solicit_per_second`: 100 lets a router coming up
    /// resolve a burst of hosts at once.
    pub solicit_burst: u32,
    /// Packets queued per unresolved entry, oldest replaced (RFC 4861
    /// §7.2.2 asks for at least one; 3 is Linux's `unres_qlen` idea, enough
    /// for a SYN and its first retransmissions). 0 disables queueing.
    pub queue_per_entry_packets: usize,
    /// Bytes of the shared queue pool, allocated at construction. 256 KiB
    /// holds a small first packet for every one of 256 INCOMPLETE entries
    /// three times over, or about 170 MTU-sized packets. Clamped to
    /// [`QUEUE_BYTES_CEILING`].
    pub queue_total_bytes: usize,
    /// Largest packet queued; larger ones are dropped, not queued. 9216
    /// fits a 9000-byte MTU with headers. Clamped to [`MAX_PACKET_CEILING`].
    pub queue_max_packet_bytes: usize,
    /// A STALE entry is deleted after this long in STALE. 10 minutes: a
    /// STALE entry costs only memory, and keeping it saves the first packet
    /// of the next flow a resolution round trip; Linux's `gc_staletime` is
    /// 60 s but Linux collects only above `gc_thresh1` entries.
    pub stale_timeout: Duration,
    /// A STALE entry may be evicted for a new one only if unused by the
    /// forwarding path for this long (or never used). 60 s: entries in
    /// active use cycle through REACHABLE/DELAY/PROBE and leave STALE at the
    /// next packet, so a minute in STALE means the host is idle.
    pub evict_min_idle: Duration,
    /// BaseReachableTime (RFC 4861 §6.3.2), 30 s.
    pub base_reachable_time: Duration,
    /// RetransTimer (RFC 4861 §6.3.2), 1 s; at least [`MIN_TIMER`].
    pub retrans_timer: Duration,
    /// DELAY_FIRST_PROBE_TIME, 5 s; at least [`MIN_TIMER`].
    pub delay_first_probe_time: Duration,
    /// MAX_MULTICAST_SOLICIT, 3; at least 1.
    pub max_multicast_solicit: u8,
    /// MAX_UNICAST_SOLICIT, 3; at least 1.
    pub max_unicast_solicit: u8,
}

impl Default for NeighborLimits {
    fn default() -> Self {
        NeighborLimits {
            max_entries: 4096,
            max_incomplete: 256,
            solicit_per_second: 100,
            solicit_burst: 100,
            queue_per_entry_packets: 3,
            queue_total_bytes: 256 * 1024,
            queue_max_packet_bytes: 9216,
            stale_timeout: Duration::from_secs(600),
            evict_min_idle: Duration::from_secs(60),
            base_reachable_time: REACHABLE_TIME,
            retrans_timer: RETRANS_TIMER,
            delay_first_probe_time: DELAY_FIRST_PROBE_TIME,
            max_multicast_solicit: MAX_MULTICAST_SOLICIT,
            max_unicast_solicit: MAX_UNICAST_SOLICIT,
        }
    }
}

impl NeighborLimits {
    /// The limits with every field brought into its documented range.
    pub fn clamped(mut self) -> NeighborLimits {
        self.max_entries = self.max_entries.min(MAX_ENTRIES_CEILING);
        self.max_incomplete = self.max_incomplete.min(self.max_entries);
        self.queue_per_entry_packets = self.queue_per_entry_packets.min(usize::from(u16::MAX));
        self.queue_total_bytes = self.queue_total_bytes.min(QUEUE_BYTES_CEILING);
        self.queue_max_packet_bytes = self.queue_max_packet_bytes.min(MAX_PACKET_CEILING);
        self.retrans_timer = self.retrans_timer.max(MIN_TIMER);
        self.delay_first_probe_time = self.delay_first_probe_time.max(MIN_TIMER);
        self.max_multicast_solicit = self.max_multicast_solicit.max(1);
        self.max_unicast_solicit = self.max_unicast_solicit.max(1);
        self
    }
}

/// Reachability state (RFC 4861 §7.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NeighborState {
    /// Resolution in progress: solicitation sent, no link-layer address yet.
    Incomplete,
    /// Reachability confirmed within ReachableTime.
    Reachable,
    /// Not known to be reachable; nothing is done until a packet is sent.
    Stale,
    /// A packet was sent from STALE; waiting for an upper-layer
    /// confirmation before probing.
    Delay,
    /// Unicast probes in progress.
    Probe,
}

impl NeighborState {
    /// The RFC's name, as `ctl show neighbors` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            NeighborState::Incomplete => "INCOMPLETE",
            NeighborState::Reachable => "REACHABLE",
            NeighborState::Stale => "STALE",
            NeighborState::Delay => "DELAY",
            NeighborState::Probe => "PROBE",
        }
    }
}

impl fmt::Display for NeighborState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the table would not start resolving an address (or learn one). Each
/// maps to one drop counter of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RefuseReason {
    /// Multicast, broadcast, loopback or unspecified: not a neighbor.
    NotUnicast,
    /// `max_incomplete` resolutions are already in flight.
    IncompleteLimit,
    /// The solicitation budget (`solicit_per_second`) is spent.
    SolicitRateLimited,
    /// `max_entries` reached and no STALE entry is idle enough to evict.
    TableFull,
}

impl RefuseReason {
    /// Every reason, in counter order.
    pub const ALL: [RefuseReason; 4] = [
        RefuseReason::NotUnicast,
        RefuseReason::IncompleteLimit,
        RefuseReason::SolicitRateLimited,
        RefuseReason::TableFull,
    ];
    /// How many reasons there are.
    pub const COUNT: usize = RefuseReason::ALL.len();

    /// A stable snake_case name for counters.
    pub const fn name(self) -> &'static str {
        match self {
            RefuseReason::NotUnicast => "neighbor_not_unicast",
            RefuseReason::IncompleteLimit => "neighbor_incomplete_limit",
            RefuseReason::SolicitRateLimited => "neighbor_solicit_rate_limited",
            RefuseReason::TableFull => "neighbor_table_full",
        }
    }
}

/// Why a packet was not queued. Each maps to one drop counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum QueueError {
    /// No entry for the address (resolve first).
    NoEntry,
    /// The entry is resolved: send the packet instead.
    NotPending,
    /// `queue_per_entry_packets` is 0.
    Disabled,
    /// Longer than `queue_max_packet_bytes`.
    TooLarge,
    /// The shared pool (`queue_total_bytes`) has no room.
    PoolFull,
}

impl QueueError {
    /// Every error, in counter order.
    pub const ALL: [QueueError; 5] = [
        QueueError::NoEntry,
        QueueError::NotPending,
        QueueError::Disabled,
        QueueError::TooLarge,
        QueueError::PoolFull,
    ];
    /// How many errors there are.
    pub const COUNT: usize = QueueError::ALL.len();

    /// A stable snake_case name for counters.
    pub const fn name(self) -> &'static str {
        match self {
            QueueError::NoEntry => "neighbor_queue_no_entry",
            QueueError::NotPending => "neighbor_queue_not_pending",
            QueueError::Disabled => "neighbor_queue_disabled",
            QueueError::TooLarge => "neighbor_queue_too_large",
            QueueError::PoolFull => "neighbor_queue_pool_full",
        }
    }
}

/// What the forwarding path should do with a packet for an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Send to this link-layer address now.
    Ready(EthernetAddress),
    /// Resolution in progress: queue the packet ([`NeighborTable::enqueue`]).
    Pending,
    /// A new INCOMPLETE entry: send a multicast NS (to the solicited-node
    /// group) or a broadcast ARP request now, and queue the packet.
    Solicit,
    /// No entry and none will be made: drop the packet for this reason.
    Refused(RefuseReason),
}

/// What [`NeighborTable::enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// The packet waits.
    Queued,
    /// The packet waits; the entry's oldest packet was dropped for it
    /// (RFC 4861 §7.2.2). The caller counts that drop.
    ReplacedOldest,
}

/// The flags of a neighbor advertisement (RFC 4861 §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AdvertFlags {
    /// S: sent in response to a solicitation.
    pub solicited: bool,
    /// O: should override a cached link-layer address.
    pub override_: bool,
    /// R: the sender is a router.
    pub is_router: bool,
}

impl AdvertFlags {
    /// An ARP reply to our request: it answers a solicitation and carries
    /// the sender's authoritative address.
    pub const ARP_REPLY: AdvertFlags = AdvertFlags {
        solicited: true,
        override_: true,
        is_router: false,
    };
}

/// What [`NeighborTable::on_advertisement`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvertOutcome {
    /// No entry for the target: discarded (§7.2.5).
    NoEntry,
    /// Discarded by the §7.2.5 rules (INCOMPLETE without a link-layer
    /// address, or O=0 with a different address outside REACHABLE).
    Ignored,
    /// Applied. `router_cleared`: the entry was a router and the NA's R
    /// flag is clear, so the neighbor is no longer a router.
    Updated { router_cleared: bool },
}

/// What a solicitation did to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SolicitOutcome {
    /// A new STALE entry.
    Created,
    /// The link-layer address was recorded or replaced.
    Updated,
    /// Nothing learned (same address, or none given).
    Unchanged,
    /// No entry could be made.
    Refused(RefuseReason),
}

/// Work [`NeighborTable::on_timer`] hands to the caller.
#[derive(Debug)]
pub enum NeighborEvent<'a, A> {
    /// Send a solicitation for `addr`: multicast NS / broadcast ARP when
    /// `unicast_to` is `None`, else a unicast probe to that address.
    Solicit {
        addr: A,
        unicast_to: Option<EthernetAddress>,
    },
    /// Resolution failed and the entry is gone. Each packet that was waiting
    /// deserves an ICMPv6 destination unreachable (code 3, address
    /// unreachable) or ICMPv4 host unreachable, rate-limited.
    Unreachable { addr: A, packets: QueuedPackets<'a> },
    /// Unicast probes went unanswered; the entry is gone (the next packet
    /// starts a fresh resolution).
    ProbeFailed { addr: A },
}

/// Packets that waited for a failed resolution, borrowed from the pool
/// until the event handler returns.
pub struct QueuedPackets<'a> {
    pool: &'a mut PacketPool,
    list: PacketList,
}

impl fmt::Debug for QueuedPackets<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueuedPackets")
            .field("len", &self.list.len())
            .finish()
    }
}

impl QueuedPackets<'_> {
    /// How many packets.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// No packets.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Calls `f` with each packet, oldest first, as it was queued.
    pub fn for_each(self, f: impl FnMut(&[u8])) {
        self.pool.for_each(&self.list, f);
    }
}

/// One entry, as `ctl show neighbors` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighborView<A> {
    /// The neighbor's protocol address.
    pub addr: A,
    /// `None` while INCOMPLETE.
    pub mac: Option<EthernetAddress>,
    pub state: NeighborState,
    /// IsRouter (RFC 4861 §7.3.1).
    pub is_router: bool,
    /// Solicitations sent in the current INCOMPLETE or PROBE round.
    pub probes: u8,
    /// Packets waiting for resolution.
    pub queued: usize,
    /// Last state change or confirmation.
    pub updated: Instant,
    /// Last time the forwarding path used the entry, if ever.
    pub last_used: Option<Instant>,
    /// When the state's timer fires: next solicitation (INCOMPLETE, PROBE),
    /// first probe (DELAY), end of reachability (REACHABLE) or collection
    /// (STALE).
    pub deadline: Instant,
}

/// Counters of one table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NeighborStats {
    /// Entries created: INCOMPLETE by `resolve`, STALE by solicitations.
    pub created: u64,
    /// INCOMPLETE entries that got a link-layer address.
    pub resolved: u64,
    /// INCOMPLETE entries deleted after their last solicitation.
    pub failed: u64,
    /// Entries deleted after their last unicast probe.
    pub probe_failed: u64,
    /// STALE entries collected after `stale_timeout`.
    pub aged: u64,
    /// Idle STALE entries evicted to make room.
    pub evicted: u64,
    /// Multicast solicitations asked for (first and retransmissions).
    pub solicits: u64,
    /// Unicast probes asked for.
    pub probes: u64,
    /// Refusals, indexed by `RefuseReason as usize`.
    pub refused: [u64; RefuseReason::COUNT],
    /// Packets queued.
    pub queued: u64,
    /// Queued packets dropped to make room for a newer one.
    pub queue_replaced: u64,
    /// Packets not queued, indexed by `QueueError as usize`.
    pub queue_dropped: [u64; QueueError::COUNT],
    /// Queued packets handed back for sending on resolution.
    pub released: u64,
    /// Queued packets handed back as unreachable.
    pub unreachable: u64,
    /// Router entries whose IsRouter flag was cleared.
    pub router_cleared: u64,
}

impl NeighborStats {
    /// Refusals for one reason.
    pub fn refused_for(&self, reason: RefuseReason) -> u64 {
        self.refused.get(reason as usize).copied().unwrap_or(0)
    }

    /// Queue drops for one reason.
    pub fn queue_dropped_for(&self, err: QueueError) -> u64 {
        self.queue_dropped.get(err as usize).copied().unwrap_or(0)
    }
}

/// One cache entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    state: NeighborState,
    /// Meaningless while INCOMPLETE (all zeros); set on every way out.
    mac: EthernetAddress,
    is_router: bool,
    probes: u8,
    deadline: Instant,
    updated: Instant,
    last_used: Option<Instant>,
    queue: PacketList,
}

impl Entry {
    fn view<A>(&self, addr: A) -> NeighborView<A> {
        NeighborView {
            addr,
            mac: (self.state != NeighborState::Incomplete).then_some(self.mac),
            state: self.state,
            is_router: self.is_router,
            probes: self.probes,
            queued: self.queue.len(),
            updated: self.updated,
            last_used: self.last_used,
            deadline: self.deadline,
        }
    }
}

/// Everything but the map, so that an entry borrowed from the map and the
/// rest of the table can be changed together.
#[derive(Debug)]
struct Core {
    limits: NeighborLimits,
    pool: PacketPool,
    bucket: TokenBucket,
    rng: Rng,
    reachable_time: Duration,
    reachable_refresh_at: Option<Instant>,
    incomplete: usize,
    /// No deadline is earlier; may be early (a spurious `on_timer`), never
    /// late.
    earliest: Option<Instant>,
    /// No eviction victim can exist before this instant (reset whenever an
    /// entry enters STALE).
    no_victim_until: Option<Instant>,
    stats: NeighborStats,
    /// Bumped by every change that can alter where a packet goes (a state
    /// change, a new link-layer address, a deletion): what the forwarding
    /// path caches from the table is valid while this stays the same.
    generation: u64,
}

/// Uniform in [0.5, 1.5] × `base` (RFC 4861 §6.3.2).
fn draw_reachable_time(rng: &mut Rng, base: Duration) -> Duration {
    let b = u64::try_from(base.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(rng.range_inclusive(b / 2, b.saturating_add(b / 2)))
}

fn min_instant(a: Option<Instant>, b: Instant) -> Option<Instant> {
    Some(a.map_or(b, |a| a.min(b)))
}

impl Core {
    fn arm(&mut self, at: Instant) {
        self.earliest = min_instant(self.earliest, at);
    }

    fn refuse(&mut self, reason: RefuseReason) -> RefuseReason {
        if let Some(c) = self.stats.refused.get_mut(reason as usize) {
            *c += 1;
        }
        reason
    }

    /// Moves `e` to `state` (never INCOMPLETE), arming its timer.
    fn set_state(&mut self, e: &mut Entry, state: NeighborState, now: Instant) {
        self.generation = self.generation.wrapping_add(1);
        if e.state == NeighborState::Incomplete && state != NeighborState::Incomplete {
            self.incomplete = self.incomplete.saturating_sub(1);
        }
        e.state = state;
        e.updated = now;
        e.probes = 0;
        e.deadline = now
            + match state {
                NeighborState::Incomplete | NeighborState::Probe => self.limits.retrans_timer,
                NeighborState::Reachable => self.reachable_time,
                NeighborState::Stale => {
                    self.no_victim_until = None;
                    self.limits.stale_timeout
                }
                NeighborState::Delay => self.limits.delay_first_probe_time,
            };
        self.arm(e.deadline);
    }

    /// Hands `e`'s queued packets to `f` and frees them. Sending from STALE
    /// starts the delay timer (appendix C), so a STALE entry goes DELAY.
    fn release<F: FnMut(EthernetAddress, &[u8])>(&mut self, e: &mut Entry, now: Instant, mut f: F) {
        if e.queue.is_empty() {
            return;
        }
        let mac = e.mac;
        self.stats.released += e.queue.len() as u64;
        self.pool.for_each(&e.queue, |p| f(mac, p));
        self.pool.clear(&mut e.queue);
        e.last_used = Some(now);
        if e.state == NeighborState::Stale {
            self.set_state(e, NeighborState::Delay, now);
        }
    }

    /// Frees what a deleted entry held.
    fn discard(&mut self, e: &mut Entry) {
        self.generation = self.generation.wrapping_add(1);
        if e.state == NeighborState::Incomplete {
            self.incomplete = self.incomplete.saturating_sub(1);
        }
        self.pool.clear(&mut e.queue);
    }

    /// Runs `e`'s expired timer; false when the entry is to be deleted.
    fn expire<A: Copy, F: FnMut(NeighborEvent<'_, A>)>(
        &mut self,
        addr: A,
        e: &mut Entry,
        now: Instant,
        sink: &mut F,
    ) -> bool {
        match e.state {
            NeighborState::Incomplete if e.probes < self.limits.max_multicast_solicit => {
                e.probes += 1;
                e.deadline = now + self.limits.retrans_timer;
                self.stats.solicits += 1;
                sink(NeighborEvent::Solicit {
                    addr,
                    unicast_to: None,
                });
                true
            }
            NeighborState::Incomplete => {
                self.stats.failed += 1;
                self.stats.unreachable += e.queue.len() as u64;
                sink(NeighborEvent::Unreachable {
                    addr,
                    packets: QueuedPackets {
                        pool: &mut self.pool,
                        list: e.queue,
                    },
                });
                self.discard(e);
                false
            }
            NeighborState::Reachable => {
                self.set_state(e, NeighborState::Stale, now);
                true
            }
            NeighborState::Stale => {
                self.stats.aged += 1;
                self.discard(e);
                false
            }
            NeighborState::Delay => {
                self.set_state(e, NeighborState::Probe, now);
                self.probe(addr, e, sink);
                true
            }
            NeighborState::Probe if e.probes < self.limits.max_unicast_solicit => {
                e.deadline = now + self.limits.retrans_timer;
                self.probe(addr, e, sink);
                true
            }
            NeighborState::Probe => {
                self.stats.probe_failed += 1;
                sink(NeighborEvent::ProbeFailed { addr });
                self.discard(e);
                false
            }
        }
    }

    fn probe<A, F: FnMut(NeighborEvent<'_, A>)>(&mut self, addr: A, e: &mut Entry, sink: &mut F) {
        e.probes += 1;
        self.stats.probes += 1;
        sink(NeighborEvent::Solicit {
            addr,
            unicast_to: Some(e.mac),
        });
    }
}

/// The neighbor cache of one interface and one family.
pub struct NeighborTable<A: NeighborAddr> {
    map: HashMap<A, Entry, NeighborHashBuilder>,
    core: Core,
}

impl<A: NeighborAddr> fmt::Debug for NeighborTable<A> {
    /// A summary; `entries()` lists the entries.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NeighborTable")
            .field("len", &self.map.len())
            .field("incomplete", &self.core.incomplete)
            .field("queued_bytes", &self.core.pool.used_bytes())
            .field("reachable_time", &self.core.reachable_time)
            .field("stats", &self.core.stats)
            .finish()
    }
}

impl<A: NeighborAddr> NeighborTable<A> {
    /// An empty table. Allocates everything it will ever use: the map
    /// (2 × `max_entries` slots), the queue pool and its scratch buffer.
    /// Draws its hash seed and ReachableTime generator from `rng`.
    pub fn new(limits: NeighborLimits, rng: &mut Rng) -> NeighborTable<A> {
        let limits = limits.clamped();
        let seed = rng.next_u64();
        let mut own_rng = Rng::from_seed_bytes(&rng.next_u64().to_le_bytes());
        let reachable_time = draw_reachable_time(&mut own_rng, limits.base_reachable_time);
        let map = HashMap::with_capacity_and_hasher(
            limits.max_entries.saturating_mul(2),
            NeighborHashBuilder::new(seed),
        );
        let core = Core {
            pool: PacketPool::new(limits.queue_total_bytes, limits.queue_max_packet_bytes),
            bucket: TokenBucket::new(limits.solicit_burst, limits.solicit_per_second),
            rng: own_rng,
            reachable_time,
            reachable_refresh_at: None,
            incomplete: 0,
            earliest: None,
            no_victim_until: None,
            stats: NeighborStats::default(),
            generation: 0,
            limits,
        };
        NeighborTable { map, core }
    }

    /// The limits in force (after clamping).
    pub fn limits(&self) -> &NeighborLimits {
        &self.core.limits
    }

    /// The current ReachableTime.
    pub fn reachable_time(&self) -> Duration {
        self.core.reachable_time
    }

    /// The counters.
    pub fn stats(&self) -> &NeighborStats {
        &self.core.stats
    }

    /// Entries in all states.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// INCOMPLETE entries.
    pub fn incomplete_len(&self) -> usize {
        self.core.incomplete
    }

    /// Bytes of the queue pool in use (whole chunks).
    pub fn queued_bytes(&self) -> usize {
        self.core.pool.used_bytes()
    }

    /// Size of the queue pool: `queue_total_bytes` in whole chunks.
    pub fn queue_capacity_bytes(&self) -> usize {
        self.core.pool.capacity_bytes()
    }

    /// One entry.
    pub fn get(&self, addr: A) -> Option<NeighborView<A>> {
        self.map.get(&addr).map(|e| e.view(addr))
    }

    /// Every entry, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = NeighborView<A>> + '_ {
        self.map.iter().map(|(a, e)| e.view(*a))
    }

    /// Changes with every update that can alter where a packet goes; what
    /// a caller caches from [`reachable`](Self::reachable) stays valid
    /// while this is unchanged.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.core.generation
    }

    /// The link-layer address of `addr` and the instant until which it is
    /// REACHABLE, when it is REACHABLE at `now`: the forwarding path may
    /// send there without asking [`resolve`](Self::resolve) until then (or
    /// until [`generation`](Self::generation) changes), as NUD has nothing
    /// to do for a REACHABLE entry before its deadline. The entry's
    /// `last_used` is then not refreshed per packet; it is refreshed on
    /// the first packet after the deadline, well before `evict_min_idle`
    /// could make a busy entry an eviction victim.
    pub fn reachable(&self, addr: A, now: Instant) -> Option<(EthernetAddress, Instant)> {
        let e = self.map.get(&addr)?;
        (e.state == NeighborState::Reachable && now < e.deadline).then_some((e.mac, e.deadline))
    }

    /// The forwarding path's question: where does a packet for `addr` go?
    /// See [`Resolution`]; counts a refusal by its reason.
    pub fn resolve(&mut self, addr: A, now: Instant) -> Resolution {
        if let Some(e) = self.map.get_mut(&addr) {
            e.last_used = Some(now);
            return match e.state {
                NeighborState::Incomplete => Resolution::Pending,
                NeighborState::Reachable if now < e.deadline => Resolution::Ready(e.mac),
                // REACHABLE past ReachableTime is STALE, and sending from
                // STALE starts the delay timer.
                NeighborState::Reachable | NeighborState::Stale => {
                    self.core.set_state(e, NeighborState::Delay, now);
                    Resolution::Ready(e.mac)
                }
                NeighborState::Delay | NeighborState::Probe => Resolution::Ready(e.mac),
            };
        }
        if !addr.is_neighbor_unicast() {
            return Resolution::Refused(self.core.refuse(RefuseReason::NotUnicast));
        }
        if self.core.incomplete >= self.core.limits.max_incomplete {
            return Resolution::Refused(self.core.refuse(RefuseReason::IncompleteLimit));
        }
        if self.is_full() && self.core.no_victim_until.is_some_and(|t| now < t) {
            return Resolution::Refused(self.core.refuse(RefuseReason::TableFull));
        }
        if !self.core.bucket.try_take(now) {
            return Resolution::Refused(self.core.refuse(RefuseReason::SolicitRateLimited));
        }
        if !self.make_room(now) {
            return Resolution::Refused(self.core.refuse(RefuseReason::TableFull));
        }
        let deadline = now + self.core.limits.retrans_timer;
        self.map.insert(
            addr,
            Entry {
                state: NeighborState::Incomplete,
                mac: EthernetAddress([0; 6]),
                is_router: false,
                probes: 1,
                deadline,
                updated: now,
                last_used: Some(now),
                queue: PacketList::EMPTY,
            },
        );
        self.core.incomplete += 1;
        self.core.arm(deadline);
        self.core.stats.created += 1;
        self.core.stats.solicits += 1;
        Resolution::Solicit
    }

    /// Queues a packet for an INCOMPLETE entry, replacing its oldest when
    /// it already holds `queue_per_entry_packets` (RFC 4861 §7.2.2).
    pub fn enqueue(&mut self, addr: A, packet: &[u8]) -> Result<Enqueued, QueueError> {
        let result = match self.map.get_mut(&addr) {
            None => Err(QueueError::NoEntry),
            Some(e) if e.state != NeighborState::Incomplete => Err(QueueError::NotPending),
            Some(e) => self.core.pool.push(
                &mut e.queue,
                packet,
                self.core.limits.queue_per_entry_packets,
            ),
        };
        let stats = &mut self.core.stats;
        match result {
            Ok(pushed) => {
                stats.queued += 1;
                if pushed == Pushed::ReplacedOldest {
                    stats.queue_replaced += 1;
                    return Ok(Enqueued::ReplacedOldest);
                }
                Ok(Enqueued::Queued)
            }
            Err(err) => {
                if let Some(c) = stats.queue_dropped.get_mut(err as usize) {
                    *c += 1;
                }
                Err(err)
            }
        }
    }

    /// A neighbor advertisement for `addr` (or an ARP reply, with
    /// [`AdvertFlags::ARP_REPLY`]), by RFC 4861 §7.2.5. `lladdr` is the
    /// target link-layer address option, if any. When it resolves an
    /// INCOMPLETE entry, `release` gets each queued packet with the address
    /// to send it to.
    pub fn on_advertisement<F: FnMut(EthernetAddress, &[u8])>(
        &mut self,
        addr: A,
        lladdr: Option<EthernetAddress>,
        flags: AdvertFlags,
        now: Instant,
        release: F,
    ) -> AdvertOutcome {
        let Some(e) = self.map.get_mut(&addr) else {
            return AdvertOutcome::NoEntry;
        };
        let core = &mut self.core;
        if e.state == NeighborState::Incomplete {
            let Some(mac) = lladdr else {
                return AdvertOutcome::Ignored;
            };
            e.mac = mac;
            e.is_router = flags.is_router;
            core.stats.resolved += 1;
            let state = if flags.solicited {
                NeighborState::Reachable
            } else {
                NeighborState::Stale
            };
            core.set_state(e, state, now);
            core.release(e, now, release);
            return AdvertOutcome::Updated {
                router_cleared: false,
            };
        }
        let differs = lladdr.is_some_and(|m| m != e.mac);
        if differs && !flags.override_ {
            // §7.2.5 I: REACHABLE goes STALE "but do not update the entry in
            // any other way"; otherwise the NA MUST NOT update the cache.
            if e.state == NeighborState::Reachable {
                core.set_state(e, NeighborState::Stale, now);
                return AdvertOutcome::Updated {
                    router_cleared: false,
                };
            }
            return AdvertOutcome::Ignored;
        }
        if let (true, Some(mac)) = (differs, lladdr) {
            e.mac = mac;
        }
        if flags.solicited {
            core.set_state(e, NeighborState::Reachable, now);
        } else if differs {
            core.set_state(e, NeighborState::Stale, now);
        }
        let router_cleared = e.is_router && !flags.is_router;
        e.is_router = flags.is_router;
        if router_cleared {
            core.stats.router_cleared += 1;
        }
        AdvertOutcome::Updated { router_cleared }
    }

    /// A neighbor solicitation from `addr` carrying a source link-layer
    /// address (or an ARP request / gratuitous ARP), by RFC 4861 §7.2.3:
    /// creates a STALE entry, or records a different address and goes
    /// STALE. An INCOMPLETE entry is resolved and `release` gets its queued
    /// packets. The caller never passes the unspecified address (DAD).
    pub fn on_solicitation<F: FnMut(EthernetAddress, &[u8])>(
        &mut self,
        addr: A,
        lladdr: EthernetAddress,
        now: Instant,
        release: F,
    ) -> SolicitOutcome {
        if !addr.is_neighbor_unicast() {
            return SolicitOutcome::Refused(self.core.refuse(RefuseReason::NotUnicast));
        }
        if let Some(e) = self.map.get_mut(&addr) {
            let core = &mut self.core;
            if e.state == NeighborState::Incomplete {
                e.mac = lladdr;
                core.stats.resolved += 1;
                core.set_state(e, NeighborState::Stale, now);
                core.release(e, now, release);
                return SolicitOutcome::Updated;
            }
            if e.mac == lladdr {
                return SolicitOutcome::Unchanged;
            }
            e.mac = lladdr;
            core.set_state(e, NeighborState::Stale, now);
            return SolicitOutcome::Updated;
        }
        if !self.make_room(now) {
            return SolicitOutcome::Refused(self.core.refuse(RefuseReason::TableFull));
        }
        let deadline = now + self.core.limits.stale_timeout;
        self.map.insert(
            addr,
            Entry {
                state: NeighborState::Stale,
                mac: lladdr,
                is_router: false,
                probes: 0,
                deadline,
                updated: now,
                last_used: None,
                queue: PacketList::EMPTY,
            },
        );
        self.core.no_victim_until = None;
        self.core.arm(deadline);
        self.core.stats.created += 1;
        SolicitOutcome::Created
    }

    /// A router solicitation from `addr` (RFC 4861 §6.2.6): learned like a
    /// neighbor solicitation when it carries a source link-layer address,
    /// and either way the sender is not a router (IsRouter cleared).
    pub fn on_router_solicitation<F: FnMut(EthernetAddress, &[u8])>(
        &mut self,
        addr: A,
        lladdr: Option<EthernetAddress>,
        now: Instant,
        release: F,
    ) -> SolicitOutcome {
        let outcome = match lladdr {
            Some(mac) => self.on_solicitation(addr, mac, now, release),
            None => SolicitOutcome::Unchanged,
        };
        if let Some(e) = self.map.get_mut(&addr) {
            if e.is_router {
                e.is_router = false;
                self.core.stats.router_cleared += 1;
            }
        }
        outcome
    }

    /// Upper-layer reachability confirmation (RFC 4861 §7.3.1): a resolved
    /// entry becomes REACHABLE. False when there is no resolved entry.
    pub fn confirm(&mut self, addr: A, now: Instant) -> bool {
        match self.map.get_mut(&addr) {
            Some(e) if e.state != NeighborState::Incomplete => {
                self.core.set_state(e, NeighborState::Reachable, now);
                true
            }
            _ => false,
        }
    }

    /// Deletes an entry, dropping any queued packets. False if absent.
    pub fn remove(&mut self, addr: A) -> bool {
        match self.map.remove(&addr) {
            Some(mut e) => {
                self.core.discard(&mut e);
                true
            }
            None => false,
        }
    }

    /// The earliest instant at which [`on_timer`](Self::on_timer) has work.
    /// May be early (then `on_timer` does nothing), never late.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.core.earliest
    }

    /// Runs every timer due at `now`, handing solicitations to send and
    /// failures to `sink`. Each entry advances one step per call; later
    /// deadlines count from `now`, so a late call does not burst.
    pub fn on_timer<F: FnMut(NeighborEvent<'_, A>)>(&mut self, now: Instant, mut sink: F) {
        self.refresh_reachable_time(now);
        if self.core.earliest.map_or(true, |t| t > now) {
            return;
        }
        let core = &mut self.core;
        let mut earliest = None;
        self.map.retain(|addr, e| {
            let keep = e.deadline > now || core.expire(*addr, e, now, &mut sink);
            if keep {
                earliest = min_instant(earliest, e.deadline);
            }
            keep
        });
        self.core.earliest = earliest;
    }

    fn refresh_reachable_time(&mut self, now: Instant) {
        let core = &mut self.core;
        match core.reachable_refresh_at {
            None => core.reachable_refresh_at = Some(now + REACHABLE_TIME_REFRESH),
            Some(at) if at <= now => {
                core.reachable_time =
                    draw_reachable_time(&mut core.rng, core.limits.base_reachable_time);
                core.reachable_refresh_at = Some(now + REACHABLE_TIME_REFRESH);
            }
            Some(_) => {}
        }
    }

    fn is_full(&self) -> bool {
        self.map.len() >= self.core.limits.max_entries
    }

    /// Makes room for one entry if the table is full, by evicting the least
    /// recently used STALE entry that is idle enough. False if it cannot.
    fn make_room(&mut self, now: Instant) -> bool {
        if !self.is_full() {
            return true;
        }
        if self.core.no_victim_until.is_some_and(|t| now < t) {
            return false;
        }
        let idle = self.core.limits.evict_min_idle;
        let mut victim: Option<(Option<Instant>, A)> = None;
        let mut next_eligible = Instant::from_micros(u64::MAX);
        for (addr, e) in &self.map {
            if e.state != NeighborState::Stale {
                continue;
            }
            let eligible_at = e.last_used.map_or(Instant::ZERO, |t| t + idle);
            if eligible_at > now {
                next_eligible = next_eligible.min(eligible_at);
                continue;
            }
            // `None` (never used) sorts before any instant: evicted first.
            if victim.map_or(true, |(used, _)| e.last_used < used) {
                victim = Some((e.last_used, *addr));
            }
        }
        let Some((_, addr)) = victim else {
            self.core.no_victim_until = Some(next_eligible);
            return false;
        };
        if let Some(mut e) = self.map.remove(&addr) {
            self.core.discard(&mut e);
            self.core.stats.evicted += 1;
        }
        true
    }
}

#[cfg(test)]
mod tests;
