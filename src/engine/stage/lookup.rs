//! The lookup stage: one FIB lookup tells local delivery (the router's
//! addresses are receive entries) from transit, and gives a transit packet
//! its egress, next hop and adjacency; then the checks that decide whether
//! it may be forwarded at all, and which ICMP error it is owed if not.
//!
//! IPv6 (RFC 8200, RFC 4443): link-local and unspecified sources, and
//! link-local destinations, are never forwarded; Time Exceeded at hop limit
//! ≤ 1; Destination Unreachable (no route) and Packet Too Big with the
//! egress MTU. IPv4 (RFC 1812 §5.3): martian sources and destinations,
//! directed broadcasts (drop entries of the FIB), Time Exceeded,
//! Net Unreachable, Fragmentation Needed for DF packets larger than the
//! egress MTU. In both families a packet whose source is one of the
//! router's own addresses is a spoof and is dropped (Linux's martian
//! source).

use std::net::{IpAddr, Ipv4Addr};

use crate::route::{Fib, FibAction};
use crate::wire::is_link_local;

use super::super::compiled::CompiledConfig;
use super::super::next::{Forward, Hop, Icmp4Error, Icmp6Error, IcmpError, Next};
use super::super::stats::DropReason;
use super::ip4_input::Ip4;
use super::ip6_input::Ip6;

/// Where the lookup sends a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// To one of the router's addresses.
    Local,
    /// Elsewhere.
    Forward(Forward),
}

/// 0/8, 127/8, 169.254/16, multicast, broadcast: never forwarded from or to.
pub(crate) fn ipv4_martian(a: &Ipv4Addr) -> bool {
    let o = a.octets();
    o[0] == 0 || o[0] == 127 || a.is_link_local() || a.is_multicast() || a.is_broadcast()
}

/// Looks up a unicast IPv6 destination.
#[inline(always)]
pub(crate) fn lookup_v6(config: &CompiledConfig, fib: &Fib, ip: &Ip6<'_>) -> Result<Route, Next> {
    let (src, dst) = (ip.repr.src_addr, ip.repr.dst_addr);
    let entry = fib.lookup_v6(dst);
    if entry.is_some_and(|e| e.action == FibAction::Receive) {
        return Ok(Route::Local);
    }
    let drop = |r| Next::Drop(r);
    if src.is_unspecified() || is_link_local(&src) {
        return Err(drop(DropReason::Ipv6SourceNotForwardable));
    }
    if is_link_local(&dst) {
        return Err(drop(DropReason::Ipv6DestNotForwardable));
    }
    if config.local_v6.contains(u128::from(src)) {
        return Err(drop(DropReason::SourceIsRouter));
    }
    if ip.repr.hop_limit <= 1 {
        return Err(Next::IcmpError(IcmpError::V6(Icmp6Error::HopLimit)));
    }
    let Some(entry) = entry else {
        return Err(Next::IcmpError(IcmpError::V6(Icmp6Error::NoRoute)));
    };
    let egress = config
        .iface(entry.iface)
        .ok_or(drop(DropReason::UnknownInterface))?;
    if ip.l3.len() > egress.mtu as usize {
        return Err(Next::IcmpError(IcmpError::V6(Icmp6Error::PacketTooBig(
            egress.mtu,
        ))));
    }
    let next_hop = match entry.gateway {
        None => Hop::V6(u128::from(dst)),
        Some(IpAddr::V6(gw)) => Hop::V6(u128::from(gw)),
        Some(IpAddr::V4(_)) => return Err(drop(DropReason::NextHopFamilyMismatch)),
    };
    Ok(Route::Forward(Forward {
        egress: egress.id,
        next_hop,
        adjacency: entry.adjacency,
    }))
}

/// Looks up an IPv4 destination other than the limited broadcast.
#[inline(always)]
pub(crate) fn lookup_v4(config: &CompiledConfig, fib: &Fib, ip: &Ip4<'_>) -> Result<Route, Next> {
    let (src, dst) = (ip.repr.src_addr, ip.repr.dst_addr);
    let entry = fib.lookup_v4(dst);
    if entry.is_some_and(|e| e.action == FibAction::Receive) {
        return Ok(Route::Local);
    }
    let drop = |r| Next::Drop(r);
    if ipv4_martian(&src) {
        return Err(drop(DropReason::Ipv4SourceNotForwardable));
    }
    if ipv4_martian(&dst) || entry.is_some_and(|e| e.action == FibAction::Drop) {
        return Err(drop(DropReason::Ipv4DestNotForwardable));
    }
    if config.local_v4.contains(u32::from(src)) {
        return Err(drop(DropReason::SourceIsRouter));
    }
    if ip.repr.hop_limit <= 1 {
        return Err(Next::IcmpError(IcmpError::V4(Icmp4Error::Ttl)));
    }
    let Some(entry) = entry else {
        return Err(Next::IcmpError(IcmpError::V4(Icmp4Error::NetUnreachable)));
    };
    let egress = config
        .iface(entry.iface)
        .ok_or(drop(DropReason::UnknownInterface))?;
    let mtu = egress.mtu as usize;
    if ip.l3.len() > mtu && ip.dont_frag {
        let mtu16 = u16::try_from(mtu).unwrap_or(u16::MAX);
        return Err(Next::IcmpError(IcmpError::V4(Icmp4Error::FragNeeded(
            mtu16,
        ))));
    }
    let next_hop = match entry.gateway {
        None => Hop::V4(u32::from(dst)),
        Some(IpAddr::V4(gw)) => Hop::V4(u32::from(gw)),
        Some(IpAddr::V6(_)) => return Err(drop(DropReason::NextHopFamilyMismatch)),
    };
    Ok(Route::Forward(Forward {
        egress: egress.id,
        next_hop,
        adjacency: entry.adjacency,
    }))
}
