//! Software cost of one exit in the cache: set a typical dirty set (GPR3, NIA, MSR, SRR0,
//! SRR1, as after injecting an interrupt or answering an hcall), flush it into the run
//! input, send the guest-wide dirty set (nothing), parse the output buffer of an hcall exit
//! (0xC00: GPR3–GPR12) and read the hcall's number and arguments (GPR3–GPR12) as a handler
//! does.
//!
//! The cache's source is `HvSource` over `NestedHv<CountingHcall<SoftL0>>`: the software L0
//! answers any GET/SET the cache makes, so an exit that needed one would make it and be
//! counted (target 0 besides the RUN). Heap allocations are counted over the timed loop.
//! Figures are printed as `bench-figure:` lines judged against
//! `xtask/benches/support/targets.rs`. Under `cargo test --all-targets` it runs a few
//! iterations only.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use criterion::{criterion_group, Criterion};
use papr_gsb::{GsbBuilder, GuestStateId};
use papr_hcall::sim::SoftL0;
use papr_hcall::{
    Capabilities, CountingHcall, GuestId, L1RealAddr, NestedHv, NoDelay, VcpuId, VmRealMemory,
};
use papr_vcpu_state::{HvSource, VcpuState};
use std::hint::black_box;
use vm_memory::{GuestAddress, GuestMemoryMmap};

#[path = "../../xtask/benches/support/mod.rs"]
mod support;

type Mem = VmRealMemory<GuestMemoryMmap<()>>;
type Hv = NestedHv<CountingHcall<SoftL0<Mem>>, Mem, NoDelay>;

fn hcall_exit_output() -> [u8; 128] {
    let mut out = [0u8; 128];
    let mut b = GsbBuilder::new(&mut out).unwrap();
    for n in 3..=12u8 {
        b.put_u64(GuestStateId::gpr(n).unwrap(), 0x1000 + u64::from(n))
            .unwrap();
    }
    out
}

/// One exit's worth of cache work; returns the run input length.
#[inline(never)]
fn exit(
    s: &mut VcpuState,
    hv: &mut Hv,
    g: GuestId,
    input: &mut [u8],
    output: &[u8],
    i: u64,
) -> usize {
    s.set_gpr3(i);
    s.set_nia(0x4000 + i);
    s.set_msr(0x8000_0000_0000_1033);
    s.set_srr0(0x700);
    s.set_srr1(i);
    let mut src = HvSource::new(hv, g, VcpuId(0), L1RealAddr(0x1000));
    s.flush_guest_wide(&mut src).unwrap();
    let n = s.flush(input).unwrap();
    // ... H_GUEST_RUN_VCPU ...
    s.apply_exit(output).unwrap();
    // The handler reads the hcall: all of it came with the output, so no GET.
    let mut args = 0u64;
    for r in 3..=12u8 {
        args ^= s.gpr(r, &mut src).unwrap();
    }
    n ^ args as usize
}

fn setup() -> (VcpuState, Hv, GuestId, Vec<u8>, [u8; 128]) {
    let mem =
        VmRealMemory(GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x10_0000)]).unwrap());
    let l0 = SoftL0::new(mem.clone());
    let hv = NestedHv::new(CountingHcall::new(l0), mem, NoDelay);
    hv.negotiate(Capabilities::MODES).unwrap();
    let g = hv.create_guest().unwrap();
    hv.create_vcpu(g, VcpuId(0)).unwrap();
    (
        VcpuState::new_zeroed(),
        hv,
        g,
        vec![0u8; papr_vcpu_state::sets::MAX_RUN_INPUT],
        hcall_exit_output(),
    )
}

fn report(full: bool) {
    let (mut s, mut hv, g, mut input, output) = setup();
    let (batches, iters) = if full { (31, 100_000) } else { (3, 10) };
    // The first exit settles the cache (nothing dirty guest-wide afterwards); the figures
    // are those of the steady state.
    let n = exit(&mut s, &mut hv, g, &mut input, &output, 1);
    assert!(n > 0);
    hv.counts().reset();
    let m = support::measure(batches, iters, |i| {
        black_box(exit(
            black_box(&mut s),
            &mut hv,
            g,
            black_box(&mut input),
            black_box(&output),
            i,
        ));
    });
    let hcalls = hv.counts().total();
    // For comparison: papr-gsb's general validating parse + one walk of the same output
    // buffer (the full validator's cost; `apply_exit` takes QEMU's hcall layout without it).
    let tp = support::measure(batches, iters, |_| {
        let g = papr_gsb::Gsb::parse(black_box(&output), &papr_gsb::Policy::L1_RUN_OUTPUT).unwrap();
        black_box(g.iter().map(|e| e.value_bytes().len()).sum::<usize>());
    });
    println!("vcpu-state per exit (flush 5 dirty + guest-wide check + parse 0xC00 output of 10):");
    println!(
        "  time {:.1} ns; papr-gsb's general parse + walk of the same output alone: {:.1} ns",
        m.ns(),
        tp.ns()
    );
    support::emit_all(&[
        ("vcpu-state.ns_per_exit", m.ns()),
        ("vcpu-state.allocs_per_exit", m.allocs_per_call()),
        ("vcpu-state.hcalls_per_exit", hcalls as f64 / m.calls as f64),
    ]);
}

fn bench(c: &mut Criterion) {
    let (mut s, mut hv, g, mut input, output) = setup();
    let mut i = 0u64;
    c.bench_function("exit: flush 5 + parse 0xC00 output", |b| {
        b.iter(|| {
            i += 1;
            exit(
                black_box(&mut s),
                &mut hv,
                g,
                black_box(&mut input),
                black_box(&output),
                i,
            )
        })
    });
    let mut s2 = VcpuState::new_zeroed();
    c.bench_function("flush 5 dirty", |b| {
        b.iter(|| {
            s2.set_gpr3(1);
            s2.set_nia(2);
            s2.set_msr(3);
            s2.set_srr0(4);
            s2.set_srr1(5);
            let n = s2.flush(black_box(&mut input)).unwrap();
            s2.run_failed();
            s2.invalidate(papr_gsb::GsidSet::EMPTY);
            n
        })
    });
    let mut s3 = VcpuState::new_zeroed();
    c.bench_function("apply_exit 0xC00 output", |b| {
        b.iter(|| s3.apply_exit(black_box(&output)).unwrap())
    });
}

criterion_group!(benches, bench);

fn main() {
    report(support::full());
    benches();
    Criterion::default().configure_from_args().final_summary();
}
