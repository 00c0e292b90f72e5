//! The engine's stages and dispatcher through `Router::process`: verdicts
//! (consumed, punted, traced), batches equal to frame-by-frame processing,
//! adjacencies that follow the neighbor, and the defects a review found
//! (fragment offsets that wrap, RS and IsRouter, quoted TTLs, spoofed
//! router sources, bogus link-layer addresses).

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use common::*;
use routelet::engine::{
    Consumed, DropReason, IfaceId, Instant, Next, Router, Service, Stage, Step, TxBatch,
};
use routelet::wire::{
    ArpOperation, ArpRepr, EthernetAddress, Icmpv4DstUnreachable, Icmpv4Repr, Icmpv6DstUnreachable,
    Icmpv6Repr, Ipv4Packet, Ipv6Packet, NdiscNeighborFlags, NdiscOption, NdiscOptions, NdiscRepr,
};

const QR0: IfaceId = IfaceId(0);
const QG0: IfaceId = IfaceId(1);
const T0: Instant = Instant::from_secs(2000);

fn vm6() -> Ipv6Addr {
    ip6("2001:db8:cafe:0:f816:3eff:fe79:5acc")
}

fn upstream6() -> Ipv6Addr {
    ip6("2001:db8:cafe:17::1")
}

fn gw_ll() -> Ipv6Addr {
    QR0_MAC.link_local_ipv6()
}

/// An ARP reply from the upstream 203.0.113.1 to the router on qg0.
fn upstream_arp_reply(mac: EthernetAddress) -> Vec<u8> {
    arp_frame(
        mac,
        QG0_MAC,
        &ArpRepr {
            operation: ArpOperation::Reply,
            source_hardware_addr: mac,
            source_protocol_addr: ip4("203.0.113.1"),
            target_hardware_addr: QG0_MAC,
            target_protocol_addr: ip4("203.0.113.102"),
        },
    )
}

/// The forwarding example, but with 203.0.113.128/25 behind the upstream
/// 203.0.113.1, so that IPv4 has a gateway route inside the test ranges.
const STAGES_TOML: &str = r#"
[router]
name = "stages"

[[interface]]
name = "qr0"
mac = "fa:16:3e:11:11:01"
subnets = ["v6", "v4"]

[[interface]]
name = "qg0"
external = true
mac = "fa:16:3e:11:11:02"
mtu = 1280
addresses = ["2001:db8:cafe:17::66/64", "203.0.113.102/25"]

[[subnet]]
name = "v6"
ip_version = 6
cidr = "2001:db8:cafe::/64"
gateway_ip = "2001:db8:cafe::1"
ipv6_ra_mode = "slaac"
ipv6_address_mode = "slaac"

[[subnet]]
name = "v4"
ip_version = 4
cidr = "198.51.100.0/24"
gateway_ip = "198.51.100.1"

[[route]]
destination = "2001:db8:beef::/48"
nexthop = "2001:db8:cafe:17::1"

[[route]]
destination = "203.0.113.128/25"
nexthop = "203.0.113.1"
"#;

/// Behind the upstream 203.0.113.1.
fn far4() -> Ipv4Addr {
    ip4("203.0.113.150")
}

/// The router of [`STAGES_TOML`] with both upstream neighbors resolved.
fn resolved_router() -> Router {
    let config = routelet::config::Config::from_toml_str(STAGES_TOML).unwrap();
    let mut r = router(&config, T0);
    let v6 = udp6_frame(VM_MAC, QR0_MAC, vm6(), ip6("2001:db8:beef::1"), 64, 16);
    assert_eq!(process(&mut r, QR0, &v6, T0).len(), 1, "an NS");
    let na = na_frame(EXT_MAC, QG0_MAC, upstream6(), ip6("2001:db8:cafe:17::66"));
    assert_eq!(process(&mut r, QG0, &na, T0).len(), 1, "the queued packet");
    let v4 = udp4_frame(VM_MAC, QR0_MAC, ip4("198.51.100.10"), far4(), 64, false, 16);
    assert_eq!(process(&mut r, QR0, &v4, T0).len(), 1, "an ARP request");
    assert_eq!(
        process(&mut r, QG0, &upstream_arp_reply(EXT_MAC), T0).len(),
        1
    );
    r
}

fn ns_frame(src: Ipv6Addr, target: Ipv6Addr, slla: EthernetAddress) -> Vec<u8> {
    let opts = [NdiscOption::SourceLinkLayerAddr(slla)];
    icmpv6_frame(
        VM_MAC,
        QR0_MAC,
        src,
        target,
        255,
        &Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
            target_addr: target,
            options: NdiscOptions::List(&opts),
        }),
    )
}

fn na_with(target: Ipv6Addr, tlla: EthernetAddress, flags: NdiscNeighborFlags) -> Vec<u8> {
    let opts = [NdiscOption::TargetLinkLayerAddr(tlla)];
    icmpv6_frame(
        VM_MAC,
        QR0_MAC,
        target,
        gw_ll(),
        255,
        &Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
            flags,
            target_addr: target,
            options: NdiscOptions::List(&opts),
        }),
    )
}

fn rs_frame(src: Ipv6Addr, slla: EthernetAddress) -> Vec<u8> {
    let opts = [NdiscOption::SourceLinkLayerAddr(slla)];
    icmpv6_frame(
        VM_MAC,
        EthernetAddress::from_ipv6_multicast(&ip6("ff02::2")),
        src,
        ip6("ff02::2"),
        255,
        &Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit {
            options: NdiscOptions::List(&opts),
        }),
    )
}

#[test]
fn a_fragment_reaching_past_65535_is_dropped_at_input() {
    let mut r = resolved_router();
    // Offset 64992 + 20 + 1200 passes 65535: re-fragmenting it at the
    // 1280-byte MTU used to wrap the second piece's offset to 712.
    let mut frame = udp4_frame(
        VM_MAC,
        QR0_MAC,
        ip4("198.51.100.10"),
        far4(),
        64,
        false,
        1400,
    );
    let mut ip = Ipv4Packet::new_unchecked(&mut frame[14..]);
    ip.set_frag_offset(64992);
    ip.fill_checksum();
    assert!(process(&mut r, QR0, &frame, T0).is_empty());
    let s = r.stats(QR0).unwrap();
    assert_eq!(s.drops_for(DropReason::Ipv4BadFragment), 1);
}

#[test]
fn refragmenting_a_late_fragment_never_wraps_its_offset() {
    let mut r = resolved_router();
    // Offset 64000 + 20 + 1408 = 65428: legal, and larger than qg0's MTU.
    let mut frame = udp4_frame(
        VM_MAC,
        QR0_MAC,
        ip4("198.51.100.10"),
        far4(),
        64,
        false,
        1400,
    );
    let mut ip = Ipv4Packet::new_unchecked(&mut frame[14..]);
    ip.set_frag_offset(64000);
    ip.set_more_frags(true);
    ip.fill_checksum();
    let out = process(&mut r, QR0, &frame, T0);
    assert_eq!(out.len(), 2, "two fragments at MTU 1280");
    let mut next_offset = 64000;
    for (iface, bytes) in &out {
        assert_eq!(*iface, QG0);
        let frag = Ipv4Packet::new_checked(&bytes[14..]).unwrap();
        assert!(frag.verify_checksum());
        assert_eq!(
            usize::from(frag.frag_offset()),
            next_offset,
            "offsets follow on"
        );
        assert!(frag.more_frags(), "more fragments follow the original");
        assert_eq!(frag.ttl(), 63);
        next_offset += frag.payload().len();
    }
    assert_eq!(next_offset, 64000 + 1408);
}

#[test]
fn a_router_solicitation_clears_is_router() {
    let config = example("slaac");
    let mut r = router(&config, T0);
    let vm = vm_ll();
    // An NS teaches the router the VM (STALE, not a router)...
    process(&mut r, QR0, &ns_frame(vm, gw_ll(), VM_MAC), T0);
    // ...an NA with R=1 says it is one...
    let flags = NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::ROUTER;
    process(&mut r, QR0, &na_with(vm, VM_MAC, flags), T0);
    assert!(r.neighbors_v6(QR0).unwrap().get(vm).unwrap().is_router);
    // ...and an RS from it says it is not (RFC 4861 §6.2.6).
    let out = process(&mut r, QR0, &rs_frame(vm, VM_MAC), T0);
    assert_eq!(out.len(), 1, "the RS is answered");
    let entry = r.neighbors_v6(QR0).unwrap().get(vm).unwrap();
    assert!(!entry.is_router, "IsRouter cleared");
    assert_eq!(entry.mac, Some(VM_MAC));
    assert_eq!(r.neighbors_v6(QR0).unwrap().stats().router_cleared, 1);
}

/// Drives the neighbor timers until something is emitted.
fn run_timers_until_output(r: &mut Router, from: Instant) -> Vec<(IfaceId, Vec<u8>)> {
    for ms in (100..10_000).step_by(100) {
        let now = from + std::time::Duration::from_millis(ms);
        let out: Vec<_> = timers(r, now)
            .into_iter()
            .filter(|(_, f)| {
                let d = decode(QG0, f);
                d.icmp4.is_some() || matches!(d.icmp6, Some(Icmpv6Repr::DstUnreachable { .. }))
            })
            .collect();
        if !out.is_empty() {
            return out;
        }
    }
    Vec::new()
}

#[test]
fn host_unreachable_quotes_the_datagram_as_received() {
    let config = example("forwarding");
    let mut r = router(&config, T0);
    let frame = udp4_frame(
        EXT_MAC,
        QG0_MAC,
        ip4("203.0.113.1"),
        ip4("198.51.100.77"),
        64,
        false,
        32,
    );
    let out = process(&mut r, QG0, &frame, T0);
    assert_eq!(out.len(), 1, "an ARP request on qr0");
    let errors = run_timers_until_output(&mut r, T0);
    assert_eq!(errors.len(), 1, "one host unreachable");
    let d = decode(errors[0].0, &errors[0].1);
    assert_eq!(d.eth.dst_addr, EXT_MAC, "back to the previous hop");
    let Some(Icmpv4Repr::DstUnreachable { reason, data, .. }) = d.icmp4 else {
        panic!("not a destination unreachable: {:?}", d.icmp4);
    };
    assert_eq!(reason, Icmpv4DstUnreachable::HostUnreachable);
    let quoted = Ipv4Packet::new_unchecked(data);
    assert_eq!(quoted.ttl(), 64, "the TTL as received");
    assert!(quoted.verify_checksum(), "the quoted header as received");
    assert_eq!(&data[..28], &frame[14..42]);
}

#[test]
fn address_unreachable_quotes_the_packet_as_received() {
    let config = example("forwarding");
    let mut r = router(&config, T0);
    let frame = udp6_frame(
        EXT_MAC,
        QG0_MAC,
        upstream6(),
        ip6("2001:db8:cafe::77"),
        64,
        32,
    );
    assert_eq!(process(&mut r, QG0, &frame, T0).len(), 1, "an NS on qr0");
    let errors = run_timers_until_output(&mut r, T0);
    assert_eq!(errors.len(), 1);
    let d = decode(errors[0].0, &errors[0].1);
    let Some(Icmpv6Repr::DstUnreachable { reason, data }) = d.icmp6 else {
        panic!("not a destination unreachable");
    };
    assert_eq!(reason, Icmpv6DstUnreachable::AddrUnreachable);
    assert_eq!(data, &frame[14..], "quoted unchanged, hop limit 64");
}

#[test]
fn packets_from_the_routers_own_addresses_are_not_forwarded() {
    let mut r = resolved_router();
    let v6 = udp6_frame(
        VM_MAC,
        QR0_MAC,
        ip6("2001:db8:cafe:17::66"),
        ip6("2001:db8:beef::1"),
        64,
        8,
    );
    assert!(process(&mut r, QR0, &v6, T0).is_empty());
    let v4 = udp4_frame(VM_MAC, QR0_MAC, ip4("203.0.113.102"), far4(), 64, false, 8);
    assert!(process(&mut r, QR0, &v4, T0).is_empty());
    let gw4 = udp4_frame(VM_MAC, QR0_MAC, ip4("198.51.100.1"), far4(), 64, false, 8);
    assert!(process(&mut r, QR0, &gw4, T0).is_empty());
    assert_eq!(
        r.stats(QR0).unwrap().drops_for(DropReason::SourceIsRouter),
        3
    );
    // The same packets from a host address go through.
    let ok = udp6_frame(VM_MAC, QR0_MAC, vm6(), ip6("2001:db8:beef::1"), 64, 8);
    assert_eq!(process(&mut r, QR0, &ok, T0).len(), 1);
}

#[test]
fn bogus_link_layer_addresses_never_reach_the_cache() {
    let config = example("forwarding");
    let mut r = router(&config, T0);
    let vm4 = ip4("198.51.100.10");
    let request = |sender_mac: EthernetAddress| {
        arp_frame(
            VM_MAC,
            EthernetAddress::BROADCAST,
            &ArpRepr {
                operation: ArpOperation::Request,
                source_hardware_addr: sender_mac,
                source_protocol_addr: vm4,
                target_hardware_addr: EthernetAddress([0; 6]),
                target_protocol_addr: ip4("198.51.100.1"),
            },
        )
    };
    assert_eq!(
        process(&mut r, QR0, &request(VM_MAC), T0).len(),
        1,
        "answered"
    );
    let bad = [
        (EthernetAddress::BROADCAST, DropReason::LinkAddrMulticast),
        (
            EthernetAddress([0x01, 0, 0x5e, 0, 0, 1]),
            DropReason::LinkAddrMulticast,
        ),
        (EthernetAddress([0; 6]), DropReason::LinkAddrZero),
        (QG0_MAC, DropReason::LinkAddrOwn),
    ];
    for (mac, reason) in bad {
        assert!(
            process(&mut r, QR0, &request(mac), T0).is_empty(),
            "{mac} unanswered"
        );
        assert!(r.stats(QR0).unwrap().drops_for(reason) >= 1, "{reason:?}");
    }
    let entry = r.neighbors_v4(QR0).unwrap().get(vm4).unwrap();
    assert_eq!(entry.mac, Some(VM_MAC), "the entry is left alone");

    // ND: an NS with the router's own MAC, an NA with zeros.
    let vm = vm_ll();
    assert!(process(&mut r, QR0, &ns_frame(vm, gw_ll(), QR0_MAC), T0).is_empty());
    let flags = NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE;
    assert!(process(
        &mut r,
        QR0,
        &na_with(vm, EthernetAddress([0; 6]), flags),
        T0
    )
    .is_empty());
    assert!(r.neighbors_v6(QR0).unwrap().get(vm).is_none());
    let s = r.stats(QR0).unwrap();
    assert_eq!(s.drops_for(DropReason::LinkAddrOwn), 2);
    assert_eq!(s.drops_for(DropReason::LinkAddrZero), 2);
}

#[test]
fn consumed_frames_are_not_drops() {
    let mut r = resolved_router();
    let before = r.stats(QG0).unwrap().clone();
    let na = na_frame(EXT_MAC, QG0_MAC, upstream6(), ip6("2001:db8:cafe:17::66"));
    assert!(process(&mut r, QG0, &na, T0).is_empty());
    let after = r.stats(QG0).unwrap();
    assert_eq!(after.total_drops(), before.total_drops());
    assert_eq!(
        after.consumed_for(Consumed::NeighborAdvert),
        before.consumed_for(Consumed::NeighborAdvert) + 1
    );
}

/// The UDP frames to port 547 of a client capture.
fn dhcpv6_client_frames(name: &str) -> Vec<Vec<u8>> {
    routelet::io::pcap::read_capture(&pcap(name))
        .unwrap()
        .into_iter()
        .map(|f| f.data)
        .filter(|f| f.len() > 58 && f[20] == 17 && f[56..58] == [0x02, 0x23])
        .collect()
}

#[test]
fn dhcpv6_is_punted_on_a_dhcpv6_link_only() {
    let frames = dhcpv6_client_frames("dhcpv6-stateful-client-qr0.pcap");
    assert!(!frames.is_empty(), "the capture has client messages");
    let config = example("dhcpv6-stateful");
    let mut r = router(&config, T0);
    let mut tx = TxBatch::default();
    r.process(QR0, &frames[0], T0, &mut tx);
    let punts: Vec<_> = tx.punts().collect();
    assert_eq!(punts.len(), 1);
    assert_eq!(punts[0].service, Service::Dhcpv6);
    assert_eq!(punts[0].ingress, QR0);
    assert_eq!(punts[0].frame, &frames[0][..]);
    assert_eq!(tx.len(), 0, "nothing sent");
    assert_eq!(r.stats(QR0).unwrap().punted, 1);

    // A SLAAC-only link runs no DHCPv6 server: ff02::1:2 is not joined.
    let mut r = router(&example("slaac"), T0);
    let mut tx = TxBatch::default();
    r.process(QR0, &frames[0], T0, &mut tx);
    assert_eq!(tx.punt_count(), 0);
    assert_eq!(
        r.stats(QR0)
            .unwrap()
            .drops_for(DropReason::Ipv6MulticastNotJoined),
        1
    );
}

#[test]
fn a_trace_names_every_stage_and_changes_nothing() {
    let mut traced = resolved_router();
    let mut plain = resolved_router();
    let frame = udp6_frame(VM_MAC, QR0_MAC, vm6(), ip6("2001:db8:beef::1"), 64, 8);
    let mut tx = TxBatch::default();
    let trace = traced.trace(QR0, &frame, T0, &mut tx);
    assert_eq!(
        trace.stages(),
        [
            Stage::L2,
            Stage::Ip6Input,
            Stage::Lookup,
            Stage::Filter,
            Stage::Rewrite
        ]
    );
    assert_eq!(trace.verdict(), Some(Next::Forwarded));
    assert!(matches!(trace.steps[2], (Stage::Lookup, Step::Pass)));
    let sent: Vec<_> = tx.iter().map(|(i, b)| (i, b.to_vec())).collect();
    assert_eq!(sent, process(&mut plain, QR0, &frame, T0));

    let na = na_frame(EXT_MAC, QG0_MAC, upstream6(), ip6("2001:db8:cafe:17::66"));
    let trace = traced.trace(QG0, &na, T0, &mut TxBatch::default());
    assert_eq!(
        trace.stages(),
        [
            Stage::L2,
            Stage::Ip6Input,
            Stage::Lookup,
            Stage::Local6,
            Stage::Nd
        ]
    );
    assert_eq!(
        trace.verdict(),
        Some(Next::Consumed(Consumed::NeighborAdvert))
    );

    let ttl1 = udp6_frame(VM_MAC, QR0_MAC, vm6(), ip6("2001:db8:beef::1"), 1, 8);
    let trace = traced.trace(QR0, &ttl1, T0, &mut TxBatch::default());
    assert_eq!(
        trace.stages(),
        [Stage::L2, Stage::Ip6Input, Stage::Lookup, Stage::IcmpError]
    );
}

#[test]
fn a_batch_is_the_same_as_one_frame_at_a_time() {
    let mut frames: Vec<Vec<u8>> = Vec::new();
    for i in 0..40u8 {
        let dst = Ipv6Addr::new(0x2001, 0xdb8, 0xbeef, 0, 0, 0, 0, u16::from(i) + 1);
        frames.push(udp6_frame(
            VM_MAC,
            QR0_MAC,
            vm6(),
            dst,
            64 - i % 3,
            8 + usize::from(i),
        ));
        let dst4 = Ipv4Addr::new(203, 0, 113, 130 + i);
        frames.push(udp4_frame(
            VM_MAC,
            QR0_MAC,
            ip4("198.51.100.10"),
            dst4,
            2 - i % 2,
            false,
            8,
        ));
        if i % 7 == 0 {
            frames.push(ns_frame(vm_ll(), gw_ll(), VM_MAC));
            frames.push(vec![0u8; usize::from(i)]);
            frames.push(udp6_frame(
                VM_MAC,
                QR0_MAC,
                vm6(),
                ip6("2001:db8:dead::1"),
                64,
                8,
            ));
        }
    }
    let refs: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
    let mut one = resolved_router();
    let mut batched = resolved_router();
    let mut expected = TxBatch::default();
    for f in &refs {
        one.process(QR0, f, T0, &mut expected);
    }
    let mut got = TxBatch::default();
    batched.process_batch(QR0, &refs, T0, &mut got);
    let a: Vec<_> = expected.iter().map(|(i, b)| (i, b.to_vec())).collect();
    let b: Vec<_> = got.iter().map(|(i, b)| (i, b.to_vec())).collect();
    assert_eq!(a.len(), b.len());
    assert_eq!(a, b);
    assert_eq!(one.all_stats(), batched.all_stats());
}

#[test]
fn the_adjacency_follows_the_neighbors_new_address() {
    let mut r = resolved_router();
    let frame = udp6_frame(VM_MAC, QR0_MAC, vm6(), ip6("2001:db8:beef::1"), 64, 8);
    for ms in 1..4 {
        let now = T0 + std::time::Duration::from_millis(ms);
        let out = process(&mut r, QR0, &frame, now);
        assert_eq!(decode(out[0].0, &out[0].1).eth.dst_addr, EXT_MAC);
    }
    // The first packet filled the adjacency; the later ones went by it and
    // did not ask the neighbor table (its entry was last used at +1 ms).
    let entry = r.neighbors_v6(QG0).unwrap().get(upstream6()).unwrap();
    assert_eq!(
        entry.last_used,
        Some(T0 + std::time::Duration::from_millis(1))
    );
    let moved = EthernetAddress([0xfa, 0x16, 0x3e, 0xe0, 0xe0, 0x02]);
    let na = na_frame(moved, QG0_MAC, upstream6(), ip6("2001:db8:cafe:17::66"));
    assert!(process(&mut r, QG0, &na, T0).is_empty());
    let out = process(&mut r, QR0, &frame, T0);
    assert_eq!(decode(out[0].0, &out[0].1).eth.dst_addr, moved);
    // IPv4 too: an ARP reply with another MAC (override) moves it.
    let v4 = udp4_frame(VM_MAC, QR0_MAC, ip4("198.51.100.10"), far4(), 64, false, 8);
    assert_eq!(
        decode(QG0, &process(&mut r, QR0, &v4, T0)[0].1)
            .eth
            .dst_addr,
        EXT_MAC
    );
    process(&mut r, QG0, &upstream_arp_reply(moved), T0);
    assert_eq!(
        decode(QG0, &process(&mut r, QR0, &v4, T0)[0].1)
            .eth
            .dst_addr,
        moved
    );
    // And past the REACHABLE deadline the neighbor table sees the packet
    // again (NUD: STALE → DELAY), still sending to the cached address.
    let later = T0 + std::time::Duration::from_secs(120);
    timers(&mut r, later);
    let out = process(&mut r, QR0, &frame, later);
    assert_eq!(decode(out[0].0, &out[0].1).eth.dst_addr, moved);
    let state = r.neighbors_v6(QG0).unwrap().get(upstream6()).unwrap().state;
    assert_eq!(state.to_string(), "DELAY");
    let _ = Ipv6Packet::new_checked(&out[0].1[14..]).unwrap();
}

#[test]
fn the_learn_only_path_learns_and_answers_nothing() {
    let config = example("forwarding");
    let mut r = router(&config, T0);
    let echo4 = icmpv4_frame(
        VM_MAC,
        QR0_MAC,
        ip4("198.51.100.10"),
        ip4("198.51.100.1"),
        &Icmpv4Repr::EchoRequest {
            ident: 7,
            seq_no: 1,
            data: b"ping",
        },
    );
    let echo6 = icmpv6_frame(
        VM_MAC,
        QR0_MAC,
        vm_ll(),
        gw_ll(),
        64,
        &Icmpv6Repr::EchoRequest {
            ident: 7,
            seq_no: 1,
            data: b"ping",
        },
    );
    let ns = ns_frame(vm_ll(), gw_ll(), VM_MAC);
    let mut tx = TxBatch::default();
    for frame in [&echo4, &echo6, &ns] {
        r.learn(QR0, frame, T0, &mut tx);
    }
    assert!(tx.is_empty(), "nothing answered: {} frames", tx.len());
    let entry = r.neighbors_v6(QR0).unwrap().get(vm_ll()).unwrap();
    assert_eq!(entry.mac, Some(VM_MAC), "the NS was learned from");
    let s = r.stats(QR0).unwrap();
    assert_eq!((s.rx_frames, s.total_drops(), s.tx_echo_reply), (0, 0, 0));
    // The answering path answers all three.
    for frame in [&echo4, &echo6, &ns] {
        assert_eq!(process(&mut r, QR0, frame, T0).len(), 1);
    }
}
