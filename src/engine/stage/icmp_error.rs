//! The ICMP error stage: the errors forwarding and local delivery owe
//! their senders.
//!
//! Errors go back out of the ingress interface to the frame's source MAC
//! (the previous hop), from the router's address on that interface. They
//! are rate limited by one token bucket per worker and never sent about an
//! ICMP error, a multicast or broadcast destination, a non-first fragment,
//! or a source that does not name one host (RFC 4443 §2.4(e), RFC 1812
//! §4.3.2.7). The invoking packet is quoted as received.

use crate::base::Instant;
use crate::wire::{
    icmpv6, EthernetAddress, Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, Icmpv4TimeExceeded,
    Icmpv6DstUnreachable, Icmpv6Message, Icmpv6Repr, Icmpv6TimeExceeded, IpProtocol, Ipv4Packet,
    Ipv6Packet,
};

use super::super::compiled::{CompiledConfig, IfaceConfig};
use super::super::emit;
use super::super::next::{Icmp4Error, Icmp6Error, IcmpError};
use super::super::state::WorkerState;
use super::super::TxBatch;
use super::lookup::ipv4_martian;

/// Hop limit / TTL of packets the router originates.
pub const ORIGINATED_HOP_LIMIT: u8 = 64;

/// RFC 1812 §4.3.2.3: an ICMPv4 error carries as much of the datagram as
/// fits in 576 bytes.
const ICMPV4_ERROR_MAX: usize = 576 - 20 - 8;

/// Where an error goes and when: back out of the ingress interface to
/// the previous hop.
struct Back<'a> {
    config: &'a CompiledConfig,
    ingress: &'a IfaceConfig,
    prev_hop: EthernetAddress,
    now: Instant,
}

/// Sends `error` about `invoking` (the L3 packet as received), if the RFCs
/// allow and the rate limit has a token.
#[allow(clippy::too_many_arguments)]
pub(crate) fn send(
    state: &mut WorkerState,
    config: &CompiledConfig,
    ingress: &IfaceConfig,
    prev_hop: EthernetAddress,
    invoking: &[u8],
    error: IcmpError,
    now: Instant,
    tx: &mut TxBatch,
) {
    let back = Back {
        config,
        ingress,
        prev_hop,
        now,
    };
    let sent = match error {
        IcmpError::V6(kind) => send_v6(state, &back, invoking, kind, tx),
        IcmpError::V4(kind) => send_v4(state, &back, invoking, kind, tx),
    };
    if sent {
        if let Some(s) = state.stats_mut(ingress.id) {
            s.tx_icmp_error += 1;
        }
    }
}

/// Takes a token from the worker's ICMP error limiter; a refusal is
/// counted on the ingress interface.
fn rate_allows(state: &mut WorkerState, back: &Back<'_>) -> bool {
    if state.icmp_errors.try_take(back.now) {
        return true;
    }
    if let Some(s) = state.stats_mut(back.ingress.id) {
        s.icmp_error_rate_limited += 1;
    }
    false
}

fn send_v6(
    state: &mut WorkerState,
    back: &Back<'_>,
    invoking: &[u8],
    kind: Icmp6Error,
    tx: &mut TxBatch,
) -> bool {
    let Ok(packet) = Ipv6Packet::new_checked(invoking) else {
        return false;
    };
    let (src, dst) = (packet.src_addr(), packet.dst_addr());
    // §2.4(e): not to a source that names no single node; not about a
    // multicast destination (PTB would be allowed, but the router
    // forwards no multicast).
    if src.is_unspecified() || src.is_multicast() || dst.is_multicast() {
        return false;
    }
    // §2.4(e.1): never about an ICMPv6 error message.
    if is_icmpv6_error(&packet) || !rate_allows(state, back) {
        return false;
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
    let router_src = back.config.error_source_v6(back.ingress, &src);
    let (ingress, prev_hop) = (back.ingress, back.prev_hop);
    emit::icmpv6(
        tx,
        ingress,
        prev_hop,
        router_src,
        src,
        ORIGINATED_HOP_LIMIT,
        &repr,
    );
    true
}

fn send_v4(
    state: &mut WorkerState,
    back: &Back<'_>,
    invoking: &[u8],
    kind: Icmp4Error,
    tx: &mut TxBatch,
) -> bool {
    let Ok(packet) = Ipv4Packet::new_checked(invoking) else {
        return false;
    };
    let (src, dst) = (packet.src_addr(), packet.dst_addr());
    if ipv4_martian(&src) || dst.is_multicast() || dst.is_broadcast() {
        return false;
    }
    if packet.frag_offset() != 0 {
        return false;
    }
    if packet.protocol() == IpProtocol::Icmp {
        let is_error = Icmpv4Packet::new_checked(packet.payload())
            .map(|p| p.msg_type().is_error())
            .unwrap_or(true);
        if is_error {
            return false;
        }
    }
    let Some(router_src) = back.config.error_source_v4(back.ingress, &src) else {
        return false;
    };
    if !rate_allows(state, back) {
        return false;
    }
    let data = invoking
        .get(..invoking.len().min(ICMPV4_ERROR_MAX))
        .unwrap_or(invoking);
    let unreachable = |reason, next_hop_mtu| Icmpv4Repr::DstUnreachable {
        reason,
        next_hop_mtu,
        data,
    };
    let repr = match kind {
        Icmp4Error::PortUnreachable => unreachable(Icmpv4DstUnreachable::PortUnreachable, 0),
        Icmp4Error::Ttl => Icmpv4Repr::TimeExceeded {
            reason: Icmpv4TimeExceeded::TtlExpired,
            data,
        },
        Icmp4Error::NetUnreachable => unreachable(Icmpv4DstUnreachable::NetUnreachable, 0),
        Icmp4Error::HostUnreachable => unreachable(Icmpv4DstUnreachable::HostUnreachable, 0),
        Icmp4Error::FragNeeded(mtu) => unreachable(Icmpv4DstUnreachable::FragRequired, mtu),
    };
    let (ingress, prev_hop) = (back.ingress, back.prev_hop);
    emit::icmpv4(
        tx,
        ingress,
        prev_hop,
        router_src,
        src,
        ORIGINATED_HOP_LIMIT,
        &repr,
    );
    true
}

/// Whether the invoking packet is itself an ICMPv6 error (type < 128).
fn is_icmpv6_error(packet: &Ipv6Packet<&[u8]>) -> bool {
    let payload = packet.payload();
    match crate::wire::walk_extension_headers(packet.next_header(), payload) {
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
