//! Build + parse of a full thread-wide vCPU state (GPRs, SPRs, FPRs/VSRs, VRs: the
//! `GsidSet::RUN_INPUT` set, 163 elements), measured against `memcpy` of the same bytes in
//! the same run, with a heap allocation count.
//!
//! Two ways: per element (`GsbBuilder::put`, `Gsb::parse` + `Element::value`) and in bulk
//! through the precomputed `GsbLayout` of the set (`build_from_slots` from a register file
//! indexed by dense bit, `GsbLayout::parse` + `copy_to_slots` into such a file), the calls
//! `papr-vcpu-state` makes for a full-state SET / GET.
//!
//! Prints (as `bench-figure:` lines, judged against `xtask/benches/support/targets.rs`) the
//! build and parse bandwidth ÷ memcpy bandwidth (1.0 = as fast as copying the bytes) and
//! the heap allocations counted over the timed build and parse loops (both ways). A figure
//! without a row in that table is printed for people only (no machine line).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use criterion::{criterion_group, Criterion};
use papr_gsb::{
    Gsb, GsbBuilder, GsbLayout, GsidSet, GuestStateId, Policy, Value, ValueKind, GSID_COUNT,
};
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

/// The full-state layout, computed at compile time.
static FULL: GsbLayout = GsbLayout::new(GsidSet::RUN_INPUT);

/// `state()` as a register file indexed by dense bit (as `papr-vcpu-state` keeps it).
fn cache(st: &[(GuestStateId, Value)]) -> [u128; GSID_COUNT] {
    let mut c = [0u128; GSID_COUNT];
    for &(id, v) in st {
        c[id.index().unwrap()] = match v {
            Value::U32(v) => v as u128,
            Value::U64(v) => v as u128,
            Value::Vector(v) => v,
            _ => 0,
        };
    }
    c
}

fn bulk_build(buf: &mut [u8], slots: &[u128; GSID_COUNT]) -> usize {
    FULL.build_from_slots(buf, slots).unwrap()
}

fn bulk_parse(bytes: &[u8], slots: &mut [u128; GSID_COUNT]) -> usize {
    let g = FULL.parse(bytes, &Policy::EXACT).unwrap();
    let g = g.layout().unwrap();
    g.copy_to_slots(slots);
    g.len()
}

/// Emits `figure` if `support/targets.rs` has a row for it; otherwise prints it for people.
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
    let regs = cache(&st);
    let mut bulk_buf = vec![0u8; 4096];
    assert_eq!(bulk_build(&mut bulk_buf, &regs), n);
    assert_eq!(
        bulk_buf[..n],
        src[..],
        "bulk build differs from the per-element build"
    );
    let mut into = [0u128; GSID_COUNT];
    assert_eq!(bulk_parse(&src, &mut into), st.len());
    assert_eq!(into, regs, "bulk parse differs from the per-element parse");
    let bb = support::measure(batches, iters, |_| {
        black_box(bulk_build(black_box(&mut bulk_buf), black_box(&regs)));
    });
    let bp = support::measure(batches, iters, |_| {
        black_box(bulk_parse(black_box(&src), black_box(&mut into)));
    });
    let (tb, tp, tm) = (b.per_call, p.per_call, m.per_call);
    let (tbb, tbp) = (bb.per_call, bp.per_call);
    let mb = |t: Duration| n as f64 / t.as_secs_f64() / 1e6;
    println!("gsb full vCPU state: {} elements, {n} bytes", st.len());
    for (name, t) in [
        ("memcpy", tm),
        ("build", tb),
        ("parse", tp),
        ("bulk build", tbb),
        ("bulk parse", tbp),
    ] {
        println!(
            "  {name:<10}: {:>8.1} ns  {:>9.0} MB/s",
            t.as_nanos() as f64,
            mb(t)
        );
    }
    let ratio = |t: Duration| tm.as_secs_f64() / t.as_secs_f64();
    support::emit_all(&[
        ("gsb.build_vs_memcpy", ratio(tbb)),
        ("gsb.parse_vs_memcpy", ratio(tbp)),
        ("gsb.per_element_build_vs_memcpy", ratio(tb)),
        ("gsb.per_element_parse_vs_memcpy", ratio(tp)),
        (
            "gsb.allocs",
            (b.allocs + p.allocs + bb.allocs + bp.allocs) as f64,
        ),
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
    let regs = cache(&st);
    let mut into = [0u128; GSID_COUNT];
    g.bench_function("bulk_build", |b| {
        b.iter(|| bulk_build(black_box(&mut buf), black_box(&regs)))
    });
    g.bench_function("bulk_parse", |b| {
        b.iter(|| bulk_parse(black_box(&src), black_box(&mut into)))
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    report(support::full());
    benches();
    Criterion::default().configure_from_args().final_summary();
}
