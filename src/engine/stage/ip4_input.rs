//! The IPv4 input stage: the header (RFC 791, RFC 1812 §5.2.2), each parse
//! error under its own drop reason, and fragments that would reach past
//! the largest datagram.

use crate::wire::{Ipv4Packet, Ipv4Repr};

use super::super::next::Next;
use super::super::stats::DropReason;

/// The largest IPv4 datagram, header included (RFC 791).
const MAX_DATAGRAM: usize = 65_535;

/// A parsed IPv4 datagram: its header, its bytes trimmed to Total Length,
/// and the header facts later stages ask for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ip4<'a> {
    pub repr: Ipv4Repr,
    pub l3: &'a [u8],
    pub payload: &'a [u8],
    pub dont_frag: bool,
    pub is_fragment: bool,
}

/// Parses the IPv4 datagram of a frame.
#[inline(always)]
pub(crate) fn input(bytes: &[u8]) -> Result<Ip4<'_>, Next> {
    let drop = |r| Next::Drop(r);
    let packet = Ipv4Packet::new_checked(bytes).map_err(|e| drop(DropReason::ipv4(e)))?;
    let repr = Ipv4Repr::parse(&packet).map_err(|e| drop(DropReason::ipv4(e)))?;
    let total = usize::from(packet.total_len());
    let l3 = bytes.get(..total).ok_or(drop(DropReason::Ipv4Truncated))?;
    let payload = l3
        .get(packet.header_len()..)
        .ok_or(drop(DropReason::Ipv4BadLength))?;
    // A fragment's data must end inside the largest datagram: one that
    // claims to reach past it is malformed, and re-fragmenting it would
    // wrap the 13-bit offset onto earlier data.
    let offset = usize::from(packet.frag_offset());
    if offset + packet.header_len() + payload.len() > MAX_DATAGRAM {
        return Err(drop(DropReason::Ipv4BadFragment));
    }
    Ok(Ip4 {
        repr,
        l3,
        payload,
        dont_frag: packet.dont_frag(),
        is_fragment: packet.is_fragment(),
    })
}
