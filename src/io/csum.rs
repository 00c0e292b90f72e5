//! Completing the L4 checksum the kernel left partial (CHECKSUM_PARTIAL).
//!
//! A frame sent by a local socket over veth (or any device that offers
//! checksum offload) reaches an AF_PACKET reader before any "hardware"
//! finished its TCP/UDP checksum: the ring marks it
//! `TP_STATUS_CSUMNOTREADY` (`RxMeta::csum_not_ready`), and the checksum
//! field holds only the folded, uncomplemented pseudo-header sum (RFC 8200
//! §8.1, RFC 768, RFC 9293 §3.1), as the stack put it there for the device.
//!
//! Contract: [`complete_checksum`] does what the device would have done
//! (Linux `skb_checksum_help`): sum the upper-layer bytes from the header to
//! the end of the IP datagram *with the field as it is*, complement, write
//! the result into the field, 0 becoming 0xffff. Summing the field in place
//! rather than recomputing the pseudo-header keeps it right whatever
//! addresses the sender's stack used (a routing header's final
//! destination). It handles Ethernet II with up to two VLAN tags, IPv4
//! (not fragmented) and IPv6 (extension headers walked, not fragmented)
//! carrying TCP, UDP or ICMPv6, and returns `false`, leaving the frame
//! untouched, for anything else or anything malformed. Call it only for
//! frames flagged `csum_not_ready`: on a finished checksum it would write
//! garbage. Safe code, no allocation, no indexing.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::wire::ethernet::MAX_VLAN_TAGS;
use crate::wire::{checksum, walk_extension_headers, IpProtocol, Ipv4Packet, Ipv6Packet};

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;

/// Fills in the partial L4 checksum of `frame` (see the module doc).
/// Returns whether it did.
pub fn complete_checksum(frame: &mut [u8]) -> bool {
    let Some((l4_start, l4_end, field)) = locate(frame) else {
        return false;
    };
    let Some(field_at) = l4_start.checked_add(field) else {
        return false;
    };
    let Some(l4) = frame.get(l4_start..l4_end) else {
        return false;
    };
    // The field holds the pseudo-header sum: summing over it adds it in.
    let value = match !checksum::sum(l4) {
        0 => 0xffff,
        v => v,
    };
    match frame.get_mut(field_at..field_at.saturating_add(2)) {
        Some(dst) => {
            dst.copy_from_slice(&value.to_be_bytes());
            true
        }
        None => false,
    }
}

/// The upper layer's byte range in `frame` and its checksum field's offset
/// within it, if the frame is one `complete_checksum` handles.
fn locate(frame: &[u8]) -> Option<(usize, usize, usize)> {
    let mut at = 12usize;
    let mut ethertype = be16(frame, at)?;
    for _ in 0..MAX_VLAN_TAGS {
        if ethertype != ETHERTYPE_VLAN && ethertype != ETHERTYPE_QINQ {
            break;
        }
        at = at.checked_add(4)?;
        ethertype = be16(frame, at)?;
    }
    let l3_start = at.checked_add(2)?;
    let l3 = frame.get(l3_start..)?;
    let (protocol, start, end) = match ethertype {
        ETHERTYPE_IPV4 => {
            let ip = Ipv4Packet::new_checked(l3).ok()?;
            if ip.version() != 4 || ip.is_fragment() {
                return None;
            }
            (ip.protocol(), ip.header_len(), usize::from(ip.total_len()))
        }
        ETHERTYPE_IPV6 => {
            let ip = Ipv6Packet::new_checked(l3).ok()?;
            // Payload Length 0 is a jumbogram (RFC 2675): not handled.
            if ip.version() != 6 || ip.payload_len() == 0 {
                return None;
            }
            let upper = walk_extension_headers(ip.next_header(), ip.payload()).ok()?;
            // A fragment's checksum covers the reassembled datagram.
            if upper.fragment.is_some() {
                return None;
            }
            (
                upper.protocol,
                upper.offset.checked_add(40)?,
                ip.total_len(),
            )
        }
        _ => return None,
    };
    let (field, min_len) = match protocol {
        IpProtocol::Tcp => (16, 20),
        IpProtocol::Udp => (6, 8),
        IpProtocol::Icmpv6 if ethertype == ETHERTYPE_IPV6 => (2, 4),
        _ => return None,
    };
    if end < start || end - start < min_len {
        return None;
    }
    Some((
        l3_start.checked_add(start)?,
        l3_start.checked_add(end)?,
        field,
    ))
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    match data.get(at..at.checked_add(2)?)? {
        [hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::{TcpPacket, UdpPacket};
    use std::net::Ipv6Addr;

    /// IPv6 UDP, checksum field holding the pseudo-header sum 0x5b98
    /// (complete: 0x2e43).
    static UDP6_PARTIAL: [u8; 70] = [
        // Ethernet: dst 02:00:00:00:00:0a, src 02:00:00:00:00:0b, IPv6
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x86, 0xdd,
        // IPv6: payload 16, next header UDP, hop limit 64
        0x60, 0x00, 0x00, 0x00, 0x00, 0x10, 0x11, 0x40, // src 2001:db8:1::2
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, // dst 2001:db8:1::1
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, // UDP: 40000 -> 9999, length 16, checksum = pseudo-header sum
        0x9c, 0x40, 0x27, 0x0f, 0x00, 0x10, 0x5b, 0x98, // payload "routelet"
        b'r', b'o', b'u', b't', b'e', b'l', b'e', b't',
    ];

    /// IPv6 TCP SYN, field = pseudo-header sum 0x5b91 (complete: 0xb814).
    static TCP6_PARTIAL: [u8; 74] = [
        // Ethernet: IPv6
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x86, 0xdd,
        // IPv6: payload 20, next header TCP, hop limit 64
        0x60, 0x00, 0x00, 0x00, 0x00, 0x14, 0x06, 0x40, // src 2001:db8:1::2
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, // dst 2001:db8:1::1
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, // TCP: 40000 -> 22, seq 1, ack 0, offset 5, SYN, window 65535
        0x9c, 0x40, 0x00, 0x16, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x50, 0x02, 0xff,
        0xff, // checksum = pseudo-header sum, urgent 0
        0x5b, 0x91, 0x00, 0x00,
    ];

    /// IPv6 ICMPv6 echo request, field = pseudo sum 0x5bbd (complete: 0x333c).
    static ICMP6_PARTIAL: [u8; 66] = [
        // Ethernet: IPv6
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x86, 0xdd,
        // IPv6: payload 12, next header ICMPv6, hop limit 64
        0x60, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x3a, 0x40, // src 2001:db8:1::2
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, // dst 2001:db8:1::1
        0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, // ICMPv6: echo request, code 0, checksum = pseudo sum, id 0x1234, seq 1
        0x80, 0x00, 0x5b, 0xbd, 0x12, 0x34, 0x00, 0x01, // data "ping"
        b'p', b'i', b'n', b'g',
    ];

    /// IPv4 UDP, field = pseudo sum 0x6659 (complete: 0x4a5c).
    static UDP4_PARTIAL: [u8; 50] = [
        // Ethernet: IPv4
        0x02, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b, 0x08, 0x00,
        // IPv4: IHL 5, total 36, id 1, DF, TTL 64, UDP, header checksum d490
        0x45, 0x00, 0x00, 0x24, 0x00, 0x01, 0x40, 0x00, 0x40, 0x11, 0xd4, 0x90,
        // 198.51.100.2 -> 203.0.113.1
        0xc6, 0x33, 0x64, 0x02, 0xcb, 0x00, 0x71, 0x01,
        // UDP: 40000 -> 53, length 16, checksum = pseudo-header sum
        0x9c, 0x40, 0x00, 0x35, 0x00, 0x10, 0x66, 0x59, // payload "routelet"
        b'r', b'o', b'u', b't', b'e', b'l', b'e', b't',
    ];

    fn v6(addr: &str) -> Ipv6Addr {
        addr.parse().unwrap()
    }

    #[test]
    fn completes_udp6() {
        let mut f = UDP6_PARTIAL;
        assert!(complete_checksum(&mut f));
        assert_eq!(&f[60..62], &[0x2e, 0x43]);
        let udp = UdpPacket::new_checked(&f[54..]).unwrap();
        assert!(udp.verify_checksum_v6(&v6("2001:db8:1::2"), &v6("2001:db8:1::1")));
        // Everything but the field is untouched.
        assert_eq!(&f[..60], &UDP6_PARTIAL[..60]);
        assert_eq!(&f[62..], &UDP6_PARTIAL[62..]);
    }

    #[test]
    fn completes_tcp6() {
        let mut f = TCP6_PARTIAL;
        assert!(complete_checksum(&mut f));
        assert_eq!(&f[70..72], &[0xb8, 0x14]);
        let tcp = TcpPacket::new_checked(&f[54..]).unwrap();
        assert!(tcp.verify_checksum_v6(&v6("2001:db8:1::2"), &v6("2001:db8:1::1")));
    }

    #[test]
    fn completes_icmp6() {
        let mut f = ICMP6_PARTIAL;
        assert!(complete_checksum(&mut f));
        assert_eq!(&f[56..58], &[0x33, 0x3c]);
    }

    #[test]
    fn completes_udp4() {
        let mut f = UDP4_PARTIAL;
        assert!(complete_checksum(&mut f));
        assert_eq!(&f[40..42], &[0x4a, 0x5c]);
        let udp = UdpPacket::new_checked(&f[34..]).unwrap();
        assert!(udp.verify_checksum_v4(
            &"198.51.100.2".parse().unwrap(),
            &"203.0.113.1".parse().unwrap()
        ));
    }

    #[test]
    fn completes_behind_vlan_tag_and_ignores_trailer() {
        // Tag inserted after the MACs, 4 bytes of Ethernet padding after.
        let mut f = Vec::new();
        f.extend_from_slice(&UDP6_PARTIAL[..12]);
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x64]);
        f.extend_from_slice(&UDP6_PARTIAL[12..]);
        f.extend_from_slice(&[0xa5; 4]);
        assert!(complete_checksum(&mut f));
        assert_eq!(&f[64..66], &[0x2e, 0x43]);
    }

    #[test]
    fn zero_result_becomes_ffff() {
        // Pick the field so that the sum complements to zero.
        let mut f = UDP6_PARTIAL;
        f[60] = 0;
        f[61] = 0;
        let rest = checksum::sum(&f[54..]);
        f[60..62].copy_from_slice(&(!rest).to_be_bytes());
        assert!(complete_checksum(&mut f));
        assert_eq!(&f[60..62], &[0xff, 0xff]);
    }

    #[test]
    fn rejects_truncated_frame() {
        let mut f = UDP6_PARTIAL;
        assert!(!complete_checksum(&mut f[..60]));
        assert!(!complete_checksum(&mut f[..10]));
        assert_eq!(f, UDP6_PARTIAL);
    }

    #[test]
    fn rejects_ipv4_fragment() {
        let mut f = UDP4_PARTIAL;
        f[20] = 0x20; // MF
        assert!(!complete_checksum(&mut f));
    }

    #[test]
    fn rejects_ipv6_fragment() {
        let mut f = Vec::new();
        f.extend_from_slice(&UDP6_PARTIAL[..54]);
        f[18..20].copy_from_slice(&[0x00, 0x18]); // payload 24
        f[20] = 44; // Fragment header
        f.extend_from_slice(&[17, 0, 0x00, 0x01, 0, 0, 0, 1]); // first, MF
        f.extend_from_slice(&UDP6_PARTIAL[54..]);
        assert!(!complete_checksum(&mut f));
    }

    #[test]
    fn rejects_icmpv4_and_unknown_protocols() {
        let mut f = UDP4_PARTIAL;
        f[23] = 1; // ICMP: no pseudo-header, never partial
        assert!(!complete_checksum(&mut f));
        let mut f = UDP6_PARTIAL;
        f[20] = 132; // SCTP
        assert!(!complete_checksum(&mut f));
    }

    #[test]
    fn rejects_short_upper_layer() {
        let mut f = UDP6_PARTIAL;
        f[18..20].copy_from_slice(&[0x00, 0x04]); // payload 4 < UDP header
        assert!(!complete_checksum(&mut f));
    }

    #[test]
    fn rejects_non_ip() {
        let mut f = UDP6_PARTIAL;
        f[12..14].copy_from_slice(&[0x08, 0x06]); // ARP
        assert!(!complete_checksum(&mut f));
    }
}
