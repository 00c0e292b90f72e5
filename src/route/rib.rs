//! The RIB: every route the router knows, by prefix and source.
//!
//! Contract: at most one route per (prefix, [`RouteSource`]); inserting the
//! same pair again replaces the next hop. Routes of different sources for the
//! same prefix coexist, and [`Rib::compile`] picks, per prefix, the most
//! preferred source whose next hop resolves (Connected, then Static, then
//! Runtime): removing a connected or static route therefore uncovers the
//! runtime one instead of losing the prefix. Destinations are stored with
//! host bits cleared. Nothing here is on the fast path; it allocates freely
//! and keeps its prefixes in `prefix-trie` maps (DESIGN.md "Crates").
//!
//! Next-hop resolution (RFC 1812 §5.2.4.3 leaves it to the router): a
//! [`NextHop::Recursive`] gateway is looked up, longest match, among the
//! connected routes only, one level deep. A gateway that is not on a
//! connected prefix (including a link-local one, which needs an explicit
//! interface: [`NextHop::Gateway`]) leaves its route unresolved: kept in the
//! RIB so that it comes back when the prefix does, out of the FIB, and
//! listed by [`Rib::unresolved`] for `ctl show routes`.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use prefix_trie::PrefixMap;

use super::{Fib, FibAction, FibEntry, NextHop, RouteSource, NO_ADJACENCY};
use crate::base::IfaceId;
use crate::config::{Config, Interface};

/// Why the RIB refused a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RibError {
    /// The gateway is of the other address family than the destination
    /// (IPv4 via IPv6, RFC 5549, is not supported).
    #[error("next hop {gateway} is not of the same family as {destination}")]
    FamilyMismatch { destination: IpNet, gateway: IpAddr },
    /// The gateway is unspecified, multicast or the IPv4 broadcast address:
    /// there is no neighbor to send to.
    #[error("next hop {0} is not a unicast address")]
    BadGateway(IpAddr),
    /// A connected route must be on-link ([`NextHop::Connected`]): it is
    /// what gateways resolve through, so it cannot itself need resolving.
    #[error("connected route {0} must be on-link")]
    ConnectedNotOnLink(IpNet),
}

/// One route of the RIB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    pub destination: IpNet,
    pub source: RouteSource,
    pub next_hop: NextHop,
}

/// A next hop after resolution: what a FIB entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Resolved {
    pub iface: IfaceId,
    /// `None`: on-link, resolve the destination itself.
    pub gateway: Option<IpAddr>,
}

/// A route as `ctl show routes` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RouteInfo {
    pub route: Route,
    /// `None`: the next hop does not resolve (the route is not in the FIB).
    pub resolved: Option<Resolved>,
    /// Whether this is the route the FIB uses for its prefix.
    pub selected: bool,
}

/// The routes of one prefix, one per source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Slot {
    connected: Option<NextHop>,
    static_: Option<NextHop>,
    runtime: Option<NextHop>,
}

impl Slot {
    fn get_mut(&mut self, source: RouteSource) -> &mut Option<NextHop> {
        match source {
            RouteSource::Connected => &mut self.connected,
            RouteSource::Static => &mut self.static_,
            RouteSource::Runtime => &mut self.runtime,
        }
    }

    /// The routes, most preferred first.
    fn routes(&self) -> impl Iterator<Item = (RouteSource, NextHop)> + '_ {
        RouteSource::ALL
            .into_iter()
            .zip([self.connected, self.static_, self.runtime])
            .filter_map(|(s, h)| Some((s, h?)))
    }

    fn is_empty(&self) -> bool {
        self.routes().next().is_none()
    }
}

/// The connected prefixes, for resolving recursive gateways.
struct Resolver {
    v6: PrefixMap<Ipv6Net, IfaceId>,
    v4: PrefixMap<Ipv4Net, IfaceId>,
}

impl Resolver {
    fn resolve(&self, next_hop: NextHop) -> Option<Resolved> {
        match next_hop {
            NextHop::Connected(iface) => Some(Resolved {
                iface,
                gateway: None,
            }),
            NextHop::Gateway { addr, iface } => Some(Resolved {
                iface,
                gateway: Some(addr),
            }),
            NextHop::Recursive(addr) => {
                let iface = match addr {
                    IpAddr::V6(a) => *self.v6.get_lpm(&Ipv6Net::from(a))?.1,
                    IpAddr::V4(a) => *self.v4.get_lpm(&Ipv4Net::from(a))?.1,
                };
                Some(Resolved {
                    iface,
                    gateway: Some(addr),
                })
            }
        }
    }
}

/// The authoritative route table. See the module doc for the rules.
#[derive(Debug, Clone, Default)]
pub struct Rib {
    v6: PrefixMap<Ipv6Net, Slot>,
    v4: PrefixMap<Ipv4Net, Slot>,
    /// The router's own addresses and its subnets' broadcast addresses:
    /// host entries of the FIB (receive, drop), not routes, so `show
    /// routes` does not list them.
    local: Vec<LocalAddress>,
}

/// A host entry the FIB gets besides the routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalAddress {
    /// One of the router's addresses on `iface`: packets to it are local.
    Receive(IpAddr, IfaceId),
    /// The broadcast address of a connected IPv4 subnet on `iface`.
    Broadcast(Ipv4Addr, IfaceId),
}

impl Rib {
    /// An empty RIB.
    pub fn new() -> Rib {
        Rib::default()
    }

    /// The RIB of a config: for each interface that `iface_id` knows (the
    /// engine passes `|name| compiled.iface_by_name(name).map(|i| i.id)`),
    /// its [`connected_prefixes`] as connected routes, then every
    /// `[[route]]` as a static route with a recursive next hop. A prefix
    /// connected on two interfaces stays on the first (config order), as
    /// validation attaches a subnet to the first interface listing it.
    ///
    /// Fails only on a route that validation rejects anyway (family
    /// mismatch, multicast next hop).
    pub fn from_config<F>(config: &Config, iface_id: F) -> Result<Rib, RibError>
    where
        F: Fn(&str) -> Option<IfaceId>,
    {
        let mut rib = Rib::new();
        for iface in &config.interfaces {
            let Some(id) = iface_id(&iface.name) else {
                continue;
            };
            for prefix in connected_prefixes(config, iface) {
                if rib.get(RouteSource::Connected, prefix).is_none() {
                    rib.add_connected(prefix, id);
                }
            }
        }
        for route in &config.routes {
            rib.insert(
                RouteSource::Static,
                route.destination,
                NextHop::Recursive(route.nexthop),
            )?;
        }
        Ok(rib)
    }

    /// Adds (or moves) the connected route of `prefix` to `iface`; returns
    /// the previous interface. Host bits are cleared, so an interface
    /// address such as `2001:db8::1/64` can be passed as is.
    pub fn add_connected(&mut self, prefix: IpNet, iface: IfaceId) -> Option<IfaceId> {
        let slot = self.slot_mut(prefix.trunc());
        match slot
            .get_mut(RouteSource::Connected)
            .replace(NextHop::Connected(iface))
        {
            Some(NextHop::Connected(old)) => Some(old),
            _ => None,
        }
    }

    /// Inserts the route of `source` for `destination` (host bits cleared),
    /// replacing that source's previous route for the prefix, which it
    /// returns. Routes of other sources for the prefix are untouched.
    pub fn insert(
        &mut self,
        source: RouteSource,
        destination: IpNet,
        next_hop: NextHop,
    ) -> Result<Option<NextHop>, RibError> {
        let destination = destination.trunc();
        check(source, destination, next_hop)?;
        Ok(self.slot_mut(destination).get_mut(source).replace(next_hop))
    }

    /// Removes the route of `source` for `destination` (host bits cleared);
    /// returns its next hop. Other sources' routes for it stay.
    pub fn remove(&mut self, source: RouteSource, destination: IpNet) -> Option<NextHop> {
        match destination.trunc() {
            IpNet::V6(net) => remove_from(&mut self.v6, &net, source),
            IpNet::V4(net) => remove_from(&mut self.v4, &net, source),
        }
    }

    /// The route of `source` for exactly `destination`.
    pub fn get(&self, source: RouteSource, destination: IpNet) -> Option<NextHop> {
        let mut slot = match destination.trunc() {
            IpNet::V6(net) => *self.v6.get(&net)?,
            IpNet::V4(net) => *self.v4.get(&net)?,
        };
        *slot.get_mut(source)
    }

    /// Number of routes (all sources).
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the RIB holds no route.
    pub fn is_empty(&self) -> bool {
        self.v6.is_empty() && self.v4.is_empty()
    }

    /// Every route: IPv6 then IPv4, by prefix, then by preference.
    pub fn iter(&self) -> impl Iterator<Item = Route> + '_ {
        let v6 = self.v6.iter().map(|(net, slot)| (IpNet::V6(net), slot));
        let v4 = self.v4.iter().map(|(net, slot)| (IpNet::V4(net), slot));
        v6.chain(v4).flat_map(|(destination, slot)| {
            slot.routes().map(move |(source, next_hop)| Route {
                destination,
                source,
                next_hop,
            })
        })
    }

    /// Every route with its resolution and whether the FIB uses it (for
    /// `ctl show routes`).
    pub fn routes(&self) -> Vec<RouteInfo> {
        let resolver = self.resolver();
        let mut out = Vec::new();
        let mut current: Option<IpNet> = None;
        let mut selected_done = false;
        for route in self.iter() {
            if current != Some(route.destination) {
                current = Some(route.destination);
                selected_done = false;
            }
            let resolved = resolver.resolve(route.next_hop);
            let selected = resolved.is_some() && !selected_done;
            selected_done |= selected;
            out.push(RouteInfo {
                route,
                resolved,
                selected,
            });
        }
        out
    }

    /// The routes whose next hop does not resolve, hence not in the FIB.
    pub fn unresolved(&self) -> Vec<Route> {
        let resolver = self.resolver();
        self.iter()
            .filter(|r| resolver.resolve(r.next_hop).is_none())
            .collect()
    }

    /// Compiles the FIB: per prefix, the most preferred route that
    /// resolves.
    pub fn compile(&self) -> Fib {
        let resolver = self.resolver();
        let v6 = self.v6.iter().map(|(net, slot)| (IpNet::V6(net), slot));
        let v4 = self.v4.iter().map(|(net, slot)| (IpNet::V4(net), slot));
        let entries = v6.chain(v4).filter_map(|(prefix, slot)| {
            slot.routes().find_map(|(source, next_hop)| {
                let r = resolver.resolve(next_hop)?;
                Some(FibEntry {
                    prefix,
                    iface: r.iface,
                    gateway: r.gateway,
                    source,
                    action: FibAction::Forward,
                    adjacency: NO_ADJACENCY,
                })
            })
        });
        // Host entries come last: for the same prefix the later one wins.
        let local = self.local.iter().map(|l| {
            let (addr, iface, action) = match *l {
                LocalAddress::Receive(a, i) => (a, i, FibAction::Receive),
                LocalAddress::Broadcast(a, i) => (IpAddr::V4(a), i, FibAction::Drop),
            };
            FibEntry {
                prefix: IpNet::from(addr),
                iface,
                gateway: None,
                source: RouteSource::Connected,
                action,
                adjacency: NO_ADJACENCY,
            }
        });
        Fib::from_entries(entries.chain(local))
    }

    /// Sets the host entries the compiled FIB carries besides the routes:
    /// the router's own addresses (receive) and its subnets' broadcast
    /// addresses (drop), so one lookup tells transit from local.
    pub fn set_local_addresses(&mut self, local: Vec<LocalAddress>) {
        self.local = local;
    }

    fn resolver(&self) -> Resolver {
        let mut resolver = Resolver {
            v6: PrefixMap::new(),
            v4: PrefixMap::new(),
        };
        for (net, slot) in self.v6.iter() {
            if let Some(NextHop::Connected(iface)) = slot.connected {
                resolver.v6.insert(net, iface);
            }
        }
        for (net, slot) in self.v4.iter() {
            if let Some(NextHop::Connected(iface)) = slot.connected {
                resolver.v4.insert(net, iface);
            }
        }
        resolver
    }

    fn slot_mut(&mut self, destination: IpNet) -> &mut Slot {
        match destination {
            IpNet::V6(net) => self.v6.entry(net).or_default(),
            IpNet::V4(net) => self.v4.entry(net).or_default(),
        }
    }
}

fn remove_from<P: prefix_trie::Prefix>(
    map: &mut PrefixMap<P, Slot>,
    net: &P,
    source: RouteSource,
) -> Option<NextHop> {
    let slot = map.get_mut(net)?;
    let old = slot.get_mut(source).take();
    if slot.is_empty() {
        map.remove(net);
    }
    old
}

/// The semantic checks of [`Rib::insert`].
fn check(source: RouteSource, destination: IpNet, next_hop: NextHop) -> Result<(), RibError> {
    let gateway = match next_hop {
        NextHop::Connected(_) => return Ok(()),
        NextHop::Gateway { addr, .. } | NextHop::Recursive(addr) => addr,
    };
    if source == RouteSource::Connected {
        return Err(RibError::ConnectedNotOnLink(destination));
    }
    if gateway.is_ipv4() != destination.addr().is_ipv4() {
        return Err(RibError::FamilyMismatch {
            destination,
            gateway,
        });
    }
    let unusable = match gateway {
        IpAddr::V6(a) => a.is_unspecified() || a.is_multicast(),
        IpAddr::V4(a) => a.is_unspecified() || a.is_multicast() || a.is_broadcast(),
    };
    if unusable {
        return Err(RibError::BadGateway(gateway));
    }
    Ok(())
}

/// The prefixes `iface` is connected to: the CIDRs of the subnets it lists
/// (PD subnets without a prefix yet are skipped: the engine adds theirs
/// with [`Rib::add_connected`] when delegated) and the prefixes of its
/// `addresses`, host bits cleared.
pub fn connected_prefixes<'a>(
    config: &'a Config,
    iface: &'a Interface,
) -> impl Iterator<Item = IpNet> + 'a {
    let subnets = iface.subnets.iter().filter_map(move |name| {
        config
            .subnets
            .iter()
            .find(|s| &s.name == name)
            .and_then(|s| s.prefix())
    });
    subnets.chain(iface.addresses.iter().map(|a| a.trunc()))
}

#[cfg(test)]
// Fixtures cast small, known values.
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }
    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// qr0 (0): 2001:db8:1::/64, 198.51.100.0/25; qg0 (1): 2001:db8:ff::/64,
    /// 203.0.113.0/24.
    fn base() -> Rib {
        let mut rib = Rib::new();
        rib.add_connected(net("2001:db8:1::1/64"), IfaceId(0));
        rib.add_connected(net("198.51.100.0/25"), IfaceId(0));
        rib.add_connected(net("2001:db8:ff::/64"), IfaceId(1));
        rib.add_connected(net("203.0.113.0/24"), IfaceId(1));
        rib
    }

    #[test]
    fn from_config_forwarding_example() {
        let config = Config::from_toml_str(include_str!("../../examples/forwarding.toml")).unwrap();
        let names = ["qr0", "qg0"];
        let rib = Rib::from_config(&config, |n| {
            names
                .iter()
                .position(|x| *x == n)
                .map(|i| IfaceId(i as u16))
        })
        .unwrap();
        assert_eq!(rib.len(), 6);
        assert!(rib.unresolved().is_empty());
        let fib = rib.compile();
        let e = fib.lookup(ip("2001:db8:beef::1")).unwrap();
        assert_eq!(e.iface, IfaceId(1));
        assert_eq!(e.gateway, Some(ip("2001:db8:cafe:17::1")));
        assert_eq!(e.source, RouteSource::Static);
        let e = fib.lookup(ip("2001:db8:cafe::42")).unwrap();
        assert_eq!((e.iface, e.gateway), (IfaceId(0), None));
        // No IPv6 default: the capture's "no route to destination".
        assert!(fib.lookup(ip("2001:db8:dead::1")).is_none());
        let e = fib.lookup(ip("203.0.113.50")).unwrap();
        assert_eq!((e.iface, e.gateway), (IfaceId(1), None));
        let e = fib.lookup(ip("198.51.100.7")).unwrap();
        assert_eq!((e.iface, e.source), (IfaceId(0), RouteSource::Connected));
        let default = fib.entries().iter().find(|e| e.prefix == net("0.0.0.0/0"));
        assert_eq!(default.unwrap().gateway, Some(ip("203.0.113.1")));
    }

    #[test]
    fn from_config_skips_unknown_interfaces() {
        let config = Config::from_toml_str(include_str!("../../examples/forwarding.toml")).unwrap();
        let rib = Rib::from_config(&config, |n| (n == "qr0").then_some(IfaceId(0))).unwrap();
        // The static routes' gateways were on qg0: both unresolved.
        assert_eq!(rib.unresolved().len(), 2);
        assert_eq!(rib.compile().len(), 2);
    }

    #[test]
    fn connected_beats_static_beats_runtime() {
        let mut rib = base();
        let dst = net("2001:db8:1::/64");
        let gw = NextHop::Recursive(ip("2001:db8:ff::1"));
        rib.insert(RouteSource::Static, dst, gw).unwrap();
        rib.insert(RouteSource::Runtime, dst, NextHop::Connected(IfaceId(7)))
            .unwrap();
        let e = *rib.compile().lookup(ip("2001:db8:1::9")).unwrap();
        assert_eq!(
            (e.source, e.iface, e.gateway),
            (RouteSource::Connected, IfaceId(0), None)
        );

        rib.remove(RouteSource::Connected, dst);
        let e = *rib.compile().lookup(ip("2001:db8:1::9")).unwrap();
        assert_eq!(e.source, RouteSource::Static);
        assert_eq!(
            (e.iface, e.gateway),
            (IfaceId(1), Some(ip("2001:db8:ff::1")))
        );

        rib.remove(RouteSource::Static, dst);
        let e = *rib.compile().lookup(ip("2001:db8:1::9")).unwrap();
        assert_eq!((e.source, e.iface), (RouteSource::Runtime, IfaceId(7)));

        let infos: Vec<_> = rib
            .routes()
            .into_iter()
            .filter(|i| i.route.destination == dst)
            .collect();
        assert_eq!(infos.len(), 1);
        assert!(infos[0].selected);
    }

    #[test]
    fn unresolvable_static_excluded_and_reported() {
        let mut rib = base();
        let dst = net("2001:db8:beef::/48");
        // Not on a connected prefix.
        rib.insert(
            RouteSource::Static,
            dst,
            NextHop::Recursive(ip("2001:db8:77::1")),
        )
        .unwrap();
        // Link-local needs an explicit interface.
        let dst2 = net("2001:db8:bee0::/48");
        rib.insert(RouteSource::Static, dst2, NextHop::Recursive(ip("fe80::1")))
            .unwrap();
        let fib = rib.compile();
        assert!(fib.lookup(ip("2001:db8:beef::1")).is_none());
        assert!(fib.lookup(ip("2001:db8:bee0::1")).is_none());
        let unresolved = rib.unresolved();
        assert_eq!(unresolved.len(), 2);
        assert!(unresolved.iter().all(|r| r.source == RouteSource::Static));
        let info = rib
            .routes()
            .into_iter()
            .find(|i| i.route.destination == dst)
            .unwrap();
        assert_eq!((info.resolved, info.selected), (None, false));

        // A runtime route for the same prefix takes over while the static
        // one cannot resolve...
        rib.insert(
            RouteSource::Runtime,
            dst,
            NextHop::Gateway {
                addr: ip("fe80::2"),
                iface: IfaceId(1),
            },
        )
        .unwrap();
        let e = *rib.compile().lookup(ip("2001:db8:beef::1")).unwrap();
        assert_eq!(
            (e.source, e.gateway),
            (RouteSource::Runtime, Some(ip("fe80::2")))
        );

        // ...and the static one wins again once its gateway is connected.
        rib.add_connected(net("2001:db8:77::/64"), IfaceId(2));
        let e = *rib.compile().lookup(ip("2001:db8:beef::1")).unwrap();
        assert_eq!((e.source, e.iface), (RouteSource::Static, IfaceId(2)));
        assert_eq!(rib.unresolved().len(), 1);
    }

    #[test]
    fn recursive_resolution_takes_longest_connected() {
        let mut rib = base();
        rib.add_connected(net("2001:db8:ff::/80"), IfaceId(3));
        // A static /96 covering the gateway must not be used to resolve it.
        rib.insert(
            RouteSource::Static,
            net("2001:db8:ff::/96"),
            NextHop::Gateway {
                addr: ip("fe80::9"),
                iface: IfaceId(4),
            },
        )
        .unwrap();
        rib.insert(
            RouteSource::Static,
            net("::/0"),
            NextHop::Recursive(ip("2001:db8:ff::1")),
        )
        .unwrap();
        let e = *rib.compile().lookup(ip("2001:db8:9999::1")).unwrap();
        assert_eq!((e.iface, e.prefix), (IfaceId(3), net("::/0")));
    }

    #[test]
    fn runtime_add_replace_remove() {
        let mut rib = base();
        let dst = net("2001:db8:40::/56");
        let a = NextHop::Gateway {
            addr: ip("fe80::a"),
            iface: IfaceId(0),
        };
        let b = NextHop::Gateway {
            addr: ip("fe80::b"),
            iface: IfaceId(0),
        };
        assert_eq!(rib.insert(RouteSource::Runtime, dst, a), Ok(None));
        assert_eq!(rib.insert(RouteSource::Runtime, dst, b), Ok(Some(a)));
        assert_eq!(rib.get(RouteSource::Runtime, dst), Some(b));
        let e = *rib.compile().lookup(ip("2001:db8:40:ff::1")).unwrap();
        assert_eq!(e.gateway, Some(ip("fe80::b")));
        assert_eq!(rib.len(), 5);

        assert_eq!(rib.remove(RouteSource::Static, dst), None);
        assert_eq!(rib.remove(RouteSource::Runtime, dst), Some(b));
        assert_eq!(rib.remove(RouteSource::Runtime, dst), None);
        assert_eq!(rib.len(), 4);
        assert!(rib.compile().lookup(ip("2001:db8:40:ff::1")).is_none());
    }

    #[test]
    fn host_bits_cleared() {
        let mut rib = Rib::new();
        rib.add_connected(net("203.0.113.5/24"), IfaceId(1));
        assert_eq!(
            rib.get(RouteSource::Connected, net("203.0.113.0/24")),
            Some(NextHop::Connected(IfaceId(1)))
        );
        assert_eq!(
            rib.remove(RouteSource::Connected, net("203.0.113.77/24")),
            Some(NextHop::Connected(IfaceId(1)))
        );
        assert!(rib.is_empty());
    }

    #[test]
    fn host_route_and_default() {
        let mut rib = base();
        rib.insert(
            RouteSource::Static,
            net("0.0.0.0/0"),
            NextHop::Recursive(ip("203.0.113.1")),
        )
        .unwrap();
        rib.insert(
            RouteSource::Static,
            net("198.51.100.200/32"),
            NextHop::Recursive(ip("198.51.100.2")),
        )
        .unwrap();
        let fib = rib.compile();
        let e = fib.lookup(ip("198.51.100.200")).unwrap();
        assert_eq!((e.iface, e.gateway), (IfaceId(0), Some(ip("198.51.100.2"))));
        // Outside the /25, not the host: default.
        let e = fib.lookup(ip("198.51.100.201")).unwrap();
        assert_eq!((e.iface, e.gateway), (IfaceId(1), Some(ip("203.0.113.1"))));
        let e = fib.lookup(ip("198.51.100.100")).unwrap();
        assert_eq!((e.iface, e.gateway), (IfaceId(0), None));
    }

    #[test]
    fn rejects_family_mismatch() {
        let mut rib = Rib::new();
        assert_eq!(
            rib.insert(
                RouteSource::Static,
                net("0.0.0.0/0"),
                NextHop::Recursive(ip("2001:db8::1"))
            ),
            Err(RibError::FamilyMismatch {
                destination: net("0.0.0.0/0"),
                gateway: ip("2001:db8::1")
            })
        );
        assert!(rib.is_empty());
    }

    #[test]
    fn rejects_bad_gateway() {
        let mut rib = Rib::new();
        for gw in ["::", "ff02::1", "0.0.0.0", "224.0.0.1", "255.255.255.255"] {
            let dst = if gw.contains(':') {
                net("2001:db8::/32")
            } else {
                net("198.51.100.0/24")
            };
            assert_eq!(
                rib.insert(RouteSource::Runtime, dst, NextHop::Recursive(ip(gw))),
                Err(RibError::BadGateway(ip(gw)))
            );
        }
        assert!(rib.is_empty());
    }

    #[test]
    fn rejects_connected_not_on_link() {
        let mut rib = Rib::new();
        assert_eq!(
            rib.insert(
                RouteSource::Connected,
                net("2001:db8::/64"),
                NextHop::Recursive(ip("2001:db8::1"))
            ),
            Err(RibError::ConnectedNotOnLink(net("2001:db8::/64")))
        );
    }

    #[test]
    fn ipv4_mapped_gateway_does_not_resolve_via_ipv4() {
        let mut rib = base();
        rib.insert(
            RouteSource::Static,
            net("2001:db8:aa::/48"),
            NextHop::Recursive(ip("::ffff:203.0.113.1")),
        )
        .unwrap();
        assert_eq!(rib.unresolved().len(), 1);
        assert!(rib.compile().lookup(ip("::ffff:198.51.100.1")).is_none());
    }
}
