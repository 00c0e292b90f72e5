//! Router advertisements: what an interface advertises and when.
//!
//! The content comes from the mode table of DESIGN.md (Neutron's): each
//! subnet on the link with an `ipv6_ra_mode` contributes its prefix with
//! the L/A flags of its mode and sets M/O; the RA also carries the source
//! link-layer address, the link MTU, and RDNSS/DNSSL (RFC 8106) when the
//! subnets have DNS servers or search domains.
//!
//! The ICMPv6 body is encoded once, at compile time; sending an RA copies
//! it behind fresh Ethernet and IPv6 headers and sums the checksum.
//!
//! Renumbering (a delegated prefix replaced or lost, RFC 9096): the old
//! prefix is listed in [`RaContent::deprecated`] with the instant its
//! valid lifetime ends, and every RA carries it with preferred lifetime 0
//! and the valid lifetime left, at most [`ND_VALID_LIMIT`], so hosts stop
//! using it for new connections while existing ones live on. Only then is
//! the body encoded per send ([`RaContent::body_at`]); RAs are rare, and
//! an interface without such a prefix sends the prebuilt body. Expired
//! entries drop out of the RAs by themselves. RFC 9096's text (not at
//! hand while writing this) asks for valid lifetime 0 on stale prefixes;
//! RFC 4862 §5.5.3 e) hosts turn anything under two hours into two hours
//! anyway, and the countdown keeps hosts that honour small lifetimes from
//! dropping live connections at once, as the issue asks.
//!
//! Timing (RFC 4861 §6.2.4, §6.2.6): unsolicited RAs at a random interval
//! in [MinRtrAdvInterval, MaxRtrAdvInterval], the first
//! MAX_INITIAL_RTR_ADVERTISEMENTS of them at most
//! MAX_INITIAL_RTR_ADVERT_INTERVAL apart. A solicitation from a host with a
//! source address is answered at once by unicast (RFC 7772 §5.1, and what
//! radvd 2.19 does in the reference captures), within a per-interface token
//! bucket; one from the unspecified address brings the next multicast RA
//! forward, no closer than MIN_DELAY_BETWEEN_RAS to the previous one.

use std::net::Ipv6Addr;
use std::time::Duration;

use crate::config::{Config, Interface, RaSettings};
use crate::wire::{
    EthernetAddress, Icmpv6Packet, NdiscDnsslDomains, NdiscOption, NdiscOptions,
    NdiscPrefixInformation, NdiscRdnssAddrs, NdiscRepr, NdiscRouterFlags,
};

use crate::base::Instant;
use crate::base::Rng;
use crate::base::TokenBucket;

/// RFC 4861 §10.
pub const MAX_INITIAL_RTR_ADVERT_INTERVAL: Duration = Duration::from_secs(16);
/// RFC 4861 §10.
pub const MAX_INITIAL_RTR_ADVERTISEMENTS: u8 = 3;
/// RFC 4861 §10.
pub const MIN_DELAY_BETWEEN_RAS: Duration = Duration::from_secs(3);
/// RFC 4861 §10: a multicast answer to an RS is delayed up to this much.
pub const MAX_RA_DELAY_TIME: Duration = Duration::from_millis(500);
/// Neutron's prefix lifetimes (DESIGN.md): valid 86400 s.
pub const PREFIX_VALID_LIFETIME: u32 = 86_400;
/// Neutron's prefix lifetimes (DESIGN.md): preferred 14400 s.
pub const PREFIX_PREFERRED_LIFETIME: u32 = 14_400;
/// The most valid lifetime a deprecated prefix is advertised with:
/// RFC 9096's ND_VALID_LIMIT (90 minutes), under RFC 4862's two hours.
pub const ND_VALID_LIMIT: u32 = 5400;
/// Solicited unicast RAs per interface: burst.
pub const SOLICITED_RA_BURST: u32 = 20;
/// Solicited unicast RAs per interface: sustained rate per second.
pub const SOLICITED_RA_PER_SECOND: u32 = 10;

/// One advertised prefix (a Prefix Information option).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdvPrefix {
    pub prefix: Ipv6Addr,
    pub len: u8,
    pub on_link: bool,
    pub autonomous: bool,
    pub valid_lifetime: u32,
    pub preferred_lifetime: u32,
}

/// A prefix no longer the link's, advertised with preferred lifetime 0
/// until `valid_until` (module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeprecatedPrefix {
    pub prefix: ipnet::Ipv6Net,
    pub on_link: bool,
    pub autonomous: bool,
    pub valid_until: Instant,
}

impl DeprecatedPrefix {
    /// The Prefix Information at `now`, or `None` once it has run out
    /// (under a second left).
    fn at(&self, now: Instant) -> Option<AdvPrefix> {
        let left = self.valid_until.saturating_since(now).as_secs();
        let valid = u32::try_from(left).unwrap_or(u32::MAX).min(ND_VALID_LIMIT);
        (valid > 0).then_some(AdvPrefix {
            prefix: self.prefix.network(),
            len: self.prefix.prefix_len(),
            on_link: self.on_link,
            autonomous: self.autonomous,
            valid_lifetime: valid,
            preferred_lifetime: 0,
        })
    }
}

/// Everything an interface's RAs say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaContent {
    pub managed: bool,
    pub other: bool,
    pub cur_hop_limit: u8,
    pub router_lifetime: u16,
    pub mtu: u32,
    pub source_mac: EthernetAddress,
    pub prefixes: Vec<AdvPrefix>,
    pub rdnss: Vec<Ipv6Addr>,
    pub dnssl: Vec<String>,
    /// RDNSS/DNSSL lifetime: 3 × MaxRtrAdvInterval (RFC 8106 §5.1).
    pub dns_lifetime: u32,
    /// Prefixes being renumbered away (module doc); set with
    /// [`RaContent::set_deprecated`].
    pub deprecated: Vec<DeprecatedPrefix>,
    /// The encoded ICMPv6 message with a zero checksum.
    body: Vec<u8>,
}

impl RaContent {
    /// The RA of `iface`, or `None` when none of its subnets asks the router
    /// to advertise (the mode table's "none" rows).
    pub fn from_config(
        config: &Config,
        iface: &Interface,
        mac: EthernetAddress,
        mtu: u32,
    ) -> Option<RaContent> {
        let settings: RaSettings = config.router.ra;
        let mut content = RaContent {
            managed: false,
            other: false,
            cur_hop_limit: settings.hop_limit,
            router_lifetime: settings.router_lifetime,
            mtu,
            source_mac: mac,
            prefixes: Vec::new(),
            rdnss: Vec::new(),
            dnssl: Vec::new(),
            dns_lifetime: settings.max_interval.saturating_mul(3),
            deprecated: Vec::new(),
            body: Vec::new(),
        };
        let mut any = false;
        for subnet in config
            .subnets
            .iter()
            .filter(|s| iface.subnets.contains(&s.name) && s.ip_version == 6)
        {
            let Some(policy) = subnet.ra_policy() else {
                continue;
            };
            any = true;
            content.managed |= policy.managed;
            content.other |= policy.other;
            if let Some(ipnet::IpNet::V6(net)) = subnet.prefix() {
                content.prefixes.push(AdvPrefix {
                    prefix: net.network(),
                    len: net.prefix_len(),
                    on_link: policy.on_link,
                    autonomous: policy.autonomous,
                    valid_lifetime: PREFIX_VALID_LIFETIME,
                    preferred_lifetime: PREFIX_PREFERRED_LIFETIME,
                });
            }
            for dns in &subnet.dns_nameservers {
                if let std::net::IpAddr::V6(a) = dns {
                    if !content.rdnss.contains(a) {
                        content.rdnss.push(*a);
                    }
                }
            }
            for domain in &subnet.domain_search {
                if !content.dnssl.contains(domain) {
                    content.dnssl.push(domain.clone());
                }
            }
        }
        if !any {
            return None;
        }
        content.body = content.encode(content.router_lifetime);
        Some(content)
    }

    /// Encodes the ICMPv6 message with `router_lifetime` (0 for the final
    /// RA) and a zero checksum. Options: SLLA, MTU, one PIO per prefix,
    /// RDNSS, DNSSL.
    pub fn encode(&self, router_lifetime: u16) -> Vec<u8> {
        self.encode_with(router_lifetime, &[])
    }

    /// As [`encode`](Self::encode), with the deprecated prefixes as they
    /// stand at `now`.
    pub fn encode_at(&self, router_lifetime: u16, now: Instant) -> Vec<u8> {
        let deprecated: Vec<AdvPrefix> = self
            .deprecated
            .iter()
            .filter(|d| {
                !self
                    .prefixes
                    .iter()
                    .any(|p| p.prefix == d.prefix.network() && p.len == d.prefix.prefix_len())
            })
            .filter_map(|d| d.at(now))
            .collect();
        self.encode_with(router_lifetime, &deprecated)
    }

    fn encode_with(&self, router_lifetime: u16, extra: &[AdvPrefix]) -> Vec<u8> {
        let mut options: Vec<NdiscOption<'_>> =
            Vec::with_capacity(4 + self.prefixes.len() + extra.len());
        options.push(NdiscOption::SourceLinkLayerAddr(self.source_mac));
        options.push(NdiscOption::Mtu(self.mtu));
        for p in self.prefixes.iter().chain(extra) {
            options.push(NdiscOption::PrefixInformation(NdiscPrefixInformation {
                prefix_len: p.len,
                on_link: p.on_link,
                autonomous: p.autonomous,
                valid_lifetime: p.valid_lifetime,
                preferred_lifetime: p.preferred_lifetime,
                prefix: p.prefix,
            }));
        }
        if !self.rdnss.is_empty() {
            options.push(NdiscOption::Rdnss {
                lifetime: self.dns_lifetime,
                addresses: NdiscRdnssAddrs::List(&self.rdnss),
            });
        }
        if !self.dnssl.is_empty() {
            options.push(NdiscOption::Dnssl {
                lifetime: self.dns_lifetime,
                domains: NdiscDnsslDomains::List(&self.dnssl),
            });
        }
        let mut flags = NdiscRouterFlags::EMPTY;
        if self.managed {
            flags = flags | NdiscRouterFlags::MANAGED;
        }
        if self.other {
            flags = flags | NdiscRouterFlags::OTHER;
        }
        let repr = NdiscRepr::RouterAdvert {
            cur_hop_limit: self.cur_hop_limit,
            flags,
            router_lifetime,
            reachable_time: 0,
            retrans_time: 0,
            options: NdiscOptions::List(&options),
        };
        let mut body = vec![0u8; repr.buffer_len()];
        // Config validation bounds every field (domain names, counts), so an
        // encoding failure is a bug; an empty body makes it visible in tests
        // without a panic on the packet path.
        if repr
            .emit(&mut Icmpv6Packet::new_unchecked(&mut body[..]))
            .is_err()
        {
            body.clear();
        }
        body
    }

    /// The ICMPv6 message as compiled (checksum zero), without the
    /// deprecated prefixes; senders use [`body_at`](Self::body_at).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The RA to send at `now`: the prebuilt body, or, while a prefix is
    /// deprecated, one encoded with its lifetimes as of `now`.
    pub fn body_at(&self, now: Instant) -> std::borrow::Cow<'_, [u8]> {
        if self.deprecated.is_empty() {
            std::borrow::Cow::Borrowed(&self.body)
        } else {
            std::borrow::Cow::Owned(self.encode_at(self.router_lifetime, now))
        }
    }

    /// Sets the prefixes being renumbered away (at most
    /// [`MAX_DEPRECATED_PREFIXES`], the ones ending last kept).
    pub fn set_deprecated(&mut self, mut deprecated: Vec<DeprecatedPrefix>) {
        deprecated.sort_by_key(|d| std::cmp::Reverse(d.valid_until));
        deprecated.truncate(MAX_DEPRECATED_PREFIXES);
        self.deprecated = deprecated;
    }
}

/// Deprecated prefixes per RA: an RA must fit the link MTU (IPv6 minimum
/// 1280), and each Prefix Information option takes 32 octets.
pub const MAX_DEPRECATED_PREFIXES: usize = 16;

#[cfg(test)]
impl RaContent {
    fn for_tests(prefixes: Vec<AdvPrefix>) -> RaContent {
        let mut c = RaContent {
            managed: false,
            other: false,
            cur_hop_limit: 64,
            router_lifetime: 1800,
            mtu: 1500,
            source_mac: EthernetAddress([0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01]),
            prefixes,
            rdnss: Vec::new(),
            dnssl: Vec::new(),
            dns_lifetime: 1800,
            deprecated: Vec::new(),
            body: Vec::new(),
        };
        c.body = c.encode(c.router_lifetime);
        c
    }
}

/// Per-interface RA timing state, owned by the worker that runs timers.
#[derive(Debug, Clone)]
pub struct RaTimer {
    /// When the next multicast RA is due.
    pub next_multicast: Instant,
    /// Initial fast RAs still to send.
    initial_left: u8,
    /// When the last multicast RA went out.
    last_multicast: Option<Instant>,
    /// Bound on solicited unicast RAs.
    solicited: TokenBucket,
}

impl RaTimer {
    /// A timer that sends its first RA at `now`.
    pub fn new(now: Instant) -> RaTimer {
        RaTimer {
            next_multicast: now,
            initial_left: MAX_INITIAL_RTR_ADVERTISEMENTS,
            last_multicast: None,
            solicited: TokenBucket::new(SOLICITED_RA_BURST, SOLICITED_RA_PER_SECOND),
        }
    }

    /// Records a multicast RA sent at `now` and schedules the next one.
    pub fn sent_multicast(&mut self, now: Instant, min: Duration, max: Duration, rng: &mut Rng) {
        self.last_multicast = Some(now);
        let lo = u64::try_from(min.as_millis()).unwrap_or(u64::MAX);
        let hi = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
        let mut interval = Duration::from_millis(rng.range_inclusive(lo, hi));
        if self.initial_left > 0 {
            self.initial_left -= 1;
            interval = interval.min(MAX_INITIAL_RTR_ADVERT_INTERVAL);
        }
        self.next_multicast = now + interval;
    }

    /// An RS from the unspecified address: bring the next multicast RA
    /// forward (RFC 4861 §6.2.6).
    pub fn solicited_multicast(&mut self, now: Instant, rng: &mut Rng) {
        let delay = Duration::from_millis(rng.range_inclusive(
            0,
            u64::try_from(MAX_RA_DELAY_TIME.as_millis()).unwrap_or(500),
        ));
        let mut at = now + delay;
        if let Some(last) = self.last_multicast {
            at = at.max(last + MIN_DELAY_BETWEEN_RAS);
        }
        if at < self.next_multicast {
            self.next_multicast = at;
        }
    }

    /// Whether a solicited unicast RA may go out now.
    pub fn allow_unicast(&mut self, now: Instant) -> bool {
        self.solicited.try_take(now)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::config::delegation::{pd_subnet_names, subnet_prefixes};
    use crate::engine::compiled::{CompiledConfig, LinkInfo, Renumbering};

    /// (prefix, len, flags, valid, preferred) of each Prefix Information
    /// option of an RA body.
    fn pios(body: &[u8]) -> Vec<(Ipv6Addr, u8, u8, u32, u32)> {
        let mut out = Vec::new();
        let mut rest = &body[16..];
        while rest.len() >= 8 {
            let len = usize::from(rest[1]) * 8;
            if rest[0] == 3 {
                let o = &rest[..32];
                let prefix: [u8; 16] = o[16..32].try_into().unwrap();
                out.push((
                    Ipv6Addr::from(prefix),
                    o[2],
                    o[3],
                    u32::from_be_bytes(o[4..8].try_into().unwrap()),
                    u32::from_be_bytes(o[8..12].try_into().unwrap()),
                ));
            }
            rest = &rest[len..];
        }
        out
    }

    fn net(s: &str) -> ipnet::Ipv6Net {
        s.parse().unwrap()
    }

    fn example() -> Config {
        Config::from_toml_str(include_str!("../../examples/prefix-delegation.toml")).unwrap()
    }

    /// The talk's PD config numbered from `delegated`, compiled with
    /// `renumbering`; qr0's RA.
    fn qr0_ra(config: &Config, delegated: Option<&str>, renumbering: &Renumbering) -> RaContent {
        let assigned = delegated
            .map(|d| subnet_prefixes(net(d), &pd_subnet_names(config)).assigned)
            .unwrap_or_default();
        let derived = config.with_delegated_prefixes(&assigned);
        derived.validate().unwrap();
        let links = LinkInfo::synthetic(&derived);
        let compiled = CompiledConfig::build_with(&derived, &links, renumbering).unwrap();
        compiled.iface_by_name("qr0").unwrap().ra.clone().unwrap()
    }

    const L_A: u8 = 0xc0;

    #[test]
    fn the_delegated_prefix_is_advertised_as_in_the_talk() {
        let ra = qr0_ra(
            &example(),
            Some("2001:db8:face:6bc3::/64"),
            &Renumbering::default(),
        );
        assert_eq!(
            pios(ra.body()),
            [(
                "2001:db8:face:6bc3::".parse().unwrap(),
                64,
                L_A,
                PREFIX_VALID_LIFETIME,
                PREFIX_PREFERRED_LIFETIME
            )]
        );
        // Nothing deprecated: the prebuilt body, not a new encoding.
        assert!(matches!(
            ra.body_at(Instant::from_secs(5)),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn a_replaced_prefix_is_deprecated_and_counts_down() {
        let config = example();
        let names = pd_subnet_names(&config);
        let old = subnet_prefixes(net("2001:db8:face:6bc3::/64"), &names).assigned;
        let new = subnet_prefixes(net("2001:db8:face:77::/64"), &names).assigned;
        let t = Instant::from_secs(10_000);
        let mut renumbering = Renumbering::default();
        // The old delegation had 7200 s left.
        renumbering.deprecate_changes(&config, &old, &new, t + Duration::from_secs(7200));
        let ra = qr0_ra(&config, Some("2001:db8:face:77::/64"), &renumbering);
        let old_addr: Ipv6Addr = "2001:db8:face:6bc3::".parse().unwrap();
        let new_addr: Ipv6Addr = "2001:db8:face:77::".parse().unwrap();
        let new_pio = (
            new_addr,
            64,
            L_A,
            PREFIX_VALID_LIFETIME,
            PREFIX_PREFERRED_LIFETIME,
        );
        // Capped at ND_VALID_LIMIT while more is left.
        assert_eq!(
            pios(&ra.body_at(t)),
            [new_pio, (old_addr, 64, L_A, ND_VALID_LIMIT, 0)]
        );
        // Two RAs later the valid lifetime has gone down.
        let t2 = t + Duration::from_secs(7000);
        assert_eq!(
            pios(&ra.body_at(t2)),
            [new_pio, (old_addr, 64, L_A, 200, 0)]
        );
        let t3 = t2 + Duration::from_secs(150);
        assert_eq!(pios(&ra.body_at(t3)), [new_pio, (old_addr, 64, L_A, 50, 0)]);
        // Expired: gone, without a rebuild.
        let t4 = t + Duration::from_secs(7200);
        assert_eq!(pios(&ra.body_at(t4)), [new_pio]);
        // The rest of the RA is what it was: same body apart from the PIO.
        assert_eq!(&*ra.body_at(t4), ra.body());
        renumbering.prune(t4);
        assert!(renumbering.deprecated.is_empty());
    }

    #[test]
    fn a_lost_prefix_is_advertised_deprecated_until_it_runs_out() {
        let config = example();
        let old =
            subnet_prefixes(net("2001:db8:face:6bc3::/64"), &pd_subnet_names(&config)).assigned;
        let t = Instant::from_secs(50);
        let mut renumbering = Renumbering::default();
        renumbering.deprecate_changes(&config, &old, &[], t + Duration::from_secs(600));
        // No delegated prefix now: the subnet has none of its own.
        let ra = qr0_ra(&config, None, &renumbering);
        assert!(ra.prefixes.is_empty());
        let old_addr: Ipv6Addr = "2001:db8:face:6bc3::".parse().unwrap();
        assert_eq!(pios(&ra.body_at(t)), [(old_addr, 64, L_A, 600, 0)]);
        assert_eq!(
            pios(&ra.body_at(t + Duration::from_secs(599))),
            [(old_addr, 64, L_A, 1, 0)]
        );
        assert_eq!(pios(&ra.body_at(t + Duration::from_secs(600))), []);
        // The same prefix delegated again: no longer deprecated.
        let again = old.clone();
        renumbering.deprecate_changes(&config, &[], &again, t);
        assert!(renumbering.deprecated.is_empty());
    }

    #[test]
    fn a_deprecated_prefix_that_is_current_is_not_repeated() {
        let mut ra = RaContent::for_tests(vec![AdvPrefix {
            prefix: "2001:db8:1::".parse().unwrap(),
            len: 64,
            on_link: true,
            autonomous: true,
            valid_lifetime: 100,
            preferred_lifetime: 50,
        }]);
        let until = Instant::from_secs(1000);
        let entry = |p: &str| DeprecatedPrefix {
            prefix: net(p),
            on_link: true,
            autonomous: false,
            valid_until: until,
        };
        ra.set_deprecated(vec![entry("2001:db8:1::/64"), entry("2001:db8:2::/64")]);
        assert_eq!(
            pios(&ra.body_at(Instant::ZERO)),
            [
                ("2001:db8:1::".parse().unwrap(), 64, L_A, 100, 50),
                ("2001:db8:2::".parse().unwrap(), 64, 0x80, 1000, 0),
            ]
        );
        // Bounded.
        ra.set_deprecated(
            (0..100u16)
                .map(|i| entry(&format!("2001:db8:{i:x}::/64")))
                .collect(),
        );
        assert_eq!(ra.deprecated.len(), MAX_DEPRECATED_PREFIXES);
    }
}
