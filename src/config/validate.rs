//! Neutron's validation rules over a parsed [`Config`].
//!
//! Contract: [`Config::validate`] checks everything below and returns
//! *every* violation, in file order per section, each a [`ConfigError`]
//! naming its item. It never panics and never stops at the first error, so
//! an operator fixes a file in one round. A config that passes is one the
//! engine can compile without further checks.
//!
//! Rules (Neutron's API checks unless marked otherwise):
//! - router: name 1..=64 chars of `[A-Za-z0-9_.-]`, not `.`/`..` (it becomes
//!   a socket and state path); `workers` ≥ 1; RA timers per RFC 4861
//!   §6.2.1: 4 ≤ MaxRtrAdvInterval ≤ 1800, 3 ≤ MinRtrAdvInterval ≤
//!   0.75 × Max, AdvDefaultLifetime 0 or Max..=9000.
//! - names unique per kind (interfaces, subnets, ports, security groups,
//!   prefix pools) and non-empty.
//! - subnet: ip_version 4 or 6 and equal to the CIDR's; no host bits;
//!   IPv6 modes only on IPv6 and equal when both set; SLAAC and
//!   DHCPv6-stateless need a /64 (RFC 4862 §5.5.3 with 64-bit interface
//!   IDs); gateway inside the CIDR and not the network / broadcast (IPv4)
//!   or subnet-router anycast (IPv6, RFC 4291 §2.6.1) address; pools of the
//!   subnet's version, start ≤ end, inside the usable range, not holding the
//!   gateway, not overlapping; DNS servers of the subnet's version (RDNSS,
//!   RFC 8106, and DHCPv6 carry IPv6 only); search domains valid DNS names
//!   (RFC 1123 labels); prefix delegation only on IPv6, without
//!   cidr/gateway/pools, with a `[prefix_delegation]` section; subnets do
//!   not overlap one another.
//! - interface: name valid for Linux (`dev_valid_name`: 1..=15 bytes, no
//!   `/`, `:` or whitespace, not `.`/`..`); subnets known, listed once, on
//!   one interface only; addresses host addresses, unique, not overlapping
//!   another interface's prefixes; MAC valid unicast and unique; MTU
//!   1280..=65535 with IPv6 (RFC 8200 §5), 68..=65535 IPv4-only (RFC 791);
//!   at most one external interface.
//! - route: destination without host bits, unique; nexthop of the same
//!   version, on a connected prefix, not the router's own address.
//! - security_group rule: protocol known; ports only with tcp/udp/sctp
//!   (1..=65535, min ≤ max, both or neither) or as ICMP type/code
//!   (0..=255, code needs type); ICMPv6 only with ethertype IPv6;
//!   remote_ip_prefix matches the ethertype; remote_group exists and
//!   excludes remote_ip_prefix. `default` exists implicitly.
//! - port: MAC valid unicast and unique; groups exist; port security off
//!   only without groups; fixed_ips in subnets of one interface, unique
//!   across ports, not a gateway or the network / anycast / broadcast
//!   address; allowed_address_pairs' MACs valid unicast.
//! - prefix_delegation: interface exists and is external (default: there
//!   is one); prefix_length 1..=64.
//! - prefix_pool: IPv6 prefix without host bits; prefix length <
//!   delegated_length ≤ 64; no overlap with subnets, interface addresses or
//!   other pools.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::derive::{
    offset, to_u128, RuleProtocol, PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP,
};
use super::schema::{AllocationPool, Config, Ethertype, Ipv6Mode, SecurityGroupRule, Subnet};
use super::{ConfigError, ItemKind};
use crate::wire::EthernetAddress;

/// Longest router name: it ends up in `/run/routelet/<name>.sock`, which
/// must fit `sun_path` (108 bytes) with room to spare.
const MAX_ROUTER_NAME: usize = 64;
/// IFNAMSIZ − 1 (the kernel keeps a trailing NUL).
const MAX_IFNAME: usize = 15;
/// RFC 8200 §5: every IPv6 link has an MTU of at least 1280.
const MIN_MTU_V6: u32 = 1280;
/// RFC 791: every IPv4 host must accept 68-octet datagrams.
const MIN_MTU_V4: u32 = 68;
const MAX_MTU: u32 = 65535;
/// The name of Neutron's implicit security group.
pub const DEFAULT_GROUP: &str = "default";

impl Config {
    /// Checks every rule of this module's doc; `Err` holds all violations.
    pub fn validate(&self) -> Result<(), Vec<ConfigError>> {
        let mut v = Validator::new(self);
        v.router();
        v.unique_names();
        for s in &self.subnets {
            v.subnet(s);
        }
        v.subnet_overlaps();
        v.interfaces();
        v.routes();
        v.security_groups();
        v.ports();
        v.prefix_delegation();
        v.prefix_pools();
        if v.errors.is_empty() {
            Ok(())
        } else {
            Err(v.errors)
        }
    }
}

/// One router-connected prefix: a subnet CIDR or an interface address.
struct Connected<'a> {
    /// Index of the interface it is on (`None`: subnet not attached).
    iface: Option<usize>,
    net: IpNet,
    /// `Some(subnet name)` for a subnet CIDR, `None` for an address.
    subnet: Option<&'a str>,
    /// The address as written, for interface addresses.
    addr: Option<IpNet>,
}

struct Validator<'a> {
    cfg: &'a Config,
    errors: Vec<ConfigError>,
    /// Subnets by name (the first of duplicates).
    subnets: HashMap<&'a str, &'a Subnet>,
    /// Subnet name → index of the first interface listing it.
    attached: HashMap<&'a str, usize>,
    /// Defined group names plus the implicit "default".
    groups: HashSet<&'a str>,
}

impl<'a> Validator<'a> {
    fn new(cfg: &'a Config) -> Self {
        let mut subnets = HashMap::new();
        for s in &cfg.subnets {
            subnets.entry(s.name.as_str()).or_insert(s);
        }
        let mut attached = HashMap::new();
        for (i, iface) in cfg.interfaces.iter().enumerate() {
            for name in &iface.subnets {
                attached.entry(name.as_str()).or_insert(i);
            }
        }
        let mut groups: HashSet<&str> = cfg
            .security_groups
            .iter()
            .map(|g| g.name.as_str())
            .collect();
        groups.insert(DEFAULT_GROUP);
        Validator {
            cfg,
            errors: Vec::new(),
            subnets,
            attached,
            groups,
        }
    }

    fn err(&mut self, kind: ItemKind, name: &str, message: String) {
        self.errors.push(ConfigError::new(kind, name, message));
    }

    fn iface_name(&self, i: usize) -> &'a str {
        self.cfg
            .interfaces
            .get(i)
            .map(|x| x.name.as_str())
            .unwrap_or("")
    }

    /// Subnet CIDRs (attached or not) and interface address prefixes.
    fn connected(&self) -> Vec<Connected<'a>> {
        let mut out = Vec::new();
        for s in &self.cfg.subnets {
            if let Some(net) = s.prefix() {
                out.push(Connected {
                    iface: self.attached.get(s.name.as_str()).copied(),
                    net,
                    subnet: Some(s.name.as_str()),
                    addr: None,
                });
            }
        }
        for (i, iface) in self.cfg.interfaces.iter().enumerate() {
            for a in &iface.addresses {
                out.push(Connected {
                    iface: Some(i),
                    net: a.trunc(),
                    subnet: None,
                    addr: Some(*a),
                });
            }
        }
        out
    }

    /// The router's own addresses: interface addresses and the gateways of
    /// attached subnets.
    fn own_addresses(&self) -> Vec<IpAddr> {
        let mut own: Vec<IpAddr> = self
            .cfg
            .interfaces
            .iter()
            .flat_map(|i| i.addresses.iter().map(|a| a.addr()))
            .collect();
        for s in &self.cfg.subnets {
            if self.attached.contains_key(s.name.as_str()) {
                own.extend(s.effective_gateway());
            }
        }
        own
    }

    fn router(&mut self) {
        let r = &self.cfg.router;
        let name = r.name.as_str();
        if name.is_empty() {
            self.err(ItemKind::Router, name, "name must not be empty".into());
        } else if name.len() > MAX_ROUTER_NAME {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "name is {} characters long, at most {MAX_ROUTER_NAME} allowed",
                    name.len()
                ),
            );
        } else if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            self.err(
                ItemKind::Router,
                name,
                "name may only hold letters, digits, '_', '.' and '-' (it becomes a socket and state path)".into(),
            );
        } else if name == "." || name == ".." {
            self.err(
                ItemKind::Router,
                name,
                "name must not be '.' or '..' (it becomes a path)".into(),
            );
        }
        if r.workers == Some(0) {
            self.err(ItemKind::Router, name, "workers must be at least 1".into());
        }
        let ra = r.ra;
        if !(4..=1800).contains(&ra.max_interval) {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "ra max_interval {} is not within 4..=1800 s (RFC 4861 §6.2.1)",
                    ra.max_interval
                ),
            );
        }
        // min ≤ 0.75 × max, in integers: 4 × min ≤ 3 × max (u64: no overflow).
        if ra.min_interval < 3 || u64::from(ra.min_interval) * 4 > u64::from(ra.max_interval) * 3 {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "ra min_interval {} is not within 3 s..=0.75 × max_interval ({}) (RFC 4861 §6.2.1)",
                    ra.min_interval, ra.max_interval
                ),
            );
        }
        let nb = r.neighbor;
        if nb.max_entries == 0 || nb.max_entries > 1 << 20 {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "neighbor max_entries {} is not within 1..=1048576",
                    nb.max_entries
                ),
            );
        }
        if nb.max_incomplete == 0 || nb.max_incomplete > nb.max_entries {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "neighbor max_incomplete {} is not within 1..=max_entries ({})",
                    nb.max_incomplete, nb.max_entries
                ),
            );
        }
        if nb.solicit_per_second == 0 || nb.solicit_burst == 0 {
            self.err(
                ItemKind::Router,
                name,
                "neighbor solicit_per_second and solicit_burst must be at least 1".into(),
            );
        }
        if nb.queue_per_entry > 64 || nb.queue_bytes > 64 << 20 {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "neighbor queue_per_entry {} (max 64) or queue_bytes {} (max 64 MiB) too large",
                    nb.queue_per_entry, nb.queue_bytes
                ),
            );
        }
        if r.icmp.burst == 0 && r.icmp.errors_per_second != 0 {
            self.err(
                ItemKind::Router,
                name,
                "icmp burst must be at least 1 when errors_per_second is set (0/0 disables ICMP errors)".into(),
            );
        }
        let io = r.io;
        if !(4..=65_536).contains(&io.rx_block_kib)
            || !io.rx_block_kib.is_power_of_two()
            || io.rx_ring_kib < io.rx_block_kib
            || io.rx_ring_kib > 1 << 20
            || io.rx_ring_kib % io.rx_block_kib != 0
        {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "io rx_ring_kib {} must be a multiple of rx_block_kib {} (a power of two, 4..=65536) and at most 1 GiB",
                    io.rx_ring_kib, io.rx_block_kib
                ),
            );
        }
        if !(1..=1000).contains(&io.retire_timeout_ms) {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "io retire_timeout_ms {} is not within 1..=1000",
                    io.retire_timeout_ms
                ),
            );
        }
        if !(1..=65_536).contains(&io.tx_ring_frames) || !(1..=65_536).contains(&io.rx_budget) {
            self.err(
                ItemKind::Router,
                name,
                "io tx_ring_frames and rx_budget must be within 1..=65536".into(),
            );
        }
        let lifetime = u32::from(ra.router_lifetime);
        if lifetime != 0 && !(ra.max_interval..=9000).contains(&lifetime) {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "ra router_lifetime {lifetime} must be 0 or within max_interval ({})..=9000 s (RFC 4861 §6.2.1)",
                    ra.max_interval
                ),
            );
        }
    }

    fn unique_names(&mut self) {
        let cfg = self.cfg;
        let lists: [(ItemKind, Vec<&str>); 5] = [
            (
                ItemKind::Interface,
                cfg.interfaces.iter().map(|x| x.name.as_str()).collect(),
            ),
            (
                ItemKind::Subnet,
                cfg.subnets.iter().map(|x| x.name.as_str()).collect(),
            ),
            (
                ItemKind::Port,
                cfg.ports.iter().map(|x| x.name.as_str()).collect(),
            ),
            (
                ItemKind::SecurityGroup,
                cfg.security_groups
                    .iter()
                    .map(|x| x.name.as_str())
                    .collect(),
            ),
            (
                ItemKind::PrefixPool,
                cfg.prefix_pools.iter().map(|x| x.name.as_str()).collect(),
            ),
        ];
        for (kind, names) in lists {
            let mut seen = HashSet::new();
            for name in names {
                // Interface names have their own, stricter rule below.
                if name.is_empty() && kind != ItemKind::Interface {
                    self.err(kind, name, "name must not be empty".into());
                } else if !seen.insert(name) {
                    self.err(
                        kind,
                        name,
                        format!("duplicate name: another {} has it", kind.as_str()),
                    );
                }
            }
        }
    }

    fn subnet(&mut self, s: &'a Subnet) {
        let name = s.name.as_str();
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

    fn subnet_pools(&mut self, s: &Subnet, net: IpNet) {
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

    fn subnet_dns(&mut self, s: &Subnet, version: Option<u8>) {
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
            if let Some(why) = dns_name_problem(domain) {
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
    fn subnet_overlaps(&mut self) {
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

    fn interfaces(&mut self) {
        let cfg = self.cfg;
        let mut external: Option<&str> = None;
        let mut macs: HashMap<EthernetAddress, &str> = HashMap::new();
        let mut addrs: HashMap<IpAddr, &str> = HashMap::new();
        let connected = self.connected();
        let pd_iface = cfg.prefix_delegation.as_ref().and_then(|pd| {
            pd.interface.clone().or_else(|| {
                cfg.interfaces
                    .iter()
                    .find(|i| i.external)
                    .map(|i| i.name.clone())
            })
        });

        for (i, iface) in cfg.interfaces.iter().enumerate() {
            let name = iface.name.as_str();
            if let Some(why) = ifname_problem(name) {
                self.err(ItemKind::Interface, name, why);
            }

            // Subnet references.
            let mut here = HashSet::new();
            for sn in &iface.subnets {
                if !here.insert(sn.as_str()) {
                    self.err(
                        ItemKind::Interface,
                        name,
                        format!("subnet {sn:?} is listed twice"),
                    );
                } else if !self.subnets.contains_key(sn.as_str()) {
                    self.err(ItemKind::Interface, name, format!("unknown subnet {sn:?}"));
                } else if let Some(&first) = self.attached.get(sn.as_str()) {
                    if first != i {
                        let other = self.iface_name(first);
                        self.err(
                            ItemKind::Interface,
                            name,
                            format!(
                                "subnet {sn:?} is already attached to interface {other:?} (a subnet is on one link)"
                            ),
                        );
                    }
                }
            }

            // Addresses.
            for a in &iface.addresses {
                let ip = a.addr();
                let net = a.trunc();
                if let Some(what) = reserved_address(net, ip) {
                    self.err(
                        ItemKind::Interface,
                        name,
                        format!("address {a} is {what} of {net}, not a host address"),
                    );
                }
                if let Some(prev) = addrs.insert(ip, name) {
                    let msg = if prev == name {
                        format!("address {ip} is listed twice")
                    } else {
                        format!("address {ip} is also on interface {prev:?}")
                    };
                    self.err(ItemKind::Interface, name, msg);
                    continue;
                }
                let clash = connected.iter().find(|c| {
                    c.iface != Some(i)
                        && overlaps(&c.net, &net)
                        && c.addr.map_or(true, |other| other.addr() != ip)
                        && (c.subnet.is_some() || c.iface.is_some_and(|ci| ci < i))
                });
                if let Some(c) = clash {
                    let on = match c.iface {
                        Some(ci) => format!(" of interface {:?}", self.iface_name(ci)),
                        None => String::new(),
                    };
                    let what = match (c.subnet, c.addr) {
                        (Some(sn), _) => format!("subnet {sn:?} ({})", c.net),
                        (None, Some(other)) => format!("address {other}"),
                        (None, None) => c.net.to_string(),
                    };
                    self.err(
                        ItemKind::Interface,
                        name,
                        format!("address {a} overlaps {what}{on}"),
                    );
                }
            }

            // MAC.
            if let Some(text) = &iface.mac {
                if let Some(mac) = self.check_mac(ItemKind::Interface, name, "mac", text) {
                    if let Some(prev) = macs.insert(mac, name) {
                        self.err(
                            ItemKind::Interface,
                            name,
                            format!("mac {mac} is also interface {prev:?}'s"),
                        );
                    }
                }
            }

            // MTU: IPv6 unless the interface only carries IPv4. Every
            // interface has an IPv6 link-local address for ND, so an
            // interface with neither subnets nor addresses counts as IPv6.
            if let Some(mtu) = iface.mtu {
                let mut v4 = false;
                let mut v6 = pd_iface.as_deref() == Some(name);
                for a in &iface.addresses {
                    v4 |= a.addr().is_ipv4();
                    v6 |= a.addr().is_ipv6();
                }
                for sn in &iface.subnets {
                    if let Some(s) = self.subnets.get(sn.as_str()) {
                        v4 |= s.ip_version == 4;
                        v6 |= s.ip_version == 6;
                    }
                }
                let (min, why) = if v4 && !v6 {
                    (MIN_MTU_V4, "an IPv4-only interface (RFC 791)")
                } else {
                    (MIN_MTU_V6, "an IPv6 interface (RFC 8200 §5)")
                };
                if !(min..=MAX_MTU).contains(&mtu) {
                    self.err(
                        ItemKind::Interface,
                        name,
                        format!("mtu {mtu} is not within {min}..={MAX_MTU} for {why}"),
                    );
                }
            }

            if iface.external {
                if let Some(first) = external {
                    self.err(
                        ItemKind::Interface,
                        name,
                        format!("only one interface may be external, and {first:?} already is"),
                    );
                } else {
                    external = Some(name);
                }
            }
        }
    }

    /// Parses and checks a MAC: valid text, unicast, not all zeros.
    fn check_mac(
        &mut self,
        kind: ItemKind,
        name: &str,
        key: &str,
        text: &str,
    ) -> Option<EthernetAddress> {
        let Ok(mac) = text.parse::<EthernetAddress>() else {
            self.err(
                kind,
                name,
                format!("{key} {text:?} is not a MAC address (aa:bb:cc:dd:ee:ff)"),
            );
            return None;
        };
        if mac.is_multicast() {
            self.err(
                kind,
                name,
                format!("{key} {mac} is a multicast address, not a unicast one"),
            );
            return None;
        }
        if mac.0 == [0; 6] {
            self.err(kind, name, format!("{key} {mac} is all zeros"));
            return None;
        }
        Some(mac)
    }

    fn routes(&mut self) {
        let connected: Vec<IpNet> = self
            .connected()
            .into_iter()
            .filter(|c| c.iface.is_some())
            .map(|c| c.net)
            .collect();
        let own = self.own_addresses();
        let mut seen = HashSet::new();
        for r in &self.cfg.routes {
            let name = r.destination.to_string();
            let dest = r.destination.trunc();
            if dest != r.destination {
                self.err(
                    ItemKind::Route,
                    &name,
                    format!("destination has host bits set (did you mean {dest}?)"),
                );
            }
            if !seen.insert(dest) {
                self.err(ItemKind::Route, &name, "duplicate destination".into());
            }
            let hop = r.nexthop;
            if hop.is_ipv4() != dest.addr().is_ipv4() {
                self.err(
                    ItemKind::Route,
                    &name,
                    format!(
                        "nexthop {hop} is {} but the destination is {}",
                        family_of(hop),
                        family_of(dest.addr())
                    ),
                );
            } else if own.contains(&hop) {
                self.err(
                    ItemKind::Route,
                    &name,
                    format!("nexthop {hop} is one of the router's own addresses"),
                );
            } else if !connected.iter().any(|n| n.contains(&hop)) {
                self.err(
                    ItemKind::Route,
                    &name,
                    format!("nexthop {hop} is not on a connected subnet"),
                );
            }
        }
    }

    fn security_groups(&mut self) {
        for g in &self.cfg.security_groups {
            for (i, rule) in g.rules.iter().enumerate() {
                for message in self.rule_problems(rule) {
                    self.errors.push(ConfigError::rule(
                        g.name.as_str(),
                        i.saturating_add(1),
                        message,
                    ));
                }
            }
        }
    }

    fn rule_problems(&self, rule: &SecurityGroupRule) -> Vec<String> {
        let mut out = Vec::new();
        let text = rule.protocol.as_deref().unwrap_or("");
        let proto = rule.ip_protocol();
        if proto.is_none() {
            out.push(format!(
                "protocol {text:?} is not tcp, udp, icmp, ipv6-icmp, icmpv6, sctp or a number 0..255"
            ));
        }
        if proto == Some(RuleProtocol::Number(PROTO_ICMPV6)) && rule.ethertype == Ethertype::IPv4 {
            out.push(format!(
                "protocol {text:?} is ICMPv6, which needs ethertype IPv6"
            ));
        }
        let (min, max) = (rule.port_range_min, rule.port_range_max);
        match proto {
            None => {}
            Some(RuleProtocol::Number(PROTO_TCP | PROTO_UDP | PROTO_SCTP)) => match (min, max) {
                (None, None) => {}
                (Some(lo), Some(hi)) => {
                    if lo == 0 || hi == 0 {
                        out.push("port 0 is not a valid port (1..=65535)".into());
                    } else if lo > hi {
                        out.push(format!(
                            "port_range_min {lo} is greater than port_range_max {hi}"
                        ));
                    }
                }
                _ => out.push(format!(
                    "port_range_min and port_range_max go together for protocol {text}"
                )),
            },
            Some(RuleProtocol::Number(PROTO_ICMP | PROTO_ICMPV6)) => {
                if max.is_some() && min.is_none() {
                    out.push("port_range_max (ICMP code) needs port_range_min (ICMP type)".into());
                }
                if let Some(t) = min.filter(|t| *t > 255) {
                    out.push(format!(
                        "port_range_min (ICMP type) {t} is not within 0..=255"
                    ));
                }
                if let Some(c) = max.filter(|c| *c > 255) {
                    out.push(format!(
                        "port_range_max (ICMP code) {c} is not within 0..=255"
                    ));
                }
            }
            Some(_) if min.is_some() || max.is_some() => {
                out.push(
                    "port_range_min/port_range_max need protocol tcp, udp, sctp or icmp".into(),
                );
            }
            Some(_) => {}
        }
        if let Some(prefix) = rule.remote_ip_prefix {
            let want_v4 = rule.ethertype == Ethertype::IPv4;
            if prefix.addr().is_ipv4() != want_v4 {
                out.push(format!(
                    "remote_ip_prefix {prefix} is {} but ethertype is {}",
                    family_of(prefix.addr()),
                    if want_v4 { "IPv4" } else { "IPv6" }
                ));
            }
        }
        if let Some(group) = &rule.remote_group {
            if !self.groups.contains(group.as_str()) {
                out.push(format!("remote_group {group:?} is not a security group"));
            }
            if rule.remote_ip_prefix.is_some() {
                out.push("remote_ip_prefix and remote_group are mutually exclusive".into());
            }
        }
        out
    }

    fn ports(&mut self) {
        let cfg = self.cfg;
        let mut macs: HashMap<EthernetAddress, &str> = HashMap::new();
        let mut ips: HashMap<IpAddr, &str> = HashMap::new();
        let iface_macs: Vec<(EthernetAddress, &str)> = cfg
            .interfaces
            .iter()
            .filter_map(|i| Some((i.parsed_mac()?, i.name.as_str())))
            .collect();
        // Subnets attached to an interface, with that interface.
        let attached: Vec<(&Subnet, IpNet, usize)> = cfg
            .subnets
            .iter()
            .filter_map(|s| {
                let net = s.prefix()?;
                let i = *self.attached.get(s.name.as_str())?;
                Some((s, net, i))
            })
            .collect();

        for p in &cfg.ports {
            let name = p.name.as_str();
            if let Some(mac) = self.check_mac(ItemKind::Port, name, "mac", &p.mac) {
                if let Some(prev) = macs.insert(mac, name) {
                    self.err(
                        ItemKind::Port,
                        name,
                        format!("mac {mac} is also port {prev:?}'s"),
                    );
                } else if let Some((_, iface)) = iface_macs.iter().find(|(m, _)| *m == mac) {
                    self.err(
                        ItemKind::Port,
                        name,
                        format!("mac {mac} is router interface {iface:?}'s"),
                    );
                }
            }

            if let Some(groups) = &p.security_groups {
                for g in groups {
                    if !self.groups.contains(g.as_str()) {
                        self.err(
                            ItemKind::Port,
                            name,
                            format!("unknown security group {g:?}"),
                        );
                    }
                }
                if !p.port_security_enabled && !groups.is_empty() {
                    self.err(
                        ItemKind::Port,
                        name,
                        "port_security_enabled = false leaves no room for security_groups".into(),
                    );
                }
            }

            let mut network: Option<usize> = None;
            for ip in &p.fixed_ips {
                let Some((s, net, i)) = attached.iter().find(|(_, n, _)| n.contains(ip)) else {
                    self.err(
                        ItemKind::Port,
                        name,
                        format!("fixed_ip {ip} is not in any subnet attached to an interface"),
                    );
                    continue;
                };
                match network {
                    None => network = Some(*i),
                    Some(first) if first != *i => {
                        let (a, b) = (self.iface_name(first), self.iface_name(*i));
                        self.err(
                            ItemKind::Port,
                            name,
                            format!(
                                "fixed_ip {ip} is on interface {b:?} but the port's other fixed_ips are on {a:?} (a port sits on one network)"
                            ),
                        );
                    }
                    Some(_) => {}
                }
                if s.effective_gateway() == Some(*ip) {
                    self.err(
                        ItemKind::Port,
                        name,
                        format!("fixed_ip {ip} is the gateway of subnet {:?}", s.name),
                    );
                } else if let Some(what) = reserved_address(*net, *ip) {
                    self.err(
                        ItemKind::Port,
                        name,
                        format!("fixed_ip {ip} is {what} of subnet {:?}", s.name),
                    );
                }
                if let Some(prev) = ips.insert(*ip, name) {
                    let msg = if prev == name {
                        format!("fixed_ip {ip} is listed twice")
                    } else {
                        format!("fixed_ip {ip} is also port {prev:?}'s")
                    };
                    self.err(ItemKind::Port, name, msg);
                }
            }

            for pair in &p.allowed_address_pairs {
                if let Some(text) = &pair.mac_address {
                    self.check_mac(
                        ItemKind::Port,
                        name,
                        "allowed_address_pairs mac_address",
                        text,
                    );
                }
            }
        }
    }

    fn prefix_delegation(&mut self) {
        let Some(pd) = &self.cfg.prefix_delegation else {
            return;
        };
        match &pd.interface {
            Some(name) => match self.cfg.interfaces.iter().find(|i| &i.name == name) {
                None => self.err(
                    ItemKind::PrefixDelegation,
                    "",
                    format!("unknown interface {name:?}"),
                ),
                Some(i) if !i.external => self.err(
                    ItemKind::PrefixDelegation,
                    "",
                    format!("interface {name:?} is not external (the PD client runs upstream)"),
                ),
                Some(_) => {}
            },
            None => {
                if !self.cfg.interfaces.iter().any(|i| i.external) {
                    self.err(
                        ItemKind::PrefixDelegation,
                        "",
                        "no interface given and no external interface to run the PD client on"
                            .into(),
                    );
                }
            }
        }
        if let Some(len) = pd.prefix_length {
            if !(1..=64).contains(&len) {
                self.err(
                    ItemKind::PrefixDelegation,
                    "",
                    format!("prefix_length {len} is not within 1..=64"),
                );
            }
        }
    }

    fn prefix_pools(&mut self) {
        let connected = self.connected();
        let mut good: Vec<(&str, IpNet)> = Vec::new();
        for p in &self.cfg.prefix_pools {
            let name = p.name.as_str();
            if p.prefix.addr().is_ipv4() {
                self.err(
                    ItemKind::PrefixPool,
                    name,
                    format!("prefix {} is not IPv6", p.prefix),
                );
                continue;
            }
            let net = p.prefix.trunc();
            if net != p.prefix {
                self.err(
                    ItemKind::PrefixPool,
                    name,
                    format!(
                        "prefix {} has host bits set (did you mean {net}?)",
                        p.prefix
                    ),
                );
            }
            if p.delegated_length <= net.prefix_len() || p.delegated_length > 64 {
                self.err(
                    ItemKind::PrefixPool,
                    name,
                    format!(
                        "delegated_length {} is not within {}..=64 (longer than the pool's /{}, at most /64)",
                        p.delegated_length,
                        net.prefix_len().saturating_add(1),
                        net.prefix_len()
                    ),
                );
            }
            if let Some(c) = connected.iter().find(|c| overlaps(&c.net, &net)) {
                let what = match (c.subnet, c.addr, c.iface) {
                    (Some(sn), _, _) => format!("subnet {sn:?} ({})", c.net),
                    (None, Some(a), Some(i)) => {
                        format!("address {a} of interface {:?}", self.iface_name(i))
                    }
                    _ => c.net.to_string(),
                };
                self.err(
                    ItemKind::PrefixPool,
                    name,
                    format!("prefix {net} overlaps {what}"),
                );
            }
            if let Some((other, onet)) = good.iter().find(|(_, o)| overlaps(o, &net)) {
                let msg = format!("prefix {net} overlaps prefix_pool {other:?} ({onet})");
                self.err(ItemKind::PrefixPool, name, msg);
            }
            good.push((name, net));
        }
    }
}

/// "IPv4" / "IPv6" for an ip_version number.
fn family(version: u8) -> &'static str {
    if version == 4 {
        "IPv4"
    } else {
        "IPv6"
    }
}

fn family_of(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() {
        "IPv4"
    } else {
        "IPv6"
    }
}

/// Two prefixes overlap iff one contains the other's network address.
fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// Whether `addr` is an address of `net` no host may hold: the IPv6
/// subnet-router anycast address (RFC 4291 §2.6.1; not on /127, RFC 6164),
/// the IPv4 network or broadcast address (not on /31 and /32, RFC 3021).
fn reserved_address(net: IpNet, addr: IpAddr) -> Option<&'static str> {
    match net {
        IpNet::V6(n) if n.prefix_len() < 127 => {
            (addr == IpAddr::V6(n.network())).then_some("the subnet-router anycast address")
        }
        IpNet::V4(n) if n.prefix_len() < 31 => {
            if addr == IpAddr::V4(n.network()) {
                Some("the network address")
            } else if addr == IpAddr::V4(n.broadcast()) {
                Some("the broadcast address")
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Why `name` cannot be a Linux interface name (the kernel's
/// `dev_valid_name`), or `None` if it can.
fn ifname_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > MAX_IFNAME {
        return Some(format!(
            "name must be 1..={MAX_IFNAME} bytes long (IFNAMSIZ), not {}",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Some("name must not be '.' or '..'".into());
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        return Some("name must not hold '/', ':' or whitespace".into());
    }
    None
}

/// Why `name` is not a DNS name for a search list (RFC 1123 §2.1 labels:
/// 1..=63 letters, digits and hyphens, no hyphen at either end; at most 253
/// characters; one trailing dot allowed), or `None` if it is one.
fn dns_name_problem(name: &str) -> Option<&'static str> {
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() {
        return Some("empty");
    }
    if bare.len() > 253 {
        return Some("longer than 253 characters");
    }
    for label in bare.split('.') {
        if label.is_empty() {
            return Some("empty label");
        }
        if label.len() > 63 {
            return Some("label longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Some("labels hold only letters, digits and '-'");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some("a label starts or ends with '-'");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;
    use crate::config::{AddressPair, PrefixDelegation, PrefixPool, Route};

    /// A small valid router: SLAAC v6 + v4 on qr0, external qg0, a port.
    const BASE: &str = r#"
[router]
name = "r1"

[[interface]]
name = "qr0"
subnets = ["v6-sub", "v4-sub"]
mac = "fa:16:3e:11:11:01"

[[interface]]
name = "qg0"
external = true
mac = "fa:16:3e:11:11:02"
addresses = ["2001:db8:cafe:17::66/64", "203.0.113.102/24"]

[[subnet]]
name = "v6-sub"
ip_version = 6
cidr = "2001:db8:cafe::/64"
gateway_ip = "2001:db8:cafe::1"
ipv6_ra_mode = "slaac"
ipv6_address_mode = "slaac"
dns_nameservers = ["2001:db8:cafe:a::e"]
domain_search = ["openstacklocal"]

[[subnet]]
name = "v4-sub"
ip_version = 4
cidr = "198.51.100.0/24"
gateway_ip = "198.51.100.1"

[[route]]
destination = "::/0"
nexthop = "2001:db8:cafe:17::1"

[[route]]
destination = "0.0.0.0/0"
nexthop = "203.0.113.1"

[[security_group]]
name = "web"
rules = [
  { direction = "ingress", ethertype = "IPv6", protocol = "tcp", port_range_min = 22, port_range_max = 22, remote_ip_prefix = "::/0" },
  { direction = "ingress", ethertype = "IPv6", protocol = "icmp", remote_ip_prefix = "::/0" },
  { direction = "egress",  ethertype = "IPv6" },
  { direction = "egress",  ethertype = "IPv4" },
]

[[port]]
name = "vm1"
mac = "fa:16:3e:79:5a:cc"
fixed_ips = ["198.51.100.4"]
security_groups = ["web"]
"#;

    fn base() -> Config {
        toml::from_str(BASE).unwrap()
    }

    fn errors(cfg: &Config) -> Vec<String> {
        match cfg.validate() {
            Ok(()) => Vec::new(),
            Err(errs) => errs.iter().map(|e| e.to_string()).collect(),
        }
    }

    /// The single error `cfg` has; fails when it has none or several.
    fn one_error(cfg: &Config) -> String {
        let errs = errors(cfg);
        assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
        errs.into_iter().next().unwrap()
    }

    /// Asserts the single error starts with `item` and contains `phrase`.
    fn assert_one(cfg: &Config, item: &str, phrase: &str) {
        let e = one_error(cfg);
        assert!(e.starts_with(item), "{e:?} does not start with {item:?}");
        assert!(e.contains(phrase), "{e:?} does not contain {phrase:?}");
    }

    fn subnet<'c>(cfg: &'c mut Config, name: &str) -> &'c mut Subnet {
        cfg.subnets.iter_mut().find(|s| s.name == name).unwrap()
    }

    fn v6_sub(cfg: &mut Config) -> &mut Subnet {
        subnet(cfg, "v6-sub")
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn valid_config_has_no_errors() {
        assert_eq!(errors(&base()), Vec::<String>::new());
    }

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

    // ---- names ----

    #[test]
    fn duplicate_names() {
        let mut c = base();
        let mut s = c.subnets[0].clone();
        s.cidr = Some(net("2001:db8:cafe:5::/64"));
        s.gateway_ip = None;
        c.subnets.push(s);
        assert_one(
            &c,
            "subnet \"v6-sub\"",
            "duplicate name: another subnet has it",
        );

        for kind in ["interface", "port", "security_group", "prefix_pool"] {
            let mut c = base();
            match kind {
                "interface" => {
                    c.interfaces.push(c.interfaces[0].clone());
                    c.interfaces[2].subnets.clear();
                    c.interfaces[2].mac = None;
                }
                "port" => {
                    let mut p = c.ports[0].clone();
                    p.mac = "fa:16:3e:79:5a:cd".into();
                    p.fixed_ips.clear();
                    c.ports.push(p);
                }
                "security_group" => c.security_groups.push(c.security_groups[0].clone()),
                _ => {
                    let p = PrefixPool {
                        name: "pd".into(),
                        prefix: net("2001:db8:face::/48"),
                        delegated_length: 64,
                    };
                    let mut q = p.clone();
                    q.prefix = net("2001:db8:beef::/48");
                    c.prefix_pools = vec![p, q];
                }
            }
            let e = one_error(&c);
            assert!(e.starts_with(kind), "{e}");
            assert!(e.contains("duplicate name"), "{e}");
        }
    }

    #[test]
    fn empty_names() {
        let mut c = base();
        c.ports[0].name.clear();
        assert_one(&c, "port \"\"", "name must not be empty");
    }

    // ---- router ----

    #[test]
    fn router_name_rules() {
        for (name, phrase) in [
            ("", "must not be empty"),
            ("r/1", "may only hold letters"),
            ("..", "must not be '.' or '..'"),
        ] {
            let mut c = base();
            c.router.name = name.into();
            assert_one(&c, "router", phrase);
        }
        let mut c = base();
        c.router.name = "r".repeat(65);
        assert_one(&c, "router", "at most 64");
        c.router.name = "r".repeat(64);
        assert_eq!(errors(&c), Vec::<String>::new());
    }

    #[test]
    fn workers_at_least_one() {
        let mut c = base();
        c.router.workers = Some(0);
        assert_one(&c, "router \"r1\"", "workers must be at least 1");
    }

    #[test]
    fn io_ring_bounds() {
        let mut c = base();
        c.router.io.rx_block_kib = 48;
        c.router.io.retire_timeout_ms = 0;
        let errs = c.validate().unwrap_err();
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(errs.len(), 2, "{text:?}");
        assert!(text[0].contains("rx_block_kib 48"), "{text:?}");
        assert!(text[1].contains("retire_timeout_ms 0"), "{text:?}");
    }

    #[test]
    fn neighbor_and_icmp_bounds() {
        let mut c = base();
        c.router.neighbor.max_incomplete = c.router.neighbor.max_entries + 1;
        c.router.neighbor.solicit_burst = 0;
        c.router.icmp.burst = 0;
        let errs = c.validate().unwrap_err();
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(errs.len(), 3, "{text:?}");
        assert!(text[0].contains("max_incomplete 4097"), "{text:?}");
        assert!(text[1].contains("solicit_burst"), "{text:?}");
        assert!(text[2].contains("icmp burst"), "{text:?}");
    }

    #[test]
    fn ra_max_interval_range() {
        let mut c = base();
        c.router.ra.max_interval = 1801;
        c.router.ra.router_lifetime = 0;
        assert_one(
            &c,
            "router \"r1\"",
            "ra max_interval 1801 is not within 4..=1800",
        );
        c.router.ra.max_interval = 3;
        c.router.ra.min_interval = 3;
        // min 3 > 0.75 × 3 as well: two errors.
        assert_eq!(errors(&c).len(), 2);
    }

    #[test]
    fn ra_min_interval_range() {
        let mut c = base();
        c.router.ra.min_interval = 76; // 0.75 × 100 = 75
        assert_one(&c, "router \"r1\"", "ra min_interval 76 is not within");
        c.router.ra.min_interval = 75;
        assert_eq!(errors(&c), Vec::<String>::new());
        c.router.ra.min_interval = 2;
        assert_one(&c, "router \"r1\"", "ra min_interval 2 is not within");
    }

    #[test]
    fn ra_router_lifetime_range() {
        let mut c = base();
        c.router.ra.router_lifetime = 50; // below max_interval 100
        assert_one(
            &c,
            "router \"r1\"",
            "ra router_lifetime 50 must be 0 or within",
        );
        c.router.ra.router_lifetime = 9001;
        assert_one(&c, "router \"r1\"", "ra router_lifetime 9001");
        c.router.ra.router_lifetime = 0;
        assert_eq!(errors(&c), Vec::<String>::new());
    }

    // ---- interfaces ----

    #[test]
    fn interface_name_rules() {
        for (name, phrase) in [
            ("", "1..=15 bytes"),
            ("qr-0123456789abc", "1..=15 bytes"),
            ("q/r", "must not hold '/'"),
            ("q r", "must not hold '/'"),
            (".", "must not be '.'"),
        ] {
            let mut c = base();
            c.interfaces[0].name = name.into();
            let e = one_error(&c);
            assert!(e.contains(phrase), "{name:?}: {e}");
            assert!(e.starts_with("interface"), "{e}");
        }
    }

    #[test]
    fn interface_unknown_subnet() {
        let mut c = base();
        c.interfaces[0].subnets.push("nope".into());
        assert_one(&c, "interface \"qr0\"", "unknown subnet \"nope\"");
    }

    #[test]
    fn interface_subnet_twice() {
        let mut c = base();
        c.interfaces[0].subnets.push("v4-sub".into());
        assert_one(&c, "interface \"qr0\"", "subnet \"v4-sub\" is listed twice");
    }

    #[test]
    fn interface_subnet_on_two_interfaces() {
        let mut c = base();
        c.interfaces[1].subnets.push("v4-sub".into());
        assert_one(
            &c,
            "interface \"qg0\"",
            "subnet \"v4-sub\" is already attached to interface \"qr0\"",
        );
    }

    #[test]
    fn interface_address_overlaps_other_interface_subnet() {
        let mut c = base();
        c.interfaces[1].addresses.push(net("198.51.100.200/24"));
        assert_one(
            &c,
            "interface \"qg0\"",
            "address 198.51.100.200/24 overlaps subnet \"v4-sub\" (198.51.100.0/24) of interface \"qr0\"",
        );
    }

    #[test]
    fn interface_address_duplicate() {
        let mut c = base();
        c.interfaces[1].addresses.push(net("203.0.113.102/24"));
        assert_one(
            &c,
            "interface \"qg0\"",
            "address 203.0.113.102 is listed twice",
        );
    }

    #[test]
    fn interface_address_is_host() {
        let mut c = base();
        c.interfaces[1].addresses[0] = net("2001:db8:cafe:17::/64");
        assert_one(
            &c,
            "interface \"qg0\"",
            "is the subnet-router anycast address of 2001:db8:cafe:17::/64, not a host address",
        );
    }

    #[test]
    fn interface_mac_valid() {
        let mut c = base();
        c.interfaces[0].mac = Some("fa:16:3e:11:11".into());
        assert_one(&c, "interface \"qr0\"", "is not a MAC address");
    }

    #[test]
    fn interface_mac_unicast() {
        let mut c = base();
        c.interfaces[0].mac = Some("33:33:00:00:00:01".into());
        assert_one(&c, "interface \"qr0\"", "is a multicast address");
    }

    #[test]
    fn interface_mac_unique() {
        let mut c = base();
        c.interfaces[1].mac = Some("fa:16:3e:11:11:01".into());
        assert_one(
            &c,
            "interface \"qg0\"",
            "mac fa:16:3e:11:11:01 is also interface \"qr0\"'s",
        );
    }

    #[test]
    fn interface_mtu_v6() {
        let mut c = base();
        c.interfaces[0].mtu = Some(1279);
        assert_one(
            &c,
            "interface \"qr0\"",
            "mtu 1279 is not within 1280..=65535",
        );
        c.interfaces[0].mtu = Some(65536);
        assert_one(
            &c,
            "interface \"qr0\"",
            "mtu 65536 is not within 1280..=65535",
        );
    }

    #[test]
    fn interface_mtu_v4_only() {
        let mut c = base();
        c.interfaces[0].subnets = vec!["v4-sub".into()];
        c.interfaces[0].mtu = Some(576);
        assert_eq!(errors(&c), Vec::<String>::new());
        c.interfaces[0].mtu = Some(67);
        assert_one(&c, "interface \"qr0\"", "mtu 67 is not within 68..=65535");
    }

    #[test]
    fn one_external_interface() {
        let mut c = base();
        c.interfaces[0].external = true;
        assert_one(
            &c,
            "interface \"qg0\"",
            "only one interface may be external, and \"qr0\" already is",
        );
    }

    // ---- routes ----

    fn route(dest: &str, hop: &str) -> Route {
        Route {
            destination: net(dest),
            nexthop: ip(hop),
        }
    }

    #[test]
    fn route_destination_host_bits() {
        let mut c = base();
        c.routes
            .push(route("2001:db8:beef::1/48", "2001:db8:cafe:17::1"));
        assert_one(
            &c,
            "route 2001:db8:beef::1/48",
            "destination has host bits set (did you mean 2001:db8:beef::/48?)",
        );
    }

    #[test]
    fn route_version_matches() {
        let mut c = base();
        c.routes.push(route("2001:db8:beef::/48", "203.0.113.1"));
        assert_one(
            &c,
            "route 2001:db8:beef::/48",
            "nexthop 203.0.113.1 is IPv4 but the destination is IPv6",
        );
    }

    #[test]
    fn route_nexthop_connected() {
        let mut c = base();
        c.routes
            .push(route("2001:db8:beef::/48", "2001:db8:dead::1"));
        assert_one(
            &c,
            "route 2001:db8:beef::/48",
            "nexthop 2001:db8:dead::1 is not on a connected subnet",
        );
        // Inside an attached subnet is fine.
        let mut c = base();
        c.routes
            .push(route("2001:db8:beef::/48", "2001:db8:cafe::99"));
        assert_eq!(errors(&c), Vec::<String>::new());
    }

    #[test]
    fn route_nexthop_not_own() {
        let mut c = base();
        c.routes
            .push(route("2001:db8:beef::/48", "2001:db8:cafe:17::66"));
        assert_one(
            &c,
            "route 2001:db8:beef::/48",
            "one of the router's own addresses",
        );
        let mut c = base();
        c.routes.push(route("203.0.113.128/25", "198.51.100.1"));
        assert_one(
            &c,
            "route 203.0.113.128/25",
            "one of the router's own addresses",
        );
    }

    #[test]
    fn route_duplicate_destination() {
        let mut c = base();
        c.routes.push(route("::/0", "2001:db8:cafe:17::2"));
        assert_one(&c, "route ::/0", "duplicate destination");
    }

    // ---- security groups ----

    fn rule_error(edit: impl FnOnce(&mut SecurityGroupRule)) -> String {
        let mut c = base();
        edit(&mut c.security_groups[0].rules[0]);
        one_error(&c)
    }

    #[test]
    fn rule_protocol_known() {
        let e = rule_error(|r| r.protocol = Some("gre".into()));
        assert!(e.starts_with("security_group \"web\" rule 1: "), "{e}");
        assert!(e.contains("protocol \"gre\" is not tcp"), "{e}");
        let e = rule_error(|r| r.protocol = Some("256".into()));
        assert!(e.contains("protocol \"256\""), "{e}");
    }

    #[test]
    fn rule_icmpv6_needs_ipv6() {
        let mut c = base();
        let r = &mut c.security_groups[0].rules[1];
        r.protocol = Some("ipv6-icmp".into());
        r.ethertype = Ethertype::IPv4;
        r.remote_ip_prefix = Some(net("0.0.0.0/0"));
        assert_one(
            &c,
            "security_group \"web\" rule 2",
            "is ICMPv6, which needs ethertype IPv6",
        );
    }

    #[test]
    fn rule_ports_only_with_l4() {
        let mut c = base();
        c.security_groups[0].rules[2].port_range_min = Some(80);
        c.security_groups[0].rules[2].port_range_max = Some(80);
        assert_one(
            &c,
            "security_group \"web\" rule 3",
            "need protocol tcp, udp, sctp or icmp",
        );
    }

    #[test]
    fn rule_ports_min_le_max() {
        let e = rule_error(|r| {
            r.port_range_min = Some(80);
            r.port_range_max = Some(22);
        });
        assert!(
            e.contains("port_range_min 80 is greater than port_range_max 22"),
            "{e}"
        );
    }

    #[test]
    fn rule_ports_together() {
        let e = rule_error(|r| r.port_range_max = None);
        assert!(e.contains("go together"), "{e}");
    }

    #[test]
    fn rule_port_zero() {
        let e = rule_error(|r| r.port_range_min = Some(0));
        assert!(e.contains("port 0 is not a valid port"), "{e}");
    }

    #[test]
    fn rule_icmp_type_code() {
        let mut c = base();
        let r = &mut c.security_groups[0].rules[1];
        r.port_range_min = Some(128);
        r.port_range_max = Some(0);
        assert_eq!(errors(&c), Vec::<String>::new());
        let r = &mut c.security_groups[0].rules[1];
        r.port_range_min = Some(256);
        assert_one(
            &c,
            "security_group \"web\" rule 2",
            "port_range_min (ICMP type) 256 is not within 0..=255",
        );
        let r = &mut c.security_groups[0].rules[1];
        r.port_range_min = Some(1);
        r.port_range_max = Some(300);
        assert_one(
            &c,
            "security_group \"web\" rule 2",
            "port_range_max (ICMP code) 300",
        );
        let r = &mut c.security_groups[0].rules[1];
        r.port_range_min = None;
        r.port_range_max = Some(0);
        assert_one(
            &c,
            "security_group \"web\" rule 2",
            "port_range_max (ICMP code) needs port_range_min (ICMP type)",
        );
    }

    #[test]
    fn rule_remote_prefix_version() {
        let e = rule_error(|r| r.remote_ip_prefix = Some(net("0.0.0.0/0")));
        assert!(
            e.contains("remote_ip_prefix 0.0.0.0/0 is IPv4 but ethertype is IPv6"),
            "{e}"
        );
    }

    #[test]
    fn rule_remote_group_exists() {
        let mut c = base();
        let r = &mut c.security_groups[0].rules[2];
        r.remote_group = Some("db".into());
        assert_one(
            &c,
            "security_group \"web\" rule 3",
            "remote_group \"db\" is not a security group",
        );
        // "default" exists implicitly.
        let r = &mut c.security_groups[0].rules[2];
        r.remote_group = Some("default".into());
        assert_eq!(errors(&c), Vec::<String>::new());
    }

    #[test]
    fn rule_remote_exclusive() {
        let e = rule_error(|r| r.remote_group = Some("web".into()));
        assert!(
            e.contains("remote_ip_prefix and remote_group are mutually exclusive"),
            "{e}"
        );
    }

    // ---- ports ----

    #[test]
    fn port_mac_valid() {
        let mut c = base();
        c.ports[0].mac = "fa:16:3e:79:5a:zz".into();
        assert_one(
            &c,
            "port \"vm1\"",
            "mac \"fa:16:3e:79:5a:zz\" is not a MAC address",
        );
        c.ports[0].mac = "01:00:5e:00:00:01".into();
        assert_one(&c, "port \"vm1\"", "is a multicast address");
        c.ports[0].mac = "00:00:00:00:00:00".into();
        assert_one(&c, "port \"vm1\"", "is all zeros");
    }

    #[test]
    fn port_mac_unique() {
        let mut c = base();
        let mut p = c.ports[0].clone();
        p.name = "vm2".into();
        p.fixed_ips.clear();
        c.ports.push(p);
        assert_one(
            &c,
            "port \"vm2\"",
            "mac fa:16:3e:79:5a:cc is also port \"vm1\"'s",
        );
    }

    #[test]
    fn port_groups_exist() {
        let mut c = base();
        c.ports[0].security_groups = Some(vec!["web".into(), "default".into(), "db".into()]);
        assert_one(&c, "port \"vm1\"", "unknown security group \"db\"");
    }

    #[test]
    fn port_security_off_without_groups() {
        let mut c = base();
        c.ports[0].port_security_enabled = false;
        assert_one(&c, "port \"vm1\"", "port_security_enabled = false");
        c.ports[0].security_groups = Some(Vec::new());
        assert_eq!(errors(&c), Vec::<String>::new());
    }

    #[test]
    fn port_fixed_ip_in_attached_subnet() {
        let mut c = base();
        c.ports[0].fixed_ips.push(ip("2001:db8:beef::4"));
        assert_one(
            &c,
            "port \"vm1\"",
            "fixed_ip 2001:db8:beef::4 is not in any subnet attached to an interface",
        );
    }

    #[test]
    fn port_fixed_ips_one_interface() {
        let mut c = base();
        // Move v4-sub to a second tenant interface.
        c.interfaces[0].subnets = vec!["v6-sub".into()];
        let mut qr1 = c.interfaces[0].clone();
        qr1.name = "qr1".into();
        qr1.mac = None;
        qr1.subnets = vec!["v4-sub".into()];
        c.interfaces.push(qr1);
        c.ports[0].fixed_ips = vec![ip("2001:db8:cafe::4"), ip("198.51.100.4")];
        assert_one(
            &c,
            "port \"vm1\"",
            "fixed_ip 198.51.100.4 is on interface \"qr1\" but the port's other fixed_ips are on \"qr0\"",
        );
    }

    #[test]
    fn port_fixed_ip_unique() {
        let mut c = base();
        let mut p = c.ports[0].clone();
        p.name = "vm2".into();
        p.mac = "fa:16:3e:79:5a:cd".into();
        c.ports.push(p);
        assert_one(
            &c,
            "port \"vm2\"",
            "fixed_ip 198.51.100.4 is also port \"vm1\"'s",
        );
    }

    #[test]
    fn port_fixed_ip_not_gateway() {
        let mut c = base();
        c.ports[0].fixed_ips = vec![ip("198.51.100.1")];
        assert_one(
            &c,
            "port \"vm1\"",
            "fixed_ip 198.51.100.1 is the gateway of subnet \"v4-sub\"",
        );
        c.ports[0].fixed_ips = vec![ip("198.51.100.255")];
        assert_one(&c, "port \"vm1\"", "is the broadcast address of subnet");
    }

    #[test]
    fn port_pair_mac_valid() {
        let mut c = base();
        c.ports[0].allowed_address_pairs = vec![AddressPair {
            ip_address: net("2001:db8:cafe::/64"),
            mac_address: Some("nonsense".into()),
        }];
        assert_one(
            &c,
            "port \"vm1\"",
            "allowed_address_pairs mac_address \"nonsense\" is not a MAC address",
        );
    }

    // ---- prefix delegation ----

    fn with_pd(interface: Option<&str>, len: Option<u8>) -> Config {
        let mut c = base();
        c.prefix_delegation = Some(PrefixDelegation {
            interface: interface.map(String::from),
            prefix_length: len,
        });
        c
    }

    #[test]
    fn pd_interface_exists() {
        let c = with_pd(Some("qg9"), None);
        assert_one(&c, "prefix_delegation:", "unknown interface \"qg9\"");
    }

    #[test]
    fn pd_interface_external() {
        let c = with_pd(Some("qr0"), None);
        assert_one(
            &c,
            "prefix_delegation:",
            "interface \"qr0\" is not external",
        );
        let mut c = with_pd(None, None);
        c.interfaces[1].external = false;
        assert_one(&c, "prefix_delegation:", "no external interface");
    }

    #[test]
    fn pd_prefix_length() {
        assert_eq!(
            errors(&with_pd(Some("qg0"), Some(48))),
            Vec::<String>::new()
        );
        let c = with_pd(Some("qg0"), Some(65));
        assert_one(
            &c,
            "prefix_delegation:",
            "prefix_length 65 is not within 1..=64",
        );
        let c = with_pd(Some("qg0"), Some(0));
        assert_one(&c, "prefix_delegation:", "prefix_length 0");
    }

    // ---- prefix pools ----

    fn with_pool(prefix: &str, len: u8) -> Config {
        let mut c = base();
        c.prefix_pools.push(PrefixPool {
            name: "pd".into(),
            prefix: net(prefix),
            delegated_length: len,
        });
        c
    }

    #[test]
    fn prefix_pool_valid() {
        assert_eq!(
            errors(&with_pool("2001:db8:face::/48", 64)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn prefix_pool_ipv6() {
        let c = with_pool("198.51.100.0/24", 28);
        assert_one(
            &c,
            "prefix_pool \"pd\"",
            "prefix 198.51.100.0/24 is not IPv6",
        );
    }

    #[test]
    fn prefix_pool_delegated_length() {
        let c = with_pool("2001:db8:face::/48", 48);
        assert_one(
            &c,
            "prefix_pool \"pd\"",
            "delegated_length 48 is not within 49..=64",
        );
        let c = with_pool("2001:db8:face::/48", 65);
        assert_one(&c, "prefix_pool \"pd\"", "delegated_length 65");
    }

    #[test]
    fn prefix_pool_host_bits() {
        let c = with_pool("2001:db8:face::1/48", 64);
        assert_one(&c, "prefix_pool \"pd\"", "has host bits set");
    }

    #[test]
    fn prefix_pool_no_subnet_overlap() {
        let c = with_pool("2001:db8:cafe::/48", 64);
        assert_one(
            &c,
            "prefix_pool \"pd\"",
            "prefix 2001:db8:cafe::/48 overlaps subnet \"v6-sub\"",
        );
    }

    #[test]
    fn prefix_pools_do_not_overlap() {
        let mut c = with_pool("2001:db8:face::/48", 64);
        c.prefix_pools.push(PrefixPool {
            name: "pd2".into(),
            prefix: net("2001:db8:face:8000::/49"),
            delegated_length: 64,
        });
        assert_one(&c, "prefix_pool \"pd2\"", "overlaps prefix_pool \"pd\"");
    }

    // ---- all at once ----

    #[test]
    fn reports_every_error_at_once() {
        let mut c = base();
        c.router.name = "r 1".into();
        v6_sub(&mut c).ipv6_address_mode = Some(Ipv6Mode::Dhcpv6Stateless);
        c.interfaces[0].mtu = Some(1000);
        c.routes.push(route("::/0", "2001:db8:cafe:17::2"));
        c.security_groups[0].rules[0].protocol = Some("gre".into());
        c.ports[0].mac = "ff:ff:ff:ff:ff:ff".into();
        let errs = c.validate().unwrap_err();
        let kinds: Vec<ItemKind> = errs.iter().map(|e| e.kind()).collect();
        assert_eq!(
            kinds,
            vec![
                ItemKind::Router,
                ItemKind::Subnet,
                ItemKind::Interface,
                ItemKind::Route,
                ItemKind::SecurityGroup,
                ItemKind::Port,
            ],
            "{errs:#?}"
        );
        assert_eq!(errs[1].name(), "v6-sub");
        assert_eq!(errs[4].rule_index(), Some(1));
    }

    #[test]
    fn validate_never_panics_on_edge_values() {
        let mut c = base();
        c.router.ra = super::super::RaSettings {
            min_interval: u32::MAX,
            max_interval: u32::MAX,
            router_lifetime: u16::MAX,
            hop_limit: 0,
        };
        v6_sub(&mut c).cidr = Some(net("::/0"));
        v6_sub(&mut c).gateway_ip = None;
        subnet(&mut c, "v4-sub").cidr = Some(net("255.255.255.255/32"));
        subnet(&mut c, "v4-sub").gateway_ip = None;
        subnet(&mut c, "v4-sub").allocation_pools = vec![pool("0.0.0.0", "255.255.255.255")];
        c.prefix_pools.push(PrefixPool {
            name: "x".into(),
            prefix: net("::/0"),
            delegated_length: 255,
        });
        assert!(c.validate().is_err());
    }
}
