//! Wire-layer costs: the checksum, the parse chain of a received ND frame,
//! and encoding the RA body (done once per config, measured for scale).

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use routelet::io::pcap::read_capture;
use routelet::wire::{
    checksum, EthernetFrame, EthernetRepr, Icmpv6Packet, Ipv6Packet, Ipv6Repr, NdiscRepr,
};

fn frames() -> Vec<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/pcap/slaac-client-qr0.pcap");
    read_capture(&path)
        .expect("slaac capture")
        .into_iter()
        .map(|f| f.data)
        .collect()
}

fn checksum_bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("checksum");
    for len in [64usize, 1500] {
        let data = vec![0xa5u8; len];
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(format!("sum_{len}"), |b| {
            b.iter(|| checksum::sum(black_box(&data)))
        });
    }
    g.finish();
}

fn parse_bench(c: &mut Criterion) {
    // The kernel's router solicitation from the talk's SLAAC exchange.
    let rs = frames()
        .into_iter()
        .find(|f| f.len() > 54 && f[54] == 133)
        .expect("an RS in the capture");
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(1));
    g.bench_function("rs_eth_ipv6_icmpv6_ndisc_validated", |b| {
        b.iter(|| {
            let frame = EthernetFrame::new_checked(black_box(&rs[..])).unwrap();
            let eth = EthernetRepr::parse(&frame).unwrap();
            let packet = Ipv6Packet::new_checked(&rs[eth.header_len()..]).unwrap();
            let ip = Ipv6Repr::parse(&packet).unwrap();
            let icmp = Icmpv6Packet::new_checked(packet.payload()).unwrap();
            assert!(icmp.verify_checksum(&ip.src_addr, &ip.dst_addr));
            let nd = NdiscRepr::parse_validated(&ip.src_addr, &ip.dst_addr, ip.hop_limit, &icmp)
                .unwrap();
            black_box(nd.options().source_link_layer_addr())
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2));
    targets = checksum_bench, parse_bench
}
criterion_main!(benches);
