//! Derived semantics of a validated config: what the engine acts on.
//!
//! The schema keeps what the operator wrote; this module turns it into the
//! values the data plane needs, in one place, so that the RA sender, the
//! DHCPv6 server and `routelet check` can never disagree:
//!
//! - [`Subnet::prefix`], [`Subnet::effective_gateway`] and
//!   [`Subnet::effective_pools`] apply Neutron's defaults (gateway = the
//!   CIDR's first host; pool = the CIDR minus the gateway, the subnet-router
//!   anycast address (RFC 4291 §2.6.1) and the top address, or for IPv4 minus
//!   network and broadcast).
//! - [`Subnet::ra_policy`] and [`Subnet::dhcpv6_service`] are Neutron's
//!   `ipv6_ra_mode` × `ipv6_address_mode` table (DESIGN.md "Semantics") as
//!   values: the RA M/O flags (RFC 4861 §4.2) and the prefix L/A flags
//!   (RFC 4861 §4.6.2), and which DHCPv6 service (RFC 8415 §6.1 stateless,
//!   §6.2 stateful) the router runs.
//! - [`SecurityGroupRule::ip_protocol`] resolves Neutron's protocol names.
//!
//! Contract: these functions never panic, whatever the config holds; on a
//! config that did not pass [`Config::validate`](super::Config::validate)
//! they still return *something* (documented per function), but only a
//! validated config gives meaningful answers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::schema::{
    AllocationPool, Ethertype, Interface, Ipv6Mode, Port, SecurityGroupRule, Subnet,
};
use crate::wire::EthernetAddress;

/// What the router puts in its Router Advertisements for one subnet.
///
/// `managed`/`other` are the RA header's M and O flags (RFC 4861 §4.2);
/// `on_link`/`autonomous` are the L and A flags of the subnet's Prefix
/// Information option (RFC 4861 §4.6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RaPolicy {
    /// M: addresses come from DHCPv6 (stateful).
    pub managed: bool,
    /// O: other configuration (DNS, search list) comes from DHCPv6.
    pub other: bool,
    /// L: the prefix is on-link.
    pub on_link: bool,
    /// A: hosts may form addresses from the prefix by SLAAC (RFC 4862).
    pub autonomous: bool,
}

/// Which DHCPv6 server the router runs for one subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dhcpv6Service {
    /// No server: addresses by SLAAC, or DHCPv6 is someone else's job.
    None,
    /// Information-Request → Reply with DNS servers and search list
    /// (RFC 8415 §6.1).
    Stateless,
    /// IA_NA leases from the subnet's pools, reservations by port MAC
    /// (RFC 8415 §6.2).
    Stateful,
}

impl Dhcpv6Service {
    /// Short name for `routelet check` and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Dhcpv6Service::None => "none",
            Dhcpv6Service::Stateless => "stateless",
            Dhcpv6Service::Stateful => "stateful",
        }
    }
}

/// A security-group rule's protocol, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleProtocol {
    /// No `protocol` key: every protocol.
    Any,
    /// An IP protocol number (IPv4 protocol / IPv6 next header).
    Number(u8),
}

/// IANA protocol numbers used below.
pub(crate) const PROTO_ICMP: u8 = 1;
pub(crate) const PROTO_TCP: u8 = 6;
pub(crate) const PROTO_UDP: u8 = 17;
pub(crate) const PROTO_ICMPV6: u8 = 58;
pub(crate) const PROTO_SCTP: u8 = 132;

impl SecurityGroupRule {
    /// The rule's protocol as a number, Neutron's way: `icmp` means ICMPv6
    /// (58) when `ethertype` is IPv6; `ipv6-icmp` and `icmpv6` are 58; a
    /// decimal number 0..=255 is taken as is. `None`: the text is none of
    /// these (validation reports it).
    pub fn ip_protocol(&self) -> Option<RuleProtocol> {
        let Some(text) = self.protocol.as_deref() else {
            return Some(RuleProtocol::Any);
        };
        let n = match text {
            "tcp" => PROTO_TCP,
            "udp" => PROTO_UDP,
            "sctp" => PROTO_SCTP,
            "icmp" => match self.ethertype {
                Ethertype::IPv4 => PROTO_ICMP,
                Ethertype::IPv6 => PROTO_ICMPV6,
            },
            "ipv6-icmp" | "icmpv6" => PROTO_ICMPV6,
            _ => {
                // Digits only: "+6" or " 6" are not protocol numbers.
                if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                text.parse::<u8>().ok()?
            }
        };
        Some(RuleProtocol::Number(n))
    }
}

impl Interface {
    /// The configured MAC as a value; `None` when absent (use the
    /// interface's own) or not a valid MAC (validation reports it).
    pub fn parsed_mac(&self) -> Option<EthernetAddress> {
        self.mac.as_deref()?.parse().ok()
    }
}

impl Port {
    /// The port's MAC as a value; `None` when the text is not a valid MAC
    /// (validation reports it).
    pub fn parsed_mac(&self) -> Option<EthernetAddress> {
        self.mac.parse().ok()
    }
}

impl Subnet {
    /// The subnet's prefix: `cidr` with any host bits cleared. `None` for a
    /// prefix-delegation subnet, whose prefix is only known at run time.
    pub fn prefix(&self) -> Option<IpNet> {
        self.cidr.map(|c| c.trunc())
    }

    /// `gateway_ip`, or else the CIDR's first host (network + 1), as
    /// Neutron defaults it. `None` for a PD subnet without a prefix yet or a
    /// CIDR with no room for a host (/32, /128).
    pub fn effective_gateway(&self) -> Option<IpAddr> {
        if let Some(gw) = self.gateway_ip {
            return Some(gw);
        }
        let net = self.prefix()?;
        if net.prefix_len() >= net.max_prefix_len() {
            return None;
        }
        offset(net.network(), 1)
    }

    /// `allocation_pools` if given; otherwise Neutron's default pool: the
    /// CIDR from network + 1 to the last address − 1 (for IPv6 that leaves
    /// out the subnet-router anycast address and the all-ones address, for
    /// IPv4 the network and broadcast addresses), minus the gateway, so one
    /// or two ranges. For 2001:db8:cafe::/64 with gateway ::1 that is
    /// `2001:db8:cafe::2 - 2001:db8:cafe:0:ffff:ffff:ffff:fffe`, as the
    /// talk's `neutron subnet-create` output shows. Empty when the CIDR has
    /// no room (or for a PD subnet, whose pool follows the delegated prefix).
    pub fn effective_pools(&self) -> Vec<AllocationPool> {
        if !self.allocation_pools.is_empty() {
            return self.allocation_pools.clone();
        }
        let Some(net) = self.prefix() else {
            return Vec::new();
        };
        let (Some(first), Some(last)) = (offset(net.network(), 1), offset(net.broadcast(), -1))
        else {
            return Vec::new();
        };
        if to_u128(first) > to_u128(last) {
            return Vec::new();
        }
        let gw = self.effective_gateway().filter(|g| {
            g.is_ipv4() == first.is_ipv4()
                && to_u128(*g) >= to_u128(first)
                && to_u128(*g) <= to_u128(last)
        });
        let Some(gw) = gw else {
            return vec![AllocationPool {
                start: first,
                end: last,
            }];
        };
        let mut pools = Vec::with_capacity(2);
        if let Some(before) = offset(gw, -1).filter(|_| gw != first) {
            pools.push(AllocationPool {
                start: first,
                end: before,
            });
        }
        if let Some(after) = offset(gw, 1).filter(|_| gw != last) {
            pools.push(AllocationPool {
                start: after,
                end: last,
            });
        }
        pools
    }

    /// The RA this router sends for the subnet, from Neutron's table:
    ///
    /// | ipv6_ra_mode | RA |
    /// |---|---|
    /// | slaac | M=0 O=0, prefix L=1 A=1 |
    /// | dhcpv6-stateless | M=0 O=1, prefix L=1 A=1 |
    /// | dhcpv6-stateful | M=1 O=0, prefix L=1 A=0 |
    /// | absent | none: an external router advertises |
    ///
    /// Only `ipv6_ra_mode` decides; when both modes are set they must be
    /// equal (validation), so the address mode adds nothing. IPv4 subnets:
    /// `None`.
    pub fn ra_policy(&self) -> Option<RaPolicy> {
        if self.ip_version != 6 {
            return None;
        }
        let policy = match self.ipv6_ra_mode? {
            Ipv6Mode::Slaac => RaPolicy {
                managed: false,
                other: false,
                on_link: true,
                autonomous: true,
            },
            Ipv6Mode::Dhcpv6Stateless => RaPolicy {
                managed: false,
                other: true,
                on_link: true,
                autonomous: true,
            },
            Ipv6Mode::Dhcpv6Stateful => RaPolicy {
                managed: true,
                other: false,
                on_link: true,
                autonomous: false,
            },
        };
        Some(policy)
    }

    /// The DHCPv6 server the router runs for the subnet, from Neutron's
    /// table: `ipv6_address_mode` dhcpv6-stateless → Information-Request
    /// service, dhcpv6-stateful → IA_NA leases; slaac or absent → none
    /// (with `ipv6_ra_mode` alone set, "none (external)": another server
    /// answers). IPv4 subnets: `None`.
    pub fn dhcpv6_service(&self) -> Dhcpv6Service {
        if self.ip_version != 6 {
            return Dhcpv6Service::None;
        }
        match self.ipv6_address_mode {
            Some(Ipv6Mode::Dhcpv6Stateless) => Dhcpv6Service::Stateless,
            Some(Ipv6Mode::Dhcpv6Stateful) => Dhcpv6Service::Stateful,
            Some(Ipv6Mode::Slaac) | None => Dhcpv6Service::None,
        }
    }
}

/// An address as a number, for range arithmetic (IPv4 in the low 32 bits).
pub(crate) fn to_u128(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// `addr + delta` within its own family; `None` on wrap-around.
pub(crate) fn offset(addr: IpAddr, delta: i8) -> Option<IpAddr> {
    let step = u128::from(delta.unsigned_abs());
    let apply = |n: u128| {
        if delta >= 0 {
            n.checked_add(step)
        } else {
            n.checked_sub(step)
        }
    };
    match addr {
        IpAddr::V4(a) => {
            let n = apply(u128::from(u32::from(a)))?;
            Some(IpAddr::V4(Ipv4Addr::from(u32::try_from(n).ok()?)))
        }
        IpAddr::V6(a) => Some(IpAddr::V6(Ipv6Addr::from(apply(u128::from(a))?))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn subnet(version: u8, cidr: &str, ra: Option<Ipv6Mode>, addr: Option<Ipv6Mode>) -> Subnet {
        Subnet {
            name: "s".into(),
            ip_version: version,
            cidr: Some(cidr.parse().unwrap()),
            gateway_ip: None,
            ipv6_ra_mode: ra,
            ipv6_address_mode: addr,
            allocation_pools: Vec::new(),
            dns_nameservers: Vec::new(),
            domain_search: Vec::new(),
            use_prefix_delegation: false,
            dhcpv6: None,
        }
    }

    fn v6(ra: Option<Ipv6Mode>, addr: Option<Ipv6Mode>) -> Subnet {
        subnet(6, "2001:db8:cafe::/64", ra, addr)
    }

    const SLAAC_RA: RaPolicy = RaPolicy {
        managed: false,
        other: false,
        on_link: true,
        autonomous: true,
    };
    const STATELESS_RA: RaPolicy = RaPolicy {
        managed: false,
        other: true,
        on_link: true,
        autonomous: true,
    };
    const STATEFUL_RA: RaPolicy = RaPolicy {
        managed: true,
        other: false,
        on_link: true,
        autonomous: false,
    };

    use Ipv6Mode::{Dhcpv6Stateful as Full, Dhcpv6Stateless as Less, Slaac};

    #[test]
    fn mode_table_slaac_ra_alone() {
        // ra slaac, address absent: RA M=0 O=0 L=1 A=1, no DHCPv6.
        let s = v6(Some(Slaac), None);
        assert_eq!(s.ra_policy(), Some(SLAAC_RA));
        assert_eq!(s.dhcpv6_service(), Dhcpv6Service::None);
    }

    #[test]
    fn mode_table_slaac_both() {
        // ra slaac, address slaac: same as above.
        let s = v6(Some(Slaac), Some(Slaac));
        assert_eq!(s.ra_policy(), Some(SLAAC_RA));
        assert_eq!(s.dhcpv6_service(), Dhcpv6Service::None);
    }

    #[test]
    fn mode_table_slaac_address_alone() {
        // ra absent, address slaac: an external router advertises.
        let s = v6(None, Some(Slaac));
        assert_eq!(s.ra_policy(), None);
        assert_eq!(s.dhcpv6_service(), Dhcpv6Service::None);
    }

    #[test]
    fn mode_table_stateless_ra_alone() {
        // ra stateless, address absent: M=0 O=1 A=1, external server.
        let s = v6(Some(Less), None);
        assert_eq!(s.ra_policy(), Some(STATELESS_RA));
        assert_eq!(s.dhcpv6_service(), Dhcpv6Service::None);
    }

    #[test]
    fn mode_table_stateless_address_alone() {
        // ra absent, address stateless: no RA, Information-Request server.
        let s = v6(None, Some(Less));
        assert_eq!(s.ra_policy(), None);
        assert_eq!(s.dhcpv6_service(), Dhcpv6Service::Stateless);
    }

    #[test]
    fn mode_table_stateless_both() {
        // ra stateless, address stateless: RA O=1, Information-Request server.
        let s = v6(Some(Less), Some(Less));
        assert_eq!(s.ra_policy(), Some(STATELESS_RA));
        assert_eq!(s.dhcpv6_service(), Dhcpv6Service::Stateless);
    }

    #[test]
    fn mode_table_stateful_ra_alone() {
        // ra stateful, address absent: M=1 O=0 L=1 A=0, external server.
        let s = v6(Some(Full), None);
        assert_eq!(s.ra_policy(), Some(STATEFUL_RA));
        assert_eq!(s.dhcpv6_service(), Dhcpv6Service::None);
    }

    #[test]
    fn mode_table_stateful_address_alone() {
        // ra absent, address stateful: no RA, IA_NA server.
        let s = v6(None, Some(Full));
        assert_eq!(s.ra_policy(), None);
        assert_eq!(s.dhcpv6_service(), Dhcpv6Service::Stateful);
    }

    #[test]
    fn mode_table_stateful_both() {
        // ra stateful, address stateful: RA M=1, IA_NA server.
        let s = v6(Some(Full), Some(Full));
        assert_eq!(s.ra_policy(), Some(STATEFUL_RA));
        assert_eq!(s.dhcpv6_service(), Dhcpv6Service::Stateful);
    }

    #[test]
    fn mode_table_neither() {
        let s = v6(None, None);
        assert_eq!(s.ra_policy(), None);
        assert_eq!(s.dhcpv6_service(), Dhcpv6Service::None);
        let s4 = subnet(4, "198.51.100.0/24", None, None);
        assert_eq!(s4.ra_policy(), None);
        assert_eq!(s4.dhcpv6_service(), Dhcpv6Service::None);
    }

    #[test]
    fn prefix_truncates() {
        let s = subnet(6, "2001:db8:cafe::5/64", None, None);
        assert_eq!(s.prefix(), Some("2001:db8:cafe::/64".parse().unwrap()));
        let mut pd = v6(Some(Slaac), Some(Slaac));
        pd.cidr = None;
        assert_eq!(pd.prefix(), None);
        assert_eq!(pd.effective_gateway(), None);
        assert!(pd.effective_pools().is_empty());
    }

    #[test]
    fn gateway_defaults_to_first_host() {
        let s = v6(Some(Slaac), None);
        assert_eq!(
            s.effective_gateway(),
            Some("2001:db8:cafe::1".parse().unwrap())
        );
        let s4 = subnet(4, "198.51.100.0/24", None, None);
        assert_eq!(
            s4.effective_gateway(),
            Some("198.51.100.1".parse().unwrap())
        );
        let mut given = s4.clone();
        given.gateway_ip = Some("198.51.100.254".parse().unwrap());
        assert_eq!(
            given.effective_gateway(),
            Some("198.51.100.254".parse().unwrap())
        );
        let host = subnet(6, "2001:db8::1/128", None, None);
        assert_eq!(host.effective_gateway(), None);
    }

    #[test]
    fn default_pool_v6_as_the_talk_shows() {
        // neutron subnet-create ... 2001:db8:cafe::/64 →
        // {"start": "2001:db8:cafe::2", "end": "2001:db8:cafe:0:ffff:ffff:ffff:fffe"}
        let s = v6(Some(Slaac), Some(Slaac));
        assert_eq!(
            s.effective_pools(),
            vec![AllocationPool {
                start: "2001:db8:cafe::2".parse().unwrap(),
                end: "2001:db8:cafe:0:ffff:ffff:ffff:fffe".parse().unwrap(),
            }]
        );
    }

    #[test]
    fn default_pool_v4_leaves_out_network_broadcast_gateway() {
        let s = subnet(4, "198.51.100.0/24", None, None);
        assert_eq!(
            s.effective_pools(),
            vec![AllocationPool {
                start: "198.51.100.2".parse().unwrap(),
                end: "198.51.100.254".parse().unwrap(),
            }]
        );
    }

    #[test]
    fn default_pool_split_around_gateway() {
        let mut s = subnet(4, "198.51.100.0/24", None, None);
        s.gateway_ip = Some("198.51.100.100".parse().unwrap());
        let pools = s.effective_pools();
        assert_eq!(pools.len(), 2);
        assert_eq!(pools[0].start, "198.51.100.1".parse::<IpAddr>().unwrap());
        assert_eq!(pools[0].end, "198.51.100.99".parse::<IpAddr>().unwrap());
        assert_eq!(pools[1].start, "198.51.100.101".parse::<IpAddr>().unwrap());
        assert_eq!(pools[1].end, "198.51.100.254".parse::<IpAddr>().unwrap());
        // Gateway at the top of the range: one pool below it.
        s.gateway_ip = Some("198.51.100.254".parse().unwrap());
        assert_eq!(
            s.effective_pools(),
            vec![AllocationPool {
                start: "198.51.100.1".parse().unwrap(),
                end: "198.51.100.253".parse().unwrap(),
            }]
        );
    }

    #[test]
    fn default_pool_tiny_prefixes() {
        // /31 and /32: no room once network and last are left out.
        assert!(subnet(4, "198.51.100.0/31", None, None)
            .effective_pools()
            .is_empty());
        assert!(subnet(4, "198.51.100.7/32", None, None)
            .effective_pools()
            .is_empty());
        assert!(subnet(6, "2001:db8::/128", None, None)
            .effective_pools()
            .is_empty());
        // /30: hosts .5 and .6, gateway .5 → pool .6 only.
        assert_eq!(
            subnet(4, "198.51.100.4/30", None, None).effective_pools(),
            vec![AllocationPool {
                start: "198.51.100.6".parse().unwrap(),
                end: "198.51.100.6".parse().unwrap(),
            }]
        );
    }

    #[test]
    fn explicit_pools_win() {
        let mut s = v6(Some(Full), Some(Full));
        let pool = AllocationPool {
            start: "2001:db8:cafe::10".parse().unwrap(),
            end: "2001:db8:cafe::20".parse().unwrap(),
        };
        s.allocation_pools = vec![pool];
        assert_eq!(s.effective_pools(), vec![pool]);
    }

    #[test]
    fn protocols_resolve() {
        let mut r = SecurityGroupRule {
            direction: super::super::Direction::Ingress,
            ethertype: Ethertype::IPv6,
            protocol: None,
            port_range_min: None,
            port_range_max: None,
            remote_ip_prefix: None,
            remote_group: None,
        };
        assert_eq!(r.ip_protocol(), Some(RuleProtocol::Any));
        for (text, n) in [
            ("tcp", 6),
            ("udp", 17),
            ("sctp", 132),
            ("icmp", 58),
            ("ipv6-icmp", 58),
            ("icmpv6", 58),
            ("47", 47),
            ("0", 0),
            ("255", 255),
        ] {
            r.protocol = Some(text.into());
            assert_eq!(r.ip_protocol(), Some(RuleProtocol::Number(n)), "{text}");
        }
        r.ethertype = Ethertype::IPv4;
        r.protocol = Some("icmp".into());
        assert_eq!(r.ip_protocol(), Some(RuleProtocol::Number(1)));
        for bad in ["256", "-1", "+6", "", "TCP", "gre"] {
            r.protocol = Some(bad.into());
            assert_eq!(r.ip_protocol(), None, "{bad}");
        }
    }

    #[test]
    fn macs_parse() {
        let mut i = Interface {
            name: "qr0".into(),
            subnets: Vec::new(),
            external: false,
            addresses: Vec::new(),
            mac: None,
            mtu: None,
        };
        assert_eq!(i.parsed_mac(), None);
        i.mac = Some("fa:16:3e:11:11:01".into());
        assert_eq!(
            i.parsed_mac(),
            Some(EthernetAddress([0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01]))
        );
        i.mac = Some("fa:16:3e:11:11".into());
        assert_eq!(i.parsed_mac(), None);
        let p = Port {
            name: "vm1".into(),
            mac: "fa:16:3e:79:5a:cc".into(),
            fixed_ips: Vec::new(),
            security_groups: None,
            allowed_address_pairs: Vec::new(),
            port_security_enabled: true,
        };
        assert_eq!(
            p.parsed_mac(),
            Some(EthernetAddress([0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc]))
        );
    }

    #[test]
    fn offset_wraps_to_none() {
        let top: IpAddr = "255.255.255.255".parse().unwrap();
        assert_eq!(offset(top, 1), None);
        let zero: IpAddr = "::".parse().unwrap();
        assert_eq!(offset(zero, -1), None);
        assert_eq!(offset(zero, 1), Some("::1".parse().unwrap()));
    }
}
