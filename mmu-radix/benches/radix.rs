//! Throughput of the partition-scoped tree: 4 KiB map + unmap (target ≥ 10 M ops/s), 2 MiB
//! and 1 GiB leaf maps, translate, and table memory per GiB mapped.
//!
//! `cargo bench -p papr-mmu-radix` measures; under `cargo test --all-targets` every
//! benchmark runs once (criterion's test mode) and the summary uses a tiny sample.

// A benchmark binary, not library code: a failed setup should stop it loudly.
#![allow(clippy::expect_used)]

#[path = "../../xtask/benches/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::Instant;

use criterion::{BatchSize, Criterion, Throughput};
use papr_mmu_radix::{
    GuestRealAddr, L1RealAddr, NoInvalidate, Perms, PoolAlloc, RadixTable, SliceMemory,
};

const K4: u64 = 1 << 12;
const M2: u64 = 1 << 21;
const G1: u64 = 1 << 30;
const POOL_BASE: u64 = 0x1000_0000;
const POOL: u64 = 16 << 20;
/// Pages per map+unmap round: 16 PTE tables' worth.
const PAGES: u64 = 512 * 16;

type Tree<'a> = RadixTable<SliceMemory<'a>, PoolAlloc<64>>;

fn tree(buf: &mut [u8]) -> Tree<'_> {
    let pool = PoolAlloc::new(L1RealAddr(POOL_BASE), POOL).expect("pool");
    RadixTable::new(SliceMemory::new(L1RealAddr(POOL_BASE), buf), pool).expect("tree")
}

/// One round: PAGES single-page maps, then PAGES single-page unmaps (2 × PAGES ops).
fn round(t: &mut Tree<'_>) {
    for i in 0..PAGES {
        t.map(
            GuestRealAddr(i * K4),
            L1RealAddr(0x8000_0000 + i * K4),
            K4,
            Perms::RWX,
        )
        .expect("map");
    }
    for i in 0..PAGES {
        t.unmap(GuestRealAddr(i * K4), K4, &mut NoInvalidate)
            .expect("unmap");
    }
}

fn benches(c: &mut Criterion) {
    let mut buf = vec![0u8; POOL as usize];
    let mut t = tree(&mut buf);

    let mut g = c.benchmark_group("radix");
    g.throughput(Throughput::Elements(2 * PAGES));
    g.bench_function("map_unmap_4k", |b| b.iter(|| round(&mut t)));

    g.throughput(Throughput::Elements(512));
    g.bench_function("map_unmap_1g_as_2m_leaves", |b| {
        b.iter(|| {
            t.map(GuestRealAddr(G1), L1RealAddr(0x4_0000_0000), G1, Perms::RWX)
                .expect("map");
            t.unmap(GuestRealAddr(G1), G1, &mut NoInvalidate)
                .expect("unmap");
        });
    });

    g.throughput(Throughput::Elements(64));
    g.bench_function("map_unmap_64g_as_1g_leaves", |b| {
        b.iter(|| {
            t.map(
                GuestRealAddr(64 * G1),
                L1RealAddr(64 * G1),
                64 * G1,
                Perms::RWX,
            )
            .expect("map");
            t.unmap(GuestRealAddr(64 * G1), 64 * G1, &mut NoInvalidate)
                .expect("unmap");
        });
    });

    t.map(
        GuestRealAddr(0),
        L1RealAddr(0x8000_0000),
        64 * M2,
        Perms::RWX,
    )
    .expect("map");
    t.map(
        GuestRealAddr(G1),
        L1RealAddr(0x8000_1000),
        64 * M2,
        Perms::RWX,
    )
    .expect("map");
    g.throughput(Throughput::Elements(1));
    let mut x = 0u64;
    g.bench_function("translate_4k_leaf", |b| {
        b.iter_batched(
            || {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                G1 + (x >> 40) % (64 * M2)
            },
            |gpa| black_box(t.translate(GuestRealAddr(gpa)).expect("walk")),
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

/// Direct timing of the 4K map+unmap loop and the table overhead, printed as
/// `bench-figure:` lines judged against `xtask/benches/support/targets.rs`.
fn summary() {
    let full = support::full();
    let mut buf = vec![0u8; POOL as usize];
    let mut t = tree(&mut buf);
    let rounds = if full { 200 } else { 1 };
    round(&mut t); // warm up
    let start = Instant::now();
    for _ in 0..rounds {
        round(&mut t);
    }
    let secs = start.elapsed().as_secs_f64();
    let ops = (rounds * 2 * PAGES) as f64 / secs;
    println!(
        "radix/summary:{}",
        if full { "" } else { " (test mode, one round)" }
    );
    let mut figures = vec![("mmu-radix.map_unmap_4k", ops / 1e6)];
    for (figure, ra, leaf) in [
        ("mmu-radix.table_kib_per_gib_4k", 0x8000_1000u64, K4),
        ("mmu-radix.table_kib_per_gib_2m", 0x8000_0000, M2),
        ("mmu-radix.table_kib_per_gib_1g", 0x4000_0000, G1),
    ] {
        t.map(GuestRealAddr(G1), L1RealAddr(ra), G1, Perms::RWX)
            .expect("map");
        let bytes = t.dir_pages() as u64 * K4;
        println!(
            "  1 GiB as {} leaves of {leaf} bytes: {} table pages",
            G1 / leaf,
            t.dir_pages()
        );
        figures.push((figure, (bytes / 1024) as f64));
        t.unmap(GuestRealAddr(G1), G1, &mut NoInvalidate)
            .expect("unmap");
    }
    support::emit_all(&figures);
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    summary();
    c.final_summary();
}
