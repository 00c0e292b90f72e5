//! The engine driven frame by frame: ND, RS → RA, echo, ARP, timers,
//! validation drops. Every emitted frame is decoded and its checksums
//! verified; fields are checked one by one.
// Test fixtures and bench inputs cast small, known values.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]

mod common;

use std::time::Duration;

use common::*;
use routelet::engine::{DropReason, IfaceId, Instant, TxBatch};
use routelet::wire::{
    solicited_node, ArpOperation, ArpRepr, EthernetAddress, Icmpv4Repr, Icmpv6Repr,
    NdiscNeighborFlags, NdiscOption, NdiscOptions, NdiscRepr,
};

const QR0: IfaceId = IfaceId(0);
const QG0: IfaceId = IfaceId(1);
const T0: Instant = Instant::from_secs(1000);

fn all_routers() -> std::net::Ipv6Addr {
    ip6("ff02::2")
}

fn rs_frame(src: std::net::Ipv6Addr, slla: bool, hop_limit: u8) -> Vec<u8> {
    let opts = [NdiscOption::SourceLinkLayerAddr(VM_MAC)];
    let options = if slla {
        NdiscOptions::List(&opts)
    } else {
        NdiscOptions::List(&[])
    };
    icmpv6_frame(
        VM_MAC,
        EthernetAddress::from_ipv6_multicast(&all_routers()),
        src,
        all_routers(),
        hop_limit,
        &Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit { options }),
    )
}

fn ns_frame(
    src: std::net::Ipv6Addr,
    dst: std::net::Ipv6Addr,
    target: std::net::Ipv6Addr,
    slla: bool,
    hop_limit: u8,
) -> Vec<u8> {
    let opts = [NdiscOption::SourceLinkLayerAddr(VM_MAC)];
    let options = if slla {
        NdiscOptions::List(&opts)
    } else {
        NdiscOptions::List(&[])
    };
    let dst_mac = if dst.is_multicast() {
        EthernetAddress::from_ipv6_multicast(&dst)
    } else {
        QR0_MAC
    };
    icmpv6_frame(
        VM_MAC,
        dst_mac,
        src,
        dst,
        hop_limit,
        &Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
            target_addr: target,
            options,
        }),
    )
}

/// The flags, prefixes and options of an RA, in one comparable value.
#[derive(Debug, PartialEq)]
struct RaSummary {
    managed: bool,
    other: bool,
    router_lifetime: u16,
    cur_hop_limit: u8,
    prefixes: Vec<(String, bool, bool, u32, u32)>,
    slla: Option<EthernetAddress>,
    mtu: Option<u32>,
    rdnss: Vec<String>,
    dnssl: Vec<String>,
}

fn ra_summary(nd: &NdiscRepr<'_>) -> RaSummary {
    let NdiscRepr::RouterAdvert {
        cur_hop_limit,
        flags,
        router_lifetime,
        reachable_time,
        retrans_time,
        options,
    } = *nd
    else {
        panic!("not an RA: {nd:?}");
    };
    assert_eq!((reachable_time, retrans_time), (0, 0));
    let mut s = RaSummary {
        managed: flags.managed(),
        other: flags.other(),
        router_lifetime,
        cur_hop_limit,
        prefixes: vec![],
        slla: None,
        mtu: None,
        rdnss: vec![],
        dnssl: vec![],
    };
    for o in options.iter() {
        match o.unwrap() {
            NdiscOption::SourceLinkLayerAddr(m) => s.slla = Some(m),
            NdiscOption::Mtu(m) => s.mtu = Some(m),
            NdiscOption::PrefixInformation(p) => s.prefixes.push((
                format!("{}/{}", p.prefix, p.prefix_len),
                p.on_link,
                p.autonomous,
                p.valid_lifetime,
                p.preferred_lifetime,
            )),
            NdiscOption::Rdnss {
                addresses,
                lifetime,
            } => {
                assert_eq!(lifetime, 300, "3 x MaxRtrAdvInterval");
                s.rdnss.extend(addresses.iter().map(|a| a.to_string()));
            }
            NdiscOption::Dnssl { domains, lifetime } => {
                assert_eq!(lifetime, 300);
                s.dnssl.extend(domains.iter().map(|d| d.to_string()));
            }
            other => panic!("unexpected option {other:?}"),
        }
    }
    s
}

/// Sends an RS with SLLA from the VM's link-local address and returns the
/// unicast RA, checking its headers.
fn solicit(example_name: &str) -> RaSummary {
    let config = example(example_name);
    let mut r = router(&config, T0);
    let out = process(&mut r, QR0, &rs_frame(vm_ll(), true, 255), T0);
    assert_eq!(out.len(), 1, "{example_name}: one RA answers one RS");
    let d = decode(out[0].0, &out[0].1);
    assert_eq!(d.iface, QR0);
    assert_eq!(d.eth.dst_addr, VM_MAC, "unicast to the soliciting host");
    assert_eq!(d.eth.src_addr, QR0_MAC);
    let ip = d.ip6.unwrap();
    assert_eq!(
        ip.src_addr,
        QR0_MAC.link_local_ipv6(),
        "RAs come from the link-local"
    );
    assert_eq!(ip.dst_addr, vm_ll());
    assert_eq!(ip.hop_limit, 255);
    let stats = r.stats(QR0).unwrap();
    assert_eq!((stats.rx_rs, stats.tx_ra_solicited), (1, 1));
    ra_summary(&d.ndisc())
}

fn prefix(p: &str, l: bool, a: bool) -> (String, bool, bool, u32, u32) {
    (p.to_string(), l, a, 86_400, 14_400)
}

#[test]
fn ra_flags_follow_the_mode_table_slaac() {
    let ra = solicit("slaac");
    assert_eq!(
        ra,
        RaSummary {
            managed: false,
            other: false,
            router_lifetime: 300,
            cur_hop_limit: 64,
            prefixes: vec![prefix("2001:db8:cafe::/64", true, true)],
            slla: Some(QR0_MAC),
            mtu: Some(1500),
            rdnss: vec!["2001:db8:cafe:a::e".into()],
            dnssl: vec![],
        }
    );
}

#[test]
fn ra_flags_follow_the_mode_table_stateless() {
    let ra = solicit("dhcpv6-stateless");
    assert!(!ra.managed && ra.other, "{ra:?}");
    assert_eq!(
        ra.prefixes,
        vec![prefix("2001:db8:cafe:2::/64", true, true)]
    );
    assert_eq!(ra.rdnss, vec!["2001:db8:cafe:a::e".to_string()]);
    assert_eq!(ra.dnssl, vec!["openstacklocal".to_string()]);
}

#[test]
fn ra_flags_follow_the_mode_table_stateful() {
    let ra = solicit("dhcpv6-stateful");
    assert!(ra.managed && !ra.other, "{ra:?}");
    assert_eq!(
        ra.prefixes,
        vec![prefix("2001:db8:cafe:1::/64", true, false)]
    );
}

#[test]
fn ra_flags_follow_the_mode_table_other_examples() {
    for name in ["dual-stack", "security-groups", "forwarding"] {
        let ra = solicit(name);
        assert!(!ra.managed && !ra.other, "{name}: {ra:?}");
        assert_eq!(ra.prefixes.len(), 1, "{name}");
        assert!(ra.prefixes[0].1 && ra.prefixes[0].2, "{name}: L and A");
    }
    // Before the upstream delegates a prefix, the PD subnet's RA has none.
    let ra = solicit("prefix-delegation");
    assert!(ra.prefixes.is_empty(), "{ra:?}");
}

#[test]
fn rs_without_slla_is_answered_to_the_frame_source() {
    let config = example("slaac");
    let mut r = router(&config, T0);
    let out = process(&mut r, QR0, &rs_frame(vm_ll(), false, 255), T0);
    assert_eq!(out.len(), 1);
    assert_eq!(decode(out[0].0, &out[0].1).eth.dst_addr, VM_MAC);
}

#[test]
fn rs_from_unspecified_brings_the_multicast_ra_forward() {
    let config = example("slaac");
    let mut r = router(&config, T0);
    // The first unsolicited RA goes out at start.
    let first = timers(&mut r, T0);
    assert_eq!(first.len(), 1);
    let next = r.next_deadline().unwrap();
    assert!(next > T0 + Duration::from_secs(3));
    let t1 = T0 + Duration::from_secs(1);
    let out = process(&mut r, QR0, &rs_frame(ip6("::"), false, 255), t1);
    assert!(out.is_empty(), "no unicast answer to ::");
    let forward = r.next_deadline().unwrap();
    // MIN_DELAY_BETWEEN_RAS after the last multicast RA, not sooner.
    assert_eq!(forward, T0 + Duration::from_secs(3));
    let out = timers(&mut r, forward);
    assert_eq!(out.len(), 1);
    let d = decode(out[0].0, &out[0].1);
    assert_eq!(d.ip6.unwrap().dst_addr, ip6("ff02::1"));
    assert_eq!(d.eth.dst_addr, EthernetAddress([0x33, 0x33, 0, 0, 0, 1]));
}

#[test]
fn rs_validation_drops() {
    let config = example("slaac");
    let mut r = router(&config, T0);
    // Hop limit other than 255: it crossed a router (RFC 4861 §6.1.1).
    assert!(process(&mut r, QR0, &rs_frame(vm_ll(), true, 64), T0).is_empty());
    // SLLA from the unspecified address.
    assert!(process(&mut r, QR0, &rs_frame(ip6("::"), true, 255), T0).is_empty());
    // ICMP code not 0.
    let mut bad_code = rs_frame(vm_ll(), true, 255);
    bad_code[55] = 1;
    // Fix the checksum so only the code is wrong.
    let cks = u16::from_be_bytes([bad_code[56], bad_code[57]]).wrapping_sub(1);
    bad_code[56..58].copy_from_slice(&cks.to_be_bytes());
    assert!(process(&mut r, QR0, &bad_code, T0).is_empty());
    // Zero-length option.
    let mut zero_opt = rs_frame(vm_ll(), true, 255);
    zero_opt[63] = 0;
    assert!(process(&mut r, QR0, &zero_opt, T0).is_empty());
    let s = r.stats(QR0).unwrap();
    assert_eq!(s.drops_for(DropReason::NdInvalid), 3, "{:?}", s.drops);
    // The zero-length option also breaks the checksum: either counter, never an answer.
    assert_eq!(
        s.drops_for(DropReason::NdInvalid)
            + s.drops_for(DropReason::NdBadOption)
            + s.drops_for(DropReason::Icmpv6BadChecksum),
        4
    );
    assert_eq!(s.tx_frames, 0);
}

#[test]
fn rs_flood_is_rate_limited() {
    let config = example("slaac");
    let mut r = router(&config, T0);
    let rs = rs_frame(vm_ll(), true, 255);
    let answered: usize = (0..50).map(|_| process(&mut r, QR0, &rs, T0).len()).sum();
    assert_eq!(answered, 20, "burst of 20");
    assert_eq!(
        r.stats(QR0).unwrap().drops_for(DropReason::RsRateLimited),
        30
    );
    // Ten per second refill.
    let later = T0 + Duration::from_secs(1);
    let answered: usize = (0..50)
        .map(|_| process(&mut r, QR0, &rs, later).len())
        .sum();
    assert_eq!(answered, 10);
}

#[test]
fn rs_on_an_interface_without_ra_is_counted() {
    let config = example("slaac");
    let mut r = router(&config, T0);
    let out = process(&mut r, QG0, &rs_frame(vm_ll(), true, 255), T0);
    assert!(out.is_empty());
    assert_eq!(r.stats(QG0).unwrap().drops_for(DropReason::RsNoRa), 1);
}

fn na_of(
    out: &[(IfaceId, Vec<u8>)],
) -> (
    EthernetAddress,
    std::net::Ipv6Addr,
    std::net::Ipv6Addr,
    NdiscNeighborFlags,
    std::net::Ipv6Addr,
    Option<EthernetAddress>,
) {
    assert_eq!(out.len(), 1);
    let d = decode(out[0].0, &out[0].1);
    let ip = d.ip6.unwrap();
    assert_eq!(ip.hop_limit, 255);
    let NdiscRepr::NeighborAdvert {
        flags,
        target_addr,
        options,
    } = d.ndisc()
    else {
        panic!("not an NA");
    };
    (
        d.eth.dst_addr,
        ip.src_addr,
        ip.dst_addr,
        flags,
        target_addr,
        options.target_link_layer_addr(),
    )
}

#[test]
fn ns_for_the_gateway_with_slla_is_answered_solicited() {
    let config = example("slaac");
    let mut r = router(&config, T0);
    let gw = ip6("2001:db8:cafe::1");
    let vm = ip6("2001:db8:cafe:0:f816:3eff:fe79:5acc");
    let out = process(
        &mut r,
        QR0,
        &ns_frame(vm, solicited_node(&gw), gw, true, 255),
        T0,
    );
    let (dst_mac, src, dst, flags, target, tlla) = na_of(&out);
    assert_eq!(
        (dst_mac, src, dst, target, tlla),
        (VM_MAC, gw, vm, gw, Some(QR0_MAC))
    );
    assert!(flags.router() && flags.solicited() && flags.override_());
}

#[test]
fn unicast_ns_without_slla_goes_to_the_frame_source() {
    let config = example("slaac");
    let mut r = router(&config, T0);
    let ll = QR0_MAC.link_local_ipv6();
    let out = process(&mut r, QR0, &ns_frame(vm_ll(), ll, ll, false, 255), T0);
    let (dst_mac, src, dst, flags, target, _) = na_of(&out);
    assert_eq!((dst_mac, src, dst, target), (VM_MAC, ll, vm_ll(), ll));
    assert!(flags.solicited());
}

#[test]
fn dad_probe_for_our_address_is_defended_to_all_nodes() {
    let config = example("slaac");
    let mut r = router(&config, T0);
    let ll = QR0_MAC.link_local_ipv6();
    let out = process(
        &mut r,
        QR0,
        &ns_frame(ip6("::"), solicited_node(&ll), ll, false, 255),
        T0,
    );
    let (dst_mac, src, dst, flags, target, tlla) = na_of(&out);
    assert_eq!(dst, ip6("ff02::1"));
    assert_eq!(dst_mac, EthernetAddress([0x33, 0x33, 0, 0, 0, 1]));
    assert_eq!((src, target, tlla), (ll, ll, Some(QR0_MAC)));
    assert!(flags.router() && !flags.solicited() && flags.override_());
}

#[test]
fn ns_drops() {
    let config = example("slaac");
    let mut r = router(&config, T0);
    let gw = ip6("2001:db8:cafe::1");
    let other = ip6("2001:db8:cafe::99");
    // Not our address.
    assert!(process(
        &mut r,
        QR0,
        &ns_frame(vm_ll(), solicited_node(&other), other, true, 255),
        T0
    )
    .is_empty());
    // DAD probe to a non-solicited-node destination.
    assert!(process(
        &mut r,
        QR0,
        &ns_frame(ip6("::"), ip6("ff02::1"), gw, false, 255),
        T0
    )
    .is_empty());
    // Hop limit 254.
    assert!(process(
        &mut r,
        QR0,
        &ns_frame(vm_ll(), solicited_node(&gw), gw, true, 254),
        T0
    )
    .is_empty());
    // Multicast target.
    assert!(process(
        &mut r,
        QR0,
        &ns_frame(vm_ll(), solicited_node(&gw), ip6("ff02::1"), true, 255),
        T0
    )
    .is_empty());
    // Bad checksum.
    let mut bad = ns_frame(vm_ll(), solicited_node(&gw), gw, true, 255);
    bad[57] ^= 0xff;
    assert!(process(&mut r, QR0, &bad, T0).is_empty());
    // A solicited-node group of no router address: not joined.
    assert!(process(
        &mut r,
        QR0,
        &ns_frame(vm_ll(), solicited_node(&other), gw, true, 255),
        T0
    )
    .is_empty());
    let s = r.stats(QR0).unwrap();
    assert_eq!(
        s.drops_for(DropReason::NdTargetNotOurs),
        0,
        "the first NS's group is not joined"
    );
    assert_eq!(s.drops_for(DropReason::Ipv6MulticastNotJoined), 2);
    assert_eq!(s.drops_for(DropReason::NdInvalid), 3);
    assert_eq!(s.drops_for(DropReason::Icmpv6BadChecksum), 1);
    // Unicast NS for a non-router target reaches the ND stage and is counted there.
    let ll = QR0_MAC.link_local_ipv6();
    assert!(process(&mut r, QR0, &ns_frame(vm_ll(), ll, other, true, 255), T0).is_empty());
    assert_eq!(
        r.stats(QR0).unwrap().drops_for(DropReason::NdTargetNotOurs),
        1
    );
}

#[test]
fn echo_requests_to_router_addresses_are_answered() {
    let config = example("slaac");
    let mut r = router(&config, T0);
    let vm = ip6("2001:db8:cafe:0:f816:3eff:fe79:5acc");
    for dst in ["2001:db8:cafe::1", "2001:db8:cafe:17::66"] {
        let dst = ip6(dst);
        let req = Icmpv6Repr::EchoRequest {
            ident: 0x35e8,
            seq_no: 7,
            data: b"routelet ping",
        };
        let out = process(
            &mut r,
            QR0,
            &icmpv6_frame(VM_MAC, QR0_MAC, vm, dst, 64, &req),
            T0,
        );
        assert_eq!(out.len(), 1, "{dst}");
        let d = decode(out[0].0, &out[0].1);
        let ip = d.ip6.unwrap();
        assert_eq!(
            (
                d.iface,
                d.eth.dst_addr,
                ip.src_addr,
                ip.dst_addr,
                ip.hop_limit
            ),
            (QR0, VM_MAC, dst, vm, 64)
        );
        assert_eq!(
            d.icmp6,
            Some(Icmpv6Repr::EchoReply {
                ident: 0x35e8,
                seq_no: 7,
                data: b"routelet ping"
            })
        );
    }
    assert_eq!(r.stats(QR0).unwrap().tx_echo_reply, 2);
}

#[test]
fn ipv4_echo_and_arp_for_the_gateway() {
    let config = example("dual-stack");
    let mut r = router(&config, T0);
    let vm4 = ip4("198.51.100.4");
    let gw4 = ip4("198.51.100.1");
    let request = ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: VM_MAC,
        source_protocol_addr: vm4,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: gw4,
    };
    let out = process(
        &mut r,
        QR0,
        &arp_frame(VM_MAC, EthernetAddress::BROADCAST, &request),
        T0,
    );
    assert_eq!(out.len(), 1);
    let d = decode(out[0].0, &out[0].1);
    assert_eq!(d.eth.dst_addr, VM_MAC);
    assert_eq!(
        d.arp,
        Some(ArpRepr {
            operation: ArpOperation::Reply,
            source_hardware_addr: QR0_MAC,
            source_protocol_addr: gw4,
            target_hardware_addr: VM_MAC,
            target_protocol_addr: vm4,
        })
    );
    // Not ours: no answer, counted.
    let other = ArpRepr {
        target_protocol_addr: ip4("198.51.100.9"),
        ..request
    };
    assert!(process(
        &mut r,
        QR0,
        &arp_frame(VM_MAC, EthernetAddress::BROADCAST, &other),
        T0
    )
    .is_empty());
    assert_eq!(r.stats(QR0).unwrap().drops_for(DropReason::ArpNotForUs), 1);

    let req = Icmpv4Repr::EchoRequest {
        ident: 0x3d5a,
        seq_no: 1,
        data: &[0xab; 56],
    };
    let out = process(
        &mut r,
        QR0,
        &icmpv4_frame(VM_MAC, QR0_MAC, vm4, gw4, &req),
        T0,
    );
    assert_eq!(out.len(), 1);
    let d = decode(out[0].0, &out[0].1);
    let ip = d.ip4.unwrap();
    assert_eq!((ip.src_addr, ip.dst_addr, ip.hop_limit), (gw4, vm4, 64));
    assert_eq!(
        d.icmp4,
        Some(Icmpv4Repr::EchoReply {
            ident: 0x3d5a,
            seq_no: 1,
            data: &[0xab; 56]
        })
    );
}

#[test]
fn periodic_ras_follow_rfc4861_timing() {
    let config = example("slaac");
    let mut r = router(&config, T0);
    assert_eq!(
        r.next_deadline(),
        Some(T0),
        "the first RA goes out at start"
    );
    let mut now = T0;
    let mut intervals = vec![];
    for _ in 0..20 {
        let out = timers(&mut r, now);
        assert_eq!(out.len(), 1);
        let d = decode(out[0].0, &out[0].1);
        assert_eq!(d.ip6.unwrap().dst_addr, ip6("ff02::1"));
        assert_eq!(ra_summary(&d.ndisc()).router_lifetime, 300);
        let next = r.next_deadline().unwrap();
        intervals.push(next - now);
        now = next;
    }
    // The first three at most MAX_INITIAL_RTR_ADVERT_INTERVAL (16 s) apart.
    for i in &intervals[..3] {
        // The random pick in [30, 100] s always exceeds 16 s here.
        assert_eq!(*i, Duration::from_secs(16));
    }
    // Then uniformly in [MinRtrAdvInterval, MaxRtrAdvInterval] = [30, 100] s, spread.
    for i in &intervals[3..] {
        assert!(
            *i >= Duration::from_secs(30) && *i <= Duration::from_secs(100),
            "{i:?}"
        );
    }
    let distinct: std::collections::BTreeSet<_> = intervals[3..].iter().collect();
    assert!(
        distinct.len() > 5,
        "intervals are randomized: {intervals:?}"
    );
    assert_eq!(r.stats(QR0).unwrap().tx_ra_unsolicited, 20);
    // Nothing due before the deadline.
    assert!(timers(&mut r, now - Duration::from_millis(1)).is_empty());
}

#[test]
fn shutdown_sends_a_final_ra_with_lifetime_zero() {
    let config = example("slaac");
    let mut r = router(&config, T0);
    let mut tx = TxBatch::default();
    r.shutdown(T0, &mut tx);
    let frames: Vec<_> = tx.iter().map(|(i, b)| (i, b.to_vec())).collect();
    assert_eq!(frames.len(), 1, "only qr0 advertises");
    let d = decode(frames[0].0, &frames[0].1);
    let ra = ra_summary(&d.ndisc());
    assert_eq!(ra.router_lifetime, 0);
    assert_eq!(
        ra.prefixes.len(),
        1,
        "prefixes stay: only the default route goes"
    );
}

#[test]
fn malformed_frames_are_counted_not_answered() {
    let config = example("dual-stack");
    let mut r = router(&config, T0);
    let good = rs_frame(vm_ll(), true, 255);
    for cut in 0..good.len() {
        let out = process(&mut r, QR0, &good[..cut], T0);
        assert!(out.is_empty(), "truncated at {cut}");
    }
    let s = r.stats(QR0).unwrap();
    assert_eq!(s.rx_frames as usize, good.len());
    assert_eq!(s.total_drops() as usize, good.len(), "{:?}", s.drops);
    // A looped-back frame with our own source MAC.
    let mut own = good.clone();
    own[6..12].copy_from_slice(&QR0_MAC.0);
    assert!(process(&mut r, QR0, &own, T0).is_empty());
    assert_eq!(r.stats(QR0).unwrap().drops_for(DropReason::OwnSourceMac), 1);
    // An interface the router does not have.
    assert!(process(&mut r, IfaceId(9), &good, T0).is_empty());
}
