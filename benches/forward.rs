//! The forwarding path, frame in → frame out, through the whole pipeline:
//! Ethernet and IP parse, local/transit decision, FIB lookup, neighbor
//! lookup, copy into the TX batch with the new Ethernet header and the hop
//! limit (IPv6) or TTL and checksum (IPv4) rewritten.
//!
//! Input: a capture of 64-byte frames (`testdata/pcap/bench-udp64.pcap`,
//! IPv6 and IPv4 UDP from the tenant VM to the external side) replayed
//! toward a neighbor resolved beforehand, in batches of 1, 32 and 256, as a
//! worker would: one `Router::process_batch` call per batch (the engine
//! runs it in passes of 32), the TX batch cleared, not freed, between
//! batches.
//!
//!     cargo bench --bench forward

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use routelet::config::Config;
use routelet::engine::{CompiledConfig, IfaceId, Instant, LinkInfo, Router, TxBatch};
use routelet::io::pcap::read_capture;

const QR0: IfaceId = IfaceId(0);
const QG0: IfaceId = IfaceId(1);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A router over the dual-stack example with the upstream's MAC learned
/// for both families, as after the first exchange of a live router: the
/// first packet of each family starts resolution, the upstream's answers
/// complete it.
fn warmed_router(first: &[&Vec<u8>], answers: &[Vec<u8>]) -> Router {
    let config = Config::load(&root().join("examples/dual-stack.toml")).expect("example");
    let links = LinkInfo::synthetic(&config);
    let compiled = Arc::new(CompiledConfig::build(&config, &links).expect("compile"));
    let mut router = Router::new(compiled, Instant::from_secs(1));
    let mut tx = TxBatch::with_capacity(512, 512 * 128);
    for f in first {
        router.process(QR0, f, Instant::from_secs(1), &mut tx);
    }
    // The answers are the capture's first frames (an NA and an ARP reply
    // from the upstream on qg0).
    for f in answers {
        router.process(QG0, f, Instant::from_secs(1), &mut tx);
    }
    tx.clear();
    router
}

fn bench_family(c: &mut Criterion, name: &str, resolve: &[Vec<u8>], traffic: &[Vec<u8>]) {
    let mut router = warmed_router(&[&traffic[0]], resolve);
    let mut tx = TxBatch::with_capacity(512, 512 * 128);
    // Sanity: every frame is forwarded out of qg0, nothing else.
    for f in traffic {
        router.process(QR0, f, Instant::from_secs(2), &mut tx);
    }
    assert_eq!(tx.len(), traffic.len(), "{name}: every frame forwarded");
    assert!(tx.iter().all(|(i, _)| i == QG0));
    tx.clear();

    let mut group = c.benchmark_group(format!("forward_{name}"));
    for batch in [1usize, 32, 256] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, &batch| {
            // The frames of each batch, as the worker's RX ring hands them.
            let batches: Vec<Vec<&[u8]>> = (0..traffic.len())
                .map(|start| {
                    (0..batch)
                        .map(|k| &traffic[(start + k) % traffic.len()][..])
                        .collect()
                })
                .collect();
            let mut i = 0usize;
            let mut now = 2_000_000u64;
            b.iter(|| {
                tx.clear();
                // One clock read per batch, as the worker does.
                now += 1;
                let t = Instant::from_micros(now);
                let frames = &batches[i % batches.len()];
                router.process_batch(QR0, black_box(frames), t, &mut tx);
                i += 1;
                black_box(tx.len());
            });
        });
    }
    group.finish();
}

fn forward(c: &mut Criterion) {
    let frames: Vec<Vec<u8>> = read_capture(&root().join("testdata/pcap/bench-udp64.pcap"))
        .expect("bench capture")
        .into_iter()
        .map(|f| f.data)
        .collect();
    let is_v6 = |f: &Vec<u8>| f.get(12..14) == Some(&[0x86, 0xdd][..]);
    let from_vm = |f: &Vec<u8>| f.get(6..12) == Some(&[0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc][..]);
    let resolve: Vec<Vec<u8>> = frames.iter().filter(|f| !from_vm(f)).cloned().collect();
    let v6: Vec<Vec<u8>> = frames
        .iter()
        .filter(|f| from_vm(f) && is_v6(f))
        .cloned()
        .collect();
    let v4: Vec<Vec<u8>> = frames
        .iter()
        .filter(|f| from_vm(f) && !is_v6(f))
        .cloned()
        .collect();
    assert!(
        v6.iter().chain(v4.iter()).all(|f| f.len() == 64),
        "64-byte frames"
    );
    bench_family(c, "ipv6_udp64", &resolve, &v6);
    bench_family(c, "ipv4_udp64", &resolve, &v4);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = forward
}
criterion_main!(benches);
