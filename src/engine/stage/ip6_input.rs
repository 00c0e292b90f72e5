//! The IPv6 input stage: the fixed header (RFC 8200 §3), each parse error
//! under its own drop reason; multicast scope.

use crate::wire::{Ipv6Packet, Ipv6Repr};

use super::super::compiled::IfaceConfig;
use super::super::next::Next;
use super::super::stats::DropReason;

/// A parsed IPv6 packet: its header and its bytes, trimmed to Payload
/// Length (link-layer padding cut off).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ip6<'a> {
    pub repr: Ipv6Repr,
    pub l3: &'a [u8],
}

/// Parses the IPv6 packet of a frame received on `iface`.
#[inline(always)]
pub(crate) fn input<'a>(iface: &IfaceConfig, bytes: &'a [u8]) -> Result<Ip6<'a>, Next> {
    let drop = |r| Next::Drop(r);
    let packet = Ipv6Packet::new_checked(bytes).map_err(|e| drop(DropReason::ipv6(e)))?;
    let repr = Ipv6Repr::parse(&packet).map_err(|e| drop(DropReason::ipv6(e)))?;
    if repr.src_addr.is_multicast() {
        return Err(drop(DropReason::Ipv6SourceMulticast));
    }
    if repr.dst_addr.is_multicast() && !iface.joined(&repr.dst_addr) {
        return Err(drop(DropReason::Ipv6MulticastNotJoined));
    }
    let l3 = bytes
        .get(..packet.total_len())
        .ok_or(drop(DropReason::Ipv6Truncated))?;
    Ok(Ip6 { repr, l3 })
}
