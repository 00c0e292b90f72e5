//! Per-worker router state and the per-frame dispatch.
//!
//! A frame goes L2 → L3 → (local service | transit). Each step reads top to
//! bottom and leaves early with a [`DropReason`]; a frame not yet shown to
//! be good is a drop. Local services (ND, RS → RA, echo, ARP) answer into
//! the [`TxBatch`]. Transit traffic is the forwarding stage's (issue 3).
//!
//! The shared, immutable part lives in [`CompiledConfig`] behind an `Arc`;
//! what changes per packet (counters, timers, rate limiters) lives here and
//! belongs to one worker, so nothing on the path takes a lock.

use std::net::Ipv4Addr;
use std::sync::Arc;

use crate::config::Config;
use crate::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, EthernetRepr, Icmpv4Message,
    Icmpv4Packet, Icmpv4Repr, Icmpv6Message, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv4Packet,
    Ipv4Repr, Ipv6Packet, Ipv6Repr,
};

use super::compiled::{BuildError, CompiledConfig, IfaceConfig, LinkInfo};
use super::emit;
use super::nd;
use super::ra::RaTimer;
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
    pub src_mac: crate::wire::EthernetAddress,
}

/// One worker's router.
#[derive(Debug)]
pub struct Router {
    config: Arc<CompiledConfig>,
    stats: Vec<IfaceStats>,
    ra_timers: Vec<Option<RaTimer>>,
    rng: Rng,
    /// Whether this worker sends the periodic RAs (one worker does).
    owns_timers: bool,
}

impl Router {
    /// A router over a compiled config, its timers starting at `now`.
    pub fn new(config: Arc<CompiledConfig>, now: Instant) -> Router {
        let ra_timers = config
            .ifaces
            .iter()
            .map(|i| i.ra.as_ref().map(|_| RaTimer::new(now)))
            .collect();
        let rng = Rng::from_seed_bytes(config.router_name.as_bytes());
        Router {
            stats: vec![IfaceStats::default(); config.ifaces.len()],
            ra_timers,
            rng,
            owns_timers: true,
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

    /// Whether this worker sends periodic RAs; all but one worker say no.
    pub fn set_owns_timers(&mut self, owns: bool) {
        self.owns_timers = owns;
    }

    /// The compiled config in use.
    pub fn config(&self) -> &Arc<CompiledConfig> {
        &self.config
    }

    /// Counters of one interface.
    pub fn stats(&self, iface: IfaceId) -> Option<&IfaceStats> {
        self.stats.get(usize::from(iface.0))
    }

    /// Counters of every interface, in interface order.
    pub fn all_stats(&self) -> &[IfaceStats] {
        &self.stats
    }

    /// Handles one received frame, appending any answer to `tx`.
    pub fn process(&mut self, ingress: IfaceId, frame: &[u8], now: Instant, tx: &mut TxBatch) {
        let config = Arc::clone(&self.config);
        let Some(iface) = config.iface(ingress) else {
            // No interface to count on: count on the first, if any.
            if let Some(s) = self.stats.first_mut() {
                s.drop(DropReason::UnknownInterface);
            }
            return;
        };
        let first_tx = tx.len();
        if let Some(s) = self.stats.get_mut(usize::from(ingress.0)) {
            s.rx_frames += 1;
            s.rx_bytes += frame.len() as u64;
        }
        if let Err(reason) = self.ethernet_input(&config, iface, frame, now, tx) {
            if let Some(s) = self.stats.get_mut(usize::from(ingress.0)) {
                s.drop(reason);
            }
        }
        self.account_tx(tx, first_tx);
    }

    /// The earliest instant at which `on_timer` has work, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        if !self.owns_timers {
            return None;
        }
        self.ra_timers
            .iter()
            .flatten()
            .map(|t| t.next_multicast)
            .min()
    }

    /// Runs every timer due at `now`: periodic RAs.
    pub fn on_timer(&mut self, now: Instant, tx: &mut TxBatch) {
        if !self.owns_timers {
            return;
        }
        let config = Arc::clone(&self.config);
        let first_tx = tx.len();
        let (min, max) = (config.ra_min_interval(), config.ra_max_interval());
        for iface in &config.ifaces {
            let Some(content) = &iface.ra else { continue };
            let Some(Some(timer)) = self.ra_timers.get_mut(usize::from(iface.id.0)) else {
                continue;
            };
            if timer.next_multicast > now {
                continue;
            }
            emit::router_advert_multicast(tx, iface, content.body());
            timer.sent_multicast(now, min, max, &mut self.rng);
            if let Some(s) = self.stats.get_mut(usize::from(iface.id.0)) {
                s.tx_ra_unsolicited += 1;
            }
        }
        self.account_tx(tx, first_tx);
    }

    /// Says goodbye: a final RA with router lifetime 0 on every advertising
    /// interface (RFC 4861 §6.2.5), so hosts drop the default route at once.
    pub fn shutdown(&mut self, _now: Instant, tx: &mut TxBatch) {
        let config = Arc::clone(&self.config);
        let first_tx = tx.len();
        for iface in &config.ifaces {
            if let Some(content) = &iface.ra {
                let body = content.encode(0);
                emit::router_advert_multicast(tx, iface, &body);
            }
        }
        self.account_tx(tx, first_tx);
    }

    fn account_tx(&mut self, tx: &TxBatch, from: usize) {
        for index in from..tx.len() {
            if let Some((iface, bytes)) = tx.get(index) {
                if let Some(s) = self.stats.get_mut(usize::from(iface.0)) {
                    s.tx_frames += 1;
                    s.tx_bytes += bytes.len() as u64;
                }
            }
        }
    }

    fn iface_stats(&mut self, iface: &IfaceConfig) -> Option<&mut IfaceStats> {
        self.stats.get_mut(usize::from(iface.id.0))
    }

    fn ethernet_input(
        &mut self,
        config: &CompiledConfig,
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
            EtherType::Ipv6 => self.ipv6_input(config, iface, l2, l3, now, tx),
            EtherType::Ipv4 => self.ipv4_input(config, iface, l2, l3, tx),
            EtherType::Arp => self.arp_input(iface, l2, l3, tx),
            _ => Err(DropReason::UnknownEthertype),
        }
    }

    fn ipv6_input(
        &mut self,
        config: &CompiledConfig,
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
        let local = if ip.dst_addr.is_multicast() {
            if !iface.joined(&ip.dst_addr) {
                return Err(DropReason::Ipv6MulticastNotJoined);
            }
            true
        } else {
            config.ifaces.iter().any(|i| i.owns_ipv6(&ip.dst_addr))
        };
        if !local {
            return Err(DropReason::Ipv6NotForwarded);
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
                let owns = self.owns_timers;
                let idx = usize::from(iface.id.0);
                let timer = self.ra_timers.get_mut(idx).and_then(Option::as_mut);
                let stats = self
                    .stats
                    .get_mut(idx)
                    .ok_or(DropReason::UnknownInterface)?;
                nd::input(&ctx, &packet, timer, owns, &mut self.rng, stats, tx)
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
                emit::icmpv6(
                    tx,
                    iface,
                    l2.src_mac,
                    src,
                    ip.src_addr,
                    ORIGINATED_HOP_LIMIT,
                    &reply,
                );
                if let Some(s) = self.iface_stats(iface) {
                    s.tx_echo_reply += 1;
                }
                Ok(())
            }
            _ => Err(DropReason::Icmpv6Ignored),
        }
    }

    fn ipv4_input(
        &mut self,
        config: &CompiledConfig,
        iface: &IfaceConfig,
        l2: L2Info,
        bytes: &[u8],
        tx: &mut TxBatch,
    ) -> Verdict {
        let packet = Ipv4Packet::new_checked(bytes).map_err(|_| DropReason::Ipv4Malformed)?;
        let ip = Ipv4Repr::parse(&packet).map_err(|e| match e {
            crate::wire::ParseError::BadChecksum => DropReason::Ipv4BadChecksum,
            _ => DropReason::Ipv4Malformed,
        })?;
        let local = ip.dst_addr == Ipv4Addr::BROADCAST
            || config.ifaces.iter().any(|i| i.owns_ipv4(&ip.dst_addr));
        if !local {
            return Err(DropReason::Ipv4NotForwarded);
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
                if let Some(s) = self.iface_stats(iface) {
                    s.tx_echo_reply += 1;
                }
                Ok(())
            }
            _ => Err(DropReason::Ipv4LocalUnhandled),
        }
    }

    fn arp_input(
        &mut self,
        iface: &IfaceConfig,
        _l2: L2Info,
        bytes: &[u8],
        tx: &mut TxBatch,
    ) -> Verdict {
        let packet = ArpPacket::new_checked(bytes).map_err(|_| DropReason::ArpMalformed)?;
        let arp = ArpRepr::parse(&packet).map_err(|_| DropReason::ArpMalformed)?;
        match arp.operation {
            ArpOperation::Request => {
                if !iface.owns_ipv4(&arp.target_protocol_addr) {
                    return Err(DropReason::ArpNotForUs);
                }
                let reply = ArpRepr {
                    operation: ArpOperation::Reply,
                    source_hardware_addr: iface.mac,
                    source_protocol_addr: arp.target_protocol_addr,
                    target_hardware_addr: arp.source_hardware_addr,
                    target_protocol_addr: arp.source_protocol_addr,
                };
                emit::arp(tx, iface, arp.source_hardware_addr, &reply);
                if let Some(s) = self.iface_stats(iface) {
                    s.tx_arp_reply += 1;
                }
                Ok(())
            }
            _ => Err(DropReason::ArpConsumed),
        }
    }
}
