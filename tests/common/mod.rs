//! Frame builders and decoders shared by the pipeline and replay tests.
// Test fixtures and bench inputs cast small, known values.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use routelet::config::Config;
use routelet::engine::{CompiledConfig, IfaceId, Instant, LinkInfo, Router, TxBatch};
use routelet::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr,
    Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv4Packet, Ipv4Repr,
    Ipv6Packet, Ipv6Repr, NdiscRepr,
};

pub const VM_MAC: EthernetAddress = EthernetAddress([0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc]);
pub const QR0_MAC: EthernetAddress = EthernetAddress([0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01]);

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn example(name: &str) -> Config {
    Config::load(&root().join("examples").join(format!("{name}.toml")))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub fn router(config: &Config, now: Instant) -> Router {
    let links = LinkInfo::synthetic(config);
    Router::new(
        Arc::new(CompiledConfig::build(config, &links).unwrap()),
        now,
    )
}

pub fn vm_ll() -> Ipv6Addr {
    VM_MAC.link_local_ipv6()
}

pub fn ip6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

pub fn ip4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// An Ethernet + IPv6 + ICMPv6 frame.
pub fn icmpv6_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    repr: &Icmpv6Repr<'_>,
) -> Vec<u8> {
    let icmp_len = repr.buffer_len();
    let mut buf = vec![0u8; 14 + 40 + icmp_len];
    EthernetRepr {
        dst_addr: dst_mac,
        src_addr: src_mac,
        ethertype: EtherType::Ipv6,
        vlan: None,
        outer_vlan: None,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut buf[..14]));
    Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Icmpv6,
        payload_len: icmp_len,
        hop_limit,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut buf[14..54]));
    repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut buf[54..]))
        .unwrap();
    buf
}

/// An Ethernet + IPv4 + ICMPv4 frame.
pub fn icmpv4_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    repr: &Icmpv4Repr<'_>,
) -> Vec<u8> {
    let icmp_len = repr.buffer_len();
    let mut buf = vec![0u8; 14 + 20 + icmp_len];
    EthernetRepr {
        dst_addr: dst_mac,
        src_addr: src_mac,
        ethertype: EtherType::Ipv4,
        vlan: None,
        outer_vlan: None,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut buf[..14]));
    Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Icmp,
        payload_len: icmp_len,
        hop_limit: 64,
        dont_frag: true,
        identification: 7,
    }
    .emit(&mut Ipv4Packet::new_unchecked(&mut buf[14..34]));
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[34..]))
        .unwrap();
    buf
}

/// An ARP frame.
pub fn arp_frame(src_mac: EthernetAddress, dst_mac: EthernetAddress, repr: &ArpRepr) -> Vec<u8> {
    let mut buf = vec![0u8; 14 + repr.buffer_len()];
    EthernetRepr {
        dst_addr: dst_mac,
        src_addr: src_mac,
        ethertype: EtherType::Arp,
        vlan: None,
        outer_vlan: None,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut buf[..14]));
    repr.emit(&mut ArpPacket::new_unchecked(&mut buf[14..]));
    buf
}

/// An emitted frame, decoded down to ICMPv6 when it is one.
#[derive(Debug)]
pub struct Decoded<'a> {
    pub iface: IfaceId,
    pub eth: EthernetRepr,
    pub ip6: Option<Ipv6Repr>,
    pub icmp6: Option<Icmpv6Repr<'a>>,
    pub ip4: Option<Ipv4Repr>,
    pub icmp4: Option<Icmpv4Repr<'a>>,
    pub arp: Option<ArpRepr>,
}

impl Decoded<'_> {
    pub fn ndisc(&self) -> NdiscRepr<'_> {
        match self.icmp6 {
            Some(Icmpv6Repr::Ndisc(nd)) => nd,
            ref other => panic!("not ND: {other:?}"),
        }
    }
}

/// Decodes a frame the router emitted, asserting every checksum verifies.
pub fn decode(iface: IfaceId, frame: &[u8]) -> Decoded<'_> {
    let eth = EthernetRepr::parse(&EthernetFrame::new_checked(frame).unwrap()).unwrap();
    let l3 = &frame[eth.header_len()..];
    let mut d = Decoded {
        iface,
        eth,
        ip6: None,
        icmp6: None,
        ip4: None,
        icmp4: None,
        arp: None,
    };
    match eth.ethertype {
        EtherType::Ipv6 => {
            let packet = Ipv6Packet::new_checked(l3).unwrap();
            let ip = Ipv6Repr::parse(&packet).unwrap();
            assert_eq!(packet.total_len(), l3.len(), "no trailing bytes");
            if ip.next_header == IpProtocol::Icmpv6 {
                let payload = &l3[40..40 + ip.payload_len];
                let icmp = Icmpv6Packet::new_checked(payload).unwrap();
                assert!(
                    icmp.verify_checksum(&ip.src_addr, &ip.dst_addr),
                    "ICMPv6 checksum"
                );
                d.icmp6 = Some(Icmpv6Repr::parse(&ip.src_addr, &ip.dst_addr, &icmp).unwrap());
            }
            d.ip6 = Some(ip);
        }
        EtherType::Ipv4 => {
            let packet = Ipv4Packet::new_checked(l3).unwrap();
            assert!(packet.verify_checksum(), "IPv4 header checksum");
            let ip = Ipv4Repr::parse(&packet).unwrap();
            if ip.next_header == IpProtocol::Icmp {
                let hl = packet.header_len();
                let icmp = Icmpv4Packet::new_checked(&l3[hl..hl + ip.payload_len]).unwrap();
                assert!(icmp.verify_checksum(), "ICMPv4 checksum");
                d.icmp4 = Some(Icmpv4Repr::parse(&icmp).unwrap());
            }
            d.ip4 = Some(ip);
        }
        EtherType::Arp => {
            d.arp = Some(ArpRepr::parse(&ArpPacket::new_checked(l3).unwrap()).unwrap());
        }
        other => panic!("unexpected ethertype {other:?}"),
    }
    d
}

/// Runs one frame through the router and returns the emitted frames' bytes.
pub fn process(
    router: &mut Router,
    iface: IfaceId,
    frame: &[u8],
    now: Instant,
) -> Vec<(IfaceId, Vec<u8>)> {
    let mut tx = TxBatch::default();
    router.process(iface, frame, now, &mut tx);
    tx.iter().map(|(i, b)| (i, b.to_vec())).collect()
}

/// Runs the timers due at `now`.
pub fn timers(router: &mut Router, now: Instant) -> Vec<(IfaceId, Vec<u8>)> {
    let mut tx = TxBatch::default();
    router.on_timer(now, &mut tx);
    tx.iter().map(|(i, b)| (i, b.to_vec())).collect()
}

pub fn pcap(name: &str) -> PathBuf {
    root().join("testdata/pcap").join(name)
}

pub fn path_exists(p: &Path) -> bool {
    p.exists()
}

pub const ARP_REQUEST: ArpOperation = ArpOperation::Request;

pub const EXT_MAC: EthernetAddress = EthernetAddress([0xfa, 0x16, 0x3e, 0xe0, 0xe0, 0x01]);
pub const QG0_MAC: EthernetAddress = EthernetAddress([0xfa, 0x16, 0x3e, 0x11, 0x11, 0x02]);

/// An Ethernet + IPv6 + UDP frame with `payload_len` bytes of payload.
pub fn udp6_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    payload_len: usize,
) -> Vec<u8> {
    use routelet::wire::{UdpPacket, UdpRepr};
    let udp_len = 8 + payload_len;
    let mut buf = vec![0u8; 14 + 40 + udp_len];
    EthernetRepr {
        dst_addr: dst_mac,
        src_addr: src_mac,
        ethertype: EtherType::Ipv6,
        vlan: None,
        outer_vlan: None,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut buf[..14]));
    Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Udp,
        payload_len: udp_len,
        hop_limit,
    }
    .emit(&mut Ipv6Packet::new_unchecked(&mut buf[14..54]));
    let payload: Vec<u8> = (0..payload_len).map(|i| i as u8).collect();
    let repr = UdpRepr {
        src_port: 40000,
        dst_port: 33434,
        payload_len,
    };
    repr.emit_v6(
        &mut UdpPacket::new_unchecked(&mut buf[54..]),
        &src,
        &dst,
        &payload,
    );
    buf
}

/// An Ethernet + IPv4 + UDP frame.
pub fn udp4_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    dont_frag: bool,
    payload_len: usize,
) -> Vec<u8> {
    use routelet::wire::{UdpPacket, UdpRepr};
    let udp_len = 8 + payload_len;
    let mut buf = vec![0u8; 14 + 20 + udp_len];
    EthernetRepr {
        dst_addr: dst_mac,
        src_addr: src_mac,
        ethertype: EtherType::Ipv4,
        vlan: None,
        outer_vlan: None,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut buf[..14]));
    Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Udp,
        payload_len: udp_len,
        hop_limit: ttl,
        dont_frag,
        identification: 0x1234,
    }
    .emit(&mut Ipv4Packet::new_unchecked(&mut buf[14..34]));
    let payload: Vec<u8> = (0..payload_len).map(|i| (i * 7) as u8).collect();
    let repr = UdpRepr {
        src_port: 40000,
        dst_port: 33434,
        payload_len,
    };
    repr.emit_v4(
        &mut UdpPacket::new_unchecked(&mut buf[34..]),
        &src,
        &dst,
        &payload,
    );
    buf
}

/// A neighbor advertisement from `mac` for `target`, solicited and override.
pub fn na_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    target: Ipv6Addr,
    dst: Ipv6Addr,
) -> Vec<u8> {
    use routelet::wire::{NdiscNeighborFlags, NdiscOption, NdiscOptions};
    let tlla = [NdiscOption::TargetLinkLayerAddr(src_mac)];
    icmpv6_frame(
        src_mac,
        dst_mac,
        target,
        dst,
        255,
        &Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
            flags: NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE,
            target_addr: target,
            options: NdiscOptions::List(&tlla),
        }),
    )
}
