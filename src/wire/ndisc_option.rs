//! Neighbor Discovery options: RFC 4861 §4.6, route information (RFC 4191
//! §2.3), RDNSS and DNSSL (RFC 8106 §5).
//!
//! Contract:
//!
//! - Options are a TLV list whose length octet counts units of 8 octets.
//!   The walk ([`NdiscOptions::iter`]) checks each length before slicing:
//!   fewer than 2 octets left or a length running past the end is
//!   `Truncated`, a length of 0 is `BadLength` (RFC 4861 §4.6: "Nodes MUST
//!   silently discard an ND packet that contains an option with length
//!   zero"), and it visits at most [`MAX_OPTIONS`] options, then
//!   `TooManyOptions`, so a crafted packet cannot make it loop long.
//! - Each known type has a fixed or constrained length; a wrong one is
//!   `BadLength`: source/target link-layer address 1 (on Ethernet, RFC 4861
//!   §4.6.1 and RFC 2464 §6), prefix information 4, MTU 1, route
//!   information 1..=3 and long enough for its prefix length (RFC 4191
//!   §2.3), RDNSS odd and >= 3, DNSSL >= 2 (RFC 8106 §5.1, §5.2).
//! - Values that cannot be right are `Malformed`: a prefix length over
//!   128, a DNSSL label over 63 octets (which also refuses compression
//!   pointers, forbidden there), a label or name running past the option, a
//!   name over 255 octets, or non-zero padding after the last name.
//! - Unknown types (e.g. the nonce of RFC 3971 in DAD probes) are kept as
//!   [`NdiscOption::Unknown`], never an error.
//! - Parsed options borrow the packet ([`NdiscOptions::Wire`]); options to
//!   send are a slice of values ([`NdiscOptions::List`]). Nothing here
//!   allocates.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use core::fmt;
use std::net::Ipv6Addr;

use super::icmpv6::enum_with_unknown;
use super::{EthernetAddress, ParseError, Result};

/// The most options one walk visits. An RA from routelet carries at most a
/// handful (SLLA, MTU, a few prefixes, RDNSS, DNSSL, routes); 64 leaves
/// ample room for other routers while bounding the work per packet.
pub const MAX_OPTIONS: usize = 64;

/// The largest option: the length octet counts at most 255 units of 8.
pub const MAX_OPTION_LEN: usize = 255 * 8;

enum_with_unknown! {
    /// ND option type (IANA "IPv6 Neighbor Discovery Option Formats").
    pub enum OptionType(u8) {
        /// Source Link-Layer Address (RFC 4861 §4.6.1).
        SourceLinkLayerAddr = 1,
        /// Target Link-Layer Address (RFC 4861 §4.6.1).
        TargetLinkLayerAddr = 2,
        /// Prefix Information (RFC 4861 §4.6.2).
        PrefixInformation = 3,
        /// Redirected Header (RFC 4861 §4.6.3).
        RedirectedHeader = 4,
        /// MTU (RFC 4861 §4.6.4).
        Mtu = 5,
        /// Nonce (RFC 3971 §5.3.2), sent in DAD probes.
        Nonce = 14,
        /// Route Information (RFC 4191 §2.3).
        RouteInformation = 24,
        /// Recursive DNS Server (RFC 8106 §5.1).
        Rdnss = 25,
        /// DNS Search List (RFC 8106 §5.2).
        Dnssl = 31,
    }
}

/// A default router or route preference (RFC 4191 §2.1), two bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RoutePreference {
    /// 00, also what RFC 4861 routers send.
    #[default]
    Medium,
    /// 01.
    High,
    /// 11.
    Low,
    /// 10: receivers treat it as medium (RFC 4191 §2.1), kept so a parsed
    /// message re-emits the same bits.
    Reserved,
}

impl RoutePreference {
    /// From the two low bits of `bits`.
    pub const fn from_bits(bits: u8) -> RoutePreference {
        match bits & 0b11 {
            0b00 => RoutePreference::Medium,
            0b01 => RoutePreference::High,
            0b11 => RoutePreference::Low,
            _ => RoutePreference::Reserved,
        }
    }

    /// The two-bit encoding.
    pub const fn bits(self) -> u8 {
        match self {
            RoutePreference::Medium => 0b00,
            RoutePreference::High => 0b01,
            RoutePreference::Low => 0b11,
            RoutePreference::Reserved => 0b10,
        }
    }

    /// The preference a receiver acts on: reserved counts as medium.
    pub const fn effective(self) -> RoutePreference {
        match self {
            RoutePreference::Reserved => RoutePreference::Medium,
            other => other,
        }
    }
}

/// The Prefix Information option (RFC 4861 §4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixInformation {
    /// Number of leading bits of `prefix` that are valid, 0..=128.
    pub prefix_len: u8,
    /// L: the prefix is on-link.
    pub on_link: bool,
    /// A: hosts may form addresses from it by SLAAC (RFC 4862).
    pub autonomous: bool,
    /// Seconds the prefix stays valid; 0xffffffff is infinity.
    pub valid_lifetime: u32,
    /// Seconds addresses from it stay preferred; 0xffffffff is infinity.
    pub preferred_lifetime: u32,
    /// The prefix.
    pub prefix: Ipv6Addr,
}

impl PrefixInformation {
    const FLAG_ON_LINK: u8 = 0x80;
    const FLAG_AUTONOMOUS: u8 = 0x40;
}

/// The addresses of an RDNSS option.
#[derive(Debug, Clone, Copy)]
pub enum RdnssAddrs<'a> {
    /// As parsed: a multiple of 16 octets.
    Wire(&'a [u8]),
    /// To emit.
    List(&'a [Ipv6Addr]),
}

impl<'a> RdnssAddrs<'a> {
    /// The addresses.
    pub fn iter(&self) -> impl Iterator<Item = Ipv6Addr> + 'a {
        let (wire, list): (&'a [u8], &'a [Ipv6Addr]) = match *self {
            RdnssAddrs::Wire(bytes) => (bytes, &[]),
            RdnssAddrs::List(addrs) => (&[], addrs),
        };
        wire.chunks_exact(16)
            .filter_map(|c| <[u8; 16]>::try_from(c).ok().map(Ipv6Addr::from))
            .chain(list.iter().copied())
    }

    /// How many addresses.
    pub fn len(&self) -> usize {
        match self {
            RdnssAddrs::Wire(bytes) => bytes.len() / 16,
            RdnssAddrs::List(addrs) => addrs.len(),
        }
    }

    /// No address.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PartialEq for RdnssAddrs<'_> {
    /// Equal when they hold the same addresses, however stored.
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for RdnssAddrs<'_> {}

/// One domain name of a DNSSL option.
#[derive(Debug, Clone, Copy)]
pub enum DomainName<'a> {
    /// DNS label encoding (RFC 1035 §3.1), root label included.
    Wire(&'a [u8]),
    /// Dotted text, an optional trailing dot.
    Text(&'a str),
}

impl<'a> DomainName<'a> {
    /// The labels, without the root.
    pub fn labels(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let (mut wire, text): (&'a [u8], &'a str) = match *self {
            DomainName::Wire(bytes) => (bytes, ""),
            DomainName::Text(s) => (&[], s.strip_suffix('.').unwrap_or(s)),
        };
        let from_wire = core::iter::from_fn(move || {
            let (&len, rest) = wire.split_first()?;
            let label = rest.get(..usize::from(len)).filter(|l| !l.is_empty())?;
            wire = rest.get(usize::from(len)..).unwrap_or_default();
            Some(label)
        });
        let from_text = text
            .split('.')
            .filter(move |_| !text.is_empty())
            .map(str::as_bytes);
        from_wire.chain(from_text)
    }

    /// Octets of the label encoding: each label plus its length octet,
    /// plus the root label.
    pub fn encoded_len(&self) -> usize {
        self.labels().fold(1usize, |acc, l| {
            acc.saturating_add(l.len()).saturating_add(1)
        })
    }

    /// `Malformed` unless every label is 1..=63 octets, there is at least
    /// one, and the encoding fits 255 octets (RFC 1035 §2.3.4); see
    /// [`super::dns`].
    fn check(&self) -> Result<()> {
        let ok = match *self {
            DomainName::Text(s) => super::dns::check_text_name(s).is_ok(),
            DomainName::Wire(bytes) => {
                super::dns::split_wire_name(bytes).is_ok_and(|(name, _)| name.len() > 1)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(ParseError::Malformed)
        }
    }

    /// Writes the label encoding into `buf`, which must hold
    /// [`DomainName::encoded_len`] octets.
    fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let mut at = 0usize;
        for label in self.labels() {
            let len = u8::try_from(label.len()).map_err(|_| ParseError::Malformed)?;
            put(buf, at, &[len])?;
            put(buf, at.saturating_add(1), label)?;
            at = at.saturating_add(1).saturating_add(label.len());
        }
        put(buf, at, &[0])
    }
}

impl PartialEq for DomainName<'_> {
    /// Equal when the labels are, octet for octet.
    fn eq(&self, other: &Self) -> bool {
        self.labels().eq(other.labels())
    }
}

impl Eq for DomainName<'_> {}

impl fmt::Display for DomainName<'_> {
    /// Dotted form; octets outside printable ASCII, dots and backslashes
    /// inside a label are escaped as `\DDD` (RFC 4343 §2.1), so a log line
    /// cannot be forged by a crafted label.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, label) in self.labels().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            for &b in label {
                if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                    write!(f, "{}", char::from(b))?;
                } else {
                    write!(f, "\\{b:03}")?;
                }
            }
        }
        Ok(())
    }
}

/// The domains of a DNSSL option.
#[derive(Debug, Clone, Copy)]
pub enum DnsslDomains<'a> {
    /// As parsed: label-encoded names, then zero padding.
    Wire(&'a [u8]),
    /// To emit, e.g. a subnet's `domain_search`.
    List(&'a [String]),
}

impl<'a> DnsslDomains<'a> {
    /// The names. On `Wire` bytes that [`DnsslDomains::check`] would
    /// refuse, the walk stops at the first bad name.
    pub fn iter(&self) -> impl Iterator<Item = DomainName<'a>> + 'a {
        let (mut wire, list): (&'a [u8], &'a [String]) = match *self {
            DnsslDomains::Wire(bytes) => (bytes, &[]),
            DnsslDomains::List(names) => (&[], names),
        };
        let from_wire = core::iter::from_fn(move || match next_wire_name(wire) {
            Ok(Some((name, rest))) => {
                wire = rest;
                Some(DomainName::Wire(name))
            }
            _ => None,
        });
        from_wire.chain(list.iter().map(|s| DomainName::Text(s.as_str())))
    }

    /// Checks wire bytes as RFC 8106 §5.2 lays them out: names, then only
    /// zero octets. `Malformed` otherwise (see the module doc).
    pub fn check(&self) -> Result<()> {
        match *self {
            DnsslDomains::Wire(mut wire) => {
                while let Some((name, rest)) = next_wire_name(wire)? {
                    DomainName::Wire(name).check()?;
                    wire = rest;
                }
                Ok(())
            }
            DnsslDomains::List(names) => names
                .iter()
                .try_for_each(|n| DomainName::Text(n.as_str()).check()),
        }
    }

    /// Octets of the names, before padding.
    fn encoded_len(&self) -> usize {
        match self {
            DnsslDomains::Wire(bytes) => bytes.len(),
            DnsslDomains::List(_) => self
                .iter()
                .fold(0usize, |acc, n| acc.saturating_add(n.encoded_len())),
        }
    }
}

/// Splits the next label-encoded name off `wire`: `None` at the end or at
/// the padding (a zero octet where a name would start, which must then be
/// followed by zeros only).
fn next_wire_name(wire: &[u8]) -> Result<Option<(&[u8], &[u8])>> {
    match wire.first() {
        None => return Ok(None),
        Some(0) if wire.iter().all(|&b| b == 0) => return Ok(None),
        Some(0) => return Err(ParseError::Malformed),
        Some(_) => {}
    }
    let (name, rest) = super::dns::split_wire_name(wire).map_err(|_| ParseError::Malformed)?;
    Ok(Some((name, rest)))
}

impl PartialEq for DnsslDomains<'_> {
    /// Equal when they hold the same names, however stored.
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for DnsslDomains<'_> {}

/// One ND option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdiscOption<'a> {
    /// The sender's MAC (RFC 4861 §4.6.1).
    SourceLinkLayerAddr(EthernetAddress),
    /// The target's MAC (RFC 4861 §4.6.1).
    TargetLinkLayerAddr(EthernetAddress),
    /// A prefix (RFC 4861 §4.6.2).
    PrefixInformation(PrefixInformation),
    /// The start of the redirected packet, after the 8-octet option
    /// header; padding included when parsed (RFC 4861 §4.6.3).
    RedirectedHeader(&'a [u8]),
    /// The link MTU (RFC 4861 §4.6.4).
    Mtu(u32),
    /// A more-specific route (RFC 4191 §2.3).
    RouteInformation {
        /// Number of valid leading bits of `prefix`, 0..=128.
        prefix_len: u8,
        /// Route preference.
        preference: RoutePreference,
        /// Seconds; 0xffffffff is infinity.
        lifetime: u32,
        /// The prefix; bits past `prefix_len` read as zero.
        prefix: Ipv6Addr,
    },
    /// Recursive DNS servers (RFC 8106 §5.1).
    Rdnss {
        /// Seconds the servers may be used; 0xffffffff is infinity.
        lifetime: u32,
        /// The servers.
        addresses: RdnssAddrs<'a>,
    },
    /// DNS search list (RFC 8106 §5.2).
    Dnssl {
        /// Seconds the domains may be used; 0xffffffff is infinity.
        lifetime: u32,
        /// The domains.
        domains: DnsslDomains<'a>,
    },
    /// Any other type: the octets after type and length.
    Unknown {
        /// Option type.
        kind: u8,
        /// The option after its 2-octet header.
        data: &'a [u8],
    },
}

/// Rounds up to a multiple of 8, saturating.
const fn pad8(len: usize) -> usize {
    len.saturating_add(7) & !7
}

/// `N` octets of `b` at `at`, or `Truncated`.
fn get<const N: usize>(b: &[u8], at: usize) -> Result<[u8; N]> {
    at.checked_add(N)
        .and_then(|end| b.get(at..end))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(ParseError::Truncated)
}

fn get_u32(b: &[u8], at: usize) -> Result<u32> {
    get::<4>(b, at).map(u32::from_be_bytes)
}

/// Copies `src` into `b` at `at`, or `Truncated`.
fn put(b: &mut [u8], at: usize, src: &[u8]) -> Result<()> {
    at.checked_add(src.len())
        .and_then(|end| b.get_mut(at..end))
        .ok_or(ParseError::Truncated)?
        .copy_from_slice(src);
    Ok(())
}

/// Clears the bits of `prefix` past `prefix_len`.
fn mask_prefix(prefix: [u8; 16], prefix_len: u8) -> Ipv6Addr {
    let bits = u128::from_be_bytes(prefix);
    let mask = u128::MAX
        .checked_shl(128u32.saturating_sub(u32::from(prefix_len)))
        .unwrap_or(0);
    Ipv6Addr::from(bits & mask)
}

impl<'a> NdiscOption<'a> {
    /// Parses the option at the start of `bytes` and returns it with the
    /// number of octets it occupies (errors: see the module doc).
    pub fn parse(bytes: &'a [u8]) -> Result<(NdiscOption<'a>, usize)> {
        let [kind, units] = get::<2>(bytes, 0)?;
        if units == 0 {
            return Err(ParseError::BadLength);
        }
        let len = usize::from(units) * 8;
        let opt = bytes.get(..len).ok_or(ParseError::Truncated)?;
        let body = opt.get(2..).unwrap_or_default();
        let option = match OptionType::from(kind) {
            OptionType::SourceLinkLayerAddr | OptionType::TargetLinkLayerAddr => {
                if units != 1 {
                    return Err(ParseError::BadLength);
                }
                let mac = EthernetAddress(get::<6>(opt, 2)?);
                if kind == u8::from(OptionType::SourceLinkLayerAddr) {
                    NdiscOption::SourceLinkLayerAddr(mac)
                } else {
                    NdiscOption::TargetLinkLayerAddr(mac)
                }
            }
            OptionType::PrefixInformation => {
                if units != 4 {
                    return Err(ParseError::BadLength);
                }
                let [prefix_len, flags] = get::<2>(opt, 2)?;
                if prefix_len > 128 {
                    return Err(ParseError::Malformed);
                }
                NdiscOption::PrefixInformation(PrefixInformation {
                    prefix_len,
                    on_link: flags & PrefixInformation::FLAG_ON_LINK != 0,
                    autonomous: flags & PrefixInformation::FLAG_AUTONOMOUS != 0,
                    valid_lifetime: get_u32(opt, 4)?,
                    preferred_lifetime: get_u32(opt, 8)?,
                    // Kept as sent: hosts ignore bits past prefix_len, and
                    // a router validating a rogue RA wants the raw value.
                    prefix: Ipv6Addr::from(get::<16>(opt, 16)?),
                })
            }
            OptionType::RedirectedHeader => {
                NdiscOption::RedirectedHeader(opt.get(8..).unwrap_or_default())
            }
            OptionType::Mtu => {
                if units != 1 {
                    return Err(ParseError::BadLength);
                }
                NdiscOption::Mtu(get_u32(opt, 4)?)
            }
            OptionType::RouteInformation => {
                if !(1..=3).contains(&units) {
                    return Err(ParseError::BadLength);
                }
                let [prefix_len, flags] = get::<2>(opt, 2)?;
                if prefix_len > 128 {
                    return Err(ParseError::Malformed);
                }
                // RFC 4191 §2.3: length 1 only for ::/0, 2 up to /64.
                let needed = match prefix_len {
                    0 => 1,
                    1..=64 => 2,
                    _ => 3,
                };
                if units < needed {
                    return Err(ParseError::BadLength);
                }
                let mut prefix = [0u8; 16];
                let sent = opt.get(8..).unwrap_or_default();
                put(&mut prefix, 0, sent)?;
                NdiscOption::RouteInformation {
                    prefix_len,
                    preference: RoutePreference::from_bits(flags >> 3),
                    lifetime: get_u32(opt, 4)?,
                    prefix: mask_prefix(prefix, prefix_len),
                }
            }
            OptionType::Rdnss => {
                if units < 3 || units % 2 == 0 {
                    return Err(ParseError::BadLength);
                }
                NdiscOption::Rdnss {
                    lifetime: get_u32(opt, 4)?,
                    addresses: RdnssAddrs::Wire(opt.get(8..).unwrap_or_default()),
                }
            }
            OptionType::Dnssl => {
                if units < 2 {
                    return Err(ParseError::BadLength);
                }
                let domains = DnsslDomains::Wire(opt.get(8..).unwrap_or_default());
                domains.check()?;
                NdiscOption::Dnssl {
                    lifetime: get_u32(opt, 4)?,
                    domains,
                }
            }
            OptionType::Nonce | OptionType::Unknown(_) => NdiscOption::Unknown { kind, data: body },
        };
        Ok((option, len))
    }

    /// The option type.
    pub fn kind(&self) -> u8 {
        let t = match self {
            NdiscOption::SourceLinkLayerAddr(_) => OptionType::SourceLinkLayerAddr,
            NdiscOption::TargetLinkLayerAddr(_) => OptionType::TargetLinkLayerAddr,
            NdiscOption::PrefixInformation(_) => OptionType::PrefixInformation,
            NdiscOption::RedirectedHeader(_) => OptionType::RedirectedHeader,
            NdiscOption::Mtu(_) => OptionType::Mtu,
            NdiscOption::RouteInformation { .. } => OptionType::RouteInformation,
            NdiscOption::Rdnss { .. } => OptionType::Rdnss,
            NdiscOption::Dnssl { .. } => OptionType::Dnssl,
            NdiscOption::Unknown { kind, .. } => return *kind,
        };
        t.into()
    }

    /// Octets the option occupies when emitted, padding included.
    pub fn buffer_len(&self) -> usize {
        match self {
            NdiscOption::SourceLinkLayerAddr(_)
            | NdiscOption::TargetLinkLayerAddr(_)
            | NdiscOption::Mtu(_) => 8,
            NdiscOption::PrefixInformation(_) => 32,
            NdiscOption::RedirectedHeader(data) => pad8(data.len().saturating_add(8)),
            NdiscOption::RouteInformation { prefix_len, .. } => match prefix_len {
                0 => 8,
                1..=64 => 16,
                _ => 24,
            },
            NdiscOption::Rdnss { addresses, .. } => {
                addresses.len().saturating_mul(16).saturating_add(8)
            }
            NdiscOption::Dnssl { domains, .. } => pad8(domains.encoded_len().saturating_add(8)),
            NdiscOption::Unknown { data, .. } => pad8(data.len().saturating_add(2)),
        }
    }

    /// Writes the option at the start of `buf` and returns its length.
    ///
    /// `Truncated` if `buf` is shorter than [`NdiscOption::buffer_len`];
    /// `Malformed` if the option cannot be encoded: longer than
    /// [`MAX_OPTION_LEN`], a prefix length over 128, an RDNSS option
    /// without addresses, or a DNSSL name that is not 1..=63-octet labels
    /// within 255 octets.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        if len > MAX_OPTION_LEN {
            return Err(ParseError::Malformed);
        }
        let out = buf.get_mut(..len).ok_or(ParseError::Truncated)?;
        // Padding and reserved fields are zero (RFC 4861 §4.6).
        out.fill(0);
        let units = u8::try_from(len / 8).map_err(|_| ParseError::Malformed)?;
        put(out, 0, &[self.kind(), units])?;
        match *self {
            NdiscOption::SourceLinkLayerAddr(mac) | NdiscOption::TargetLinkLayerAddr(mac) => {
                put(out, 2, mac.as_bytes())?;
            }
            NdiscOption::PrefixInformation(pi) => {
                if pi.prefix_len > 128 {
                    return Err(ParseError::Malformed);
                }
                let mut flags = 0;
                if pi.on_link {
                    flags |= PrefixInformation::FLAG_ON_LINK;
                }
                if pi.autonomous {
                    flags |= PrefixInformation::FLAG_AUTONOMOUS;
                }
                put(out, 2, &[pi.prefix_len, flags])?;
                put(out, 4, &pi.valid_lifetime.to_be_bytes())?;
                put(out, 8, &pi.preferred_lifetime.to_be_bytes())?;
                put(out, 16, &pi.prefix.octets())?;
            }
            NdiscOption::RedirectedHeader(data) => put(out, 8, data)?,
            NdiscOption::Mtu(mtu) => put(out, 4, &mtu.to_be_bytes())?,
            NdiscOption::RouteInformation {
                prefix_len,
                preference,
                lifetime,
                prefix,
            } => {
                if prefix_len > 128 {
                    return Err(ParseError::Malformed);
                }
                put(out, 2, &[prefix_len, preference.bits() << 3])?;
                put(out, 4, &lifetime.to_be_bytes())?;
                let octets = mask_prefix(prefix.octets(), prefix_len).octets();
                let n = len.saturating_sub(8);
                put(out, 8, octets.get(..n).unwrap_or_default())?;
            }
            NdiscOption::Rdnss {
                lifetime,
                addresses,
            } => {
                if addresses.is_empty() {
                    return Err(ParseError::Malformed);
                }
                put(out, 4, &lifetime.to_be_bytes())?;
                let mut at = 8usize;
                for addr in addresses.iter() {
                    put(out, at, &addr.octets())?;
                    at = at.saturating_add(16);
                }
            }
            NdiscOption::Dnssl { lifetime, domains } => {
                domains.check()?;
                put(out, 4, &lifetime.to_be_bytes())?;
                match domains {
                    DnsslDomains::Wire(bytes) => put(out, 8, bytes)?,
                    DnsslDomains::List(_) => {
                        let mut at = 8usize;
                        for name in domains.iter() {
                            let rest = out.get_mut(at..).ok_or(ParseError::Truncated)?;
                            name.emit(rest)?;
                            at = at.saturating_add(name.encoded_len());
                        }
                    }
                }
            }
            NdiscOption::Unknown { data, .. } => put(out, 2, data)?,
        }
        Ok(len)
    }
}

/// The options of an ND message.
#[derive(Debug, Clone, Copy)]
pub enum NdiscOptions<'a> {
    /// As parsed: the bytes after the message's fixed part.
    Wire(&'a [u8]),
    /// To emit.
    List(&'a [NdiscOption<'a>]),
}

impl Default for NdiscOptions<'_> {
    fn default() -> Self {
        NdiscOptions::EMPTY
    }
}

impl<'a> NdiscOptions<'a> {
    /// No options.
    pub const EMPTY: NdiscOptions<'static> = NdiscOptions::List(&[]);

    /// The options in order. On `Wire` bytes the walk yields at most one
    /// error, then stops (errors: see the module doc).
    pub fn iter(&self) -> NdiscOptionsIter<'a> {
        match *self {
            NdiscOptions::Wire(bytes) => NdiscOptionsIter::Wire {
                rest: bytes,
                visited: 0,
            },
            NdiscOptions::List(list) => NdiscOptionsIter::List(list.iter()),
        }
    }

    /// Walks all options once: `Ok` if every one parses.
    pub fn check(&self) -> Result<()> {
        self.iter().try_for_each(|o| o.map(|_| ()))
    }

    /// Octets the options occupy when emitted.
    pub fn buffer_len(&self) -> usize {
        match self {
            NdiscOptions::Wire(bytes) => bytes.len(),
            NdiscOptions::List(list) => list
                .iter()
                .fold(0usize, |acc, o| acc.saturating_add(o.buffer_len())),
        }
    }

    /// Writes the options at the start of `buf` (`Wire` bytes are copied
    /// as they are). Errors as [`NdiscOption::emit`].
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        match *self {
            NdiscOptions::Wire(bytes) => put(buf, 0, bytes),
            NdiscOptions::List(list) => {
                let mut at = 0usize;
                for opt in list {
                    let rest = buf.get_mut(at..).ok_or(ParseError::Truncated)?;
                    at = at.saturating_add(opt.emit(rest)?);
                }
                Ok(())
            }
        }
    }

    /// The first Source Link-Layer Address option, if any parses.
    pub fn source_link_layer_addr(&self) -> Option<EthernetAddress> {
        self.iter().find_map(|o| match o {
            Ok(NdiscOption::SourceLinkLayerAddr(mac)) => Some(mac),
            _ => None,
        })
    }

    /// The first Target Link-Layer Address option, if any parses.
    pub fn target_link_layer_addr(&self) -> Option<EthernetAddress> {
        self.iter().find_map(|o| match o {
            Ok(NdiscOption::TargetLinkLayerAddr(mac)) => Some(mac),
            _ => None,
        })
    }
}

impl PartialEq for NdiscOptions<'_> {
    /// Equal when they hold the same options, however stored.
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for NdiscOptions<'_> {}

/// Iterator over [`NdiscOptions`].
#[derive(Debug, Clone)]
pub enum NdiscOptionsIter<'a> {
    /// Walking bytes.
    Wire {
        /// Bytes not yet walked.
        rest: &'a [u8],
        /// Options visited so far.
        visited: usize,
    },
    /// Walking a list.
    List(core::slice::Iter<'a, NdiscOption<'a>>),
}

impl<'a> Iterator for NdiscOptionsIter<'a> {
    type Item = Result<NdiscOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            NdiscOptionsIter::List(it) => it.next().copied().map(Ok),
            NdiscOptionsIter::Wire { rest, visited } => {
                if rest.is_empty() {
                    return None;
                }
                let result = if *visited >= MAX_OPTIONS {
                    Err(ParseError::TooManyOptions)
                } else {
                    NdiscOption::parse(rest)
                };
                match result {
                    Ok((option, len)) => {
                        *rest = rest.get(len..).unwrap_or_default();
                        *visited = visited.saturating_add(1);
                        Some(Ok(option))
                    }
                    Err(e) => {
                        // One error, then the walk is over.
                        *rest = &[];
                        Some(Err(e))
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    const MAC: EthernetAddress = EthernetAddress([0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01]);
    const DNS: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xcafe, 0xa, 0, 0, 0, 0xe);

    /// The options of slaac-qr0.pcap frame 13 (radvd's RA with RDNSS).
    static RA_OPTIONS: [u8; 64] = [
        // prefix information: type 3, length 4, /64, L A
        0x03, 0x04, 0x40, 0xc0, //
        0x00, 0x01, 0x51, 0x80, // valid lifetime 86400
        0x00, 0x00, 0x38, 0x40, // preferred lifetime 14400
        0x00, 0x00, 0x00, 0x00, // reserved
        0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00, 0x00, // prefix 2001:db8:cafe::
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
        // RDNSS: type 25, length 3, reserved, lifetime 100
        0x19, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64, //
        0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00, 0x0a, // 2001:db8:cafe:a::e
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0e, //
        // source link-layer address: type 1, length 1, fa:16:3e:11:11:01
        0x01, 0x01, 0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01,
    ];

    /// DNSSL with "openstacklocal" and "example.org", lifetime 600.
    static DNSSL: [u8; 40] = [
        0x1f, 0x05, 0x00, 0x00, // type 31, length 5, reserved
        0x00, 0x00, 0x02, 0x58, // lifetime 600
        // 14 "openstacklocal" 0
        0x0e, b'o', b'p', b'e', b'n', b's', b't', b'a', b'c', b'k', b'l', b'o', b'c', b'a', b'l',
        0x00, //
        // 7 "example" 3 "org" 0
        0x07, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0x03, b'o', b'r', b'g', 0x00,
        // padding to 8 octets
        0x00, 0x00, 0x00,
    ];

    /// Route information 2001:db8:beef::/48, preference high, lifetime 1800.
    static ROUTE_INFO: [u8; 16] = [
        0x18, 0x02, 0x30, 0x08, // type 24, length 2, /48, Prf 01 (high)
        0x00, 0x00, 0x07, 0x08, // route lifetime 1800
        0x20, 0x01, 0x0d, 0xb8, 0xbe, 0xef, 0x00, 0x00, // prefix, 64 bits
    ];

    fn pio() -> PrefixInformation {
        PrefixInformation {
            prefix_len: 64,
            on_link: true,
            autonomous: true,
            valid_lifetime: 86400,
            preferred_lifetime: 14400,
            prefix: Ipv6Addr::new(0x2001, 0xdb8, 0xcafe, 0, 0, 0, 0, 0),
        }
    }

    fn parse_all(bytes: &[u8]) -> Result<Vec<NdiscOption<'_>>> {
        NdiscOptions::Wire(bytes).iter().collect()
    }

    #[test]
    fn parse() {
        let opts = parse_all(&RA_OPTIONS).unwrap();
        assert_eq!(
            opts,
            [
                NdiscOption::PrefixInformation(pio()),
                NdiscOption::Rdnss {
                    lifetime: 100,
                    addresses: RdnssAddrs::List(&[DNS]),
                },
                NdiscOption::SourceLinkLayerAddr(MAC),
            ]
        );
        let wire = NdiscOptions::Wire(&RA_OPTIONS);
        assert_eq!(wire.source_link_layer_addr(), Some(MAC));
        assert_eq!(wire.target_link_layer_addr(), None);
    }

    #[test]
    fn parse_dnssl() {
        let opts = parse_all(&DNSSL).unwrap();
        let [NdiscOption::Dnssl { lifetime, domains }] = opts[..] else {
            panic!("{opts:?}");
        };
        assert_eq!(lifetime, 600);
        let names: Vec<String> = domains.iter().map(|d| d.to_string()).collect();
        assert_eq!(names, ["openstacklocal", "example.org"]);
    }

    #[test]
    fn parse_route_information() {
        let (opt, len) = NdiscOption::parse(&ROUTE_INFO).unwrap();
        assert_eq!(len, 16);
        assert_eq!(
            opt,
            NdiscOption::RouteInformation {
                prefix_len: 48,
                preference: RoutePreference::High,
                lifetime: 1800,
                prefix: Ipv6Addr::new(0x2001, 0xdb8, 0xbeef, 0, 0, 0, 0, 0),
            }
        );
    }

    #[test]
    fn parse_unknown_keeps_bytes() {
        // The nonce of a DAD probe (slaac-qr0.pcap frame 14).
        let nonce = [0x0e, 0x01, 0x22, 0xd7, 0xe0, 0x50, 0x25, 0x00];
        let (opt, _) = NdiscOption::parse(&nonce).unwrap();
        assert_eq!(
            opt,
            NdiscOption::Unknown {
                kind: 14,
                data: &nonce[2..],
            }
        );
    }

    #[test]
    fn emit() {
        let list = [
            NdiscOption::PrefixInformation(pio()),
            NdiscOption::Rdnss {
                lifetime: 100,
                addresses: RdnssAddrs::List(&[DNS]),
            },
            NdiscOption::SourceLinkLayerAddr(MAC),
        ];
        let opts = NdiscOptions::List(&list);
        assert_eq!(opts.buffer_len(), 64);
        let mut buf = [0xa5u8; 64];
        opts.emit(&mut buf).unwrap();
        assert_eq!(buf, RA_OPTIONS);

        let names = ["openstacklocal".to_string(), "example.org.".to_string()];
        let opt = NdiscOption::Dnssl {
            lifetime: 600,
            domains: DnsslDomains::List(&names),
        };
        assert_eq!(opt.buffer_len(), 40);
        let mut buf = [0xa5u8; 40];
        assert_eq!(opt.emit(&mut buf).unwrap(), 40);
        assert_eq!(buf, DNSSL);

        let opt = NdiscOption::RouteInformation {
            prefix_len: 48,
            preference: RoutePreference::High,
            lifetime: 1800,
            // Bits past /48 are not sent.
            prefix: Ipv6Addr::new(0x2001, 0xdb8, 0xbeef, 0xffff, 0, 0, 0, 1),
        };
        let mut buf = [0xa5u8; 16];
        opt.emit(&mut buf).unwrap();
        assert_eq!(buf, ROUTE_INFO);

        let opt = NdiscOption::Mtu(1500);
        let mut buf = [0xa5u8; 8];
        opt.emit(&mut buf).unwrap();
        assert_eq!(buf, [5, 1, 0, 0, 0, 0, 0x05, 0xdc]);

        let opt = NdiscOption::RedirectedHeader(&[0x60, 0, 0]);
        let mut buf = [0xa5u8; 16];
        opt.emit(&mut buf).unwrap();
        assert_eq!(buf, [4, 2, 0, 0, 0, 0, 0, 0, 0x60, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn round_trip() {
        let names = ["openstacklocal".to_string()];
        let list = [
            NdiscOption::TargetLinkLayerAddr(MAC),
            NdiscOption::Mtu(1280),
            NdiscOption::RouteInformation {
                prefix_len: 0,
                preference: RoutePreference::Low,
                lifetime: 0xffff_ffff,
                prefix: Ipv6Addr::UNSPECIFIED,
            },
            NdiscOption::RouteInformation {
                prefix_len: 96,
                preference: RoutePreference::Reserved,
                lifetime: 1,
                prefix: Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 3, 4, 0, 0),
            },
            NdiscOption::Rdnss {
                lifetime: 300,
                addresses: RdnssAddrs::List(&[
                    DNS,
                    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 53),
                ]),
            },
            NdiscOption::Dnssl {
                lifetime: 300,
                domains: DnsslDomains::List(&names),
            },
            NdiscOption::RedirectedHeader(&[0x60, 0, 0, 0, 0, 0, 0, 0]),
            NdiscOption::Unknown {
                kind: 200,
                data: &[1, 2, 3, 4, 5, 6],
            },
        ];
        let opts = NdiscOptions::List(&list);
        let mut buf = vec![0xa5u8; opts.buffer_len()];
        opts.emit(&mut buf).unwrap();
        assert_eq!(NdiscOptions::Wire(&buf), opts);
        assert_eq!(parse_all(&buf).unwrap(), list);
    }

    #[test]
    fn domain_name_display_escapes() {
        let wire = [3, b'a', b'.', 0xff, 1, b'\\', 0];
        assert_eq!(DomainName::Wire(&wire).to_string(), "a\\046\\255.\\092");
        assert_eq!(DomainName::Text("example.org.").to_string(), "example.org");
        assert_eq!(DomainName::Wire(&wire).encoded_len(), wire.len());
    }

    #[test]
    fn rejects_truncated_header() {
        assert_eq!(parse_all(&[0x01]), Err(ParseError::Truncated));
    }

    #[test]
    fn rejects_option_len_zero() {
        assert_eq!(
            parse_all(&[0x01, 0x00, 0, 0, 0, 0, 0, 0]),
            Err(ParseError::BadLength)
        );
    }

    #[test]
    fn rejects_option_overrunning() {
        assert_eq!(parse_all(&RA_OPTIONS[..63]), Err(ParseError::Truncated));
        assert_eq!(
            parse_all(&[0x19, 0x03, 0, 0, 0, 0, 0, 0]),
            Err(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_too_many_options() {
        let mut bytes = Vec::new();
        for _ in 0..MAX_OPTIONS {
            bytes.extend_from_slice(&[0x0e, 0x01, 0, 0, 0, 0, 0, 0]);
        }
        assert_eq!(parse_all(&bytes).unwrap().len(), MAX_OPTIONS);
        bytes.extend_from_slice(&[0x0e, 0x01, 0, 0, 0, 0, 0, 0]);
        assert_eq!(parse_all(&bytes), Err(ParseError::TooManyOptions));
    }

    #[test]
    fn rejects_lladdr_len_2() {
        assert_eq!(
            parse_all(&[0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(ParseError::BadLength)
        );
    }

    #[test]
    fn rejects_pio_len_3() {
        let mut bytes = RA_OPTIONS[..24].to_vec();
        bytes[1] = 3;
        assert_eq!(parse_all(&bytes), Err(ParseError::BadLength));
    }

    #[test]
    fn rejects_pio_prefix_len_over_128() {
        let mut bytes = RA_OPTIONS[..32].to_vec();
        bytes[2] = 129;
        assert_eq!(parse_all(&bytes), Err(ParseError::Malformed));
    }

    #[test]
    fn rejects_mtu_len_2() {
        assert_eq!(
            parse_all(&[0x05, 0x02, 0, 0, 0, 0, 0x05, 0xdc, 0, 0, 0, 0, 0, 0, 0, 0]),
            Err(ParseError::BadLength)
        );
    }

    #[test]
    fn rejects_rdnss_len_below_3() {
        let mut bytes = RA_OPTIONS[32..48].to_vec();
        bytes[1] = 2;
        assert_eq!(parse_all(&bytes), Err(ParseError::BadLength));
    }

    #[test]
    fn rejects_rdnss_len_even() {
        let mut bytes = RA_OPTIONS[32..56].to_vec();
        bytes.extend_from_slice(&[0; 8]);
        bytes[1] = 4;
        assert_eq!(parse_all(&bytes), Err(ParseError::BadLength));
    }

    #[test]
    fn rejects_dnssl_len_1() {
        assert_eq!(
            parse_all(&[0x1f, 0x01, 0, 0, 0, 0, 0, 0]),
            Err(ParseError::BadLength)
        );
    }

    #[test]
    fn rejects_dnssl_label_over_63() {
        let mut bytes = DNSSL;
        bytes[8] = 64;
        assert_eq!(parse_all(&bytes), Err(ParseError::Malformed));
    }

    #[test]
    fn rejects_dnssl_compression_pointer() {
        let mut bytes = DNSSL;
        bytes[24] = 0xc0; // "example" label length replaced by a pointer
        assert_eq!(parse_all(&bytes), Err(ParseError::Malformed));
    }

    #[test]
    fn rejects_dnssl_label_past_option() {
        let mut bytes = DNSSL;
        bytes[32] = 7; // "org" claims 7 octets, running past the option
        assert_eq!(parse_all(&bytes), Err(ParseError::Malformed));
    }

    #[test]
    fn rejects_dnssl_nonzero_padding() {
        let mut bytes = DNSSL;
        bytes[39] = 1;
        assert_eq!(parse_all(&bytes), Err(ParseError::Malformed));
    }

    #[test]
    fn rejects_route_info_len_4() {
        let mut bytes = ROUTE_INFO.to_vec();
        bytes.extend_from_slice(&[0; 16]);
        bytes[1] = 4;
        assert_eq!(parse_all(&bytes), Err(ParseError::BadLength));
    }

    #[test]
    fn rejects_route_info_len_short_for_prefix() {
        let mut bytes = ROUTE_INFO;
        bytes[2] = 65; // a /65 needs length 3
        assert_eq!(parse_all(&bytes), Err(ParseError::BadLength));
    }

    #[test]
    fn rejects_route_info_prefix_len_over_128() {
        let mut bytes = ROUTE_INFO.to_vec();
        bytes.extend_from_slice(&[0; 8]);
        bytes[1] = 3;
        bytes[2] = 129;
        assert_eq!(parse_all(&bytes), Err(ParseError::Malformed));
    }

    #[test]
    fn emit_rejects_bad_domain() {
        for bad in ["", "a..b", &"x".repeat(64), &["y"; 130].join(".")] {
            let names = [bad.to_string()];
            let opt = NdiscOption::Dnssl {
                lifetime: 1,
                domains: DnsslDomains::List(&names),
            };
            let mut buf = vec![0u8; opt.buffer_len()];
            assert_eq!(opt.emit(&mut buf), Err(ParseError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn emit_rejects_oversized_option() {
        let data = [0u8; MAX_OPTION_LEN];
        let opt = NdiscOption::Unknown {
            kind: 200,
            data: &data,
        };
        let mut buf = vec![0u8; opt.buffer_len()];
        assert_eq!(opt.emit(&mut buf), Err(ParseError::Malformed));
    }

    #[test]
    fn emit_rejects_short_buffer() {
        let mut buf = [0u8; 7];
        assert_eq!(
            NdiscOption::Mtu(1280).emit(&mut buf),
            Err(ParseError::Truncated)
        );
    }
}
