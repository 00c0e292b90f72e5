//! The forwarding stage driven frame by frame: resolution inside the
//! exchange, rewrite, ICMP errors, IPv4 fragmentation, RFC 6583 bounds.

mod common;

use std::time::Duration;

use common::*;
use routelet::engine::{DropReason, IfaceId, Instant, Router};
use routelet::wire::{
    solicited_node, ArpOperation, ArpRepr, EthernetAddress, Icmpv4DstUnreachable, Icmpv4Repr,
    Icmpv4TimeExceeded, Icmpv6DstUnreachable, Icmpv6Repr, Icmpv6TimeExceeded, Ipv4Packet,
    NdiscRepr,
};

const QR0: IfaceId = IfaceId(0);
const QG0: IfaceId = IfaceId(1);
const T0: Instant = Instant::from_secs(2000);

fn vm6() -> std::net::Ipv6Addr {
    ip6("2001:db8:cafe:0:f816:3eff:fe79:5acc")
}

fn upstream6() -> std::net::Ipv6Addr {
    ip6("2001:db8:cafe:17::1")
}

/// A router over the forwarding example whose upstream (qg0) neighbor is
/// already resolved.
fn resolved_router() -> Router {
    let config = example("forwarding");
    let mut r = router(&config, T0);
    let first = process(
        &mut r,
        QR0,
        &udp6_frame(VM_MAC, QR0_MAC, vm6(), ip6("2001:db8:beef::1"), 64, 16),
        T0,
    );
    assert_eq!(first.len(), 1, "an NS for the gateway");
    let na = na_frame(EXT_MAC, QG0_MAC, upstream6(), ip6("2001:db8:cafe:17::66"));
    let released = process(&mut r, QG0, &na, T0);
    assert_eq!(released.len(), 1, "the queued packet goes out");
    r
}

#[test]
fn ipv6_forwarding_resolves_then_rewrites_exactly() {
    let config = example("forwarding");
    let mut r = router(&config, T0);
    let dst = ip6("2001:db8:beef::1");
    let frame = udp6_frame(VM_MAC, QR0_MAC, vm6(), dst, 64, 100);
    // First packet: the gateway 2001:db8:cafe:17::1 is unknown: NS on qg0.
    let out = process(&mut r, QR0, &frame, T0);
    assert_eq!(out.len(), 1);
    let ns = decode(out[0].0, &out[0].1);
    assert_eq!(ns.iface, QG0);
    let ip = ns.ip6.unwrap();
    assert_eq!(ip.dst_addr, solicited_node(&upstream6()));
    assert_eq!(
        ip.src_addr,
        ip6("2001:db8:cafe:17::66"),
        "source on the egress link"
    );
    assert_eq!(
        ns.eth.dst_addr,
        EthernetAddress([0x33, 0x33, 0xff, 0, 0, 1])
    );
    let NdiscRepr::NeighborSolicit {
        target_addr,
        options,
    } = ns.ndisc()
    else {
        panic!("expected NS");
    };
    assert_eq!(target_addr, upstream6());
    assert_eq!(options.source_link_layer_addr(), Some(QG0_MAC));
    // The NA releases the queued packet, rewritten.
    let na = na_frame(EXT_MAC, QG0_MAC, upstream6(), ip6("2001:db8:cafe:17::66"));
    let out = process(&mut r, QG0, &na, T0 + Duration::from_millis(1));
    assert_eq!(out.len(), 1);
    let check = |(iface, bytes): &(IfaceId, Vec<u8>)| {
        assert_eq!(*iface, QG0);
        assert_eq!(&bytes[0..6], &EXT_MAC.0, "to the gateway's MAC");
        assert_eq!(&bytes[6..12], &QG0_MAC.0, "from the egress MAC");
        assert_eq!(bytes.len(), frame.len());
        // Only the hop limit changed, by exactly one.
        assert_eq!(bytes[14 + 7], 63);
        let mut expected = frame[12..].to_vec();
        expected[2 + 7] = 63;
        assert_eq!(&bytes[12..], &expected[..]);
    };
    check(&out[0]);
    // The next packet goes straight through.
    let out = process(&mut r, QR0, &frame, T0 + Duration::from_millis(2));
    assert_eq!(out.len(), 1);
    check(&out[0]);
    assert_eq!(r.stats(QG0).unwrap().tx_forwarded, 2);
}

#[test]
fn hop_limit_one_draws_time_exceeded_from_the_ingress_address() {
    let mut r = resolved_router();
    let frame = udp6_frame(VM_MAC, QR0_MAC, vm6(), ip6("2001:db8:beef::1"), 1, 24);
    let out = process(&mut r, QR0, &frame, T0);
    assert_eq!(out.len(), 1);
    let d = decode(out[0].0, &out[0].1);
    assert_eq!((d.iface, d.eth.dst_addr), (QR0, VM_MAC));
    let ip = d.ip6.unwrap();
    assert_eq!((ip.src_addr, ip.dst_addr), (ip6("2001:db8:cafe::1"), vm6()));
    match d.icmp6.unwrap() {
        Icmpv6Repr::TimeExceeded { reason, data } => {
            assert_eq!(reason, Icmpv6TimeExceeded::HopLimitExceeded);
            assert_eq!(data, &frame[14..], "quotes the packet as received");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        r.stats(QR0)
            .unwrap()
            .drops_for(DropReason::HopLimitExceeded),
        1
    );
    // Hop limit 2 leaves with 1.
    let out = process(
        &mut r,
        QR0,
        &udp6_frame(VM_MAC, QR0_MAC, vm6(), ip6("2001:db8:beef::1"), 2, 24),
        T0,
    );
    assert_eq!(out[0].1[14 + 7], 1);
}

#[test]
fn no_route_draws_destination_unreachable_code_0() {
    let mut r = resolved_router();
    let frame = udp6_frame(VM_MAC, QR0_MAC, vm6(), ip6("2001:db8:dead::1"), 64, 24);
    let out = process(&mut r, QR0, &frame, T0);
    assert_eq!(out.len(), 1);
    match decode(out[0].0, &out[0].1).icmp6.unwrap() {
        Icmpv6Repr::DstUnreachable { reason, .. } => {
            assert_eq!(reason, Icmpv6DstUnreachable::NoRoute)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.stats(QR0).unwrap().drops_for(DropReason::Ipv6NoRoute), 1);
}

#[test]
fn mtu_1280_egress_draws_packet_too_big_within_1280_bytes() {
    let mut r = resolved_router();
    // 1400-byte IPv6 packet toward the MTU-1280 external link.
    let frame = udp6_frame(
        VM_MAC,
        QR0_MAC,
        vm6(),
        ip6("2001:db8:beef::1"),
        64,
        1400 - 48,
    );
    let out = process(&mut r, QR0, &frame, T0);
    assert_eq!(out.len(), 1);
    assert!(out[0].1.len() - 14 <= 1280, "RFC 4443 §2.4(c)");
    match decode(out[0].0, &out[0].1).icmp6.unwrap() {
        Icmpv6Repr::PktTooBig { mtu, data } => {
            assert_eq!(mtu, 1280);
            assert_eq!(data, &frame[14..14 + data.len()]);
        }
        other => panic!("{other:?}"),
    }
    // Exactly 1280 passes.
    let fits = udp6_frame(
        VM_MAC,
        QR0_MAC,
        vm6(),
        ip6("2001:db8:beef::1"),
        64,
        1280 - 48,
    );
    let out = process(&mut r, QR0, &fits, T0);
    assert_eq!((out.len(), out[0].0), (1, QG0));
}

#[test]
fn never_forwarded_and_never_answered_with_an_error() {
    let mut r = resolved_router();
    let ll = vm_ll();
    let cases = [
        (
            udp6_frame(VM_MAC, QR0_MAC, ll, ip6("2001:db8:beef::1"), 64, 8),
            DropReason::Ipv6SourceNotForwardable,
        ),
        (
            udp6_frame(VM_MAC, QR0_MAC, ip6("::"), ip6("2001:db8:beef::1"), 64, 8),
            DropReason::Ipv6SourceNotForwardable,
        ),
        (
            udp6_frame(VM_MAC, QR0_MAC, vm6(), ip6("fe80::1"), 64, 8),
            DropReason::Ipv6DestNotForwardable,
        ),
        (
            udp6_frame(
                VM_MAC,
                EthernetAddress([0x33, 0x33, 0, 0, 0, 0xfb]),
                vm6(),
                ip6("ff05::fb"),
                64,
                8,
            ),
            DropReason::Ipv6MulticastNotJoined,
        ),
    ];
    for (frame, reason) in cases {
        let before = r.stats(QR0).unwrap().drops_for(reason);
        assert!(process(&mut r, QR0, &frame, T0).is_empty(), "{reason:?}");
        assert_eq!(
            r.stats(QR0).unwrap().drops_for(reason),
            before + 1,
            "{reason:?}"
        );
    }
    // No ICMP error about an ICMP error, even with hop limit 1.
    let err = Icmpv6Repr::DstUnreachable {
        reason: Icmpv6DstUnreachable::PortUnreachable,
        data: &[0x60; 48],
    };
    let frame = icmpv6_frame(VM_MAC, QR0_MAC, vm6(), ip6("2001:db8:beef::1"), 1, &err);
    assert!(process(&mut r, QR0, &frame, T0).is_empty());
    assert_eq!(r.stats(QR0).unwrap().tx_icmp_error, 0);
}

#[test]
fn icmp_errors_are_rate_limited() {
    let mut r = resolved_router();
    let frame = udp6_frame(VM_MAC, QR0_MAC, vm6(), ip6("2001:db8:dead::1"), 64, 8);
    let sent: usize = (0..200)
        .map(|_| process(&mut r, QR0, &frame, T0).len())
        .sum();
    assert_eq!(sent, 50, "burst of 50");
    assert_eq!(r.stats(QR0).unwrap().icmp_error_rate_limited, 150);
    assert_eq!(
        r.stats(QR0).unwrap().drops_for(DropReason::Ipv6NoRoute),
        200
    );
    // 100 per second after that.
    let later = T0 + Duration::from_millis(100);
    let sent: usize = (0..200)
        .map(|_| process(&mut r, QR0, &frame, later).len())
        .sum();
    assert_eq!(sent, 10);
}

#[test]
fn failed_resolution_answers_queued_packets_with_address_unreachable() {
    let config = example("forwarding");
    let mut r = router(&config, T0);
    // A host on the tenant link that does not exist.
    let ghost = ip6("2001:db8:cafe::77");
    let frame = udp6_frame(EXT_MAC, QG0_MAC, upstream6(), ghost, 64, 8);
    let out = process(&mut r, QG0, &frame, T0);
    assert_eq!(out.len(), 1, "the first NS");
    let mut ns_times = vec![T0];
    let mut errors = vec![];
    for _ in 0..10 {
        let Some(now) = r.next_deadline() else { break };
        if now > T0 + Duration::from_secs(10) {
            break;
        }
        for (iface, bytes) in timers(&mut r, now) {
            let d = decode(iface, &bytes);
            match d.icmp6 {
                Some(Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit { target_addr, .. })) => {
                    assert_eq!((iface, target_addr), (QR0, ghost));
                    ns_times.push(now);
                }
                Some(Icmpv6Repr::DstUnreachable { reason, data }) => {
                    assert_eq!(iface, QG0, "back where the packet came from");
                    assert_eq!(d.eth.dst_addr, EXT_MAC);
                    assert_eq!(d.ip6.unwrap().dst_addr, upstream6());
                    assert_eq!(reason, Icmpv6DstUnreachable::AddrUnreachable);
                    assert_eq!(data, &frame[14..], "the packet as received (hop limit 64)");
                    errors.push(now);
                }
                _ => {}
            }
        }
    }
    // MAX_MULTICAST_SOLICIT = 3, RetransTimer = 1 s, then failure.
    assert_eq!(
        ns_times,
        vec![T0, T0 + Duration::from_secs(1), T0 + Duration::from_secs(2)]
    );
    assert_eq!(errors, vec![T0 + Duration::from_secs(3)]);
    assert_eq!(
        r.stats(QR0)
            .unwrap()
            .drops_for(DropReason::NeighborUnreachable),
        1
    );
}

#[test]
fn ipv4_forwarding_decrements_ttl_and_keeps_the_checksum_right() {
    let config = example("forwarding");
    let mut r = router(&config, T0);
    let frame = udp4_frame(
        VM_MAC,
        QR0_MAC,
        ip4("198.51.100.4"),
        ip4("203.0.113.1"),
        64,
        true,
        32,
    );
    let out = process(&mut r, QR0, &frame, T0);
    let arp = decode(out[0].0, &out[0].1).arp.unwrap();
    assert_eq!(
        (out[0].0, arp.operation, arp.target_protocol_addr),
        (QG0, ArpOperation::Request, ip4("203.0.113.1"))
    );
    assert_eq!(arp.source_protocol_addr, ip4("203.0.113.102"));
    let reply = ArpRepr {
        operation: ArpOperation::Reply,
        source_hardware_addr: EXT_MAC,
        source_protocol_addr: ip4("203.0.113.1"),
        target_hardware_addr: QG0_MAC,
        target_protocol_addr: ip4("203.0.113.102"),
    };
    let out = process(&mut r, QG0, &arp_frame(EXT_MAC, QG0_MAC, &reply), T0);
    assert_eq!(out.len(), 1);
    let d = decode(out[0].0, &out[0].1);
    assert_eq!((d.iface, d.eth.dst_addr), (QG0, EXT_MAC));
    assert_eq!(d.ip4.unwrap().hop_limit, 63);
    let mut expected = frame[14..].to_vec();
    expected[8] = 63;
    assert_eq!(&out[0].1[14..24], &expected[..10]);
    assert_eq!(
        &out[0].1[26..],
        &expected[12..],
        "only TTL and checksum changed"
    );
}

#[test]
fn ipv4_errors_ttl_net_unreachable_and_frag_needed() {
    let mut config = example("forwarding");
    config.routes.retain(|r| !r.destination.addr().is_ipv4());
    config.routes.push(routelet::config::Route {
        destination: "203.0.113.0/25".parse().unwrap(),
        nexthop: "203.0.113.1".parse().unwrap(),
    });
    let mut r = router(&config, T0);
    let vm4 = ip4("198.51.100.4");
    // TTL 1.
    let out = process(
        &mut r,
        QR0,
        &udp4_frame(VM_MAC, QR0_MAC, vm4, ip4("203.0.113.1"), 1, true, 8),
        T0,
    );
    let d = decode(out[0].0, &out[0].1);
    assert_eq!(d.ip4.unwrap().src_addr, ip4("198.51.100.1"));
    assert!(matches!(
        d.icmp4,
        Some(Icmpv4Repr::TimeExceeded {
            reason: Icmpv4TimeExceeded::TtlExpired,
            ..
        })
    ));
    // No route (no IPv4 default in this config).
    let out = process(
        &mut r,
        QR0,
        &udp4_frame(VM_MAC, QR0_MAC, vm4, ip4("198.18.0.1"), 64, true, 8),
        T0,
    );
    assert!(matches!(
        decode(out[0].0, &out[0].1).icmp4,
        Some(Icmpv4Repr::DstUnreachable {
            reason: Icmpv4DstUnreachable::NetUnreachable,
            ..
        })
    ));
    // DF and larger than the 1280 MTU of qg0.
    let big = udp4_frame(VM_MAC, QR0_MAC, vm4, ip4("203.0.113.1"), 64, true, 1400);
    let out = process(&mut r, QR0, &big, T0);
    match decode(out[0].0, &out[0].1).icmp4 {
        Some(Icmpv4Repr::DstUnreachable {
            reason,
            next_hop_mtu,
            data,
        }) => {
            assert_eq!(
                (reason, next_hop_mtu),
                (Icmpv4DstUnreachable::FragRequired, 1280)
            );
            assert_eq!(data, &big[14..14 + data.len()]);
            assert!(data.len() >= 28, "header + 8 bytes at least");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ipv4_without_df_is_fragmented_to_the_egress_mtu() {
    let config = example("forwarding");
    let mut r = router(&config, T0);
    let vm4 = ip4("198.51.100.4");
    let big = udp4_frame(VM_MAC, QR0_MAC, vm4, ip4("203.0.113.1"), 64, false, 3000);
    // Resolve the upstream first.
    process(
        &mut r,
        QR0,
        &udp4_frame(VM_MAC, QR0_MAC, vm4, ip4("203.0.113.1"), 64, false, 8),
        T0,
    );
    let reply = ArpRepr {
        operation: ArpOperation::Reply,
        source_hardware_addr: EXT_MAC,
        source_protocol_addr: ip4("203.0.113.1"),
        target_hardware_addr: QG0_MAC,
        target_protocol_addr: ip4("203.0.113.102"),
    };
    process(&mut r, QG0, &arp_frame(EXT_MAC, QG0_MAC, &reply), T0);
    let out = process(&mut r, QR0, &big, T0);
    assert_eq!(out.len(), 3, "3008 bytes of payload in 1256-byte pieces");
    let mut reassembled = vec![0u8; 3008];
    let mut covered = 0;
    for (i, (iface, bytes)) in out.iter().enumerate() {
        assert_eq!(*iface, QG0);
        let d = decode(*iface, bytes);
        let ip = d.ip4.unwrap();
        assert_eq!(ip.hop_limit, 63);
        let p = Ipv4Packet::new_checked(&bytes[14..]).unwrap();
        assert!(p.total_len() as usize <= 1280);
        assert_eq!(p.identification(), 0x1234);
        assert_eq!(p.more_frags(), i < 2);
        let off = p.frag_offset() as usize;
        assert_eq!(off % 8, 0);
        reassembled[off..off + p.payload().len()].copy_from_slice(p.payload());
        covered += p.payload().len();
    }
    assert_eq!(covered, 3008);
    assert_eq!(&reassembled[..], &big[34..]);
    assert_eq!(r.stats(QG0).unwrap().tx_fragments, 3);
}

#[test]
fn a_scan_of_a_64_never_breaks_forwarding_to_a_known_host() {
    // RFC 6583: 10,000 packets to random addresses of the tenant /64
    // arrive from outside, interleaved with traffic to the VM.
    let config = example("forwarding");
    let mut r = router(&config, T0);
    // Learn the VM (it solicits the gateway with its link-layer address).
    let gw = ip6("2001:db8:cafe::1");
    let ns = {
        use routelet::wire::{NdiscOption, NdiscOptions};
        let slla = [NdiscOption::SourceLinkLayerAddr(VM_MAC)];
        icmpv6_frame(
            VM_MAC,
            EthernetAddress::from_ipv6_multicast(&solicited_node(&gw)),
            vm6(),
            solicited_node(&gw),
            255,
            &Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                target_addr: gw,
                options: NdiscOptions::List(&slla),
            }),
        )
    };
    process(&mut r, QR0, &ns, T0);
    let to_vm = udp6_frame(EXT_MAC, QG0_MAC, upstream6(), vm6(), 64, 16);
    let mut now = T0;
    let mut vm_forwarded = 0;
    let mut vm_sent = 0;
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..10_000u32 {
        now = now + Duration::from_micros(100);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let target = std::net::Ipv6Addr::from((0x2001_0db8_cafe_0000u128 << 64) | u128::from(x));
        let scan = udp6_frame(EXT_MAC, QG0_MAC, upstream6(), target, 64, 16);
        process(&mut r, QG0, &scan, now);
        for (_, _) in routelet_timers(&mut r, now) {}
        if i % 10 == 0 {
            vm_sent += 1;
            let out = process(&mut r, QG0, &to_vm, now);
            vm_forwarded += out
                .iter()
                .filter(|(iface, b)| *iface == QR0 && b[0..6] == VM_MAC.0)
                .count();
        }
    }
    assert_eq!(
        vm_forwarded, vm_sent,
        "every packet to the known host forwarded"
    );
    let table = r.neighbors_v6(QR0).unwrap();
    assert!(table.incomplete_len() <= 256, "{}", table.incomplete_len());
    assert!(table.len() <= 4096);
    let s = r.stats(QR0).unwrap();
    assert!(
        s.tx_solicit <= 100 + 3 * 100 + 3 * 256,
        "solicitations bounded: {}",
        s.tx_solicit
    );
    let refused = r
        .stats(QG0)
        .unwrap()
        .drops_for(DropReason::NeighborIncompleteLimit)
        + r.stats(QG0)
            .unwrap()
            .drops_for(DropReason::NeighborSolicitRateLimited);
    assert!(
        refused > 5_000,
        "the scan is refused, not queued: {refused}"
    );
}

fn routelet_timers(r: &mut Router, now: Instant) -> Vec<(IfaceId, Vec<u8>)> {
    match r.next_deadline() {
        Some(d) if d <= now => timers(r, now),
        _ => vec![],
    }
}

#[test]
fn forwarding_capture_both_ways_with_resolution_inside() {
    use routelet::io::pcap::read_capture;
    let config = example("forwarding");
    let frames = read_capture(&pcap("forwarding-client.pcapng")).unwrap();
    let report = routelet::replay::replay_frames(
        &config,
        "qr0",
        frames
            .iter()
            .map(|f| (f.timestamp, f.iface.as_deref(), f.data.as_slice())),
    )
    .unwrap();
    let mut echo6 = 0;
    let mut echo4 = 0;
    for e in &report.emitted {
        let d = decode(IfaceId(0), &e.data);
        if let Some(ip) = d.ip6 {
            if matches!(
                d.icmp6,
                Some(Icmpv6Repr::EchoRequest { .. } | Icmpv6Repr::EchoReply { .. })
            ) && ip.hop_limit < 64
            {
                echo6 += 1;
                // Forwarded: one hop less than the senders' 64 (or 37).
                assert!(ip.hop_limit == 63 || ip.hop_limit == 36, "{}", ip.hop_limit);
            }
        }
        if let Some(ip) = d.ip4 {
            if matches!(
                d.icmp4,
                Some(Icmpv4Repr::EchoRequest { .. } | Icmpv4Repr::EchoReply { .. })
            ) {
                echo4 += 1;
                assert!(ip.hop_limit == 63 || ip.hop_limit == 36);
            }
        }
    }
    // Pings both ways: v6 VM→ext (3+3), ext→VM (3+3), VM→beef (3+3), the
    // hop-limit-37 ping (2); v4 both ways (6+6) and the TTL-37 one (2).
    assert_eq!(echo6, 20, "IPv6 echo requests and replies forwarded");
    assert_eq!(echo4, 14, "IPv4 echo requests and replies forwarded");
    let (_, qr0) = &report.stats[0];
    assert_eq!(qr0.drops_for(DropReason::HopLimitExceeded), 1);
    assert_eq!(qr0.drops_for(DropReason::TtlExceeded), 1);
    assert_eq!(qr0.drops_for(DropReason::Ipv6NoRoute), 1);
    assert_eq!(qr0.drops_for(DropReason::Ipv6PacketTooBig), 1);
    assert_eq!(qr0.drops_for(DropReason::Ipv4FragNeeded), 1);
    assert_eq!(qr0.tx_icmp_error, 5);
}

#[test]
fn a_learning_worker_updates_its_cache_but_answers_nothing() {
    // Two workers: this one queued a packet for the gateway; the gateway's
    // NA reaches it only as a copy (another worker answers ND).
    let config = example("forwarding");
    let mut r = router(&config, T0);
    let frame = udp6_frame(VM_MAC, QR0_MAC, vm6(), ip6("2001:db8:beef::1"), 64, 16);
    assert_eq!(process(&mut r, QR0, &frame, T0).len(), 1, "NS");
    let na = na_frame(EXT_MAC, QG0_MAC, upstream6(), ip6("2001:db8:cafe:17::66"));
    let mut tx = routelet::engine::TxBatch::default();
    r.learn(QG0, &na, T0, &mut tx);
    let out: Vec<_> = tx.iter().map(|(i, b)| (i, b.to_vec())).collect();
    assert_eq!(out.len(), 1, "the queued packet is released");
    assert_eq!((out[0].0, &out[0].1[0..6]), (QG0, &EXT_MAC.0[..]));
    // An NS for the router's address seen as a copy is not answered.
    let gw = ip6("2001:db8:cafe::1");
    let ns = {
        use routelet::wire::{NdiscOption, NdiscOptions};
        let slla = [NdiscOption::SourceLinkLayerAddr(VM_MAC)];
        icmpv6_frame(
            VM_MAC,
            EthernetAddress::from_ipv6_multicast(&solicited_node(&gw)),
            vm6(),
            solicited_node(&gw),
            255,
            &Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                target_addr: gw,
                options: NdiscOptions::List(&slla),
            }),
        )
    };
    let mut tx = routelet::engine::TxBatch::default();
    r.learn(QR0, &ns, T0, &mut tx);
    assert!(tx.is_empty());
    // ...but the VM was learned from it: traffic to it goes straight out.
    let to_vm = udp6_frame(EXT_MAC, QG0_MAC, upstream6(), vm6(), 64, 16);
    let out = process(&mut r, QG0, &to_vm, T0);
    assert_eq!(
        (out.len(), out[0].0, &out[0].1[0..6]),
        (1, QR0, &VM_MAC.0[..])
    );
    // And the same NS processed normally is answered.
    assert_eq!(process(&mut r, QR0, &ns, T0).len(), 1);
}

#[test]
fn replacing_the_config_keeps_neighbors_and_counters() {
    let mut r = resolved_router();
    let forwarded = r.stats(QG0).unwrap().tx_forwarded;
    assert_eq!(forwarded, 1);
    // A new config: a route to 2001:db8:f00d::/48 via the same gateway.
    let mut config = example("forwarding");
    config.routes.push(routelet::config::Route {
        destination: "2001:db8:f00d::/48".parse().unwrap(),
        nexthop: "2001:db8:cafe:17::1".parse().unwrap(),
    });
    let frame = udp6_frame(VM_MAC, QR0_MAC, vm6(), ip6("2001:db8:f00d::1"), 64, 16);
    let before = process(&mut r, QR0, &frame, T0);
    assert!(matches!(
        decode(before[0].0, &before[0].1).icmp6,
        Some(Icmpv6Repr::DstUnreachable { .. })
    ));
    let links = routelet::engine::LinkInfo::synthetic(&config);
    let compiled =
        std::sync::Arc::new(routelet::engine::CompiledConfig::build(&config, &links).unwrap());
    r.replace_config(compiled, T0);
    // Forwarded at once: the gateway's MAC survived the swap.
    let after = process(&mut r, QR0, &frame, T0);
    assert_eq!(
        (after.len(), after[0].0, &after[0].1[0..6]),
        (1, QG0, &EXT_MAC.0[..])
    );
    assert_eq!(r.stats(QG0).unwrap().tx_forwarded, forwarded + 1);
    // RA timers restarted: an RA is due now.
    assert_eq!(r.next_deadline(), Some(T0));
}

#[test]
fn udp_to_a_router_address_draws_port_unreachable() {
    let config = example("forwarding");
    let mut r = router(&config, T0);
    // traceroute's last hop when the router itself is the target.
    let gw = ip6("2001:db8:cafe::1");
    let frame = udp6_frame(VM_MAC, QR0_MAC, vm6(), gw, 64, 24);
    let out = process(&mut r, QR0, &frame, T0);
    assert_eq!(out.len(), 1);
    let d = decode(out[0].0, &out[0].1);
    assert_eq!(
        (d.ip6.unwrap().src_addr, d.ip6.unwrap().dst_addr),
        (gw, vm6())
    );
    match d.icmp6.unwrap() {
        Icmpv6Repr::DstUnreachable { reason, data } => {
            assert_eq!(reason, Icmpv6DstUnreachable::PortUnreachable);
            assert_eq!(data, &frame[14..]);
        }
        other => panic!("{other:?}"),
    }
    // Not to multicast.
    let all_nodes = ip6("ff02::1");
    let mcast = udp6_frame(
        VM_MAC,
        EthernetAddress([0x33, 0x33, 0, 0, 0, 1]),
        vm6(),
        all_nodes,
        64,
        24,
    );
    assert!(process(&mut r, QR0, &mcast, T0).is_empty());
    // IPv4: ICMP port unreachable from the gateway.
    let frame = udp4_frame(
        VM_MAC,
        QR0_MAC,
        ip4("198.51.100.4"),
        ip4("198.51.100.1"),
        64,
        true,
        16,
    );
    let out = process(&mut r, QR0, &frame, T0);
    match decode(out[0].0, &out[0].1).icmp4 {
        Some(Icmpv4Repr::DstUnreachable { reason, .. }) => {
            assert_eq!(reason, Icmpv4DstUnreachable::PortUnreachable)
        }
        other => panic!("{other:?}"),
    }
}
