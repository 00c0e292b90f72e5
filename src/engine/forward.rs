//! The forwarding stage: route lookup, neighbor resolution, rewrite; and
//! the ICMP errors forwarding owes its senders.
//!
//! IPv6 (RFC 8200, RFC 4443): hop limit decremented by exactly one; Time
//! Exceeded at hop limit ≤ 1, Destination Unreachable (no route, code 0;
//! address unreachable, code 3, when resolution fails), Packet Too Big with
//! the egress MTU. Link-local and unspecified sources, link-local and
//! multicast destinations are never forwarded. No NAT.
//!
//! IPv4 (RFC 1812): TTL decremented by one with the header checksum
//! updated incrementally (RFC 1624); Time Exceeded, Net Unreachable, Host
//! Unreachable, Fragmentation Needed with the next-hop MTU for DF packets;
//! other packets larger than the egress MTU are fragmented (RFC 791).
//!
//! ICMP errors go back out of the ingress interface to the frame's source
//! MAC (the previous hop), from the router's address on that interface.
//! They are rate limited by one token bucket per worker and never sent
//! about an ICMP error, a multicast or broadcast destination, a non-first
//! fragment, or a source that does not name one host (RFC 4443 §2.4(e),
//! RFC 1812 §4.3.2.7).
//!
//! Packets that wait for neighbor resolution are queued inside the
//! neighbor cache already rewritten (hop limit / TTL decremented), behind
//! an 8-byte note of their ingress interface and previous hop, so that a
//! failed resolution can still answer each with an ICMP error.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::route::Fib;
use crate::wire::{
    icmpv6, solicited_node, ArpOperation, ArpRepr, EtherType, EthernetAddress,
    Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, Icmpv4TimeExceeded, Icmpv6DstUnreachable,
    Icmpv6Message, Icmpv6Repr, Icmpv6TimeExceeded, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet,
    Ipv6Repr, NdiscOption, NdiscOptions, NdiscRepr,
};

use super::compiled::{is_link_local, CompiledConfig, IfaceConfig};
use super::emit;
use super::neighbor::{
    AdvertFlags, NeighborAddr, NeighborEvent, NeighborTable, RefuseReason, Resolution,
};
use super::router::{L2Info, Verdict, WorkerState, ORIGINATED_HOP_LIMIT};
use super::stats::DropReason;
use super::{IfaceId, Instant, TxBatch};

const ETH_LEN: usize = crate::wire::ethernet::HEADER_LEN;
/// The note in front of a queued packet: ingress interface (2 bytes) and
/// the previous hop's MAC (6 bytes).
const NOTE_LEN: usize = 8;
/// RFC 1812 §4.3.2.3: an ICMPv4 error carries as much of the datagram as
/// fits in 576 bytes.
const ICMPV4_ERROR_MAX: usize = 576 - 20 - 8;

/// Which ICMPv6 error to send.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Icmp6Error {
    PortUnreachable,
    HopLimit,
    NoRoute,
    AddressUnreachable,
    PacketTooBig(u32),
}

/// Which ICMPv4 error to send.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Icmp4Error {
    PortUnreachable,
    Ttl,
    NetUnreachable,
    HostUnreachable,
    FragNeeded(u16),
}

fn refused(reason: RefuseReason) -> DropReason {
    match reason {
        RefuseReason::NotUnicast => DropReason::NeighborNotUnicast,
        RefuseReason::IncompleteLimit => DropReason::NeighborIncompleteLimit,
        RefuseReason::SolicitRateLimited => DropReason::NeighborSolicitRateLimited,
        RefuseReason::TableFull => DropReason::NeighborTableFull,
    }
}

/// 0/8, 127/8, 169.254/16, multicast, broadcast: never a forwardable source.
fn ipv4_bad_source(a: &Ipv4Addr) -> bool {
    let o = a.octets();
    o[0] == 0 || o[0] == 127 || a.is_link_local() || a.is_multicast() || a.is_broadcast()
}

/// 0/8, 127/8, 169.254/16, multicast, broadcast: never forwarded to.
fn ipv4_bad_dest(a: &Ipv4Addr) -> bool {
    ipv4_bad_source(a)
}

/// Emits an L3 packet to `mac` on `egress` and returns the copy in the
/// TX batch (for the caller's in-place rewrite).
#[inline]
fn send_l3<'t>(
    tx: &'t mut TxBatch,
    egress: &IfaceConfig,
    mac: EthernetAddress,
    ethertype: EtherType,
    l3: &[u8],
) -> &'t mut [u8] {
    let buf = tx.push(egress.id, ETH_LEN + l3.len());
    let (eth, rest) = buf.split_at_mut(ETH_LEN);
    emit::ethernet(eth, mac, egress.mac, ethertype);
    rest.copy_from_slice(l3);
    rest
}

/// Fills `scratch` with the queue note (ingress interface, previous hop)
/// followed by `l3`, and returns the L3 part for the caller's rewrite.
fn with_note<'s>(
    scratch: &'s mut Vec<u8>,
    ingress: IfaceId,
    prev_hop: EthernetAddress,
    l3: &[u8],
) -> &'s mut [u8] {
    scratch.clear();
    scratch.extend_from_slice(&ingress.0.to_be_bytes());
    scratch.extend_from_slice(&prev_hop.0);
    scratch.extend_from_slice(l3);
    scratch.get_mut(NOTE_LEN..).unwrap_or_default()
}

impl WorkerState {
    /// Forwards a transit IPv6 packet.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn forward_v6(
        &mut self,
        config: &CompiledConfig,
        fib: &Fib,
        ingress: &IfaceConfig,
        l2: L2Info,
        packet: &Ipv6Packet<&[u8]>,
        ip: &Ipv6Repr,
        now: Instant,
        tx: &mut TxBatch,
    ) -> Verdict {
        if ip.src_addr.is_unspecified() || is_link_local(&ip.src_addr) {
            return Err(DropReason::Ipv6SourceNotForwardable);
        }
        if is_link_local(&ip.dst_addr) || ip.dst_addr.is_multicast() {
            return Err(DropReason::Ipv6DestNotForwardable);
        }
        let l3 = packet
            .as_ref()
            .get(..packet.total_len())
            .ok_or(DropReason::Ipv6Malformed)?;
        if ip.hop_limit <= 1 {
            self.icmp6_error(
                config,
                ingress,
                l2.src_mac,
                l3,
                ip,
                Icmp6Error::HopLimit,
                now,
                tx,
            );
            return Err(DropReason::HopLimitExceeded);
        }
        let Some(route) = fib.lookup_v6(ip.dst_addr) else {
            self.icmp6_error(
                config,
                ingress,
                l2.src_mac,
                l3,
                ip,
                Icmp6Error::NoRoute,
                now,
                tx,
            );
            return Err(DropReason::Ipv6NoRoute);
        };
        let egress = config
            .iface(route.iface)
            .ok_or(DropReason::UnknownInterface)?;
        if l3.len() > egress.mtu as usize {
            self.icmp6_error(
                config,
                ingress,
                l2.src_mac,
                l3,
                ip,
                Icmp6Error::PacketTooBig(egress.mtu),
                now,
                tx,
            );
            return Err(DropReason::Ipv6PacketTooBig);
        }
        let next_hop = match route.gateway {
            None => ip.dst_addr,
            Some(IpAddr::V6(gw)) => gw,
            Some(IpAddr::V4(_)) => return Err(DropReason::NextHopFamilyMismatch),
        };
        let state = self
            .ifaces
            .get_mut(usize::from(egress.id.0))
            .ok_or(DropReason::UnknownInterface)?;
        match state.nd6.resolve(next_hop, now) {
            Resolution::Ready(mac) => {
                let sent = send_l3(tx, egress, mac, EtherType::Ipv6, l3);
                Ipv6Packet::new_unchecked(sent).set_hop_limit(ip.hop_limit - 1);
                state.stats.tx_forwarded += 1;
                Ok(())
            }
            Resolution::Refused(reason) => Err(refused(reason)),
            resolution => {
                if matches!(resolution, Resolution::Solicit) {
                    emit_ns(tx, egress, next_hop, None);
                    state.stats.tx_solicit += 1;
                }
                let queued = with_note(&mut self.scratch, ingress.id, l2.src_mac, l3);
                Ipv6Packet::new_unchecked(queued).set_hop_limit(ip.hop_limit - 1);
                let state = self
                    .ifaces
                    .get_mut(usize::from(egress.id.0))
                    .ok_or(DropReason::UnknownInterface)?;
                state
                    .nd6
                    .enqueue(next_hop, &self.scratch)
                    .map(|_| ())
                    .map_err(|_| DropReason::NeighborQueueFull)
            }
        }
    }

    /// Forwards a transit IPv4 packet.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn forward_v4(
        &mut self,
        config: &CompiledConfig,
        fib: &Fib,
        ingress: &IfaceConfig,
        l2: L2Info,
        packet: &Ipv4Packet<&[u8]>,
        ip: &Ipv4Repr,
        now: Instant,
        tx: &mut TxBatch,
    ) -> Verdict {
        if ipv4_bad_source(&ip.src_addr) {
            return Err(DropReason::Ipv4SourceNotForwardable);
        }
        if ipv4_bad_dest(&ip.dst_addr) || config.is_ipv4_subnet_broadcast(&ip.dst_addr) {
            return Err(DropReason::Ipv4DestNotForwardable);
        }
        let total = usize::from(packet.total_len());
        let l3 = packet
            .as_ref()
            .get(..total)
            .ok_or(DropReason::Ipv4Malformed)?;
        if ip.hop_limit <= 1 {
            self.icmp4_error(config, ingress, l2.src_mac, l3, Icmp4Error::Ttl, now, tx);
            return Err(DropReason::TtlExceeded);
        }
        let Some(route) = fib.lookup_v4(ip.dst_addr) else {
            self.icmp4_error(
                config,
                ingress,
                l2.src_mac,
                l3,
                Icmp4Error::NetUnreachable,
                now,
                tx,
            );
            return Err(DropReason::Ipv4NoRoute);
        };
        let egress = config
            .iface(route.iface)
            .ok_or(DropReason::UnknownInterface)?;
        let mtu = egress.mtu as usize;
        if total > mtu && packet.dont_frag() {
            let mtu16 = u16::try_from(mtu).unwrap_or(u16::MAX);
            self.icmp4_error(
                config,
                ingress,
                l2.src_mac,
                l3,
                Icmp4Error::FragNeeded(mtu16),
                now,
                tx,
            );
            return Err(DropReason::Ipv4FragNeeded);
        }
        let next_hop = match route.gateway {
            None => ip.dst_addr,
            Some(IpAddr::V4(gw)) => gw,
            Some(IpAddr::V6(_)) => return Err(DropReason::NextHopFamilyMismatch),
        };
        // The rewritten packet, in scratch behind the queue note.
        let queued = with_note(&mut self.scratch, ingress.id, l2.src_mac, l3);
        Ipv4Packet::new_unchecked(queued).decrement_ttl();
        let state = self
            .ifaces
            .get_mut(usize::from(egress.id.0))
            .ok_or(DropReason::UnknownInterface)?;
        match state.arp4.resolve(next_hop, now) {
            Resolution::Ready(mac) => {
                let rewritten = &self.scratch[NOTE_LEN..];
                if rewritten.len() > mtu {
                    let n = fragment_v4(tx, egress, mac, rewritten, mtu)?;
                    state.stats.tx_fragments += n as u64;
                    state.stats.tx_forwarded += n as u64;
                } else {
                    send_l3(tx, egress, mac, EtherType::Ipv4, rewritten);
                    state.stats.tx_forwarded += 1;
                }
                Ok(())
            }
            Resolution::Refused(reason) => Err(refused(reason)),
            resolution => {
                if matches!(resolution, Resolution::Solicit) {
                    emit_arp_request(tx, egress, next_hop, None);
                    state.stats.tx_solicit += 1;
                }
                state
                    .arp4
                    .enqueue(next_hop, &self.scratch)
                    .map(|_| ())
                    .map_err(|_| DropReason::NeighborQueueFull)
            }
        }
    }

    /// An NA (or NS/RS with a source link-layer address when `flags` is
    /// `None`) updates the IPv6 neighbor cache; packets waiting for `addr`
    /// go out now.
    pub(crate) fn release_v6(
        &mut self,
        iface: &IfaceConfig,
        addr: Ipv6Addr,
        lladdr: Option<EthernetAddress>,
        flags: Option<AdvertFlags>,
        now: Instant,
        tx: &mut TxBatch,
    ) {
        let Some(state) = self.ifaces.get_mut(usize::from(iface.id.0)) else {
            return;
        };
        let sent = update_neighbor(&mut state.nd6, addr, lladdr, flags, now, |mac, l3| {
            send_l3(tx, iface, mac, EtherType::Ipv6, l3);
            1
        });
        state.stats.tx_forwarded += sent;
    }

    /// The ARP counterpart of [`WorkerState::release_v6`]; queued packets
    /// larger than the MTU are fragmented on the way out.
    pub(crate) fn release_v4(
        &mut self,
        iface: &IfaceConfig,
        addr: Ipv4Addr,
        lladdr: Option<EthernetAddress>,
        flags: Option<AdvertFlags>,
        now: Instant,
        tx: &mut TxBatch,
    ) {
        let Some(state) = self.ifaces.get_mut(usize::from(iface.id.0)) else {
            return;
        };
        let mtu = iface.mtu as usize;
        let sent = update_neighbor(&mut state.arp4, addr, lladdr, flags, now, |mac, l3| {
            if l3.len() > mtu {
                fragment_v4(tx, iface, mac, l3, mtu).unwrap_or(0) as u64
            } else {
                send_l3(tx, iface, mac, EtherType::Ipv4, l3);
                1
            }
        });
        state.stats.tx_forwarded += sent;
    }

    /// Neighbor timers of every interface: retransmissions, probes,
    /// failures (each queued packet answered with an ICMP error).
    pub(crate) fn neighbor_timers(
        &mut self,
        config: &CompiledConfig,
        now: Instant,
        tx: &mut TxBatch,
    ) {
        for iface in &config.ifaces {
            let idx = usize::from(iface.id.0);
            // Failed packets are collected first (the table lends them only
            // inside the callback) and answered after, when `self` is free.
            let mut failed_v6: Vec<u8> = Vec::new();
            let mut failed_v4: Vec<u8> = Vec::new();
            let Some(state) = self.ifaces.get_mut(idx) else {
                continue;
            };
            let mut solicits = 0u64;
            let mut dropped = 0u64;
            state.nd6.on_timer(now, |event| match event {
                NeighborEvent::Solicit { addr, unicast_to } => {
                    emit_ns(tx, iface, addr, unicast_to);
                    solicits += 1;
                }
                NeighborEvent::Unreachable { packets, .. } => {
                    packets.for_each(|p| {
                        dropped += 1;
                        push_record(&mut failed_v6, p);
                    });
                }
                NeighborEvent::ProbeFailed { .. } => {}
            });
            state.arp4.on_timer(now, |event| match event {
                NeighborEvent::Solicit { addr, unicast_to } => {
                    emit_arp_request(tx, iface, addr, unicast_to);
                    solicits += 1;
                }
                NeighborEvent::Unreachable { packets, .. } => {
                    packets.for_each(|p| {
                        dropped += 1;
                        push_record(&mut failed_v4, p);
                    });
                }
                NeighborEvent::ProbeFailed { .. } => {}
            });
            state.stats.tx_solicit += solicits;
            for _ in 0..dropped {
                state.stats.drop(DropReason::NeighborUnreachable);
            }
            for queued in records(&failed_v6) {
                self.unreachable_v6(config, queued, now, tx);
            }
            for queued in records(&failed_v4) {
                self.unreachable_v4(config, queued, now, tx);
            }
        }
    }

    /// Answers a queued IPv6 packet whose next hop never resolved.
    fn unreachable_v6(
        &mut self,
        config: &CompiledConfig,
        queued: &[u8],
        now: Instant,
        tx: &mut TxBatch,
    ) {
        let Some((ingress, prev_hop, l3)) = split_note(config, queued) else {
            return;
        };
        let Ok(packet) = Ipv6Packet::new_checked(l3) else {
            return;
        };
        let Ok(ip) = Ipv6Repr::parse(&packet) else {
            return;
        };
        // The queued copy had its hop limit decremented; the error quotes
        // the packet as received.
        let mut original = l3.to_vec();
        Ipv6Packet::new_unchecked(&mut original[..]).set_hop_limit(ip.hop_limit.saturating_add(1));
        let ip = Ipv6Repr {
            hop_limit: ip.hop_limit.saturating_add(1),
            ..ip
        };
        self.icmp6_error(
            config,
            ingress,
            prev_hop,
            &original,
            &ip,
            Icmp6Error::AddressUnreachable,
            now,
            tx,
        );
    }

    /// Answers a queued IPv4 packet whose next hop never resolved.
    fn unreachable_v4(
        &mut self,
        config: &CompiledConfig,
        queued: &[u8],
        now: Instant,
        tx: &mut TxBatch,
    ) {
        let Some((ingress, prev_hop, l3)) = split_note(config, queued) else {
            return;
        };
        self.icmp4_error(
            config,
            ingress,
            prev_hop,
            l3,
            Icmp4Error::HostUnreachable,
            now,
            tx,
        );
    }

    /// Sends an ICMPv6 error about `invoking` (the whole packet as
    /// received) back to its source, if RFC 4443 §2.4 allows and the rate
    /// limit has a token.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn icmp6_error(
        &mut self,
        config: &CompiledConfig,
        ingress: &IfaceConfig,
        prev_hop: EthernetAddress,
        invoking: &[u8],
        ip: &Ipv6Repr,
        kind: Icmp6Error,
        now: Instant,
        tx: &mut TxBatch,
    ) {
        // §2.4(e): not to a source that names no single node; not about a
        // multicast destination (PTB would be allowed, but the router
        // forwards no multicast).
        if ip.src_addr.is_unspecified() || ip.src_addr.is_multicast() || ip.dst_addr.is_multicast()
        {
            return;
        }
        // §2.4(e.1): never about an ICMPv6 error message.
        if is_icmpv6_error(ip, invoking) {
            return;
        }
        let Some(state) = self.ifaces.get_mut(usize::from(ingress.id.0)) else {
            return;
        };
        if !self.icmp_errors.try_take(now) {
            state.stats.icmp_error_rate_limited += 1;
            return;
        }
        let data = icmpv6::truncate_invoking(invoking);
        let repr = match kind {
            Icmp6Error::PortUnreachable => Icmpv6Repr::DstUnreachable {
                reason: Icmpv6DstUnreachable::PortUnreachable,
                data,
            },
            Icmp6Error::HopLimit => Icmpv6Repr::TimeExceeded {
                reason: Icmpv6TimeExceeded::HopLimitExceeded,
                data,
            },
            Icmp6Error::NoRoute => Icmpv6Repr::DstUnreachable {
                reason: Icmpv6DstUnreachable::NoRoute,
                data,
            },
            Icmp6Error::AddressUnreachable => Icmpv6Repr::DstUnreachable {
                reason: Icmpv6DstUnreachable::AddrUnreachable,
                data,
            },
            Icmp6Error::PacketTooBig(mtu) => Icmpv6Repr::PktTooBig { mtu, data },
        };
        let src = config.error_source_v6(ingress, &ip.src_addr);
        emit::icmpv6(
            tx,
            ingress,
            prev_hop,
            src,
            ip.src_addr,
            ORIGINATED_HOP_LIMIT,
            &repr,
        );
        state.stats.tx_icmp_error += 1;
    }

    /// Sends an ICMPv4 error about `invoking` back to its source, if RFC
    /// 1812 §4.3.2.7 allows and the rate limit has a token.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn icmp4_error(
        &mut self,
        config: &CompiledConfig,
        ingress: &IfaceConfig,
        prev_hop: EthernetAddress,
        invoking: &[u8],
        kind: Icmp4Error,
        now: Instant,
        tx: &mut TxBatch,
    ) {
        let Ok(packet) = Ipv4Packet::new_checked(invoking) else {
            return;
        };
        let (src, dst) = (packet.src_addr(), packet.dst_addr());
        if ipv4_bad_source(&src) || dst.is_multicast() || dst.is_broadcast() {
            return;
        }
        if packet.frag_offset() != 0 {
            return;
        }
        if packet.protocol() == IpProtocol::Icmp {
            let is_error = Icmpv4Packet::new_checked(packet.payload())
                .map(|p| p.msg_type().is_error())
                .unwrap_or(true);
            if is_error {
                return;
            }
        }
        let Some(router_src) = config.error_source_v4(ingress, &src) else {
            return;
        };
        let Some(state) = self.ifaces.get_mut(usize::from(ingress.id.0)) else {
            return;
        };
        if !self.icmp_errors.try_take(now) {
            state.stats.icmp_error_rate_limited += 1;
            return;
        }
        let data = invoking
            .get(..invoking.len().min(ICMPV4_ERROR_MAX))
            .unwrap_or(invoking);
        let repr = match kind {
            Icmp4Error::PortUnreachable => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::PortUnreachable,
                next_hop_mtu: 0,
                data,
            },
            Icmp4Error::Ttl => Icmpv4Repr::TimeExceeded {
                reason: Icmpv4TimeExceeded::TtlExpired,
                data,
            },
            Icmp4Error::NetUnreachable => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::NetUnreachable,
                next_hop_mtu: 0,
                data,
            },
            Icmp4Error::HostUnreachable => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::HostUnreachable,
                next_hop_mtu: 0,
                data,
            },
            Icmp4Error::FragNeeded(mtu) => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::FragRequired,
                next_hop_mtu: mtu,
                data,
            },
        };
        emit::icmpv4(
            tx,
            ingress,
            prev_hop,
            router_src,
            src,
            ORIGINATED_HOP_LIMIT,
            &repr,
        );
        state.stats.tx_icmp_error += 1;
    }
}

/// Feeds an advertisement (`flags` given) or a solicitation (a link-layer
/// address without flags) to a neighbor table; each queued packet it
/// releases goes to `send` without its note. Returns the frames sent.
fn update_neighbor<A: NeighborAddr>(
    table: &mut NeighborTable<A>,
    addr: A,
    lladdr: Option<EthernetAddress>,
    flags: Option<AdvertFlags>,
    now: Instant,
    mut send: impl FnMut(EthernetAddress, &[u8]) -> u64,
) -> u64 {
    let mut sent = 0u64;
    let mut release = |mac: EthernetAddress, queued: &[u8]| {
        if let Some(l3) = queued.get(NOTE_LEN..) {
            sent += send(mac, l3);
        }
    };
    match (flags, lladdr) {
        (Some(f), _) => {
            table.on_advertisement(addr, lladdr, f, now, &mut release);
        }
        (None, Some(mac)) => {
            table.on_solicitation(addr, mac, now, &mut release);
        }
        (None, None) => {}
    }
    sent
}

/// Whether the invoking packet is itself an ICMPv6 error (type < 128).
fn is_icmpv6_error(ip: &Ipv6Repr, invoking: &[u8]) -> bool {
    let Some(payload) = invoking.get(crate::wire::ipv6::HEADER_LEN..) else {
        return true;
    };
    match crate::wire::walk_extension_headers(ip.next_header, payload) {
        Ok(upper) if upper.protocol == IpProtocol::Icmpv6 && !upper.is_non_first_fragment() => {
            payload
                .get(upper.offset)
                .map_or(true, |t| Icmpv6Message::from(*t).is_error())
        }
        Ok(_) => false,
        // Unparseable: err on the side of silence.
        Err(_) => true,
    }
}

/// Splits a queued packet's note from it.
fn split_note<'c, 'q>(
    config: &'c CompiledConfig,
    queued: &'q [u8],
) -> Option<(&'c IfaceConfig, EthernetAddress, &'q [u8])> {
    let id = u16::from_be_bytes([*queued.first()?, *queued.get(1)?]);
    let mac = EthernetAddress::from_bytes(queued.get(2..NOTE_LEN)?)?;
    let ingress = config.iface(IfaceId(id))?;
    Some((ingress, mac, queued.get(NOTE_LEN..)?))
}

/// Appends a length-prefixed record (failed packets, off the fast path).
fn push_record(buf: &mut Vec<u8>, record: &[u8]) {
    buf.extend_from_slice(&(record.len() as u32).to_be_bytes());
    buf.extend_from_slice(record);
}

/// Iterates the records of [`push_record`].
fn records(mut buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    core::iter::from_fn(move || {
        let len = u32::from_be_bytes(buf.get(..4)?.try_into().ok()?) as usize;
        let record = buf.get(4..4 + len)?;
        buf = buf.get(4 + len..)?;
        Some(record)
    })
}

/// A neighbor solicitation for `target` on `iface`: multicast to its
/// solicited-node group, or a unicast probe to `unicast_to`.
pub(crate) fn emit_ns(
    tx: &mut TxBatch,
    iface: &IfaceConfig,
    target: Ipv6Addr,
    unicast_to: Option<EthernetAddress>,
) {
    let (dst, dst_mac) = match unicast_to {
        Some(mac) => (target, mac),
        None => {
            let group = solicited_node(&target);
            (group, EthernetAddress::from_ipv6_multicast(&group))
        }
    };
    let slla = [NdiscOption::SourceLinkLayerAddr(iface.mac)];
    let ns = NdiscRepr::NeighborSolicit {
        target_addr: target,
        options: NdiscOptions::List(&slla),
    };
    emit::ndisc(tx, iface, dst_mac, iface.source_for(&target), dst, &ns);
}

/// An ARP request for `target` on `iface`: broadcast, or a unicast probe.
pub(crate) fn emit_arp_request(
    tx: &mut TxBatch,
    iface: &IfaceConfig,
    target: Ipv4Addr,
    unicast_to: Option<EthernetAddress>,
) {
    let Some(src) = iface.source_for_v4(&target) else {
        return;
    };
    let request = ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: iface.mac,
        source_protocol_addr: src,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    };
    emit::arp(
        tx,
        iface,
        unicast_to.unwrap_or(EthernetAddress::BROADCAST),
        &request,
    );
}

/// Splits `packet` (an IPv4 packet, TTL already decremented) into fragments
/// of at most `mtu` bytes (RFC 791 §3.2): the payload in multiples of 8
/// octets, options without the copy flag only in the first fragment.
/// Returns how many fragments went out.
pub(crate) fn fragment_v4(
    tx: &mut TxBatch,
    egress: &IfaceConfig,
    mac: EthernetAddress,
    packet: &[u8],
    mtu: usize,
) -> Result<usize, DropReason> {
    let view = Ipv4Packet::new_checked(packet).map_err(|_| DropReason::Ipv4Malformed)?;
    let header_len = view.header_len();
    let header = packet.get(..header_len).ok_or(DropReason::Ipv4Malformed)?;
    let payload = view.payload();
    let base_offset = usize::from(view.frag_offset());
    let more_after = view.more_frags();
    // Options of later fragments: only those with the copy flag (RFC 791).
    let mut later_options = [0u8; 40];
    let mut later_len = 0;
    let mut opts = header.get(20..).unwrap_or(&[]);
    while let Some(&kind) = opts.first() {
        let len = match kind {
            0 => break,
            1 => 1,
            _ => usize::from(*opts.get(1).unwrap_or(&0)).max(2),
        };
        let Some(option) = opts.get(..len) else { break };
        if kind & 0x80 != 0 {
            if let Some(dst) = later_options.get_mut(later_len..later_len + len) {
                dst.copy_from_slice(option);
                later_len += len;
            }
        }
        opts = opts.get(len..).unwrap_or(&[]);
    }
    let later_header_len = 20 + later_len.div_ceil(4) * 4;
    let mut offset = 0;
    let mut count = 0;
    while offset < payload.len() {
        let hl = if offset == 0 {
            header_len
        } else {
            later_header_len
        };
        let room = mtu.saturating_sub(hl) & !7;
        if room == 0 {
            return Err(DropReason::Ipv4FragNeeded);
        }
        let chunk = room.min(payload.len() - offset);
        let last = offset + chunk == payload.len();
        let total = hl + chunk;
        let buf = tx.push(egress.id, ETH_LEN + total);
        let (eth, rest) = buf.split_at_mut(ETH_LEN);
        emit::ethernet(eth, mac, egress.mac, EtherType::Ipv4);
        if offset == 0 {
            rest[..header_len].copy_from_slice(header);
        } else {
            rest[..20].copy_from_slice(&header[..20]);
            rest[20..20 + later_len].copy_from_slice(&later_options[..later_len]);
            // Pad with End of Option List to a 4-octet boundary.
            rest[20 + later_len..hl].fill(0);
        }
        rest[hl..].copy_from_slice(&payload[offset..offset + chunk]);
        let mut frag = Ipv4Packet::new_unchecked(&mut rest[..]);
        frag.set_header_len(hl);
        frag.set_total_len(total as u16);
        frag.set_more_frags(!last || more_after);
        frag.set_frag_offset((base_offset + offset) as u16);
        frag.fill_checksum();
        offset += chunk;
        count += 1;
    }
    Ok(count)
}
