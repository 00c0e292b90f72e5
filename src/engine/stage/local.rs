//! The local delivery stages: packets addressed to the router.
//!
//! IPv6: the extension-header chain is walked (nothing is reassembled:
//! fragments to the router are dropped); ICMPv6 goes to the ND stage or is
//! an echo request answered here; UDP to the DHCPv6 server port on a link
//! with a DHCPv6 address mode is punted to the server; other UDP gets port
//! unreachable (RFC 4443 §3.1 code 4: traceroute to the router), never
//! about multicast (§2.4(e)). IPv4: echo requests answered, UDP gets port
//! unreachable.

use std::net::Ipv4Addr;

use crate::wire::{
    dhcpv6, walk_extension_headers, Icmpv4Message, Icmpv4Packet, Icmpv4Repr, Icmpv6Message,
    Icmpv6Packet, Icmpv6Repr, IpProtocol, UdpPacket,
};

use super::super::emit;
use super::super::next::{Icmp4Error, Icmp6Error, IcmpError, Next, Service, Stage, Step, Tracer};
use super::super::state::WorkerState;
use super::super::stats::{Consumed, DropReason};
use super::super::TxBatch;
use super::icmp_error::ORIGINATED_HOP_LIMIT;
use super::ip4_input::Ip4;
use super::ip6_input::Ip6;
use super::{nd, Ctx, Mode};

/// Delivers an IPv6 packet addressed to the router (or to a group it
/// joined); returns the verdict and the stage that reached it (this one,
/// or ND after this one passed the message on, which `trace` records).
pub(crate) fn input_v6<T: Tracer>(
    state: &mut WorkerState,
    ctx: &Ctx<'_>,
    ip: &Ip6<'_>,
    tx: &mut TxBatch,
    trace: &mut T,
) -> (Stage, Next) {
    if let Some(packet) = ndisc_message(ip) {
        if T::ENABLED {
            trace.record(Stage::Local6, Step::Pass);
        }
        return (Stage::Nd, nd::input(state, ctx, ip, &packet, tx));
    }
    (Stage::Local6, deliver_v6(state, ctx, ip, tx))
}

/// The ND message a packet carries, if it is one (no extension headers:
/// RFC 4861 messages travel bare, and one behind a header is treated as
/// any other ICMPv6 message would be).
fn ndisc_message<'a>(ip: &Ip6<'a>) -> Option<Icmpv6Packet<&'a [u8]>> {
    let payload = ip.l3.get(crate::wire::ipv6::HEADER_LEN..)?;
    let upper = walk_extension_headers(ip.repr.next_header, payload).ok()?;
    if upper.protocol != IpProtocol::Icmpv6 || upper.fragment.is_some() {
        return None;
    }
    let packet = Icmpv6Packet::new_checked(payload.get(upper.offset..)?).ok()?;
    packet.msg_type().is_ndisc().then_some(packet)
}

fn deliver_v6(state: &mut WorkerState, ctx: &Ctx<'_>, ip: &Ip6<'_>, tx: &mut TxBatch) -> Next {
    let payload = ip
        .l3
        .get(crate::wire::ipv6::HEADER_LEN..)
        .unwrap_or_default();
    let upper = match walk_extension_headers(ip.repr.next_header, payload) {
        Ok(upper) => upper,
        Err(e) => return Next::Drop(DropReason::ipv6_ext(e)),
    };
    if upper.fragment.is_some() {
        // The router reassembles nothing addressed to itself.
        return Next::Drop(DropReason::Ipv6LocalUnhandled);
    }
    let data = payload.get(upper.offset..).unwrap_or_default();
    match upper.protocol {
        IpProtocol::Icmpv6 => {
            let packet = match Icmpv6Packet::new_checked(data) {
                Ok(p) => p,
                Err(e) => return Next::Drop(DropReason::icmpv6(e)),
            };
            echo_v6(state, ctx, ip, &packet, tx)
        }
        IpProtocol::Udp => {
            let port = UdpPacket::new_checked(data).map(|u| u.dst_port());
            if port == Ok(dhcpv6::SERVER_PORT) && ctx.ingress.dhcpv6 {
                return Next::Punt(Service::Dhcpv6);
            }
            if port == Ok(dhcpv6::CLIENT_PORT) && ctx.ingress.pd_client {
                return Next::Punt(Service::Dhcpv6Client);
            }
            if ip.repr.dst_addr.is_multicast() {
                return Next::Drop(DropReason::Ipv6LocalUnhandled);
            }
            if ctx.mode == Mode::LearnOnly {
                return Next::Consumed(Consumed::LearnOnly);
            }
            Next::IcmpError(IcmpError::V6(Icmp6Error::PortUnreachable))
        }
        _ => Next::Drop(DropReason::Ipv6LocalUnhandled),
    }
}

fn echo_v6(
    state: &mut WorkerState,
    ctx: &Ctx<'_>,
    ip: &Ip6<'_>,
    packet: &Icmpv6Packet<&[u8]>,
    tx: &mut TxBatch,
) -> Next {
    if packet.msg_type() != Icmpv6Message::EchoRequest {
        return Next::Drop(DropReason::Icmpv6Ignored);
    }
    let (src, dst) = (ip.repr.src_addr, ip.repr.dst_addr);
    let (ident, seq_no, data) = match Icmpv6Repr::parse(&src, &dst, packet) {
        Ok(Icmpv6Repr::EchoRequest {
            ident,
            seq_no,
            data,
        }) => (ident, seq_no, data),
        Ok(_) => return Next::Drop(DropReason::Icmpv6Malformed),
        Err(e) => return Next::Drop(DropReason::icmpv6(e)),
    };
    if ctx.mode == Mode::LearnOnly {
        return Next::Consumed(Consumed::LearnOnly);
    }
    let iface = ctx.ingress;
    let reply_src = if dst.is_multicast() {
        iface.source_for(&src)
    } else {
        dst
    };
    let reply = Icmpv6Repr::EchoReply {
        ident,
        seq_no,
        data,
    };
    emit::icmpv6(
        tx,
        iface,
        ctx.src_mac,
        reply_src,
        src,
        ORIGINATED_HOP_LIMIT,
        &reply,
    );
    if let Some(s) = state.stats_mut(iface.id) {
        s.tx_echo_reply += 1;
    }
    Next::Answered
}

/// Delivers an IPv4 datagram addressed to the router (or broadcast).
pub(crate) fn input_v4(
    state: &mut WorkerState,
    ctx: &Ctx<'_>,
    ip: &Ip4<'_>,
    tx: &mut TxBatch,
) -> Next {
    if ip.is_fragment || ip.repr.dst_addr == Ipv4Addr::BROADCAST {
        return Next::Drop(DropReason::Ipv4LocalUnhandled);
    }
    match ip.repr.next_header {
        IpProtocol::Icmp => echo_v4(state, ctx, ip, tx),
        IpProtocol::Udp if ctx.mode == Mode::LearnOnly => Next::Consumed(Consumed::LearnOnly),
        IpProtocol::Udp => Next::IcmpError(IcmpError::V4(Icmp4Error::PortUnreachable)),
        _ => Next::Drop(DropReason::Ipv4LocalUnhandled),
    }
}

fn echo_v4(state: &mut WorkerState, ctx: &Ctx<'_>, ip: &Ip4<'_>, tx: &mut TxBatch) -> Next {
    let icmp = match Icmpv4Packet::new_checked(ip.payload) {
        Ok(p) => p,
        Err(e) => return Next::Drop(DropReason::icmpv4(e)),
    };
    if icmp.msg_type() != Icmpv4Message::EchoRequest {
        return Next::Drop(DropReason::Icmpv4Ignored);
    }
    let (ident, seq_no, data) = match Icmpv4Repr::parse(&icmp) {
        Ok(Icmpv4Repr::EchoRequest {
            ident,
            seq_no,
            data,
        }) => (ident, seq_no, data),
        Ok(_) => return Next::Drop(DropReason::Icmpv4Malformed),
        Err(e) => return Next::Drop(DropReason::icmpv4(e)),
    };
    // The learn-only path sees no echo (the ND/ARP socket filters it out),
    // but the rule is the same as everywhere: only the answering worker
    // answers.
    if ctx.mode == Mode::LearnOnly {
        return Next::Consumed(Consumed::LearnOnly);
    }
    let reply = Icmpv4Repr::EchoReply {
        ident,
        seq_no,
        data,
    };
    let iface = ctx.ingress;
    emit::icmpv4(
        tx,
        iface,
        ctx.src_mac,
        ip.repr.dst_addr,
        ip.repr.src_addr,
        ORIGINATED_HOP_LIMIT,
        &reply,
    );
    if let Some(s) = state.stats_mut(iface.id) {
        s.tx_echo_reply += 1;
    }
    Next::Answered
}
