//! Neutron's validation rules over a parsed [`Config`], one file per
//! config section.
//!
//! Contract: [`Config::validate`] checks everything in the section modules'
//! docs and returns *every* violation, in file order per section, each a
//! [`ConfigError`] naming its item. It never panics and never stops at the
//! first error, so an operator fixes a file in one round. A config that
//! passes is one the engine can compile without further checks.
//!
//! Rules (Neutron's API checks unless marked otherwise) live beside their
//! code: [`router`], [`interface`], [`subnet`], [`route`],
//! [`security_group`], [`port`], [`prefix_delegation`] (with
//! `[[prefix_pool]]`). Here: names are unique per kind (interfaces,
//! subnets, ports, security groups, prefix pools) and non-empty.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::schema::{Config, Subnet};
use super::{ConfigError, ItemKind};

pub mod interface;
pub mod port;
pub mod prefix_delegation;
pub mod route;
pub mod router;
pub mod security_group;
pub mod subnet;

pub use router::MAX_WORKERS;

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

/// The fixture and helpers every section's tests share.
#[cfg(test)]
mod test_support {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use std::net::IpAddr;

    use ipnet::IpNet;

    use crate::config::{AllocationPool, Config, Route, Subnet};

    /// A small valid router: SLAAC v6 + v4 on qr0, external qg0, a port.
    pub(super) const BASE: &str = include_str!("../../../testdata/config/validate-base.toml");

    pub(super) fn base() -> Config {
        toml::from_str(BASE).unwrap()
    }

    pub(super) fn errors(cfg: &Config) -> Vec<String> {
        match cfg.validate() {
            Ok(()) => Vec::new(),
            Err(errs) => errs.iter().map(|e| e.to_string()).collect(),
        }
    }

    /// The single error `cfg` has; fails when it has none or several.
    pub(super) fn one_error(cfg: &Config) -> String {
        let errs = errors(cfg);
        assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
        errs.into_iter().next().unwrap()
    }

    /// Asserts the single error starts with `item` and contains `phrase`.
    pub(super) fn assert_one(cfg: &Config, item: &str, phrase: &str) {
        let e = one_error(cfg);
        assert!(e.starts_with(item), "{e:?} does not start with {item:?}");
        assert!(e.contains(phrase), "{e:?} does not contain {phrase:?}");
    }

    pub(super) fn subnet<'c>(cfg: &'c mut Config, name: &str) -> &'c mut Subnet {
        cfg.subnets.iter_mut().find(|s| s.name == name).unwrap()
    }

    pub(super) fn v6_sub(cfg: &mut Config) -> &mut Subnet {
        subnet(cfg, "v6-sub")
    }

    pub(super) fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    pub(super) fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    pub(super) fn pool(start: &str, end: &str) -> AllocationPool {
        AllocationPool {
            start: ip(start),
            end: ip(end),
        }
    }

    pub(super) fn route(dest: &str, hop: &str) -> Route {
        Route {
            destination: net(dest),
            nexthop: ip(hop),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::test_support::*;
    use crate::config::*;

    #[test]
    fn valid_config_has_no_errors() {
        assert_eq!(errors(&base()), Vec::<String>::new());
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
                        ..PrefixPool::empty()
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
            ..PrefixPool::empty()
        });
        assert!(c.validate().is_err());
    }
}
