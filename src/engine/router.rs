//! Per-worker router state and the per-frame dispatch.
//!
//! A frame goes L2 → L3 → (local service | forwarding). Each step reads top
//! to bottom and leaves early with a [`DropReason`]; a frame not yet shown
//! to be good is a drop. Local services (ND, RS → RA, echo, ARP) answer
//! into the [`TxBatch`]; transit packets go through the forwarding stage
//! (`forward.rs`): route lookup, neighbor resolution, rewrite.
//!
//! The shared, immutable part lives in [`CompiledConfig`] behind an `Arc`
//! (and the FIB behind its own snapshot handle); what changes per packet
//! (counters, timers, neighbor caches, rate limiters) lives in
//! [`WorkerState`] and belongs to one worker, so nothing on the path takes
//! a lock. The two are borrowed apart (`let Router { config, state, .. }`)
//! so the per-packet path touches no reference count.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::config::Config;
use crate::route::Fib;
use crate::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr,
    Icmpv4Message, Icmpv4Packet, Icmpv4Repr, Icmpv6Message, Icmpv6Packet, Icmpv6Repr, IpProtocol,
    Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr,
};

use super::compiled::{BuildError, CompiledConfig, IfaceConfig, LinkInfo};
use super::emit;
use super::forward::{Icmp4Error, Icmp6Error};
use super::nd;
use super::neighbor::{AdvertFlags, NeighborLimits, NeighborTable};
use super::ra::RaTimer;
use super::ratelimit::TokenBucket;
use super::rng::Rng;
use super::stats::{DropReason, IfaceStats};
use super::{IfaceId, Instant, TxBatch};

/// Hop limit / TTL of packets the router originates.
pub const ORIGINATED_HOP_LIMIT: u8 = 64;

/// Where a frame stands after a stage: answered/consumed, or dropped.
pub(crate) type Verdict = Result<(), DropReason>;

/// What a stage needs to know about the frame's link layer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct L2Info {
    pub src_mac: EthernetAddress,
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
    fn new(
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

/// The ICMP error limiter of a config.
fn icmp_limiter(config: &CompiledConfig) -> TokenBucket {
    let icmp = config.icmp_settings;
    TokenBucket::new(icmp.burst, icmp.errors_per_second)
}

/// Everything one worker changes: no other thread touches it.
#[derive(Debug)]
pub(crate) struct WorkerState {
    pub ifaces: Vec<IfaceState>,
    pub rng: Rng,
    /// Whether this worker sends the periodic RAs (one worker does).
    pub owns_timers: bool,
    /// RFC 4443 §2.4(f) / RFC 1812 §4.3.2.8.
    pub icmp_errors: TokenBucket,
    /// Reused buffer for packets on their way into a neighbor queue.
    pub scratch: Vec<u8>,
    /// Whether local services answer (NA, RA, echo, ARP replies). Off
    /// while a worker digests its copy of the ND/ARP traffic another
    /// worker answers: it still learns neighbors from it.
    pub answer_local: bool,
}

/// One worker's router.
#[derive(Debug)]
pub struct Router {
    config: Arc<CompiledConfig>,
    fib: Arc<Fib>,
    state: WorkerState,
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

impl Router {
    /// A router over a compiled config, its timers starting at `now`.
    pub fn new(config: Arc<CompiledConfig>, now: Instant) -> Router {
        let mut rng = Rng::from_seed_bytes(config.router_name.as_bytes());
        let limits = neighbor_limits(&config);
        let ifaces = config
            .ifaces
            .iter()
            .map(|i| IfaceState::new(i, &limits, &mut rng, now))
            .collect();
        let fib = config.fib.load_full();
        Router {
            state: WorkerState {
                ifaces,
                rng,
                owns_timers: true,
                icmp_errors: icmp_limiter(&config),
                scratch: Vec::with_capacity(16 * 1024),
                answer_local: true,
            },
            fib,
            config,
        }
    }

    /// Compiles `config` against `links` and builds a router over it.
    pub fn from_config(
        config: &Config,
        links: &[LinkInfo],
        now: Instant,
    ) -> Result<Router, BuildError> {
        Ok(Router::new(
            Arc::new(CompiledConfig::build(config, links)?),
            now,
        ))
    }

    /// Swaps in a new compiled config (a live `apply`), keeping what the
    /// worker learned on interfaces that stay: counters, neighbor caches.
    /// RA timers restart, so hosts hear the new advertisement within
    /// seconds (the initial fast RAs of RFC 4861 §6.2.4).
    pub fn replace_config(&mut self, config: Arc<CompiledConfig>, now: Instant) {
        let limits = neighbor_limits(&config);
        let mut old: Vec<(String, IfaceState)> = self
            .config
            .ifaces
            .iter()
            .map(|i| i.name.clone())
            .zip(self.state.ifaces.drain(..))
            .collect();
        let mut ifaces = Vec::with_capacity(config.ifaces.len());
        for iface in &config.ifaces {
            let state = match old.iter().position(|(name, _)| *name == iface.name) {
                Some(pos) => {
                    let (_, mut state) = old.swap_remove(pos);
                    state.ra_timer = iface.ra.as_ref().map(|_| RaTimer::new(now));
                    state
                }
                None => IfaceState::new(iface, &limits, &mut self.state.rng, now),
            };
            ifaces.push(state);
        }
        self.state.ifaces = ifaces;
        self.state.icmp_errors = icmp_limiter(&config);
        self.fib = config.fib.load_full();
        self.config = config;
    }

    /// Handles a copy of an ND or ARP frame that another worker answers:
    /// the neighbor caches learn from it (and release what waited for the
    /// neighbor), but nothing is answered.
    pub fn learn(&mut self, ingress: IfaceId, frame: &[u8], now: Instant, tx: &mut TxBatch) {
        self.state.answer_local = false;
        let Router { config, fib, state } = self;
        if let Some(iface) = config.iface(ingress) {
            let first_tx = tx.len();
            let _ = state.ethernet_input(config, fib, iface, frame, now, tx);
            state.account_tx(tx, first_tx);
        }
        self.state.answer_local = true;
    }

    /// Whether this worker sends periodic RAs; all but one worker say no.
    pub fn set_owns_timers(&mut self, owns: bool) {
        self.state.owns_timers = owns;
    }

    /// The compiled config in use.
    pub fn config(&self) -> &Arc<CompiledConfig> {
        &self.config
    }

    /// Picks up the newest FIB snapshot; call once per batch.
    pub fn sync(&mut self) {
        let current = self.config.fib.load();
        if !Arc::ptr_eq(&current, &self.fib) {
            self.fib = Arc::clone(&current);
        }
    }

    /// Counters of one interface.
    pub fn stats(&self, iface: IfaceId) -> Option<&IfaceStats> {
        self.state
            .ifaces
            .get(usize::from(iface.0))
            .map(|s| &s.stats)
    }

    /// Counters of every interface, in interface order.
    pub fn all_stats(&self) -> Vec<IfaceStats> {
        self.state.ifaces.iter().map(|s| s.stats.clone()).collect()
    }

    /// The IPv6 neighbor cache of an interface.
    pub fn neighbors_v6(&self, iface: IfaceId) -> Option<&NeighborTable<Ipv6Addr>> {
        self.state.ifaces.get(usize::from(iface.0)).map(|s| &s.nd6)
    }

    /// The ARP cache of an interface.
    pub fn neighbors_v4(&self, iface: IfaceId) -> Option<&NeighborTable<Ipv4Addr>> {
        self.state.ifaces.get(usize::from(iface.0)).map(|s| &s.arp4)
    }

    /// Handles one received frame, appending any answer to `tx`.
    #[inline]
    pub fn process(&mut self, ingress: IfaceId, frame: &[u8], now: Instant, tx: &mut TxBatch) {
        let Router { config, fib, state } = self;
        let Some(iface) = config.iface(ingress) else {
            // No interface to count on: count on the first, if any.
            if let Some(s) = state.ifaces.first_mut() {
                s.stats.drop(DropReason::UnknownInterface);
            }
            return;
        };
        let first_tx = tx.len();
        if let Some(s) = state.ifaces.get_mut(usize::from(ingress.0)) {
            s.stats.rx_frames += 1;
            s.stats.rx_bytes += frame.len() as u64;
        }
        if let Err(reason) = state.ethernet_input(config, fib, iface, frame, now, tx) {
            state.count_drop(ingress, reason);
        }
        state.account_tx(tx, first_tx);
    }

    /// Counts a frame the I/O layer dropped before the engine saw it
    /// (truncated by the ring, VLAN-tagged by the device).
    pub fn count_rx_drop(&mut self, ingress: IfaceId, reason: DropReason) {
        if let Some(s) = self.state.ifaces.get_mut(usize::from(ingress.0)) {
            s.stats.rx_frames += 1;
            s.stats.drop(reason);
        }
    }

    /// The earliest instant at which `on_timer` has work, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        let s = &self.state;
        let ra = s
            .ifaces
            .iter()
            .filter(|_| s.owns_timers)
            .filter_map(|i| i.ra_timer.as_ref().map(|t| t.next_multicast));
        let neighbors = s
            .ifaces
            .iter()
            .flat_map(|i| [i.nd6.next_deadline(), i.arp4.next_deadline()])
            .flatten();
        ra.chain(neighbors).min()
    }

    /// Runs every timer due at `now`: periodic RAs, neighbor solicitation
    /// retransmissions, probes and failures, cache aging.
    pub fn on_timer(&mut self, now: Instant, tx: &mut TxBatch) {
        let Router { config, state, .. } = self;
        let first_tx = tx.len();
        if state.owns_timers {
            state.ra_timers(config, now, tx);
        }
        state.neighbor_timers(config, now, tx);
        state.account_tx(tx, first_tx);
    }

    /// Says goodbye: a final RA with router lifetime 0 on every advertising
    /// interface (RFC 4861 §6.2.5), so hosts drop the default route at once.
    pub fn shutdown(&mut self, _now: Instant, tx: &mut TxBatch) {
        let Router { config, state, .. } = self;
        let first_tx = tx.len();
        for iface in &config.ifaces {
            if let Some(content) = &iface.ra {
                let body = content.encode(0);
                emit::router_advert_multicast(tx, iface, &body);
            }
        }
        state.account_tx(tx, first_tx);
    }
}

impl WorkerState {
    pub(crate) fn iface_mut(&mut self, id: IfaceId) -> Option<&mut IfaceState> {
        self.ifaces.get_mut(usize::from(id.0))
    }

    pub(crate) fn stats_mut(&mut self, id: IfaceId) -> Option<&mut IfaceStats> {
        self.iface_mut(id).map(|s| &mut s.stats)
    }

    pub(crate) fn count_drop(&mut self, id: IfaceId, reason: DropReason) {
        if let Some(s) = self.stats_mut(id) {
            s.drop(reason);
        }
    }

    fn account_tx(&mut self, tx: &TxBatch, from: usize) {
        for index in from..tx.len() {
            if let Some((iface, bytes)) = tx.get(index) {
                if let Some(s) = self.stats_mut(iface) {
                    s.tx_frames += 1;
                    s.tx_bytes += bytes.len() as u64;
                }
            }
        }
    }

    fn ra_timers(&mut self, config: &CompiledConfig, now: Instant, tx: &mut TxBatch) {
        let (min, max) = (config.ra_min_interval(), config.ra_max_interval());
        for iface in &config.ifaces {
            let Some(content) = &iface.ra else { continue };
            let Some(state) = self.ifaces.get_mut(usize::from(iface.id.0)) else {
                continue;
            };
            let Some(timer) = state.ra_timer.as_mut() else {
                continue;
            };
            if timer.next_multicast > now {
                continue;
            }
            emit::router_advert_multicast(tx, iface, content.body());
            timer.sent_multicast(now, min, max, &mut self.rng);
            state.stats.tx_ra_unsolicited += 1;
        }
    }

    fn ethernet_input(
        &mut self,
        config: &CompiledConfig,
        fib: &Fib,
        iface: &IfaceConfig,
        bytes: &[u8],
        now: Instant,
        tx: &mut TxBatch,
    ) -> Verdict {
        let frame = EthernetFrame::new_checked(bytes).map_err(|_| DropReason::EthernetTruncated)?;
        let eth = EthernetRepr::parse(&frame).map_err(|_| DropReason::EthernetTruncated)?;
        if eth.vlan.is_some() {
            return Err(DropReason::VlanTagged);
        }
        if eth.src_addr.is_multicast() {
            return Err(DropReason::BadSourceMac);
        }
        if eth.src_addr == iface.mac {
            return Err(DropReason::OwnSourceMac);
        }
        if eth.dst_addr != iface.mac && !eth.dst_addr.is_multicast() {
            return Err(DropReason::NotOurMac);
        }
        let l2 = L2Info {
            src_mac: eth.src_addr,
        };
        let l3 = bytes
            .get(eth.header_len()..)
            .ok_or(DropReason::EthernetTruncated)?;
        match eth.ethertype {
            EtherType::Ipv6 => self.ipv6_input(config, fib, iface, l2, l3, now, tx),
            EtherType::Ipv4 => self.ipv4_input(config, fib, iface, l2, l3, now, tx),
            EtherType::Arp => self.arp_input(iface, l3, now, tx),
            _ => Err(DropReason::UnknownEthertype),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn ipv6_input(
        &mut self,
        config: &CompiledConfig,
        fib: &Fib,
        iface: &IfaceConfig,
        l2: L2Info,
        bytes: &[u8],
        now: Instant,
        tx: &mut TxBatch,
    ) -> Verdict {
        let packet = Ipv6Packet::new_checked(bytes).map_err(|_| DropReason::Ipv6Malformed)?;
        let ip = Ipv6Repr::parse(&packet).map_err(|_| DropReason::Ipv6Malformed)?;
        if ip.src_addr.is_multicast() {
            return Err(DropReason::Ipv6SourceMulticast);
        }
        if ip.dst_addr.is_multicast() {
            if !iface.joined(&ip.dst_addr) {
                return Err(DropReason::Ipv6MulticastNotJoined);
            }
        } else if !config.owns_ipv6(&ip.dst_addr) {
            return self.forward_v6(config, fib, iface, l2, &packet, &ip, now, tx);
        }
        let payload = packet.payload();
        let upper = crate::wire::walk_extension_headers(ip.next_header, payload)
            .map_err(|_| DropReason::Ipv6ExtHeaderMalformed)?;
        if upper.fragment.is_some() {
            // The router reassembles nothing addressed to itself.
            return Err(DropReason::Ipv6LocalUnhandled);
        }
        let data = payload
            .get(upper.offset..)
            .ok_or(DropReason::Ipv6ExtHeaderMalformed)?;
        match upper.protocol {
            IpProtocol::Icmpv6 => self.icmpv6_input(iface, l2, &ip, data, now, tx),
            // No UDP service listens here yet (DHCPv6 comes later): a
            // closed port, as traceroute to the router expects (RFC 4443
            // §3.1 code 4); never about multicast (§2.4(e)).
            IpProtocol::Udp if !ip.dst_addr.is_multicast() && self.answer_local => {
                let l3 = packet
                    .as_ref()
                    .get(..packet.total_len())
                    .ok_or(DropReason::Ipv6Malformed)?;
                self.icmp6_error(
                    config,
                    iface,
                    l2.src_mac,
                    l3,
                    &ip,
                    Icmp6Error::PortUnreachable,
                    now,
                    tx,
                );
                Err(DropReason::Ipv6LocalUnhandled)
            }
            _ => Err(DropReason::Ipv6LocalUnhandled),
        }
    }

    fn icmpv6_input(
        &mut self,
        iface: &IfaceConfig,
        l2: L2Info,
        ip: &Ipv6Repr,
        data: &[u8],
        now: Instant,
        tx: &mut TxBatch,
    ) -> Verdict {
        let packet = Icmpv6Packet::new_checked(data).map_err(|_| DropReason::Icmpv6Malformed)?;
        match packet.msg_type() {
            Icmpv6Message::RouterSolicit
            | Icmpv6Message::RouterAdvert
            | Icmpv6Message::NeighborSolicit
            | Icmpv6Message::NeighborAdvert
            | Icmpv6Message::Redirect => {
                if !packet.verify_checksum(&ip.src_addr, &ip.dst_addr) {
                    return Err(DropReason::Icmpv6Malformed);
                }
                let ctx = nd::NdContext {
                    iface,
                    l2,
                    ip_src: ip.src_addr,
                    ip_dst: ip.dst_addr,
                    hop_limit: ip.hop_limit,
                    now,
                };
                nd::input(&ctx, &packet, self, tx)
            }
            Icmpv6Message::EchoRequest => {
                let repr = Icmpv6Repr::parse(&ip.src_addr, &ip.dst_addr, &packet)
                    .map_err(|_| DropReason::Icmpv6Malformed)?;
                let Icmpv6Repr::EchoRequest {
                    ident,
                    seq_no,
                    data,
                } = repr
                else {
                    return Err(DropReason::Icmpv6Malformed);
                };
                let src = if ip.dst_addr.is_multicast() {
                    iface.source_for(&ip.src_addr)
                } else {
                    ip.dst_addr
                };
                let reply = Icmpv6Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                if !self.answer_local {
                    return Ok(());
                }
                emit::icmpv6(
                    tx,
                    iface,
                    l2.src_mac,
                    src,
                    ip.src_addr,
                    ORIGINATED_HOP_LIMIT,
                    &reply,
                );
                if let Some(s) = self.stats_mut(iface.id) {
                    s.tx_echo_reply += 1;
                }
                Ok(())
            }
            _ => Err(DropReason::Icmpv6Ignored),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn ipv4_input(
        &mut self,
        config: &CompiledConfig,
        fib: &Fib,
        iface: &IfaceConfig,
        l2: L2Info,
        bytes: &[u8],
        now: Instant,
        tx: &mut TxBatch,
    ) -> Verdict {
        let packet = Ipv4Packet::new_checked(bytes).map_err(|_| DropReason::Ipv4Malformed)?;
        let ip = Ipv4Repr::parse(&packet).map_err(|e| match e {
            crate::wire::ParseError::BadChecksum => DropReason::Ipv4BadChecksum,
            _ => DropReason::Ipv4Malformed,
        })?;
        let local = ip.dst_addr == Ipv4Addr::BROADCAST || config.owns_ipv4(&ip.dst_addr);
        if !local {
            return self.forward_v4(config, fib, iface, l2, &packet, &ip, now, tx);
        }
        if packet.is_fragment() || ip.dst_addr == Ipv4Addr::BROADCAST {
            return Err(DropReason::Ipv4LocalUnhandled);
        }
        match ip.next_header {
            IpProtocol::Icmp => {
                let icmp = Icmpv4Packet::new_checked(packet.payload())
                    .map_err(|_| DropReason::Icmpv4Malformed)?;
                if icmp.msg_type() != Icmpv4Message::EchoRequest {
                    return Err(DropReason::Icmpv4Ignored);
                }
                let repr = Icmpv4Repr::parse(&icmp).map_err(|_| DropReason::Icmpv4Malformed)?;
                let Icmpv4Repr::EchoRequest {
                    ident,
                    seq_no,
                    data,
                } = repr
                else {
                    return Err(DropReason::Icmpv4Malformed);
                };
                let reply = Icmpv4Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                };
                emit::icmpv4(
                    tx,
                    iface,
                    l2.src_mac,
                    ip.dst_addr,
                    ip.src_addr,
                    ORIGINATED_HOP_LIMIT,
                    &reply,
                );
                if let Some(s) = self.stats_mut(iface.id) {
                    s.tx_echo_reply += 1;
                }
                Ok(())
            }
            IpProtocol::Udp if self.answer_local => {
                let total = usize::from(packet.total_len());
                let l3 = packet
                    .as_ref()
                    .get(..total)
                    .ok_or(DropReason::Ipv4Malformed)?;
                self.icmp4_error(
                    config,
                    iface,
                    l2.src_mac,
                    l3,
                    Icmp4Error::PortUnreachable,
                    now,
                    tx,
                );
                Err(DropReason::Ipv4LocalUnhandled)
            }
            _ => Err(DropReason::Ipv4LocalUnhandled),
        }
    }

    fn arp_input(
        &mut self,
        iface: &IfaceConfig,
        bytes: &[u8],
        now: Instant,
        tx: &mut TxBatch,
    ) -> Verdict {
        let packet = ArpPacket::new_checked(bytes).map_err(|_| DropReason::ArpMalformed)?;
        let arp = ArpRepr::parse(&packet).map_err(|_| DropReason::ArpMalformed)?;
        let sender = arp.source_protocol_addr;
        let for_us = iface.owns_ipv4(&arp.target_protocol_addr);
        // RFC 826 "merge": learn or refresh the sender when it has an
        // address, when the request is for us or the sender is known
        // already, so gratuitous ARP from strangers creates nothing.
        let learn = !sender.is_unspecified()
            && sender != arp.target_protocol_addr
            && (for_us
                || self
                    .iface_mut(iface.id)
                    .is_some_and(|s| s.arp4.get(sender).is_some()));
        let gratuitous_known = arp.is_gratuitous()
            && self
                .iface_mut(iface.id)
                .is_some_and(|s| s.arp4.get(sender).is_some());
        if arp.operation == ArpOperation::Reply && !sender.is_unspecified() {
            self.release_v4(
                iface,
                sender,
                Some(arp.source_hardware_addr),
                Some(AdvertFlags::ARP_REPLY),
                now,
                tx,
            );
        } else if learn || gratuitous_known {
            self.release_v4(iface, sender, Some(arp.source_hardware_addr), None, now, tx);
        }
        match arp.operation {
            ArpOperation::Request if for_us && !self.answer_local => Ok(()),
            ArpOperation::Request if for_us => {
                let reply = ArpRepr {
                    operation: ArpOperation::Reply,
                    source_hardware_addr: iface.mac,
                    source_protocol_addr: arp.target_protocol_addr,
                    target_hardware_addr: arp.source_hardware_addr,
                    target_protocol_addr: arp.source_protocol_addr,
                };
                emit::arp(tx, iface, arp.source_hardware_addr, &reply);
                if let Some(s) = self.stats_mut(iface.id) {
                    s.tx_arp_reply += 1;
                }
                Ok(())
            }
            ArpOperation::Request => Err(DropReason::ArpNotForUs),
            _ => Err(DropReason::ArpConsumed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `[router.neighbor]`'s defaults (config, which sits below the engine)
    /// repeat the neighbor cache's own: they must not drift apart.
    #[test]
    fn config_neighbor_defaults_are_the_caches_defaults() {
        let config: Config =
            Config::from_toml_str("[router]\nname = \"r\"\n").expect("minimal config");
        let compiled = CompiledConfig::build(&config, &[]).expect("compiles");
        assert_eq!(neighbor_limits(&compiled), NeighborLimits::default());
    }
}
