//! Frames described for people, tcpdump style: `replay -v` and, later,
//! the packet trace. Off the fast path (it allocates a `String`); never
//! panics on any input.

use std::fmt::Write as _;

use crate::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, EthernetRepr, Icmpv4Packet,
    Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr,
    NdiscOption, NdiscRepr, UdpPacket,
};

/// A description of an Ethernet frame: a first line with addresses and the
/// message, then one indented line per ND option.
pub fn describe(frame: &[u8]) -> String {
    let mut out = String::new();
    let Ok(eth) = EthernetFrame::new_checked(frame).and_then(|f| EthernetRepr::parse(&f)) else {
        return format!("truncated ethernet frame ({} bytes)", frame.len());
    };
    let _ = write!(out, "{} > {}, ", eth.src_addr, eth.dst_addr);
    let l3 = frame.get(eth.header_len()..).unwrap_or(&[]);
    match eth.ethertype {
        EtherType::Ipv6 => describe_ipv6(&mut out, l3),
        EtherType::Ipv4 => describe_ipv4(&mut out, l3),
        EtherType::Arp => describe_arp(&mut out, l3),
        other => {
            let _ = write!(
                out,
                "ethertype {:#06x}, length {}",
                u16::from(other),
                frame.len()
            );
        }
    }
    out
}

fn describe_arp(out: &mut String, bytes: &[u8]) {
    match ArpPacket::new_checked(bytes).and_then(|p| ArpRepr::parse(&p)) {
        Ok(a) if a.operation == ArpOperation::Request => {
            let _ = write!(
                out,
                "ARP who-has {} tell {} ({})",
                a.target_protocol_addr, a.source_protocol_addr, a.source_hardware_addr
            );
        }
        Ok(a) => {
            let _ = write!(
                out,
                "ARP {:?} {} is-at {} (to {})",
                a.operation, a.source_protocol_addr, a.source_hardware_addr, a.target_protocol_addr
            );
        }
        Err(e) => {
            let _ = write!(out, "ARP ({e})");
        }
    }
}

fn describe_ipv4(out: &mut String, bytes: &[u8]) {
    let Ok(packet) = Ipv4Packet::new_checked(bytes) else {
        out.push_str("IPv4 (truncated)");
        return;
    };
    let Ok(ip) = Ipv4Repr::parse(&packet) else {
        out.push_str("IPv4 (malformed)");
        return;
    };
    let _ = write!(
        out,
        "IPv4 {} > {}, ttl {}, ",
        ip.src_addr, ip.dst_addr, ip.hop_limit
    );
    match ip.next_header {
        IpProtocol::Icmp => {
            match Icmpv4Packet::new_checked(packet.payload()).and_then(|p| Icmpv4Repr::parse(&p)) {
                Ok(Icmpv4Repr::EchoRequest { ident, seq_no, .. }) => {
                    let _ = write!(out, "ICMP echo request, id {ident}, seq {seq_no}");
                }
                Ok(Icmpv4Repr::EchoReply { ident, seq_no, .. }) => {
                    let _ = write!(out, "ICMP echo reply, id {ident}, seq {seq_no}");
                }
                Ok(other) => {
                    let _ = write!(out, "ICMP {other:?}");
                }
                Err(e) => {
                    let _ = write!(out, "ICMP ({e})");
                }
            }
        }
        IpProtocol::Udp => match UdpPacket::new_checked(packet.payload()) {
            Ok(u) => {
                let _ = write!(
                    out,
                    "UDP {} > {}, length {}",
                    u.src_port(),
                    u.dst_port(),
                    u.len()
                );
            }
            Err(e) => {
                let _ = write!(out, "UDP ({e})");
            }
        },
        p => {
            let _ = write!(out, "{p}, length {}", ip.payload_len);
        }
    }
    if packet.is_fragment() {
        let _ = write!(
            out,
            " [fragment id {}, offset {}{}]",
            packet.identification(),
            packet.frag_offset(),
            if packet.more_frags() { ", more" } else { "" }
        );
    }
}

fn describe_ipv6(out: &mut String, bytes: &[u8]) {
    let Ok(packet) = Ipv6Packet::new_checked(bytes) else {
        out.push_str("IPv6 (truncated)");
        return;
    };
    let Ok(ip) = Ipv6Repr::parse(&packet) else {
        out.push_str("IPv6 (malformed)");
        return;
    };
    let _ = write!(
        out,
        "IPv6 {} > {}, hlim {}, ",
        ip.src_addr, ip.dst_addr, ip.hop_limit
    );
    let payload = packet.payload();
    let upper = match crate::wire::walk_extension_headers(ip.next_header, payload) {
        Ok(u) => u,
        Err(e) => {
            let _ = write!(out, "extension headers ({e})");
            return;
        }
    };
    let data = payload.get(upper.offset..).unwrap_or(&[]);
    match upper.protocol {
        IpProtocol::Icmpv6 => describe_icmpv6(out, &ip, data),
        IpProtocol::Udp => match UdpPacket::new_checked(data) {
            Ok(u) => {
                let _ = write!(
                    out,
                    "UDP {} > {}, length {}",
                    u.src_port(),
                    u.dst_port(),
                    u.len()
                );
            }
            Err(e) => {
                let _ = write!(out, "UDP ({e})");
            }
        },
        p => {
            let _ = write!(out, "{p}, length {}", data.len());
        }
    }
}

fn describe_icmpv6(out: &mut String, ip: &Ipv6Repr, data: &[u8]) {
    let parsed = Icmpv6Packet::new_checked(data)
        .and_then(|p| Icmpv6Repr::parse(&ip.src_addr, &ip.dst_addr, &p));
    let repr = match parsed {
        Ok(r) => r,
        Err(e) => {
            let _ = write!(out, "ICMPv6 ({e})");
            return;
        }
    };
    match repr {
        Icmpv6Repr::EchoRequest { ident, seq_no, .. } => {
            let _ = write!(out, "ICMPv6 echo request, id {ident}, seq {seq_no}");
        }
        Icmpv6Repr::EchoReply { ident, seq_no, .. } => {
            let _ = write!(out, "ICMPv6 echo reply, id {ident}, seq {seq_no}");
        }
        Icmpv6Repr::Ndisc(nd) => describe_ndisc(out, &nd, data.len()),
        Icmpv6Repr::DstUnreachable { reason, data } => {
            let _ = write!(
                out,
                "ICMPv6 destination unreachable ({reason:?}), quoting {} bytes",
                data.len()
            );
        }
        Icmpv6Repr::PktTooBig { mtu, data } => {
            let _ = write!(
                out,
                "ICMPv6 packet too big, mtu {mtu}, quoting {} bytes",
                data.len()
            );
        }
        Icmpv6Repr::TimeExceeded { reason, data } => {
            let _ = write!(
                out,
                "ICMPv6 time exceeded ({reason:?}), quoting {} bytes",
                data.len()
            );
        }
        Icmpv6Repr::ParamProblem {
            reason, pointer, ..
        } => {
            let _ = write!(
                out,
                "ICMPv6 parameter problem ({reason:?}), pointer {pointer}"
            );
        }
        Icmpv6Repr::Other {
            msg_type,
            code,
            body,
        } => {
            let _ = write!(
                out,
                "ICMPv6 {msg_type:?} code {code}, length {}",
                body.len() + 4
            );
        }
    }
}

fn describe_ndisc(out: &mut String, nd: &NdiscRepr<'_>, len: usize) {
    match nd {
        NdiscRepr::RouterSolicit { .. } => {
            let _ = write!(out, "ICMPv6 router solicitation, length {len}");
        }
        NdiscRepr::RouterAdvert {
            cur_hop_limit,
            flags,
            router_lifetime,
            reachable_time,
            retrans_time,
            ..
        } => {
            let _ = write!(
                out,
                "ICMPv6 router advertisement, length {len}\n    hop limit {cur_hop_limit}, \
                 Flags {flags:?}, router lifetime {router_lifetime}s, reachable time \
                 {reachable_time}ms, retrans time {retrans_time}ms"
            );
        }
        NdiscRepr::NeighborSolicit { target_addr, .. } => {
            let _ = write!(out, "ICMPv6 neighbor solicitation, who has {target_addr}");
        }
        NdiscRepr::NeighborAdvert {
            flags, target_addr, ..
        } => {
            let mut f = Vec::new();
            if flags.router() {
                f.push("router");
            }
            if flags.solicited() {
                f.push("solicited");
            }
            if flags.override_() {
                f.push("override");
            }
            let _ = write!(
                out,
                "ICMPv6 neighbor advertisement, tgt is {target_addr}, Flags [{}]",
                f.join(", ")
            );
        }
        NdiscRepr::Redirect {
            target_addr,
            dest_addr,
            ..
        } => {
            let _ = write!(out, "ICMPv6 redirect, {dest_addr} to {target_addr}");
        }
    }
    for option in nd.options().iter() {
        out.push_str("\n    ");
        match option {
            Ok(NdiscOption::SourceLinkLayerAddr(mac)) => {
                let _ = write!(out, "source link-address option: {mac}");
            }
            Ok(NdiscOption::TargetLinkLayerAddr(mac)) => {
                let _ = write!(out, "destination link-address option: {mac}");
            }
            Ok(NdiscOption::PrefixInformation(p)) => {
                let mut f = Vec::new();
                if p.on_link {
                    f.push("onlink");
                }
                if p.autonomous {
                    f.push("auto");
                }
                let _ = write!(
                    out,
                    "prefix info option: {}/{}, Flags [{}], valid time {}s, pref. time {}s",
                    p.prefix,
                    p.prefix_len,
                    f.join(", "),
                    p.valid_lifetime,
                    p.preferred_lifetime
                );
            }
            Ok(NdiscOption::Mtu(mtu)) => {
                let _ = write!(out, "mtu option: {mtu}");
            }
            Ok(NdiscOption::Rdnss {
                lifetime,
                addresses,
            }) => {
                let addrs: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
                let _ = write!(
                    out,
                    "rdnss option: lifetime {lifetime}s, addr: {}",
                    addrs.join(" ")
                );
            }
            Ok(NdiscOption::Dnssl { lifetime, domains }) => {
                let names: Vec<String> = domains.iter().map(|d| d.to_string()).collect();
                let _ = write!(
                    out,
                    "dnssl option: lifetime {lifetime}s, domain(s): {}",
                    names.join(", ")
                );
            }
            Ok(other) => {
                let _ = write!(out, "{other:?}");
            }
            Err(e) => {
                let _ = write!(out, "option ({e})");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_panics_on_prefixes_of_a_real_frame() {
        let frames = crate::io::pcap::read_capture(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pcap/slaac-qr0.pcap"),
        )
        .unwrap();
        for f in &frames {
            for cut in 0..=f.data.len() {
                let _ = describe(&f.data[..cut]);
            }
        }
        let ra = frames
            .iter()
            .map(|f| describe(&f.data))
            .find(|d| d.contains("router advertisement"))
            .unwrap();
        assert!(ra.contains("prefix info option: 2001:db8:cafe::/64, Flags [onlink, auto], valid time 86400s, pref. time 14400s"), "{ra}");
    }
}
