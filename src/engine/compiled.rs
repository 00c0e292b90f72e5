//! The compiled configuration: what the workers read.
//!
//! Built once from a validated [`Config`] and the interfaces' link facts,
//! then shared read-only (an `Arc`, swapped whole on `ctl apply`). Anything
//! that can be computed ahead of the packets is computed here: router
//! addresses per interface, the groups each joins, the RA each sends.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::base::{IfaceId, Instant};
use crate::config::{Config, IcmpSettings, IoSettings, Ipv6Mode, NeighborSettings, RaSettings};
use crate::route::{FibHandle, LocalAddress, Rib, RibError};
use crate::wire::{is_link_local, EthernetAddress, ALL_DHCP_AGENTS, ALL_NODES, ALL_ROUTERS};

use super::ra::{DeprecatedPrefix, RaContent};

/// Facts about a Linux interface that the config does not fix: read from
/// the OS by `routelet run`, made up by `routelet replay`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub name: String,
    pub mac: EthernetAddress,
    pub mtu: u32,
}

impl LinkInfo {
    /// The link facts `replay` assumes for an interface: the config's MAC or
    /// a locally administered one derived from the interface's position,
    /// and the config's MTU or 1500.
    pub fn synthetic(config: &Config) -> Vec<LinkInfo> {
        config
            .interfaces
            .iter()
            .enumerate()
            .map(|(i, iface)| LinkInfo {
                name: iface.name.clone(),
                mac: iface.parsed_mac().unwrap_or(EthernetAddress([
                    0x02,
                    0x72,
                    0x6c,
                    0x00,
                    0x00,
                    u8::try_from(i & 0xff).unwrap_or(0).wrapping_add(1),
                ])),
                mtu: iface.mtu.unwrap_or(1500),
            })
            .collect()
    }
}

/// Why a config could not be compiled against the links.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    /// The config names an interface the namespace does not have.
    #[error("interface \"{0}\" does not exist")]
    MissingInterface(String),
    /// More interfaces than an `IfaceId` can number.
    #[error("too many interfaces ({0})")]
    TooManyInterfaces(usize),
    /// A route the routing table cannot hold.
    #[error("routing table: {0}")]
    Rib(#[from] RibError),
}

/// One router interface, compiled.
#[derive(Debug, Clone)]
pub struct IfaceConfig {
    pub id: IfaceId,
    pub name: String,
    pub mac: EthernetAddress,
    pub mtu: u32,
    pub external: bool,
    /// fe80::/64 + EUI-64 of `mac`: the source of RAs and the hosts' next hop.
    pub link_local: Ipv6Addr,
    /// Global router addresses on this link (subnet gateways, `addresses`).
    pub ipv6: Vec<Ipv6Addr>,
    /// IPv4 router addresses on this link.
    pub ipv4: Vec<Ipv4Addr>,
    /// IPv4 prefixes connected on this link (for ARP sources and
    /// directed-broadcast checks).
    pub ipv4_nets: Vec<Ipv4Net>,
    /// What this interface advertises, if it sends RAs.
    pub ra: Option<RaContent>,
    /// Whether a subnet here has a DHCPv6 address mode (stateless or
    /// stateful): the router then listens to ff02::1:2 and punts DHCPv6
    /// to its server.
    pub dhcpv6: bool,
    /// Whether the PD client runs here (`[prefix_delegation]`): UDP 546
    /// to the router is punted to it.
    pub pd_client: bool,
}

impl IfaceConfig {
    /// Whether `addr` is one of the router's IPv6 addresses on this link.
    #[inline]
    pub fn owns_ipv6(&self, addr: &Ipv6Addr) -> bool {
        *addr == self.link_local || self.ipv6.contains(addr)
    }

    /// Whether `addr` is one of the router's IPv4 addresses on this link.
    #[inline]
    pub fn owns_ipv4(&self, addr: &Ipv4Addr) -> bool {
        self.ipv4.contains(addr)
    }

    /// Whether the router listens to IPv6 multicast `group` on this link:
    /// all-nodes, all-routers, and the solicited-node group of each of its
    /// addresses (RFC 4861 §7.2.1).
    pub fn joined(&self, group: &Ipv6Addr) -> bool {
        if *group == ALL_NODES || *group == ALL_ROUTERS {
            return true;
        }
        if *group == ALL_DHCP_AGENTS {
            return self.dhcpv6;
        }
        let o = group.octets();
        let is_solicited = o[..13] == [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff];
        is_solicited
            && std::iter::once(&self.link_local)
                .chain(self.ipv6.iter())
                .any(|a| a.octets()[13..] == o[13..])
    }

    /// The router's IPv4 address on this link in the same subnet as `peer`,
    /// else its first IPv4 address.
    pub fn source_for_v4(&self, peer: &Ipv4Addr) -> Option<Ipv4Addr> {
        self.ipv4_nets
            .iter()
            .find(|n| n.contains(peer))
            .map(|n| n.addr())
            .filter(|a| self.ipv4.contains(a))
            .or_else(|| self.ipv4.first().copied())
    }

    /// The router's global address on this link that shares the most
    /// leading bits with `peer` (RFC 6724 rule 8 in miniature), else the
    /// link-local address. Used as the source of what the router originates.
    pub fn source_for(&self, peer: &Ipv6Addr) -> Ipv6Addr {
        if is_link_local(peer) {
            return self.link_local;
        }
        let peer = u128::from(*peer);
        self.ipv6
            .iter()
            .max_by_key(|a| (u128::from(**a) ^ peer).leading_zeros())
            .copied()
            .unwrap_or(self.link_local)
    }
}

/// The router's own addresses, for the question "is this source ours?"
/// asked of every transit packet: a handful of addresses, sorted, so a
/// short linear scan (or a binary search past a few) answers it.
#[derive(Debug, Clone, Default)]
pub struct AddressSet<T: Ord + Copy> {
    sorted: Box<[T]>,
}

impl<T: Ord + Copy> AddressSet<T> {
    fn new(mut addrs: Vec<T>) -> AddressSet<T> {
        addrs.sort_unstable();
        addrs.dedup();
        AddressSet {
            sorted: addrs.into_boxed_slice(),
        }
    }

    /// Whether `addr` is in the set.
    #[inline]
    pub fn contains(&self, addr: T) -> bool {
        if self.sorted.len() <= 8 {
            self.sorted.contains(&addr)
        } else {
            self.sorted.binary_search(&addr).is_ok()
        }
    }
}

/// The FIB's host entries for `ifaces`: each router address (receive)
/// and each connected IPv4 subnet's broadcast address (drop).
fn local_addresses(ifaces: &[IfaceConfig]) -> Vec<LocalAddress> {
    let mut local = Vec::new();
    for i in ifaces {
        local.push(LocalAddress::Receive(IpAddr::V6(i.link_local), i.id));
        local.extend(
            i.ipv6
                .iter()
                .map(|a| LocalAddress::Receive(IpAddr::V6(*a), i.id)),
        );
        local.extend(
            i.ipv4
                .iter()
                .map(|a| LocalAddress::Receive(IpAddr::V4(*a), i.id)),
        );
        local.extend(
            i.ipv4_nets
                .iter()
                .filter(|n| n.prefix_len() < 31)
                .map(|n| LocalAddress::Broadcast(n.broadcast(), i.id)),
        );
    }
    local
}

/// Prefixes being renumbered away (prefix delegation, see `ra.rs`): what
/// each interface's RAs keep advertising deprecated. The DHCPv6 service
/// keeps one across rebuilds: on a PD event it calls
/// [`deprecate_changes`](Renumbering::deprecate_changes), then
/// [`prune`](Renumbering::prune), and compiles the new config with
/// [`CompiledConfig::build_with`]. Expired entries already vanish from
/// RAs without a rebuild; `prune` only keeps the list short.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Renumbering {
    pub deprecated: Vec<RenumberedPrefix>,
}

/// One deprecated prefix on one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenumberedPrefix {
    pub iface: String,
    pub prefix: Ipv6Net,
    /// L and A as the subnet's RA mode set them.
    pub on_link: bool,
    pub autonomous: bool,
    pub valid_until: Instant,
}

impl Renumbering {
    /// Records the /64s of `old` (subnet, prefix) that `new` no longer
    /// gives their subnet: deprecated on the interfaces holding the
    /// subnet in `config`, until `valid_until` (the old delegation's
    /// valid lifetime, or what the hosts were last told if shorter). A
    /// prefix that `new` gives again stops being deprecated.
    pub fn deprecate_changes(
        &mut self,
        config: &Config,
        old: &[(String, Ipv6Net)],
        new: &[(String, Ipv6Net)],
        valid_until: Instant,
    ) {
        self.deprecated
            .retain(|d| !new.iter().any(|(_, n)| *n == d.prefix));
        for (subnet, prefix) in old {
            if new.iter().any(|(s, n)| s == subnet && n == prefix) {
                continue;
            }
            let Some(policy) = config
                .subnets
                .iter()
                .find(|s| s.name == *subnet)
                .and_then(|s| s.ra_policy())
            else {
                continue;
            };
            for iface in config
                .interfaces
                .iter()
                .filter(|i| i.subnets.contains(subnet))
            {
                self.deprecated
                    .retain(|d| d.iface != iface.name || d.prefix != *prefix);
                self.deprecated.push(RenumberedPrefix {
                    iface: iface.name.clone(),
                    prefix: *prefix,
                    on_link: policy.on_link,
                    autonomous: policy.autonomous,
                    valid_until,
                });
            }
        }
    }

    /// Forgets the entries that have run out.
    pub fn prune(&mut self, now: Instant) {
        self.deprecated.retain(|d| d.valid_until > now);
    }

    fn for_iface(&self, name: &str) -> Vec<DeprecatedPrefix> {
        self.deprecated
            .iter()
            .filter(|d| d.iface == name)
            .map(|d| DeprecatedPrefix {
                prefix: d.prefix,
                on_link: d.on_link,
                autonomous: d.autonomous,
                valid_until: d.valid_until,
            })
            .collect()
    }
}

/// Everything the workers need, immutable.
#[derive(Debug)]
pub struct CompiledConfig {
    pub router_name: String,
    pub ifaces: Vec<IfaceConfig>,
    pub ra_settings: RaSettings,
    pub neighbor_settings: NeighborSettings,
    pub icmp_settings: IcmpSettings,
    /// Packet rings (read by `routelet run` when it opens sockets).
    pub io_settings: IoSettings,
    /// The routing table as configured (connected + static); the control
    /// plane adds runtime routes and republishes `fib`.
    pub rib: Rib,
    /// The compiled FIB, published for the workers; the router's own
    /// addresses are receive entries in it.
    pub fib: FibHandle,
    /// Every IPv6 address of the router (link-locals included).
    pub local_v6: AddressSet<u128>,
    /// Every IPv4 address of the router.
    pub local_v4: AddressSet<u32>,
}

impl CompiledConfig {
    /// Compiles a validated config against the links it runs on.
    pub fn build(config: &Config, links: &[LinkInfo]) -> Result<CompiledConfig, BuildError> {
        Self::build_with(config, links, &Renumbering::default())
    }

    /// As [`build`](Self::build), with prefixes being renumbered away
    /// added to the RAs of their interfaces (deprecated).
    pub fn build_with(
        config: &Config,
        links: &[LinkInfo],
        renumbering: &Renumbering,
    ) -> Result<CompiledConfig, BuildError> {
        if config.interfaces.len() > usize::from(u16::MAX) {
            return Err(BuildError::TooManyInterfaces(config.interfaces.len()));
        }
        let mut ifaces = Vec::with_capacity(config.interfaces.len());
        for (index, iface) in config.interfaces.iter().enumerate() {
            let link = links
                .iter()
                .find(|l| l.name == iface.name)
                .ok_or_else(|| BuildError::MissingInterface(iface.name.clone()))?;
            let mac = iface.parsed_mac().unwrap_or(link.mac);
            let mtu = iface.mtu.unwrap_or(link.mtu);
            let mut ipv6 = Vec::new();
            let mut ipv4 = Vec::new();
            let mut ipv4_nets = Vec::new();
            for net in crate::route::connected_prefixes(config, iface) {
                if let IpNet::V4(n) = net {
                    ipv4_nets.push(n);
                }
            }
            for net in &iface.addresses {
                if let IpNet::V4(n) = net {
                    // Keep the address itself for source selection.
                    ipv4_nets
                        .retain(|m| m.network() != n.network() || m.prefix_len() != n.prefix_len());
                    ipv4_nets.push(*n);
                }
            }
            let mut push = |addr: IpAddr| match addr {
                IpAddr::V6(a) if !ipv6.contains(&a) && !is_link_local(&a) => ipv6.push(a),
                IpAddr::V4(a) if !ipv4.contains(&a) => ipv4.push(a),
                _ => {}
            };
            for subnet in config
                .subnets
                .iter()
                .filter(|s| iface.subnets.contains(&s.name))
            {
                if let Some(gw) = subnet.effective_gateway() {
                    push(gw);
                }
            }
            for net in &iface.addresses {
                push(net.addr());
            }
            let mut ra = RaContent::from_config(config, iface, mac, mtu);
            if let Some(ra) = &mut ra {
                ra.set_deprecated(renumbering.for_iface(&iface.name));
            }
            let dhcpv6 = config
                .subnets
                .iter()
                .filter(|s| iface.subnets.contains(&s.name))
                .any(|s| {
                    matches!(
                        s.ipv6_address_mode,
                        Some(Ipv6Mode::Dhcpv6Stateless | Ipv6Mode::Dhcpv6Stateful)
                    )
                })
                || config.prefix_pools.iter().any(|p| {
                    if p.interfaces.is_empty() {
                        !iface.external
                    } else {
                        p.interfaces.contains(&iface.name)
                    }
                });
            ifaces.push(IfaceConfig {
                id: IfaceId(u16::try_from(index).unwrap_or(u16::MAX)),
                name: iface.name.clone(),
                mac,
                mtu,
                external: iface.external,
                link_local: mac.link_local_ipv6(),
                ipv6,
                ipv4,
                ipv4_nets,
                ra,
                dhcpv6,
                pd_client: config.prefix_delegation.as_ref().is_some_and(|pd| {
                    match &pd.interface {
                        Some(name) => *name == iface.name,
                        None => {
                            config
                                .interfaces
                                .iter()
                                .find(|i| i.external)
                                .map(|i| &i.name)
                                == Some(&iface.name)
                        }
                    }
                }),
            });
        }
        for (iface, subnet_gw) in ifaces.iter_mut().zip(config.interfaces.iter()) {
            // Subnet gateways are the router's addresses in their subnets.
            let gws: Vec<Ipv4Net> = config
                .subnets
                .iter()
                .filter(|s| subnet_gw.subnets.contains(&s.name))
                .filter_map(|s| match (s.prefix(), s.effective_gateway()) {
                    (Some(IpNet::V4(net)), Some(IpAddr::V4(gw))) => {
                        Ipv4Net::new(gw, net.prefix_len()).ok()
                    }
                    _ => None,
                })
                .collect();
            for gw in gws {
                iface
                    .ipv4_nets
                    .retain(|m| m.network() != gw.network() || m.prefix_len() != gw.prefix_len());
                iface.ipv4_nets.push(gw);
            }
        }
        let mut rib = Rib::from_config(config, |name| {
            config
                .interfaces
                .iter()
                .position(|i| i.name == name)
                .and_then(|i| u16::try_from(i).ok())
                .map(IfaceId)
        })?;
        rib.set_local_addresses(local_addresses(&ifaces));
        let fib = FibHandle::new(rib.compile());
        let local_v6 = AddressSet::new(
            ifaces
                .iter()
                .flat_map(|i| std::iter::once(&i.link_local).chain(i.ipv6.iter()))
                .map(|a| u128::from(*a))
                .collect(),
        );
        let local_v4 = AddressSet::new(
            ifaces
                .iter()
                .flat_map(|i| i.ipv4.iter())
                .map(|a| u32::from(*a))
                .collect(),
        );
        Ok(CompiledConfig {
            router_name: config.router.name.clone(),
            ifaces,
            ra_settings: config.router.ra,
            neighbor_settings: config.router.neighbor,
            icmp_settings: config.router.icmp,
            io_settings: config.router.io,
            rib,
            fib,
            local_v6,
            local_v4,
        })
    }

    /// Whether `addr` is one of the router's IPv6 addresses on any link.
    #[inline]
    pub fn owns_ipv6(&self, addr: &Ipv6Addr) -> bool {
        self.local_v6.contains(u128::from(*addr))
    }

    /// Whether `addr` is one of the router's IPv4 addresses on any link.
    #[inline]
    pub fn owns_ipv4(&self, addr: &Ipv4Addr) -> bool {
        self.local_v4.contains(u32::from(*addr))
    }

    /// The source of an ICMPv6 error sent out of `ingress` to `dst`: the
    /// router's address there, global if it has one; else a global
    /// address of another interface (a link-local source could not reach
    /// an off-link sender); else the link-local.
    pub fn error_source_v6(&self, ingress: &IfaceConfig, dst: &Ipv6Addr) -> Ipv6Addr {
        let src = ingress.source_for(dst);
        if is_link_local(&src) && !is_link_local(dst) {
            if let Some(global) = self.ifaces.iter().flat_map(|i| i.ipv6.first()).next() {
                return *global;
            }
        }
        src
    }

    /// The source of an ICMPv4 error sent out of `ingress` to `dst`.
    pub fn error_source_v4(&self, ingress: &IfaceConfig, dst: &Ipv4Addr) -> Option<Ipv4Addr> {
        ingress.source_for_v4(dst).or_else(|| {
            self.ifaces
                .iter()
                .flat_map(|i| i.ipv4.first())
                .next()
                .copied()
        })
    }

    /// The interface called `name`.
    pub fn iface_by_name(&self, name: &str) -> Option<&IfaceConfig> {
        self.ifaces.iter().find(|i| i.name == name)
    }

    /// The interface numbered `id`.
    #[inline]
    pub fn iface(&self, id: IfaceId) -> Option<&IfaceConfig> {
        self.ifaces.get(usize::from(id.0))
    }

    /// MinRtrAdvInterval.
    pub fn ra_min_interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.ra_settings.min_interval))
    }

    /// MaxRtrAdvInterval.
    pub fn ra_max_interval(&self) -> Duration {
        Duration::from_secs(u64::from(self.ra_settings.max_interval))
    }
}
