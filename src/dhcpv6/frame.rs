//! DHCPv6 frames: the checks a punted frame passes before the server sees
//! its message, and the reply frame.
//!
//! The engine punted the frame after L2 and IPv6 input, so only the parts
//! the server relies on are checked again: the UDP header and checksum
//! (the worker completed a partial checksum, `TP_STATUS_CSUMNOTREADY`,
//! before the engine saw the frame), the ports, and the source a client
//! must use (RFC 8415 §7.1, §13.1: a client sends from its link-local
//! address to ff02::1:2, UDP 546 → 547; a relay agent from UDP 547).

use std::net::Ipv6Addr;

use crate::wire::{
    dhcpv6, is_link_local, walk_extension_headers, EtherType, EthernetAddress, EthernetFrame,
    EthernetRepr, IpProtocol, Ipv6Packet, Ipv6Repr, UdpPacket, UdpRepr,
};

/// Hop limit of what the server sends: a reply to a link-local client
/// never leaves the link, a reply to a relay may cross routers.
pub const REPLY_HOP_LIMIT: u8 = 64;

/// A DHCPv6 datagram out of a punted frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram<'a> {
    pub src_mac: EthernetAddress,
    pub src_ip: Ipv6Addr,
    pub dst_ip: Ipv6Addr,
    pub src_port: u16,
    pub dst_port: u16,
    /// The UDP payload.
    pub payload: &'a [u8],
}

impl Datagram<'_> {
    /// Whether the source is link-local, as a client's should be.
    pub fn from_link_local(&self) -> bool {
        is_link_local(&self.src_ip)
    }
}

/// Why a punted frame never reached the server (a counter name).
pub type FrameDrop = &'static str;

/// Parses a punted frame down to its UDP payload. `expect_port`: the
/// destination port the service listens on (547 for the server, 546 for
/// the PD client).
///
/// `accept_partial`: also take a checksum field that holds only the
/// pseudo-header sum, as a local sender on veth leaves it
/// (`TP_STATUS_CSUMNOTREADY`). `routelet run` completes those before the
/// engine sees them and passes `false`; a capture file keeps no such
/// status, so `replay` passes `true`.
pub fn parse(
    frame: &[u8],
    expect_port: u16,
    accept_partial: bool,
) -> Result<Datagram<'_>, FrameDrop> {
    let eth = EthernetFrame::new_checked(frame).map_err(|_| "drop_frame_truncated")?;
    let eth_repr = EthernetRepr::parse(&eth).map_err(|_| "drop_frame_truncated")?;
    if eth_repr.ethertype != EtherType::Ipv6 {
        return Err("drop_frame_not_ipv6");
    }
    let l3 = frame.get(eth_repr.header_len()..).unwrap_or_default();
    let ip = Ipv6Packet::new_checked(l3).map_err(|_| "drop_frame_bad_ipv6")?;
    let repr = Ipv6Repr::parse(&ip).map_err(|_| "drop_frame_bad_ipv6")?;
    let ip_payload_len = ip.payload().len();
    let payload = l3
        .get(crate::wire::ipv6::HEADER_LEN..crate::wire::ipv6::HEADER_LEN + ip_payload_len)
        .unwrap_or_default();
    let upper =
        walk_extension_headers(repr.next_header, payload).map_err(|_| "drop_frame_bad_ipv6")?;
    if upper.protocol != IpProtocol::Udp || upper.fragment.is_some() {
        return Err("drop_frame_not_udp");
    }
    let udp_bytes = payload.get(upper.offset..).unwrap_or_default();
    let udp = UdpPacket::new_checked(udp_bytes).map_err(|_| "drop_udp_truncated")?;
    if !udp.verify_checksum_v6(&repr.src_addr, &repr.dst_addr) {
        let length = u32::try_from(udp_bytes.len()).unwrap_or(u32::MAX);
        let partial = crate::wire::checksum::pseudo_header_v6(
            &repr.src_addr,
            &repr.dst_addr,
            u8::from(IpProtocol::Udp),
            length,
        );
        if !(accept_partial && udp.checksum() == partial) {
            return Err("drop_udp_checksum");
        }
    }
    if udp.dst_port() != expect_port {
        return Err("drop_udp_port");
    }
    let multicast = repr.dst_addr.is_multicast();
    if multicast && repr.dst_addr != dhcpv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS {
        return Err("drop_wrong_group");
    }
    // A client speaks from its link-local address (RFC 8415 §14); some
    // (perfdhcp) use a global one, which Kea and dnsmasq accept too: the
    // reply goes back to it on the same link, and the service counts it.
    // A relay agent (port 547) may use any unicast address.
    if repr.src_addr.is_multicast() || repr.src_addr.is_unspecified() {
        return Err("drop_bad_source");
    }
    Ok(Datagram {
        src_mac: eth.src_addr(),
        src_ip: repr.src_addr,
        dst_ip: repr.dst_addr,
        src_port: udp.src_port(),
        dst_port: udp.dst_port(),
        payload: udp_bytes
            .get(crate::wire::udp::HEADER_LEN..crate::wire::udp::HEADER_LEN + udp.payload().len())
            .unwrap_or_default(),
    })
}

/// The frame that carries `payload` from (`src_mac`, `src_ip`, `src_port`)
/// to (`dst_mac`, `dst_ip`, `dst_port`), checksummed.
pub fn build(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src_ip: Ipv6Addr,
    dst_ip: Ipv6Addr,
    src_port: u16,
    dst_port: u16,
    payload: &[u8],
) -> Vec<u8> {
    build_with_hop_limit(
        src_mac,
        dst_mac,
        src_ip,
        dst_ip,
        (src_port, dst_port),
        REPLY_HOP_LIMIT,
        payload,
    )
}

/// [`build`] with a hop limit of the caller's: the PD client's messages
/// to ff02::1:2 never leave the link (hop limit 1, as dhclient and
/// dibbler send them).
pub fn build_with_hop_limit(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src_ip: Ipv6Addr,
    dst_ip: Ipv6Addr,
    (src_port, dst_port): (u16, u16),
    hop_limit: u8,
    payload: &[u8],
) -> Vec<u8> {
    let udp = UdpRepr {
        src_port,
        dst_port,
        payload_len: payload.len(),
    };
    let eth_len = crate::wire::ethernet::HEADER_LEN;
    let ip_len = crate::wire::ipv6::HEADER_LEN;
    let mut buf = vec![0u8; eth_len + ip_len + udp.buffer_len()];
    let (eth, rest) = buf.split_at_mut(eth_len);
    EthernetRepr {
        dst_addr: dst_mac,
        src_addr: src_mac,
        ethertype: EtherType::Ipv6,
        vlan: None,
        outer_vlan: None,
    }
    .emit(&mut EthernetFrame::new_unchecked(eth));
    let (ip, data) = rest.split_at_mut(ip_len);
    Ipv6Repr {
        src_addr: src_ip,
        dst_addr: dst_ip,
        next_header: IpProtocol::Udp,
        payload_len: udp.buffer_len(),
        hop_limit,
    }
    .emit(&mut Ipv6Packet::new_unchecked(ip));
    udp.emit_v6(
        &mut UdpPacket::new_unchecked(data),
        &src_ip,
        &dst_ip,
        payload,
    );
    buf
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn build_then_parse() {
        let mac: EthernetAddress = "fa:16:3e:79:5a:cc".parse().unwrap();
        let router: EthernetAddress = "fa:16:3e:11:11:01".parse().unwrap();
        let src: Ipv6Addr = "fe80::f816:3eff:fe79:5acc".parse().unwrap();
        let frame = build(
            mac,
            router,
            src,
            dhcpv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            546,
            547,
            b"\x0b\x00\x00\x01",
        );
        let d = parse(&frame, 547, false).unwrap();
        assert_eq!((d.src_mac, d.src_ip, d.src_port), (mac, src, 546));
        assert_eq!(d.payload, b"\x0b\x00\x00\x01");
        // A bit flip in the payload fails the checksum.
        let mut bad = frame.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(parse(&bad, 547, false), Err("drop_udp_checksum"));
        assert_eq!(parse(&frame, 546, false), Err("drop_udp_port"));
        // A global source is taken, and told apart.
        let global: Ipv6Addr = "2001:db8::5".parse().unwrap();
        let frame = build(
            mac,
            router,
            global,
            dhcpv6::ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            546,
            547,
            b"\x0b\0\0\x01",
        );
        assert!(!parse(&frame, 547, false).unwrap().from_link_local());
        for cut in 0..frame.len() {
            let _ = parse(&frame[..cut], 547, false);
        }
    }
}
