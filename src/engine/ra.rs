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
        let mut options: Vec<NdiscOption<'_>> = Vec::with_capacity(4 + self.prefixes.len());
        options.push(NdiscOption::SourceLinkLayerAddr(self.source_mac));
        options.push(NdiscOption::Mtu(self.mtu));
        for p in &self.prefixes {
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

    /// The ICMPv6 message as compiled (checksum zero).
    pub fn body(&self) -> &[u8] {
        &self.body
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
