//! Build + parse of a full thread-wide vCPU state (GPRs, SPRs, FPRs/VSRs, VRs: the
//! `GsidSet::RUN_INPUT` set, 163 elements), measured against `memcpy` of the same bytes in
//! the same run, with a heap allocation count.
//!
//! Prints `ratio build/memcpy`, `ratio parse/memcpy` (bandwidth of ours ÷ bandwidth of
//! memcpy: 1.0 = as fast as copying the bytes; the design target is ≥ 0.5) and the number
//! of allocations made by build and parse (target 0).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use criterion::{criterion_group, Criterion};
use papr_gsb::{Gsb, GsbBuilder, GsidSet, GuestStateId, Policy, Value, ValueKind};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);
// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

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

/// Median time per call of `f` over `batches` batches of `iters` calls.
fn median(batches: usize, iters: usize, mut f: impl FnMut()) -> Duration {
    let mut v: Vec<Duration> = (0..batches)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed() / iters as u32
        })
        .collect();
    v.sort();
    v[v.len() / 2]
}

fn report(full: bool) {
    let st = state();
    let mut buf = vec![0u8; 4096];
    let n = build(&mut buf, &st);
    let src = buf[..n].to_vec();
    let mut dst = vec![0u8; n];
    let mut out = vec![0u128; st.len()];
    let (batches, iters) = if full { (31, 20_000) } else { (3, 10) };

    let before = ALLOCS.load(Ordering::Relaxed);
    build(&mut buf, &st);
    parse(&src, &mut out);
    let allocs = ALLOCS.load(Ordering::Relaxed) - before;
    let tb = median(batches, iters, || {
        black_box(build(black_box(&mut buf), black_box(&st)));
    });
    let tp = median(batches, iters, || {
        black_box(parse(black_box(&src), black_box(&mut out)));
    });
    let tm = median(batches, iters, || {
        black_box(&mut dst).copy_from_slice(black_box(&src));
    });
    let mb = |t: Duration| n as f64 / t.as_secs_f64() / 1e6;
    println!("gsb full vCPU state: {} elements, {n} bytes", st.len());
    println!(
        "  memcpy : {:>8.1} ns  {:>9.0} MB/s",
        tm.as_nanos() as f64,
        mb(tm)
    );
    println!(
        "  build  : {:>8.1} ns  {:>9.0} MB/s  ratio build/memcpy = {:.3}",
        tb.as_nanos() as f64,
        mb(tb),
        tm.as_secs_f64() / tb.as_secs_f64()
    );
    println!(
        "  parse  : {:>8.1} ns  {:>9.0} MB/s  ratio parse/memcpy = {:.3}",
        tp.as_nanos() as f64,
        mb(tp),
        tm.as_secs_f64() / tp.as_secs_f64()
    );
    println!("  heap allocations during build+parse: {allocs}");
    assert_eq!(allocs, 0, "build and parse must not allocate");
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
    let full = std::env::args().any(|a| a == "--bench");
    report(full);
    benches();
    Criterion::default().configure_from_args().final_summary();
}
