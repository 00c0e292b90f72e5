//! `routelet replay` over the reference captures' client frames: each
//! example answers the real clients as the mode table says, checked field by
//! field; the CLI's `check` and `replay` behave as documented.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use routelet::engine::{DropReason, IfaceId};
use routelet::io::pcap::read_capture;
use routelet::replay::{replay_frames, ReplayReport};
use routelet::wire::{Icmpv6Repr, NdiscOption, NdiscRepr};

fn replay(example_name: &str, capture: &str) -> ReplayReport {
    let config = example(example_name);
    let frames = read_capture(&pcap(capture)).unwrap();
    replay_frames(
        &config,
        "qr0",
        frames
            .iter()
            .map(|f| (f.timestamp, f.iface.as_deref(), f.data.as_slice())),
    )
    .unwrap()
}

/// (M, O, [(prefix, L, A)]) of one RA.
type RaFlags = (bool, bool, Vec<(String, bool, bool)>);

/// The flags and prefixes of every RA the replay emitted.
fn ra_flags(report: &ReplayReport) -> Vec<RaFlags> {
    report
        .emitted
        .iter()
        .filter_map(|e| {
            let d = decode(IfaceId(0), &e.data);
            match d.icmp6 {
                Some(Icmpv6Repr::Ndisc(NdiscRepr::RouterAdvert { flags, options, .. })) => {
                    let prefixes = options
                        .iter()
                        .filter_map(|o| match o.unwrap() {
                            NdiscOption::PrefixInformation(p) => Some((
                                format!("{}/{}", p.prefix, p.prefix_len),
                                p.on_link,
                                p.autonomous,
                            )),
                            _ => None,
                        })
                        .collect();
                    Some((flags.managed(), flags.other(), prefixes))
                }
                _ => None,
            }
        })
        .collect()
}

#[test]
fn slaac_exchange_of_the_talk_field_by_field() {
    let report = replay("slaac", "slaac-client-qr0.pcap");
    assert_eq!(report.frames_in, 12);
    let out: Vec<_> = report
        .emitted
        .iter()
        .map(|e| (e, decode(IfaceId(0), &e.data)))
        .collect();
    assert_eq!(
        out.len(),
        8,
        "1 periodic RA, 3 solicited RAs, 1 NA, 3 echo replies"
    );
    let router_ll = QR0_MAC.link_local_ipv6();
    let vm_global = ip6("2001:db8:cafe:0:f816:3eff:fe79:5acc");
    let gw = ip6("2001:db8:cafe::1");
    let frames = read_capture(&pcap("slaac-client-qr0.pcap")).unwrap();

    // The first periodic RA at start, to all nodes.
    let (e, d) = &out[0];
    assert_eq!(e.at, frames[0].timestamp);
    assert_eq!(d.ip6.unwrap().dst_addr, ip6("ff02::1"));
    // Each RS (capture frames 6, 9, 12 of the reference) answered at once, unicast.
    let rs_times: Vec<Duration> = frames
        .iter()
        .filter(|f| f.data.len() > 54 && f.data[54] == 133)
        .map(|f| f.timestamp)
        .collect();
    assert_eq!(rs_times.len(), 3);
    for (i, (e, d)) in out[1..4].iter().enumerate() {
        assert_eq!(e.at, rs_times[i]);
        assert_eq!(e.iface, "qr0");
        let ip = d.ip6.unwrap();
        assert_eq!((d.eth.src_addr, d.eth.dst_addr), (QR0_MAC, VM_MAC));
        assert_eq!(
            (ip.src_addr, ip.dst_addr, ip.hop_limit),
            (router_ll, vm_ll(), 255)
        );
    }
    assert_eq!(
        ra_flags(&report),
        vec![
            (
                false,
                false,
                vec![("2001:db8:cafe::/64".to_string(), true, true)]
            );
            4
        ]
    );
    // The NS for the gateway from the VM's new global address.
    let (_, d) = &out[4];
    let ip = d.ip6.unwrap();
    assert_eq!((ip.src_addr, ip.dst_addr), (gw, vm_global));
    let NdiscRepr::NeighborAdvert {
        flags,
        target_addr,
        options,
    } = d.ndisc()
    else {
        panic!("expected NA");
    };
    assert!(flags.router() && flags.solicited() && flags.override_());
    assert_eq!(target_addr, gw);
    assert_eq!(options.target_link_layer_addr(), Some(QR0_MAC));
    // Three pings to the gateway, three replies with the request's id/seq.
    for (seq, (_, d)) in (1u16..).zip(&out[5..8]) {
        let ip = d.ip6.unwrap();
        assert_eq!(
            (ip.src_addr, ip.dst_addr, ip.hop_limit),
            (gw, vm_global, 64)
        );
        match d.icmp6 {
            Some(Icmpv6Repr::EchoReply {
                ident,
                seq_no,
                data,
            }) => {
                assert_eq!((ident, seq_no), (0x35e8, seq));
                assert_eq!(data.len(), 56);
            }
            ref other => panic!("expected echo reply, got {other:?}"),
        }
    }
    let (_, qr0) = &report.stats[0];
    assert_eq!(
        (qr0.rx_rs, qr0.rx_ns, qr0.tx_na, qr0.tx_echo_reply),
        (3, 1, 1, 3)
    );
    // DAD probes and MLD reports go to groups the router has not joined.
    assert_eq!(qr0.drops_for(DropReason::Ipv6MulticastNotJoined), 5);
    assert_eq!(qr0.total_drops(), 5);
}

#[test]
fn each_scenario_gets_the_ra_of_its_mode() {
    let cases = [
        (
            "dhcpv6-stateless",
            "dhcpv6-stateless-client-qr0.pcap",
            false,
            true,
            "2001:db8:cafe:2::/64",
            true,
        ),
        (
            "dhcpv6-stateful",
            "dhcpv6-stateful-client-qr0.pcap",
            true,
            false,
            "2001:db8:cafe:1::/64",
            false,
        ),
        (
            "security-groups",
            "security-groups-client-qr0.pcap",
            false,
            false,
            "2001:db8:cafe::/64",
            true,
        ),
        (
            "forwarding",
            "forwarding-client-qr0.pcap",
            false,
            false,
            "2001:db8:cafe::/64",
            true,
        ),
    ];
    for (name, capture, m, o, prefix, a) in cases {
        let report = replay(name, capture);
        let ras = ra_flags(&report);
        assert!(ras.len() >= 3, "{name}: {}", ras.len());
        for ra in ras {
            assert_eq!(ra, (m, o, vec![(prefix.to_string(), true, a)]), "{name}");
        }
    }
    let pd = ra_flags(&replay(
        "prefix-delegation",
        "prefix-delegation-client-qr0.pcap",
    ));
    assert!(
        !pd.is_empty() && pd.iter().all(|(m, o, p)| !m && !o && p.is_empty()),
        "{pd:?}"
    );
}

#[test]
fn dual_stack_capture_gets_arp_answered() {
    let report = replay("forwarding", "forwarding-client-qr0.pcap");
    let arp: Vec<_> = report
        .emitted
        .iter()
        .filter(|e| e.iface == "qr0")
        .filter_map(|e| decode(IfaceId(0), &e.data).arp)
        .collect();
    assert_eq!(arp.len(), 1);
    assert_eq!(arp[0].source_protocol_addr, ip4("198.51.100.1"));
    assert_eq!(arp[0].target_protocol_addr, ip4("198.51.100.4"));
    assert_eq!(arp[0].target_hardware_addr, VM_MAC);
}

#[test]
fn pcapng_with_named_interfaces_routes_frames_by_name() {
    // Build a two-interface pcapng: an RS on qr0 and the same RS on qg0.
    let dir = std::env::temp_dir().join(format!("routelet-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("in.pcapng");
    let rs = read_capture(&pcap("slaac-client-qr0.pcap"))
        .unwrap()
        .into_iter()
        .find(|f| f.data.len() > 54 && f.data[54] == 133)
        .unwrap();
    let names = vec!["qg0".to_string(), "qr0".to_string()];
    let mut w =
        routelet::io::pcap::PcapNgOut::new(std::fs::File::create(&input).unwrap(), &names).unwrap();
    w.write(0, rs.timestamp, &rs.data).unwrap();
    w.write(1, rs.timestamp + Duration::from_millis(1), &rs.data)
        .unwrap();
    w.finish().unwrap();
    let output = dir.join("out.pcapng");
    let opts = routelet::replay::ReplayOptions {
        config: root().join("examples/slaac.toml"),
        input: input.clone(),
        iface: "qr0".into(),
        output: Some(output.clone()),
    };
    let report = routelet::replay::run(&opts).unwrap();
    // qg0 sends no RAs; qr0 answers (plus its first periodic RA).
    assert_eq!(report.stats[1].1.drops_for(DropReason::RsNoRa), 1);
    assert_eq!(report.stats[0].1.tx_ra_solicited, 1);
    // The output names the router's interfaces, frames on their egress.
    let written = read_capture(&output).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(written.len(), report.emitted.len());
    assert!(written.iter().all(|f| f.iface.as_deref() == Some("qr0")));
    assert_eq!(
        written[1].timestamp,
        rs.timestamp + Duration::from_millis(1)
    );
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_routelet"))
}

#[test]
fn cli_check_accepts_every_example() {
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        let out = bin()
            .arg("check")
            .arg("--config")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("ok") && stdout.contains("interface \"qr0\""),
            "{stdout}"
        );
    }
}

#[test]
fn cli_check_reports_every_error_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("routelet-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, include_str!("../testdata/config/check-errors.toml")).unwrap();
    let out = bin()
        .arg("check")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(
        r#"subnet "v6-sub": ipv6_ra_mode "slaac" and ipv6_address_mode "dhcpv6-stateful" must be equal when both are set"#
    ), "{stderr}");
    assert!(stderr.contains("/64"), "{stderr}");
    assert!(stderr.contains("\"missing\""), "{stderr}");
}

#[test]
fn cli_replay_prints_the_decoded_ra_and_counters() {
    let out = bin()
        .args(["replay", "--config"])
        .arg(root().join("examples/slaac.toml"))
        .arg("--in")
        .arg(pcap("slaac-client-qr0.pcap"))
        .args(["--iface", "qr0", "-v"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("router advertisement"), "{stdout}");
    assert!(stdout.contains(
        "prefix info option: 2001:db8:cafe::/64, Flags [onlink, auto], valid time 86400s, pref. time 14400s"
    ), "{stdout}");
    assert!(stdout.contains("frames in: 12, frames out: 8"), "{stdout}");
    assert!(stdout.contains("tx_ra_solicited=3"), "{stdout}");
}

#[test]
fn cli_replay_rejects_an_unknown_iface() {
    let out = bin()
        .args(["replay", "--config"])
        .arg(root().join("examples/slaac.toml"))
        .arg("--in")
        .arg(pcap("slaac-client-qr0.pcap"))
        .args(["--iface", "eth9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("eth9"));
}

#[test]
fn scan_of_a_64_replayed_keeps_the_known_host_forwarded() {
    // testdata/pcap/scan-64.pcapng (testdata/tools/gen-scan-capture.py):
    // 10,000 packets to random addresses of the tenant /64, and 1,000 to the
    // VM interleaved, all from the upstream on qg0.
    let report = replay("forwarding", "scan-64.pcapng");
    assert_eq!(report.frames_in, 11_251);
    let vm_mac = VM_MAC.0;
    let to_vm = report
        .emitted
        .iter()
        .filter(|e| {
            e.iface == "qr0" && e.data[0..6] == vm_mac && e.data.len() > 54 && e.data[20] == 17
        })
        .count();
    assert_eq!(to_vm, 1_000, "every packet to the known host forwarded");
    let (_, qr0) = &report.stats[0];
    let (_, qg0) = &report.stats[1];
    assert_eq!(qr0.tx_forwarded, 1_000);
    // Solicitations stay within the budget: a 100-packet burst plus
    // 100/s over the one-second scan, each retransmitted at most twice.
    assert!(qr0.tx_solicit <= 3 * 200, "{}", qr0.tx_solicit);
    let refused = qg0.drops_for(DropReason::NeighborSolicitRateLimited)
        + qg0.drops_for(DropReason::NeighborIncompleteLimit);
    assert!(
        refused >= 9_500,
        "the scan is refused, not queued: {refused}"
    );
}
