//! End to end over the software L0 (`papr_hcall::sim::SoftL0`): the full lifecycle, every
//! exit kind, exact hcall counts, and fault injection at every call site.
#![cfg(feature = "sim")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use papr_gsb::GuestStateId;
use papr_hcall::sim::{Injection, L2Action, SoftL0};
use papr_hcall::{
    opcode, Capabilities, ContainedHcall, CountingHcall, Hcall, HcallError, HcallOutput, NestedHv,
    NoDelay, RealMemory, RetryBudget, ReturnCode, VmRealMemory, HCALL_ARGS,
};
use papr_mmu_radix::PoolAlloc;
use papr_nestedv2::*;
use std::collections::BTreeMap;
use std::sync::Mutex;
use vm_memory::{GuestAddress, GuestMemoryMmap};

type Mem = VmRealMemory<GuestMemoryMmap<()>>;
type L0 = SoftL0<Mem>;

/// The L1 timebase is the software L0's.
struct SimClock<'a>(&'a L0);
impl Clock for SimClock<'_> {
    fn now(&self) -> u64 {
        self.0.timebase()
    }
}

type Host<'a> = NestedHost<(
    CountingHcall<&'a L0>,
    Mem,
    NoDelay,
    SimClock<'a>,
    PoolAlloc<4>,
)>;

const PAGES: u64 = 0x10_0000; // 1 MiB of buffer pages
const TABLES: u64 = 0x20_0000; // 2 MiB of table pages
const RAM_L1: u64 = 0x100_0000; // L2 RAM backing
const RAM_LEN: u64 = 0x100_0000;
const MMIO: u64 = 0x1000_0000;
const MSR0: u64 = 0x8000_0000_0000_0003; // SF | RI | LE, real mode

fn memory() -> Mem {
    VmRealMemory(GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x200_0000)]).unwrap())
}

fn host(l0: &L0) -> Result<Host<'_>, Error> {
    let pages = PoolAlloc::<4>::new(papr_mmu_radix::L1RealAddr(PAGES), 0x10_0000).unwrap();
    NestedHost::negotiate(
        NestedHv::new(CountingHcall::new(l0), l0.memory().clone(), NoDelay),
        SimClock(l0),
        pages,
        Capabilities::MODES,
    )
}

fn tables() -> PoolAlloc<8> {
    PoolAlloc::<8>::new(papr_mmu_radix::L1RealAddr(TABLES), 0x20_0000).unwrap()
}

fn hcalls(h: &Host<'_>) -> (u64, u64, u64, u64) {
    h.with_hv(|hv| {
        let c = hv.hcall();
        (
            c.count(opcode::H_GUEST_RUN_VCPU),
            c.count(opcode::H_GUEST_GET_STATE),
            c.count(opcode::H_GUEST_SET_STATE),
            c.total(),
        )
    })
}

/// Writes instruction `word` (little-endian, as the L2 runs LE) at L2 real `gpa`.
fn put_insn(mem: &Mem, gpa: u64, word: u32) {
    mem.write(L1RealAddr(RAM_L1 + gpa), &word.to_le_bytes())
        .unwrap();
}

#[derive(Default)]
struct Vmm {
    seen: Vec<Exit>,
}

impl ExitHandler for Vmm {
    fn handle(&mut self, exit: &Exit, _vcpu: &mut dyn VcpuContext) -> Action {
        self.seen.push(*exit);
        match *exit {
            Exit::Hcall { nr: 0xDEAD, .. } => Action::Stop,
            Exit::Hcall { nr, .. } => Action::HcallReturn(HcallReturn::status(0).with(nr)),
            Exit::Mmio {
                is_write: false, ..
            } => Action::MmioComplete { value: 0xAB },
            Exit::Mmio { .. } => Action::MmioComplete { value: 0 },
            Exit::EmulationAssist { .. } => Action::InjectProgram,
            _ => Action::Stop,
        }
    }
}

#[test]
fn lifecycle_every_exit_kind_and_exact_hcall_counts() {
    let l0 = SoftL0::new(memory());
    let mem = l0.memory().clone();
    let host = host(&l0).unwrap();
    assert_eq!(host.mode(), papr_hcall::Mode::Power10);
    let mut guest = Guest::create(&host, tables()).unwrap();
    let g = guest.id().0;
    assert_eq!(l0.guests(), vec![g]);
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    // Code page: mapped up front so MMIO instructions can be read.
    assert!(guest.fault_in(GuestRealAddr(0)).unwrap());
    let before_vcpu = hcalls(&host);
    let mut vcpu = guest.create_vcpu(0, MSR0).unwrap();
    let after_vcpu = hcalls(&host);
    // CREATE_VCPU + GET 0x0002 + one SET of both run buffers.
    assert_eq!(after_vcpu.3 - before_vcpu.3, 3);

    // NIA advances by 4 per action; instructions for the MMIO actions:
    put_insn(&mem, 12, 0x80a4_0000); // lwz r5,0(r4)
    put_insn(&mem, 16, 0x90c4_0008); // stw r6,8(r4)
    l0.set_program(
        g,
        0,
        vec![
            L2Action::Hcall {
                nr: 0x58,
                args: [1, 2, 3, 4, 5, 6, 7, 8, 9],
            }, // nia 0
            L2Action::Load {
                gpa: 0x1000,
                size: 8,
            }, // nia 4
            L2Action::Store {
                gpa: 0x2000,
                size: 8,
                value: 7,
            }, // nia 8
            L2Action::Load { gpa: MMIO, size: 4 }, // nia 12
            L2Action::Store {
                gpa: MMIO + 8,
                size: 4,
                value: 0x1234,
            }, // nia 16
            L2Action::EmulationAssist { heir: 0x7c00_07fe }, // nia 20
            L2Action::WaitHdec,
            L2Action::Fetch { gpa: 0x3000 },
            L2Action::Hcall {
                nr: 0xDEAD,
                args: [0; 9],
            },
        ],
    )
    .unwrap();

    // First run: hcall exit. First run carries NIA, MSR, LPCR, HDEC.
    let e = vcpu.run().unwrap();
    assert_eq!(
        e,
        Exit::Hcall {
            nr: 0x58,
            args: [1, 2, 3, 4, 5, 6, 7, 8, 9]
        }
    );
    vcpu.complete_hcall(HcallReturn::status(0));
    // GPR6 is what the MMIO store will write.
    vcpu.state_mut().set_gpr6(0xFFFF_1234);

    // Steady state, one exit at a time, with exact hcall counts.
    let step = |vcpu: &mut Vcpu<'_, '_, _, _>| {
        let before = hcalls(&host);
        let e = vcpu.run().unwrap();
        let after = hcalls(&host);
        (e, after.3 - before.3, after.1 - before.1)
    };
    // Load from unmapped RAM: a page fault, handled internally; 1 hcall.
    let (e, n, _) = step(&mut vcpu);
    assert_eq!(
        e,
        Exit::PageFault {
            gpa: GuestRealAddr(0x1000),
            hdsisr: 0x4000_0000,
            is_write: false
        }
    );
    assert_eq!(n, 1);
    assert!(vcpu.handle_internal(&e).unwrap());
    // The load retries and succeeds; the store faults.
    let (e, n, _) = step(&mut vcpu);
    assert_eq!(
        e,
        Exit::PageFault {
            gpa: GuestRealAddr(0x2000),
            hdsisr: 0x4200_0000,
            is_write: true
        }
    );
    assert_eq!(n, 1);
    assert!(vcpu.handle_internal(&e).unwrap());
    // MMIO load: 1 hcall, instruction decoded from L2 RAM.
    let (e, n, gets) = step(&mut vcpu);
    let Exit::Mmio {
        gpa,
        size,
        is_write,
        data,
        insn,
        access,
        nia,
        fetch_error,
    } = e
    else {
        panic!("{e:?}")
    };
    assert_eq!(fetch_error, None);
    assert_eq!(
        (gpa, size, is_write, data, insn, nia),
        (
            GuestRealAddr(MMIO),
            Some(4),
            false,
            None,
            Some(0x80a4_0000),
            12
        )
    );
    assert_eq!(access.unwrap().reg, 5);
    assert_eq!((n, gets), (1, 0));
    // The device's bytes in storage order are AB 00 00 00; the L2 is little-endian.
    vcpu.complete_mmio(0xAB00_0000).unwrap();
    assert_eq!(
        vcpu.state().cached(papr_gsb::GuestStateId::GPR5),
        Some(0xAB)
    );
    // MMIO store: RUN + one GET of the source register.
    let (e, n, gets) = step(&mut vcpu);
    let Exit::Mmio {
        gpa,
        size,
        is_write,
        data,
        ..
    } = e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (gpa, size, is_write, data),
        // r = 0xFFFF_1234 stored by a little-endian L2: bytes 34 12 FF FF on the bus.
        (GuestRealAddr(MMIO + 8), Some(4), true, Some(0x3412_FFFF))
    );
    assert_eq!((n, gets), (2, 1));
    vcpu.complete_mmio(0).unwrap();
    // Emulation assist: inject a program interrupt (NIA and MSR came with the exit: no GET).
    let (e, n, _) = step(&mut vcpu);
    assert_eq!(
        e,
        Exit::EmulationAssist {
            heir: 0x7c00_07fe,
            nia: 20
        }
    );
    assert_eq!(n, 1);
    let before = hcalls(&host);
    vcpu.inject_program(program::ILLEGAL).unwrap();
    assert_eq!(hcalls(&host).3, before.3);
    assert_eq!(vcpu.state().cached(papr_gsb::GuestStateId::SRR0), Some(20));
    assert_eq!(
        vcpu.state().cached(papr_gsb::GuestStateId::NIA),
        Some(0x700)
    );
    // HDEC: 1 hcall.
    let (e, n, _) = step(&mut vcpu);
    assert_eq!((e, n), (Exit::Hdec, 1));
    // Fetch from an unmapped RAM page, then the stop hcall: through the run loop.
    let mut vmm = Vmm::default();
    let last = vcpu.run_loop(&mut vmm).unwrap();
    assert_eq!(
        last,
        Exit::Hcall {
            nr: 0xDEAD,
            args: [0; 9]
        }
    );
    assert_eq!(vmm.seen, vec![last]); // the HISI was handled internally
    let s = vcpu.stats();
    assert_eq!(s.count(ExitKind::Hcall), 2);
    assert_eq!(s.count(ExitKind::PageFault), 2);
    assert_eq!(s.count(ExitKind::Mmio), 2);
    assert_eq!(s.count(ExitKind::EmulationAssist), 1);
    assert_eq!(s.count(ExitKind::Hdec), 1);
    assert_eq!(s.count(ExitKind::InstructionFault), 1);
    assert!(!s.to_string().is_empty());
    assert!(l0.would_abort().is_empty(), "{:?}", l0.would_abort());
    drop(vcpu);
    guest.delete().unwrap();
    assert!(l0.guests().is_empty());
}

#[test]
fn steady_state_hcall_exits_cost_one_hcall_each() {
    let l0 = SoftL0::new(memory());
    let host = host(&l0).unwrap();
    let mut guest = Guest::create(&host, tables()).unwrap();
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    let mut vcpu = guest.create_vcpu(0, MSR0).unwrap();
    l0.set_program(
        guest.id().0,
        0,
        vec![
            L2Action::Hcall {
                nr: 1,
                args: [0; 9]
            };
            50
        ],
    )
    .unwrap();
    vcpu.run().unwrap();
    let before = hcalls(&host);
    for _ in 0..49 {
        let e = vcpu.run().unwrap();
        assert!(matches!(e, Exit::Hcall { nr: 1, .. }));
        vcpu.complete_hcall(HcallReturn::status(0).with(5));
    }
    let after = hcalls(&host);
    assert_eq!((after.0 - before.0, after.3 - before.3), (49, 49));
    // The results go out with the next run (the program is over: an HDEC exit).
    assert_eq!(vcpu.run().unwrap(), Exit::Hdec);
    // the results reached the L0
    assert_eq!(
        l0.state(guest.id().0, 0, papr_gsb::GuestStateId::GPR4)
            .unwrap(),
        5u64.to_be_bytes().to_vec()
    );
}

#[test]
fn deadline_refuses_runs_and_every_run_has_a_future_hdec() {
    let l0 = SoftL0::new(memory());
    let host = host(&l0).unwrap();
    let guest = Guest::create(&host, tables()).unwrap();
    let mut vcpu = guest.create_vcpu(0, MSR0).unwrap();
    l0.set_program(guest.id().0, 0, vec![L2Action::WaitHdec; 3])
        .unwrap();
    let now = l0.timebase();
    vcpu.set_time_slice(1000);
    assert_eq!(vcpu.run().unwrap(), Exit::Hdec);
    assert_eq!(l0.timebase(), now + 1000);
    vcpu.set_deadline(Some(now + 1500));
    assert_eq!(vcpu.run().unwrap(), Exit::Hdec);
    assert_eq!(l0.timebase(), now + 1500);
    let before = hcalls(&host);
    assert_eq!(
        vcpu.run(),
        Err(Error::DeadlinePassed {
            now: now + 1500,
            deadline: now + 1500
        })
    );
    assert_eq!(hcalls(&host), before);
    assert!(l0.would_abort().is_empty());
}

#[test]
fn external_interrupt_rides_in_lpcr_mer() {
    let l0 = SoftL0::new(memory());
    let host = host(&l0).unwrap();
    let guest = Guest::create(&host, tables()).unwrap();
    let mut vcpu = guest.create_vcpu(0, MSR0).unwrap();
    l0.set_program(
        guest.id().0,
        0,
        vec![
            L2Action::Hcall {
                nr: 1,
                args: [0; 9]
            };
            3
        ],
    )
    .unwrap();
    vcpu.set_external_pending(true);
    vcpu.run().unwrap();
    let lpcr_bytes = l0
        .state(guest.id().0, 0, papr_gsb::GuestStateId::LPCR)
        .unwrap();
    assert_eq!(
        u64::from_be_bytes(lpcr_bytes.try_into().unwrap()) & lpcr::MER,
        lpcr::MER
    );
    vcpu.set_external_pending(false);
    vcpu.run().unwrap();
    let lpcr_bytes = l0
        .state(guest.id().0, 0, papr_gsb::GuestStateId::LPCR)
        .unwrap();
    assert_eq!(
        u64::from_be_bytes(lpcr_bytes.try_into().unwrap()) & lpcr::MER,
        0
    );
}

// ---- The fault matrix: every call site of `scenario` × every injection, each cell's
// outcome asserted against the rule in `expected`. ----

/// A step of [`scenario`]: a cell's error names the step that returned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Negotiate,
    CreateGuest,
    AddRam,
    CreateVcpu,
    RunLoop,
    InjectDecrementer,
    Delete,
}

/// Hcalls one scenario may make in all (the clean one makes 17; a busy storm of 150 at
/// DELETE, which the guest's drop retries, makes 167): past it, or past [`RUN_CAP`]
/// runs, [`Capped`] refuses the call and the cell fails as "did not stop by itself".
const HCALL_CAP: usize = 1_000;
/// `H_GUEST_RUN_VCPU` calls one scenario may make in all (the clean one makes 6).
const RUN_CAP: usize = 32;

/// The software L0 behind a recorder: each hcall is traced with the [`Step`] that made
/// it, and calls past [`HCALL_CAP`] / [`RUN_CAP`] are refused (`H_PARAMETER`, without
/// reaching the L0) and remembered, so that a scenario that does not stop fails its cell
/// instead of hanging the test.
struct Capped<'a> {
    l0: &'a L0,
    step: Mutex<Step>,
    trace: Mutex<Vec<(u64, Step)>>,
    refused: Mutex<Option<u64>>,
}

impl<'a> Capped<'a> {
    fn new(l0: &'a L0) -> Self {
        Self {
            l0,
            step: Mutex::new(Step::Negotiate),
            trace: Mutex::new(Vec::new()),
            refused: Mutex::new(None),
        }
    }

    fn enter(&self, step: Step) {
        *self.step.lock().unwrap() = step;
    }
}

impl Hcall for Capped<'_> {
    fn hcall(&self, op: u64, a: [u64; HCALL_ARGS]) -> HcallOutput {
        let mut trace = self.trace.lock().unwrap();
        let runs = trace
            .iter()
            .filter(|(o, _)| *o == opcode::H_GUEST_RUN_VCPU)
            .count();
        if trace.len() >= HCALL_CAP || (op == opcode::H_GUEST_RUN_VCPU && runs >= RUN_CAP) {
            self.refused.lock().unwrap().get_or_insert(op);
            return HcallOutput::rc(ReturnCode::Parameter.raw());
        }
        trace.push((op, *self.step.lock().unwrap()));
        drop(trace);
        self.l0.hcall(op, a)
    }
}

// SAFETY: `Capped` passes calls unchanged to the software L0, which reaches memory only
// through its safe `RealMemory`.
unsafe impl ContainedHcall for Capped<'_> {}

type MatrixHost<'a> = NestedHost<(
    CountingHcall<&'a Capped<'a>>,
    Mem,
    NoDelay,
    SimClock<'a>,
    PoolAlloc<4>,
)>;

/// One full scenario over `c` (the L0 behind it must be fresh); returns the first error
/// and the step it came from. `cell` names the case in a panic: a scenario that does not
/// stop by itself (an hcall refused past the caps), or a step that is not an hcall (giving
/// the L2 its program) failing, is a broken test, not an outcome.
fn scenario(c: &Capped<'_>, cell: &str) -> Result<(), (Step, Error)> {
    let r = scenario_steps(c, cell);
    if let Some(op) = *c.refused.lock().unwrap() {
        panic!("{cell} -> {r:?}: did not stop by itself (call {op:#x} past the caps)");
    }
    r
}

fn scenario_steps(c: &Capped<'_>, cell: &str) -> Result<(), (Step, Error)> {
    let l0 = c.l0;
    let pages = PoolAlloc::<4>::new(papr_mmu_radix::L1RealAddr(PAGES), 0x10_0000).unwrap();
    let host: MatrixHost<'_> = NestedHost::negotiate(
        NestedHv::new(CountingHcall::new(c), l0.memory().clone(), NoDelay),
        SimClock(l0),
        pages,
        Capabilities::MODES,
    )
    .map_err(|e| (Step::Negotiate, e))?;
    c.enter(Step::CreateGuest);
    let mut guest = Guest::create(&host, tables()).map_err(|e| (Step::CreateGuest, e))?;
    c.enter(Step::AddRam);
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .map_err(|e| (Step::AddRam, e))?;
    guest
        .fault_in(GuestRealAddr(0))
        .map_err(|e| (Step::AddRam, e))?;
    let mem = l0.memory().clone();
    put_insn(&mem, 8, 0x80a4_0000); // lwz
    put_insn(&mem, 12, 0x90c4_0008); // stw
    c.enter(Step::CreateVcpu);
    let mut vcpu = guest
        .create_vcpu(0, MSR0)
        .map_err(|e| (Step::CreateVcpu, e))?;
    let program = vec![
        L2Action::Hcall {
            nr: 0x58,
            args: [0; 9],
        },
        L2Action::Load {
            gpa: 0x5000,
            size: 8,
        },
        L2Action::Load { gpa: MMIO, size: 4 },
        L2Action::Store {
            gpa: MMIO,
            size: 4,
            value: 1,
        },
        L2Action::WaitHdec,
        L2Action::Hcall {
            nr: 0xDEAD,
            args: [0; 9],
        },
    ];
    if let Err(e) = l0.set_program(guest.id().0, 0, program) {
        panic!("{cell}: the L2's program was refused: {e}");
    }
    vcpu.state_mut().set_tb_offset(1 << 24); // a guest-wide SET before the first run
    vcpu.set_loop_limit(Some(RUN_CAP as u64));
    c.enter(Step::RunLoop);
    vcpu.run_loop(&mut Vmm::default())
        .map_err(|e| (Step::RunLoop, e))?;
    c.enter(Step::InjectDecrementer);
    vcpu.inject_decrementer() // a GET of NIA/MSR
        .map_err(|e| (Step::InjectDecrementer, e))?;
    drop(vcpu);
    c.enter(Step::Delete);
    guest.delete().map_err(|e| (Step::Delete, e))
}

/// Which layer returns an hcall's error to the scenario.
#[derive(Debug, Clone, Copy)]
enum Layer {
    /// `papr_nestedv2` calls the typed API itself: `Error::Hcall`.
    Host,
    /// The vCPU state cache makes the call (its flush, its GETs): `Error::State`.
    State,
}

/// What an output injection acts on at a call site.
#[derive(Debug, Clone, Copy)]
enum Output {
    /// The call writes no buffer: output injections change nothing.
    None,
    /// A GET_STATE answer, written in place over the request: `asked` ids, `len` bytes.
    Get { asked: u32, len: usize },
    /// The run output buffer of exit `trap` (a 4 KiB page), and what the L1 makes of the
    /// previous run's buffer when the new one does not reach it.
    Run { trap: u64, stale: Stale },
}

/// A run whose output is truncated leaves the L1 the previous exit's registers.
#[derive(Debug, Clone, Copy)]
enum Stale {
    /// They lack this register, which the exit needs: `Error::IncompleteExit`.
    Lacks(GuestStateId),
    /// The exit needs no register: handled as it should be.
    Suffice,
    /// They are the previous access's: the loop handles that access again, the L2 (not
    /// resumed past its own access) repeats it and exits as it should: one more run.
    Repeat,
}

/// A call site: the `nth` call of `op` in the clean scenario, made by `step`.
#[derive(Debug, Clone, Copy)]
struct Site {
    op: u64,
    nth: u64,
    step: Step,
    layer: Layer,
    output: Output,
}

impl Site {
    fn name(&self) -> String {
        let op = opcode::name(self.op).unwrap_or("hcall");
        format!("{op} #{} ({:?})", self.nth, self.step)
    }
}

const fn site(op: u64, nth: u64, step: Step, layer: Layer, output: Output) -> Site {
    Site {
        op,
        nth,
        step,
        layer,
        output,
    }
}

const fn run(nth: u64, trap: u64, stale: Stale) -> Site {
    site(
        opcode::H_GUEST_RUN_VCPU,
        nth,
        Step::RunLoop,
        Layer::Host,
        Output::Run { trap, stale },
    )
}

/// Every hcall of the clean scenario, in order (asserted against its trace).
const SITES: [Site; 17] = {
    use opcode::*;
    use Layer::*;
    use Step::*;
    const NONE: Output = Output::None;
    const GPR4: GuestStateId = GuestStateId::GPR4;
    [
        site(H_GUEST_GET_CAPABILITIES, 1, Negotiate, Host, NONE),
        site(H_GUEST_SET_CAPABILITIES, 1, Negotiate, Host, NONE),
        site(H_GUEST_CREATE, 1, CreateGuest, Host, NONE),
        site(H_GUEST_SET_STATE, 1, CreateGuest, Host, NONE), // partition, process table
        site(H_GUEST_CREATE_VCPU, 1, CreateVcpu, Host, NONE),
        // RUN_OUTPUT_MIN_SIZE: a 4-byte header and one 4 + 8 byte element.
        site(
            H_GUEST_GET_STATE,
            1,
            CreateVcpu,
            Host,
            Output::Get { asked: 1, len: 16 },
        ),
        site(H_GUEST_SET_STATE, 2, CreateVcpu, Host, NONE), // the run buffers
        site(H_GUEST_SET_STATE, 3, RunLoop, State, NONE),   // the flush of the TB offset
        // hcall 0x58; the output page starts zeroed.
        run(1, trap::HCALL, Stale::Lacks(GPR4)),
        // HDSI in RAM at 0x5000 (the loop maps it); run 1's hcall exit has no HDSISR.
        run(2, trap::HDSI, Stale::Lacks(GuestStateId::HDSISR)),
        // MMIO load; run 2's HDSI.
        run(3, trap::HDSI, Stale::Repeat),
        // MMIO store; run 3's load.
        run(4, trap::HDSI, Stale::Repeat),
        // A register the MMIO store needs that its exit did not carry.
        site(
            H_GUEST_GET_STATE,
            2,
            RunLoop,
            State,
            Output::Get { asked: 1, len: 16 },
        ),
        run(5, trap::HDEC, Stale::Suffice),
        // hcall 0xDEAD; run 5's HDEC exit has no GPR4.
        run(6, trap::HCALL, Stale::Lacks(GPR4)),
        // NIA and MSR: two 4 + 8 byte elements.
        site(
            H_GUEST_GET_STATE,
            3,
            InjectDecrementer,
            State,
            Output::Get { asked: 2, len: 28 },
        ),
        site(H_GUEST_DELETE, 1, Delete, Host, NONE),
    ]
};

/// What a cell must end in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The scenario completed, with `retries` more calls of the injected opcode than the
    /// clean one made.
    Recovered { retries: u64 },
    /// The scenario stopped at `step` with `error`.
    Error { step: Step, error: Error },
}

/// The rule: what `injection` at `site` must end in.
///
/// * `Fail { rc, r4 }`: the call fails with that code, typed as the spec says:
///   `H_INVALID_ELEMENT_*` (−79…−81) carry the element's position in r4
///   (`HcallError::InvalidElement`), every other code is `HcallError::Failed`; no code
///   is retried (positive non-busy ones such as 3 `H_NOT_AVAILABLE` included).
/// * `Busy { rc, count }` (`H_BUSY` = 1, `H_LONG_BUSY_ORDER_*` = 9900 + order, waiting
///   10^order ms): `H_GUEST_RUN_VCPU` is never retried (it fails with the busy code); every
///   other call is retried under `RetryBudget::default()`: its k-th busy answer ends the
///   call with `HcallError::Timeout { attempts: k, waited_us: (k − 1) · wait }` when k
///   reaches `max_attempts`, or when waiting once more would pass `max_wait_us`; a storm
///   shorter than that is recovered with `count` retries.
/// * `TruncateOutput` inside the 4-byte header, `CorruptOutput` of byte 3 (the low byte
///   of the element count): nothing to act on where the call writes no buffer. A GET
///   answer is written in place over its request: truncated, the L1 reads back its own
///   request, which parses as an answer of zero values (accepted: recovered); its count
///   corrupted, `GsbError::CountExceedsBuffer`. A run output is a 4 KiB page whose tail is
///   zero: a corrupt count only adds BLANK elements (recovered); truncated, see [`Stale`].
///
/// Errors come back through the site's [`Layer`], from the site's [`Step`].
fn expected(site: &Site, injection: Injection) -> Outcome {
    let call = opcode::name(site.op).unwrap();
    let error = |e: HcallError| Outcome::Error {
        step: site.step,
        error: match site.layer {
            Layer::Host => Error::Hcall(e),
            Layer::State => Error::State(papr_vcpu_state::StateError::Hcall(e)),
        },
    };
    let never_retried = site.op == opcode::H_GUEST_RUN_VCPU;
    match injection {
        Injection::Fail { rc, r4 } => {
            let code = ReturnCode::from_raw(rc);
            assert!(!code.is_busy(), "Fail injections are not busy codes");
            if matches!(rc, -81..=-79) {
                error(HcallError::InvalidElement {
                    call,
                    code,
                    position: r4,
                })
            } else {
                error(HcallError::Failed { call, code })
            }
        }
        Injection::Busy { rc, count } => {
            let code = ReturnCode::from_raw(rc);
            if never_retried {
                return error(HcallError::Failed { call, code });
            }
            let budget = RetryBudget::default();
            let wait_us = match rc {
                1 => 0,
                9900..=9905 => 1000 * 10u64.pow((rc - 9900) as u32),
                _ => panic!("{rc} is not a busy code"),
            };
            let by_wait = budget
                .max_wait_us
                .checked_div(wait_us)
                .map_or(u64::MAX, |n| n + 1);
            let last = u64::from(budget.max_attempts).min(by_wait);
            if count < last {
                Outcome::Recovered { retries: count }
            } else {
                error(HcallError::Timeout {
                    call,
                    attempts: last as u32,
                    waited_us: (last - 1) * wait_us,
                    last: code,
                })
            }
        }
        Injection::TruncateOutput { keep } => {
            assert!(keep < 4, "the rule covers truncation inside the header");
            match site.output {
                Output::None | Output::Get { .. } => Outcome::Recovered { retries: 0 },
                Output::Run { trap, stale } => match stale {
                    Stale::Lacks(id) => Outcome::Error {
                        step: site.step,
                        error: Error::IncompleteExit { trap, id },
                    },
                    Stale::Suffice => Outcome::Recovered { retries: 0 },
                    Stale::Repeat => Outcome::Recovered { retries: 1 },
                },
            }
        }
        Injection::CorruptOutput { offset, xor } => {
            assert_eq!(offset, 3, "the rule covers the count's low byte");
            match site.output {
                Output::None | Output::Run { .. } => Outcome::Recovered { retries: 0 },
                Output::Get { asked, len } => error(HcallError::Buffer {
                    call,
                    source: papr_gsb::GsbError::CountExceedsBuffer {
                        count: asked ^ u32::from(xor),
                        found: asked,
                        offset: len,
                    },
                }),
            }
        }
    }
}

/// Every injection of the matrix.
fn injections() -> Vec<Injection> {
    let codes: [i64; 16] = [
        -1, -2, -3, -4, -9, -44, -54, -55, -56, -75, -77, -79, -80, -81, -256, 3,
    ];
    let mut injections: Vec<Injection> = codes
        .iter()
        .map(|&rc| Injection::Fail { rc, r4: 7 })
        .collect();
    injections.extend([
        Injection::Busy { rc: 1, count: 3 },
        Injection::Busy { rc: 9900, count: 2 },
        Injection::Busy { rc: 1, count: 150 }, // longer than the 100-attempt budget
        Injection::Busy { rc: 9903, count: 3 }, // 1 s each: the 2 s wait budget runs out
        Injection::TruncateOutput { keep: 2 },
        Injection::CorruptOutput {
            offset: 3,
            xor: 0xFF,
        },
    ]);
    injections
}

/// Runs one cell on a fresh L0 and checks what every cell must hold whatever its outcome:
/// no guest left in the L0, no request that would abort QEMU, the L0 still usable, the
/// scenario stopped by itself. Returns the outcome.
fn cell(site: &Site, injection: Injection, clean: &BTreeMap<u64, u64>) -> Outcome {
    let what = format!("cell {} x {injection:?}", site.name());
    let l0 = SoftL0::new(memory());
    l0.inject(site.op, site.nth, injection);
    let c = Capped::new(&l0);
    let r = scenario(&c, &what);
    let what = format!("{what} -> {r:?}");
    assert!(
        l0.guests().is_empty(),
        "{what}: guests left {:?}",
        l0.guests()
    );
    assert!(
        l0.would_abort().is_empty(),
        "{what}: {:?}",
        l0.would_abort()
    );
    // Still usable: a new guest can be created (or, if capabilities never got set, the L0
    // says so) and deleted.
    let create = raw_retry(
        &l0,
        opcode::H_GUEST_CREATE,
        [0, u64::MAX, 0, 0, 0, 0, 0, 0, 0],
        &what,
    );
    assert!(
        create.rc == 0 || create.rc == ReturnCode::State.raw(),
        "{what}: CREATE after it -> {}",
        create.rc
    );
    if create.rc == 0 {
        let args = [0, create.ret[0], 0, 0, 0, 0, 0, 0, 0];
        let delete = raw_retry(&l0, opcode::H_GUEST_DELETE, args, &what);
        assert_eq!(delete.rc, 0, "{what}: DELETE after it");
    }
    match r {
        Ok(()) => {
            // Recovered: the clean scenario's calls, plus retries of the injected opcode.
            let mut calls = BTreeMap::new();
            for (op, _) in c.trace.lock().unwrap().iter() {
                *calls.entry(*op).or_insert(0u64) += 1;
            }
            let retries = calls[&site.op].checked_sub(clean[&site.op]);
            let retries = retries.unwrap_or_else(|| panic!("{what}: fewer calls than clean"));
            calls.insert(site.op, clean[&site.op]);
            assert_eq!(
                &calls, clean,
                "{what}: other hcalls than the clean scenario's"
            );
            Outcome::Recovered { retries }
        }
        Err((step, error)) => {
            assert!(!error.to_string().is_empty(), "{what}: no message");
            Outcome::Error { step, error }
        }
    }
}

#[test]
fn fault_injection_every_call_site_every_code() {
    // The fault matrix: every hcall the scenario makes × every answer an L0 can give
    // instead of the right one (each error code, busy and long-busy storms — short, and
    // longer than the retry budget —, truncated and corrupt output buffers). Each cell must
    // end as `expected` says, leave no guest behind in the L0, never send a request that
    // would abort QEMU, and leave the L0 usable.
    let l0 = SoftL0::new(memory());
    let clean = Capped::new(&l0);
    scenario(&clean, "the clean scenario").unwrap();
    assert!(l0.guests().is_empty());
    let mut counts = BTreeMap::new();
    let trace: Vec<Site> = clean
        .trace
        .lock()
        .unwrap()
        .iter()
        .map(|&(op, step)| {
            let nth = counts.entry(op).and_modify(|n| *n += 1).or_insert(1u64);
            Site {
                op,
                nth: *nth,
                step,
                ..SITES[0]
            }
        })
        .collect();
    let key = |s: &Site| (s.op, s.nth, s.step);
    assert_eq!(
        trace.iter().map(key).collect::<Vec<_>>(),
        SITES.iter().map(key).collect::<Vec<_>>(),
        "the scenario's hcalls changed: update SITES"
    );
    let injections = injections();
    let (mut recovered, mut typed) = (0, 0);
    let mut mismatches = Vec::new();
    println!(
        "call site | one column per injection (rN: recovered after N retries, E: typed error)"
    );
    for site in &SITES {
        let mut row = String::new();
        for &injection in &injections {
            let got = cell(site, injection, &counts);
            let want = expected(site, injection);
            match got {
                Outcome::Recovered { retries } => {
                    recovered += 1;
                    row.push_str(&format!(" r{retries}"));
                }
                Outcome::Error { .. } => {
                    typed += 1;
                    row.push_str(" E");
                }
            }
            if got != want {
                row.push('!');
                mismatches.push(format!(
                    "cell {} x {injection:?}: expected {want:?}, got {got:?}",
                    site.name()
                ));
            }
        }
        println!("  {:<44}|{row}", site.name());
    }
    let cases = SITES.len() * injections.len();
    println!(
        "fault matrix: {} opcodes, {} call sites x {} injections = {cases} cases: \
         {recovered} recovered, {typed} typed errors, {} unexpected, 0 panics, \
         0 guests leaked, 0 would-abort",
        counts.len(),
        SITES.len(),
        injections.len(),
        mismatches.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {cases} cells differ from the rule:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// One raw hcall, repeated while the L0 answers busy (a storm may outlast the API's
/// budget); `what` names the cell if the L0 stays busy.
fn raw_retry(l0: &L0, op: u64, args: [u64; 9], what: &str) -> HcallOutput {
    let mut args = args;
    for _ in 0..1000 {
        let out = Hcall::hcall(l0, op, args);
        if !ReturnCode::from_raw(out.rc).is_busy() {
            return out;
        }
        if op == opcode::H_GUEST_CREATE {
            args[1] = out.ret[0];
        }
    }
    panic!("{what}: L0 busy for 1000 calls of {op:#x} after it")
}

#[test]
fn hostile_run_outputs_are_typed_errors() {
    for injection in [
        Injection::TruncateOutput { keep: 2 },
        Injection::TruncateOutput { keep: 10 },
        Injection::CorruptOutput {
            offset: 3,
            xor: 0x7F,
        },
        Injection::CorruptOutput {
            offset: 4,
            xor: 0xFF,
        },
        Injection::CorruptOutput {
            offset: 6,
            xor: 0x01,
        },
    ] {
        let l0 = SoftL0::new(memory());
        {
            let host = host(&l0).unwrap();
            let guest = Guest::create(&host, tables()).unwrap();
            let mut vcpu = guest.create_vcpu(0, MSR0).unwrap();
            l0.set_program(
                guest.id().0,
                0,
                vec![
                    L2Action::Hcall {
                        nr: 7,
                        args: [0; 9]
                    };
                    4
                ],
            )
            .unwrap();
            vcpu.run().unwrap();
            l0.inject(opcode::H_GUEST_RUN_VCPU, 2, injection);
            match vcpu.run() {
                Err(Error::State(_)) => {}
                Ok(Exit::Hcall { .. }) => {} // a corruption that still parses (e.g. a value byte)
                other => panic!("{injection:?}: {other:?}"),
            }
            // The vCPU still works.
            assert!(matches!(vcpu.run(), Ok(Exit::Hcall { .. })));
        }
        assert!(l0.guests().is_empty());
    }
}

#[test]
fn run_loop_with_a_mocked_handler_sees_only_vmm_exits() {
    let l0 = SoftL0::new(memory());
    let host = host(&l0).unwrap();
    let mut guest = Guest::create(&host, tables()).unwrap();
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    let mut vcpu = guest.create_vcpu(0, MSR0).unwrap();
    l0.set_program(
        guest.id().0,
        0,
        vec![
            L2Action::Load {
                gpa: 0x8000,
                size: 8,
            },
            L2Action::WaitHdec,
            L2Action::Hcall {
                nr: 0x1234,
                args: [0; 9],
            },
            L2Action::Hcall {
                nr: 0x99,
                args: [0; 9],
            },
        ],
    )
    .unwrap();
    let mut h = MockExitHandler::new();
    let mut seq = mockall::Sequence::new();
    h.expect_handle()
        .withf(|e, _| matches!(e, Exit::Hcall { nr: 0x1234, .. }))
        .times(1)
        .in_sequence(&mut seq)
        .return_const(Action::HcallReturn(HcallReturn::status(0)));
    h.expect_handle()
        .withf(|e, _| matches!(e, Exit::Hcall { nr: 0x99, .. }))
        .times(1)
        .in_sequence(&mut seq)
        .return_const(Action::Stop);
    let last = vcpu.run_loop(&mut h).unwrap();
    assert!(matches!(last, Exit::Hcall { nr: 0x99, .. }));
    assert_eq!(vcpu.stats().count(ExitKind::PageFault), 1);
    assert_eq!(vcpu.stats().count(ExitKind::Hdec), 1);
    assert_eq!(vcpu.stats().total(), 4);
}

#[test]
fn failed_guest_creation_leaves_nothing() {
    for (op, nth) in [(opcode::H_GUEST_SET_STATE, 1), (opcode::H_GUEST_CREATE, 1)] {
        let l0 = SoftL0::new(memory());
        let host = host(&l0).unwrap();
        l0.inject(op, nth, Injection::Fail { rc: -4, r4: 0 });
        let e = Guest::create(&host, tables()).unwrap_err();
        assert!(matches!(e, Error::Hcall(_)), "{e:?}");
        assert!(l0.guests().is_empty());
    }
}

/// Runs five hcall exits on an L0 with QEMU's DEC sign bug, the L2's DEC expiry set once by
/// the L1 to `expiry`; returns what the L0 holds after the last exit and what
/// `Vcpu::dec_expiry` says.
fn dec_after_exits(quirks: Quirks) -> (u64, u64, u64, u64) {
    let l0 = SoftL0::new(memory()).with_qemu_dec_sign_bug();
    let host = host(&l0).unwrap().with_quirks(quirks);
    let mut guest = Guest::create(&host, tables()).unwrap();
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    let mut vcpu = guest.create_vcpu(0, MSR0).unwrap();
    l0.set_program(
        guest.id().0,
        0,
        vec![
            L2Action::Hcall {
                nr: 1,
                args: [0; 9]
            };
            5
        ],
    )
    .unwrap();
    let expiry = l0.timebase() + 5_000_000;
    vcpu.state_mut().set_dec_expiry_tb(expiry);
    let before = hcalls(&host);
    for _ in 0..5 {
        assert!(matches!(vcpu.run().unwrap(), Exit::Hcall { nr: 1, .. }));
        l0.advance_timebase(1000);
    }
    let after = hcalls(&host);
    let got = vcpu.dec_expiry().unwrap();
    let raw = l0
        .state(guest.id().0, 0, papr_gsb::GuestStateId::DEC_EXPIRY_TB)
        .unwrap();
    let held = u64::from_be_bytes(raw.try_into().unwrap());
    (expiry, got, held, after.3 - before.3)
}

#[test]
fn qemu_dec_expiry_sign_is_corrected_on_every_exit() {
    let (expiry, got, _, hcalls) = dec_after_exits(Quirks::QEMU);
    assert_eq!(
        got, expiry,
        "the L2's decrementer expiry survives every exit"
    );
    // 5 RUNs and a GET after each of the first four, before the next RUN (the last one is
    // made by dec_expiry(), after the count).
    assert_eq!(hcalls, 9);
    // Without the workaround the L0's wrong-sign value is what the L1 sees.
    let (expiry, got, held, hcalls) = dec_after_exits(Quirks::NONE);
    assert_ne!(got, expiry);
    assert_eq!(got, held);
    assert_eq!(hcalls, 5);
}

#[test]
fn logical_pvr_negotiated_chosen_or_left_to_the_l0() {
    let l0 = SoftL0::new(memory());
    let host = host(&l0).unwrap();
    let pvr = |g: &Guest<'_, _, _>| {
        let v = l0
            .guest_state(g.id().0, papr_gsb::GuestStateId::LOGICAL_PVR)
            .unwrap();
        u32::from_be_bytes(v.try_into().unwrap())
    };
    let default = {
        let g = Guest::create_with(&host, tables(), LogicalPvr::Unset).unwrap();
        pvr(&g)
    };
    let negotiated = Guest::create(&host, tables()).unwrap();
    assert_eq!(pvr(&negotiated), host.mode().logical_pvr().0);
    drop(negotiated);
    let chosen = Guest::create_with(&host, tables(), LogicalPvr::Value(0x0F00_0005)).unwrap();
    assert_eq!(pvr(&chosen), 0x0F00_0005);
    assert_ne!(
        default,
        host.mode().logical_pvr().0,
        "Unset leaves the L0's default"
    );
}
