//! The JSON shapes of the control replies' `data`: what the runtime
//! produces and `routelet ctl` renders.
//!
//! Contract: the backend answers `status` with a [`Status`], `show
//! interfaces|subnets|routes|neighbors|stats` with an array of
//! [`InterfaceRow`] / [`SubnetRow`] / [`RouteRow`] / [`NeighborRow`] /
//! [`StatsRow`], `show config` with a [`ConfigView`] and `apply` with an
//! [`ApplyOutcome`] (which reads as the older [`Applied`]). The server adds
//! a `control` member, a [`ControlStats`], to every `status` reply. Addresses, prefixes and MACs travel as their usual text
//! forms so that programs reading `--json` need no schema beyond this file.
//! Unknown members are ignored when reading (a newer router may add some);
//! an absent optional member reads as its default.
//!
//! The `from_*` constructors build rows from the engine's own types (config,
//! RIB, neighbor cache, counters) so the runtime only gathers them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::config::{Config, Subnet};
use crate::engine::stats::{Consumed, DropReason, IfaceStats};
use crate::engine::{IfaceId, Instant};
use crate::neighbor::NeighborView;
use crate::route::{NextHop, RouteInfo};

/// `status`: who the router is and how it is doing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// `router.name` of the running config.
    pub router: String,
    pub pid: u32,
    pub uptime_secs: u64,
    pub workers: usize,
    /// Router interfaces in the running config.
    pub interfaces: usize,
    /// 1 for the config the router started with, +1 per successful `apply`.
    pub config_generation: u64,
}

/// One row of `show interfaces`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterfaceRow {
    pub name: String,
    /// The kernel's interface index.
    pub ifindex: u32,
    pub mac: String,
    pub mtu: u32,
    /// The router's fe80::/64 address on the link (EUI-64 of `mac`);
    /// `None` on an interface without IPv6.
    #[serde(default)]
    pub link_local: Option<String>,
    /// Router addresses with prefix length: subnet gateways and the
    /// interface's `addresses`.
    #[serde(default)]
    pub addresses: Vec<String>,
    #[serde(default)]
    pub external: bool,
    /// Whether the router sends RAs on this link.
    #[serde(default)]
    pub ra: bool,
}

/// The RA flags of an IPv6 subnet (RFC 4861 §4.2 M and O, §4.6.2 A).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RaFlags {
    pub managed: bool,
    pub other: bool,
    pub autonomous: bool,
}

/// One row of `show subnets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetRow {
    pub name: String,
    pub ip_version: u8,
    /// The interface the router serves the subnet on, if attached.
    #[serde(default)]
    pub interface: Option<String>,
    /// `None` for a prefix-delegation subnet still waiting for its prefix.
    #[serde(default)]
    pub cidr: Option<String>,
    #[serde(default)]
    pub gateway: Option<String>,
    /// `ipv6_ra_mode` as configured.
    #[serde(default)]
    pub ra_mode: Option<String>,
    /// `ipv6_address_mode` as configured.
    #[serde(default)]
    pub address_mode: Option<String>,
    /// The RA the router sends; `None`: it sends none for this subnet.
    #[serde(default)]
    pub ra: Option<RaFlags>,
    /// The DHCPv6 service: `none`, `stateless` or `stateful`.
    #[serde(default)]
    pub dhcpv6: String,
    /// Effective pools, `start-end`.
    #[serde(default)]
    pub pools: Vec<String>,
    #[serde(default)]
    pub dns: Vec<String>,
    #[serde(default)]
    pub domain_search: Vec<String>,
    /// For a `use_prefix_delegation` subnet: where its /64 came from
    /// (`delegated from PREFIX`), and the delegation's lifetimes left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation: Option<DelegationInfo>,
}

/// Where a prefix-delegation subnet's prefix came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationInfo {
    /// The prefix the upstream delegated, `None` while none is held.
    #[serde(default)]
    pub delegated: Option<String>,
    /// The upstream server's DUID.
    #[serde(default)]
    pub server: Option<String>,
    /// Lifetimes left, seconds; `None`: infinite (or no prefix).
    #[serde(default)]
    pub preferred_secs: Option<u64>,
    #[serde(default)]
    pub valid_secs: Option<u64>,
    /// Earlier prefixes still advertised deprecated: `prefix (valid Ns)`.
    #[serde(default)]
    pub deprecated: Vec<String>,
}

/// One row of `show routes`: one route of the RIB.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRow {
    pub destination: String,
    /// The gateway; `None` for an on-link (connected) route.
    #[serde(default)]
    pub nexthop: Option<String>,
    /// The egress interface, when known (given or resolved).
    #[serde(default)]
    pub dev: Option<String>,
    /// `connected`, `static` or `runtime`.
    pub source: String,
    /// The FIB uses this route for its destination.
    #[serde(default)]
    pub selected: bool,
    /// The next hop resolves to an interface; an unresolved route is kept
    /// but not used.
    #[serde(default)]
    pub resolved: bool,
}

/// One row of `show neighbors`: one entry of an ND or ARP cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighborRow {
    pub iface: String,
    /// `inet6` (ND) or `inet` (ARP), as `ip neigh` says.
    pub family: String,
    pub addr: String,
    /// `None` while INCOMPLETE.
    #[serde(default)]
    pub mac: Option<String>,
    /// RFC 4861's state name: INCOMPLETE, REACHABLE, STALE, DELAY, PROBE.
    pub state: String,
    /// IsRouter.
    #[serde(default)]
    pub router: bool,
    /// Packets waiting for resolution.
    #[serde(default)]
    pub queued: usize,
    /// Seconds since the last state change or confirmation.
    #[serde(default)]
    pub age_secs: u64,
}

/// One row of `show stats`: one interface's counters, summed over workers;
/// or, with `service` set, one local service's counters on that interface
/// (`dhcpv6-server`, `dhcpv6-pd-client`; `iface` empty for the service's
/// own, such as its journal's). Readers that know only interface rows
/// skip rows with a `service`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsRow {
    pub iface: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Event counters by name (`rx_frames`, `tx_na`, ...), and frames used
    /// up on purpose by kind (`consumed_neighbor_advert`, ...: not drops).
    #[serde(default)]
    pub counters: BTreeMap<String, u64>,
    /// Drops by [`DropReason::name`].
    #[serde(default)]
    pub drops: BTreeMap<String, u64>,
}

/// One row of `show leases`: a DHCPv6 binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRow {
    /// `address` (IA_NA) or `prefix` (IA_PD).
    pub kind: String,
    /// The address, or the delegated prefix with its length.
    pub address: String,
    /// The client's DUID, hex with colons (as dibbler and Kea print it).
    pub duid: String,
    pub iaid: u32,
    #[serde(default)]
    pub mac: Option<String>,
    /// The `[[port]]` whose reservation it is.
    #[serde(default)]
    pub port: Option<String>,
    pub interface: String,
    /// The subnet or prefix pool it came from.
    #[serde(default)]
    pub subnet: Option<String>,
    /// `bound`, or `declined` (quarantined).
    pub state: String,
    /// Whether it is a port's fixed address.
    #[serde(default)]
    pub reserved: bool,
    /// Lifetimes left, seconds (0 once past).
    pub preferred_secs: u64,
    pub valid_secs: u64,
    /// For a delegated prefix: the requesting router (the route's next hop).
    #[serde(default)]
    pub via: Option<String>,
}

/// A DUID as hex with colons.
pub fn duid_text(duid: &[u8]) -> String {
    duid.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl LeaseRow {
    /// The row of a lease at `now` (UNIX seconds).
    pub fn from_lease(l: &crate::dhcpv6::store::Lease, now: u64) -> LeaseRow {
        use crate::dhcpv6::store::{LeaseKind, LeaseState};
        LeaseRow {
            kind: match l.kind {
                LeaseKind::Address => "address",
                LeaseKind::Prefix => "prefix",
            }
            .into(),
            address: match l.kind {
                LeaseKind::Address => l.prefix.addr().to_string(),
                LeaseKind::Prefix => l.prefix.to_string(),
            },
            duid: duid_text(&l.duid),
            iaid: l.iaid,
            mac: l.mac.map(|m| crate::wire::EthernetAddress(m).to_string()),
            port: l.port.clone(),
            interface: l.iface.clone(),
            subnet: Some(l.scope.clone()),
            state: match l.state {
                LeaseState::Bound => "bound",
                LeaseState::Declined => "declined",
            }
            .into(),
            reserved: l.port.is_some(),
            preferred_secs: l.preferred_until.saturating_sub(now),
            valid_secs: l.valid_until.saturating_sub(now),
            via: l.via.map(|v| v.to_string()),
        }
    }
}

/// `show config`: the running config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigView {
    pub config_generation: u64,
    /// The config as TOML.
    pub toml: String,
}

/// `apply`'s answer: the config is in. The minimal form; the runtime
/// answers an [`ApplyOutcome`], which reads as this too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The generation now running.
    pub config_generation: u64,
}

/// `apply`'s full answer: the generation now running, and the settings
/// the new config changes that only a restart of `routelet run` puts in
/// effect (the socket it listens on, its worker threads, its packet
/// rings). Until then the router keeps, and `show config` shows, the
/// running values of those.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyOutcome {
    pub config_generation: u64,
    /// Absent or empty: everything applied is in effect.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restart_required: Vec<RestartRequired>,
}

/// One setting an `apply` changed that needs a restart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartRequired {
    /// The config key: `router.control_socket`, `router.workers`,
    /// `router.io`.
    pub key: String,
    /// The value in effect (and shown by `show config`), as TOML.
    pub running: String,
    /// The value the applied config asks for, as TOML.
    pub requested: String,
}

/// The control server's own counters, since it started: the `control`
/// member the server adds to every `status` reply's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ControlStats {
    /// Connections being served now.
    #[serde(default)]
    pub connections: usize,
    #[serde(default)]
    pub max_connections: usize,
    /// Connections answered `busy` and closed: no slot could be made.
    #[serde(default)]
    pub refused: u64,
    /// Connections waiting for a request that were closed to make room
    /// for another client.
    #[serde(default)]
    pub evicted: u64,
    /// Connections closed for not sending a whole request, or not taking
    /// a whole reply, in time.
    #[serde(default)]
    pub timed_out: u64,
    /// Changing requests refused to unprivileged peers.
    #[serde(default)]
    pub denied: u64,
    /// `status` requests answered without a slot while every slot was
    /// taken.
    #[serde(default)]
    pub status_when_full: u64,
}

impl SubnetRow {
    /// The row for a config subnet, with its effective RA flags, DHCPv6
    /// service, gateway and pools (Neutron's defaults applied).
    pub fn from_config(subnet: &Subnet, interface: Option<&str>) -> SubnetRow {
        SubnetRow {
            name: subnet.name.clone(),
            ip_version: subnet.ip_version,
            interface: interface.map(str::to_string),
            cidr: subnet.prefix().map(|p| p.to_string()),
            gateway: subnet.effective_gateway().map(|g| g.to_string()),
            ra_mode: subnet.ipv6_ra_mode.map(|m| m.as_str().to_string()),
            address_mode: subnet.ipv6_address_mode.map(|m| m.as_str().to_string()),
            ra: subnet.ra_policy().map(|p| RaFlags {
                managed: p.managed,
                other: p.other,
                autonomous: p.autonomous,
            }),
            dhcpv6: subnet.dhcpv6_service().as_str().to_string(),
            pools: subnet
                .effective_pools()
                .iter()
                .map(|p| format!("{}-{}", p.start, p.end))
                .collect(),
            dns: subnet
                .dns_nameservers
                .iter()
                .map(|d| d.to_string())
                .collect(),
            domain_search: subnet.domain_search.clone(),
            delegation: None,
        }
    }

    /// Every subnet of `config`, each with the interface it is attached to.
    pub fn all_from_config(config: &Config) -> Vec<SubnetRow> {
        config
            .subnets
            .iter()
            .map(|sn| {
                let iface = config
                    .interfaces
                    .iter()
                    .find(|i| i.subnets.contains(&sn.name))
                    .map(|i| i.name.as_str());
                SubnetRow::from_config(sn, iface)
            })
            .collect()
    }
}

impl RouteRow {
    /// The row for one RIB route; `iface_name` names interface ids.
    pub fn from_info(info: &RouteInfo, iface_name: impl Fn(IfaceId) -> Option<String>) -> RouteRow {
        let given_iface = match info.route.next_hop {
            NextHop::Connected(iface) | NextHop::Gateway { iface, .. } => Some(iface),
            NextHop::Recursive(_) => None,
        };
        let iface = info.resolved.map(|r| r.iface).or(given_iface);
        RouteRow {
            destination: info.route.destination.to_string(),
            nexthop: info.route.next_hop.gateway().map(|g| g.to_string()),
            dev: iface.and_then(iface_name),
            source: info.route.source.as_str().to_string(),
            selected: info.selected,
            resolved: info.resolved.is_some(),
        }
    }
}

impl NeighborRow {
    /// The row for one neighbor cache entry seen at `now`.
    pub fn from_view<A: Into<IpAddr> + Copy>(
        iface: &str,
        view: &NeighborView<A>,
        now: Instant,
    ) -> NeighborRow {
        let addr: IpAddr = view.addr.into();
        NeighborRow {
            iface: iface.to_string(),
            family: if addr.is_ipv6() { "inet6" } else { "inet" }.to_string(),
            addr: addr.to_string(),
            mac: view.mac.map(|m| m.to_string()),
            state: view.state.name().to_string(),
            router: view.is_router,
            queued: view.queued,
            age_secs: now.saturating_since(view.updated).as_secs(),
        }
    }
}

impl NeighborRow {
    /// Merges the workers' neighbor lists into one, sorted by interface,
    /// family and address: the first list's entry wins for an (interface,
    /// address) seen twice (worker 0's view is complete; the others add
    /// entries still resolving on their side). O(n log n): a full table of
    /// 64k entries per worker takes milliseconds, where the former
    /// pairwise comparison took seconds.
    pub fn merge(lists: impl IntoIterator<Item = Vec<NeighborRow>>) -> Vec<NeighborRow> {
        let mut rows: Vec<NeighborRow> = lists.into_iter().flatten().collect();
        // A stable sort keeps the first list's entry first among equals.
        rows.sort_by(|a, b| (&a.iface, &a.family, &a.addr).cmp(&(&b.iface, &b.family, &b.addr)));
        rows.dedup_by(|later, first| later.iface == first.iface && later.addr == first.addr);
        rows
    }
}

impl StatsRow {
    /// The row of a service's counters on an interface (`iface` empty for
    /// the service's own): names starting `drop_` are drops.
    pub fn for_service(service: &str, iface: &str, counters: &[(String, u64)]) -> StatsRow {
        let (drops, events): (Vec<_>, Vec<_>) = counters
            .iter()
            .cloned()
            .partition(|(k, _)| k.starts_with("drop_"));
        StatsRow {
            iface: iface.to_owned(),
            service: Some(service.to_owned()),
            counters: events.into_iter().collect(),
            drops: drops
                .into_iter()
                .map(|(k, v)| (k.trim_start_matches("drop_").to_owned(), v))
                .collect(),
        }
    }

    /// The row for one interface's counters: every event counter and every
    /// drop reason, zeros included, so programs see stable keys.
    pub fn from_stats(iface: &str, stats: &IfaceStats) -> StatsRow {
        StatsRow {
            iface: iface.to_string(),
            service: None,
            counters: stats
                .events()
                .iter()
                .map(|(name, v)| (name.to_string(), *v))
                .chain(
                    Consumed::ALL
                        .iter()
                        .map(|k| (format!("consumed_{}", k.name()), stats.consumed_for(*k))),
                )
                .collect(),
            drops: DropReason::ALL
                .iter()
                .map(|r| (r.name().to_string(), stats.drops_for(*r)))
                .collect(),
        }
    }
}

impl StatsRow {
    /// Adds the frames the kernel dropped because an RX ring was full
    /// (they never reached the engine's counters): `rx_ring_drops` in all,
    /// `rx_ring_drops_main` on the data-path (fanout) sockets and
    /// `rx_ring_drops_neighbor` on the ND/ARP sockets (0 with one worker,
    /// which has none).
    pub fn set_ring_drops(&mut self, main: u64, neighbor: u64) {
        self.counters
            .insert("rx_ring_drops".into(), main.saturating_add(neighbor));
        self.counters.insert("rx_ring_drops_main".into(), main);
        self.counters
            .insert("rx_ring_drops_neighbor".into(), neighbor);
    }
}

impl ConfigView {
    /// The running config re-encoded as TOML, top-level empty lists (no
    /// `[[port]]`, ...) left out. A runtime that keeps the applied text may
    /// show that instead, comments included.
    pub fn from_config(config_generation: u64, config: &Config) -> Result<ConfigView, String> {
        let text = toml::to_string(config).map_err(|e| format!("cannot encode the config: {e}"))?;
        // Top-level keys come before the first table header; all of them
        // are lists that default to empty. Deeper down an empty list can
        // mean something (a port's `security_groups = []` is "no groups",
        // not "default"), so only these go.
        let mut toml = String::with_capacity(text.len());
        let mut top = true;
        for line in text.lines() {
            top &= !line.starts_with('[');
            if top && (line.ends_with(" = []") || line.is_empty()) {
                continue;
            }
            toml.push_str(line);
            toml.push('\n');
        }
        Ok(ConfigView {
            config_generation,
            toml,
        })
    }
}

/// The description of a drop counter by its name, for `show stats`.
pub fn drop_description(name: &str) -> Option<&'static str> {
    DropReason::ALL
        .iter()
        .find(|r| r.name() == name)
        .map(|r| r.describe())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;
    use crate::neighbor::NeighborState;
    use crate::route::{Resolved, Route, RouteSource};
    use crate::wire::EthernetAddress;
    use std::net::Ipv6Addr;

    const CONFIG: &str = r#"
[router]
name = "r1"

[[interface]]
name = "qr0"
subnets = ["v6-sub"]

[[subnet]]
name = "v6-sub"
ip_version = 6
cidr = "2001:db8:cafe::/64"
ipv6_ra_mode = "dhcpv6-stateful"
ipv6_address_mode = "dhcpv6-stateful"
dns_nameservers = ["2001:db8:cafe:a::e"]

[[subnet]]
name = "v4-sub"
ip_version = 4
cidr = "198.51.100.0/24"
"#;

    #[test]
    fn subnet_rows_from_config() {
        let config = Config::from_toml_str(CONFIG).unwrap();
        let rows = SubnetRow::all_from_config(&config);
        assert_eq!(rows.len(), 2);
        let v6 = &rows[0];
        assert_eq!(v6.interface.as_deref(), Some("qr0"));
        assert_eq!(v6.cidr.as_deref(), Some("2001:db8:cafe::/64"));
        assert_eq!(v6.gateway.as_deref(), Some("2001:db8:cafe::1"));
        assert_eq!(
            v6.ra,
            Some(RaFlags {
                managed: true,
                other: false,
                autonomous: false
            })
        );
        assert_eq!(v6.dhcpv6, "stateful");
        assert_eq!(
            v6.pools,
            ["2001:db8:cafe::2-2001:db8:cafe:0:ffff:ffff:ffff:fffe"]
        );
        assert_eq!(v6.dns, ["2001:db8:cafe:a::e"]);
        let v4 = &rows[1];
        assert_eq!(v4.interface, None);
        assert_eq!(v4.ra, None);
        assert_eq!(v4.dhcpv6, "none");
        assert_eq!(v4.pools, ["198.51.100.2-198.51.100.254"]);
    }

    #[test]
    fn route_row_from_info() {
        let info = RouteInfo {
            route: Route {
                destination: "::/0".parse().unwrap(),
                source: RouteSource::Static,
                next_hop: NextHop::Recursive("2001:db8:cafe:17::1".parse().unwrap()),
            },
            resolved: Some(Resolved {
                iface: IfaceId(1),
                gateway: Some("2001:db8:cafe:17::1".parse().unwrap()),
            }),
            selected: true,
        };
        let names = |id: IfaceId| ["qr0", "qg0"].get(usize::from(id.0)).map(|s| s.to_string());
        let row = RouteRow::from_info(&info, names);
        assert_eq!(
            row,
            RouteRow {
                destination: "::/0".into(),
                nexthop: Some("2001:db8:cafe:17::1".into()),
                dev: Some("qg0".into()),
                source: "static".into(),
                selected: true,
                resolved: true,
            }
        );
        let unresolved = RouteInfo {
            resolved: None,
            selected: false,
            ..info
        };
        let row = RouteRow::from_info(&unresolved, names);
        assert_eq!(row.dev, None);
        assert!(!row.resolved);
    }

    #[test]
    fn neighbor_row_from_view() {
        let view = NeighborView {
            addr: "2001:db8:cafe::5".parse::<Ipv6Addr>().unwrap(),
            mac: Some(EthernetAddress([0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc])),
            state: NeighborState::Reachable,
            is_router: false,
            probes: 0,
            queued: 0,
            updated: Instant::from_secs(10),
            last_used: None,
            deadline: Instant::from_secs(40),
        };
        let row = NeighborRow::from_view("qr0", &view, Instant::from_secs(17));
        assert_eq!(row.family, "inet6");
        assert_eq!(row.addr, "2001:db8:cafe::5");
        assert_eq!(row.mac.as_deref(), Some("fa:16:3e:79:5a:cc"));
        assert_eq!(row.state, "REACHABLE");
        assert_eq!(row.age_secs, 7);
    }

    #[test]
    fn stats_row_from_stats() {
        let mut stats = IfaceStats {
            rx_frames: 5,
            ..IfaceStats::default()
        };
        stats.drop(DropReason::NdInvalid);
        let row = StatsRow::from_stats("qr0", &stats);
        assert_eq!(row.counters.get("rx_frames"), Some(&5));
        assert_eq!(row.drops.get("nd_invalid"), Some(&1));
        assert_eq!(row.drops.len(), DropReason::COUNT);
        assert_eq!(
            drop_description("nd_invalid"),
            Some(DropReason::NdInvalid.describe())
        );
        assert_eq!(drop_description("no_such_counter"), None);
    }

    #[test]
    fn stats_row_shows_ring_drops_per_socket_kind() {
        let mut row = StatsRow::from_stats("qr0", &IfaceStats::default());
        row.set_ring_drops(3, 40);
        assert_eq!(row.counters.get("rx_ring_drops"), Some(&43));
        assert_eq!(row.counters.get("rx_ring_drops_main"), Some(&3));
        assert_eq!(row.counters.get("rx_ring_drops_neighbor"), Some(&40));
    }

    #[test]
    fn config_view_round_trips() {
        let config = Config::from_toml_str(CONFIG).unwrap();
        let view = ConfigView::from_config(3, &config).unwrap();
        assert!(
            view.toml.starts_with("[router]\nname = \"r1\"\n"),
            "{}",
            view.toml
        );
        assert!(!view.toml.contains("port = []"), "{}", view.toml);
        assert_eq!(Config::from_toml_str(&view.toml).unwrap(), config);
    }

    fn neighbor(iface: &str, addr: String, state: &str) -> NeighborRow {
        NeighborRow {
            iface: iface.into(),
            family: "inet6".into(),
            addr,
            mac: None,
            state: state.into(),
            router: false,
            queued: 0,
            age_secs: 0,
        }
    }

    #[test]
    fn neighbor_merge_dedups_first_wins_sorted() {
        let w0 = vec![
            neighbor("qr0", "2001:db8:cafe::2".into(), "REACHABLE"),
            neighbor("qg0", "2001:db8:cafe:17::1".into(), "STALE"),
        ];
        let w1 = vec![
            neighbor("qr0", "2001:db8:cafe::2".into(), "INCOMPLETE"),
            neighbor("qr0", "2001:db8:cafe::3".into(), "INCOMPLETE"),
        ];
        let rows = NeighborRow::merge([w0, w1]);
        let seen: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| (r.iface.as_str(), r.addr.as_str(), r.state.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("qg0", "2001:db8:cafe:17::1", "STALE"),
                ("qr0", "2001:db8:cafe::2", "REACHABLE"),
                ("qr0", "2001:db8:cafe::3", "INCOMPLETE"),
            ]
        );
    }

    /// Two workers with 64k neighbors each (the probe's table): the merge
    /// used to compare every pair (8.1 s in release at 64k entries).
    #[test]
    fn neighbor_merge_of_full_tables_is_fast() {
        let table = |state: &str| -> Vec<NeighborRow> {
            (0..65_536u32)
                .map(|i| neighbor("qr0", format!("2001:db8:cafe::{i:x}"), state))
                .collect()
        };
        let (w0, w1) = (table("REACHABLE"), table("STALE"));
        let t0 = std::time::Instant::now();
        let rows = NeighborRow::merge([w0, w1]);
        let took = t0.elapsed();
        assert_eq!(rows.len(), 65_536);
        assert!(rows.iter().all(|r| r.state == "REACHABLE"));
        // Debug build on a shared 2-core box: ~0.1 s measured.
        assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    }

    #[test]
    fn rows_tolerate_missing_and_extra_members() {
        let row: RouteRow =
            serde_json::from_str(r#"{"destination":"::/0","source":"static","metric":5}"#).unwrap();
        assert_eq!(row.nexthop, None);
        assert!(!row.selected);
    }
}
