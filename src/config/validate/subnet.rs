//! `[[subnet]]`: version, modes, CIDR, gateway, pools, DNS, prefix
//! delegation, and overlaps between subnets.
//!
//! Rules: ip_version 4 or 6 and equal to the CIDR's; no host bits;
//! IPv6 modes only on IPv6 and equal when both set; SLAAC and
//! DHCPv6-stateless need a /64 (RFC 4862 §5.5.3 with 64-bit interface
//! IDs); gateway inside the CIDR and not the network / broadcast (IPv4)
//! or subnet-router anycast (IPv6, RFC 4291 §2.6.1) address; pools of the
//! subnet's version, start ≤ end, inside the usable range, not holding the
//! gateway, not overlapping; DNS servers of the subnet's version (RDNSS,
//! RFC 8106, and DHCPv6 carry IPv6 only); search domains valid DNS names
//! (RFC 1123 labels); prefix delegation only on IPv6, without
//! cidr/gateway/pools, with a `[prefix_delegation]` section; subnets do
//! not overlap one another.

use std::collections::HashSet;

use ipnet::IpNet;

use super::{family, family_of, overlaps, reserved_address, Validator};
use crate::config::derive::{offset, to_u128};
use crate::config::{AllocationPool, Dhcpv6Settings, Ipv6Mode, ItemKind, Subnet};
use crate::wire::dns;

impl<'a> Validator<'a> {
    /// DHCPv6 lifetimes and timers (RFC 8415 §21.4, §21.6): a valid
    /// lifetime of at least 1 s, preferred ≤ valid, T1 ≤ T2 ≤ preferred.
    pub(super) fn dhcpv6_timers(&mut self, kind: ItemKind, name: &str, d: &Dhcpv6Settings) {
        if d.valid_lifetime == 0 {
            self.err(
                kind,
                name,
                "dhcpv6 valid_lifetime must be at least 1 second".into(),
            );
        }
        if d.preferred_lifetime > d.valid_lifetime {
            self.err(
                kind,
                name,
                format!(
                    "dhcpv6 preferred_lifetime {} is longer than valid_lifetime {}",
                    d.preferred_lifetime, d.valid_lifetime
                ),
            );
        }
        let (t1, t2) = (d.t1(), d.t2());
        if t1 > t2 || t2 > d.preferred_lifetime.max(1) {
            self.err(
                kind,
                name,
                format!(
                    "dhcpv6 renew_time {t1} / rebind_time {t2} must satisfy renew <= rebind <= preferred_lifetime ({})",
                    d.preferred_lifetime
                ),
            );
        }
    }

    /// One `[[subnet]]`: version, modes, CIDR or prefix delegation,
    /// gateway, then its pools and DNS.
    pub(super) fn subnet(&mut self, s: &'a Subnet) {
        let name = s.name.as_str();
        if let Some(d) = &s.dhcpv6 {
            self.dhcpv6_timers(ItemKind::Subnet, name, d);
        }
        let version = match s.ip_version {
            4 | 6 => Some(s.ip_version),
            other => {
                self.err(
                    ItemKind::Subnet,
                    name,
                    format!("ip_version must be 4 or 6, not {other}"),
                );
                None
            }
        };

        // IPv6 modes.
        if version == Some(4) {
            if s.ipv6_ra_mode.is_some() {
                self.err(
                    ItemKind::Subnet,
                    name,
                    "ipv6_ra_mode is only valid on ip_version 6 subnets".into(),
                );
            }
            if s.ipv6_address_mode.is_some() {
                self.err(
                    ItemKind::Subnet,
                    name,
                    "ipv6_address_mode is only valid on ip_version 6 subnets".into(),
                );
            }
        }
        if let (Some(ra), Some(addr)) = (s.ipv6_ra_mode, s.ipv6_address_mode) {
            if ra != addr {
                self.err(
                    ItemKind::Subnet,
                    name,
                    format!(
                        "ipv6_ra_mode \"{ra}\" and ipv6_address_mode \"{addr}\" must be equal when both are set"
                    ),
                );
            }
        }

        // Prefix delegation or a CIDR.
        if s.use_prefix_delegation {
            if version == Some(4) {
                self.err(
                    ItemKind::Subnet,
                    name,
                    "use_prefix_delegation needs ip_version 6".into(),
                );
            }
            for (present, key) in [
                (s.cidr.is_some(), "cidr"),
                (s.gateway_ip.is_some(), "gateway_ip"),
                (!s.allocation_pools.is_empty(), "allocation_pools"),
            ] {
                if present {
                    self.err(
                        ItemKind::Subnet,
                        name,
                        format!("use_prefix_delegation subnets leave out {key}: the prefix is delegated"),
                    );
                }
            }
            if self.cfg.prefix_delegation.is_none() {
                self.err(
                    ItemKind::Subnet,
                    name,
                    "use_prefix_delegation needs a [prefix_delegation] section".into(),
                );
            }
        } else if s.cidr.is_none() {
            self.err(
                ItemKind::Subnet,
                name,
                "cidr is required unless use_prefix_delegation is set".into(),
            );
        }

        // SLAAC and stateless need /64 (delegated prefixes are /64 anyway).
        if let Some(cidr) = s.cidr {
            let slaac_like = [s.ipv6_ra_mode, s.ipv6_address_mode]
                .into_iter()
                .flatten()
                .find(|m| matches!(m, Ipv6Mode::Slaac | Ipv6Mode::Dhcpv6Stateless));
            if let Some(mode) = slaac_like {
                if cidr.addr().is_ipv6() && cidr.prefix_len() != 64 {
                    self.err(
                        ItemKind::Subnet,
                        name,
                        format!(
                            "{mode} needs a /64 cidr, not /{} (64-bit interface identifiers)",
                            cidr.prefix_len()
                        ),
                    );
                }
            }
        }

        let Some(cidr) = s.cidr else {
            self.subnet_dns(s, version);
            return;
        };
        let cidr_version = if cidr.addr().is_ipv4() { 4 } else { 6 };
        if let Some(v) = version {
            if v != cidr_version {
                self.err(
                    ItemKind::Subnet,
                    name,
                    format!(
                        "cidr {cidr} is {} but ip_version is {v}",
                        family(cidr_version)
                    ),
                );
            }
        }
        let net = cidr.trunc();
        if net != cidr {
            self.err(
                ItemKind::Subnet,
                name,
                format!("cidr {cidr} has host bits set (did you mean {net}?)"),
            );
        }

        // Gateway.
        if let Some(gw) = s.gateway_ip {
            if gw.is_ipv4() != net.addr().is_ipv4() {
                self.err(
                    ItemKind::Subnet,
                    name,
                    format!(
                        "gateway_ip {gw} is {} but cidr {net} is {}",
                        family_of(gw),
                        family_of(net.addr())
                    ),
                );
            } else if !net.contains(&gw) {
                self.err(
                    ItemKind::Subnet,
                    name,
                    format!("gateway_ip {gw} is outside cidr {net}"),
                );
            } else if let Some(what) = reserved_address(net, gw) {
                self.err(
                    ItemKind::Subnet,
                    name,
                    format!("gateway_ip {gw} is {what} of {net}"),
                );
            }
        }

        self.subnet_pools(s, net);
        self.subnet_dns(s, version);
    }

    /// The allocation pools of a subnet whose CIDR is `net`; a pool is
    /// checked for overlap against the earlier pools that had no error.
    pub(super) fn subnet_pools(&mut self, s: &Subnet, net: IpNet) {
        let name = s.name.as_str();
        let gateway = s.effective_gateway();
        // The usable range: everything but the reserved first/last address.
        let low = if reserved_address(net, net.network()).is_some() {
            offset(net.network(), 1)
        } else {
            Some(net.network())
        };
        let high = if reserved_address(net, net.broadcast()).is_some() {
            offset(net.broadcast(), -1)
        } else {
            Some(net.broadcast())
        };
        let mut good: Vec<AllocationPool> = Vec::new();
        for pool in &s.allocation_pools {
            let label = format!("allocation pool {}-{}", pool.start, pool.end);
            if pool.start.is_ipv4() != net.addr().is_ipv4()
                || pool.end.is_ipv4() != net.addr().is_ipv4()
            {
                self.err(
                    ItemKind::Subnet,
                    name,
                    format!("{label} is not {} like cidr {net}", family_of(net.addr())),
                );
                continue;
            }
            let (start, end) = (to_u128(pool.start), to_u128(pool.end));
            if start > end {
                self.err(
                    ItemKind::Subnet,
                    name,
                    format!("{label} starts after it ends"),
                );
                continue;
            }
            if !net.contains(&pool.start) || !net.contains(&pool.end) {
                self.err(
                    ItemKind::Subnet,
                    name,
                    format!("{label} is outside cidr {net}"),
                );
                continue;
            }
            let below = low.map_or(true, |l| start < to_u128(l));
            let above = high.map_or(true, |h| end > to_u128(h));
            if below || above {
                let addr = if below {
                    net.network()
                } else {
                    net.broadcast()
                };
                let what = reserved_address(net, addr).unwrap_or("a reserved address");
                self.err(
                    ItemKind::Subnet,
                    name,
                    format!("{label} holds {what} {addr}"),
                );
                continue;
            }
            if let Some(gw) = gateway {
                if gw.is_ipv4() == net.addr().is_ipv4() && (start..=end).contains(&to_u128(gw)) {
                    self.err(
                        ItemKind::Subnet,
                        name,
                        format!("{label} holds the gateway {gw}"),
                    );
                    continue;
                }
            }
            if let Some(other) = good
                .iter()
                .find(|o| to_u128(o.start) <= end && start <= to_u128(o.end))
            {
                let msg = format!(
                    "{label} overlaps allocation pool {}-{}",
                    other.start, other.end
                );
                self.err(ItemKind::Subnet, name, msg);
                continue;
            }
            good.push(*pool);
        }
    }

    /// DNS servers and search domains of a subnet.
    pub(super) fn subnet_dns(&mut self, s: &Subnet, version: Option<u8>) {
        let name = s.name.as_str();
        let mut seen = HashSet::new();
        for dns in &s.dns_nameservers {
            if let Some(v) = version {
                let dv = if dns.is_ipv4() { 4 } else { 6 };
                if dv != v {
                    let why = if v == 6 {
                        " (RDNSS and DHCPv6 carry IPv6 only)"
                    } else {
                        ""
                    };
                    self.err(
                        ItemKind::Subnet,
                        name,
                        format!(
                            "dns_nameserver {dns} is {} but the subnet is {}{why}",
                            family(dv),
                            family(v)
                        ),
                    );
                    continue;
                }
            }
            if !seen.insert(dns) {
                self.err(
                    ItemKind::Subnet,
                    name,
                    format!("dns_nameserver {dns} is listed twice"),
                );
            }
        }
        for domain in &s.domain_search {
            // RFC 1123 host-name labels: a search domain is typed by people.
            if let Err(why) = dns::check_host_name(domain) {
                self.err(
                    ItemKind::Subnet,
                    name,
                    format!("domain_search entry {domain:?} is not a valid DNS name: {why}"),
                );
            }
        }
    }

    /// Neutron refuses overlapping subnets on one router: a destination
    /// would be on two links.
    pub(super) fn subnet_overlaps(&mut self) {
        let nets: Vec<(&str, IpNet)> = self
            .cfg
            .subnets
            .iter()
            .filter_map(|s| Some((s.name.as_str(), s.prefix()?)))
            .collect();
        for (j, (name, net)) in nets.iter().enumerate() {
            if let Some((other, onet)) = nets.iter().take(j).find(|(_, o)| overlaps(o, net)) {
                let msg = format!("cidr {net} overlaps subnet {other:?} ({onet})");
                self.err(ItemKind::Subnet, name, msg);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::super::test_support::*;
    use crate::config::*;
    // ---- subnet: modes ----

    #[test]
    fn modes_must_be_equal() {
        let mut c = base();
        v6_sub(&mut c).ipv6_address_mode = Some(Ipv6Mode::Dhcpv6Stateful);
        assert_eq!(
            one_error(&c),
            "subnet \"v6-sub\": ipv6_ra_mode \"slaac\" and ipv6_address_mode \"dhcpv6-stateful\" must be equal when both are set"
        );
    }

    #[test]
    fn modes_only_on_v6() {
        let mut c = base();
        subnet(&mut c, "v4-sub").ipv6_ra_mode = Some(Ipv6Mode::Slaac);
        assert_one(
            &c,
            "subnet \"v4-sub\"",
            "ipv6_ra_mode is only valid on ip_version 6 subnets",
        );
        let mut c = base();
        subnet(&mut c, "v4-sub").ipv6_address_mode = Some(Ipv6Mode::Dhcpv6Stateful);
        assert_one(
            &c,
            "subnet \"v4-sub\"",
            "ipv6_address_mode is only valid on ip_version 6 subnets",
        );
    }

    #[test]
    fn slaac_needs_64() {
        let mut c = base();
        v6_sub(&mut c).cidr = Some(net("2001:db8:cafe:100::/56"));
        v6_sub(&mut c).gateway_ip = None;
        assert_one(&c, "subnet \"v6-sub\"", "slaac needs a /64 cidr, not /56");
    }

    #[test]
    fn stateless_needs_64() {
        let mut c = base();
        let s = v6_sub(&mut c);
        s.ipv6_ra_mode = None;
        s.ipv6_address_mode = Some(Ipv6Mode::Dhcpv6Stateless);
        s.cidr = Some(net("2001:db8:cafe::/80"));
        assert_one(
            &c,
            "subnet \"v6-sub\"",
            "dhcpv6-stateless needs a /64 cidr, not /80",
        );
    }

    #[test]
    fn stateful_may_be_any_length() {
        let mut c = base();
        let s = v6_sub(&mut c);
        s.ipv6_ra_mode = Some(Ipv6Mode::Dhcpv6Stateful);
        s.ipv6_address_mode = Some(Ipv6Mode::Dhcpv6Stateful);
        s.cidr = Some(net("2001:db8:cafe::/112"));
        assert_eq!(errors(&c), Vec::<String>::new());
    }

    // ---- subnet: version, cidr, gateway ----

    #[test]
    fn ip_version_4_or_6() {
        let mut c = base();
        subnet(&mut c, "v4-sub").ip_version = 5;
        assert_one(&c, "subnet \"v4-sub\"", "ip_version must be 4 or 6, not 5");
    }

    #[test]
    fn ip_version_matches_cidr() {
        let mut c = base();
        subnet(&mut c, "v4-sub").ip_version = 6;
        assert_one(
            &c,
            "subnet \"v4-sub\"",
            "cidr 198.51.100.0/24 is IPv4 but ip_version is 6",
        );
    }

    #[test]
    fn cidr_without_host_bits() {
        let mut c = base();
        subnet(&mut c, "v4-sub").cidr = Some(net("198.51.100.1/24"));
        assert_one(
            &c,
            "subnet \"v4-sub\"",
            "cidr 198.51.100.1/24 has host bits set (did you mean 198.51.100.0/24?)",
        );
    }

    #[test]
    fn gateway_inside_cidr() {
        let mut c = base();
        v6_sub(&mut c).gateway_ip = Some(ip("2001:db8:cafe:1::1"));
        assert_one(
            &c,
            "subnet \"v6-sub\"",
            "gateway_ip 2001:db8:cafe:1::1 is outside cidr",
        );
    }

    #[test]
    fn gateway_not_anycast() {
        let mut c = base();
        v6_sub(&mut c).gateway_ip = Some(ip("2001:db8:cafe::"));
        assert_one(
            &c,
            "subnet \"v6-sub\"",
            "is the subnet-router anycast address",
        );
    }

    #[test]
    fn gateway_not_broadcast() {
        let mut c = base();
        subnet(&mut c, "v4-sub").gateway_ip = Some(ip("198.51.100.255"));
        assert_one(&c, "subnet \"v4-sub\"", "is the broadcast address");
        let mut c = base();
        subnet(&mut c, "v4-sub").gateway_ip = Some(ip("198.51.100.0"));
        assert_one(&c, "subnet \"v4-sub\"", "is the network address");
    }

    #[test]
    fn gateway_version_matches() {
        let mut c = base();
        subnet(&mut c, "v4-sub").gateway_ip = Some(ip("2001:db8:cafe::1"));
        assert_one(
            &c,
            "subnet \"v4-sub\"",
            "gateway_ip 2001:db8:cafe::1 is IPv6",
        );
    }

    // ---- subnet: pools ----

    fn pool(start: &str, end: &str) -> AllocationPool {
        AllocationPool {
            start: ip(start),
            end: ip(end),
        }
    }

    #[test]
    fn pool_version_matches() {
        let mut c = base();
        subnet(&mut c, "v4-sub").allocation_pools = vec![pool("2001:db8:cafe::5", "198.51.100.9")];
        assert_one(&c, "subnet \"v4-sub\"", "is not IPv4 like cidr");
    }

    #[test]
    fn pool_start_before_end() {
        let mut c = base();
        subnet(&mut c, "v4-sub").allocation_pools = vec![pool("198.51.100.9", "198.51.100.5")];
        assert_one(
            &c,
            "subnet \"v4-sub\"",
            "allocation pool 198.51.100.9-198.51.100.5 starts after it ends",
        );
    }

    #[test]
    fn pool_inside_cidr() {
        let mut c = base();
        subnet(&mut c, "v4-sub").allocation_pools = vec![pool("198.51.100.5", "203.0.113.9")];
        assert_one(&c, "subnet \"v4-sub\"", "is outside cidr 198.51.100.0/24");
    }

    #[test]
    fn pool_not_holding_broadcast() {
        let mut c = base();
        subnet(&mut c, "v4-sub").allocation_pools = vec![pool("198.51.100.5", "198.51.100.255")];
        assert_one(
            &c,
            "subnet \"v4-sub\"",
            "holds the broadcast address 198.51.100.255",
        );
    }

    #[test]
    fn pool_not_holding_gateway() {
        let mut c = base();
        v6_sub(&mut c).allocation_pools = vec![pool("2001:db8:cafe::1", "2001:db8:cafe::ff")];
        assert_one(
            &c,
            "subnet \"v6-sub\"",
            "holds the gateway 2001:db8:cafe::1",
        );
    }

    #[test]
    fn pools_do_not_overlap() {
        let mut c = base();
        v6_sub(&mut c).allocation_pools = vec![
            pool("2001:db8:cafe::10", "2001:db8:cafe::20"),
            pool("2001:db8:cafe::20", "2001:db8:cafe::30"),
        ];
        assert_one(
            &c,
            "subnet \"v6-sub\"",
            "allocation pool 2001:db8:cafe::20-2001:db8:cafe::30 overlaps allocation pool 2001:db8:cafe::10-2001:db8:cafe::20",
        );
    }

    // ---- subnet: DNS ----

    #[test]
    fn dns_version_matches() {
        let mut c = base();
        v6_sub(&mut c).dns_nameservers = vec![ip("203.0.113.53")];
        assert_one(
            &c,
            "subnet \"v6-sub\"",
            "dns_nameserver 203.0.113.53 is IPv4 but the subnet is IPv6 (RDNSS and DHCPv6 carry IPv6 only)",
        );
    }

    #[test]
    fn dns_not_listed_twice() {
        let mut c = base();
        v6_sub(&mut c).dns_nameservers = vec![ip("2001:db8:cafe:a::e"), ip("2001:db8:cafe:a::e")];
        assert_one(&c, "subnet \"v6-sub\"", "listed twice");
    }

    #[test]
    fn domain_search_names_valid() {
        for (bad, why) in [
            ("open stack", "only letters, digits"),
            ("a..b", "empty label"),
            ("-a.example", "starts or ends with '-'"),
            (&"a".repeat(64), "longer than 63"),
            (&["abcdefghi"; 26].join("."), "longer than 253"),
            ("", "empty"),
        ] {
            let mut c = base();
            v6_sub(&mut c).domain_search = vec![bad.to_string()];
            assert_one(&c, "subnet \"v6-sub\"", why);
        }
        let mut c = base();
        v6_sub(&mut c).domain_search = vec!["openstacklocal.".into(), "a-1.example.org".into()];
        assert_eq!(errors(&c), Vec::<String>::new());
    }

    // ---- subnet: prefix delegation ----

    fn pd_subnet(c: &mut Config) -> &mut Subnet {
        let s = v6_sub(c);
        s.use_prefix_delegation = true;
        s.cidr = None;
        s.gateway_ip = None;
        s
    }

    #[test]
    fn pd_subnet_valid_with_section() {
        let mut c = base();
        pd_subnet(&mut c);
        c.prefix_delegation = Some(PrefixDelegation {
            interface: Some("qg0".into()),
            prefix_length: None,
        });
        assert_eq!(errors(&c), Vec::<String>::new());
    }

    #[test]
    fn pd_needs_section() {
        let mut c = base();
        pd_subnet(&mut c);
        assert_one(
            &c,
            "subnet \"v6-sub\"",
            "use_prefix_delegation needs a [prefix_delegation] section",
        );
    }

    #[test]
    fn pd_leaves_out_cidr() {
        let mut c = base();
        pd_subnet(&mut c).cidr = Some(net("2001:db8:cafe::/64"));
        c.prefix_delegation = Some(PrefixDelegation {
            interface: None,
            prefix_length: None,
        });
        assert_one(
            &c,
            "subnet \"v6-sub\"",
            "use_prefix_delegation subnets leave out cidr",
        );
    }

    #[test]
    fn pd_leaves_out_gateway_and_pools() {
        let mut c = base();
        let s = pd_subnet(&mut c);
        s.gateway_ip = Some(ip("2001:db8:cafe::1"));
        s.allocation_pools = vec![pool("2001:db8:cafe::5", "2001:db8:cafe::9")];
        c.prefix_delegation = Some(PrefixDelegation {
            interface: None,
            prefix_length: None,
        });
        let errs = errors(&c);
        assert_eq!(errs.len(), 2, "{errs:#?}");
        assert!(errs[0].contains("leave out gateway_ip"));
        assert!(errs[1].contains("leave out allocation_pools"));
    }

    #[test]
    fn pd_only_v6() {
        let mut c = base();
        let s = subnet(&mut c, "v4-sub");
        s.use_prefix_delegation = true;
        s.cidr = None;
        s.gateway_ip = None;
        c.prefix_delegation = Some(PrefixDelegation {
            interface: None,
            prefix_length: None,
        });
        // The port's v4 fixed_ip loses its subnet too: drop the port.
        c.ports.clear();
        assert_one(
            &c,
            "subnet \"v4-sub\"",
            "use_prefix_delegation needs ip_version 6",
        );
    }

    #[test]
    fn cidr_required_without_pd() {
        let mut c = base();
        v6_sub(&mut c).cidr = None;
        v6_sub(&mut c).gateway_ip = None;
        assert_one(
            &c,
            "subnet \"v6-sub\"",
            "cidr is required unless use_prefix_delegation is set",
        );
    }

    #[test]
    fn subnets_do_not_overlap() {
        let mut c = base();
        let mut extra = c.subnets[0].clone();
        extra.name = "v6-b".into();
        extra.cidr = Some(net("2001:db8:cafe::/64"));
        c.subnets.push(extra);
        assert_one(
            &c,
            "subnet \"v6-b\"",
            "cidr 2001:db8:cafe::/64 overlaps subnet \"v6-sub\"",
        );
    }
}
