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
//! - Every error carries its line and column where the text shows it:
//!   syntax and schema errors from toml's spans, validation errors from
//!   the item and key they name ([`ConfigError::position`]; see `locate`).
//! - A config over [`MAX_CONFIG_BYTES`] is refused before it is parsed.
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

pub mod delegation;
mod derive;
mod locate;
mod schema;
pub mod validate;

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

pub use derive::{Dhcpv6Service, RaPolicy, RuleProtocol};
pub use locate::MAX_SCHEMA_ERRORS;
pub use schema::*;
pub use validate::MAX_WORKERS;

/// The largest config accepted, in bytes. A real router's file is a few
/// KiB; parsing keeps several times the text's size in memory (a 50 MB
/// file made `check` use 1.28 GB), so anything larger is refused before it
/// is parsed. It is above the control socket's 1 MiB request line on
/// purpose: a config too large to send inline is applied by path.
pub const MAX_CONFIG_BYTES: usize = 4 << 20;

/// A place in the config text: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl core::fmt::Display for Position {
    /// `LINE:COL`, the form editors and compilers use after a file name.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

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
    /// Where the item (or the key the message is about) is in the text;
    /// set by [`Config::from_toml_str`], not part of `Display`.
    position: Option<Position>,
}

impl ConfigError {
    /// An error about the item `kind` named `name`.
    pub fn new(kind: ItemKind, name: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            kind,
            name: name.into(),
            rule: None,
            message: message.into(),
            position: None,
        }
    }

    /// An error about rule `rule` (1-based) of security group `group`.
    pub fn rule(group: impl Into<String>, rule: usize, message: impl Into<String>) -> Self {
        ConfigError {
            kind: ItemKind::SecurityGroup,
            name: group.into(),
            rule: Some(rule),
            message: message.into(),
            position: None,
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

    /// Where in the text the error is, when it was loaded from text and
    /// the item (or its key) could be found there.
    pub fn position(&self) -> Option<Position> {
        self.position
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

/// A TOML error: not TOML, or not the schema (unknown key, wrong type).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyntaxError {
    /// Where toml placed it, when it could.
    pub position: Option<Position>,
    /// toml's message, e.g. "unknown field `bogus`, expected ...".
    pub message: String,
}

impl core::fmt::Display for SyntaxError {
    /// `line 3, column 1: message`, or the message alone when unplaced.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.position {
            Some(p) => write!(f, "line {}, column {}: {}", p.line, p.column, self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Every TOML error of one load, in file order; `Display` puts one per
/// line.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyntaxErrors(pub Vec<SyntaxError>);

impl SyntaxErrors {
    /// The errors, in file order.
    pub fn errors(&self) -> &[SyntaxError] {
        &self.0
    }
}

impl From<&str> for SyntaxErrors {
    /// One error without a position.
    fn from(message: &str) -> Self {
        SyntaxErrors(vec![SyntaxError {
            position: None,
            message: message.to_string(),
        }])
    }
}

impl core::fmt::Display for SyntaxErrors {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Why a config file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read, or is over [`MAX_CONFIG_BYTES`].
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or not the schema (unknown key, wrong type), or text over
    /// [`MAX_CONFIG_BYTES`]: every error toml reports, with line and
    /// column.
    #[error("{0}")]
    Syntax(SyntaxErrors),
    /// Well-formed but breaks validation rules: every error, one per line,
    /// each after its position (`line 17, column 1: subnet "v6-sub": ...`)
    /// when it has one.
    #[error("{}", join_lines(.0))]
    Invalid(Vec<ConfigError>),
}

fn join_lines(errors: &[ConfigError]) -> String {
    let mut out = String::new();
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if let Some(p) = e.position() {
            let _ = write!(out, "line {}, column {}: ", p.line, p.column);
        }
        let _ = write!(out, "{e}");
    }
    out
}

/// The message for a config over [`MAX_CONFIG_BYTES`].
fn too_large(size: u64) -> String {
    format!("the config is {size} bytes, more than the {MAX_CONFIG_BYTES} (4 MiB) allowed")
}

impl Config {
    /// Parses a config from TOML text and validates it. Text over
    /// [`MAX_CONFIG_BYTES`] is refused unparsed. Errors carry their line
    /// and column where the text shows them (see `config::locate`).
    pub fn from_toml_str(text: &str) -> Result<Config, LoadError> {
        if text.len() > MAX_CONFIG_BYTES {
            let size = u64::try_from(text.len()).unwrap_or(u64::MAX);
            return Err(LoadError::Syntax(too_large(size).as_str().into()));
        }
        let (doc, errors) = toml::de::DeTable::parse_recoverable(text);
        if !errors.is_empty() {
            let errors = errors.iter().map(|e| locate::syntax_error(text, e));
            return Err(LoadError::Syntax(SyntaxErrors(errors.collect())));
        }
        let config =
            locate::deserialize(&doc, text).map_err(|e| LoadError::Syntax(SyntaxErrors(e)))?;
        if let Err(mut errors) = config.validate() {
            locate::locate_validation_errors(doc.get_ref(), text, &mut errors);
            return Err(LoadError::Invalid(errors));
        }
        Ok(config)
    }

    /// Reads, parses and validates the config file at `path`. A file over
    /// [`MAX_CONFIG_BYTES`] is refused by its size before it is read, and
    /// at most one byte more is read (a file that grows meanwhile, or one
    /// without a size, like a pipe).
    pub fn load(path: &Path) -> Result<Config, LoadError> {
        let io_error = |source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let too_big = |size| {
            io_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                too_large(size),
            ))
        };
        let limit = u64::try_from(MAX_CONFIG_BYTES).unwrap_or(u64::MAX);
        let file = std::fs::File::open(path).map_err(io_error)?;
        let size = file.metadata().map_err(io_error)?.len();
        if size > limit {
            return Err(too_big(size));
        }
        let mut text = String::new();
        file.take(limit.saturating_add(1))
            .read_to_string(&mut text)
            .map_err(io_error)?;
        if text.len() > MAX_CONFIG_BYTES {
            return Err(too_big(u64::try_from(text.len()).unwrap_or(u64::MAX)));
        }
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
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;

    /// DESIGN.md's two-link router, shared with the control tests.
    const SAMPLE: &str = include_str!("../../testdata/config/r1.toml");

    /// [`SAMPLE`] with a search domain on v6-sub.
    fn sample_with_search(domains: &str) -> String {
        let dns = "dns_nameservers = [\"2001:db8:cafe:a::e\"]";
        assert!(SAMPLE.contains(dns));
        SAMPLE.replace(dns, &format!("{dns}\ndomain_search = [{domains}]"))
    }

    #[test]
    fn loads_and_summarises() {
        let cfg = Config::from_toml_str(&sample_with_search("\"openstacklocal\"")).unwrap();
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
        let LoadError::Syntax(errors) = &err else {
            panic!("{err:?}");
        };
        let [e] = errors.errors() else {
            panic!("{errors:?}");
        };
        assert_eq!(e.position, Some(Position { line: 3, column: 1 }));
        assert!(e.message.contains("bogus"), "{e}");
        assert!(err.to_string().starts_with("line 3, column 1: "), "{err}");
    }

    #[test]
    fn every_syntax_error_has_its_position() {
        // Two broken lines: toml recovers after the first and reports both.
        let text = include_str!("../../testdata/config/check-syntax-errors.toml");
        let err = Config::from_toml_str(text).unwrap_err();
        let LoadError::Syntax(errors) = &err else {
            panic!("{err:?}");
        };
        let lines: Vec<usize> = errors
            .errors()
            .iter()
            .map(|e| e.position.unwrap().line)
            .collect();
        assert!(lines.len() >= 2, "{err}");
        assert_eq!(lines.first(), Some(&5), "{err}");
        assert_eq!(lines.last(), Some(&9), "{err}");
        assert_eq!(err.to_string().lines().count(), lines.len(), "{err}");
    }

    #[test]
    fn every_schema_error_has_its_position() {
        let text = SAMPLE
            .replace("name = \"qr0\"", "name = \"qr0\"\nmtu = \"big\"")
            .replace("ip_version = 4", "ip_version = 4\nbogus = true")
            .replace("[[route]]", "[[route]]\nmetric = 1");
        let err = Config::from_toml_str(&text).unwrap_err();
        let LoadError::Syntax(errors) = &err else {
            panic!("{err:?}");
        };
        let found: Vec<(usize, &str)> = errors
            .errors()
            .iter()
            .map(|e| (e.position.unwrap().line, e.message.as_str()))
            .collect();
        let line_of = |needle: &str| {
            text.lines()
                .position(|l| l.starts_with(needle))
                .map(|i| i + 1)
                .unwrap()
        };
        assert_eq!(found.len(), 3, "{err}");
        assert_eq!(found[0].0, line_of("mtu = \"big\""), "{err}");
        assert_eq!(found[1].0, line_of("bogus"), "{err}");
        assert!(found[1].1.contains("bogus"), "{err}");
        assert_eq!(found[2].0, line_of("metric"), "{err}");
    }

    #[test]
    fn schema_errors_stop_at_the_cap() {
        let mut text = String::from("[router]\nname = \"r1\"\n");
        for i in 0..MAX_SCHEMA_ERRORS + 5 {
            text.push_str(&format!("\n[[interface]]\nname = \"q{i}\"\nbogus = 1\n"));
        }
        let err = Config::from_toml_str(&text).unwrap_err();
        let LoadError::Syntax(errors) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(errors.errors().len(), MAX_SCHEMA_ERRORS);
    }

    #[test]
    fn validation_errors_have_positions() {
        let text = sample_with_search("\"openstacklocal\", \"bad name\"")
            .replace(
                "ipv6_address_mode = \"slaac\"",
                "ipv6_address_mode = \"dhcpv6-stateful\"",
            )
            .replace(
                "subnets = [\"v6-sub\", \"v4-sub\"]",
                "subnets = [\"v6-sub\", \"v4-sub\", \"v9\"]",
            );
        let err = Config::from_toml_str(&text).unwrap_err();
        let at = |needle: &str| position_in(&text, needle);
        let position_of = |phrase: &str| error_position(&err, phrase);
        assert_eq!(
            position_of("must be equal"),
            Some(at("ipv6_ra_mode")),
            "{err}"
        );
        assert_eq!(
            position_of("not a valid DNS name"),
            Some(at("\"bad name\"")),
            "{err}"
        );
        assert_eq!(position_of("unknown subnet"), Some(at("\"v9\"")), "{err}");
        // Display keeps the message whole after the position.
        let shown = err.to_string();
        let p = at("ipv6_ra_mode");
        assert!(
            shown.contains(&format!(
                "line {}, column {}: subnet \"v6-sub\": ipv6_ra_mode",
                p.line, p.column
            )),
            "{shown}"
        );
    }

    /// Where `needle` first stands in `text`.
    fn position_in(text: &str, needle: &str) -> Position {
        locate::position_at(text, text.find(needle).unwrap())
    }

    /// The position of the validation error whose message has `phrase`.
    fn error_position(err: &LoadError, phrase: &str) -> Option<Position> {
        let LoadError::Invalid(errors) = err else {
            panic!("{err:?}");
        };
        errors
            .iter()
            .find(|e| e.message().contains(phrase))
            .and_then(ConfigError::position)
    }

    #[test]
    fn validation_errors_find_router_keys_rules_and_duplicates() {
        let text = format!(
            "{SAMPLE}\n[router.ra]\nmax_interval = 2\n\n[[route]]\ndestination = \"::0/0\"\nnexthop = \"2001:db8:cafe:17::2\"\n\n[[security_group]]\nname = \"web\"\nrules = [\n  {{ direction = \"ingress\", ethertype = \"IPv6\" }},\n  {{ direction = \"ingress\", ethertype = \"IPv4\", protocol = \"gre\" }},\n]\n"
        );
        let err = Config::from_toml_str(&text).unwrap_err();
        let at = |needle: &str| position_in(&text, needle);
        let position_of = |phrase: &str| error_position(&err, phrase);
        assert_eq!(
            position_of("ra max_interval 2"),
            Some(at("max_interval = 2")),
            "{err}"
        );
        // The second ::/0 route is the duplicate, however it is spelled.
        assert_eq!(
            position_of("duplicate destination"),
            Some(at("destination = \"::0/0\"")),
            "{err}"
        );
        assert_eq!(
            position_of("protocol \"gre\""),
            Some(at("protocol = \"gre\"")),
            "{err}"
        );
    }

    #[test]
    fn no_panic_on_any_prefix_or_deep_nesting() {
        // Every prefix of a real config (cut mid-key, mid-string, mid-table)
        // is an error value or a config, never a panic.
        let text = sample_with_search("\"openstacklocal\"");
        for end in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            let _ = Config::from_toml_str(&text[..end]);
        }
        // Nesting past toml's recursion limit, inline and dotted.
        let deep = format!("a = {}1{}", "{ b = ".repeat(5000), " }".repeat(5000));
        assert!(matches!(
            Config::from_toml_str(&deep),
            Err(LoadError::Syntax(_))
        ));
        let dotted = format!("[router]\nname = \"r1\"\n{} = 1\n", ["k"; 5000].join("."));
        assert!(matches!(
            Config::from_toml_str(&dotted),
            Err(LoadError::Syntax(_))
        ));
    }

    #[test]
    fn position_at_counts_lines_and_characters() {
        let text = "ab\nçd\n";
        assert_eq!(
            locate::position_at(text, 0),
            Position { line: 1, column: 1 }
        );
        assert_eq!(
            locate::position_at(text, 3),
            Position { line: 2, column: 1 }
        );
        // 'd' is after the two-byte 'ç': column 2.
        assert_eq!(
            locate::position_at(text, 5),
            Position { line: 2, column: 2 }
        );
        // Inside 'ç' and past the end: clamped, no panic.
        assert_eq!(
            locate::position_at(text, 4),
            Position { line: 2, column: 1 }
        );
        assert_eq!(
            locate::position_at(text, 99),
            Position { line: 3, column: 1 }
        );
    }

    #[test]
    fn refuses_text_over_the_limit_unparsed() {
        let mut text = SAMPLE.to_string();
        text.push_str(&"#".repeat(MAX_CONFIG_BYTES));
        let err = Config::from_toml_str(&text).unwrap_err();
        assert!(matches!(err, LoadError::Syntax(_)), "{err:?}");
        assert!(
            err.to_string().contains(&MAX_CONFIG_BYTES.to_string()),
            "{err}"
        );
    }

    #[test]
    fn load_refuses_a_file_over_the_limit() {
        let dir = std::env::temp_dir().join(format!("routelet-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.toml");
        // A valid config padded with comments past the limit: refused by size.
        let mut text = SAMPLE.to_string();
        text.push_str(&"# padding\n".repeat(MAX_CONFIG_BYTES / 10 + 1));
        std::fs::write(&path, &text).unwrap();
        let err = Config::load(&path).unwrap_err();
        assert!(matches!(err, LoadError::Io { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains(&format!("more than the {MAX_CONFIG_BYTES}")),
            "{err}"
        );
        // At the limit it loads.
        text.truncate(MAX_CONFIG_BYTES);
        let cut = text.rfind('\n').unwrap() + 1;
        text.truncate(cut);
        std::fs::write(&path, &text).unwrap();
        assert!(Config::load(&path).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
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
