//! Neighbor discovery on the router's side (RFC 4861): answers NS for the
//! router's addresses with NA, RS with RA; consumes NA, RA and redirects.
//!
//! Every message is validated as §6.1.1, §6.1.2, §7.1.1 and §7.1.2 require
//! before anything is done with it; an invalid one is a `nd_invalid` drop.

use std::net::Ipv6Addr;

use crate::wire::{
    EthernetAddress, Icmpv6Packet, NdiscNeighborFlags, NdiscOption, NdiscOptions, NdiscRepr,
};

use super::compiled::IfaceConfig;
use super::emit;
use super::neighbor::AdvertFlags;
use super::ra::RaTimer;
use super::rng::Rng;
use super::router::{L2Info, Verdict, WorkerState};
use super::stats::{DropReason, IfaceStats};
use super::{Instant, TxBatch};

/// ff02::1.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// What the ND stage knows about the packet around the ICMPv6 message.
pub(crate) struct NdContext<'a> {
    pub iface: &'a IfaceConfig,
    pub l2: L2Info,
    pub ip_src: Ipv6Addr,
    pub ip_dst: Ipv6Addr,
    pub hop_limit: u8,
    pub now: Instant,
}

/// Handles a checksum-verified ND message.
pub(crate) fn input(
    ctx: &NdContext<'_>,
    packet: &Icmpv6Packet<&[u8]>,
    state: &mut WorkerState,
    tx: &mut TxBatch,
) -> Verdict {
    let repr = NdiscRepr::parse_validated(&ctx.ip_src, &ctx.ip_dst, ctx.hop_limit, packet)
        .map_err(|_| DropReason::NdInvalid)?;
    let iface = ctx.iface;
    match repr {
        NdiscRepr::NeighborSolicit {
            target_addr,
            options,
        } => {
            // §7.2.3: a solicitation from an address teaches us the
            // sender's link-layer address (not DAD probes from ::).
            if let Some(mac) = options.source_link_layer_addr() {
                if !ctx.ip_src.is_unspecified() && iface.owns_ipv6(&target_addr) {
                    state.release_v6(iface, ctx.ip_src, Some(mac), None, ctx.now, tx);
                }
            }
            if !state.answer_local {
                return Ok(());
            }
            let stats = state
                .stats_mut(iface.id)
                .ok_or(DropReason::UnknownInterface)?;
            stats.rx_ns += 1;
            neighbor_solicit(ctx, target_addr, options, stats, tx)
        }
        NdiscRepr::RouterSolicit { options } => {
            let slla = options.source_link_layer_addr();
            if let (Some(mac), false) = (slla, ctx.ip_src.is_unspecified()) {
                state.release_v6(iface, ctx.ip_src, Some(mac), None, ctx.now, tx);
            }
            if !state.answer_local {
                return Ok(());
            }
            let owns = state.owns_timers;
            let WorkerState { ifaces, rng, .. } = state;
            let s = ifaces
                .get_mut(usize::from(iface.id.0))
                .ok_or(DropReason::UnknownInterface)?;
            s.stats.rx_rs += 1;
            router_solicit(
                ctx,
                options,
                s.ra_timer.as_mut(),
                owns,
                rng,
                &mut s.stats,
                tx,
            )
        }
        NdiscRepr::NeighborAdvert {
            flags,
            target_addr,
            options,
        } => {
            let advert = AdvertFlags {
                solicited: flags.solicited(),
                override_: flags.override_(),
                is_router: flags.router(),
            };
            let tlla = options.target_link_layer_addr();
            state.release_v6(iface, target_addr, tlla, Some(advert), ctx.now, tx);
            Err(DropReason::NdConsumed)
        }
        NdiscRepr::RouterAdvert { .. } => Err(DropReason::RaFromOtherRouter),
        NdiscRepr::Redirect { .. } => Err(DropReason::NdConsumed),
    }
}

/// RFC 4861 §7.2.4: answer an NS whose target is ours.
fn neighbor_solicit(
    ctx: &NdContext<'_>,
    target: Ipv6Addr,
    options: NdiscOptions<'_>,
    stats: &mut IfaceStats,
    tx: &mut TxBatch,
) -> Verdict {
    let iface = ctx.iface;
    if !iface.owns_ipv6(&target) {
        return Err(DropReason::NdTargetNotOurs);
    }
    let (dst_ip, dst_mac, solicited) = if ctx.ip_src.is_unspecified() {
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
        let mac = options.source_link_layer_addr().unwrap_or(ctx.l2.src_mac);
        (ctx.ip_src, mac, true)
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
    stats.tx_na += 1;
    Ok(())
}

/// RFC 4861 §6.2.6 / RFC 7772: answer an RS.
fn router_solicit(
    ctx: &NdContext<'_>,
    options: NdiscOptions<'_>,
    timer: Option<&mut RaTimer>,
    owns_timers: bool,
    rng: &mut Rng,
    stats: &mut IfaceStats,
    tx: &mut TxBatch,
) -> Verdict {
    let iface = ctx.iface;
    let (Some(content), Some(timer)) = (&iface.ra, timer) else {
        return Err(DropReason::RsNoRa);
    };
    if ctx.ip_src.is_unspecified() {
        // No address to answer to: bring the next multicast RA forward.
        if owns_timers {
            timer.solicited_multicast(ctx.now, rng);
            return Ok(());
        }
        if !timer.allow_unicast(ctx.now) {
            return Err(DropReason::RsRateLimited);
        }
        emit::router_advert_multicast(tx, iface, content.body());
        stats.tx_ra_solicited += 1;
        return Ok(());
    }
    if !timer.allow_unicast(ctx.now) {
        return Err(DropReason::RsRateLimited);
    }
    let mac = options.source_link_layer_addr().unwrap_or(ctx.l2.src_mac);
    emit::router_advert(tx, iface, mac, ctx.ip_src, content.body());
    stats.tx_ra_solicited += 1;
    Ok(())
}
