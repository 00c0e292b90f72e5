//! IP protocol numbers shared by IPv4 (Protocol) and IPv6 (Next Header).
//!
//! Contract: the mapping is total over `u8`. Every octet converts to a
//! [`Protocol`] and back to the same octet; numbers without a named variant
//! become `Unknown(n)` so the forwarding path can carry any protocol and the
//! stages decide what to do with it. Build values with `Protocol::from(n)`:
//! `Unknown(6)` is not canonical and does not compare equal to `Tcp`.
//!
//! Values from the IANA "Assigned Internet Protocol Numbers" registry
//! (RFC 5237); the IPv6 extension headers are listed in RFC 8200 §4 and
//! RFC 7045.

/// An IPv4 Protocol / IPv6 Next Header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// IPv6 Hop-by-Hop Options (RFC 8200 §4.3).
    HopByHop,
    /// ICMP for IPv4 (RFC 792).
    Icmp,
    /// IGMP (RFC 3376).
    Igmp,
    /// TCP (RFC 9293).
    Tcp,
    /// UDP (RFC 768).
    Udp,
    /// IPv6 Routing header (RFC 8200 §4.4).
    Ipv6Route,
    /// IPv6 Fragment header (RFC 8200 §4.5).
    Ipv6Frag,
    /// Encapsulating Security Payload (RFC 4303): opaque, ends a header walk.
    Esp,
    /// Authentication Header (RFC 4302).
    Ah,
    /// ICMPv6 (RFC 4443).
    Icmpv6,
    /// IPv6 No Next Header (RFC 8200 §4.7).
    Ipv6NoNxt,
    /// IPv6 Destination Options (RFC 8200 §4.6).
    Ipv6Opts,
    /// Any other protocol number.
    Unknown(u8),
}

impl From<u8> for Protocol {
    fn from(value: u8) -> Self {
        match value {
            0 => Protocol::HopByHop,
            1 => Protocol::Icmp,
            2 => Protocol::Igmp,
            6 => Protocol::Tcp,
            17 => Protocol::Udp,
            43 => Protocol::Ipv6Route,
            44 => Protocol::Ipv6Frag,
            50 => Protocol::Esp,
            51 => Protocol::Ah,
            58 => Protocol::Icmpv6,
            59 => Protocol::Ipv6NoNxt,
            60 => Protocol::Ipv6Opts,
            other => Protocol::Unknown(other),
        }
    }
}

impl From<Protocol> for u8 {
    fn from(value: Protocol) -> Self {
        match value {
            Protocol::HopByHop => 0,
            Protocol::Icmp => 1,
            Protocol::Igmp => 2,
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Ipv6Route => 43,
            Protocol::Ipv6Frag => 44,
            Protocol::Esp => 50,
            Protocol::Ah => 51,
            Protocol::Icmpv6 => 58,
            Protocol::Ipv6NoNxt => 59,
            Protocol::Ipv6Opts => 60,
            Protocol::Unknown(other) => other,
        }
    }
}

impl core::fmt::Display for Protocol {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Protocol::HopByHop => f.write_str("Hop-by-Hop"),
            Protocol::Icmp => f.write_str("ICMP"),
            Protocol::Igmp => f.write_str("IGMP"),
            Protocol::Tcp => f.write_str("TCP"),
            Protocol::Udp => f.write_str("UDP"),
            Protocol::Ipv6Route => f.write_str("IPv6-Route"),
            Protocol::Ipv6Frag => f.write_str("IPv6-Frag"),
            Protocol::Esp => f.write_str("ESP"),
            Protocol::Ah => f.write_str("AH"),
            Protocol::Icmpv6 => f.write_str("ICMPv6"),
            Protocol::Ipv6NoNxt => f.write_str("IPv6-NoNxt"),
            Protocol::Ipv6Opts => f.write_str("IPv6-Opts"),
            Protocol::Unknown(n) => write!(f, "protocol {n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_round_trip_over_u8() {
        for n in 0..=u8::MAX {
            assert_eq!(u8::from(Protocol::from(n)), n);
        }
    }

    #[test]
    fn named_values() {
        assert_eq!(Protocol::from(0), Protocol::HopByHop);
        assert_eq!(Protocol::from(6), Protocol::Tcp);
        assert_eq!(Protocol::from(17), Protocol::Udp);
        assert_eq!(Protocol::from(58), Protocol::Icmpv6);
        assert_eq!(Protocol::from(59), Protocol::Ipv6NoNxt);
        assert_eq!(Protocol::from(253), Protocol::Unknown(253));
        assert_eq!(Protocol::Icmpv6.to_string(), "ICMPv6");
        assert_eq!(Protocol::Unknown(253).to_string(), "protocol 253");
    }
}
