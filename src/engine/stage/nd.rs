//! The neighbor discovery stage (RFC 4861): answers NS for the router's
//! addresses with NA and RS with RA; learns from NS, RS and NA; ignores
//! RAs of other routers and redirects.
//!
//! Every message is validated as §6.1.1, §6.1.2, §7.1.1 and §7.1.2 require
//! before anything is done with it. A message that would teach the cache a
//! link-layer address no neighbor can have (broadcast, multicast, zeros,
//! the router's own) is dropped whole and the cache left alone.

use std::net::Ipv6Addr;

use crate::wire::{
    EthernetAddress, Icmpv6Packet, NdiscNeighborFlags, NdiscOption, NdiscOptions, NdiscRepr,
    ParseError, ALL_NODES,
};

use super::super::emit;
use super::super::next::Next;
use super::super::state::WorkerState;
use super::super::stats::{Consumed, DropReason};
use super::super::TxBatch;
use super::ip6_input::Ip6;
use super::resolve::{learn, Learn};
use super::{bogus_link_addr, Ctx, Mode};
use crate::neighbor::AdvertFlags;

/// Handles an ND message addressed to the router.
pub(crate) fn input(
    state: &mut WorkerState,
    ctx: &Ctx<'_>,
    ip: &Ip6<'_>,
    packet: &Icmpv6Packet<&[u8]>,
    tx: &mut TxBatch,
) -> Next {
    let (src, dst) = (ip.repr.src_addr, ip.repr.dst_addr);
    let repr = match NdiscRepr::parse_validated(&src, &dst, ip.repr.hop_limit, packet) {
        Ok(repr) => repr,
        Err(ParseError::BadChecksum) => return Next::Drop(DropReason::Icmpv6BadChecksum),
        Err(e) => return Next::Drop(DropReason::nd(e)),
    };
    let lladdr = match repr {
        NdiscRepr::NeighborSolicit { options, .. } | NdiscRepr::RouterSolicit { options } => {
            options.source_link_layer_addr()
        }
        NdiscRepr::NeighborAdvert { options, .. } => options.target_link_layer_addr(),
        NdiscRepr::RouterAdvert { .. } | NdiscRepr::Redirect { .. } => None,
    };
    if let Some(reason) = lladdr.and_then(|mac| bogus_link_addr(ctx.config, mac)) {
        return Next::Drop(reason);
    }
    let iface = ctx.ingress;
    match repr {
        NdiscRepr::NeighborSolicit { target_addr, .. } => {
            // §7.2.3: a solicitation from an address teaches us the
            // sender's link-layer address (not DAD probes from ::).
            if let Some(mac) = lladdr {
                if !src.is_unspecified() && iface.owns_ipv6(&target_addr) {
                    learn(state, iface, src, Learn::Solicitation(mac), ctx.now, tx);
                }
            }
            if ctx.mode == Mode::LearnOnly {
                return Next::Consumed(Consumed::LearnOnly);
            }
            if let Some(s) = state.stats_mut(iface.id) {
                s.rx_ns += 1;
            }
            neighbor_solicit(state, ctx, src, target_addr, lladdr, tx)
        }
        NdiscRepr::RouterSolicit { .. } => {
            // §6.2.6: learned like an NS, and the sender is no router.
            if !src.is_unspecified() {
                learn(
                    state,
                    iface,
                    src,
                    Learn::RouterSolicitation(lladdr),
                    ctx.now,
                    tx,
                );
            }
            if ctx.mode == Mode::LearnOnly {
                return Next::Consumed(Consumed::LearnOnly);
            }
            router_solicit(state, ctx, src, lladdr, tx)
        }
        NdiscRepr::NeighborAdvert {
            flags, target_addr, ..
        } => {
            let advert = AdvertFlags {
                solicited: flags.solicited(),
                override_: flags.override_(),
                is_router: flags.router(),
            };
            learn(
                state,
                iface,
                target_addr,
                Learn::Advertisement(lladdr, advert),
                ctx.now,
                tx,
            );
            Next::Consumed(Consumed::NeighborAdvert)
        }
        NdiscRepr::RouterAdvert { .. } => Next::Drop(DropReason::RaFromOtherRouter),
        NdiscRepr::Redirect { .. } => Next::Consumed(Consumed::Redirect),
    }
}

/// RFC 4861 §7.2.4: answer an NS whose target is ours.
fn neighbor_solicit(
    state: &mut WorkerState,
    ctx: &Ctx<'_>,
    src: Ipv6Addr,
    target: Ipv6Addr,
    slla: Option<EthernetAddress>,
    tx: &mut TxBatch,
) -> Next {
    let iface = ctx.ingress;
    if !iface.owns_ipv6(&target) {
        return Next::Drop(DropReason::NdTargetNotOurs);
    }
    let (dst_ip, dst_mac, solicited) = if src.is_unspecified() {
        // A DAD probe for one of our addresses: defend it to all nodes,
        // unsolicited (§7.2.4: S=0, destination all-nodes).
        (
            ALL_NODES,
            EthernetAddress::from_ipv6_multicast(&ALL_NODES),
            false,
        )
    } else {
        // Unicast to the solicitor: its link-layer address from the SLLA
        // option, or (a unicast NUD probe carries none) the frame's source.
        (src, slla.unwrap_or(ctx.src_mac), true)
    };
    let mut flags = NdiscNeighborFlags::ROUTER | NdiscNeighborFlags::OVERRIDE;
    if solicited {
        flags = flags | NdiscNeighborFlags::SOLICITED;
    }
    let tlla = [NdiscOption::TargetLinkLayerAddr(iface.mac)];
    let na = NdiscRepr::NeighborAdvert {
        flags,
        target_addr: target,
        options: NdiscOptions::List(&tlla),
    };
    emit::ndisc(tx, iface, dst_mac, target, dst_ip, &na);
    if let Some(s) = state.stats_mut(iface.id) {
        s.tx_na += 1;
    }
    Next::Answered
}

/// RFC 4861 §6.2.6 / RFC 7772: answer an RS.
fn router_solicit(
    state: &mut WorkerState,
    ctx: &Ctx<'_>,
    src: Ipv6Addr,
    slla: Option<EthernetAddress>,
    tx: &mut TxBatch,
) -> Next {
    let iface = ctx.ingress;
    let owns_timers = state.owns_timers;
    let WorkerState { ifaces, rng, .. } = state;
    let Some(s) = ifaces.get_mut(usize::from(iface.id.0)) else {
        return Next::Drop(DropReason::UnknownInterface);
    };
    s.stats.rx_rs += 1;
    let (Some(content), Some(timer)) = (&iface.ra, s.ra_timer.as_mut()) else {
        return Next::Drop(DropReason::RsNoRa);
    };
    if src.is_unspecified() {
        // No address to answer to: bring the next multicast RA forward.
        if owns_timers {
            timer.solicited_multicast(ctx.now, rng);
            return Next::Answered;
        }
        if !timer.allow_unicast(ctx.now) {
            return Next::Drop(DropReason::RsRateLimited);
        }
        emit::router_advert_multicast(tx, iface, &content.body_at(ctx.now));
        s.stats.tx_ra_solicited += 1;
        return Next::Answered;
    }
    if !timer.allow_unicast(ctx.now) {
        return Next::Drop(DropReason::RsRateLimited);
    }
    let mac = slla.unwrap_or(ctx.src_mac);
    emit::router_advert(tx, iface, mac, src, &content.body_at(ctx.now));
    s.stats.tx_ra_solicited += 1;
    Next::Answered
}
