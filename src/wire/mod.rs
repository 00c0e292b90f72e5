//! Bytes to headers and back: the wire layer.
//!
//! Contract, in the style of smoltcp:
//!
//! - Each protocol has a `Packet<T: AsRef<[u8]>>` view over the bytes with
//!   `new_unchecked`, `check_len` and `new_checked`, one getter per RFC field
//!   (named as the RFC names it) and setters where `T: AsMut<[u8]>`.
//!   `check_len` covers the buffer and every length field a later accessor
//!   slices by, so once `new_checked` succeeds no accessor can panic.
//! - A `Repr` is the packet's meaning, a plain `Copy` value: `Repr::parse`
//!   does the semantic checks, `buffer_len()` and `emit()` build.
//! - Code points are total: an unknown value is `Unknown(n)`, never an error.
//! - TLV walks (extension headers, ND options) check each length before
//!   slicing, reject a zero length and cap how many elements they visit.
//! - No I/O, no clock, no allocation (DHCPv6 excepted: dhcproto allocates,
//!   which is fine off the forwarding path).
//!
//! Why our own views rather than etherparse's slices: the forwarding path
//! rewrites frames in place (hop limit, TTL with an incremental checksum,
//! MAC addresses), which needs mutable views over the receive buffer, and
//! rejection tests need one precise error per malformation. etherparse's
//! slices are read-only and its errors carry data we would throw away.
//! etherparse serves as a test oracle instead (`tests/wire_oracle.rs`, the
//! `etherparse_oracle` fuzz target).
//!
//! Lints: no indexing, slicing or `unwrap` anywhere below this module
//! (bytes come from the network). An accessor may index after `check_len`
//! under a local `#[allow(clippy::indexing_slicing)]` that says what covers
//! it, as smoltcp does; tests may index and unwrap.

#![deny(clippy::indexing_slicing, clippy::unwrap_used)]

pub mod checksum;
// --- wire-l3 modules ---
pub mod arp;
pub mod ethernet;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod ipv6ext;
pub mod tcp;
pub mod udp;

pub use self::arp::{Operation as ArpOperation, Packet as ArpPacket, Repr as ArpRepr};
pub use self::ethernet::{EtherType, Frame as EthernetFrame, Repr as EthernetRepr, VlanTag};
pub use self::ip::Protocol as IpProtocol;
pub use self::ipv4::{Packet as Ipv4Packet, Repr as Ipv4Repr};
pub use self::ipv6::{Packet as Ipv6Packet, Repr as Ipv6Repr};
pub use self::ipv6ext::{
    walk_extension_headers, FragmentInfo as Ipv6FragmentInfo, UpperLayer as Ipv6UpperLayer,
};
pub use self::tcp::{Flags as TcpFlags, Packet as TcpPacket, Repr as TcpRepr};
pub use self::udp::{Packet as UdpPacket, Repr as UdpRepr};
// --- end wire-l3 ---

/// Why a frame or message could not be parsed.
///
/// A small `Copy` enum without strings: each variant maps to a drop counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseError {
    /// The buffer is shorter than the header or than a length field says.
    Truncated,
    /// A length field is inconsistent (zero where not allowed, not a
    /// multiple of its unit, larger than its container).
    BadLength,
    /// The IP version nibble is not the one expected.
    BadVersion,
    /// The checksum does not verify.
    BadChecksum,
    /// The message is well-formed bytes but violates its RFC
    /// (bad code, bad hop limit, forbidden option, ...).
    Malformed,
    /// A TLV walk visited more elements than the cap allows.
    TooManyOptions,
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = match self {
            ParseError::Truncated => "truncated",
            ParseError::BadLength => "bad length field",
            ParseError::BadVersion => "bad IP version",
            ParseError::BadChecksum => "bad checksum",
            ParseError::Malformed => "malformed",
            ParseError::TooManyOptions => "too many options",
        };
        f.write_str(s)
    }
}

impl std::error::Error for ParseError {}

/// Result of a parse.
pub type Result<T> = core::result::Result<T, ParseError>;

/// A 48-bit Ethernet (EUI-48) address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// Builds an address from a slice of exactly six bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<EthernetAddress> {
        let octets: [u8; 6] = bytes.try_into().ok()?;
        Some(EthernetAddress(octets))
    }

    /// The six octets.
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// Unicast: the I/G bit is clear.
    pub const fn is_unicast(&self) -> bool {
        self.0[0] & 0x01 == 0
    }

    /// Multicast or broadcast: the I/G bit is set.
    pub const fn is_multicast(&self) -> bool {
        !self.is_unicast()
    }

    /// ff:ff:ff:ff:ff:ff.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// The multicast MAC that carries an IPv6 multicast group (RFC 2464 §7):
    /// 33:33 followed by the group's last four octets.
    pub fn from_ipv6_multicast(group: &std::net::Ipv6Addr) -> EthernetAddress {
        let o = group.octets();
        EthernetAddress([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }

    /// The modified EUI-64 interface identifier (RFC 4291 appendix A).
    pub fn eui64_interface_id(&self) -> [u8; 8] {
        let m = self.0;
        [m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]
    }

    /// fe80::/64 plus the modified EUI-64 of this MAC.
    pub fn link_local_ipv6(&self) -> std::net::Ipv6Addr {
        let mut o = [0u8; 16];
        o[0] = 0xfe;
        o[1] = 0x80;
        o[8..].copy_from_slice(&self.eui64_interface_id());
        std::net::Ipv6Addr::from(o)
    }
}

impl core::fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl core::fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

impl core::str::FromStr for EthernetAddress {
    type Err = ParseError;

    /// Parses `aa:bb:cc:dd:ee:ff` (or with `-`), hex digits either case.
    fn from_str(s: &str) -> Result<EthernetAddress> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in out.iter_mut() {
            let part = parts.next().ok_or(ParseError::Malformed)?;
            if part.len() != 2 {
                return Err(ParseError::Malformed);
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| ParseError::Malformed)?;
        }
        if parts.next().is_some() {
            return Err(ParseError::Malformed);
        }
        Ok(EthernetAddress(out))
    }
}

/// ff02::1, all nodes on the link (RFC 4291 §2.7.1).
pub const ALL_NODES: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// ff02::2, all routers on the link (RFC 4291 §2.7.1).
pub const ALL_ROUTERS: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
/// ff02::1:2, all DHCPv6 relay agents and servers (RFC 8415 §7.1).
pub const ALL_DHCP_AGENTS: std::net::Ipv6Addr =
    std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// Whether `addr` is link-local unicast, fe80::/10 (RFC 4291 §2.5.6).
#[inline]
pub fn is_link_local(addr: &std::net::Ipv6Addr) -> bool {
    addr.segments()[0] & 0xffc0 == 0xfe80
}

/// Solicited-node multicast address of `addr` (RFC 4291 §2.7.1):
/// ff02::1:ffXX:XXXX with the address's low 24 bits.
pub fn solicited_node(addr: &std::net::Ipv6Addr) -> std::net::Ipv6Addr {
    let o = addr.octets();
    std::net::Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

// --- wire-icmp modules ---
pub mod dhcpv6;
pub mod dns;
pub mod icmpv4;
pub mod icmpv6;
pub mod ndisc;
pub mod ndisc_option;

pub use self::icmpv4::{
    DstUnreachable as Icmpv4DstUnreachable, Message as Icmpv4Message, Packet as Icmpv4Packet,
    Repr as Icmpv4Repr, TimeExceeded as Icmpv4TimeExceeded,
};
pub use self::icmpv6::{
    DstUnreachable as Icmpv6DstUnreachable, Message as Icmpv6Message, Packet as Icmpv6Packet,
    ParamProblem as Icmpv6ParamProblem, Repr as Icmpv6Repr, TimeExceeded as Icmpv6TimeExceeded,
};
pub use self::ndisc::{
    DnsslDomains as NdiscDnsslDomains, DomainName as NdiscDomainName,
    NeighborFlags as NdiscNeighborFlags, PrefixInformation as NdiscPrefixInformation,
    RdnssAddrs as NdiscRdnssAddrs, Repr as NdiscRepr, RoutePreference as NdiscRoutePreference,
    RouterFlags as NdiscRouterFlags,
};
pub use self::ndisc_option::{NdiscOption, NdiscOptions};
// --- end wire-icmp ---

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    #[test]
    fn mac_parse_and_display() {
        let mac: EthernetAddress = "fa:16:3e:79:5a:cc".parse().unwrap();
        assert_eq!(mac.0, [0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc]);
        assert_eq!(mac.to_string(), "fa:16:3e:79:5a:cc");
        assert_eq!("FA-16-3E-79-5A-CC".parse::<EthernetAddress>().unwrap(), mac);
    }

    #[test]
    fn mac_rejects_malformed() {
        for bad in [
            "",
            "fa:16:3e:79:5a",
            "fa:16:3e:79:5a:cc:00",
            "fa:16:3e:79:5a:c",
            "zz:16:3e:79:5a:cc",
        ] {
            assert_eq!(
                bad.parse::<EthernetAddress>(),
                Err(ParseError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn eui64_link_local_matches_talk() {
        // The talk's VM: fa:16:3e:79:5a:cc -> fe80::f816:3eff:fe79:5acc
        let mac: EthernetAddress = "fa:16:3e:79:5a:cc".parse().unwrap();
        assert_eq!(
            mac.link_local_ipv6(),
            "fe80::f816:3eff:fe79:5acc".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn solicited_node_matches_talk() {
        let a: Ipv6Addr = "2001:db8:cafe:0:f816:3eff:fe79:5acc".parse().unwrap();
        assert_eq!(
            solicited_node(&a),
            "ff02::1:ff79:5acc".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(
            EthernetAddress::from_ipv6_multicast(&solicited_node(&a)).to_string(),
            "33:33:ff:79:5a:cc"
        );
    }
}
