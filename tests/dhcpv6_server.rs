//! The DHCPv6 server, message by message (RFC 8415 §18.3), through the
//! service as `run` and `replay` drive it: frames in, frames out, lease
//! records in the log before any reply leaves.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::net::Ipv6Addr;
use std::sync::Arc;

use dhcproto::v6::{
    DhcpOption, DhcpOptions, IAAddr, IAPrefix, Message, MessageType, OptionCode, Status, IANA, IAPD,
};
use ipnet::Ipv6Net;

use common::{example, VM_MAC};
use routelet::config::{Config, PrefixPool};
use routelet::dhcpv6::frame;
use routelet::dhcpv6::journal::Journal;
use routelet::dhcpv6::server::{duid_ll, RouteChange, ServeConfig, Server};
use routelet::dhcpv6::service::{LeaseLog, MemoryLog, Service};
use routelet::dhcpv6::store::{LeaseState, LeaseStore};
use routelet::engine::{CompiledConfig, LinkInfo};
use routelet::wire::{dhcpv6 as wire, EthernetAddress};

const NOW: u64 = 1_800_000_000;
const ROUTER_MAC: EthernetAddress = EthernetAddress([0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01]);

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn server_duid() -> Vec<u8> {
    duid_ll(ROUTER_MAC)
}

fn service_with<L: LeaseLog>(config: &Config, log: L) -> Service<L> {
    let links = LinkInfo::synthetic(config);
    let compiled = Arc::new(CompiledConfig::build(config, &links).unwrap());
    let serve = ServeConfig::build(config, &compiled);
    Service::new(Server::new(server_duid(), serve), LeaseStore::new(), log)
}

fn service(config: &Config) -> Service<MemoryLog> {
    service_with(config, MemoryLog::default())
}

/// A client with a DUID-LL of `mac`.
struct Client {
    mac: EthernetAddress,
    duid: Vec<u8>,
}

impl Client {
    fn new(last: u8) -> Client {
        let mac = EthernetAddress([0xfa, 0x16, 0x3e, 0x00, 0x00, last]);
        Client {
            mac,
            duid: duid_ll(mac),
        }
    }

    fn vm() -> Client {
        Client {
            mac: VM_MAC,
            duid: duid_ll(VM_MAC),
        }
    }

    fn msg(&self, t: MessageType, xid: u8) -> Message {
        let mut m = Message::new_with_id(t, [0, 0, xid]);
        m.opts_mut().insert(DhcpOption::ClientId(self.duid.clone()));
        m.opts_mut().insert(DhcpOption::ElapsedTime(0));
        m
    }

    fn frame(&self, m: &Message) -> Vec<u8> {
        frame::build(
            self.mac,
            ROUTER_MAC,
            self.mac.link_local_ipv6(),
            wire::ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            wire::CLIENT_PORT,
            wire::SERVER_PORT,
            &wire::emit(m).unwrap(),
        )
    }
}

fn ia_na(id: u32, addrs: &[Ipv6Addr]) -> DhcpOption {
    let mut opts = DhcpOptions::new();
    for addr in addrs {
        opts.insert(DhcpOption::IAAddr(IAAddr {
            addr: *addr,
            preferred_life: 0,
            valid_life: 0,
            opts: DhcpOptions::new(),
        }));
    }
    DhcpOption::IANA(IANA {
        id,
        t1: 0,
        t2: 0,
        opts,
    })
}

/// Sends one frame, commits, and returns the reply messages.
fn exchange<L: LeaseLog>(svc: &mut Service<L>, frame: &[u8], now: u64) -> Vec<Message> {
    svc.handle_frame(0, frame, now);
    let (replies, _) = svc.commit();
    replies
        .iter()
        .map(|out| {
            let d = frame::parse(&out.frame, wire::CLIENT_PORT, false).unwrap();
            assert_eq!(d.src_ip, ROUTER_MAC.link_local_ipv6());
            wire::parse(d.payload).unwrap()
        })
        .collect()
}

fn one<L: LeaseLog>(svc: &mut Service<L>, client: &Client, m: &Message) -> Message {
    let mut r = exchange(svc, &client.frame(m), NOW);
    assert_eq!(r.len(), 1, "one reply to {:?}", m.msg_type());
    let reply = r.pop().unwrap();
    assert_eq!(reply.xid(), m.xid());
    assert_eq!(
        reply.opts().get(OptionCode::ClientId),
        Some(&DhcpOption::ClientId(client.duid.clone()))
    );
    assert_eq!(
        reply.opts().get(OptionCode::ServerId),
        Some(&DhcpOption::ServerId(server_duid()))
    );
    reply
}

fn reply_addrs(m: &Message) -> Vec<(u32, Ipv6Addr, u32, u32)> {
    m.opts()
        .get_all(OptionCode::IANA)
        .unwrap_or_default()
        .iter()
        .flat_map(|o| match o {
            DhcpOption::IANA(ia) => ia
                .opts
                .get_all(OptionCode::IAAddr)
                .unwrap_or_default()
                .iter()
                .filter_map(|x| match x {
                    DhcpOption::IAAddr(a) => Some((ia.id, a.addr, a.preferred_life, a.valid_life)),
                    _ => None,
                })
                .collect::<Vec<_>>(),
            _ => Vec::new(),
        })
        .collect()
}

fn top_status(m: &Message) -> Option<Status> {
    match m.opts().get(OptionCode::StatusCode) {
        Some(DhcpOption::StatusCode(s)) => Some(s.status),
        _ => None,
    }
}

fn ia_status(m: &Message) -> Option<Status> {
    match m.opts().get(OptionCode::IANA) {
        Some(DhcpOption::IANA(ia)) => match ia.opts.get(OptionCode::StatusCode) {
            Some(DhcpOption::StatusCode(s)) => Some(s.status),
            _ => None,
        },
        _ => None,
    }
}

fn stateful() -> Config {
    example("dhcpv6-stateful")
}

/// Solicit → Advertise → Request → Reply; returns the address.
fn lease(svc: &mut Service<MemoryLog>, c: &Client) -> Ipv6Addr {
    let mut sol = c.msg(MessageType::Solicit, 1);
    sol.opts_mut().insert(ia_na(7, &[]));
    let adv = one(svc, c, &sol);
    assert_eq!(adv.msg_type(), MessageType::Advertise);
    let offered = reply_addrs(&adv)[0].1;
    let mut req = c.msg(MessageType::Request, 2);
    req.opts_mut().insert(DhcpOption::ServerId(server_duid()));
    req.opts_mut().insert(ia_na(7, &[offered]));
    let rep = one(svc, c, &req);
    assert_eq!(rep.msg_type(), MessageType::Reply);
    assert_eq!(reply_addrs(&rep)[0].1, offered);
    offered
}

#[test]
fn information_request_gets_dns_search_and_refresh_time() {
    let mut svc = service(&example("dhcpv6-stateless"));
    let c = Client::vm();
    let mut m = Message::new_with_id(MessageType::InformationRequest, [0x7b, 0x23, 0xc6]);
    m.opts_mut().insert(DhcpOption::ClientId(c.duid.clone()));
    let reply = one(&mut svc, &c, &m);
    assert_eq!(reply.msg_type(), MessageType::Reply);
    assert_eq!(
        reply.opts().get(OptionCode::DomainNameServers),
        Some(&DhcpOption::DomainNameServers(vec![a(
            "2001:db8:cafe:a::e"
        )]))
    );
    let Some(DhcpOption::DomainSearchList(names)) = reply.opts().get(OptionCode::DomainSearchList)
    else {
        panic!("no search list: {reply:?}");
    };
    assert_eq!(names[0].to_string(), "openstacklocal.");
    // Option 32, 86400 s (dhcproto 0.15 decodes it as unknown).
    let irt = reply.opts().iter().find_map(|o| match o {
        DhcpOption::InformationRefreshTime(t) => Some(*t),
        DhcpOption::Unknown(u) if u16::from(u.code()) == 32 => {
            Some(u32::from_be_bytes(u.data().try_into().unwrap()))
        }
        _ => None,
    });
    assert_eq!(irt, Some(86_400));
    // Nothing is leased by a stateless exchange.
    assert!(svc.store.is_empty() && svc.log.committed.is_empty());
}

#[test]
fn the_real_clients_information_requests_are_answered() {
    // dhclient -6 -S and dhcpcd from the talk's capture.
    let report = routelet::replay::replay_frames(
        &example("dhcpv6-stateless"),
        "qr0",
        routelet::io::pcap::read_capture(
            &common::root().join("testdata/pcap/dhcpv6-stateless-client.pcapng"),
        )
        .unwrap()
        .iter()
        .map(|f| (f.timestamp, f.iface.as_deref(), f.data.as_slice()))
        .collect::<Vec<_>>(),
    )
    .unwrap();
    let counters: std::collections::BTreeMap<_, _> = report.dhcpv6[0].1.iter().cloned().collect();
    assert_eq!(counters.get("rx_information_request"), Some(&2));
    assert_eq!(counters.get("tx_reply"), Some(&2));
}

#[test]
fn the_real_clients_stateful_exchange_is_answered_as_far_as_it_can_be() {
    // dhclient -6 from the talk's capture: its Solicits are answered with
    // Advertises from the pool, with the VM's reservation first; its
    // Requests, Renew and Release name the reference router's DUID, not
    // this server's, so they are dropped and counted (RFC 8415 §16).
    let report = routelet::replay::replay_frames(
        &stateful(),
        "qr0",
        routelet::io::pcap::read_capture(
            &common::root().join("testdata/pcap/dhcpv6-stateful-client.pcapng"),
        )
        .unwrap()
        .iter()
        .map(|f| (f.timestamp, f.iface.as_deref(), f.data.as_slice()))
        .collect::<Vec<_>>(),
    )
    .unwrap();
    let counters: std::collections::BTreeMap<_, _> = report.dhcpv6[0].1.iter().cloned().collect();
    assert_eq!(counters.get("rx_solicit"), Some(&3));
    assert_eq!(counters.get("tx_advertise"), Some(&3));
    assert_eq!(counters.get("drop_wrong_server_id"), Some(&5));
    assert!(
        report.leases.is_empty(),
        "nothing was requested of this server"
    );
}

#[test]
fn stateless_solicit_gets_no_addrs_avail_with_the_other_configuration() {
    let mut svc = service(&example("dhcpv6-stateless"));
    let c = Client::vm();
    let mut m = c.msg(MessageType::Solicit, 3);
    m.opts_mut().insert(ia_na(1, &[]));
    let adv = one(&mut svc, &c, &m);
    assert_eq!(adv.msg_type(), MessageType::Advertise);
    assert_eq!(top_status(&adv), Some(Status::NoAddrsAvail));
    assert!(adv.opts().get(OptionCode::IANA).is_none());
    assert!(adv.opts().get(OptionCode::DomainNameServers).is_some());
}

#[test]
fn the_reservation_of_the_ports_mac_comes_first() {
    let mut svc = service(&stateful());
    // The talk's VM: port vm1 reserves 2001:db8:cafe:1::4 for its MAC.
    let addr = lease(&mut svc, &Client::vm());
    assert_eq!(addr, a("2001:db8:cafe:1::4"));
    let l = svc.store.iter().next().unwrap();
    assert_eq!(l.port.as_deref(), Some("vm1"));
    assert_eq!(l.mac, Some(VM_MAC.0));
    // The lease was in the log before the Reply went out.
    assert_eq!(svc.log.committed.len(), 1);
    // Another client never gets the reserved address.
    let other = lease(&mut svc, &Client::new(9));
    assert_ne!(other, a("2001:db8:cafe:1::4"));
}

#[test]
fn pool_addresses_are_distinct_stable_and_have_the_defaults_lifetimes() {
    let mut svc = service(&stateful());
    let mut seen = std::collections::HashSet::new();
    for i in 0..50u8 {
        let addr = lease(&mut svc, &Client::new(i));
        assert!(seen.insert(addr), "{addr} given twice");
        assert!(addr != a("2001:db8:cafe:1::1"), "the gateway");
    }
    // A Solicit from a client that holds a lease offers it the same one,
    // with DESIGN.md's times: 86400 s, T1 0.5, T2 0.8.
    let c = Client::new(3);
    let mut sol = c.msg(MessageType::Solicit, 9);
    sol.opts_mut().insert(ia_na(7, &[]));
    let adv = one(&mut svc, &c, &sol);
    let (_, addr, pl, vl) = reply_addrs(&adv)[0];
    assert!(seen.contains(&addr));
    assert_eq!((pl, vl), (86_400, 86_400));
    let Some(DhcpOption::IANA(ia)) = adv.opts().get(OptionCode::IANA) else {
        panic!()
    };
    assert_eq!((ia.t1, ia.t2), (43_200, 69_120));
    assert_eq!(
        adv.opts().get(OptionCode::Preference),
        Some(&DhcpOption::Preference(255))
    );
}

#[test]
fn rapid_commit_replies_at_once_and_commits() {
    let mut svc = service(&stateful());
    let c = Client::new(1);
    let mut sol = c.msg(MessageType::Solicit, 1);
    sol.opts_mut().insert(DhcpOption::RapidCommit);
    sol.opts_mut().insert(ia_na(1, &[]));
    let reply = one(&mut svc, &c, &sol);
    assert_eq!(reply.msg_type(), MessageType::Reply);
    assert!(reply.opts().get(OptionCode::RapidCommit).is_some());
    assert_eq!(svc.store.len(), 1);
    // With rapid_commit off, the same Solicit gets an Advertise.
    let mut config = stateful();
    config.subnets[0].dhcpv6 = Some(routelet::config::Dhcpv6Settings {
        rapid_commit: false,
        ..Default::default()
    });
    let mut svc = service(&config);
    assert_eq!(one(&mut svc, &c, &sol).msg_type(), MessageType::Advertise);
    assert!(svc.store.is_empty());
}

#[test]
fn several_ia_nas_get_several_addresses() {
    let mut svc = service(&stateful());
    let c = Client::new(1);
    let mut req = c.msg(MessageType::Request, 1);
    req.opts_mut().insert(DhcpOption::ServerId(server_duid()));
    req.opts_mut().insert(ia_na(1, &[]));
    req.opts_mut().insert(ia_na(2, &[]));
    let reply = one(&mut svc, &c, &req);
    let addrs = reply_addrs(&reply);
    assert_eq!(addrs.len(), 2);
    assert_ne!(addrs[0].1, addrs[1].1);
    assert_eq!(svc.store.len(), 2);
}

#[test]
fn an_exhausted_pool_says_no_addrs_avail() {
    let mut config = stateful();
    config.subnets[0].allocation_pools = vec![routelet::config::AllocationPool {
        start: "2001:db8:cafe:1::10".parse().unwrap(),
        end: "2001:db8:cafe:1::11".parse().unwrap(),
    }];
    let mut svc = service(&config);
    lease(&mut svc, &Client::new(1));
    lease(&mut svc, &Client::new(2));
    let c = Client::new(3);
    let mut sol = c.msg(MessageType::Solicit, 1);
    sol.opts_mut().insert(ia_na(7, &[]));
    let adv = one(&mut svc, &c, &sol);
    assert_eq!(top_status(&adv), Some(Status::NoAddrsAvail));
    let mut req = c.msg(MessageType::Request, 2);
    req.opts_mut().insert(DhcpOption::ServerId(server_duid()));
    req.opts_mut().insert(ia_na(7, &[]));
    let rep = one(&mut svc, &c, &req);
    assert_eq!(ia_status(&rep), Some(Status::NoAddrsAvail));
}

#[test]
fn renew_extends_rebind_off_link_gets_lifetimes_zero_release_frees() {
    let mut svc = service(&stateful());
    let c = Client::new(1);
    let addr = lease(&mut svc, &c);
    let mut renew = c.msg(MessageType::Renew, 5);
    renew.opts_mut().insert(DhcpOption::ServerId(server_duid()));
    renew.opts_mut().insert(ia_na(7, &[addr]));
    let mut r = exchange(&mut svc, &c.frame(&renew), NOW + 1000);
    let reply = r.pop().unwrap();
    assert_eq!(reply_addrs(&reply), vec![(7, addr, 86_400, 86_400)]);
    let l = svc.store.iter().next().unwrap();
    assert_eq!(l.valid_until, NOW + 1000 + 86_400);

    let mut rebind = c.msg(MessageType::Rebind, 6);
    rebind
        .opts_mut()
        .insert(ia_na(7, &[addr, a("2001:db8:dead::1")]));
    let reply = one(&mut svc, &c, &rebind);
    let got = reply_addrs(&reply);
    assert!(got.contains(&(7, addr, 86_400, 86_400)));
    assert!(got.contains(&(7, a("2001:db8:dead::1"), 0, 0)));

    let mut release = c.msg(MessageType::Release, 7);
    release
        .opts_mut()
        .insert(DhcpOption::ServerId(server_duid()));
    release.opts_mut().insert(ia_na(7, &[addr]));
    let reply = one(&mut svc, &c, &release);
    assert_eq!(top_status(&reply), Some(Status::Success));
    assert!(svc.store.is_empty());
    // Renewing what is gone: NoBinding? The address is free and right for
    // the link, so the server binds it again (RFC 8415 §18.3.4 allows it).
    let mut r = exchange(&mut svc, &c.frame(&renew), NOW + 2000);
    assert_eq!(reply_addrs(&r.pop().unwrap())[0].1, addr);
}

#[test]
fn renew_of_someone_elses_address_gets_lifetimes_zero() {
    let mut svc = service(&stateful());
    let addr = lease(&mut svc, &Client::new(1));
    let thief = Client::new(2);
    let mut renew = thief.msg(MessageType::Renew, 5);
    renew.opts_mut().insert(DhcpOption::ServerId(server_duid()));
    renew.opts_mut().insert(ia_na(7, &[addr]));
    let reply = one(&mut svc, &thief, &renew);
    assert_eq!(reply_addrs(&reply), vec![(7, addr, 0, 0)]);
    assert_eq!(svc.store.len(), 1);
}

#[test]
fn decline_quarantines_the_address() {
    let mut config = stateful();
    config.subnets[0].allocation_pools = vec![routelet::config::AllocationPool {
        start: "2001:db8:cafe:1::10".parse().unwrap(),
        end: "2001:db8:cafe:1::10".parse().unwrap(),
    }];
    let mut svc = service(&config);
    let c = Client::new(1);
    let addr = lease(&mut svc, &c);
    let mut decline = c.msg(MessageType::Decline, 3);
    decline
        .opts_mut()
        .insert(DhcpOption::ServerId(server_duid()));
    decline.opts_mut().insert(ia_na(7, &[addr]));
    let reply = one(&mut svc, &c, &decline);
    assert_eq!(top_status(&reply), Some(Status::Success));
    assert_eq!(svc.store.iter().next().unwrap().state, LeaseState::Declined);
    // The only pool address is quarantined: nobody gets it.
    let other = Client::new(2);
    let mut sol = other.msg(MessageType::Solicit, 1);
    sol.opts_mut().insert(ia_na(1, &[]));
    assert_eq!(
        top_status(&one(&mut svc, &other, &sol)),
        Some(Status::NoAddrsAvail)
    );
}

#[test]
fn confirm_says_on_link_or_not() {
    let mut svc = service(&stateful());
    let c = Client::new(1);
    let mut m = c.msg(MessageType::Confirm, 1);
    m.opts_mut().insert(ia_na(1, &[a("2001:db8:cafe:1::99")]));
    assert_eq!(top_status(&one(&mut svc, &c, &m)), Some(Status::Success));
    let mut m = c.msg(MessageType::Confirm, 2);
    m.opts_mut().insert(ia_na(1, &[a("2001:db8:beef::99")]));
    assert_eq!(top_status(&one(&mut svc, &c, &m)), Some(Status::NotOnLink));
    // A Confirm without addresses gets no reply (§18.3.3).
    let mut m = c.msg(MessageType::Confirm, 3);
    m.opts_mut().insert(ia_na(1, &[]));
    assert!(exchange(&mut svc, &c.frame(&m), NOW).is_empty());
}

#[test]
fn invalid_messages_are_dropped_and_counted() {
    let mut svc = service(&stateful());
    let c = Client::new(1);
    // Request for another server.
    let mut m = c.msg(MessageType::Request, 1);
    m.opts_mut()
        .insert(DhcpOption::ServerId(vec![0, 3, 0, 1, 1, 2, 3, 4, 5, 6]));
    m.opts_mut().insert(ia_na(1, &[]));
    assert!(exchange(&mut svc, &c.frame(&m), NOW).is_empty());
    // Request without a server id.
    let mut m = c.msg(MessageType::Request, 2);
    m.opts_mut().insert(ia_na(1, &[]));
    assert!(exchange(&mut svc, &c.frame(&m), NOW).is_empty());
    // Solicit with a server id.
    let mut m = c.msg(MessageType::Solicit, 3);
    m.opts_mut().insert(DhcpOption::ServerId(server_duid()));
    assert!(exchange(&mut svc, &c.frame(&m), NOW).is_empty());
    // No client id.
    let m = Message::new_with_id(MessageType::Solicit, [0, 0, 4]);
    assert!(exchange(&mut svc, &c.frame(&m), NOW).is_empty());
    // A server's message from a port.
    let m = c.msg(MessageType::Advertise, 5);
    assert!(exchange(&mut svc, &c.frame(&m), NOW).is_empty());
    // Garbage.
    let f = frame::build(
        c.mac,
        ROUTER_MAC,
        c.mac.link_local_ipv6(),
        wire::ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        546,
        547,
        &[1, 0, 0, 1, 0, 1, 0, 40],
    );
    assert!(exchange(&mut svc, &f, NOW).is_empty());
    let counters = &svc.counters()[0].0;
    for name in [
        "drop_wrong_server_id",
        "drop_missing_server_id",
        "drop_unexpected_server_id",
        "drop_no_client_id",
        "drop_server_message",
        "drop_malformed",
    ] {
        assert_eq!(counters.get(name), Some(&1), "{name}: {counters:?}");
    }
    assert!(svc.store.is_empty());
}

#[test]
fn no_reply_leaves_for_a_lease_that_is_not_on_disk() {
    let mut svc = service(&stateful());
    svc.log.fail = true;
    let c = Client::new(1);
    let mut req = c.msg(MessageType::Request, 1);
    req.opts_mut().insert(DhcpOption::ServerId(server_duid()));
    req.opts_mut().insert(ia_na(1, &[]));
    assert!(exchange(&mut svc, &c.frame(&req), NOW).is_empty());
    assert_eq!(svc.counters.commit_errors, 1);
    assert_eq!(svc.counters.replies_withheld, 1);
    // The disk is back: the client's retransmission is answered.
    svc.log.fail = false;
    assert_eq!(exchange(&mut svc, &c.frame(&req), NOW).len(), 1);
}

#[test]
fn relay_forward_is_answered_with_relay_reply_echoing_the_interface_id() {
    let mut svc = service(&stateful());
    let c = Client::new(1);
    let mut sol = c.msg(MessageType::Solicit, 1);
    sol.opts_mut().insert(ia_na(1, &[]));
    let inner = wire::emit(&sol).unwrap();
    let mut relay = vec![wire::RELAY_FORW, 0];
    relay.extend_from_slice(&a("2001:db8:cafe:1::77").octets());
    relay.extend_from_slice(&c.mac.link_local_ipv6().octets());
    relay.extend_from_slice(&[0, 18, 0, 3, b'e', b't', b'h']);
    relay.extend_from_slice(&[0, 9]);
    relay.extend_from_slice(&u16::try_from(inner.len()).unwrap().to_be_bytes());
    relay.extend_from_slice(&inner);
    let agent = EthernetAddress([0x02, 0, 0, 0, 0, 0x77]);
    let f = frame::build(
        agent,
        ROUTER_MAC,
        a("2001:db8:cafe:1::77"),
        a("2001:db8:cafe:1::1"),
        547,
        547,
        &relay,
    );
    svc.handle_frame(0, &f, NOW);
    let (replies, _) = svc.commit();
    assert_eq!(replies.len(), 1);
    let d = frame::parse(&replies[0].frame, 547, false).unwrap();
    assert_eq!(
        (d.src_ip, d.dst_ip),
        (a("2001:db8:cafe:1::1"), a("2001:db8:cafe:1::77"))
    );
    assert_eq!(d.payload[0], wire::RELAY_REPL);
    let mut as_forward = d.payload.to_vec();
    as_forward[0] = wire::RELAY_FORW;
    let back = wire::parse_relay_forward(&as_forward).unwrap();
    assert_eq!(back.interface_id, Some(&b"eth"[..]));
    assert_eq!(back.peer_addr, c.mac.link_local_ipv6());
    let adv = wire::parse(back.message).unwrap();
    assert_eq!(adv.msg_type(), MessageType::Advertise);
    assert_eq!(reply_addrs(&adv).len(), 1);
}

fn pd_config() -> Config {
    let mut c = stateful();
    c.prefix_pools.push(PrefixPool {
        name: "pd".into(),
        prefix: "2001:db8:face::/48".parse().unwrap(),
        delegated_length: 64,
        ..PrefixPool::empty()
    });
    c.validate().unwrap();
    c
}

#[test]
fn prefix_delegation_delegates_and_routes_to_the_requester() {
    let mut svc = service(&pd_config());
    let c = Client::new(1);
    let ia_pd = DhcpOption::IAPD(IAPD {
        id: 1,
        t1: 0,
        t2: 0,
        opts: DhcpOptions::new(),
    });
    let mut sol = c.msg(MessageType::Solicit, 1);
    sol.opts_mut().insert(ia_pd.clone());
    let adv = one(&mut svc, &c, &sol);
    let Some(DhcpOption::IAPD(ia)) = adv.opts().get(OptionCode::IAPD) else {
        panic!("{adv:?}")
    };
    let Some(DhcpOption::IAPrefix(p)) = ia.opts.get(OptionCode::IAPrefix) else {
        panic!("{adv:?}")
    };
    let prefix = Ipv6Net::new(p.prefix_ip, p.prefix_len).unwrap();
    assert_eq!(prefix.prefix_len(), 64);
    assert!("2001:db8:face::/48"
        .parse::<Ipv6Net>()
        .unwrap()
        .contains(&prefix));
    let mut req = c.msg(MessageType::Request, 2);
    req.opts_mut().insert(DhcpOption::ServerId(server_duid()));
    let mut opts = DhcpOptions::new();
    opts.insert(DhcpOption::IAPrefix(IAPrefix {
        preferred_lifetime: 0,
        valid_lifetime: 0,
        prefix_len: 64,
        prefix_ip: prefix.network(),
        opts: DhcpOptions::new(),
    }));
    req.opts_mut().insert(DhcpOption::IAPD(IAPD {
        id: 1,
        t1: 0,
        t2: 0,
        opts,
    }));
    svc.handle_frame(0, &c.frame(&req), NOW);
    let (replies, routes) = svc.commit();
    assert_eq!(replies.len(), 1);
    assert_eq!(
        routes,
        vec![RouteChange::Add {
            prefix,
            via: c.mac.link_local_ipv6(),
            iface: "qr0".into()
        }]
    );
    assert_eq!(svc.delegated_routes().len(), 1);
    // A second requester gets another prefix.
    let c2 = Client::new(2);
    let mut sol = c2.msg(MessageType::Solicit, 3);
    sol.opts_mut().insert(ia_pd);
    let adv = one(&mut svc, &c2, &sol);
    let Some(DhcpOption::IAPD(ia)) = adv.opts().get(OptionCode::IAPD) else {
        panic!()
    };
    let Some(DhcpOption::IAPrefix(p2)) = ia.opts.get(OptionCode::IAPrefix) else {
        panic!()
    };
    assert_ne!(p2.prefix_ip, prefix.network());
    // Releasing the prefix removes its route.
    let mut rel = c.msg(MessageType::Release, 4);
    rel.opts_mut().insert(DhcpOption::ServerId(server_duid()));
    rel.opts_mut()
        .insert(req.opts().get(OptionCode::IAPD).unwrap().clone());
    svc.handle_frame(0, &c.frame(&rel), NOW);
    let (_, routes) = svc.commit();
    assert_eq!(routes, vec![RouteChange::Del { prefix }]);
}

#[test]
fn leases_survive_a_restart_and_renewals_keep_their_addresses() {
    let dir = std::env::temp_dir().join(format!("routelet-dhcp-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = stateful();
    let mut given = Vec::new();
    {
        let (journal, _) = Journal::open(&dir).unwrap();
        let mut svc = service_with(&config, journal);
        for i in 0..20u8 {
            let c = Client::new(i);
            let mut req = c.msg(MessageType::Request, i);
            req.opts_mut().insert(DhcpOption::ServerId(server_duid()));
            req.opts_mut().insert(ia_na(7, &[]));
            svc.handle_frame(0, &c.frame(&req), NOW);
        }
        // One commit for the whole batch, then the replies.
        let (replies, _) = svc.commit();
        assert_eq!(replies.len(), 20);
        assert_eq!(svc.counters.commits, 1);
        for out in replies {
            let d = frame::parse(&out.frame, 546, false).unwrap();
            given.push(reply_addrs(&wire::parse(d.payload).unwrap())[0].1);
        }
        // Dropped without any shutdown: as after SIGKILL.
    }
    let (journal, rec) = Journal::open(&dir).unwrap();
    let (store, bad) = LeaseStore::recover(rec.records.iter().map(|r| r.as_slice()), NOW);
    assert_eq!((store.len(), bad), (20, 0));
    let links = LinkInfo::synthetic(&config);
    let compiled = Arc::new(CompiledConfig::build(&config, &links).unwrap());
    let mut svc = Service::new(
        Server::new(server_duid(), ServeConfig::build(&config, &compiled)),
        store,
        journal,
    );
    for i in 0..20u8 {
        let c = Client::new(i);
        let mut sol = c.msg(MessageType::Solicit, 100 + i);
        sol.opts_mut().insert(ia_na(7, &[]));
        let adv = one(&mut svc, &c, &sol);
        assert_eq!(reply_addrs(&adv)[0].1, given[usize::from(i)], "client {i}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
