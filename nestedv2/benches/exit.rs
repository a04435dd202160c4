//! L1 software time per exit through the whole `Vcpu::run` path over an L0 that answers at
//! once: HDEC expiry from the clock, guest-wide check, flush into the run input, write it
//! to L1 memory, `H_GUEST_RUN_VCPU` (a fake replaying a prepared exit), read + validate +
//! apply the output buffer, decode the exit, record statistics, complete it.
//!
//! Exits measured: an L2 hcall (0xC00, 10 GPRs out, r3 back in), an HDEC (0x980, empty
//! output), an MMIO load (0xE00: decode, walk of the radix table and read of the
//! instruction from L2 RAM, result and NIA back in) and an MMIO store (the same, plus the
//! GET of the source register, which the fake answers in place).
//!
//! Hcalls per exit are counted with `CountingHcall` over the software L0
//! (`papr_hcall::sim::SoftL0`), which runs a scripted L2 making each exit and answers every
//! GET/SET the L1 really makes; the timed loops' own counts must agree with it. Heap
//! allocations are counted over the timed loops. Figures are printed as `bench-figure:`
//! lines judged against `xtask/benches/support/targets.rs`. Under `cargo test
//! --all-targets` it runs a few iterations.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use criterion::{criterion_group, Criterion};
use papr_gsb::{GsbBuilder, GuestStateId};
use papr_hcall::sim::{L2Action, SoftL0};
use papr_hcall::{
    opcode, Capabilities, ContainedHcall, CountingHcall, Hcall, HcallOutput, L1RealAddr,
    MemoryError, NestedHv, NoDelay, RealMemory,
};
use papr_mmu_radix::PoolAlloc;
use papr_nestedv2::mmio::MmioData;
use papr_nestedv2::{
    Clock, Exit, Guest, GuestRealAddr, HcallReturn, ManualClock, NestedHost, Vcpu,
};
use std::cell::{Cell, RefCell};
use std::hint::black_box;
use std::rc::Rc;

#[path = "../../xtask/benches/support/mod.rs"]
mod support;

/// What the store's source register (GPR6) holds, as the fake L0 answers its GET.
const STORE_VALUE: u128 = 0xFFFF_1234;

/// An L0 that answers at once: RUN writes the prepared output buffer `out` at `out_at`
/// (fresh on every exit, as QEMU does: the L1 poisons it before each run) and returns the
/// trap in `trap`; GET_STATE fills the request in place.
struct ReplayL0 {
    trap: Cell<u64>,
    out: RefCell<Vec<u8>>,
    out_at: Cell<u64>,
    mem: VecMemory,
}
impl Hcall for ReplayL0 {
    fn hcall(&self, op: u64, args: [u64; 9]) -> HcallOutput {
        match op {
            opcode::H_GUEST_GET_CAPABILITIES => HcallOutput::ok(0x6000_0000_0000_0000),
            opcode::H_GUEST_CREATE => HcallOutput::ok(1),
            opcode::H_GUEST_RUN_VCPU => {
                let out = self.out.borrow();
                match self.mem.write(L1RealAddr(self.out_at.get()), &out) {
                    Ok(()) => HcallOutput::ok(self.trap.get()),
                    Err(_) => HcallOutput::rc(-4),
                }
            }
            opcode::H_GUEST_GET_STATE => {
                let mut buf = [0u8; 512]; // the L1's GETs here are small
                let Some(gsb) = buf.get_mut(..args[4] as usize) else {
                    return HcallOutput::rc(-4);
                };
                if self.mem.read(L1RealAddr(args[3]), gsb).is_err() {
                    return HcallOutput::rc(-4);
                }
                // GPR6 is the store's source; everything else (e.g. the run output's minimum
                // size, asked when the vCPU is created) reads 0.
                papr_vcpu_state::testing::answer(gsb, |id| {
                    if id == GuestStateId::GPR6 {
                        STORE_VALUE
                    } else {
                        0
                    }
                });
                match self.mem.write(L1RealAddr(args[3]), gsb) {
                    Ok(()) => HcallOutput::ok(0),
                    Err(_) => HcallOutput::rc(-4),
                }
            }
            _ => HcallOutput::ok(0),
        }
    }
}
// SAFETY: the fake L0 reaches memory only through `VecMemory`, safe and bounds-checked.
unsafe impl ContainedHcall for ReplayL0 {}

/// 32 MiB of L1 memory in a Vec.
#[derive(Clone)]
struct VecMemory(Rc<RefCell<Vec<u8>>>);
impl RealMemory for VecMemory {
    fn read(&self, a: L1RealAddr, buf: &mut [u8]) -> Result<(), MemoryError> {
        let m = self.0.borrow();
        let src = m
            .get(a.0 as usize..a.0 as usize + buf.len())
            .ok_or(MemoryError::OutOfRange {
                addr: a.0,
                len: buf.len() as u64,
            })?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write(&self, a: L1RealAddr, data: &[u8]) -> Result<(), MemoryError> {
        let mut m = self.0.borrow_mut();
        let dst =
            m.get_mut(a.0 as usize..a.0 as usize + data.len())
                .ok_or(MemoryError::OutOfRange {
                    addr: a.0,
                    len: data.len() as u64,
                })?;
        dst.copy_from_slice(data);
        Ok(())
    }
}

/// The radix tables live in the same memory, through the `RealMemory` doubleword methods.
impl papr_mmu_radix::TableMemory for VecMemory {
    fn read_u64(&self, a: L1RealAddr) -> Result<u64, MemoryError> {
        RealMemory::read_u64(self, a)
    }
    fn write_u64(&mut self, a: L1RealAddr, v: u64) -> Result<(), MemoryError> {
        RealMemory::write_u64(self, a, v)
    }
}

/// The backend of the timed host; the counted one differs in its L0 and clock.
type Replay = (
    CountingHcall<ReplayL0>,
    VecMemory,
    NoDelay,
    ManualClock,
    PoolAlloc<4>,
);
type Host = NestedHost<Replay>;
type V<'g, 'h> = Vcpu<'g, 'h, Replay, PoolAlloc<8>>;

type L0 = SoftL0<VecMemory>;
/// The L1's timebase is the software L0's.
struct SimClock(&'static L0);
impl Clock for SimClock {
    fn now(&self) -> u64 {
        self.0.timebase()
    }
}
type Sim = (
    CountingHcall<&'static L0>,
    VecMemory,
    NoDelay,
    SimClock,
    PoolAlloc<4>,
);

const RAM_L1: u64 = 0x100_0000;
const MMIO: u64 = 0x1000_0000;
const MSR0: u64 = 0x8000_0000_0000_0003; // SF | RI | LE, real mode
/// lwz r5,0(r4) and stw r6,8(r4).
const LWZ: u32 = 0x80a4_0000;
const STW: u32 = 0x90c4_0008;
/// Steady-state exits counted over the software L0 (counts are exact: few suffice).
const COUNTED: u64 = 64;

/// The exit kinds, as (figure prefix, trap, name).
const KINDS: [(&str, u64, &str); 4] = [
    ("nestedv2.hcall", 0xC00, "exit: hcall"),
    ("nestedv2.hdec", 0x980, "exit: hdec"),
    ("nestedv2.mmio_load", 0xE00, "exit: mmio load"),
    ("nestedv2.mmio_store", 0xE01, "exit: mmio store"),
];

fn memory() -> VecMemory {
    VecMemory(Rc::new(RefCell::new(vec![0; 0x200_0000])))
}

fn pages() -> PoolAlloc<4> {
    PoolAlloc::<4>::new(L1RealAddr(0x10_0000), 0x10_0000).unwrap()
}

fn guest<P: papr_nestedv2::Backend>(host: &NestedHost<P>) -> Guest<'_, P, PoolAlloc<8>> {
    let tables = PoolAlloc::<8>::new(L1RealAddr(0x20_0000), 0x20_0000).unwrap();
    let mut g = Guest::create(host, tables).unwrap();
    g.add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), 0x100_0000)
        .unwrap();
    g.map_all_ram().unwrap();
    g
}

fn host() -> (Host, VecMemory) {
    let mem = memory();
    let l0 = ReplayL0 {
        trap: Cell::new(0xC00),
        out: RefCell::new(vec![0, 0, 0, 0]),
        out_at: Cell::new(0),
        mem: mem.clone(),
    };
    let hv = NestedHv::new(CountingHcall::new(l0), mem.clone(), NoDelay);
    let host =
        NestedHost::negotiate(hv, ManualClock::new(1 << 32), pages(), Capabilities::MODES).unwrap();
    (host, mem)
}

/// Sets the fake L0's next trap (0xE01 stands for the store: trap 0xE00).
fn set_trap(host: &Host, kind: u64) {
    host.with_hv(|hv| hv.hcall().inner().trap.set(kind & !1));
}

/// Has the fake L0 write the output buffer of `kind` into the vCPU's output page at every
/// run, and writes the MMIO instructions into L2 RAM.
fn prepare(host: &Host, vcpu: &V<'_, '_>, mem: &VecMemory, kind: u64) {
    let mut out = [0u8; 128];
    let mut b = GsbBuilder::new(&mut out).unwrap();
    let mmio = |b: &mut GsbBuilder<'_>, gpa: u64, hdsisr: u32, nia: u64| {
        b.put_u64(GuestStateId::HDAR, gpa).unwrap();
        b.put_u32(GuestStateId::HDSISR, hdsisr).unwrap();
        b.put_u64(GuestStateId::ASDR, gpa).unwrap();
        b.put_u64(GuestStateId::NIA, nia).unwrap();
        b.put_u64(GuestStateId::MSR, MSR0).unwrap();
    };
    match kind {
        0xC00 => {
            for n in 3..=12u8 {
                b.put_u64(GuestStateId::gpr(n).unwrap(), 0x1000 + u64::from(n))
                    .unwrap();
            }
        }
        0xE00 => mmio(&mut b, MMIO, 0x4000_0000, 0x100),
        0xE01 => mmio(&mut b, MMIO + 8, 0x4200_0000, 0x200),
        _ => {}
    }
    let n = b.finish();
    host.with_hv(|hv| {
        let l0 = hv.hcall().inner();
        *l0.out.borrow_mut() = out[..n].to_vec();
        l0.out_at.set(vcpu.buffers().1 .0);
    });
    mem.write(L1RealAddr(RAM_L1 + 0x100), &LWZ.to_le_bytes())
        .unwrap();
    mem.write(L1RealAddr(RAM_L1 + 0x200), &STW.to_le_bytes())
        .unwrap();
}

#[inline(never)]
fn one_exit<P: papr_nestedv2::Backend>(vcpu: &mut Vcpu<'_, '_, P, PoolAlloc<8>>) -> Exit {
    let e = vcpu.run().unwrap();
    match e {
        Exit::Hcall { .. } => vcpu.complete_hcall(HcallReturn::status(0)),
        Exit::Mmio { size, is_write, .. } => {
            let data = if is_write {
                MmioData::NONE
            } else {
                MmioData::from_be_value(7, size.unwrap_or(8)).unwrap()
            };
            vcpu.complete_mmio(data.as_bytes()).unwrap()
        }
        _ => {}
    }
    e
}

/// The scripted L2 of `kind` for the software L0: `COUNTED` + 1 exits of that kind, with
/// the MMIO instructions at each NIA (4 bytes per action).
fn program(mem: &VecMemory, kind: u64) -> Vec<L2Action> {
    let n = COUNTED as usize + 1;
    let insn = match kind {
        0xE00 => Some(LWZ),
        0xE01 => Some(STW),
        _ => None,
    };
    if let Some(word) = insn {
        for i in 0..n as u64 {
            mem.write(L1RealAddr(RAM_L1 + 4 * i), &word.to_le_bytes())
                .unwrap();
        }
    }
    match kind {
        0xC00 => vec![
            L2Action::Hcall {
                nr: 1,
                args: [0; 9]
            };
            n
        ],
        0xE00 => vec![L2Action::Load { gpa: MMIO, size: 4 }; n],
        0xE01 => vec![
            L2Action::Store {
                gpa: MMIO + 8,
                size: 4,
                value: 0,
            };
            n
        ],
        _ => Vec::new(), // an ended program spins until its HDEC expires
    }
}

/// Hcalls per steady-state exit of `kind`, counted with `CountingHcall` over the software
/// L0 running a scripted L2 (after one exit that carries the initial registers).
fn counted_over_soft_l0(kind: u64) -> f64 {
    let mem = memory();
    let l0: &'static L0 = Box::leak(Box::new(SoftL0::new(mem.clone())));
    let hv = NestedHv::new(CountingHcall::new(l0), mem.clone(), NoDelay);
    let host: NestedHost<Sim> =
        NestedHost::negotiate(hv, SimClock(l0), pages(), Capabilities::MODES).unwrap();
    let g = guest(&host);
    let mut vcpu = g.create_vcpu(0, MSR0).unwrap();
    l0.set_program(g.id().0, 0, program(&mem, kind)).unwrap();
    let trap = kind & !1;
    one_exit(&mut vcpu);
    host.with_hv(|hv| hv.hcall().reset());
    for _ in 0..COUNTED {
        let e = one_exit(&mut vcpu);
        let ok = match e {
            Exit::Hcall { .. } => trap == 0xC00,
            Exit::Hdec => trap == 0x980,
            Exit::Mmio { is_write, .. } => trap == 0xE00 && is_write == (kind == 0xE01),
            _ => false,
        };
        assert!(ok, "software L0: kind {kind:#x} gave {e:?}");
    }
    assert!(l0.would_abort().is_empty(), "{:?}", l0.would_abort());
    host.with_hv(|hv| hv.hcall().total()) as f64 / COUNTED as f64
}

fn report(full: bool) {
    let (batches, iters) = if full { (21, 50_000) } else { (3, 10) };
    println!("nestedv2 L1 software time per exit (Vcpu::run + completion, L0 answering at once):");
    let mut figures = Vec::new();
    let (mut allocs, mut exits) = (0u64, 0u64);
    for (figure, kind, name) in KINDS {
        let (host, mem) = host();
        let g = guest(&host);
        let mut vcpu = g.create_vcpu(0, MSR0).unwrap();
        set_trap(&host, kind);
        prepare(&host, &vcpu, &mem, kind);
        let first = one_exit(&mut vcpu); // the first run carries the initial registers
        if kind == 0xE01 {
            // GPR6 = 0xFFFF1234 (from the GET) stored by a little-endian L2: 34 12 FF FF.
            assert!(
                matches!(
                    first,
                    Exit::Mmio {
                        is_write: true,
                        data: Some(d),
                        ..
                    } if d.as_bytes() == [0x34, 0x12, 0xFF, 0xFF]
                ),
                "{first:?}"
            );
        }
        host.with_hv(|hv| hv.hcall().reset());
        let m = support::measure(batches, iters, |_| {
            black_box(one_exit(black_box(&mut vcpu)));
        });
        let timed = host.with_hv(|hv| hv.hcall().total()) as f64 / m.calls as f64;
        let counted = counted_over_soft_l0(kind);
        println!(
            "  {name:<17}: {:>7.1} ns, {} allocations in {} exits, hcalls/exit {counted} \
             (software L0), {timed} (timed loop)",
            m.ns(),
            m.allocs,
            m.calls
        );
        // The timed path must be the path the software L0 drives, or its time means little.
        assert_eq!(
            timed, counted,
            "{name}: the timed loop makes other hcalls than the software L0 run"
        );
        allocs += m.allocs;
        exits += m.calls;
        figures.push((format!("{figure}.ns_per_exit"), m.ns()));
        figures.push((format!("{figure}.hcalls_per_exit"), counted));
    }
    figures.push((
        "nestedv2.allocs_per_exit".to_string(),
        allocs as f64 / exits as f64,
    ));
    let figures: Vec<(&str, f64)> = figures.iter().map(|(f, v)| (f.as_str(), *v)).collect();
    support::emit_all(&figures);
}

fn bench(c: &mut Criterion) {
    let (host, mem) = host();
    let g = guest(&host);
    let mut vcpu = g.create_vcpu(0, MSR0).unwrap();
    for (_, kind, name) in KINDS {
        set_trap(&host, kind);
        prepare(&host, &vcpu, &mem, kind);
        one_exit(&mut vcpu);
        c.bench_function(name, |b| b.iter(|| one_exit(black_box(&mut vcpu))));
    }
}

criterion_group!(benches, bench);

fn main() {
    report(support::full());
    benches();
    Criterion::default().configure_from_args().final_summary();
}
