//! Neighbor Discovery messages (RFC 4861 §4): RS, RA, NS, NA, Redirect.
//!
//! Contract:
//!
//! - The messages are ICMPv6 messages, so the view is [`icmpv6::Packet`];
//!   this module adds its ND getters and setters (RFC 4861 §4.1-§4.5
//!   names). Like every getter there they never panic; after
//!   `check_len` they read the real fields of the message's type.
//! - [`Repr::parse`] is structural: the fixed part and one full walk of
//!   the options (errors in [`super::ndisc_option`]), so the options of a
//!   parsed `Repr` iterate without error. It neither verifies the checksum
//!   ([`icmpv6::Repr::parse`] does) nor looks at the IP header.
//! - [`Repr::parse_validated`] is what the engine calls on receipt: the
//!   validity checks of RFC 4861 §6.1.1 (RS), §6.1.2 (RA), §7.1.1 (NS),
//!   §7.1.2 (NA) and §8.1 (Redirect), which need the IP source,
//!   destination and hop limit. A message failing them must be silently
//!   discarded. Errors, in the order they are checked:
//!   - `Malformed`: not an ND message type;
//!   - `Truncated`: ICMP length below the type's fixed part (RS 8, RA 16,
//!     NS/NA 24, Redirect 40 octets);
//!   - `BadChecksum`: the ICMPv6 checksum does not verify;
//!   - `Malformed`: IP hop limit is not 255 (the message may come from
//!     off-link), or ICMP code is not 0;
//!   - option errors: `Truncated`, `BadLength` (includes length 0),
//!     `TooManyOptions`, `Malformed`;
//!   - `Malformed` for each per-message rule: RS from :: with a source
//!     link-layer address option; RA from a source that is not
//!     link-local; NS or NA for a multicast target; NS from :: not sent to
//!     a solicited-node address, or carrying a source link-layer address
//!     option; NA to a multicast destination with the S flag; Redirect
//!     from a source that is not link-local, for a multicast destination,
//!     or whose target is neither link-local nor the destination.
//! - [`Repr::emit`] writes the message with code 0 and zeroed reserved
//!   fields; [`icmpv6::Repr::emit`] around it fills the checksum.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use core::fmt;
use core::ops::BitOr;
use std::net::Ipv6Addr;

use super::icmpv6::{self, Message};
use super::{is_link_local, ParseError, Result};

pub use super::ndisc_option::{
    DnsslDomains, DomainName, NdiscOption, NdiscOptions, NdiscOptionsIter, OptionType,
    PrefixInformation, RdnssAddrs, RoutePreference, MAX_OPTIONS,
};

/// The hop limit ND messages are sent with and must arrive with
/// (RFC 4861 §6.1, §7.1, §8.1): proof they were not forwarded.
pub const HOP_LIMIT: u8 = 255;

mod field {
    /// RA (RFC 4861 §4.2).
    pub const CUR_HOP_LIMIT: usize = 4;
    pub const ROUTER_FLAGS: usize = 5;
    pub const ROUTER_LIFETIME: usize = 6;
    pub const REACHABLE_TIME: usize = 8;
    pub const RETRANS_TIME: usize = 12;
    /// NA flags (RFC 4861 §4.4).
    pub const NEIGHBOR_FLAGS: usize = 4;
    /// NS, NA, Redirect.
    pub const TARGET_ADDR: usize = 8;
    /// Redirect (RFC 4861 §4.5).
    pub const DEST_ADDR: usize = 24;
}

/// The flags octet of a Router Advertisement (RFC 4861 §4.2, RFC 4191
/// §2.2 preference, RFC 3775 home agent, RFC 4389 proxy). The two
/// reserved low bits are dropped on parse, as receivers must ignore them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RouterFlags(u8);

impl RouterFlags {
    /// No flag, medium preference.
    pub const EMPTY: RouterFlags = RouterFlags(0);
    /// M: addresses are available by DHCPv6 (stateful).
    pub const MANAGED: RouterFlags = RouterFlags(0x80);
    /// O: other configuration is available by DHCPv6 (stateless).
    pub const OTHER: RouterFlags = RouterFlags(0x40);
    /// H: the router is a Mobile IPv6 home agent.
    pub const HOME_AGENT: RouterFlags = RouterFlags(0x20);
    /// P: ND proxy.
    pub const PROXY: RouterFlags = RouterFlags(0x04);
    const PRF_SHIFT: u8 = 3;
    const PRF_MASK: u8 = 0b11 << Self::PRF_SHIFT;
    const RESERVED: u8 = 0b11;

    /// From the flags octet.
    pub const fn from_bits(bits: u8) -> RouterFlags {
        RouterFlags(bits & !Self::RESERVED)
    }

    /// The flags octet.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: RouterFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// M flag.
    pub const fn managed(self) -> bool {
        self.contains(Self::MANAGED)
    }

    /// O flag.
    pub const fn other(self) -> bool {
        self.contains(Self::OTHER)
    }

    /// Default router preference (RFC 4191 §2.2).
    pub const fn preference(self) -> RoutePreference {
        RoutePreference::from_bits(self.0 >> Self::PRF_SHIFT)
    }

    /// The same flags with preference `prf`.
    pub const fn with_preference(self, prf: RoutePreference) -> RouterFlags {
        RouterFlags((self.0 & !Self::PRF_MASK) | (prf.bits() << Self::PRF_SHIFT))
    }
}

impl BitOr for RouterFlags {
    type Output = RouterFlags;

    fn bitor(self, rhs: RouterFlags) -> RouterFlags {
        RouterFlags(self.0 | rhs.0)
    }
}

impl fmt::Debug for RouterFlags {
    /// tcpdump's words: `[managed, other stateful] pref medium`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = [
            (self.managed(), "managed"),
            (self.other(), "other stateful"),
            (self.contains(Self::HOME_AGENT), "home agent"),
            (self.contains(Self::PROXY), "proxy"),
        ]
        .into_iter()
        .filter(|(set, _)| *set)
        .map(|(_, name)| name);
        f.write_str("[")?;
        if let Some(first) = names.next() {
            f.write_str(first)?;
            for name in names {
                write!(f, ", {name}")?;
            }
        } else {
            f.write_str("none")?;
        }
        write!(f, "] pref {:?}", self.preference())
    }
}

/// The flags of a Neighbor Advertisement (RFC 4861 §4.4): the high three
/// bits of its first word. Reserved bits are dropped on parse.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NeighborFlags(u8);

impl NeighborFlags {
    /// No flag.
    pub const EMPTY: NeighborFlags = NeighborFlags(0);
    /// R: the sender is a router.
    pub const ROUTER: NeighborFlags = NeighborFlags(0x80);
    /// S: sent in response to an NS.
    pub const SOLICITED: NeighborFlags = NeighborFlags(0x40);
    /// O: override an existing cache entry.
    pub const OVERRIDE: NeighborFlags = NeighborFlags(0x20);
    const DEFINED: u8 = 0xe0;

    /// From the first octet of the NA's first word.
    pub const fn from_bits(bits: u8) -> NeighborFlags {
        NeighborFlags(bits & Self::DEFINED)
    }

    /// The first octet.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: NeighborFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// R flag.
    pub const fn router(self) -> bool {
        self.contains(Self::ROUTER)
    }

    /// S flag.
    pub const fn solicited(self) -> bool {
        self.contains(Self::SOLICITED)
    }

    /// O flag.
    pub const fn override_(self) -> bool {
        self.contains(Self::OVERRIDE)
    }
}

impl BitOr for NeighborFlags {
    type Output = NeighborFlags;

    fn bitor(self, rhs: NeighborFlags) -> NeighborFlags {
        NeighborFlags(self.0 | rhs.0)
    }
}

impl fmt::Debug for NeighborFlags {
    /// tcpdump's words: `(rtr, sol, ovr)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.router(), "rtr"),
            (self.solicited(), "sol"),
            (self.override_(), "ovr"),
        ];
        f.write_str("(")?;
        let mut first = true;
        for (_, name) in names.iter().filter(|(set, _)| *set) {
            if !first {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
            first = false;
        }
        f.write_str(")")
    }
}

/// ND getters and setters on the ICMPv6 view (RFC 4861 §4 field names).
impl<T: AsRef<[u8]>> icmpv6::Packet<T> {
    /// RA: Cur Hop Limit, 0 for unspecified.
    pub fn cur_hop_limit(&self) -> u8 {
        self.read_u8(field::CUR_HOP_LIMIT)
    }

    /// RA: the flags octet.
    pub fn router_flags(&self) -> RouterFlags {
        RouterFlags::from_bits(self.read_u8(field::ROUTER_FLAGS))
    }

    /// RA: Router Lifetime in seconds; 0 means not a default router.
    pub fn router_lifetime(&self) -> u16 {
        self.read_u16(field::ROUTER_LIFETIME)
    }

    /// RA: Reachable Time in milliseconds, 0 for unspecified.
    pub fn reachable_time(&self) -> u32 {
        self.read_u32(field::REACHABLE_TIME)
    }

    /// RA: Retrans Timer in milliseconds, 0 for unspecified.
    pub fn retrans_time(&self) -> u32 {
        self.read_u32(field::RETRANS_TIME)
    }

    /// NA: the R, S and O flags.
    pub fn neighbor_flags(&self) -> NeighborFlags {
        NeighborFlags::from_bits(self.read_u8(field::NEIGHBOR_FLAGS))
    }

    /// NS, NA, Redirect: Target Address.
    pub fn target_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.read::<16>(field::TARGET_ADDR))
    }

    /// Redirect: Destination Address.
    pub fn dest_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.read::<16>(field::DEST_ADDR))
    }

    /// ND: the option bytes after the fixed part of the message's type.
    pub fn options(&self) -> &[u8] {
        self.as_bytes()
            .get(self.msg_type().fixed_len()..)
            .unwrap_or_default()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> icmpv6::Packet<T> {
    /// RA: sets Cur Hop Limit.
    pub fn set_cur_hop_limit(&mut self, value: u8) {
        self.write(field::CUR_HOP_LIMIT, &[value]);
    }

    /// RA: sets the flags octet.
    pub fn set_router_flags(&mut self, value: RouterFlags) {
        self.write(field::ROUTER_FLAGS, &[value.bits()]);
    }

    /// RA: sets Router Lifetime.
    pub fn set_router_lifetime(&mut self, value: u16) {
        self.write(field::ROUTER_LIFETIME, &value.to_be_bytes());
    }

    /// RA: sets Reachable Time.
    pub fn set_reachable_time(&mut self, value: u32) {
        self.write(field::REACHABLE_TIME, &value.to_be_bytes());
    }

    /// RA: sets Retrans Timer.
    pub fn set_retrans_time(&mut self, value: u32) {
        self.write(field::RETRANS_TIME, &value.to_be_bytes());
    }

    /// NA: sets the flags and zeroes the reserved rest of the word.
    pub fn set_neighbor_flags(&mut self, value: NeighborFlags) {
        self.write(field::NEIGHBOR_FLAGS, &[value.bits(), 0, 0, 0]);
    }

    /// NS, NA, Redirect: sets Target Address.
    pub fn set_target_addr(&mut self, value: Ipv6Addr) {
        self.write(field::TARGET_ADDR, &value.octets());
    }

    /// Redirect: sets Destination Address.
    pub fn set_dest_addr(&mut self, value: Ipv6Addr) {
        self.write(field::DEST_ADDR, &value.octets());
    }

    /// ND: the option bytes, mutable.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let start = self.msg_type().fixed_len();
        self.buffer.as_mut().get_mut(start..).unwrap_or_default()
    }
}

/// The meaning of an ND message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// Router Solicitation (RFC 4861 §4.1).
    RouterSolicit {
        /// Options (source link-layer address).
        options: NdiscOptions<'a>,
    },
    /// Router Advertisement (RFC 4861 §4.2).
    RouterAdvert {
        /// Hop limit hosts should use, 0 for unspecified.
        cur_hop_limit: u8,
        /// M, O, preference.
        flags: RouterFlags,
        /// Seconds; 0 means not a default router.
        router_lifetime: u16,
        /// Milliseconds, 0 for unspecified.
        reachable_time: u32,
        /// Milliseconds, 0 for unspecified.
        retrans_time: u32,
        /// Options (SLLA, MTU, prefixes, RDNSS, DNSSL, routes).
        options: NdiscOptions<'a>,
    },
    /// Neighbor Solicitation (RFC 4861 §4.3).
    NeighborSolicit {
        /// The address being resolved or checked.
        target_addr: Ipv6Addr,
        /// Options (source link-layer address, nonce).
        options: NdiscOptions<'a>,
    },
    /// Neighbor Advertisement (RFC 4861 §4.4).
    NeighborAdvert {
        /// R, S, O.
        flags: NeighborFlags,
        /// The address advertised.
        target_addr: Ipv6Addr,
        /// Options (target link-layer address).
        options: NdiscOptions<'a>,
    },
    /// Redirect (RFC 4861 §4.5).
    Redirect {
        /// The better first hop.
        target_addr: Ipv6Addr,
        /// The destination being redirected.
        dest_addr: Ipv6Addr,
        /// Options (target link-layer address, redirected header).
        options: NdiscOptions<'a>,
    },
}

/// ff02::1:ff00:0/104 (RFC 4291 §2.7.1).
fn is_solicited_node(addr: &Ipv6Addr) -> bool {
    let o = addr.octets();
    o.get(..13) == Some(&[0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff][..])
}

impl<'a> Repr<'a> {
    /// Parses the fixed part and walks the options once.
    ///
    /// `Truncated` below the type's fixed length, `Malformed` for a
    /// non-ND type, and the option errors of [`super::ndisc_option`].
    pub fn parse(packet: &icmpv6::Packet<&'a [u8]>) -> Result<Repr<'a>> {
        packet.check_len()?;
        let msg_type = packet.msg_type();
        let options = NdiscOptions::Wire(packet.tail(msg_type.fixed_len()));
        let repr = match msg_type {
            Message::RouterSolicit => Repr::RouterSolicit { options },
            Message::RouterAdvert => Repr::RouterAdvert {
                cur_hop_limit: packet.cur_hop_limit(),
                flags: packet.router_flags(),
                router_lifetime: packet.router_lifetime(),
                reachable_time: packet.reachable_time(),
                retrans_time: packet.retrans_time(),
                options,
            },
            Message::NeighborSolicit => Repr::NeighborSolicit {
                target_addr: packet.target_addr(),
                options,
            },
            Message::NeighborAdvert => Repr::NeighborAdvert {
                flags: packet.neighbor_flags(),
                target_addr: packet.target_addr(),
                options,
            },
            Message::Redirect => Repr::Redirect {
                target_addr: packet.target_addr(),
                dest_addr: packet.dest_addr(),
                options,
            },
            _ => return Err(ParseError::Malformed),
        };
        options.check()?;
        Ok(repr)
    }

    /// Parses a received ND message with the RFC 4861 validity checks that
    /// need its IP header (see the module doc for each error).
    pub fn parse_validated(
        ip_src: &Ipv6Addr,
        ip_dst: &Ipv6Addr,
        ip_hop_limit: u8,
        icmp: &icmpv6::Packet<&'a [u8]>,
    ) -> Result<Repr<'a>> {
        if !icmp.msg_type().is_ndisc() {
            return Err(ParseError::Malformed);
        }
        icmp.check_len()?;
        if !icmp.verify_checksum(ip_src, ip_dst) {
            return Err(ParseError::BadChecksum);
        }
        if ip_hop_limit != HOP_LIMIT || icmp.msg_code() != 0 {
            return Err(ParseError::Malformed);
        }
        let repr = Self::parse(icmp)?;
        let ok = match repr {
            // §6.1.1: no SLLA from the unspecified address.
            Repr::RouterSolicit { options } => {
                !ip_src.is_unspecified() || options.source_link_layer_addr().is_none()
            }
            // §6.1.2: RAs come from the router's link-local address.
            Repr::RouterAdvert { .. } => is_link_local(ip_src),
            // §7.1.1: DAD probes go to the solicited-node group, no SLLA.
            Repr::NeighborSolicit {
                target_addr,
                options,
            } => {
                !target_addr.is_multicast()
                    && (!ip_src.is_unspecified()
                        || (is_solicited_node(ip_dst)
                            && options.source_link_layer_addr().is_none()))
            }
            // §7.1.2: a multicast NA cannot be solicited.
            Repr::NeighborAdvert {
                flags, target_addr, ..
            } => {
                let solicited_to_group = ip_dst.is_multicast() && flags.solicited();
                !target_addr.is_multicast() && !solicited_to_group
            }
            // §8.1.
            Repr::Redirect {
                target_addr,
                dest_addr,
                ..
            } => {
                is_link_local(ip_src)
                    && !dest_addr.is_multicast()
                    && (is_link_local(&target_addr) || target_addr == dest_addr)
            }
        };
        if ok {
            Ok(repr)
        } else {
            Err(ParseError::Malformed)
        }
    }

    /// The ICMPv6 type.
    pub fn msg_type(&self) -> Message {
        match self {
            Repr::RouterSolicit { .. } => Message::RouterSolicit,
            Repr::RouterAdvert { .. } => Message::RouterAdvert,
            Repr::NeighborSolicit { .. } => Message::NeighborSolicit,
            Repr::NeighborAdvert { .. } => Message::NeighborAdvert,
            Repr::Redirect { .. } => Message::Redirect,
        }
    }

    /// The options.
    pub fn options(&self) -> NdiscOptions<'a> {
        match *self {
            Repr::RouterSolicit { options }
            | Repr::RouterAdvert { options, .. }
            | Repr::NeighborSolicit { options, .. }
            | Repr::NeighborAdvert { options, .. }
            | Repr::Redirect { options, .. } => options,
        }
    }

    /// Length of the emitted ICMPv6 message.
    pub fn buffer_len(&self) -> usize {
        self.msg_type()
            .fixed_len()
            .saturating_add(self.options().buffer_len())
    }

    /// Writes the message (checksum zero; [`icmpv6::Repr::emit`] fills
    /// it). `Truncated` if the buffer is shorter than
    /// [`Repr::buffer_len`]; `Malformed` if an option cannot be encoded
    /// ([`NdiscOption::emit`]).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut icmpv6::Packet<T>) -> Result<()> {
        if packet.as_bytes().len() < self.buffer_len() {
            return Err(ParseError::Truncated);
        }
        packet.set_msg_type(self.msg_type());
        packet.set_msg_code(0);
        packet.set_checksum(0);
        match *self {
            Repr::RouterSolicit { .. } => packet.clear_reserved(),
            Repr::RouterAdvert {
                cur_hop_limit,
                flags,
                router_lifetime,
                reachable_time,
                retrans_time,
                ..
            } => {
                packet.set_cur_hop_limit(cur_hop_limit);
                packet.set_router_flags(flags);
                packet.set_router_lifetime(router_lifetime);
                packet.set_reachable_time(reachable_time);
                packet.set_retrans_time(retrans_time);
            }
            Repr::NeighborSolicit { target_addr, .. } => {
                packet.clear_reserved();
                packet.set_target_addr(target_addr);
            }
            Repr::NeighborAdvert {
                flags, target_addr, ..
            } => {
                packet.set_neighbor_flags(flags);
                packet.set_target_addr(target_addr);
            }
            Repr::Redirect {
                target_addr,
                dest_addr,
                ..
            } => {
                packet.clear_reserved();
                packet.set_target_addr(target_addr);
                packet.set_dest_addr(dest_addr);
            }
        }
        self.options().emit(packet.options_mut())
    }
}

#[cfg(test)]
// Fixtures cast small, known lengths.
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]
mod tests {
    use super::*;
    use crate::wire::{checksum, EthernetAddress, ALL_NODES, ALL_ROUTERS};

    type Packet<'a> = icmpv6::Packet<&'a [u8]>;
    const VM_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0xf816, 0x3eff, 0xfe79, 0x5acc);
    const VM: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xcafe, 0, 0xf816, 0x3eff, 0xfe79, 0x5acc);
    const VM_SNM: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff79, 0x5acc);
    const RTR_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0xf816, 0x3eff, 0xfe11, 0x1101);
    const GW: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xcafe, 0, 0, 0, 0, 1);
    const GW_SNM: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 1);
    const VM_MAC: EthernetAddress = EthernetAddress([0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc]);
    const RTR_MAC: EthernetAddress = EthernetAddress([0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01]);

    // ---- The talk's three RAs (reference/000_bce3188aa86a64f2.txt) ----

    /// "SLAAC Mode – Sniffer Capture": fe80::f816:3eff:fec3:17b4 > ff02::1.
    static TALK_RA_SLAAC: [u8; 56] = [
        0x86, 0x00, 0xd6, 0x8e, // type 134 RA, code 0, checksum 0xd68e
        0x40, 0x00, 0x00,
        0x1e, // hop limit 64, Flags [none] pref medium, router lifetime 30 s
        0x00, 0x00, 0x00, 0x00, // reachable time 0
        0x00, 0x00, 0x00, 0x00, // retrans time 0
        0x03, 0x04, 0x40, 0xc0, // prefix info, length 4, /64, [onlink, auto]
        0x00, 0x01, 0x51, 0x80, // valid time 86400 s
        0x00, 0x00, 0x38, 0x40, // pref. time 14400 s
        0x00, 0x00, 0x00, 0x00, // reserved
        0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00, 0x00, // 2001:db8:cafe::
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
        0x01, 0x01, 0xfa, 0x16, 0x3e, 0xc3, 0x17,
        0xb4, // source link-address fa:16:3e:c3:17:b4
    ];

    /// "DHCPv6 Stateless Mode – Sniffer Capture": from fe80::f816:3eff:fec1:bc52.
    static TALK_RA_STATELESS: [u8; 56] = [
        0x86, 0x00, 0x8d, 0x13, // type 134 RA, code 0, checksum 0x8d13
        0x40, 0x40, 0x00,
        0x1e, // hop limit 64, Flags [other stateful] pref medium, lifetime 30 s
        0x00, 0x00, 0x00, 0x00, // reachable time 0
        0x00, 0x00, 0x00, 0x00, // retrans time 0
        0x03, 0x04, 0x40, 0xc0, // prefix info, length 4, /64, [onlink, auto]
        0x00, 0x01, 0x51, 0x80, // valid time 86400 s
        0x00, 0x00, 0x38, 0x40, // pref. time 14400 s
        0x00, 0x00, 0x00, 0x00, // reserved
        0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00, 0x02, // 2001:db8:cafe:2::
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
        0x01, 0x01, 0xfa, 0x16, 0x3e, 0xc1, 0xbc,
        0x52, // source link-address fa:16:3e:c1:bc:52
    ];

    /// "DHCPv6 Stateful Mode – Sniffer Capture": from fe80::f816:3eff:fe77:e5a0.
    static TALK_RA_STATEFUL: [u8; 24] = [
        0x86, 0x00, 0x01, 0x2b, // type 134 RA, code 0, checksum 0x012b
        0x40, 0x80, 0x00, 0x1e, // hop limit 64, Flags [managed] pref medium, lifetime 30 s
        0x00, 0x00, 0x00, 0x00, // reachable time 0
        0x00, 0x00, 0x00, 0x00, // retrans time 0
        0x01, 0x01, 0xfa, 0x16, 0x3e, 0x77, 0xe5,
        0xa0, // source link-address fa:16:3e:77:e5:a0
    ];

    // ---- Real frames from captures/slaac-qr0.pcap and friends ----

    /// slaac-qr0 frame 6: VM_LL -> ff02::2, hop limit 255.
    static RS_SLLA: [u8; 16] = [
        0x85, 0x00, 0x58, 0x75, // type 133 RS, code 0, checksum
        0x00, 0x00, 0x00, 0x00, // reserved
        0x01, 0x01, 0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc, // source link-address
    ];

    /// slaac-qr0 frame 9: VM_LL -> ff02::2, no option.
    static RS_BARE: [u8; 8] = [
        0x85, 0x00, 0xec, 0xda, // type 133 RS, code 0, checksum
        0x00, 0x00, 0x00, 0x00, // reserved
    ];

    /// slaac-qr0 frame 13: radvd's solicited RA, RTR_LL -> VM_LL.
    static RA_RADVD: [u8; 80] = [
        0x86, 0x00, 0x42, 0x22, // type 134 RA, code 0, checksum
        0x40, 0x00, 0x01, 0x2c, // hop limit 64, no flags, router lifetime 300
        0x00, 0x00, 0x00, 0x00, // reachable time 0
        0x00, 0x00, 0x00, 0x00, // retrans timer 0
        0x03, 0x04, 0x40, 0xc0, // prefix info /64 L A
        0x00, 0x01, 0x51, 0x80, // valid 86400
        0x00, 0x00, 0x38, 0x40, // preferred 14400
        0x00, 0x00, 0x00, 0x00, // reserved
        0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00, 0x00, // 2001:db8:cafe::
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
        0x19, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, // RDNSS, length 3, lifetime 100
        0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00, 0x0a, // 2001:db8:cafe:a::e
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0e, //
        0x01, 0x01, 0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01, // source link-address
    ];

    /// slaac-qr0 frame 14: DAD probe, :: -> VM_SNM.
    static NS_DAD: [u8; 32] = [
        0x87, 0x00, 0x60, 0x1d, // type 135 NS, code 0, checksum
        0x00, 0x00, 0x00, 0x00, // reserved
        0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00, 0x00, // target VM
        0xf8, 0x16, 0x3e, 0xff, 0xfe, 0x79, 0x5a, 0xcc, //
        0x0e, 0x01, 0x22, 0xd7, 0xe0, 0x50, 0x25, 0x00, // nonce option (RFC 3971)
    ];

    /// slaac-qr0 frame 15: VM -> GW_SNM, resolving the gateway.
    static NS_GW: [u8; 32] = [
        0x87, 0x00, 0x64, 0x74, // type 135 NS, code 0, checksum
        0x00, 0x00, 0x00, 0x00, // reserved
        0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00, 0x00, // target 2001:db8:cafe::1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
        0x01, 0x01, 0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc, // source link-address
    ];

    /// slaac-qr0 frame 16: GW -> VM, the answer.
    static NA_GW: [u8; 32] = [
        0x88, 0x00, 0xd1, 0xf3, // type 136 NA, code 0, checksum
        0xe0, 0x00, 0x00, 0x00, // flags R S O, reserved
        0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00, 0x00, // target 2001:db8:cafe::1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, //
        0x02, 0x01, 0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01, // target link-address
    ];

    /// dhcpv6-stateless-qr0 frame 22: unsolicited NA, VM_LL -> ff02::1.
    static NA_UNSOLICITED: [u8; 32] = [
        0x88, 0x00, 0xab, 0x4f, // type 136 NA, code 0, checksum
        0x20, 0x00, 0x00, 0x00, // flags O
        0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00,
        0x02, // target 2001:db8:cafe:2:f816:3eff:fe79:5acc
        0xf8, 0x16, 0x3e, 0xff, 0xfe, 0x79, 0x5a, 0xcc, //
        0x02, 0x01, 0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc, // target link-address
    ];

    /// dhcpv6-stateful-qr0 frame 35: VM_LL -> RTR_LL, no option.
    static NA_BARE: [u8; 24] = [
        0x88, 0x00, 0xd5, 0x47, // type 136 NA, code 0, checksum
        0x40, 0x00, 0x00, 0x00, // flags S
        0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target VM_LL
        0xf8, 0x16, 0x3e, 0xff, 0xfe, 0x79, 0x5a, 0xcc, //
    ];

    fn talk_pio(prefix: Ipv6Addr) -> NdiscOption<'static> {
        NdiscOption::PrefixInformation(PrefixInformation {
            prefix_len: 64,
            on_link: true,
            autonomous: true,
            valid_lifetime: 86400,
            preferred_lifetime: 14400,
            prefix,
        })
    }

    fn talk_ra(
        flags: RouterFlags,
        options: &'static [NdiscOption<'static>],
    ) -> icmpv6::Repr<'static> {
        icmpv6::Repr::Ndisc(Repr::RouterAdvert {
            cur_hop_limit: 64,
            flags,
            router_lifetime: 30,
            reachable_time: 0,
            retrans_time: 0,
            options: NdiscOptions::List(options),
        })
    }

    fn emit_bytes(repr: &icmpv6::Repr<'_>, src: &Ipv6Addr, dst: &Ipv6Addr) -> Vec<u8> {
        let mut buf = vec![0xa5u8; repr.buffer_len()];
        repr.emit(src, dst, &mut icmpv6::Packet::new_unchecked(&mut buf[..]))
            .unwrap();
        buf
    }

    /// The checksum recomputed with nothing but `checksum::sum` over the
    /// RFC 8200 §8.1 pseudo-header, laid out by hand.
    fn independent_checksum(src: &Ipv6Addr, dst: &Ipv6Addr, icmp: &[u8]) -> u16 {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&src.octets());
        bytes.extend_from_slice(&dst.octets());
        bytes.extend_from_slice(&(icmp.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 58]);
        bytes.extend_from_slice(&icmp[..2]);
        bytes.extend_from_slice(&[0, 0]);
        bytes.extend_from_slice(&icmp[4..]);
        !checksum::sum(&bytes)
    }

    fn with_checksum(bytes: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr) -> Vec<u8> {
        let mut v = bytes.to_vec();
        let c = independent_checksum(src, dst, &v);
        v[2..4].copy_from_slice(&c.to_be_bytes());
        v
    }

    fn validated<'a>(src: &Ipv6Addr, dst: &Ipv6Addr, bytes: &'a [u8]) -> Result<Repr<'a>> {
        Repr::parse_validated(src, dst, 255, &icmpv6::Packet::new_unchecked(bytes))
    }

    #[test]
    fn talk_slaac_ra_byte_for_byte() {
        static OPTS: [NdiscOption<'static>; 2] = [
            NdiscOption::PrefixInformation(PrefixInformation {
                prefix_len: 64,
                on_link: true,
                autonomous: true,
                valid_lifetime: 86400,
                preferred_lifetime: 14400,
                prefix: Ipv6Addr::new(0x2001, 0xdb8, 0xcafe, 0, 0, 0, 0, 0),
            }),
            NdiscOption::SourceLinkLayerAddr(EthernetAddress([0xfa, 0x16, 0x3e, 0xc3, 0x17, 0xb4])),
        ];
        let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0xf816, 0x3eff, 0xfec3, 0x17b4);
        let repr = talk_ra(RouterFlags::EMPTY, &OPTS);
        assert_eq!(repr.buffer_len(), 56);
        let bytes = emit_bytes(&repr, &src, &ALL_NODES);
        assert_eq!(bytes, TALK_RA_SLAAC);
        // The PIO is exactly the talk's printed option bytes.
        assert_eq!(
            &bytes[18..48],
            &[
                0x40, 0xc0, 0x00, 0x01, 0x51, 0x80, 0x00, 0x00, 0x38, 0x40, 0x00, 0x00, 0x00, 0x00,
                0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x00, 0x00
            ]
        );
        assert_eq!(independent_checksum(&src, &ALL_NODES, &bytes), 0xd68e);
        assert!(checksum::verify(
            checksum::pseudo_header_v6(&src, &ALL_NODES, 58, 56),
            &bytes
        ));
        let parsed = validated(&src, &ALL_NODES, &TALK_RA_SLAAC).unwrap();
        assert_eq!(icmpv6::Repr::Ndisc(parsed), repr);
    }

    #[test]
    fn talk_stateless_ra_byte_for_byte() {
        static OPTS: [NdiscOption<'static>; 2] = [
            NdiscOption::PrefixInformation(PrefixInformation {
                prefix_len: 64,
                on_link: true,
                autonomous: true,
                valid_lifetime: 86400,
                preferred_lifetime: 14400,
                prefix: Ipv6Addr::new(0x2001, 0xdb8, 0xcafe, 2, 0, 0, 0, 0),
            }),
            NdiscOption::SourceLinkLayerAddr(EthernetAddress([0xfa, 0x16, 0x3e, 0xc1, 0xbc, 0x52])),
        ];
        let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0xf816, 0x3eff, 0xfec1, 0xbc52);
        let repr = talk_ra(RouterFlags::OTHER, &OPTS);
        let bytes = emit_bytes(&repr, &src, &ALL_NODES);
        assert_eq!(bytes, TALK_RA_STATELESS);
        assert_eq!(independent_checksum(&src, &ALL_NODES, &bytes), 0x8d13);
        assert!(icmpv6::Packet::new_checked(&bytes[..])
            .unwrap()
            .verify_checksum(&src, &ALL_NODES));
        let parsed = validated(&src, &ALL_NODES, &TALK_RA_STATELESS).unwrap();
        assert_eq!(icmpv6::Repr::Ndisc(parsed), repr);
        assert_eq!(
            format!("{:?}", RouterFlags::OTHER),
            "[other stateful] pref Medium"
        );
    }

    #[test]
    fn talk_stateful_ra_byte_for_byte() {
        static OPTS: [NdiscOption<'static>; 1] =
            [NdiscOption::SourceLinkLayerAddr(EthernetAddress([
                0xfa, 0x16, 0x3e, 0x77, 0xe5, 0xa0,
            ]))];
        let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0xf816, 0x3eff, 0xfe77, 0xe5a0);
        let repr = talk_ra(RouterFlags::MANAGED, &OPTS);
        assert_eq!(repr.buffer_len(), 24);
        let bytes = emit_bytes(&repr, &src, &ALL_NODES);
        assert_eq!(bytes, TALK_RA_STATEFUL);
        assert_eq!(independent_checksum(&src, &ALL_NODES, &bytes), 0x012b);
        assert!(icmpv6::Packet::new_checked(&bytes[..])
            .unwrap()
            .verify_checksum(&src, &ALL_NODES));
        let parsed = validated(&src, &ALL_NODES, &TALK_RA_STATEFUL).unwrap();
        assert_eq!(icmpv6::Repr::Ndisc(parsed), repr);
    }

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&RA_RADVD[..]).unwrap();
        assert_eq!(p.msg_type(), Message::RouterAdvert);
        assert_eq!(p.cur_hop_limit(), 64);
        assert_eq!(p.router_flags(), RouterFlags::EMPTY);
        assert_eq!(p.router_flags().preference(), RoutePreference::Medium);
        assert_eq!(p.router_lifetime(), 300);
        assert_eq!(p.reachable_time(), 0);
        assert_eq!(p.retrans_time(), 0);
        assert_eq!(p.options(), &RA_RADVD[16..]);

        let p = Packet::new_checked(&NA_GW[..]).unwrap();
        assert_eq!(
            p.neighbor_flags(),
            NeighborFlags::ROUTER | NeighborFlags::SOLICITED | NeighborFlags::OVERRIDE
        );
        assert_eq!(format!("{:?}", p.neighbor_flags()), "(rtr, sol, ovr)");
        assert_eq!(p.target_addr(), GW);
        assert_eq!(p.options(), &NA_GW[24..]);

        let p = Packet::new_checked(&NS_GW[..]).unwrap();
        assert_eq!(p.target_addr(), GW);
        assert_eq!(p.options(), &NS_GW[24..]);

        let p = Packet::new_checked(&RS_BARE[..]).unwrap();
        assert!(p.options().is_empty());
    }

    #[test]
    fn construct() {
        let mut buf = [0xa5u8; 32];
        let mut p = icmpv6::Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(Message::NeighborAdvert);
        p.set_msg_code(0);
        p.set_neighbor_flags(
            NeighborFlags::ROUTER | NeighborFlags::SOLICITED | NeighborFlags::OVERRIDE,
        );
        p.set_target_addr(GW);
        p.options_mut()
            .copy_from_slice(&[0x02, 0x01, 0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01]);
        p.fill_checksum(&GW, &VM);
        assert_eq!(buf, NA_GW);

        let mut buf = [0xa5u8; 40];
        let mut p = icmpv6::Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(Message::Redirect);
        p.set_msg_code(0);
        p.set_checksum(0);
        p.clear_reserved();
        p.set_target_addr(RTR_LL);
        p.set_dest_addr(VM);
        assert_eq!(buf[..8], [137, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(buf[8..24], RTR_LL.octets());
        assert_eq!(buf[24..40], VM.octets());

        let mut buf = [0xa5u8; 16];
        let mut p = icmpv6::Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(Message::RouterAdvert);
        p.set_cur_hop_limit(64);
        p.set_router_flags(RouterFlags::MANAGED.with_preference(RoutePreference::High));
        p.set_router_lifetime(1800);
        p.set_reachable_time(30_000);
        p.set_retrans_time(1000);
        assert_eq!(
            buf,
            [
                0x86, 0xa5, 0xa5, 0xa5, 0x40, 0x88, 0x07, 0x08, 0x00, 0x00, 0x75, 0x30, 0x00, 0x00,
                0x03, 0xe8
            ]
        );
    }

    #[test]
    fn parse() {
        // Every capture frame passes the full validation.
        let cases: [(&Ipv6Addr, &Ipv6Addr, &[u8]); 8] = [
            (&VM_LL, &ALL_ROUTERS, &RS_SLLA),
            (&VM_LL, &ALL_ROUTERS, &RS_BARE),
            (&RTR_LL, &VM_LL, &RA_RADVD),
            (&Ipv6Addr::UNSPECIFIED, &VM_SNM, &NS_DAD),
            (&VM, &GW_SNM, &NS_GW),
            (&GW, &VM, &NA_GW),
            (&VM_LL, &ALL_NODES, &NA_UNSOLICITED),
            (&VM_LL, &RTR_LL, &NA_BARE),
        ];
        for (src, dst, bytes) in cases {
            validated(src, dst, bytes).unwrap();
            let p = Packet::new_checked(bytes).unwrap();
            assert!(matches!(
                icmpv6::Repr::parse(src, dst, &p).unwrap(),
                icmpv6::Repr::Ndisc(_)
            ));
        }

        assert_eq!(
            validated(&VM_LL, &ALL_ROUTERS, &RS_SLLA).unwrap(),
            Repr::RouterSolicit {
                options: NdiscOptions::List(&[NdiscOption::SourceLinkLayerAddr(VM_MAC)]),
            }
        );
        let ra = validated(&RTR_LL, &VM_LL, &RA_RADVD).unwrap();
        let Repr::RouterAdvert {
            cur_hop_limit: 64,
            flags: RouterFlags::EMPTY,
            router_lifetime: 300,
            reachable_time: 0,
            retrans_time: 0,
            options,
        } = ra
        else {
            panic!("{ra:?}");
        };
        let opts: Vec<_> = options.iter().map(Result::unwrap).collect();
        assert_eq!(opts.len(), 3);
        assert_eq!(
            opts[0],
            talk_pio(Ipv6Addr::new(0x2001, 0xdb8, 0xcafe, 0, 0, 0, 0, 0))
        );
        let NdiscOption::Rdnss {
            lifetime: 100,
            addresses,
        } = opts[1]
        else {
            panic!("{:?}", opts[1]);
        };
        assert_eq!(
            addresses.iter().collect::<Vec<_>>(),
            [Ipv6Addr::new(0x2001, 0xdb8, 0xcafe, 0xa, 0, 0, 0, 0xe)]
        );
        assert_eq!(options.source_link_layer_addr(), Some(RTR_MAC));

        assert_eq!(
            validated(&Ipv6Addr::UNSPECIFIED, &VM_SNM, &NS_DAD).unwrap(),
            Repr::NeighborSolicit {
                target_addr: VM,
                options: NdiscOptions::List(&[NdiscOption::Unknown {
                    kind: 14,
                    data: &[0x22, 0xd7, 0xe0, 0x50, 0x25, 0x00],
                }]),
            }
        );
        assert_eq!(
            validated(&GW, &VM, &NA_GW).unwrap(),
            Repr::NeighborAdvert {
                flags: NeighborFlags::ROUTER | NeighborFlags::SOLICITED | NeighborFlags::OVERRIDE,
                target_addr: GW,
                options: NdiscOptions::List(&[NdiscOption::TargetLinkLayerAddr(RTR_MAC)]),
            }
        );
        assert_eq!(
            validated(&VM_LL, &RTR_LL, &NA_BARE).unwrap(),
            Repr::NeighborAdvert {
                flags: NeighborFlags::SOLICITED,
                target_addr: VM_LL,
                options: NdiscOptions::EMPTY,
            }
        );
    }

    #[test]
    fn emit() {
        let repr = icmpv6::Repr::Ndisc(Repr::NeighborSolicit {
            target_addr: GW,
            options: NdiscOptions::List(&[NdiscOption::SourceLinkLayerAddr(VM_MAC)]),
        });
        assert_eq!(emit_bytes(&repr, &VM, &GW_SNM), NS_GW);

        let repr = icmpv6::Repr::Ndisc(Repr::NeighborAdvert {
            flags: NeighborFlags::ROUTER | NeighborFlags::SOLICITED | NeighborFlags::OVERRIDE,
            target_addr: GW,
            options: NdiscOptions::List(&[NdiscOption::TargetLinkLayerAddr(RTR_MAC)]),
        });
        assert_eq!(emit_bytes(&repr, &GW, &VM), NA_GW);

        let repr = icmpv6::Repr::Ndisc(Repr::RouterSolicit {
            options: NdiscOptions::EMPTY,
        });
        assert_eq!(emit_bytes(&repr, &VM_LL, &ALL_ROUTERS), RS_BARE);

        // Wire options are copied as they are.
        let repr = icmpv6::Repr::Ndisc(Repr::RouterAdvert {
            cur_hop_limit: 64,
            flags: RouterFlags::EMPTY,
            router_lifetime: 300,
            reachable_time: 0,
            retrans_time: 0,
            options: NdiscOptions::Wire(&RA_RADVD[16..]),
        });
        assert_eq!(emit_bytes(&repr, &RTR_LL, &VM_LL), RA_RADVD);
    }

    #[test]
    fn round_trip() {
        let header = [0x60u8, 0, 0, 0, 0, 8, 17, 64];
        let reprs = [
            Repr::Redirect {
                target_addr: RTR_LL,
                dest_addr: Ipv6Addr::new(0x2001, 0xdb8, 0xbeef, 0, 0, 0, 0, 1),
                options: NdiscOptions::List(&[
                    NdiscOption::TargetLinkLayerAddr(RTR_MAC),
                    NdiscOption::RedirectedHeader(&header),
                ]),
            },
            Repr::RouterAdvert {
                cur_hop_limit: 0,
                flags: RouterFlags::MANAGED | RouterFlags::OTHER,
                router_lifetime: 0,
                reachable_time: 30_000,
                retrans_time: 1_000,
                options: NdiscOptions::List(&[NdiscOption::Mtu(1500)]),
            },
            Repr::RouterAdvert {
                cur_hop_limit: 64,
                flags: RouterFlags::EMPTY.with_preference(RoutePreference::Low),
                router_lifetime: 9000,
                reachable_time: 0,
                retrans_time: 0,
                options: NdiscOptions::EMPTY,
            },
        ];
        for repr in reprs {
            let outer = icmpv6::Repr::Ndisc(repr);
            let bytes = emit_bytes(&outer, &RTR_LL, &VM_LL);
            assert_eq!(validated(&RTR_LL, &VM_LL, &bytes).unwrap(), repr);
        }
    }

    #[test]
    fn router_flags_preference() {
        let f = RouterFlags::from_bits(0x18 | 0x03);
        assert_eq!(f.preference(), RoutePreference::Low);
        assert_eq!(f.bits(), 0x18, "reserved bits dropped");
        assert_eq!(
            RouterFlags::from_bits(0x10).preference().effective(),
            RoutePreference::Medium
        );
        assert!(RouterFlags::from_bits(0xc8).managed());
        assert!(RouterFlags::from_bits(0xc8).other());
        assert_eq!(
            RouterFlags::from_bits(0xc8).preference(),
            RoutePreference::High
        );
    }

    #[test]
    fn accepts_redirect_to_destination_itself() {
        let dest = Ipv6Addr::new(0x2001, 0xdb8, 0xcafe, 0, 0, 0, 0, 9);
        let repr = icmpv6::Repr::Ndisc(Repr::Redirect {
            target_addr: dest,
            dest_addr: dest,
            options: NdiscOptions::EMPTY,
        });
        let bytes = emit_bytes(&repr, &RTR_LL, &VM);
        assert!(validated(&RTR_LL, &VM, &bytes).is_ok());
    }

    #[test]
    fn rejects_non_ndisc_type() {
        let bytes = with_checksum(&[128, 0, 0, 0, 0, 1, 0, 1], &VM, &GW);
        assert_eq!(validated(&VM, &GW, &bytes), Err(ParseError::Malformed));
    }

    #[test]
    fn rejects_short_icmp_length() {
        // An NS cut to 16 octets: the target address is not all there.
        let bytes = with_checksum(&NS_GW[..16], &VM, &GW_SNM);
        assert_eq!(validated(&VM, &GW_SNM, &bytes), Err(ParseError::Truncated));
        let bytes = with_checksum(&RA_RADVD[..12], &RTR_LL, &VM_LL);
        assert_eq!(
            validated(&RTR_LL, &VM_LL, &bytes),
            Err(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_bad_checksum() {
        let mut bytes = NS_GW;
        bytes[31] ^= 0x01;
        assert_eq!(
            validated(&VM, &GW_SNM, &bytes),
            Err(ParseError::BadChecksum)
        );
    }

    #[test]
    fn rejects_hop_limit_not_255() {
        let p = icmpv6::Packet::new_unchecked(&NS_GW[..]);
        assert_eq!(
            Repr::parse_validated(&VM, &GW_SNM, 64, &p),
            Err(ParseError::Malformed)
        );
    }

    #[test]
    fn rejects_nonzero_code() {
        let mut bytes = NS_GW;
        bytes[1] = 1;
        let bytes = with_checksum(&bytes, &VM, &GW_SNM);
        assert_eq!(validated(&VM, &GW_SNM, &bytes), Err(ParseError::Malformed));
    }

    #[test]
    fn rejects_option_len_zero() {
        let mut bytes = NS_GW;
        bytes[25] = 0;
        let bytes = with_checksum(&bytes, &VM, &GW_SNM);
        assert_eq!(validated(&VM, &GW_SNM, &bytes), Err(ParseError::BadLength));
    }

    #[test]
    fn rejects_option_overrunning() {
        let mut bytes = NS_GW;
        bytes[25] = 2;
        let bytes = with_checksum(&bytes, &VM, &GW_SNM);
        assert_eq!(validated(&VM, &GW_SNM, &bytes), Err(ParseError::Truncated));
    }

    #[test]
    fn rejects_rs_from_unspecified_with_slla() {
        let bytes = with_checksum(&RS_SLLA, &Ipv6Addr::UNSPECIFIED, &ALL_ROUTERS);
        assert_eq!(
            validated(&Ipv6Addr::UNSPECIFIED, &ALL_ROUTERS, &bytes),
            Err(ParseError::Malformed)
        );
        // Without the option it is fine.
        let bytes = with_checksum(&RS_BARE, &Ipv6Addr::UNSPECIFIED, &ALL_ROUTERS);
        assert!(validated(&Ipv6Addr::UNSPECIFIED, &ALL_ROUTERS, &bytes).is_ok());
    }

    #[test]
    fn rejects_ra_from_global_source() {
        let bytes = with_checksum(&RA_RADVD, &GW, &VM_LL);
        assert_eq!(validated(&GW, &VM_LL, &bytes), Err(ParseError::Malformed));
    }

    #[test]
    fn rejects_ns_multicast_target() {
        let mut bytes = NS_GW;
        bytes[8..24].copy_from_slice(&ALL_NODES.octets());
        let bytes = with_checksum(&bytes, &VM, &GW_SNM);
        assert_eq!(validated(&VM, &GW_SNM, &bytes), Err(ParseError::Malformed));
    }

    #[test]
    fn rejects_dad_ns_not_to_solicited_node() {
        let bytes = with_checksum(&NS_DAD, &Ipv6Addr::UNSPECIFIED, &ALL_NODES);
        assert_eq!(
            validated(&Ipv6Addr::UNSPECIFIED, &ALL_NODES, &bytes),
            Err(ParseError::Malformed)
        );
    }

    #[test]
    fn rejects_dad_ns_with_slla() {
        let bytes = with_checksum(&NS_GW, &Ipv6Addr::UNSPECIFIED, &GW_SNM);
        assert_eq!(
            validated(&Ipv6Addr::UNSPECIFIED, &GW_SNM, &bytes),
            Err(ParseError::Malformed)
        );
    }

    #[test]
    fn rejects_na_multicast_target() {
        let mut bytes = NA_GW;
        bytes[8..24].copy_from_slice(&ALL_NODES.octets());
        let bytes = with_checksum(&bytes, &GW, &VM);
        assert_eq!(validated(&GW, &VM, &bytes), Err(ParseError::Malformed));
    }

    #[test]
    fn rejects_solicited_na_to_multicast() {
        let bytes = with_checksum(&NA_GW, &GW, &ALL_NODES);
        assert_eq!(
            validated(&GW, &ALL_NODES, &bytes),
            Err(ParseError::Malformed)
        );
    }

    fn redirect(target: Ipv6Addr, dest: Ipv6Addr, src: &Ipv6Addr) -> Vec<u8> {
        let repr = icmpv6::Repr::Ndisc(Repr::Redirect {
            target_addr: target,
            dest_addr: dest,
            options: NdiscOptions::EMPTY,
        });
        emit_bytes(&repr, src, &VM)
    }

    #[test]
    fn rejects_redirect_from_global_source() {
        let far = Ipv6Addr::new(0x2001, 0xdb8, 0xbeef, 0, 0, 0, 0, 1);
        let bytes = redirect(RTR_LL, far, &GW);
        assert_eq!(validated(&GW, &VM, &bytes), Err(ParseError::Malformed));
    }

    #[test]
    fn rejects_redirect_multicast_destination() {
        let bytes = redirect(RTR_LL, ALL_NODES, &RTR_LL);
        assert_eq!(validated(&RTR_LL, &VM, &bytes), Err(ParseError::Malformed));
    }

    #[test]
    fn rejects_redirect_global_target_not_destination() {
        let far = Ipv6Addr::new(0x2001, 0xdb8, 0xbeef, 0, 0, 0, 0, 1);
        let bytes = redirect(GW, far, &RTR_LL);
        assert_eq!(validated(&RTR_LL, &VM, &bytes), Err(ParseError::Malformed));
    }

    #[test]
    fn never_panics_on_garbage() {
        // Every truncation and single-octet corruption of the real frames,
        // through both parsers and the option walk.
        let frames: [&[u8]; 9] = [
            &RS_SLLA,
            &RS_BARE,
            &RA_RADVD,
            &NS_DAD,
            &NS_GW,
            &NA_GW,
            &NA_BARE,
            &TALK_RA_SLAAC,
            &TALK_RA_STATEFUL,
        ];
        for bytes in frames {
            let mut variants: Vec<Vec<u8>> =
                (0..bytes.len()).map(|n| bytes[..n].to_vec()).collect();
            for i in 0..bytes.len() {
                for v in [0x00, 0x01, 0x02, 0x03, 0x18, 0x19, 0x1f, 0x80, 0xff] {
                    let mut b = bytes.to_vec();
                    b[i] = v;
                    variants.push(b);
                }
            }
            for b in &variants {
                let p = icmpv6::Packet::new_unchecked(&b[..]);
                let _ = Repr::parse_validated(&RTR_LL, &VM_LL, 255, &p);
                let _ = Repr::parse(&p);
                let _ = icmpv6::Repr::parse(&RTR_LL, &VM_LL, &p);
                let _ = NdiscOptions::Wire(p.options()).iter().count();
                let _ = (p.target_addr(), p.dest_addr(), p.retrans_time());
            }
        }
    }

    #[test]
    fn emit_rejects_short_buffer() {
        let repr = Repr::RouterSolicit {
            options: NdiscOptions::List(&[NdiscOption::SourceLinkLayerAddr(VM_MAC)]),
        };
        let mut buf = [0u8; 12];
        assert_eq!(
            repr.emit(&mut icmpv6::Packet::new_unchecked(&mut buf[..])),
            Err(ParseError::Truncated)
        );
    }
}
