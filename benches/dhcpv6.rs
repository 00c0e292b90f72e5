//! DHCPv6 exchanges through the pipeline, as `routelet run` does them: the
//! client's frame into `Router::process` (L2, IPv6, local delivery, punt),
//! the punted frame into the service (frame checks, parse, the server's
//! answer, the lease records), one log commit, the reply frame out.
//!
//! - Information-Request → Reply (stateless, `examples/dhcpv6-stateless.toml`);
//! - Solicit → Advertise (stateful, an offer from the pool);
//! - Request → Reply (stateful, a new lease in the log each time).
//!
//! The log here is in memory: the fsync a real journal adds is shared by
//! every reply of a batch (group commit), and is measured by
//! `scripts/bench-dhcp.sh` on a real disk.
//!
//!     cargo bench --bench dhcpv6

use std::path::Path;
use std::sync::Arc;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use dhcproto::v6::{DhcpOption, DhcpOptions, Message, MessageType, IANA};
use routelet::config::Config;
use routelet::dhcpv6::frame;
use routelet::dhcpv6::server::{duid_ll, ServeConfig, Server};
use routelet::dhcpv6::service::{MemoryLog, Service};
use routelet::dhcpv6::store::LeaseStore;
use routelet::engine::{CompiledConfig, IfaceId, Instant, LinkInfo, Router, TxBatch};
use routelet::wire::{dhcpv6 as wire, EthernetAddress};

const QR0: IfaceId = IfaceId(0);
const NOW: u64 = 1_800_000_000;

fn setup(example: &str) -> (Router, Service<MemoryLog>, EthernetAddress) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = Config::load(&root.join("examples").join(example)).expect("example");
    let links = LinkInfo::synthetic(&config);
    let compiled = Arc::new(CompiledConfig::build(&config, &links).expect("compile"));
    let router_mac = compiled.ifaces[0].mac;
    let serve = ServeConfig::build(&config, &compiled);
    let service = Service::new(
        Server::new(duid_ll(router_mac), serve),
        LeaseStore::new(),
        MemoryLog::default(),
    );
    (
        Router::new(compiled, Instant::from_secs(1)),
        service,
        router_mac,
    )
}

/// A client message from client number `n` (its MAC and DUID-LL).
fn client_frame(
    router_mac: EthernetAddress,
    n: u32,
    t: MessageType,
    server: Option<&[u8]>,
) -> Vec<u8> {
    let [a, b, c, d] = n.to_be_bytes();
    let mac = EthernetAddress([0x02, a, b, c, d, 0x01]);
    let mut m = Message::new_with_id(t, [b, c, d]);
    m.opts_mut().insert(DhcpOption::ClientId(duid_ll(mac)));
    m.opts_mut().insert(DhcpOption::ElapsedTime(0));
    if let Some(id) = server {
        m.opts_mut().insert(DhcpOption::ServerId(id.to_vec()));
    }
    if t != MessageType::InformationRequest {
        m.opts_mut().insert(DhcpOption::IANA(IANA {
            id: 1,
            t1: 0,
            t2: 0,
            opts: DhcpOptions::new(),
        }));
    }
    frame::build(
        mac,
        router_mac,
        mac.link_local_ipv6(),
        wire::ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        wire::CLIENT_PORT,
        wire::SERVER_PORT,
        &wire::emit(&m).expect("emit"),
    )
}

/// One exchange: the frame through the router, its punt through the
/// service, one commit; the number of replies.
fn exchange(
    router: &mut Router,
    svc: &mut Service<MemoryLog>,
    tx: &mut TxBatch,
    f: &[u8],
) -> usize {
    tx.clear();
    router.process(QR0, f, Instant::from_secs(2), tx);
    for p in tx.punts() {
        svc.handle_frame(usize::from(p.ingress.0), p.frame, NOW);
    }
    let (replies, _) = svc.commit();
    replies.len()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("dhcpv6");
    group.throughput(Throughput::Elements(1));
    let mut tx = TxBatch::with_capacity(64, 64 * 2048);

    let (mut router, mut svc, mac) = setup("dhcpv6-stateless.toml");
    let info = client_frame(mac, 1, MessageType::InformationRequest, None);
    assert_eq!(exchange(&mut router, &mut svc, &mut tx, &info), 1);
    group.bench_function("information_request_reply", |b| {
        b.iter(|| exchange(&mut router, &mut svc, &mut tx, black_box(&info)))
    });

    let (mut router, mut svc, mac) = setup("dhcpv6-stateful.toml");
    let solicits: Vec<Vec<u8>> = (0..1024)
        .map(|n| client_frame(mac, n, MessageType::Solicit, None))
        .collect();
    assert_eq!(exchange(&mut router, &mut svc, &mut tx, &solicits[0]), 1);
    let mut i = 0usize;
    group.bench_function("solicit_advertise", |b| {
        b.iter(|| {
            i = (i + 1) % solicits.len();
            exchange(&mut router, &mut svc, &mut tx, black_box(&solicits[i]))
        })
    });

    let (mut router, mut svc, mac) = setup("dhcpv6-stateful.toml");
    let server_id = svc.server.duid().to_vec();
    let mut n = 0u32;
    group.bench_function("request_reply", |b| {
        b.iter_batched(
            || {
                n = n.wrapping_add(1);
                client_frame(mac, n, MessageType::Request, Some(&server_id))
            },
            |f| exchange(&mut router, &mut svc, &mut tx, black_box(&f)),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
