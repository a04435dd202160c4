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

#[path = "softl0/matrix.rs"]
mod matrix;

/// The L1 timebase is the software L0's.
struct SimClock<'a>(&'a L0);
impl Clock for SimClock<'_> {
    fn now(&self) -> u64 {
        self.0.timebase()
    }
}

/// The backends of every host here.
type Parts<'a> = (
    CountingHcall<&'a L0>,
    Mem,
    NoDelay,
    SimClock<'a>,
    PoolAlloc<4>,
);

type Host<'a> = NestedHost<Parts<'a>>;

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
                is_write: false,
                size: Some(size),
                ..
            } => Action::MmioComplete {
                data: MmioData::from_be_value(0xAB, size).unwrap(),
            },
            Exit::Mmio { .. } => Action::MmioComplete {
                data: MmioData::NONE,
            },
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
    vcpu.set_stats_enabled(true);
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
            L2Action::illegal(0x7c00_07fe),        // nia 20
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
    vcpu.complete_mmio(&[0xAB, 0, 0, 0]).unwrap();
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
        (
            GuestRealAddr(MMIO + 8),
            Some(4),
            true,
            MmioData::new(&[0x34, 0x12, 0xFF, 0xFF])
        )
    );
    assert_eq!((n, gets), (2, 1));
    // A store completes without data; data for it is refused and leaves it pending.
    assert!(matches!(
        vcpu.complete_mmio(&[0]),
        Err(papr_nestedv2::Error::Mmio(
            papr_nestedv2::mmio::MmioError::DataLength { needed: 0, got: 1 }
        ))
    ));
    vcpu.complete_mmio(&[]).unwrap();
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

#[test]
fn external_interrupt_delivered_by_the_l1_when_ee_is_on() {
    let l0 = SoftL0::new(memory());
    let host = host(&l0).unwrap();
    let guest = Guest::create(&host, tables()).unwrap();
    let mut vcpu = guest.create_vcpu(0, MSR0).unwrap();
    l0.set_program(guest.id().0, 0, vec![L2Action::hcall(1); 3])
        .unwrap();
    let Exit::Hcall { .. } = vcpu.run().unwrap() else {
        panic!("an hcall exit first")
    };
    vcpu.complete_hcall(HcallReturn::status(0));
    let (nia, msr0) = (
        vcpu.reg(papr_gsb::GuestStateId::NIA).unwrap() as u64,
        vcpu.reg(papr_gsb::GuestStateId::MSR).unwrap() as u64,
    );
    // MSR[EE] off: nothing changes.
    vcpu.state_mut().set_msr(msr0 & !msr::EE);
    assert!(!vcpu.inject_external().unwrap());
    assert_eq!(vcpu.reg(papr_gsb::GuestStateId::NIA).unwrap() as u64, nia);
    // EE on: SRR0/SRR1 saved, NIA at 0x500, MSR = SF|ME (LPCR[ILE] off here).
    vcpu.state_mut().set_msr(msr0 | msr::EE);
    assert!(vcpu.inject_external().unwrap());
    let reg = |v: &mut Vcpu<'_, '_, _, _>, id| v.reg(id).unwrap() as u64;
    assert_eq!(reg(&mut vcpu, papr_gsb::GuestStateId::NIA), 0x500);
    assert_eq!(reg(&mut vcpu, papr_gsb::GuestStateId::SRR0), nia);
    assert_eq!(
        reg(&mut vcpu, papr_gsb::GuestStateId::SRR1),
        (msr0 | msr::EE) & !0x783f_0000
    );
    assert_eq!(
        reg(&mut vcpu, papr_gsb::GuestStateId::MSR),
        msr::SF | msr::ME
    );
    // It rides in the next run input: the L0 holds SRR0 after the run.
    vcpu.run().unwrap();
    let srr0 = l0
        .state(guest.id().0, 0, papr_gsb::GuestStateId::SRR0)
        .unwrap();
    assert_eq!(u64::from_be_bytes(srr0.try_into().unwrap()), nia);
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
    vcpu.set_stats_enabled(true);
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
    dec_after_exits_at(quirks, 5_000_000, false)
}

/// [`dec_after_exits`] with the expiry `ahead` ticks from the start (negative: already
/// expired) and, with `large`, LPCR\[LD\] set.
fn dec_after_exits_at(quirks: Quirks, ahead: i64, large: bool) -> (u64, u64, u64, u64) {
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
    if large {
        vcpu.set_lpcr(vcpu.lpcr() | papr_nestedv2::lpcr::LD);
    }
    let expiry = l0.timebase().wrapping_add_signed(ahead);
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
fn an_expired_decrementer_stays_expired_across_exits() {
    // QEMU reads a 32-bit DEC unsigned: an expired one (its interrupt pending) must not
    // come back 2^32 ticks (8.4 s) in the future.
    let (expiry, got, _, _) = dec_after_exits_at(Quirks::QEMU, -1_000, false);
    assert_eq!(got, expiry, "expired 1000 ticks before the first run");
    let (expiry, got, _, _) = dec_after_exits_at(Quirks::QEMU, 0x7FFF_0000, false);
    assert_eq!(got, expiry, "just under 2^31 ahead is still in the future");
    // A large decrementer is read sign-extended: far ahead and expired both survive.
    let (expiry, got, _, _) = dec_after_exits_at(Quirks::QEMU, 1 << 40, true);
    assert_eq!(got, expiry, "LD: 2^40 ahead");
    let (expiry, got, _, _) = dec_after_exits_at(Quirks::QEMU, -5_000, true);
    assert_eq!(got, expiry, "LD: expired");
}

/// Records the size of every `H_GUEST_GET_STATE` buffer, then makes the call.
struct GetSizes<'a>(&'a L0, Mutex<Vec<u64>>);
impl Hcall for GetSizes<'_> {
    fn hcall(&self, op: u64, args: [u64; HCALL_ARGS]) -> HcallOutput {
        if op == opcode::H_GUEST_GET_STATE {
            self.1.lock().unwrap().push(args[4]);
        }
        self.0.hcall(op, args)
    }
}

#[test]
fn the_run_reads_the_dec_alone_and_a_handler_reads_it_with_the_msr() {
    let l0 = SoftL0::new(memory()).with_qemu_dec_sign_bug();
    let pages = PoolAlloc::<4>::new(papr_mmu_radix::L1RealAddr(PAGES), 0x10_0000).unwrap();
    let gets = GetSizes(&l0, Mutex::new(Vec::new()));
    let hv = NestedHv::new(&gets, l0.memory().clone(), NoDelay);
    let host = NestedHost::negotiate(hv, SimClock(&l0), pages, Capabilities::MODES)
        .unwrap()
        .with_quirks(Quirks::QEMU);
    let mut guest = Guest::create(&host, tables()).unwrap();
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    let mut vcpu = guest.create_vcpu(0, MSR0).unwrap();
    let exit = L2Action::Hcall {
        nr: 1,
        args: [0; 9],
    };
    l0.set_program(guest.id().0, 0, vec![exit; 3]).unwrap();
    let sizes = || std::mem::take(&mut *gets.1.lock().unwrap());
    assert!(matches!(vcpu.run().unwrap(), Exit::Hcall { nr: 1, .. }));
    sizes();
    // The second run corrects the DEC first: DEC_EXPIRY_TB alone (header + one 8-byte
    // element); an MSR read with it would be stale at the run right after.
    assert!(matches!(vcpu.run().unwrap(), Exit::Hcall { nr: 1, .. }));
    assert_eq!(sizes(), [4 + 12]);
    // A handler's dec_expiry() reads it with the MSR, which then stays valid until the run.
    assert!(!vcpu.state().is_valid(GuestStateId::MSR));
    vcpu.dec_expiry().unwrap();
    assert_eq!(sizes(), [4 + 2 * 12]);
    assert!(vcpu.state().is_valid(GuestStateId::MSR));
    // Corrected once: the next run reads nothing more.
    assert!(matches!(vcpu.run().unwrap(), Exit::Hcall { nr: 1, .. }));
    assert_eq!(sizes(), [0u64; 0]);
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

#[test]
fn a_vcpu_is_one_page() {
    // Everything an exit touches of a vCPU is on one page (`repr(align(4096))`): a Vcpu that
    // grew past 4 KiB would take two pages, and one more TLB refill per exit under QEMU.
    type V<'g, 'h> = Vcpu<'g, 'h, Parts<'h>, PoolAlloc<8>>;
    assert_eq!(std::mem::size_of::<V<'_, '_>>(), 4096);
    assert_eq!(std::mem::align_of::<V<'_, '_>>(), 4096);
}
