//! The TOML schema of DESIGN.md, exactly: the Neutron resource model.
//!
//! These types only say what a file holds; `validate` says whether it makes
//! sense. Unknown keys are rejected so that a typo is an error, not a
//! silently ignored setting.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// A whole router configuration file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub router: RouterSection,
    #[serde(default, rename = "interface")]
    pub interfaces: Vec<Interface>,
    #[serde(default, rename = "subnet")]
    pub subnets: Vec<Subnet>,
    #[serde(default, rename = "route")]
    pub routes: Vec<Route>,
    #[serde(default, rename = "security_group")]
    pub security_groups: Vec<SecurityGroup>,
    #[serde(default, rename = "port")]
    pub ports: Vec<Port>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_delegation: Option<PrefixDelegation>,
    #[serde(default, rename = "prefix_pool")]
    pub prefix_pools: Vec<PrefixPool>,
}

/// `[router]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouterSection {
    pub name: String,
    /// Worker threads; default one per core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    /// Default `/run/routelet/<name>.sock`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_socket: Option<PathBuf>,
    /// Default `/var/lib/routelet/<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<PathBuf>,
    #[serde(default)]
    pub ra: RaSettings,
    #[serde(default)]
    pub neighbor: NeighborSettings,
    #[serde(default)]
    pub icmp: IcmpSettings,
    #[serde(default)]
    pub io: IoSettings,
}

/// `[router.io]`: packet rings of `routelet run`, per interface and worker.
/// The defaults suit a tenant router: an idle router must be small, since a
/// host runs hundreds of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IoSettings {
    /// RX ring layout: `v3` (blocks, dense, ~1 ms added latency on a quiet
    /// link) or `v2` (one slot per frame, lowest latency, fewer frames per
    /// byte of ring).
    pub rx_ring: RingKind,
    /// RX ring size in KiB.
    pub rx_ring_kib: u32,
    /// TPACKET_V3 block size in KiB (the ring is `rx_ring_kib / rx_block_kib` blocks).
    pub rx_block_kib: u32,
    /// TPACKET_V3 block retire timeout, ms: the longest a frame waits on a quiet link.
    pub retire_timeout_ms: u32,
    /// TX path: `sendmmsg` (no ring memory) or `ring` (an mmap TX ring of
    /// `tx_ring_frames` slots, one kick per batch).
    pub tx: TxKind,
    /// TX ring slots, with `tx = "ring"`.
    pub tx_ring_frames: u32,
    /// Most frames taken from one socket per loop, so a flood on one
    /// interface cannot starve the others and the timers.
    pub rx_budget: u32,
}

/// `[router.io] rx_ring`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RingKind {
    V2,
    V3,
}

/// `[router.io] tx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TxKind {
    Sendmmsg,
    Ring,
}

impl Default for IoSettings {
    /// 256 KiB of RX ring in four 64 KiB blocks retired after 1 ms,
    /// sendmmsg for TX: the measurements in `io::sys`'s module doc.
    fn default() -> Self {
        IoSettings {
            rx_ring: RingKind::V3,
            rx_ring_kib: 256,
            rx_block_kib: 64,
            retire_timeout_ms: 1,
            tx: TxKind::Sendmmsg,
            tx_ring_frames: 64,
            rx_budget: 256,
        }
    }
}

/// `[router.neighbor]`: bounds of each interface's neighbor cache, per
/// address family and per worker (RFC 6583). Every field is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NeighborSettings {
    /// Entries in all states.
    pub max_entries: usize,
    /// Unresolved (INCOMPLETE) entries: a scan fills these, never the rest.
    pub max_incomplete: usize,
    /// New resolutions (multicast NS / broadcast ARP) per second.
    pub solicit_per_second: u32,
    /// Burst allowed above `solicit_per_second`.
    pub solicit_burst: u32,
    /// Packets queued per unresolved entry (oldest replaced); 0: no queueing.
    pub queue_per_entry: usize,
    /// Bytes of the queue pool shared by all unresolved entries.
    pub queue_bytes: usize,
}

impl Default for NeighborSettings {
    /// The neighbor cache's own defaults (`neighbor::NeighborLimits`).
    fn default() -> Self {
        NeighborSettings {
            max_entries: 4096,
            max_incomplete: 256,
            solicit_per_second: 100,
            solicit_burst: 100,
            queue_per_entry: 3,
            queue_bytes: 256 * 1024,
        }
    }
}

/// `[router.icmp]`: the ICMP error rate limit (RFC 4443 §2.4(f), RFC 1812
/// §4.3.2.8), a token bucket per worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IcmpSettings {
    /// Errors per second.
    pub errors_per_second: u32,
    /// Burst allowed above the rate.
    pub burst: u32,
}

impl Default for IcmpSettings {
    /// 100 per second with a burst of 50: enough for traceroute and path
    /// MTU discovery by many hosts at once, too little to amplify a flood.
    fn default() -> Self {
        IcmpSettings {
            errors_per_second: 100,
            burst: 50,
        }
    }
}

/// `[router.ra]`: router advertisement timing (RFC 4861 §6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RaSettings {
    /// MinRtrAdvInterval, seconds.
    pub min_interval: u32,
    /// MaxRtrAdvInterval, seconds.
    pub max_interval: u32,
    /// AdvDefaultLifetime, seconds; 0 means "not a default router".
    pub router_lifetime: u16,
    /// AdvCurHopLimit advertised to hosts.
    pub hop_limit: u8,
}

impl Default for RaSettings {
    /// Neutron's radvd settings: 30 s / 100 s, lifetime 3 × max.
    fn default() -> Self {
        RaSettings {
            min_interval: 30,
            max_interval: 100,
            router_lifetime: 300,
            hop_limit: 64,
        }
    }
}

/// `[[interface]]`: a Linux interface in the router's namespace.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    pub name: String,
    /// Subnets the router is the gateway of on this link.
    #[serde(default)]
    pub subnets: Vec<String>,
    /// The upstream (gateway) side.
    #[serde(default)]
    pub external: bool,
    /// Router addresses with their prefix length, for links without a subnet
    /// object (typically the external one).
    #[serde(default)]
    pub addresses: Vec<IpNet>,
    /// Default: the interface's own MAC.
    /// Kept as text so that validation can name the item when it is bad.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Default: the interface's MTU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
}

/// The three IPv6 modes Neutron knows for `ipv6_ra_mode` and
/// `ipv6_address_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ipv6Mode {
    Slaac,
    #[serde(rename = "dhcpv6-stateless")]
    Dhcpv6Stateless,
    #[serde(rename = "dhcpv6-stateful")]
    Dhcpv6Stateful,
}

impl Ipv6Mode {
    /// The spelling used in the config file and in error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Ipv6Mode::Slaac => "slaac",
            Ipv6Mode::Dhcpv6Stateless => "dhcpv6-stateless",
            Ipv6Mode::Dhcpv6Stateful => "dhcpv6-stateful",
        }
    }
}

impl core::fmt::Display for Ipv6Mode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `[[subnet]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Subnet {
    pub name: String,
    pub ip_version: u8,
    /// Absent only with `use_prefix_delegation`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cidr: Option<IpNet>,
    /// Default: the CIDR's first host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_ra_mode: Option<Ipv6Mode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_address_mode: Option<Ipv6Mode>,
    #[serde(default)]
    pub allocation_pools: Vec<AllocationPool>,
    #[serde(default)]
    pub dns_nameservers: Vec<IpAddr>,
    #[serde(default)]
    pub domain_search: Vec<String>,
    /// The /64 comes from the upstream PD server.
    #[serde(default)]
    pub use_prefix_delegation: bool,
    /// DHCPv6 server settings (`[subnet.dhcpv6]`); absent: the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcpv6: Option<Dhcpv6Settings>,
}

/// `[subnet.dhcpv6]`: what the subnet's DHCPv6 server hands out. Times in
/// seconds; a renew or rebind time of 0 means RFC 8415's suggestion, 0.5 and
/// 0.8 of the preferred lifetime (DESIGN.md's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dhcpv6Settings {
    /// Preferred lifetime of leased addresses.
    pub preferred_lifetime: u32,
    /// Valid lifetime of leased addresses.
    pub valid_lifetime: u32,
    /// T1; 0: half the preferred lifetime.
    pub renew_time: u32,
    /// T2; 0: 0.8 of the preferred lifetime.
    pub rebind_time: u32,
    /// Answer a Solicit carrying Rapid Commit with a Reply (RFC 8415 §18.3.1).
    pub rapid_commit: bool,
    /// Information Refresh Time of stateless replies (RFC 8415 §21.23).
    pub information_refresh_time: u32,
    /// How long a declined address stays out of the pool.
    pub decline_time: u32,
}

impl Default for Dhcpv6Settings {
    fn default() -> Self {
        Dhcpv6Settings {
            preferred_lifetime: 86_400,
            valid_lifetime: 86_400,
            renew_time: 0,
            rebind_time: 0,
            rapid_commit: true,
            information_refresh_time: 86_400,
            decline_time: 86_400,
        }
    }
}

impl Dhcpv6Settings {
    /// T1 as sent: `renew_time`, or half the preferred lifetime.
    pub fn t1(&self) -> u32 {
        if self.renew_time != 0 {
            self.renew_time
        } else {
            self.preferred_lifetime / 2
        }
    }

    /// T2 as sent: `rebind_time`, or 0.8 of the preferred lifetime.
    pub fn t2(&self) -> u32 {
        if self.rebind_time != 0 {
            self.rebind_time
        } else {
            u32::try_from(u64::from(self.preferred_lifetime) * 4 / 5).unwrap_or(u32::MAX)
        }
    }
}

/// One `{ start, end }` range of `allocation_pools`, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AllocationPool {
    pub start: IpAddr,
    pub end: IpAddr,
}

/// `[[route]]`: a static route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    pub destination: IpNet,
    pub nexthop: IpAddr,
}

/// `[[security_group]]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroup {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub rules: Vec<SecurityGroupRule>,
}

/// Traffic direction as seen from the VM port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Ingress,
    Egress,
}

/// Neutron's `ethertype` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
pub enum Ethertype {
    IPv4,
    IPv6,
}

/// One security-group rule, Neutron's fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroupRule {
    pub direction: Direction,
    pub ethertype: Ethertype,
    /// `tcp`, `udp`, `icmp` (ICMPv6 with IPv6), `ipv6-icmp`, or a number;
    /// absent: any protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_range_min: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_range_max: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_ip_prefix: Option<IpNet>,
    /// Another group whose ports' addresses are the remote side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_group: Option<String>,
}

/// `[[port]]`: a VM port behind the router.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Port {
    pub name: String,
    /// Kept as text so that validation can name the port when it is bad.
    pub mac: String,
    /// Stateful DHCPv6 / IPv4: the addresses reserved for this MAC.
    #[serde(default)]
    pub fixed_ips: Vec<IpAddr>,
    /// None listed: Neutron's "default" group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
    #[serde(default)]
    pub allowed_address_pairs: Vec<AddressPair>,
    /// false: no filtering, no anti-spoofing for this port.
    #[serde(default = "default_true")]
    pub port_security_enabled: bool,
}

/// One of a port's `allowed_address_pairs`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AddressPair {
    pub ip_address: IpNet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
}

/// `[prefix_delegation]`: the DHCPv6-PD client on the external side.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixDelegation {
    /// Default: the external interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Requested prefix length; default 64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_length: Option<u8>,
}

/// `[[prefix_pool]]`: the DHCPv6-PD server's pool.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixPool {
    pub name: String,
    pub prefix: IpNet,
    pub delegated_length: u8,
    /// Tenant interfaces whose requesting routers are served; empty: every
    /// interface that is not external.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<String>,
    /// Lifetimes and T1/T2 of delegated prefixes (as `[subnet.dhcpv6]`'s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_lifetime: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_lifetime: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renew_time: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebind_time: Option<u32>,
}

impl PrefixPool {
    /// A pool with no name, prefix or timers (for building one in code).
    pub fn empty() -> PrefixPool {
        PrefixPool {
            name: String::new(),
            prefix: IpNet::V6(ipnet::Ipv6Net::default()),
            delegated_length: 64,
            interfaces: Vec::new(),
            preferred_lifetime: None,
            valid_lifetime: None,
            renew_time: None,
            rebind_time: None,
        }
    }

    /// The pool's timers as [`Dhcpv6Settings`] (the defaults where unset).
    pub fn settings(&self) -> Dhcpv6Settings {
        let d = Dhcpv6Settings::default();
        Dhcpv6Settings {
            preferred_lifetime: self.preferred_lifetime.unwrap_or(d.preferred_lifetime),
            valid_lifetime: self.valid_lifetime.unwrap_or(d.valid_lifetime),
            renew_time: self.renew_time.unwrap_or(0),
            rebind_time: self.rebind_time.unwrap_or(0),
            ..d
        }
    }
}

fn default_true() -> bool {
    true
}
