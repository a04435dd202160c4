//! Build + parse of a full thread-wide vCPU state (GPRs, SPRs, FPRs/VSRs, VRs: the
//! `GsidSet::RUN_INPUT` set, 163 elements), measured against `memcpy` of the same bytes in
//! the same run, with a heap allocation count.
//!
//! Prints (as `bench-figure:` lines, judged against `xtask/benches/support/targets.rs`) the
//! build and parse bandwidth ÷ memcpy bandwidth (1.0 = as fast as copying the bytes) and
//! the heap allocations counted over the timed build and parse loops.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use criterion::{criterion_group, Criterion};
use papr_gsb::{Gsb, GsbBuilder, GsidSet, GuestStateId, Policy, Value, ValueKind};
use std::hint::black_box;
use std::time::Duration;

#[path = "../../xtask/benches/support/mod.rs"]
mod support;

fn state() -> Vec<(GuestStateId, Value)> {
    GsidSet::RUN_INPUT
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let v = match id.info().unwrap().kind {
                ValueKind::U32 => Value::U32(i as u32 * 0x0101_0101),
                ValueKind::Vector => Value::Vector((i as u128) << 70 | 0xABCD),
                _ => Value::U64(i as u64 * 0x0101_0101_0101),
            };
            (id, v)
        })
        .collect()
}

fn build(buf: &mut [u8], st: &[(GuestStateId, Value)]) -> usize {
    let mut b = GsbBuilder::new(buf).unwrap();
    for &(id, v) in st {
        b.put(id, v).unwrap();
    }
    b.len()
}

fn parse(bytes: &[u8], out: &mut [u128]) -> usize {
    let g = Gsb::parse(bytes, &Policy::EXACT).unwrap();
    for (e, slot) in g.iter().zip(out.iter_mut()) {
        *slot = match e.value() {
            Value::U32(v) => v as u128,
            Value::U64(v) => v as u128,
            Value::Vector(v) => v,
            _ => 0,
        };
    }
    g.len()
}

fn report(full: bool) {
    let st = state();
    let mut buf = vec![0u8; 4096];
    let n = build(&mut buf, &st);
    let src = buf[..n].to_vec();
    let mut dst = vec![0u8; n];
    let mut out = vec![0u128; st.len()];
    let (batches, iters) = if full { (31, 20_000) } else { (3, 10) };

    // Allocations are counted over each timed loop only (support::measure).
    let b = support::measure(batches, iters, |_| {
        black_box(build(black_box(&mut buf), black_box(&st)));
    });
    let p = support::measure(batches, iters, |_| {
        black_box(parse(black_box(&src), black_box(&mut out)));
    });
    let m = support::measure(batches, iters, |_| {
        black_box(&mut dst).copy_from_slice(black_box(&src));
    });
    let (tb, tp, tm) = (b.per_call, p.per_call, m.per_call);
    let mb = |t: Duration| n as f64 / t.as_secs_f64() / 1e6;
    println!("gsb full vCPU state: {} elements, {n} bytes", st.len());
    for (name, t) in [("memcpy", tm), ("build", tb), ("parse", tp)] {
        println!(
            "  {name:<6}: {:>8.1} ns  {:>9.0} MB/s",
            t.as_nanos() as f64,
            mb(t)
        );
    }
    support::emit_all(&[
        ("gsb.build_vs_memcpy", tm.as_secs_f64() / tb.as_secs_f64()),
        ("gsb.parse_vs_memcpy", tm.as_secs_f64() / tp.as_secs_f64()),
        ("gsb.allocs", (b.allocs + p.allocs) as f64),
    ]);
}

fn bench(c: &mut Criterion) {
    let st = state();
    let mut buf = vec![0u8; 4096];
    let n = build(&mut buf, &st);
    let src = buf[..n].to_vec();
    let mut dst = vec![0u8; n];
    let mut out = vec![0u128; st.len()];
    let mut g = c.benchmark_group("full_vcpu_state");
    g.throughput(criterion::Throughput::Bytes(n as u64));
    g.bench_function("memcpy", |b| {
        b.iter(|| black_box(&mut dst).copy_from_slice(black_box(&src)))
    });
    g.bench_function("build", |b| {
        b.iter(|| build(black_box(&mut buf), black_box(&st)))
    });
    g.bench_function("parse", |b| {
        b.iter(|| parse(black_box(&src), black_box(&mut out)))
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    report(support::full());
    benches();
    Criterion::default().configure_from_args().final_summary();
}
