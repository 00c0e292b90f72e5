//! The DHCPv6 server's logic (RFC 8415 §18.3), I/O-free: a client's
//! message in, the reply and the journal records out.
//!
//! What it serves, per router interface (DESIGN.md's mode table): each
//! subnet whose `ipv6_address_mode` is dhcpv6-stateless (Information-
//! Request, and a Solicit answered NoAddrsAvail with the other
//! configuration, §18.3.9) or dhcpv6-stateful (IA_NA leases: the port's
//! `fixed_ips` for the client's MAC first, then the pools), and every
//! `[[prefix_pool]]` serving the interface (IA_PD). Relay-forward is
//! unwrapped once and answered with a Relay-reply that echoes the
//! Interface-Id; the relay's link-address picks the subnet.
//!
//! Validation (§16): a message without a Client Identifier (but an
//! Information-Request), a Solicit / Confirm / Rebind with a Server
//! Identifier, a Request / Renew / Release / Decline whose Server
//! Identifier is not ours, server messages, and messages that do not parse
//! are dropped and counted by reason. The Unicast option is never offered,
//! so a unicast Request / Renew / Release / Decline gets UseMulticast
//! (§18.3.1) and a unicast Solicit / Rebind / Confirm / Information-Request
//! is dropped (§16). Reconfigure is not offered.
//!
//! Durability: [`Server::handle`] changes the [`LeaseStore`] and returns
//! the [`Record`]s of those changes beside the reply; the caller journals
//! them and sends the reply only once they are durable.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use dhcproto::v6::{
    DhcpOption, DhcpOptions, IAAddr, IAPrefix, Message, MessageType, OptionCode, Status,
    StatusCode, IANA, IAPD,
};
use ipnet::{IpNet, Ipv6Net};

use crate::config::{Config, Dhcpv6Service, Dhcpv6Settings};
use crate::engine::CompiledConfig;
use crate::wire::{dhcpv6 as wire, EthernetAddress};

use super::store::{ClientKey, Lease, LeaseKind, LeaseState, LeaseStore, Record};

/// The preference sent in Advertises: 255 makes a client take this server
/// at once instead of waiting for others (RFC 8415 §18.2.1).
pub const PREFERENCE: u8 = 255;

/// What a subnet serves.
#[derive(Debug, Clone)]
struct SubnetServe {
    name: String,
    prefix: Ipv6Net,
    stateful: bool,
    pools: Vec<(u128, u128)>,
    gateway: Option<u128>,
    dns: Vec<Ipv6Addr>,
    search: Vec<String>,
    settings: Dhcpv6Settings,
    /// (MAC, address, port name): reservations inside this subnet.
    reservations: Vec<(EthernetAddress, Ipv6Addr, String)>,
}

/// A prefix pool serving an interface.
#[derive(Debug, Clone)]
struct PoolServe {
    name: String,
    prefix: Ipv6Net,
    delegated_len: u8,
    settings: Dhcpv6Settings,
}

/// What one interface serves.
#[derive(Debug, Clone)]
struct IfaceServe {
    name: String,
    mac: EthernetAddress,
    link_local: Ipv6Addr,
    addresses: Vec<Ipv6Addr>,
    subnets: Vec<SubnetServe>,
    pools: Vec<PoolServe>,
}

/// The server's view of the config: what each interface serves.
#[derive(Debug, Clone, Default)]
pub struct ServeConfig {
    ifaces: Vec<Option<IfaceServe>>,
    /// Every reserved address (not given from pools to others).
    reserved: Vec<u128>,
}

impl ServeConfig {
    /// Builds from the config and its compiled form (interface order, MACs
    /// and link-local addresses are the compiled ones).
    pub fn build(config: &Config, compiled: &CompiledConfig) -> ServeConfig {
        let mut reserved = Vec::new();
        let ports: Vec<(EthernetAddress, Ipv6Addr, String)> = config
            .ports
            .iter()
            .filter_map(|p| Some((p.parsed_mac()?, p)))
            .flat_map(|(mac, p)| {
                p.fixed_ips.iter().filter_map(move |ip| match ip {
                    std::net::IpAddr::V6(a) => Some((mac, *a, p.name.clone())),
                    std::net::IpAddr::V4(_) => None,
                })
            })
            .collect();
        reserved.extend(ports.iter().map(|(_, a, _)| u128::from(*a)));
        reserved.sort_unstable();
        let ifaces = compiled
            .ifaces
            .iter()
            .map(|ci| {
                let iface = config.interfaces.iter().find(|i| i.name == ci.name)?;
                let subnets: Vec<SubnetServe> = config
                    .subnets
                    .iter()
                    .filter(|s| iface.subnets.contains(&s.name) && s.ip_version == 6)
                    .filter_map(|s| {
                        let stateful = match s.dhcpv6_service() {
                            Dhcpv6Service::Stateful => true,
                            Dhcpv6Service::Stateless => false,
                            Dhcpv6Service::None => return None,
                        };
                        let IpNet::V6(prefix) = s.prefix()? else {
                            return None;
                        };
                        let pools = s
                            .effective_pools()
                            .iter()
                            .filter_map(|p| match (p.start, p.end) {
                                (std::net::IpAddr::V6(a), std::net::IpAddr::V6(b)) => {
                                    Some((u128::from(a), u128::from(b)))
                                }
                                _ => None,
                            })
                            .collect();
                        let gateway = match s.effective_gateway() {
                            Some(std::net::IpAddr::V6(g)) => Some(u128::from(g)),
                            _ => None,
                        };
                        Some(SubnetServe {
                            name: s.name.clone(),
                            prefix,
                            stateful,
                            pools,
                            gateway,
                            dns: s
                                .dns_nameservers
                                .iter()
                                .filter_map(|a| match a {
                                    std::net::IpAddr::V6(a) => Some(*a),
                                    std::net::IpAddr::V4(_) => None,
                                })
                                .collect(),
                            search: s.domain_search.clone(),
                            settings: s.dhcpv6.unwrap_or_default(),
                            reservations: ports
                                .iter()
                                .filter(|(_, a, _)| prefix.contains(a))
                                .cloned()
                                .collect(),
                        })
                    })
                    .collect();
                let pools: Vec<PoolServe> = config
                    .prefix_pools
                    .iter()
                    .filter(|p| {
                        if p.interfaces.is_empty() {
                            !iface.external
                        } else {
                            p.interfaces.contains(&iface.name)
                        }
                    })
                    .filter_map(|p| match p.prefix.trunc() {
                        IpNet::V6(prefix) => Some(PoolServe {
                            name: p.name.clone(),
                            prefix,
                            delegated_len: p.delegated_length,
                            settings: p.settings(),
                        }),
                        IpNet::V4(_) => None,
                    })
                    .collect();
                if subnets.is_empty() && pools.is_empty() {
                    return None;
                }
                Some(IfaceServe {
                    name: ci.name.clone(),
                    mac: ci.mac,
                    link_local: ci.link_local,
                    addresses: ci.ipv6.clone(),
                    subnets,
                    pools,
                })
            })
            .collect();
        ServeConfig { ifaces, reserved }
    }

    /// Whether interface `index` runs a server.
    pub fn serves(&self, index: usize) -> bool {
        matches!(self.ifaces.get(index), Some(Some(_)))
    }

    /// Whether any interface runs a server.
    pub fn any(&self) -> bool {
        self.ifaces.iter().any(Option::is_some)
    }

    /// The MAC, link-local and global addresses of serving interface
    /// `index`: where replies come from.
    pub fn iface_addrs(
        &self,
        index: usize,
    ) -> Option<(EthernetAddress, Ipv6Addr, Option<Ipv6Addr>)> {
        let i = self.ifaces.get(index)?.as_ref()?;
        Some((i.mac, i.link_local, i.addresses.first().copied()))
    }

    /// The MAC of the first serving interface (the default server DUID).
    pub fn first_mac(&self) -> Option<EthernetAddress> {
        self.ifaces.iter().flatten().map(|i| i.mac).next()
    }

    fn is_reserved(&self, addr: u128) -> bool {
        self.reserved.binary_search(&addr).is_ok()
    }
}

/// A client's message as it arrived.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// Index of the router interface.
    pub iface: usize,
    /// The frame's source MAC (the client's, unless relayed).
    pub src_mac: EthernetAddress,
    pub src_ip: Ipv6Addr,
    /// Whether the IPv6 destination was multicast (ff02::1:2).
    pub multicast: bool,
    /// The UDP payload.
    pub payload: &'a [u8],
}

/// What handling a message produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The UDP payload to send back to the source (port 546 for clients,
    /// 547 for a relay), if any.
    pub reply: Option<Vec<u8>>,
    /// Whether the reply goes to a relay (UDP 547) rather than a client.
    pub to_relay: bool,
    /// Changes to journal before the reply leaves.
    pub records: Vec<Record>,
    /// Routes to add (delegated prefix → requester) or remove.
    pub routes: Vec<RouteChange>,
}

/// A route the server wants for a delegated prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteChange {
    Add {
        prefix: Ipv6Net,
        via: Ipv6Addr,
        iface: String,
    },
    Del {
        prefix: Ipv6Net,
    },
}

/// Counters of one interface's server: messages received and sent by
/// type, drops by reason. Names are stable (`ctl show stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(pub BTreeMap<&'static str, u64>);

impl Counters {
    fn bump(&mut self, name: &'static str) {
        *self.0.entry(name).or_insert(0) += 1;
    }
}

/// Why a message was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop {
    Malformed,
    NoClientId,
    UnexpectedServerId,
    WrongServerId,
    MissingServerId,
    ServerMessage,
    UnicastNotAllowed,
    NotServed,
    NoAddressesToConfirm,
    RelayMalformed,
}

impl Drop {
    /// The counter's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Drop::Malformed => "drop_malformed",
            Drop::NoClientId => "drop_no_client_id",
            Drop::UnexpectedServerId => "drop_unexpected_server_id",
            Drop::WrongServerId => "drop_wrong_server_id",
            Drop::MissingServerId => "drop_missing_server_id",
            Drop::ServerMessage => "drop_server_message",
            Drop::UnicastNotAllowed => "drop_unicast",
            Drop::NotServed => "drop_not_served",
            Drop::NoAddressesToConfirm => "drop_confirm_without_addresses",
            Drop::RelayMalformed => "drop_relay_malformed",
        }
    }
}

fn rx_name(t: MessageType) -> &'static str {
    match t {
        MessageType::Solicit => "rx_solicit",
        MessageType::Request => "rx_request",
        MessageType::Confirm => "rx_confirm",
        MessageType::Renew => "rx_renew",
        MessageType::Rebind => "rx_rebind",
        MessageType::Release => "rx_release",
        MessageType::Decline => "rx_decline",
        MessageType::InformationRequest => "rx_information_request",
        _ => "rx_other",
    }
}

fn tx_name(t: MessageType) -> &'static str {
    match t {
        MessageType::Advertise => "tx_advertise",
        _ => "tx_reply",
    }
}

/// The DHCPv6 server.
#[derive(Debug)]
pub struct Server {
    duid: Vec<u8>,
    /// Shared with each message's handling, so that it can borrow the
    /// interface's config while the counters change (no copy per message).
    serve: std::sync::Arc<ServeConfig>,
    counters: Vec<Counters>,
}

impl Server {
    /// A server identified by `duid` (RFC 8415 §11), serving `serve`.
    pub fn new(duid: Vec<u8>, serve: ServeConfig) -> Server {
        let counters = vec![Counters::default(); serve.ifaces.len()];
        Server {
            duid,
            serve: std::sync::Arc::new(serve),
            counters,
        }
    }

    /// The server's DUID.
    pub fn duid(&self) -> &[u8] {
        &self.duid
    }

    /// Swaps in a new config (a live `apply`); counters of interfaces that
    /// stay by name are kept.
    pub fn replace_config(&mut self, serve: ServeConfig) {
        let names: Vec<Option<String>> = self
            .serve
            .ifaces
            .iter()
            .map(|i| i.as_ref().map(|i| i.name.clone()))
            .collect();
        let mut counters = vec![Counters::default(); serve.ifaces.len()];
        for (i, new) in serve.ifaces.iter().enumerate() {
            let Some(new) = new else { continue };
            if let Some(pos) = names.iter().position(|n| n.as_deref() == Some(&new.name)) {
                if let (Some(slot), Some(old)) = (counters.get_mut(i), self.counters.get(pos)) {
                    *slot = old.clone();
                }
            }
        }
        self.serve = std::sync::Arc::new(serve);
        self.counters = counters;
    }

    /// The config served.
    pub fn serve_config(&self) -> &ServeConfig {
        &self.serve
    }

    /// Counters per interface index.
    pub fn counters(&self) -> &[Counters] {
        &self.counters
    }

    /// Counts a message dropped before it reached [`Server::handle`] (bad
    /// IPv6 or UDP, say).
    pub fn count(&mut self, iface: usize, name: &'static str) {
        if let Some(c) = self.counters.get_mut(iface) {
            c.bump(name);
        }
    }

    /// Handles one message; `now` in UNIX seconds. Never panics.
    pub fn handle(&mut self, store: &mut LeaseStore, msg: &Incoming<'_>, now: u64) -> Outcome {
        let mut out = Outcome::default();
        let serve = std::sync::Arc::clone(&self.serve);
        let Some(Some(iface)) = serve.ifaces.get(msg.iface) else {
            self.count(msg.iface, Drop::NotServed.as_str());
            return out;
        };
        let first = msg.payload.first().copied().unwrap_or(0);
        let result = if first == wire::RELAY_FORW {
            match wire::parse_relay_forward(msg.payload) {
                Ok(relay) => {
                    let link = (!relay.link_addr.is_unspecified()).then_some(relay.link_addr);
                    let inner = Incoming {
                        payload: relay.message,
                        multicast: true,
                        src_ip: relay.peer_addr,
                        ..*msg
                    };
                    match self.answer(store, &serve, iface, &inner, link, false, now, &mut out) {
                        Ok(Some(reply)) => match wire::emit_relay_reply(&relay, &reply) {
                            Ok(bytes) => {
                                out.to_relay = true;
                                Ok(Some(bytes))
                            }
                            Err(_) => Err(Drop::RelayMalformed),
                        },
                        other => other,
                    }
                }
                Err(_) => Err(Drop::RelayMalformed),
            }
        } else {
            self.answer(
                store,
                &serve,
                iface,
                msg,
                None,
                msg.src_mac.0 != [0; 6],
                now,
                &mut out,
            )
        };
        match result {
            Ok(reply) => out.reply = reply,
            Err(reason) => {
                self.count(msg.iface, reason.as_str());
                out.records.clear();
                out.routes.clear();
            }
        }
        out
    }

    /// The reply to a client message (relayed or not), as bytes.
    #[allow(clippy::too_many_arguments)]
    fn answer(
        &mut self,
        store: &mut LeaseStore,
        serve: &ServeConfig,
        iface: &IfaceServe,
        msg: &Incoming<'_>,
        link_addr: Option<Ipv6Addr>,
        direct: bool,
        now: u64,
        out: &mut Outcome,
    ) -> Result<Option<Vec<u8>>, Drop> {
        let req = wire::parse(msg.payload).map_err(|_| Drop::Malformed)?;
        let t = req.msg_type();
        self.count(msg.iface, rx_name(t));
        let client_id = match req.opts().get(OptionCode::ClientId) {
            Some(DhcpOption::ClientId(id)) => Some(id.clone()),
            _ => None,
        };
        let server_id = match req.opts().get(OptionCode::ServerId) {
            Some(DhcpOption::ServerId(id)) => Some(id.clone()),
            _ => None,
        };
        match t {
            MessageType::Solicit
            | MessageType::Request
            | MessageType::Confirm
            | MessageType::Renew
            | MessageType::Rebind
            | MessageType::Release
            | MessageType::Decline
            | MessageType::InformationRequest => {}
            _ => return Err(Drop::ServerMessage),
        }
        if client_id.is_none() && t != MessageType::InformationRequest {
            return Err(Drop::NoClientId);
        }
        match t {
            MessageType::Solicit | MessageType::Confirm | MessageType::Rebind
                if server_id.is_some() =>
            {
                return Err(Drop::UnexpectedServerId)
            }
            MessageType::Request
            | MessageType::Renew
            | MessageType::Release
            | MessageType::Decline => match &server_id {
                None => return Err(Drop::MissingServerId),
                Some(id) if *id != self.duid => return Err(Drop::WrongServerId),
                Some(_) => {}
            },
            MessageType::InformationRequest
                if server_id.as_ref().is_some_and(|id| *id != self.duid) =>
            {
                return Err(Drop::WrongServerId)
            }
            _ => {}
        }
        let duid = client_id.unwrap_or_default();
        // The client's MAC: the frame's when it came straight from the
        // client, else one in its DUID (LL or LLT, Ethernet).
        let mac = duid_mac(&duid).or(direct.then_some(msg.src_mac));
        let subnets: Vec<&SubnetServe> = match link_addr {
            Some(link) => iface
                .subnets
                .iter()
                .filter(|s| s.prefix.contains(&link))
                .collect(),
            None => iface.subnets.iter().collect(),
        };
        let mut reply = Message::new_with_id(
            if t == MessageType::Solicit && !has_rapid_commit(&req, &subnets) {
                MessageType::Advertise
            } else {
                MessageType::Reply
            },
            req.xid(),
        );
        if !msg.multicast
            && matches!(
                t,
                MessageType::Solicit
                    | MessageType::Rebind
                    | MessageType::Confirm
                    | MessageType::InformationRequest
            )
        {
            return Err(Drop::UnicastNotAllowed);
        }
        let opts = reply.opts_mut();
        if !duid.is_empty() {
            opts.insert(DhcpOption::ClientId(duid.clone()));
        }
        opts.insert(DhcpOption::ServerId(self.duid.clone()));
        if !msg.multicast
            && matches!(
                t,
                MessageType::Request
                    | MessageType::Renew
                    | MessageType::Release
                    | MessageType::Decline
            )
        {
            opts.insert(status(Status::UseMulticast, "use multicast"));
            return self.finish(msg.iface, reply).map(Some);
        }
        let ctx = Ctx {
            serve,
            iface,
            subnets: &subnets,
            duid: &duid,
            mac,
            src_ip: msg.src_ip,
            now,
        };
        match t {
            MessageType::InformationRequest => {
                if let Some(s) = subnets.first() {
                    opts.insert(DhcpOption::InformationRefreshTime(
                        s.settings.information_refresh_time,
                    ));
                }
            }
            MessageType::Solicit => {
                let commit = reply.msg_type() == MessageType::Reply;
                if commit {
                    reply.opts_mut().insert(DhcpOption::RapidCommit);
                } else {
                    reply.opts_mut().insert(DhcpOption::Preference(PREFERENCE));
                }
                assign(&ctx, store, &req, &mut reply, commit, out);
            }
            MessageType::Request => assign(&ctx, store, &req, &mut reply, true, out),
            MessageType::Renew => extend(&ctx, store, &req, &mut reply, false, out),
            MessageType::Rebind => extend(&ctx, store, &req, &mut reply, true, out),
            MessageType::Release => {
                release(&ctx, store, &req, &mut reply, out);
            }
            MessageType::Decline => {
                decline(&ctx, store, &req, &mut reply, out);
            }
            MessageType::Confirm => {
                let addrs: Vec<Ipv6Addr> = ia_nas(&req)
                    .flat_map(|ia| ia_addrs(&ia.opts).map(|a| a.addr))
                    .collect();
                if addrs.is_empty() {
                    return Err(Drop::NoAddressesToConfirm);
                }
                let on_link = addrs
                    .iter()
                    .all(|a| subnets.iter().any(|s| s.prefix.contains(a)));
                reply.opts_mut().insert(if on_link {
                    status(Status::Success, "all addresses on link")
                } else {
                    status(Status::NotOnLink, "not on link")
                });
            }
            _ => return Err(Drop::ServerMessage),
        }
        if t != MessageType::Release && t != MessageType::Decline {
            other_config(&subnets, reply.opts_mut());
        }
        self.finish(msg.iface, reply).map(Some)
    }

    fn finish(&mut self, iface: usize, reply: Message) -> Result<Vec<u8>, Drop> {
        let bytes = wire::emit(&reply).map_err(|_| Drop::Malformed)?;
        self.count(iface, tx_name(reply.msg_type()));
        Ok(bytes)
    }
}

/// What the IA handlers read.
struct Ctx<'a> {
    serve: &'a ServeConfig,
    iface: &'a IfaceServe,
    subnets: &'a [&'a SubnetServe],
    duid: &'a [u8],
    mac: Option<EthernetAddress>,
    src_ip: Ipv6Addr,
    now: u64,
}

impl Ctx<'_> {
    /// The key of the client's IA `iaid`.
    fn key(&self, iaid: u32, kind: LeaseKind) -> ClientKey {
        ClientKey {
            duid: self.duid.to_vec(),
            iaid,
            kind,
        }
    }

    /// Binds `prefix` (an address as a /128, or a delegated prefix) to the
    /// client's IA `key` with `settings`' lifetimes from now: the lease in
    /// the store, its record for the journal, and for a delegated prefix
    /// the route via the requester.
    fn bind(
        &self,
        store: &mut LeaseStore,
        out: &mut Outcome,
        key: &ClientKey,
        prefix: Ipv6Net,
        (scope, port): (&str, Option<String>),
        settings: &Dhcpv6Settings,
    ) {
        let delegated = key.kind == LeaseKind::Prefix;
        let lease = Lease {
            kind: key.kind,
            prefix,
            duid: key.duid.clone(),
            iaid: key.iaid,
            mac: self.mac.map(|m| m.0),
            iface: self.iface.name.clone(),
            scope: scope.to_owned(),
            port,
            state: LeaseState::Bound,
            preferred_until: self
                .now
                .saturating_add(u64::from(settings.preferred_lifetime)),
            valid_until: self.now.saturating_add(u64::from(settings.valid_lifetime)),
            via: delegated.then_some(self.src_ip),
        };
        out.records.push(Record::Put {
            lease: lease.clone(),
        });
        if delegated {
            out.routes.push(RouteChange::Add {
                prefix,
                via: self.src_ip,
                iface: self.iface.name.clone(),
            });
        }
        store.insert(lease);
    }
}

/// An IA Address option.
fn ia_addr(addr: Ipv6Addr, preferred_life: u32, valid_life: u32) -> DhcpOption {
    DhcpOption::IAAddr(IAAddr {
        addr,
        preferred_life,
        valid_life,
        opts: DhcpOptions::new(),
    })
}

/// An IA Prefix option.
fn ia_prefix(prefix_ip: Ipv6Addr, prefix_len: u8, preferred: u32, valid: u32) -> DhcpOption {
    DhcpOption::IAPrefix(IAPrefix {
        preferred_lifetime: preferred,
        valid_lifetime: valid,
        prefix_len,
        prefix_ip,
        opts: DhcpOptions::new(),
    })
}

fn status(code: Status, msg: &str) -> DhcpOption {
    DhcpOption::StatusCode(StatusCode {
        status: code,
        msg: msg.into(),
    })
}

fn has_rapid_commit(req: &Message, subnets: &[&SubnetServe]) -> bool {
    req.opts().get(OptionCode::RapidCommit).is_some()
        && subnets
            .iter()
            .any(|s| s.stateful && s.settings.rapid_commit)
}

fn ia_nas(req: &Message) -> impl Iterator<Item = &IANA> + '_ {
    req.opts()
        .get_all(OptionCode::IANA)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| match o {
            DhcpOption::IANA(ia) => Some(ia),
            _ => None,
        })
}

fn ia_pds(req: &Message) -> impl Iterator<Item = &IAPD> + '_ {
    req.opts()
        .get_all(OptionCode::IAPD)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| match o {
            DhcpOption::IAPD(ia) => Some(ia),
            _ => None,
        })
}

fn ia_addrs(opts: &DhcpOptions) -> impl Iterator<Item = &IAAddr> + '_ {
    opts.get_all(OptionCode::IAAddr)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| match o {
            DhcpOption::IAAddr(a) => Some(a),
            _ => None,
        })
}

fn ia_prefixes(opts: &DhcpOptions) -> impl Iterator<Item = &IAPrefix> + '_ {
    opts.get_all(OptionCode::IAPrefix)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| match o {
            DhcpOption::IAPrefix(p) => Some(p),
            _ => None,
        })
}

/// The MAC inside a DUID-LLT (type 1) or DUID-LL (type 3) of hardware type
/// Ethernet (1).
pub fn duid_mac(duid: &[u8]) -> Option<EthernetAddress> {
    let mac = match duid {
        [0, 1, 0, 1, _, _, _, _, mac @ ..] | [0, 3, 0, 1, mac @ ..] => mac,
        _ => return None,
    };
    let bytes: [u8; 6] = mac.try_into().ok()?;
    Some(EthernetAddress(bytes))
}

/// DNS servers and search list of the link's subnets (RFC 3646).
fn other_config(subnets: &[&SubnetServe], opts: &mut DhcpOptions) {
    let mut dns: Vec<Ipv6Addr> = Vec::new();
    let mut search: Vec<dhcproto::Name> = Vec::new();
    for s in subnets {
        for a in &s.dns {
            if !dns.contains(a) {
                dns.push(*a);
            }
        }
        for d in &s.search {
            let text = if d.ends_with('.') {
                d.clone()
            } else {
                format!("{d}.")
            };
            if let Ok(name) = text.parse::<dhcproto::Name>() {
                if !search.contains(&name) {
                    search.push(name);
                }
            }
        }
    }
    if !dns.is_empty() {
        opts.insert(DhcpOption::DomainNameServers(dns));
    }
    if !search.is_empty() {
        opts.insert(DhcpOption::DomainSearchList(search));
    }
}

fn host(addr: Ipv6Addr) -> Ipv6Net {
    Ipv6Net::new(addr, 128).unwrap_or_default()
}

/// Lifetimes granted now: (T1, T2, preferred, valid).
fn timers(s: &Dhcpv6Settings) -> (u32, u32, u32, u32) {
    (s.t1(), s.t2(), s.preferred_lifetime, s.valid_lifetime)
}

/// Picks the address for one IA_NA in the stateful subnets of the link:
/// the client's reservation (first IA only), its current binding, what
/// it was offered, its hint, then the pools.
fn pick_address(
    ctx: &Ctx<'_>,
    store: &LeaseStore,
    key: &ClientKey,
    hints: &[Ipv6Addr],
    taken: &[Ipv6Addr],
    allow_reservation: bool,
) -> Option<(Ipv6Addr, usize, Option<String>)> {
    let stateful: Vec<(usize, &SubnetServe)> = ctx
        .subnets
        .iter()
        .enumerate()
        .filter(|(_, s)| s.stateful)
        .map(|(i, s)| (i, *s))
        .collect();
    let now = ctx.now;
    let usable = |a: &Ipv6Addr| !taken.contains(a) && store.is_free_for(&host(*a), key, now);
    if allow_reservation {
        if let Some(mac) = ctx.mac {
            for (i, s) in &stateful {
                if let Some((_, a, port)) = s.reservations.iter().find(|(m, _, _)| *m == mac) {
                    if usable(a) {
                        return Some((*a, *i, Some(port.clone())));
                    }
                }
            }
        }
    }
    let in_link = |a: &Ipv6Addr| stateful.iter().find(|(_, s)| s.prefix.contains(a));
    for l in store.client_leases(key) {
        let a = l.prefix.addr();
        if l.state == LeaseState::Bound && l.port.is_none() && usable(&a) {
            if let Some((i, _)) = in_link(&a) {
                return Some((a, *i, None));
            }
        }
    }
    for net in store.offered_to(key, now) {
        let a = net.addr();
        if net.prefix_len() == 128 && usable(&a) {
            if let Some((i, s)) = in_link(&a) {
                if in_pools(s, a) && !ctx.serve.is_reserved(u128::from(a)) {
                    return Some((a, *i, None));
                }
            }
        }
    }
    for a in hints {
        if let Some((i, s)) = in_link(a) {
            if in_pools(s, *a) && !ctx.serve.is_reserved(u128::from(*a)) && usable(a) {
                return Some((*a, *i, None));
            }
        }
    }
    for (i, s) in &stateful {
        for (first, last) in &s.pools {
            let got = store.allocate(*first, *last, 128, key, now, |x| {
                Some(x) == s.gateway
                    || ctx.serve.is_reserved(x)
                    || taken.contains(&Ipv6Addr::from(x))
            });
            if let Some(net) = got {
                return Some((net.addr(), *i, None));
            }
        }
    }
    None
}

fn in_pools(s: &SubnetServe, a: Ipv6Addr) -> bool {
    let x = u128::from(a);
    Some(x) != s.gateway && s.pools.iter().any(|(f, l)| (*f..=*l).contains(&x))
}

/// Solicit (offer, or commit with Rapid Commit) and Request (commit).
fn assign(
    ctx: &Ctx<'_>,
    store: &mut LeaseStore,
    req: &Message,
    reply: &mut Message,
    commit: bool,
    out: &mut Outcome,
) {
    let stateful = ctx.subnets.iter().any(|s| s.stateful);
    let mut any_na = false;
    let mut any_given = false;
    let mut taken: Vec<Ipv6Addr> = Vec::new();
    let na: Vec<IANA> = ia_nas(req).cloned().collect();
    for (n, ia) in na.iter().enumerate() {
        any_na = true;
        let key = ctx.key(ia.id, LeaseKind::Address);
        let hints: Vec<Ipv6Addr> = ia_addrs(&ia.opts).map(|a| a.addr).collect();
        let picked = if stateful {
            pick_address(ctx, store, &key, &hints, &taken, n == 0)
        } else {
            None
        };
        let mut out_ia = IANA {
            id: ia.id,
            t1: 0,
            t2: 0,
            opts: DhcpOptions::new(),
        };
        match picked {
            Some((addr, si, port)) => {
                let Some(s) = ctx.subnets.get(si) else {
                    continue;
                };
                taken.push(addr);
                any_given = true;
                let (t1, t2, pl, vl) = timers(&s.settings);
                out_ia.t1 = t1;
                out_ia.t2 = t2;
                out_ia.opts.insert(ia_addr(addr, pl, vl));
                if commit {
                    // An IA that held another address gives it up.
                    let old: Vec<Ipv6Net> = store
                        .client_leases(&key)
                        .filter(|l| l.prefix != host(addr) && l.state == LeaseState::Bound)
                        .map(|l| l.prefix)
                        .collect();
                    for p in old {
                        store.remove(&p);
                        out.records.push(Record::Del { prefix: p });
                    }
                    ctx.bind(store, out, &key, host(addr), (&s.name, port), &s.settings);
                } else {
                    store.offer(host(addr), key, ctx.now);
                }
            }
            None => {
                out_ia
                    .opts
                    .insert(status(Status::NoAddrsAvail, "no addresses available"));
            }
        }
        reply.opts_mut().insert(DhcpOption::IANA(out_ia));
    }
    let pd: Vec<IAPD> = ia_pds(req).cloned().collect();
    let any_pd = !pd.is_empty();
    let mut pd_given = false;
    for ia in &pd {
        let out_ia = delegate(ctx, store, ia, commit, out);
        pd_given |= ia_prefixes(&out_ia.opts).next().is_some();
        reply.opts_mut().insert(DhcpOption::IAPD(out_ia));
    }
    // RFC 8415 §18.3.9: nothing to give at all → only a status code
    // (plus the other configuration, added by the caller).
    if reply.msg_type() == MessageType::Advertise && !any_given && !pd_given {
        reply.opts_mut().remove(OptionCode::IANA);
        reply.opts_mut().remove(OptionCode::IAPD);
        let (code, text) = if any_pd && !any_na {
            (Status::NoPrefixAvail, "no prefixes available")
        } else {
            (Status::NoAddrsAvail, "no addresses available")
        };
        reply.opts_mut().insert(status(code, text));
    }
}

/// One IA_PD of a Solicit or Request: a prefix of a pool on this link.
fn delegate(
    ctx: &Ctx<'_>,
    store: &mut LeaseStore,
    ia: &IAPD,
    commit: bool,
    out: &mut Outcome,
) -> IAPD {
    let key = ctx.key(ia.id, LeaseKind::Prefix);
    let mut out_ia = IAPD {
        id: ia.id,
        t1: 0,
        t2: 0,
        opts: DhcpOptions::new(),
    };
    let now = ctx.now;
    let mut picked: Option<(Ipv6Net, &PoolServe)> = None;
    let pool_of = |net: &Ipv6Net| {
        ctx.iface
            .pools
            .iter()
            .find(|p| p.prefix.contains(net) && net.prefix_len() == p.delegated_len)
    };
    for l in store.client_leases(&key) {
        if let Some(p) = pool_of(&l.prefix) {
            picked = Some((l.prefix, p));
            break;
        }
    }
    if picked.is_none() {
        for net in store.offered_to(&key, now) {
            if let Some(p) = pool_of(&net) {
                picked = Some((net, p));
                break;
            }
        }
    }
    if picked.is_none() {
        for hint in ia_prefixes(&ia.opts) {
            if let Ok(net) = Ipv6Net::new(hint.prefix_ip, hint.prefix_len) {
                if let Some(p) = pool_of(&net) {
                    if store.is_free_for(&net, &key, now) && store.get(&net).is_none() {
                        picked = Some((net, p));
                        break;
                    }
                }
            }
        }
    }
    if picked.is_none() {
        for p in &ctx.iface.pools {
            let first = u128::from(p.prefix.network());
            let last = u128::from(p.prefix.broadcast());
            let len = p.delegated_len;
            let step_mask = if len >= 128 {
                0
            } else {
                (1u128 << (128 - u32::from(len))) - 1
            };
            if let Some(net) = store.allocate(first, last & !step_mask, len, &key, now, |_| false) {
                picked = Some((net, p));
                break;
            }
        }
    }
    let Some((net, pool)) = picked else {
        out_ia
            .opts
            .insert(status(Status::NoPrefixAvail, "no prefixes available"));
        return out_ia;
    };
    let (t1, t2, pl, vl) = timers(&pool.settings);
    out_ia.t1 = t1;
    out_ia.t2 = t2;
    out_ia
        .opts
        .insert(ia_prefix(net.network(), net.prefix_len(), pl, vl));
    if commit {
        ctx.bind(store, out, &key, net, (&pool.name, None), &pool.settings);
    } else {
        store.offer(net, key, now);
    }
    out_ia
}

/// Renew (`rebind` false) and Rebind: extend what the client holds
/// (RFC 8415 §18.3.4, §18.3.5).
fn extend(
    ctx: &Ctx<'_>,
    store: &mut LeaseStore,
    req: &Message,
    reply: &mut Message,
    rebind: bool,
    out: &mut Outcome,
) {
    let na: Vec<IANA> = ia_nas(req).cloned().collect();
    for ia in &na {
        let key = ctx.key(ia.id, LeaseKind::Address);
        let mut out_ia = IANA {
            id: ia.id,
            t1: 0,
            t2: 0,
            opts: DhcpOptions::new(),
        };
        let mut bound_any = false;
        for a in ia_addrs(&ia.opts) {
            let net = host(a.addr);
            let subnet = ctx
                .subnets
                .iter()
                .find(|s| s.stateful && s.prefix.contains(&a.addr));
            let ours = store
                .get(&net)
                .is_some_and(|l| l.client() == key && l.state == LeaseState::Bound);
            match subnet {
                Some(s) if ours || store.is_free_for(&net, &key, ctx.now) => {
                    // Ours, or free and right for the link (a binding the
                    // server can make again, §18.3.4).
                    let reservation_ok = !ctx.serve.is_reserved(u128::from(a.addr))
                        || ours
                        || ctx.mac.is_some_and(|m| {
                            s.reservations
                                .iter()
                                .any(|(rm, ra, _)| *rm == m && *ra == a.addr)
                        });
                    if !reservation_ok
                        || (!ours
                            && !in_pools(s, a.addr)
                            && !s.reservations.iter().any(|(_, ra, _)| *ra == a.addr))
                    {
                        out_ia.opts.insert(ia_addr(a.addr, 0, 0));
                        continue;
                    }
                    let (t1, t2, pl, vl) = timers(&s.settings);
                    out_ia.t1 = t1;
                    out_ia.t2 = t2;
                    out_ia.opts.insert(ia_addr(a.addr, pl, vl));
                    let port = store.get(&net).and_then(|l| l.port.clone()).or_else(|| {
                        s.reservations
                            .iter()
                            .find(|(_, ra, _)| *ra == a.addr)
                            .map(|(_, _, p)| p.clone())
                    });
                    ctx.bind(store, out, &key, net, (&s.name, port), &s.settings);
                    bound_any = true;
                }
                Some(_) => {
                    // Someone else's: the client must stop using it.
                    out_ia.opts.insert(ia_addr(a.addr, 0, 0));
                }
                None if rebind => {
                    // Not on this link: lifetimes 0 (§18.3.5).
                    out_ia.opts.insert(ia_addr(a.addr, 0, 0));
                }
                None => {}
            }
        }
        if !bound_any && ia_addrs(&out_ia.opts).next().is_none() {
            out_ia
                .opts
                .insert(status(Status::NoBinding, "no binding for this IA"));
        }
        reply.opts_mut().insert(DhcpOption::IANA(out_ia));
    }
    let pd: Vec<IAPD> = ia_pds(req).cloned().collect();
    for ia in &pd {
        let key = ctx.key(ia.id, LeaseKind::Prefix);
        let held: Vec<Ipv6Net> = store.client_leases(&key).map(|l| l.prefix).collect();
        let mut out_ia = IAPD {
            id: ia.id,
            t1: 0,
            t2: 0,
            opts: DhcpOptions::new(),
        };
        for hint in ia_prefixes(&ia.opts) {
            let Ok(net) = Ipv6Net::new(hint.prefix_ip, hint.prefix_len) else {
                continue;
            };
            let pool = ctx
                .iface
                .pools
                .iter()
                .find(|p| p.prefix.contains(&net) && p.delegated_len == net.prefix_len());
            match pool {
                Some(p) if held.contains(&net) || store.is_free_for(&net, &key, ctx.now) => {
                    let (t1, t2, pl, vl) = timers(&p.settings);
                    out_ia.t1 = t1;
                    out_ia.t2 = t2;
                    out_ia
                        .opts
                        .insert(ia_prefix(net.network(), net.prefix_len(), pl, vl));
                    ctx.bind(store, out, &key, net, (&p.name, None), &p.settings);
                }
                _ if rebind || pool.is_some() => {
                    out_ia
                        .opts
                        .insert(ia_prefix(hint.prefix_ip, hint.prefix_len, 0, 0));
                }
                _ => {}
            }
        }
        if ia_prefixes(&out_ia.opts).next().is_none() {
            out_ia
                .opts
                .insert(status(Status::NoBinding, "no binding for this IA"));
        }
        reply.opts_mut().insert(DhcpOption::IAPD(out_ia));
    }
}

/// Release (RFC 8415 §18.3.7): the client's listed leases end.
fn release(
    ctx: &Ctx<'_>,
    store: &mut LeaseStore,
    req: &Message,
    reply: &mut Message,
    out: &mut Outcome,
) {
    let mut targets: Vec<(ClientKey, Ipv6Net)> = Vec::new();
    for ia in ia_nas(req) {
        for a in ia_addrs(&ia.opts) {
            targets.push((ctx.key(ia.id, LeaseKind::Address), host(a.addr)));
        }
    }
    for ia in ia_pds(req) {
        for p in ia_prefixes(&ia.opts) {
            if let Ok(net) = Ipv6Net::new(p.prefix_ip, p.prefix_len) {
                targets.push((ctx.key(ia.id, LeaseKind::Prefix), net));
            }
        }
    }
    for (key, net) in targets {
        if store.get(&net).is_some_and(|l| l.client() == key) {
            if let Some(l) = store.remove(&net) {
                out.records.push(Record::Del { prefix: net });
                if l.kind == LeaseKind::Prefix {
                    out.routes.push(RouteChange::Del { prefix: net });
                }
            }
        }
    }
    reply.opts_mut().insert(status(Status::Success, "released"));
}

/// Decline (RFC 8415 §18.3.8): the addresses are in use by someone else
/// on the link; quarantine them.
fn decline(
    ctx: &Ctx<'_>,
    store: &mut LeaseStore,
    req: &Message,
    reply: &mut Message,
    out: &mut Outcome,
) {
    for ia in ia_nas(req) {
        let key = ctx.key(ia.id, LeaseKind::Address);
        for a in ia_addrs(&ia.opts) {
            let net = host(a.addr);
            if !store.get(&net).is_some_and(|l| l.client() == key) {
                continue;
            }
            let Some(s) = ctx.subnets.iter().find(|s| s.prefix.contains(&a.addr)) else {
                continue;
            };
            if let Some(mut l) = store.remove(&net) {
                l.state = LeaseState::Declined;
                l.preferred_until = ctx.now;
                l.valid_until = ctx.now.saturating_add(u64::from(s.settings.decline_time));
                out.records.push(Record::Put { lease: l.clone() });
                store.insert(l);
            }
        }
    }
    reply.opts_mut().insert(status(Status::Success, "declined"));
}

/// The server DUID for an interface MAC: DUID-LL, Ethernet (RFC 8415
/// §11.4).
pub fn duid_ll(mac: EthernetAddress) -> Vec<u8> {
    let mut d = vec![0, 3, 0, 1];
    d.extend_from_slice(&mac.0);
    d
}
