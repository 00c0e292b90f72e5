//! The rewrite stage: where a transit packet leaves.
//!
//! The adjacency of a gateway route caches the neighbor's prebuilt
//! Ethernet header while the neighbor is REACHABLE (VPP's rewrite string),
//! so a forwarded packet costs one FIB lookup, one check and one copy: no
//! neighbor-table lookup. On-link destinations and adjacencies not (or no
//! longer) valid ask the neighbor table, which also runs NUD. The packet is
//! copied once, into the TX batch, and rewritten there: hop limit (IPv6),
//! TTL and checksum updated incrementally (IPv4, RFC 1624); IPv4 packets
//! larger than the egress MTU are fragmented (RFC 791).
//!
//! Packets that wait for neighbor resolution are queued inside the
//! neighbor cache as received, behind an 8-byte note of their ingress
//! interface and previous hop, so that a failed resolution can answer each
//! with an ICMP error quoting it unchanged; they are rewritten when
//! released (`resolve.rs`).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::base::IfaceId;
use crate::neighbor::{NeighborAddr, NeighborTable, RefuseReason, Resolution};
use crate::wire::{EtherType, EthernetAddress, Ipv4Packet, Ipv6Packet};

use super::super::compiled::IfaceConfig;
use super::super::emit::ethernet_header;
use super::super::next::{Forward, Hop, Next};
use super::super::state::{Adjacency, IfaceState, WorkerState};
use super::super::stats::{Consumed, DropReason, IfaceStats};
use super::super::TxBatch;
use super::resolve::{emit_arp_request, emit_ns};
use super::Ctx;

/// The note in front of a queued packet: ingress interface (2 bytes) and
/// the previous hop's MAC (6 bytes).
pub(crate) const NOTE_LEN: usize = 8;

fn refused(reason: RefuseReason) -> DropReason {
    match reason {
        RefuseReason::NotUnicast => DropReason::NeighborNotUnicast,
        RefuseReason::IncompleteLimit => DropReason::NeighborIncompleteLimit,
        RefuseReason::SolicitRateLimited => DropReason::NeighborSolicitRateLimited,
        RefuseReason::TableFull => DropReason::NeighborTableFull,
    }
}

/// Copies an IPv6 packet behind `header` into the TX batch and decrements
/// its hop limit there (the caller checked it is above 1).
#[inline(always)]
pub(crate) fn send_v6(tx: &mut TxBatch, egress: IfaceId, header: &[u8; 14], l3: &[u8]) {
    let sent = tx.push_frame(egress, header, l3);
    let mut ip = Ipv6Packet::new_unchecked(sent);
    let hop_limit = ip.hop_limit();
    ip.set_hop_limit(hop_limit.saturating_sub(1));
}

/// Copies an IPv4 packet behind `header` into the TX batch, fragmenting it
/// when larger than `mtu`, with its TTL decremented; returns the frames
/// sent.
#[inline(always)]
pub(crate) fn send_v4(
    tx: &mut TxBatch,
    egress: &IfaceConfig,
    header: &[u8; 14],
    l3: &[u8],
) -> Result<u64, DropReason> {
    let mtu = egress.mtu as usize;
    if l3.len() > mtu {
        return fragment_v4(tx, egress.id, header, l3, mtu);
    }
    let sent = tx.push_frame(egress.id, header, l3);
    Ipv4Packet::new_unchecked(sent).decrement_ttl();
    Ok(1)
}

/// Fills `scratch` with the queue note (ingress interface, previous hop)
/// followed by `l3`.
fn with_note(scratch: &mut Vec<u8>, ingress: IfaceId, prev_hop: EthernetAddress, l3: &[u8]) {
    scratch.clear();
    scratch.extend_from_slice(&ingress.0.to_be_bytes());
    scratch.extend_from_slice(&prev_hop.0);
    scratch.extend_from_slice(l3);
}

/// The slot's header, when the slot holds `fwd`'s neighbor and is valid
/// at `now` for `table`.
#[inline(always)]
fn cached<'a, A: NeighborAddr>(
    slot: Option<&'a Adjacency>,
    fwd: &Forward,
    table: &NeighborTable<A>,
    now: crate::base::Instant,
) -> Option<&'a [u8; 14]> {
    let adj = slot?;
    (now < adj.valid_until
        && adj.generation == table.generation()
        && adj.next_hop == fwd.next_hop
        && adj.egress == fwd.egress)
        .then_some(&adj.rewrite)
}

/// Caches `header` in the slot while the neighbor is REACHABLE.
fn remember<A: NeighborAddr>(
    slot: Option<&mut Adjacency>,
    fwd: &Forward,
    table: &NeighborTable<A>,
    next_hop: A,
    header: [u8; 14],
    now: crate::base::Instant,
) {
    let Some(slot) = slot else {
        return;
    };
    if let Some((_, until)) = table.reachable(next_hop, now) {
        *slot = Adjacency {
            egress: fwd.egress,
            next_hop: fwd.next_hop,
            rewrite: header,
            valid_until: until,
            generation: table.generation(),
        };
    }
}

/// What forwarding needs to know of an address family: the rest of the
/// rewrite stage (and neighbor learning) is one code for both.
pub(crate) trait Family: NeighborAddr {
    /// The EtherType of its packets.
    const ETHERTYPE: EtherType;
    /// The next hop, if it is of this family.
    fn next_hop(hop: Hop) -> Option<Self>;
    /// This family's neighbor table on an interface, and its counters.
    fn table(iface: &mut IfaceState) -> (&mut NeighborTable<Self>, &mut IfaceStats);
    /// Asks the link for `addr`: an NS to its solicited-node group, or a
    /// broadcast ARP request.
    fn solicit(tx: &mut TxBatch, egress: &IfaceConfig, addr: Self);
    /// Copies the packet behind `header` into the TX batch and rewrites it
    /// there (IPv4 larger than the MTU is fragmented); the frames sent.
    fn send(
        tx: &mut TxBatch,
        egress: &IfaceConfig,
        header: &[u8; 14],
        l3: &[u8],
    ) -> Result<u64, DropReason>;
}

impl Family for Ipv6Addr {
    const ETHERTYPE: EtherType = EtherType::Ipv6;
    #[inline(always)]
    fn next_hop(hop: Hop) -> Option<Ipv6Addr> {
        match hop {
            Hop::V6(a) => Some(Ipv6Addr::from(a)),
            Hop::V4(_) => None,
        }
    }
    #[inline(always)]
    fn table(iface: &mut IfaceState) -> (&mut NeighborTable<Ipv6Addr>, &mut IfaceStats) {
        (&mut iface.nd6, &mut iface.stats)
    }
    fn solicit(tx: &mut TxBatch, egress: &IfaceConfig, addr: Ipv6Addr) {
        emit_ns(tx, egress, addr, None);
    }
    /// IPv6 is never fragmented here: the lookup stage answered a packet
    /// larger than the MTU with Packet Too Big.
    #[inline(always)]
    fn send(
        tx: &mut TxBatch,
        egress: &IfaceConfig,
        header: &[u8; 14],
        l3: &[u8],
    ) -> Result<u64, DropReason> {
        send_v6(tx, egress.id, header, l3);
        Ok(1)
    }
}

impl Family for Ipv4Addr {
    const ETHERTYPE: EtherType = EtherType::Ipv4;
    #[inline(always)]
    fn next_hop(hop: Hop) -> Option<Ipv4Addr> {
        match hop {
            Hop::V4(a) => Some(Ipv4Addr::from(a)),
            Hop::V6(_) => None,
        }
    }
    #[inline(always)]
    fn table(iface: &mut IfaceState) -> (&mut NeighborTable<Ipv4Addr>, &mut IfaceStats) {
        (&mut iface.arp4, &mut iface.stats)
    }
    fn solicit(tx: &mut TxBatch, egress: &IfaceConfig, addr: Ipv4Addr) {
        emit_arp_request(tx, egress, addr, None);
    }
    #[inline(always)]
    fn send(
        tx: &mut TxBatch,
        egress: &IfaceConfig,
        header: &[u8; 14],
        l3: &[u8],
    ) -> Result<u64, DropReason> {
        send_v4(tx, egress, header, l3)
    }
}

/// Forwards a transit packet of family `A` toward `fwd`.
#[inline(always)]
pub(crate) fn forward<A: Family>(
    state: &mut WorkerState,
    ctx: &Ctx<'_>,
    l3: &[u8],
    fwd: &Forward,
    tx: &mut TxBatch,
) -> Next {
    let (Some(egress), Some(next_hop)) = (ctx.config.iface(fwd.egress), A::next_hop(fwd.next_hop))
    else {
        return Next::Drop(DropReason::NextHopFamilyMismatch);
    };
    let index = state.adjacency_slot(fwd);
    let WorkerState {
        ifaces,
        adjacencies,
        scratch,
        ..
    } = state;
    let Some(out) = ifaces.get_mut(usize::from(egress.id.0)) else {
        return Next::Drop(DropReason::UnknownInterface);
    };
    let (table, stats) = A::table(out);
    // The cached header is copied from its slot straight into the frame:
    // a copy through the stack first stalls on store forwarding.
    let sent = match cached(adjacencies.get(index), fwd, table, ctx.now) {
        Some(header) => A::send(tx, egress, header, l3),
        None => match table.resolve(next_hop, ctx.now) {
            Resolution::Ready(mac) => {
                let header = ethernet_header(mac, egress.mac, A::ETHERTYPE);
                remember(
                    adjacencies.get_mut(index),
                    fwd,
                    table,
                    next_hop,
                    header,
                    ctx.now,
                );
                A::send(tx, egress, &header, l3)
            }
            Resolution::Refused(reason) => return Next::Drop(refused(reason)),
            resolution => {
                if matches!(resolution, Resolution::Solicit) {
                    A::solicit(tx, egress, next_hop);
                    stats.tx_solicit += 1;
                }
                with_note(scratch, ctx.ingress.id, ctx.src_mac, l3);
                return match table.enqueue(next_hop, scratch) {
                    Ok(_) => Next::Consumed(Consumed::Queued),
                    Err(_) => Next::Drop(DropReason::NeighborQueueFull),
                };
            }
        },
    };
    match sent {
        Ok(n) => {
            if n > 1 {
                stats.tx_fragments += n;
            }
            stats.tx_forwarded += n;
            Next::Forwarded
        }
        Err(reason) => Next::Drop(reason),
    }
}

/// Splits `packet` (an IPv4 packet as received) into fragments of at most
/// `mtu` bytes (RFC 791 §3.2), each with the TTL decremented: the payload
/// in multiples of 8 octets, options without the copy flag only in the
/// first fragment. Returns how many fragments went out. Nothing goes out
/// if the fragments would reach past the largest datagram (the input stage
/// drops such packets; this is the second line).
pub(crate) fn fragment_v4(
    tx: &mut TxBatch,
    egress: IfaceId,
    eth: &[u8; 14],
    packet: &[u8],
    mtu: usize,
) -> Result<u64, DropReason> {
    let view = Ipv4Packet::new_checked(packet).map_err(DropReason::ipv4)?;
    let header_len = view.header_len();
    let header = packet.get(..header_len).ok_or(DropReason::Ipv4BadLength)?;
    let payload = view.payload();
    let base_offset = usize::from(view.frag_offset());
    let more_after = view.more_frags();
    let ttl = view.ttl().saturating_sub(1);
    if base_offset + payload.len() > usize::from(u16::MAX) - header_len {
        return Err(DropReason::Ipv4BadFragment);
    }
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
    let first_room = mtu.saturating_sub(header_len) & !7;
    let later_room = mtu.saturating_sub(later_header_len) & !7;
    if first_room == 0 || later_room == 0 {
        return Err(DropReason::Ipv4FragNeeded);
    }
    let mut offset = 0;
    let mut count = 0;
    while offset < payload.len() {
        let (hl, room) = if offset == 0 {
            (header_len, first_room)
        } else {
            (later_header_len, later_room)
        };
        let chunk = room.min(payload.len() - offset);
        let last = offset + chunk == payload.len();
        let data = payload.get(offset..offset + chunk).unwrap_or_default();
        let total = hl + chunk;
        let frag_offset =
            u16::try_from(base_offset + offset).map_err(|_| DropReason::Ipv4BadFragment)?;
        let total16 = u16::try_from(total).map_err(|_| DropReason::Ipv4BadFragment)?;
        let base = if offset == 0 {
            header
        } else {
            header.get(..20).unwrap_or_default()
        };
        tx.push_frame(egress, eth, base);
        if offset != 0 {
            // The base header, then the copied options, padded with End of
            // Option List to a 4-octet boundary.
            tx.extend_last(later_options.get(..later_len).unwrap_or_default());
            tx.extend_last_zeroed(hl - 20 - later_len);
        }
        tx.extend_last(data);
        let Some(frag_bytes) = tx.last_l3_mut() else {
            return Err(DropReason::Ipv4BadLength);
        };
        let mut frag = Ipv4Packet::new_unchecked(frag_bytes);
        frag.set_header_len(hl);
        frag.set_total_len(total16);
        frag.set_more_frags(!last || more_after);
        frag.set_frag_offset(frag_offset);
        frag.set_ttl(ttl);
        frag.fill_checksum();
        offset += chunk;
        count += 1;
    }
    Ok(count)
}
