//! The whole engine: a `Router` over `examples/dual-stack.toml` fed
//! arbitrary frames on arbitrary interfaces at arbitrary (monotonic) times.
//!
//! Input: records `iface:u8 | step:u16be | len:u16be | frame[len]` (see
//! `routelet_fuzz::records`): `iface % (interfaces + 1)` is the ingress (the
//! extra value is an interface the router does not have), `step` advances
//! the clock (top bit: seconds, else milliseconds). Before each frame the
//! due timers run (`next_deadline` / `on_timer`); after the last one the
//! router shuts down.
//!
//! The config is parsed, validated and compiled once (`OnceLock`); each
//! input gets a fresh `Router` over it, so a crash reproduces from its one
//! input instead of depending on what earlier inputs left in the rate
//! limiters and RA timers. The neighbor caches are made small (64 entries,
//! 8 unresolved) so that building a `Router` per input stays cheap and the
//! bounds are reached by short inputs.
//!
//! Properties: no panic; each call emits a bounded number of frames (< 64
//! per input frame, < 64 per timer run); a frame is punted to a local
//! service at most once, byte for byte as received, with its (real)
//! ingress, and timers and shutdown punt nothing; every emitted frame goes out of a
//! real interface with that interface's MAC as source and parses back as
//! Ethernet and IP; what the router originates (from its own addresses)
//! further parses as IPv6 (ICMPv6 with a correct checksum), IPv4
//! (correct header and ICMPv4 checksums) or ARP by its EtherType; after
//! `on_timer(now)` the next deadline is later than `now`.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use routelet::config::Config;
use routelet::engine::{CompiledConfig, IfaceId, Instant, LinkInfo, Router, TxBatch};
use routelet::wire::{
    walk_extension_headers, ArpPacket, ArpRepr, EtherType, EthernetFrame, EthernetRepr,
    Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv4Packet, Ipv4Repr,
    Ipv6Packet, Ipv6Repr,
};
use routelet_fuzz::{checksum_ok, icmpv6_checksum_ok, records};

/// Frames one call may emit before we call it unbounded.
const MAX_TX_PER_CALL: usize = 64;

/// Timer runs per input, so an input cannot loop forever if a deadline
/// failed to advance (that is asserted anyway).
const MAX_TIMER_RUNS: usize = 64;

/// Where the clock starts: far from zero so "earlier than start" maths is
/// exercised without underflow excuses.
const START: Instant = Instant::from_secs(1_000_000);

static CONFIG: OnceLock<Arc<CompiledConfig>> = OnceLock::new();

fn compiled() -> Arc<CompiledConfig> {
    Arc::clone(CONFIG.get_or_init(|| {
        let text = include_str!("../../examples/dual-stack.toml");
        let mut config = Config::from_toml_str(text).expect("examples/dual-stack.toml is valid");
        // Small neighbor caches: building a Router per input stays cheap,
        // and the bounds (incomplete cap, queue limits) are reached by
        // inputs of a few frames.
        config.router.neighbor.max_entries = 64;
        config.router.neighbor.max_incomplete = 8;
        config.router.neighbor.solicit_burst = 8;
        config.router.neighbor.queue_bytes = 16 * 1024;
        config.validate().expect("small neighbor bounds are valid");
        let links = LinkInfo::synthetic(&config);
        Arc::new(CompiledConfig::build(&config, &links).expect("dual-stack compiles"))
    }))
}

fuzz_target!(|data: &[u8]| {
    let config = compiled();
    let iface_count = config.ifaces.len();
    let mut router = Router::new(Arc::clone(&config), START);
    let mut tx = TxBatch::with_capacity(MAX_TX_PER_CALL, 16 * 1024);
    let mut now = START;
    let mut timer_runs = 0usize;

    for record in records(data) {
        now = Instant::from_micros(now.micros().saturating_add(record.advance_micros));
        while let Some(deadline) = router.next_deadline() {
            if deadline > now || timer_runs == MAX_TIMER_RUNS {
                break;
            }
            timer_runs += 1;
            tx.clear();
            router.on_timer(now, &mut tx);
            check_tx(&config, &tx, None);
            if let Some(next) = router.next_deadline() {
                assert!(next > now, "on_timer({now}) left a deadline at {next}");
            }
        }
        // One value past the last interface: an unknown ingress.
        let ingress = u16::from(record.iface) % (iface_count as u16 + 1);
        tx.clear();
        router.process(IfaceId(ingress), record.frame, now, &mut tx);
        check_tx(&config, &tx, Some((IfaceId(ingress), record.frame)));
    }
    tx.clear();
    router.shutdown(now, &mut tx);
    check_tx(&config, &tx, None);
});

/// Checks the frames of one call (see the module doc). `input` is the
/// ingress and frame of a `process` call, `None` for timers and shutdown.
fn check_tx(config: &CompiledConfig, tx: &TxBatch, input: Option<(IfaceId, &[u8])>) {
    assert!(
        tx.len() < MAX_TX_PER_CALL,
        "one call emitted {} frames",
        tx.len()
    );
    // Punts: only a received frame is punted, at most once, unchanged,
    // tagged with the (real) interface it came in on.
    match input {
        None => assert_eq!(tx.punt_count(), 0, "a timer or shutdown punted a frame"),
        Some((ingress, frame)) => {
            assert!(tx.punt_count() <= 1, "one frame punted {} times", tx.punt_count());
            for punted in tx.punts() {
                assert_eq!(punted.ingress, ingress, "punted with another ingress");
                assert!(config.iface(ingress).is_some(), "punted from an unknown interface");
                assert_eq!(punted.frame, frame, "punted frame differs from the one received");
            }
        }
    }
    for (iface, bytes) in tx.iter() {
        let iface = config
            .iface(iface)
            .unwrap_or_else(|| panic!("frame out of unknown interface {iface:?}"));
        check_frame(config, iface.mac, bytes);
    }
}

/// Every frame: Ethernet from our MAC, untagged, a parseable IP header.
/// Frames the router originates (from one of its addresses, and ARP)
/// must also carry correct checksums and parse to the end; forwarded
/// frames carry their sender's checksums, right or wrong, untouched but
/// for the hop limit / TTL (and the IPv4 header checksum, updated
/// incrementally from whatever it was).
fn check_frame(config: &CompiledConfig, own_mac: routelet::wire::EthernetAddress, bytes: &[u8]) {
    let frame = EthernetFrame::new_checked(bytes).expect("emitted frame shorter than Ethernet");
    let eth = EthernetRepr::parse(&frame).expect("emitted Ethernet header does not parse");
    assert_eq!(eth.src_addr, own_mac, "emitted with a foreign source MAC");
    assert!(eth.vlan.is_none(), "emitted a tagged frame");
    let l3 = bytes.get(eth.header_len()..).unwrap_or_default();
    match eth.ethertype {
        EtherType::Ipv6 => {
            let packet = Ipv6Packet::new_checked(l3).expect("emitted IPv6 truncated");
            let ip = Ipv6Repr::parse(&packet).expect("emitted IPv6 does not parse");
            assert_eq!(l3.len(), 40 + ip.payload_len, "IPv6 length field disagrees");
            assert!(!ip.src_addr.is_multicast(), "IPv6 from a multicast source");
            if !config.owns_ipv6(&ip.src_addr) {
                return;
            }
            let upper = walk_extension_headers(ip.next_header, packet.payload())
                .expect("emitted IPv6 extension headers do not walk");
            if upper.protocol == IpProtocol::Icmpv6 {
                let message = packet.payload().get(upper.offset..).unwrap_or_default();
                assert!(
                    icmpv6_checksum_ok(&ip.src_addr, &ip.dst_addr, message),
                    "emitted ICMPv6 checksum is wrong"
                );
                let icmp = Icmpv6Packet::new_checked(message).expect("emitted ICMPv6 truncated");
                Icmpv6Repr::parse(&ip.src_addr, &ip.dst_addr, &icmp)
                    .expect("emitted ICMPv6 does not parse");
            }
        }
        EtherType::Ipv4 => {
            let packet = Ipv4Packet::new_checked(l3).expect("emitted IPv4 truncated");
            if !config.owns_ipv4(&packet.src_addr()) {
                return;
            }
            let ip = Ipv4Repr::parse(&packet).expect("emitted IPv4 does not parse");
            let header = l3.get(..packet.header_len()).unwrap_or_default();
            assert!(
                checksum_ok(0, header),
                "emitted IPv4 header checksum is wrong"
            );
            if ip.next_header == IpProtocol::Icmp {
                let message = packet.payload();
                assert!(checksum_ok(0, message), "emitted ICMPv4 checksum is wrong");
                let icmp = Icmpv4Packet::new_checked(message).expect("emitted ICMPv4 truncated");
                Icmpv4Repr::parse(&icmp).expect("emitted ICMPv4 does not parse");
            }
        }
        EtherType::Arp => {
            let packet = ArpPacket::new_checked(l3).expect("emitted ARP truncated");
            ArpRepr::parse(&packet).expect("emitted ARP does not parse");
        }
        other => panic!("emitted EtherType {other:?}"),
    }
}
