use criterion::{criterion_group, criterion_main, Criterion};

fn checksum(c: &mut Criterion) {
    let data = [0xa5u8; 1500];
    c.bench_function("checksum_1500", |b| {
        b.iter(|| routelet::wire::checksum::sum(criterion::black_box(&data)))
    });
}

criterion_group!(benches, checksum);
criterion_main!(benches);
