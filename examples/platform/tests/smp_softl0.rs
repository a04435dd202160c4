//! SMP end to end over the software L0: two scripted vCPUs on one `Board`, run
//! round-robin on one L1 CPU through the real `Vcpu::run_loop`. vCPU 0 starts vCPU 1 with
//! RTAS `start-cpu`, they IPI each other through their XICS presentation controllers, cede,
//! confer, prod, and vCPU 1 stops itself; the board's idle sleeps until vCPU 0's
//! decrementer. After each hcall the L2 loads from an unbacked address, so the test reads
//! what the L2 holds at that point (r3, r4, NIA, LPCR\[MER\]) from the L0's copy. A second
//! test time-slices: a vCPU spinning without an hcall gives way at its HDEC.
#![cfg(feature = "sim")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use papr_gsb::GuestStateId;
use papr_hcall::sim::{L2Action, SoftL0};
use papr_hcall::{Capabilities, CountingHcall, NestedHv, NoDelay, RealMemory, VmRealMemory};
use papr_mmu_radix::PoolAlloc;
use papr_mmu_radix::TableAlloc;
use papr_nestedv2::{
    lpcr, Action, Backend, Clock, Exit, ExitHandler, Guest, GuestRealAddr, L1RealAddr, NestedHost,
    Vcpu, VcpuContext,
};
use papr_platform::hcall::*;
use papr_platform::rtas::token;
use papr_platform::{
    vcpu as defaults, Board, CpuState, Environment, Idled, Outcome, PlatformConfig, TimeOfDay, Wake,
};
use vm_memory::{GuestAddress, GuestMemoryMmap};

type Mem = VmRealMemory<GuestMemoryMmap<()>>;
type L0 = SoftL0<Mem>;

const PAGES: u64 = 0x10_0000;
const TABLES: u64 = 0x20_0000;
const RAM_L1: u64 = 0x100_0000;
const RAM_LEN: u64 = 0x100_0000;
const MMIO: u64 = 0x1000_0000;
const LWZ_R5: u32 = 0x80a4_0000;
/// Where vCPU 1 starts, and the r3 it gets.
const ENTRY1: u64 = 0x2000;
const R3_1: u64 = 0x1234;

struct SimClock<'a>(&'a L0);
impl Clock for SimClock<'_> {
    fn now(&self) -> u64 {
        self.0.timebase()
    }
}

/// Idling advances the software L0's timebase.
struct SimEnv<'a> {
    l0: &'a L0,
    idles: Vec<u64>,
}

impl Environment for SimEnv<'_> {
    fn console_write(&mut self, _bytes: &[u8]) {}
    fn console_read(&mut self, _buf: &mut [u8]) -> usize {
        0
    }
    fn idle_until(&mut self, timebase: u64) -> Wake {
        self.idles.push(timebase);
        let now = self.l0.timebase();
        self.l0.advance_timebase(timebase.saturating_sub(now));
        Wake::Timer
    }
    fn time_of_day(&mut self) -> Option<TimeOfDay> {
        None
    }
}

/// What the L2 held at a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    r3: i64,
    r4: u64,
    nia: u64,
    mer: bool,
}

/// The board's handler, plus what each vCPU holds whenever it touches the unbacked page.
struct Probe<'a, 'b> {
    board: &'b Board<SimEnv<'a>>,
    l0: &'a L0,
    guest: u64,
    seen: [Vec<Seen>; 2],
}

impl ExitHandler for Probe<'_, '_> {
    fn handle(&mut self, exit: &Exit, vcpu: &mut dyn VcpuContext) -> Action {
        if let Exit::Mmio { gpa, .. } = exit {
            assert_eq!(gpa.0, MMIO);
            let id = vcpu.vcpu_id().0;
            let reg = |r| {
                let v = self.l0.state(self.guest, id, r).unwrap();
                u64::from_be_bytes(v[..8].try_into().unwrap())
            };
            self.seen[id as usize].push(Seen {
                r3: reg(GuestStateId::GPR3) as i64,
                r4: reg(GuestStateId::gpr(4).unwrap()),
                nia: reg(GuestStateId::NIA),
                mer: reg(GuestStateId::LPCR) & lpcr::MER != 0,
            });
        }
        self.board.handler().handle(exit, vcpu)
    }
}

fn hcall(nr: u64, a: &[u64]) -> L2Action {
    let mut args = [0u64; 9];
    args[..a.len()].copy_from_slice(a);
    L2Action::Hcall { nr, args }
}

fn rtas_block(tok: u32, args: &[u32], nret: u32) -> Vec<u8> {
    let mut b = Vec::new();
    for w in [tok, args.len() as u32, nret].iter().chain(args) {
        b.extend_from_slice(&w.to_be_bytes());
    }
    b.extend(std::iter::repeat_n(0xEE, 4 * nret as usize));
    b
}

/// A program of `calls`, each followed by a probe but the last (it does not return), the
/// probe's `lwz` written at its NIA (the program runs from `base`); an optional probe first.
fn script(
    put: &dyn Fn(u64, &[u8]),
    base: u64,
    probe_first: bool,
    calls: &[L2Action],
) -> Vec<L2Action> {
    let mut program = Vec::new();
    let probe = |program: &mut Vec<L2Action>| {
        put(base + 4 * program.len() as u64, &LWZ_R5.to_be_bytes());
        program.push(L2Action::Load { gpa: MMIO, size: 4 });
    };
    if probe_first {
        probe(&mut program);
    }
    for (i, c) in calls.iter().enumerate() {
        program.push(*c);
        if i + 1 < calls.len() {
            probe(&mut program);
        }
    }
    program
}

#[test]
fn two_vcpus_start_ipi_cede_and_wake_round_robin() {
    let mem =
        VmRealMemory(GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x200_0000)]).unwrap());
    let l0 = SoftL0::new(mem);
    let pages = PoolAlloc::<4>::new(papr_mmu_radix::L1RealAddr(PAGES), 0x10_0000).unwrap();
    let host = NestedHost::negotiate(
        NestedHv::new(CountingHcall::new(&l0), l0.memory().clone(), NoDelay),
        SimClock(&l0),
        pages,
        Capabilities::MODES,
    )
    .unwrap();
    let tables = PoolAlloc::<8>::new(papr_mmu_radix::L1RealAddr(TABLES), 0x20_0000).unwrap();
    let mut guest = Guest::create(&host, tables).unwrap();
    let g = guest.id().0;
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    guest.map_all_ram().unwrap();
    let t0 = l0.timebase();
    let mut vcpus = [
        guest.create_vcpu(0, defaults::ENTRY_MSR).unwrap(),
        // Created stopped somewhere else: start-cpu decides where it begins.
        guest.create_vcpu(0xF_0000, defaults::ENTRY_MSR).unwrap(),
    ];
    for v in &mut vcpus {
        defaults::pseries_defaults(v, 0x80_0000, 512).unwrap();
    }
    let put = |gpa: u64, bytes: &[u8]| l0.memory().write(L1RealAddr(RAM_L1 + gpa), bytes).unwrap();

    // RTAS blocks: one per call, so each answer stays readable.
    let blocks: [(u64, Vec<u8>); 7] = [
        (0x9000, rtas_block(token::QUERY_CPU_STOPPED_STATE, &[1], 2)),
        (
            0x9100,
            rtas_block(token::START_CPU, &[1, ENTRY1 as u32, R3_1 as u32], 1),
        ),
        (0x9200, rtas_block(token::START_CPU, &[1, 0x3000, 0], 1)),
        (0x9300, rtas_block(token::START_CPU, &[5, 0x3000, 0], 1)),
        (0x9400, rtas_block(token::QUERY_CPU_STOPPED_STATE, &[1], 2)),
        (0x9500, rtas_block(token::STOP_SELF, &[], 1)),
        (0x9F00, rtas_block(token::POWER_OFF, &[0, 0], 1)),
    ];
    for (at, b) in &blocks {
        put(*at, b);
    }
    let rtas = |at: u64| hcall(H_RTAS, &[at]);
    let xirr_ipi = 0xFF00_0002u64;

    // vCPU 0, with the r3 each call must answer.
    let calls0: Vec<(L2Action, i64)> = vec![
        (hcall(H_CPPR, &[0xFF]), 0),
        (rtas(0x9000), 0),           // vCPU 1 stopped
        (rtas(0x9100), 0),           // start it
        (rtas(0x9200), 0),           // again: status −1
        (rtas(0x9300), 0),           // no vCPU 5: status −3
        (hcall(H_IPI, &[1, 4]), 0),  // to vCPU 1 (CPPR still 0 there)
        (hcall(H_IPI, &[9, 4]), -4), // no server 9
        (hcall(H_CEDE, &[]), 0),     // → vCPU 1 runs; its IPI wakes this one
        (hcall(H_XIRR, &[0xFF]), 0), // r4 = the IPI
        (hcall(H_IPI, &[0, 0xFF]), 0),
        (hcall(H_EOI, &[xirr_ipi]), 0),
        (hcall(H_PROD, &[1]), 0), // wake vCPU 1 from its confer
        (hcall(H_CEDE, &[]), 0),  // vCPU 1 stops; the board idles to our DEC
        (rtas(0x9400), 0),        // vCPU 1 stopped again
        (rtas(0x9F00), 0),        // power-off (no probe: the run ends)
    ];
    // vCPU 1, entered at ENTRY1 with r3 = R3_1.
    let calls1: Vec<(L2Action, i64)> = vec![
        (hcall(H_CPPR, &[0xFF]), 0), // presents vCPU 0's IPI: MER
        (hcall(H_XIRR, &[0xFF]), 0),
        (hcall(H_IPI, &[1, 0xFF]), 0),
        (hcall(H_EOI, &[xirr_ipi]), 0),
        (hcall(H_IPI, &[0, 4]), 0),    // wake vCPU 0
        (hcall(H_CONFER, &[1, 0]), 0), // to itself: wait for H_PROD
        (rtas(0x9500), 0),             // stop-self (never returns: no probe)
    ];
    let strip = |c: &[(L2Action, i64)]| c.iter().map(|&(a, _)| a).collect::<Vec<_>>();
    let p0 = script(&put, 0, false, &strip(&calls0));
    let p1 = script(&put, ENTRY1, true, &strip(&calls1));
    l0.set_program(g, 0, p0).unwrap();
    l0.set_program(g, 1, p1).unwrap();

    let mut cfg = PlatformConfig::new(RAM_LEN, 0x7F_0000);
    cfg.vcpus = 2;
    let board = Board::new(
        SimEnv {
            l0: &l0,
            idles: Vec::new(),
        },
        cfg,
    );
    let mut probe = Probe {
        board: &board,
        l0: &l0,
        guest: g,
        seen: [Vec::new(), Vec::new()],
    };

    // One L1 CPU, round-robin: what the VMM's scheduler does.
    let mut order = Vec::new();
    let mut idled_at = Vec::new();
    let mut cur = 0u64;
    while board.outcome().is_none() {
        assert!(order.len() < 20, "runs: {order:?}");
        let now = l0.timebase();
        let Some(next) = board.next(cur, now) else {
            // The clock moves 1 ms (at 512 MHz) per reading while the board waits.
            let mut clock = || {
                l0.advance_timebase(512_000);
                l0.timebase()
            };
            let poll = 512_000;
            assert_eq!(
                board.idle(None, poll, &mut clock, &mut |_| false),
                Idled::Woken,
                "vCPU 0's decrementer wakes it"
            );
            idled_at.push(l0.timebase());
            assert!(board.runnable(0, now.max(l0.timebase())), "{now}");
            continue;
        };
        cur = next;
        let v = &mut vcpus[cur as usize];
        assert!(board.dispatch(v).unwrap());
        order.push(cur);
        v.run_loop(&mut probe).unwrap();
    }

    assert_eq!(board.outcome(), Some(Outcome::PowerOff));
    assert_eq!(order, [0, 1, 0, 1, 0]);
    assert!(l0.would_abort().is_empty(), "{:?}", l0.would_abort());
    // The one idle waited until vCPU 0's decrementer (4 s at 512 MHz from
    // pseries_defaults), looking at the board once per clock reading (1 ms) or so.
    let dec0 = t0 + 2_048_000_000;
    assert_eq!(idled_at.len(), 1);
    assert!(
        (dec0..dec0 + 2 * 512_000).contains(&idled_at[0]),
        "{idled_at:?}"
    );
    assert_eq!(board.with(|p| p.stats().idles), 1);
    assert_eq!(board.cpu_state(1), Some(CpuState::Stopped));

    let r3s = |s: &[Seen]| s.iter().map(|s| s.r3).collect::<Vec<_>>();
    let want0: Vec<i64> = calls0[..calls0.len() - 1].iter().map(|c| c.1).collect();
    assert_eq!(r3s(&probe.seen[0]), want0);
    // vCPU 1's first probe: entered at ENTRY1 with r3 = R3_1.
    let s1 = &probe.seen[1];
    assert_eq!((s1[0].nia, s1[0].r3), (ENTRY1, R3_1 as i64));
    let mut want1 = vec![R3_1 as i64];
    want1.extend(calls1[..calls1.len() - 1].iter().map(|c| c.1));
    assert_eq!(r3s(s1), want1);
    let msr1 = l0.state(g, 1, GuestStateId::MSR).unwrap();
    assert_eq!(
        u64::from_be_bytes(msr1[..8].try_into().unwrap()),
        (1 << 63) | (1 << 12),
        "start-cpu: MSR = SF|ME"
    );
    // The IPIs: vCPU 1 got MER once its CPPR let vCPU 0's IPI through, and read it.
    assert!(!s1[0].mer, "CPPR 0 masks the IPI");
    assert!(s1[1].mer, "H_CPPR(0xFF) presented it");
    assert_eq!(s1[2].r4, xirr_ipi);
    assert!(!s1[2].mer, "accepted");
    // vCPU 0 was woken by vCPU 1's IPI and dispatched with MER, then read it.
    let s0 = &probe.seen[0];
    assert!(!s0[6].mer);
    assert!(s0[7].mer, "after the cede: MER from vCPU 1's IPI");
    assert_eq!(s0[8].r4, xirr_ipi);
    // RTAS answers.
    let be32 = |at: u64| {
        let mut b = [0u8; 4];
        l0.memory().read(L1RealAddr(RAM_L1 + at), &mut b).unwrap();
        i32::from_be_bytes(b)
    };
    assert_eq!((be32(0x9000 + 16), be32(0x9000 + 20)), (0, 0), "stopped");
    assert_eq!(be32(0x9100 + 24), 0, "start-cpu");
    assert_eq!(be32(0x9200 + 24), -1, "start of a running CPU");
    assert_eq!(be32(0x9300 + 24), -3, "unknown CPU");
    assert_eq!(
        (be32(0x9400 + 16), be32(0x9400 + 20)),
        (0, 0),
        "stopped again"
    );
    assert_eq!(be32(0x9500 + 12), -0x1111_1112, "stop-self writes nothing");
    let counts = board.with(|p| p.hcall_counts());
    assert!(counts.contains(&(H_CEDE, "H_CEDE", 2)), "{counts:?}");
    assert!(counts.contains(&(H_PROD, "H_PROD", 1)));
    assert!(counts.contains(&(H_CONFER, "H_CONFER", 1)));
    drop(vcpus);
    guest.delete().unwrap();
}

/// One time slice of `vcpu`, as a VMM time-slicing vCPUs on one L1 CPU runs it: like
/// `run_loop`, but an HDEC exit also ends the slice. Returns whether it ended on HDEC.
fn run_slice<P: Backend, A: TableAlloc>(
    vcpu: &mut Vcpu<'_, '_, P, A>,
    handler: &mut dyn ExitHandler,
) -> bool {
    loop {
        let exit = vcpu.run().unwrap();
        if vcpu.handle_internal(&exit).unwrap() {
            if exit == Exit::Hdec {
                return true;
            }
            continue;
        }
        let action = handler.handle(&exit, vcpu);
        if !vcpu.apply(action).unwrap() {
            return false;
        }
    }
}

#[test]
fn a_spinning_vcpu_gives_way_at_its_hdec() {
    let mem =
        VmRealMemory(GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x200_0000)]).unwrap());
    let l0 = SoftL0::new(mem);
    let pages = PoolAlloc::<4>::new(papr_mmu_radix::L1RealAddr(PAGES), 0x10_0000).unwrap();
    let host = NestedHost::negotiate(
        NestedHv::new(CountingHcall::new(&l0), l0.memory().clone(), NoDelay),
        SimClock(&l0),
        pages,
        Capabilities::MODES,
    )
    .unwrap();
    let tables = PoolAlloc::<8>::new(papr_mmu_radix::L1RealAddr(TABLES), 0x20_0000).unwrap();
    let mut guest = Guest::create(&host, tables).unwrap();
    let g = guest.id().0;
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), RAM_LEN)
        .unwrap();
    guest.map_all_ram().unwrap();
    let mut vcpus = [
        guest.create_vcpu(0, defaults::ENTRY_MSR).unwrap(),
        guest.create_vcpu(0xF_0000, defaults::ENTRY_MSR).unwrap(),
    ];
    for v in &mut vcpus {
        defaults::pseries_defaults(v, 0x80_0000, 512).unwrap();
    }
    let put = |gpa: u64, bytes: &[u8]| l0.memory().write(L1RealAddr(RAM_L1 + gpa), bytes).unwrap();
    put(
        0x9100,
        &rtas_block(token::START_CPU, &[1, ENTRY1 as u32, 7], 1),
    );
    put(0x9F00, &rtas_block(token::POWER_OFF, &[0, 0], 1));
    // vCPU 0 starts vCPU 1 and spins (Linux's __cpu_up waiting for it) without an hcall:
    // only its HDEC gives vCPU 1 the L1 CPU. Then it sees vCPU 1's IPI and powers off.
    let mut p0 = vec![
        hcall(H_CPPR, &[0xFF]),
        hcall(H_RTAS, &[0x9100]),
        L2Action::WaitHdec,
    ];
    // The spin (`b .`) leaves NIA after the two hcalls: the probe's `lwz` is at 8.
    put(8, &LWZ_R5.to_be_bytes());
    p0.push(L2Action::Load { gpa: MMIO, size: 4 });
    p0.push(hcall(H_RTAS, &[0x9F00]));
    let p1 = vec![
        hcall(H_CPPR, &[0xFF]),
        hcall(H_IPI, &[0, 4]),
        hcall(H_CEDE, &[]),
    ];
    l0.set_program(g, 0, p0).unwrap();
    l0.set_program(g, 1, p1).unwrap();

    let mut cfg = PlatformConfig::new(RAM_LEN, 0x7F_0000);
    cfg.vcpus = 2;
    let board = Board::new(
        SimEnv {
            l0: &l0,
            idles: Vec::new(),
        },
        cfg,
    );
    let mut probe = Probe {
        board: &board,
        l0: &l0,
        guest: g,
        seen: [Vec::new(), Vec::new()],
    };
    let mut slices = Vec::new();
    let mut cur = 0u64;
    while board.outcome().is_none() {
        assert!(slices.len() < 20, "slices: {slices:?}");
        let now = l0.timebase();
        let Some(next) = board.next(cur, now) else {
            let mut clock = || {
                l0.advance_timebase(512_000);
                l0.timebase()
            };
            let idled = board.idle(None, 512_000, &mut clock, &mut |_| false);
            assert_eq!(idled, Idled::Woken);
            continue;
        };
        cur = next;
        let v = &mut vcpus[cur as usize];
        assert!(board.dispatch(v).unwrap());
        slices.push((cur, run_slice(v, &mut probe)));
    }
    assert_eq!(board.outcome(), Some(Outcome::PowerOff));
    // vCPU 0 until its HDEC, vCPU 1 until it cedes, vCPU 0 to the end.
    assert_eq!(slices, [(0, true), (1, false), (0, false)]);
    assert!(
        matches!(board.cpu_state(1), Some(CpuState::Ceded { until: Some(_) })),
        "{:?}",
        board.cpu_state(1)
    );
    // vCPU 0 came back with vCPU 1's IPI presented (MER).
    assert_eq!(probe.seen[0].len(), 1);
    assert!(probe.seen[0][0].mer);
    assert!(board.with(|p| p.env().idles.is_empty()));
    assert!(l0.would_abort().is_empty(), "{:?}", l0.would_abort());
    drop(vcpus);
    guest.delete().unwrap();
}
