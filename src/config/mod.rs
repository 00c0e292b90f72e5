//! The router configuration: the TOML schema, Neutron's validation rules,
//! the derived semantics the engine acts on, and `routelet check`'s summary.
//!
//! Contract:
//! - [`Config::from_toml_str`] / [`Config::load`] parse *and* validate: a
//!   `Config` obtained from them satisfies every rule in [`validate`]'s
//!   module doc, so the engine may rely on them (names resolve, prefixes
//!   have no host bits, modes are consistent, pools lie inside their CIDR).
//! - [`Config::validate`] reports every problem at once, each a
//!   [`ConfigError`] naming the item (`subnet "v6-sub": ...`), so that one
//!   `routelet check` run (or one rejected `apply`) shows all of them.
//! - Nothing here panics on any input; a broken file is an error value.
//!
//! Semantics follow Neutron (the talk's `neutron subnet-create` commands and
//! its RA/address mode table) and RFC 4861 §6.2.1 for the RA timers; see
//! DESIGN.md "Config schema" and "Semantics".

// Config text is untrusted input (a file, or `apply` over the control
// socket): no path in here may panic on it.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod derive;
mod schema;
pub mod validate;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use derive::{Dhcpv6Service, RaPolicy, RuleProtocol};
pub use schema::*;

/// The kind of config item an error is about; its spelling is the TOML
/// table name, so a message points at the section to edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// `[router]` (and `[router.ra]`).
    Router,
    /// An `[[interface]]`.
    Interface,
    /// A `[[subnet]]`.
    Subnet,
    /// A `[[route]]`, named by its destination.
    Route,
    /// A `[[security_group]]` (and its rules, by 1-based position).
    SecurityGroup,
    /// A `[[port]]`.
    Port,
    /// The `[prefix_delegation]` section (unnamed).
    PrefixDelegation,
    /// A `[[prefix_pool]]`.
    PrefixPool,
}

impl ItemKind {
    /// The TOML table name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Router => "router",
            ItemKind::Interface => "interface",
            ItemKind::Subnet => "subnet",
            ItemKind::Route => "route",
            ItemKind::SecurityGroup => "security_group",
            ItemKind::Port => "port",
            ItemKind::PrefixDelegation => "prefix_delegation",
            ItemKind::PrefixPool => "prefix_pool",
        }
    }
}

/// One validation error: which item, and what is wrong with it.
///
/// `Display` is the whole message, e.g.
/// `subnet "v6-sub": ipv6_ra_mode "slaac" and ipv6_address_mode "dhcpv6-stateful" must be equal when both are set`;
/// routes are named by destination (`route ::/0: ...`), rules by group and
/// 1-based position (`security_group "web" rule 2: ...`). Names are printed
/// with Rust string escaping, so a name cannot forge extra lines.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConfigError {
    kind: ItemKind,
    name: String,
    rule: Option<usize>,
    message: String,
}

impl ConfigError {
    /// An error about the item `kind` named `name`.
    pub fn new(kind: ItemKind, name: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            kind,
            name: name.into(),
            rule: None,
            message: message.into(),
        }
    }

    /// An error about rule `rule` (1-based) of security group `group`.
    pub fn rule(group: impl Into<String>, rule: usize, message: impl Into<String>) -> Self {
        ConfigError {
            kind: ItemKind::SecurityGroup,
            name: group.into(),
            rule: Some(rule),
            message: message.into(),
        }
    }

    /// The kind of item.
    pub fn kind(&self) -> ItemKind {
        self.kind
    }

    /// The item's name (a route's destination as written; empty for
    /// `[prefix_delegation]`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 1-based rule number, for security-group rule errors.
    pub fn rule_index(&self) -> Option<usize> {
        self.rule
    }

    /// The message without the item prefix.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.kind {
            ItemKind::Route => write!(f, "route {}", self.name)?,
            ItemKind::PrefixDelegation => f.write_str("prefix_delegation")?,
            kind => write!(f, "{} {:?}", kind.as_str(), self.name)?,
        }
        if let Some(rule) = self.rule {
            write!(f, " rule {rule}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Why a config file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or not the schema (unknown key, wrong type); the text is
    /// toml's, with line and column.
    #[error("{0}")]
    Syntax(String),
    /// Well-formed but breaks validation rules: every error, one per line.
    #[error("{}", join_lines(.0))]
    Invalid(Vec<ConfigError>),
}

fn join_lines(errors: &[ConfigError]) -> String {
    let mut out = String::new();
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(out, "{e}");
    }
    out
}

impl Config {
    /// Parses a config from TOML text and validates it.
    pub fn from_toml_str(text: &str) -> Result<Config, LoadError> {
        let config: Config = toml::from_str(text).map_err(|e| LoadError::Syntax(e.to_string()))?;
        config.validate().map_err(LoadError::Invalid)?;
        Ok(config)
    }

    /// Reads, parses and validates the config file at `path`.
    pub fn load(path: &Path) -> Result<Config, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml_str(&text)
    }

    /// `routelet check`'s success output: one short paragraph with what the
    /// router will do: interfaces with their subnets and addresses, per IPv6
    /// subnet the effective RA flags and DHCPv6 service (from the mode
    /// table), pools, DNS, routes, ports, security groups and PD.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("1 {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        let _ = write!(
            s,
            "router {:?}: {}, {}, {}, {}, {}.",
            self.router.name,
            plural(self.interfaces.len(), "interface"),
            plural(self.subnets.len(), "subnet"),
            plural(self.routes.len(), "route"),
            plural(self.ports.len(), "port"),
            plural(self.security_groups.len(), "security group"),
        );
        for iface in &self.interfaces {
            let _ = write!(s, "\n  interface {:?}", iface.name);
            let mut attrs = Vec::new();
            if iface.external {
                attrs.push("external".to_string());
            }
            if let Some(mac) = &iface.mac {
                attrs.push(format!("mac {mac}"));
            }
            if let Some(mtu) = iface.mtu {
                attrs.push(format!("mtu {mtu}"));
            }
            if !attrs.is_empty() {
                let _ = write!(s, " ({})", attrs.join(", "));
            }
            s.push(':');
            let mut parts = Vec::new();
            if !iface.addresses.is_empty() {
                let list: Vec<String> = iface.addresses.iter().map(|a| a.to_string()).collect();
                parts.push(format!(" addresses {}", list.join(", ")));
            }
            for name in &iface.subnets {
                if let Some(subnet) = self.subnets.iter().find(|sn| &sn.name == name) {
                    parts.push(format!(" {}", self.subnet_summary(subnet)));
                }
            }
            if parts.is_empty() {
                parts.push(" no addresses".into());
            }
            s.push_str(&parts.join(";"));
        }
        let unattached: Vec<String> = self
            .subnets
            .iter()
            .filter(|sn| !self.interfaces.iter().any(|i| i.subnets.contains(&sn.name)))
            .map(|sn| format!("{:?}", sn.name))
            .collect();
        if !unattached.is_empty() {
            let _ = write!(
                s,
                "\n  not attached to an interface: {}",
                unattached.join(", ")
            );
        }

        let mut tail = Vec::new();
        let routes: Vec<String> = self
            .routes
            .iter()
            .map(|r| format!("{} via {}", r.destination, r.nexthop))
            .collect();
        tail.push(if routes.is_empty() {
            "routes: none".to_string()
        } else {
            format!("routes: {}", routes.join(", "))
        });
        let ports: Vec<String> = self
            .ports
            .iter()
            .map(|p| {
                let mut text = format!("{:?} {}", p.name, p.mac);
                if !p.fixed_ips.is_empty() {
                    let ips: Vec<String> = p.fixed_ips.iter().map(|ip| ip.to_string()).collect();
                    let _ = write!(text, " [{}]", ips.join(", "));
                }
                let groups = match &p.security_groups {
                    None => "\"default\"".to_string(),
                    Some(g) => g
                        .iter()
                        .map(|n| format!("{n:?}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                if p.port_security_enabled {
                    let _ = write!(text, " groups {groups}");
                } else {
                    text.push_str(" no port security");
                }
                text
            })
            .collect();
        tail.push(if ports.is_empty() {
            "ports: none".to_string()
        } else {
            format!("ports: {}", ports.join("; "))
        });
        let groups: Vec<String> = self
            .security_groups
            .iter()
            .map(|g| format!("{:?} ({})", g.name, plural(g.rules.len(), "rule")))
            .collect();
        tail.push(if groups.is_empty() {
            "security groups: implicit \"default\"".to_string()
        } else {
            format!("security groups: {}", groups.join(", "))
        });
        if let Some(pd) = &self.prefix_delegation {
            let iface = pd
                .interface
                .clone()
                .or_else(|| {
                    self.interfaces
                        .iter()
                        .find(|i| i.external)
                        .map(|i| i.name.clone())
                })
                .unwrap_or_default();
            let users: Vec<String> = self
                .subnets
                .iter()
                .filter(|sn| sn.use_prefix_delegation)
                .map(|sn| format!("{:?}", sn.name))
                .collect();
            tail.push(format!(
                "prefix delegation: client on {:?} requesting /{} for {}",
                iface,
                pd.prefix_length.unwrap_or(64),
                if users.is_empty() {
                    "no subnet".to_string()
                } else {
                    users.join(", ")
                }
            ));
        }
        if !self.prefix_pools.is_empty() {
            let pools: Vec<String> = self
                .prefix_pools
                .iter()
                .map(|p| format!("{:?} {} in /{}s", p.name, p.prefix, p.delegated_length))
                .collect();
            tail.push(format!("PD server pools: {}", pools.join(", ")));
        }
        let _ = write!(s, "\n  {}.", tail.join("; "));
        s
    }

    /// One subnet's line in the summary: prefix, gateway, RA and DHCPv6
    /// behaviour, pools, DNS.
    fn subnet_summary(&self, sn: &Subnet) -> String {
        let mut t = format!("subnet {:?} ", sn.name);
        match sn.prefix() {
            Some(p) => {
                let _ = write!(t, "{p}");
            }
            None if sn.use_prefix_delegation => t.push_str("<delegated /64>"),
            None => t.push_str("<no cidr>"),
        }
        if let Some(gw) = sn.effective_gateway() {
            let _ = write!(t, " gw {gw}");
        }
        if sn.ip_version == 6 {
            match (sn.ra_policy(), sn.ipv6_ra_mode) {
                (Some(p), Some(mode)) => {
                    let _ = write!(
                        t,
                        ", RA {mode} (M={} O={}, prefix L={} A={})",
                        u8::from(p.managed),
                        u8::from(p.other),
                        u8::from(p.on_link),
                        u8::from(p.autonomous)
                    );
                }
                _ => t.push_str(", no RA (external router)"),
            }
            let _ = write!(t, ", DHCPv6 {}", sn.dhcpv6_service().as_str());
        }
        let pools: Vec<String> = sn
            .effective_pools()
            .iter()
            .map(|p| format!("{}-{}", p.start, p.end))
            .collect();
        if !pools.is_empty() {
            let _ = write!(t, ", pool {}", pools.join(", "));
        }
        if !sn.dns_nameservers.is_empty() {
            let dns: Vec<String> = sn.dns_nameservers.iter().map(|d| d.to_string()).collect();
            let _ = write!(t, ", DNS {}", dns.join(", "));
        }
        if !sn.domain_search.is_empty() {
            let _ = write!(t, ", search {}", sn.domain_search.join(", "));
        }
        t
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;

    const SAMPLE: &str = r#"
[router]
name = "r1"

[[interface]]
name = "qr0"
subnets = ["v6-sub", "v4-sub"]
mac = "fa:16:3e:11:11:01"

[[interface]]
name = "qg0"
external = true
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

[[route]]
destination = "::/0"
nexthop = "2001:db8:cafe:17::1"
"#;

    #[test]
    fn loads_and_summarises() {
        let cfg = Config::from_toml_str(SAMPLE).unwrap();
        let s = cfg.summary();
        assert!(
            s.starts_with("router \"r1\": 2 interfaces, 2 subnets, 1 route"),
            "{s}"
        );
        assert!(s.contains("subnet \"v6-sub\" 2001:db8:cafe::/64 gw 2001:db8:cafe::1, RA slaac (M=0 O=0, prefix L=1 A=1), DHCPv6 none, pool 2001:db8:cafe::2-2001:db8:cafe:0:ffff:ffff:ffff:fffe, DNS 2001:db8:cafe:a::e, search openstacklocal"), "{s}");
        assert!(s.contains("subnet \"v4-sub\" 198.51.100.0/24 gw 198.51.100.1, pool 198.51.100.2-198.51.100.254"), "{s}");
        assert!(
            s.contains(
                "interface \"qg0\" (external): addresses 2001:db8:cafe:17::66/64, 203.0.113.102/24"
            ),
            "{s}"
        );
        assert!(s.contains("routes: ::/0 via 2001:db8:cafe:17::1"), "{s}");
    }

    #[test]
    fn syntax_error_has_position() {
        let err = Config::from_toml_str("[router]\nname = \"r1\"\nbogus = 1\n").unwrap_err();
        let LoadError::Syntax(text) = &err else {
            panic!("{err:?}");
        };
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("bogus"), "{text}");
    }

    #[test]
    fn invalid_lists_every_error_one_per_line() {
        let text = SAMPLE.replace("name = \"r1\"", "name = \"r/1\"").replace(
            "ipv6_address_mode = \"slaac\"",
            "ipv6_address_mode = \"dhcpv6-stateful\"",
        );
        let err = Config::from_toml_str(&text).unwrap_err();
        let LoadError::Invalid(errors) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(errors.len(), 2, "{err}");
        let shown = err.to_string();
        assert_eq!(shown.lines().count(), 2, "{shown}");
        assert!(shown.contains("subnet \"v6-sub\": ipv6_ra_mode \"slaac\" and ipv6_address_mode \"dhcpv6-stateful\" must be equal when both are set"), "{shown}");
        assert!(shown.contains("router \"r/1\""), "{shown}");
    }

    #[test]
    fn io_error_names_the_path() {
        let path = Path::new("/nonexistent/routelet-test.toml");
        let err = Config::load(path).unwrap_err();
        assert!(matches!(err, LoadError::Io { .. }));
        assert!(err.to_string().contains("/nonexistent/routelet-test.toml"));
    }

    #[test]
    fn error_display_forms() {
        let e = ConfigError::new(ItemKind::Route, "::/0", "duplicate destination");
        assert_eq!(e.to_string(), "route ::/0: duplicate destination");
        let e = ConfigError::rule("web", 2, "bad");
        assert_eq!(e.to_string(), "security_group \"web\" rule 2: bad");
        assert_eq!(e.kind(), ItemKind::SecurityGroup);
        assert_eq!(e.name(), "web");
        assert_eq!(e.rule_index(), Some(2));
        assert_eq!(e.message(), "bad");
        let e = ConfigError::new(ItemKind::PrefixDelegation, "", "x");
        assert_eq!(e.to_string(), "prefix_delegation: x");
        let e = ConfigError::new(ItemKind::Interface, "q\nr", "x");
        assert_eq!(e.to_string(), "interface \"q\\nr\": x");
    }
}
