//! `Vcpu::run_loop` returns within the bounds the caller sets (on by default), on the
//! software L0: an L2 that only ever exits by HDEC, and an L0 that repeats the same fault
//! on a page the loop has already mapped. And an MMIO exit whose instruction could not be
//! fetched carries the `FetchError` and the L2 interrupt it means; L2 RAM backed by L1
//! memory outside the host's backend is refused (the L2 would write it).
#![cfg(feature = "sim")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // test code

use papr_gsb::{BufferDescriptor, GuestStateId};
use papr_hcall::sim::{L2Action, SoftL0};
use papr_hcall::{
    opcode, Capabilities, ContainedHcall, CountingHcall, Hcall, HcallOutput, NestedHv, NoDelay,
    RealMemory, VmRealMemory, HCALL_ARGS,
};
use papr_mmu_radix::{NoInvalidate, Perms, PoolAlloc};
use papr_nestedv2::mmio::{srr1, FetchError, L2Interrupt};
use papr_nestedv2::*;
use std::sync::Mutex;
use vm_memory::{GuestAddress, GuestMemoryMmap};

type Mem = VmRealMemory<GuestMemoryMmap<()>>;
type L0 = SoftL0<Mem>;

const PAGES: u64 = 0x10_0000;
const TABLES: u64 = 0x20_0000;
const RAM_L1: u64 = 0x100_0000;
const RAM_LEN: u64 = 0x100_0000;
const MMIO: u64 = 0x1000_0000;
const MSR0: u64 = 0x8000_0000_0000_0003; // SF | RI | LE, real mode
/// A run that never ends is a failed test, not a hung one: the L0 refuses runs past this.
const RUN_CAP: u64 = 20_000;

/// The software L0, plus what a hostile L0 does: once `replay` is on, every run after an
/// HDSI answers that same HDSI again (same trap, same output buffer) without running the L2.
struct Hostile<'a> {
    l0: &'a L0,
    replay: bool,
    runs: Mutex<u64>,
    recorded: Mutex<Option<(u64, Vec<u8>)>>,
}

impl<'a> Hostile<'a> {
    fn new(l0: &'a L0, replay: bool) -> Self {
        Self {
            l0,
            replay,
            runs: Mutex::new(0),
            recorded: Mutex::new(None),
        }
    }

    fn output(&self, guest: u64, vcpu: u64) -> BufferDescriptor {
        let bytes = self
            .l0
            .state(guest, vcpu, GuestStateId::RUN_OUTPUT)
            .unwrap();
        BufferDescriptor::from_bytes(&bytes).unwrap()
    }
}

impl Hcall for Hostile<'_> {
    fn hcall(&self, op: u64, a: [u64; HCALL_ARGS]) -> HcallOutput {
        if op != opcode::H_GUEST_RUN_VCPU {
            return self.l0.hcall(op, a);
        }
        let mut runs = self.runs.lock().unwrap();
        *runs += 1;
        if *runs > RUN_CAP {
            return HcallOutput::rc(-4); // H_PARAMETER: the loop did not stop by itself
        }
        let (guest, vcpu) = (a[1], a[2]);
        let mem = self.l0.memory();
        if let Some((trap, bytes)) = &*self.recorded.lock().unwrap() {
            let d = self.output(guest, vcpu);
            mem.write(papr_hcall::L1RealAddr(d.address), bytes).unwrap();
            return HcallOutput::ok(*trap);
        }
        let out = self.l0.hcall(op, a);
        if self.replay && out.rc == 0 && out.ret[0] == 0xE00 {
            let d = self.output(guest, vcpu);
            let mut bytes = vec![0; d.size as usize];
            mem.read(papr_hcall::L1RealAddr(d.address), &mut bytes)
                .unwrap();
            *self.recorded.lock().unwrap() = Some((0xE00, bytes));
        }
        out
    }
}

// SAFETY: `Hostile` reaches memory only through the software L0 and its safe `RealMemory`.
unsafe impl ContainedHcall for Hostile<'_> {}

struct SimClock<'a>(&'a L0);
impl Clock for SimClock<'_> {
    fn now(&self) -> u64 {
        self.0.timebase()
    }
}

type Host<'a> = NestedHost<(
    CountingHcall<&'a Hostile<'a>>,
    Mem,
    NoDelay,
    SimClock<'a>,
    PoolAlloc<4>,
)>;

fn memory() -> Mem {
    VmRealMemory(GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x200_0000)]).unwrap())
}

fn host<'a>(l0: &'a L0, h: &'a Hostile<'a>) -> Host<'a> {
    let pages = PoolAlloc::<4>::new(L1RealAddr(PAGES), 0x10_0000).unwrap();
    NestedHost::negotiate(
        NestedHv::new(CountingHcall::new(h), l0.memory().clone(), NoDelay),
        SimClock(l0),
        pages,
        Capabilities::MODES,
    )
    .unwrap()
}

fn tables() -> PoolAlloc<8> {
    PoolAlloc::<8>::new(L1RealAddr(TABLES), 0x20_0000).unwrap()
}

fn runs(h: &Host<'_>) -> u64 {
    h.with_hv(|hv| hv.counts().count(opcode::H_GUEST_RUN_VCPU))
}

/// Stops at the L2's hcall 0xDEAD; any other exit reaching it is recorded.
#[derive(Default)]
struct Vmm {
    seen: Vec<Exit>,
}

impl ExitHandler for Vmm {
    fn handle(&mut self, exit: &Exit, _vcpu: &mut dyn VcpuContext) -> Action {
        self.seen.push(*exit);
        match *exit {
            Exit::Hcall { nr: 0xDEAD, .. } => Action::Stop,
            Exit::Hcall { .. } => Action::HcallReturn(HcallReturn::status(0)),
            _ => Action::Stop,
        }
    }
}

#[test]
fn bounds_are_on_by_default() {
    let l0 = SoftL0::new(memory());
    let h = Hostile::new(&l0, false);
    let host = host(&l0, &h);
    let mut guest = Guest::create(&host, tables()).unwrap();
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    let mut vcpu = guest.create_vcpu(0, MSR0).unwrap();
    assert_eq!(vcpu.loop_limit(), Some(1 << 20));
    assert_eq!(vcpu.fault_repeat_limit(), Some(64));
    vcpu.set_loop_limit(Some(0));
    assert_eq!(vcpu.loop_limit(), Some(1), "a bound of 0 still runs once");
    vcpu.set_loop_limit(None);
    vcpu.set_fault_repeat_limit(None);
    assert_eq!((vcpu.loop_limit(), vcpu.fault_repeat_limit()), (None, None));
}

#[test]
fn an_l2_that_only_exits_by_hdec_comes_back_at_the_bound() {
    let l0 = SoftL0::new(memory());
    let h = Hostile::new(&l0, false);
    let host = host(&l0, &h);
    let mut guest = Guest::create(&host, tables()).unwrap();
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    let g = guest.id().0;
    let mut vcpu = guest.create_vcpu(0, MSR0).unwrap();
    vcpu.set_stats_enabled(true);
    // No program: the L2 spins (`b .`) and leaves only when its HDEC expires.
    l0.set_program(g, 0, vec![]).unwrap();
    vcpu.set_loop_limit(Some(1000));
    let mut vmm = Vmm::default();
    let before = runs(&host);
    assert_eq!(
        vcpu.run_loop(&mut vmm),
        Err(Error::LoopLimit {
            exits: 1000,
            last: ExitKind::Hdec
        })
    );
    assert_eq!(runs(&host) - before, 1000);
    assert!(vmm.seen.is_empty(), "HDEC never reaches the handler");
    assert_eq!(vcpu.stats().count(ExitKind::Hdec), 1000);
    // The vCPU is intact: the next run_loop goes on where the L2 is.
    l0.set_program(
        g,
        0,
        vec![L2Action::Hcall {
            nr: 0xDEAD,
            args: [0; 9],
        }],
    )
    .unwrap();
    let last = vcpu.run_loop(&mut vmm).unwrap();
    assert!(matches!(last, Exit::Hcall { nr: 0xDEAD, .. }), "{last:?}");
}

/// A guest with RAM and a vCPU whose L2 loads from `gpa`, on an L0 that replays the first
/// HDSI forever.
/// `bounds`: (fault repeat, loop) limits to set; `None` keeps the defaults.
fn replaying_fault(bounds: Option<(Option<u32>, Option<u64>)>) -> (Result<Exit, Error>, u64) {
    let l0 = SoftL0::new(memory());
    let h = Hostile::new(&l0, true);
    let host = host(&l0, &h);
    let mut guest = Guest::create(&host, tables()).unwrap();
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    let g = guest.id().0;
    let mut vcpu = guest.create_vcpu(0, MSR0).unwrap();
    l0.set_program(
        g,
        0,
        vec![L2Action::Load {
            gpa: 0x3008,
            size: 8,
        }],
    )
    .unwrap();
    if let Some((repeat, limit)) = bounds {
        vcpu.set_fault_repeat_limit(repeat);
        vcpu.set_loop_limit(limit);
    }
    let before = runs(&host);
    let r = vcpu.run_loop(&mut Vmm::default());
    // The page was mapped by the first fault: the L0 lies from then on.
    assert!(guest.with_table(|t| t.translate(GuestRealAddr(0x3008)).unwrap().is_some()));
    let n = runs(&host) - before;
    (r, n)
}

#[test]
fn an_l0_repeating_a_fixed_fault_is_caught_by_default() {
    let (r, runs) = replaying_fault(None);
    assert_eq!(
        r,
        Err(Error::RepeatedFault {
            kind: ExitKind::PageFault,
            gpa: 0x3008,
            cause: 0x4000_0000,
            count: 65
        })
    );
    assert_eq!(runs, 65, "the first fault and 64 repeats");
}

#[test]
fn without_the_repeat_bound_the_loop_bound_still_returns() {
    let (r, runs) = replaying_fault(Some((None, Some(500))));
    assert_eq!(
        r,
        Err(Error::LoopLimit {
            exits: 500,
            last: ExitKind::PageFault
        })
    );
    assert_eq!(runs, 500);
}

#[test]
fn an_mmio_exit_whose_fetch_failed_carries_the_fetch_error() {
    let l0 = SoftL0::new(memory());
    let h = Hostile::new(&l0, false);
    let host = host(&l0, &h);
    let mut guest = Guest::create(&host, tables()).unwrap();
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    let g = guest.id().0;
    // Relocation on, kernel quadrant, and no process table registered: the L2's own
    // translation cannot be walked (the L2 would take an ISI).
    let nia = 0xC000_0000_0000_0000;
    let mut vcpu = guest
        .create_vcpu(nia, MSR0 | papr_nestedv2::mmio::MSR_IR)
        .unwrap();
    l0.set_program(g, 0, vec![L2Action::Load { gpa: MMIO, size: 4 }])
        .unwrap();
    let e = vcpu.run().unwrap();
    let Exit::Mmio {
        insn,
        access,
        fetch_error,
        ..
    } = e
    else {
        panic!("{e:?}")
    };
    assert_eq!((insn, access), (None, None));
    assert_eq!(fetch_error, Some(FetchError::NoProcessTable { ea: nia }));
    assert_eq!(
        e.l2_interrupt(),
        Some(L2Interrupt::InstructionStorage { srr1: srr1::NOPTE })
    );

    // Real mode, code page not mapped by the L1: the L1's own fault, no L2 interrupt.
    let mut guest = Guest::create(&host, tables_second()).unwrap();
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    let g = guest.id().0;
    let mut vcpu = guest.create_vcpu(0x5000, MSR0).unwrap();
    l0.set_program(g, 0, vec![L2Action::Load { gpa: MMIO, size: 4 }])
        .unwrap();
    let e = vcpu.run().unwrap();
    let Exit::Mmio { fetch_error, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        fetch_error,
        Some(FetchError::PartitionFault {
            ea: 0x5000,
            gpa: GuestRealAddr(0x5000),
            table: false
        })
    );
    assert_eq!(e.l2_interrupt(), None);
}

/// Table pages for a second guest (the first keeps its own).
fn tables_second() -> PoolAlloc<8> {
    PoolAlloc::<8>::new(L1RealAddr(TABLES + 0x10_0000), 0x10_0000).unwrap()
}

#[test]
fn ram_outside_the_hosts_l1_memory_is_refused() {
    let l0 = SoftL0::new(memory());
    let h = Hostile::new(&l0, false);
    let host = host(&l0, &h);
    let mut guest = Guest::create(&host, tables()).unwrap();
    // L1 memory is 32 MiB at 0: the last MiB fits, one page more does not.
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(0x1F0_0000), 0x10_0000)
        .unwrap();
    for (gpa, l1, len) in [
        (0x100_0000, 0x1F0_0000, 0x10_1000),
        (0x200_0000, 0x200_0000, 0x1000),
        (0x300_0000, 0xFFFF_FFFF_0000_0000, 0x1000),
    ] {
        let e = guest
            .add_ram(GuestRealAddr(gpa), L1RealAddr(l1), len)
            .unwrap_err();
        assert!(
            matches!(e, Error::BadRamRegion { gpa: g, len: n, .. } if g == gpa && n == len),
            "{e:?}"
        );
    }
    assert_eq!(guest.ram().len(), 1);
}

/// Safe code maps only the guest's RAM: `map_ram` refuses a range outside the regions (no
/// table entry can point elsewhere), maps one inside with the rights asked for, and the
/// `GuestTable` view write-protects and unmaps it again.
#[test]
fn map_ram_maps_only_registered_ram() {
    let l0 = SoftL0::new(memory());
    let h = Hostile::new(&l0, false);
    let host = host(&l0, &h);
    let mut guest = Guest::create(&host, tables()).unwrap();
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    assert_eq!(
        guest.map_ram(GuestRealAddr(RAM_LEN), 0x1000, Perms::RW),
        Err(Error::NotRam {
            gpa: RAM_LEN,
            len: 0x1000
        })
    );
    assert_eq!(
        guest.map_ram(GuestRealAddr(RAM_LEN - 0x1000), 0x2000, Perms::RW),
        Err(Error::NotRam {
            gpa: RAM_LEN - 0x1000,
            len: 0x2000
        })
    );
    guest
        .map_ram(GuestRealAddr(0x2000), 0x1000, Perms::R)
        .unwrap();
    let t = guest
        .with_table(|t| t.translate(GuestRealAddr(0x2010)))
        .unwrap()
        .unwrap();
    assert_eq!(
        (t.l1_ra, t.pte.perms()),
        (L1RealAddr(RAM_L1 + 0x2010), Perms::R)
    );
    guest.with_table(|t| {
        assert_eq!(
            t.protect(GuestRealAddr(0x2000), 0x1000, Perms::RW, &mut NoInvalidate),
            Ok(0x1000)
        );
        assert_eq!(
            t.unmap(GuestRealAddr(0x2000), 0x1000, &mut NoInvalidate),
            Ok(0x1000)
        );
        assert_eq!(t.translate(GuestRealAddr(0x2010)), Ok(None));
    });
}
