//! The ARP stage (RFC 826): answers requests for the router's addresses,
//! learns senders, and completes resolutions with replies. A sender
//! hardware address no neighbor can have (broadcast, multicast, zeros, the
//! router's own) drops the packet and leaves the cache alone.

use crate::wire::{ArpOperation, ArpPacket, ArpRepr};

use super::super::emit;
use super::super::next::Next;
use super::super::state::WorkerState;
use super::super::stats::{Consumed, DropReason};
use super::super::TxBatch;
use super::resolve::{learn, Learn};
use super::{bogus_link_addr, Ctx, Mode};
use crate::neighbor::AdvertFlags;

/// Handles an ARP packet.
pub(crate) fn input(
    state: &mut WorkerState,
    ctx: &Ctx<'_>,
    bytes: &[u8],
    tx: &mut TxBatch,
) -> Next {
    let arp = match ArpPacket::new_checked(bytes).and_then(|p| ArpRepr::parse(&p)) {
        Ok(arp) => arp,
        Err(e) => return Next::Drop(DropReason::arp(e)),
    };
    if let Some(reason) = bogus_link_addr(ctx.config, arp.source_hardware_addr) {
        return Next::Drop(reason);
    }
    let iface = ctx.ingress;
    let sender = arp.source_protocol_addr;
    let for_us = iface.owns_ipv4(&arp.target_protocol_addr);
    let known = state
        .iface_mut(iface.id)
        .is_some_and(|s| s.arp4.get(sender).is_some());
    // RFC 826 "merge": learn or refresh the sender when it has an address,
    // when the request is for us or the sender is known already, so
    // gratuitous ARP from strangers creates nothing.
    let merge = !sender.is_unspecified()
        && ((sender != arp.target_protocol_addr && (for_us || known))
            || (arp.is_gratuitous() && known));
    let mac = arp.source_hardware_addr;
    if arp.operation == ArpOperation::Reply && !sender.is_unspecified() {
        let advert = Learn::Advertisement(Some(mac), AdvertFlags::ARP_REPLY);
        learn(state, iface, sender, advert, ctx.now, tx);
    } else if merge {
        learn(state, iface, sender, Learn::Solicitation(mac), ctx.now, tx);
    }
    match arp.operation {
        ArpOperation::Request if for_us && ctx.mode == Mode::LearnOnly => {
            Next::Consumed(Consumed::LearnOnly)
        }
        ArpOperation::Request if for_us => {
            let reply = ArpRepr {
                operation: ArpOperation::Reply,
                source_hardware_addr: iface.mac,
                source_protocol_addr: arp.target_protocol_addr,
                target_hardware_addr: mac,
                target_protocol_addr: sender,
            };
            emit::arp(tx, iface, mac, &reply);
            if let Some(s) = state.stats_mut(iface.id) {
                s.tx_arp_reply += 1;
            }
            Next::Answered
        }
        ArpOperation::Request => Next::Drop(DropReason::ArpNotForUs),
        _ => Next::Consumed(Consumed::ArpReply),
    }
}
