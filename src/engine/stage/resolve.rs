//! The neighbor caches' side of the engine: what ND and ARP teach them,
//! the queued packets that learning releases, the solicitations they ask
//! for, and their timers (retransmissions, probes, failures answered with
//! ICMP errors).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::base::{IfaceId, Instant};
use crate::neighbor::{AdvertFlags, NeighborAddr, NeighborEvent, NeighborTable};
use crate::wire::{
    solicited_node, ArpOperation, ArpRepr, EthernetAddress, NdiscOption, NdiscOptions, NdiscRepr,
};

use super::super::compiled::{CompiledConfig, IfaceConfig};
use super::super::emit::{self, ethernet_header};
use super::super::next::{Icmp4Error, Icmp6Error, IcmpError};
use super::super::state::WorkerState;
use super::super::stats::DropReason;
use super::super::TxBatch;
use super::icmp_error;
use super::rewrite::{Family, NOTE_LEN};

/// What a received message teaches the neighbor cache.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Learn {
    /// An NS (or ARP request, gratuitous ARP) with the sender's address.
    Solicitation(EthernetAddress),
    /// An RS, with its source link-layer option if any: learned like an
    /// NS, and the sender is not a router (RFC 4861 §6.2.6).
    RouterSolicitation(Option<EthernetAddress>),
    /// An NA (or ARP reply) with its target link-layer option if any.
    Advertisement(Option<EthernetAddress>, AdvertFlags),
}

/// Feeds `learn` to a table; each queued packet it releases goes to
/// `send` without its note. Returns the frames sent.
fn update<A: NeighborAddr>(
    table: &mut NeighborTable<A>,
    addr: A,
    learn: Learn,
    now: Instant,
    mut send: impl FnMut(EthernetAddress, &[u8]) -> u64,
) -> u64 {
    let mut sent = 0u64;
    let mut release = |mac: EthernetAddress, queued: &[u8]| {
        if let Some(l3) = queued.get(NOTE_LEN..) {
            sent += send(mac, l3);
        }
    };
    match learn {
        Learn::Advertisement(lladdr, flags) => {
            table.on_advertisement(addr, lladdr, flags, now, &mut release);
        }
        Learn::Solicitation(mac) => {
            table.on_solicitation(addr, mac, now, &mut release);
        }
        Learn::RouterSolicitation(lladdr) => {
            table.on_router_solicitation(addr, lladdr, now, &mut release);
        }
    }
    sent
}

/// Teaches a neighbor cache of `iface`; packets waiting for `addr` go
/// out now, rewritten (IPv4 fragmented when larger than the MTU).
pub(crate) fn learn<A: Family>(
    state: &mut WorkerState,
    iface: &IfaceConfig,
    addr: A,
    learn: Learn,
    now: Instant,
    tx: &mut TxBatch,
) {
    let Some(s) = state.ifaces.get_mut(usize::from(iface.id.0)) else {
        return;
    };
    let (table, stats) = A::table(s);
    let sent = update(table, addr, learn, now, |mac, l3| {
        let header = ethernet_header(mac, iface.mac, A::ETHERTYPE);
        A::send(tx, iface, &header, l3).unwrap_or(0)
    });
    stats.tx_forwarded += sent;
}

/// Neighbor timers of every interface: retransmissions, probes, failures
/// (each queued packet answered with an ICMP error, as received).
pub(crate) fn timers(
    state: &mut WorkerState,
    config: &CompiledConfig,
    now: Instant,
    tx: &mut TxBatch,
) {
    for iface in &config.ifaces {
        // Failed packets are collected first (the table lends them only
        // inside the callback) and answered after, when `state` is free.
        let mut failed_v6: Vec<u8> = Vec::new();
        let mut failed_v4: Vec<u8> = Vec::new();
        let Some(s) = state.ifaces.get_mut(usize::from(iface.id.0)) else {
            continue;
        };
        let mut solicits = 0u64;
        let mut dropped = 0u64;
        s.nd6.on_timer(now, |event| match event {
            NeighborEvent::Solicit { addr, unicast_to } => {
                emit_ns(tx, iface, addr, unicast_to);
                solicits += 1;
            }
            NeighborEvent::Unreachable { packets, .. } => packets.for_each(|p| {
                dropped += 1;
                push_record(&mut failed_v6, p);
            }),
            NeighborEvent::ProbeFailed { .. } => {}
        });
        s.arp4.on_timer(now, |event| match event {
            NeighborEvent::Solicit { addr, unicast_to } => {
                emit_arp_request(tx, iface, addr, unicast_to);
                solicits += 1;
            }
            NeighborEvent::Unreachable { packets, .. } => packets.for_each(|p| {
                dropped += 1;
                push_record(&mut failed_v4, p);
            }),
            NeighborEvent::ProbeFailed { .. } => {}
        });
        s.stats.tx_solicit += solicits;
        for _ in 0..dropped {
            s.stats.drop(DropReason::NeighborUnreachable);
        }
        let errors = records(&failed_v6)
            .map(|q| (q, IcmpError::V6(Icmp6Error::AddressUnreachable)))
            .chain(records(&failed_v4).map(|q| (q, IcmpError::V4(Icmp4Error::HostUnreachable))));
        for (queued, error) in errors {
            if let Some((ingress, prev_hop, l3)) = split_note(config, queued) {
                icmp_error::send(state, config, ingress, prev_hop, l3, error, now, tx);
            }
        }
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
    let len = u32::try_from(record.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(record);
}

/// Iterates the records of [`push_record`].
fn records(mut buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    core::iter::from_fn(move || {
        let len = usize::try_from(u32::from_be_bytes(buf.get(..4)?.try_into().ok()?)).ok()?;
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
