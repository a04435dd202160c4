//! Concurrency over the software L0: threads × vCPUs × exits.
//!
//! Four L1 threads drive two guests × four vCPUs (each thread one vCPU of each guest),
//! all at once, through the real [`Vcpu::run_loop`]. Every vCPU runs a scripted L2 that
//! makes `HCALLS` hcalls (each seen by the handler, in order), faults in `FAULTS` pages of
//! its own (handled inside the run loop: both guests' radix tables are changed from several
//! threads) and waits for `HDECS` HDEC expiries. The test checks that
//!
//! * no exit is lost: per vCPU, the handler saw exactly its script's hcalls, the run loop
//!   exactly its page faults and at least its HDEC exits;
//! * the statistics add up: the sum of every vCPU's [`ExitStats`] is the software L0's
//!   count of `H_GUEST_RUN_VCPU`;
//! * RUNs really overlapped: an [`Hcall`] wrapper counts the RUNs in flight at once (and
//!   holds a RUN back until a second one arrives, for a bounded time), so a lock held
//!   across `H_GUEST_RUN_VCPU` makes this test fail;
//! * nothing deadlocks: a watchdog fails the test after [`WATCHDOG`] instead of hanging.
//!
//! Guest 0's `Vcpu`s are created on the main thread and moved to the thread that runs
//! them; guest 1's are created by the four threads at once (their ids must come out
//! consecutive). The `Guest`s and the `NestedHost` are shared by reference.
#![cfg(feature = "sim")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use papr_hcall::sim::{L2Action, SoftL0};
use papr_hcall::{
    opcode, Capabilities, ContainedHcall, Hcall, HcallOutput, NestedHv, NoDelay, VmRealMemory,
    HCALL_ARGS,
};
use papr_mmu_radix::PoolAlloc;
use papr_nestedv2::*;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};
use vm_memory::{GuestAddress, GuestMemoryMmap};

type Mem = VmRealMemory<GuestMemoryMmap<()>>;
type L0 = SoftL0<Mem>;

const THREADS: usize = 4;
const GUESTS: usize = 2;
/// vCPUs per guest: one per thread.
const VCPUS: usize = THREADS;
/// Hcalls per vCPU script before the last one (which ends it).
const HCALLS: u64 = 6;
/// Page faults per vCPU script (loads of pages no one mapped yet).
const FAULTS: u64 = 2;
/// HDEC expiries per vCPU script.
const HDECS: u64 = 2;
/// The hcall number that ends a script.
const DONE: u64 = 0xDEAD;
/// The whole test must finish within this.
const WATCHDOG: Duration = Duration::from_secs(120);
/// How long, at most in total, RUNs are held back waiting for a second RUN in flight.
const OVERLAP_WAIT: Duration = Duration::from_secs(2);

const PAGES: u64 = 0x10_0000; // run buffers and scratch: 1 MiB
const TABLES: u64 = 0x20_0000; // radix tables: 1 MiB per guest
const RAM_L1: u64 = 0x100_0000; // L2 RAM: 16 MiB per guest
const RAM_LEN: u64 = 0x100_0000;
const MSR0: u64 = 0x8000_0000_0000_0003; // SF | RI | LE, real mode

/// Counts `H_GUEST_RUN_VCPU`s in flight at once and their maximum; a RUN that starts alone
/// waits (polling, within [`OVERLAP_WAIT`] in total) for a second one before it goes to the
/// software L0, so RUNs that nothing serialises are sure to overlap.
struct Overlap<'a> {
    l0: &'a L0,
    in_run: AtomicUsize,
    max_in_run: AtomicUsize,
    runs: AtomicU64,
    waited: Mutex<Duration>,
}

impl<'a> Overlap<'a> {
    fn new(l0: &'a L0) -> Self {
        Self {
            l0,
            in_run: AtomicUsize::new(0),
            max_in_run: AtomicUsize::new(0),
            runs: AtomicU64::new(0),
            waited: Mutex::new(Duration::ZERO),
        }
    }

    fn wait_for_company(&self) {
        let start = Instant::now();
        while self.max_in_run.load(Ordering::SeqCst) < 2 {
            if *self.waited.lock().unwrap() + start.elapsed() >= OVERLAP_WAIT {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        *self.waited.lock().unwrap() += start.elapsed();
    }
}

impl Hcall for Overlap<'_> {
    fn hcall(&self, op: u64, args: [u64; HCALL_ARGS]) -> HcallOutput {
        if op != opcode::H_GUEST_RUN_VCPU {
            return self.l0.hcall(op, args);
        }
        let now = self.in_run.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_run.fetch_max(now, Ordering::SeqCst);
        self.wait_for_company();
        let out = self.l0.hcall(op, args);
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.in_run.fetch_sub(1, Ordering::SeqCst);
        out
    }
}

// SAFETY: forwards to the software L0, which only touches its own memory model.
unsafe impl ContainedHcall for Overlap<'_> {}

/// The L1 timebase is the software L0's.
struct SimClock<'a>(&'a L0);
impl Clock for SimClock<'_> {
    fn now(&self) -> u64 {
        self.0.timebase()
    }
}

type Host<'a> = NestedHost<(&'a Overlap<'a>, Mem, NoDelay, SimClock<'a>, PoolAlloc<4>)>;
type G<'h, 'a> =
    Guest<'h, (&'a Overlap<'a>, Mem, NoDelay, SimClock<'a>, PoolAlloc<4>), PoolAlloc<4>>;

/// The arguments of hcall `k` of vCPU `v` of guest `g`: unique per exit.
fn args(g: usize, v: u64, k: u64) -> [u64; 9] {
    [
        g as u64, v, k, 0x1111, 0x2222, 0x3333, 0x4444, 0x5555, 0x6666,
    ]
}

/// L2 real address of page fault `k` of vCPU `v` (each vCPU faults in pages of its own).
fn fault_gpa(v: u64, k: u64) -> u64 {
    0x10_0000 + v * 0x1_0000 + k * 0x1000
}

/// The script of vCPU `v` of guest `g`: `HCALLS` hcalls with `FAULTS` loads among them,
/// then `HDECS` HDEC waits, then the hcall `DONE`.
fn script(g: usize, v: u64) -> Vec<L2Action> {
    let mut p = Vec::new();
    for k in 0..HCALLS {
        p.push(L2Action::Hcall {
            nr: 0x100 + k,
            args: args(g, v, k),
        });
        if k < FAULTS {
            p.push(L2Action::Load {
                gpa: fault_gpa(v, k),
                size: 8,
            });
        }
    }
    p.extend((0..HDECS).map(|_| L2Action::WaitHdec));
    p.push(L2Action::Hcall {
        nr: DONE,
        args: args(g, v, HCALLS),
    });
    p
}

/// Records the hcalls one vCPU makes and stops the run loop at each (the thread then
/// completes it and turns to its other vCPU).
#[derive(Default)]
struct Recorder {
    hcalls: Vec<(u64, [u64; 9])>,
}

impl ExitHandler for Recorder {
    fn handle(&mut self, exit: &Exit, _vcpu: &mut dyn VcpuContext) -> Action {
        match *exit {
            Exit::Hcall { nr, args } => self.hcalls.push((nr, args)),
            _ => panic!("unexpected exit {exit:?}"),
        }
        Action::Stop
    }
}

/// What one vCPU went through.
struct Outcome {
    guest: usize,
    vcpu: u64,
    hcalls: Vec<(u64, [u64; 9])>,
    stats: ExitStats,
}

/// Everything the test measured.
struct Report {
    outcomes: Vec<Outcome>,
    l0_runs: u64,
    wrapper_runs: u64,
    max_in_run: usize,
}

/// One thread: runs its vCPUs (one per guest) in turn, one hcall exit at a time, until
/// every script is done. The HDEC waits go under `hdec`: the software L0 has one timebase
/// for the whole machine and jumps it to the expiry of the vCPU whose HDEC fires, which
/// would leave the expiry another thread has just computed in the past (a real L1 CPU has
/// its own HDEC).
fn drive<P: Backend>(
    mut vcpus: Vec<(usize, Vcpu<'_, '_, P, PoolAlloc<4>>)>,
    hdec: &Mutex<()>,
) -> Vec<Outcome> {
    let mut recorders: Vec<Recorder> = vcpus.iter().map(|_| Recorder::default()).collect();
    let mut done = vec![false; vcpus.len()];
    while done.iter().any(|d| !d) {
        for (i, (_, vcpu)) in vcpus.iter_mut().enumerate() {
            if done[i] {
                continue;
            }
            let seen = recorders[i].hcalls.len() as u64;
            // After the last scripted hcall come the HDEC waits, then DONE.
            let _serial = (seen == HCALLS).then(|| hdec.lock().unwrap());
            let exit = vcpu.run_loop(&mut recorders[i]).unwrap();
            assert!(matches!(exit, Exit::Hcall { .. }), "{exit:?}");
            vcpu.complete_hcall(HcallReturn::status(0));
            done[i] = matches!(exit, Exit::Hcall { nr: DONE, .. });
        }
    }
    vcpus
        .into_iter()
        .zip(recorders)
        .map(|((guest, vcpu), r)| Outcome {
            guest,
            vcpu: vcpu.id().0,
            hcalls: r.hcalls,
            stats: *vcpu.stats(),
        })
        .collect()
}

fn run_all() -> Report {
    let mem = VmRealMemory(
        GuestMemoryMmap::<()>::from_ranges(&[(
            GuestAddress(0),
            (RAM_L1 + RAM_LEN * GUESTS as u64) as usize,
        )])
        .unwrap(),
    );
    let l0 = SoftL0::new(mem);
    let overlap = Overlap::new(&l0);
    let pages = PoolAlloc::<4>::new(L1RealAddr(PAGES), 0x10_0000).unwrap();
    let host: Host<'_> = NestedHost::negotiate(
        NestedHv::new(&overlap, l0.memory().clone(), NoDelay),
        SimClock(&l0),
        pages,
        Capabilities::MODES,
    )
    .unwrap();
    let guests: Vec<G<'_, '_>> = (0..GUESTS as u64)
        .map(|g| {
            let tables =
                PoolAlloc::<4>::new(L1RealAddr(TABLES + g * 0x10_0000), 0x10_0000).unwrap();
            let mut guest = Guest::create(&host, tables).unwrap();
            guest
                .add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1 + g * RAM_LEN), RAM_LEN)
                .unwrap();
            guest
        })
        .collect();
    // Thread t gets vCPU t of guest 0, made here and moved to it, and makes one vCPU of
    // guest 1 itself, all threads at once (ids come out consecutive, in any order).
    let (first, second) = (&guests[0], &guests[1]);
    let per_thread: Vec<Vec<(usize, Vcpu<'_, '_, _, _>)>> = (0..THREADS as u64)
        .map(|t| {
            let mut vcpu = first.create_vcpu(0, MSR0).unwrap();
            vcpu.set_stats_enabled(true);
            assert_eq!(vcpu.id().0, t);
            l0.set_program(first.id().0, t, script(0, t)).unwrap();
            vec![(0, vcpu)]
        })
        .collect();
    let runs_before = l0.hcall_count(opcode::H_GUEST_RUN_VCPU);
    let hdec = Mutex::new(());
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let workers: Vec<_> = per_thread
            .into_iter()
            .map(|mut vcpus| {
                let (l0, hdec) = (&l0, &hdec);
                s.spawn(move || {
                    let mut vcpu = second.create_vcpu(0, MSR0).unwrap();
                    vcpu.set_stats_enabled(true);
                    let id = vcpu.id().0;
                    l0.set_program(second.id().0, id, script(1, id)).unwrap();
                    vcpus.push((1, vcpu));
                    drive(vcpus, hdec)
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let mut made: Vec<u64> = outcomes
        .iter()
        .filter(|o| o.guest == 1)
        .map(|o| o.vcpu)
        .collect();
    made.sort_unstable();
    assert_eq!(made, (0..VCPUS as u64).collect::<Vec<_>>());
    assert!(l0.would_abort().is_empty(), "{:?}", l0.would_abort());
    Report {
        outcomes,
        l0_runs: l0.hcall_count(opcode::H_GUEST_RUN_VCPU) - runs_before,
        wrapper_runs: overlap.runs.load(Ordering::SeqCst),
        max_in_run: overlap.max_in_run.load(Ordering::SeqCst),
    }
}

#[test]
fn threads_by_vcpus_by_exits_no_lost_exit_no_deadlock_runs_overlap() {
    let (tx, rx) = mpsc::channel();
    // The watchdog: the work runs on its own thread; a deadlock fails the test here.
    std::thread::spawn(move || {
        let _ = tx.send(run_all());
    });
    let report = match rx.recv_timeout(WATCHDOG) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("no result after {WATCHDOG:?}: deadlock"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the test thread panicked"),
    };
    assert_eq!(report.outcomes.len(), GUESTS * VCPUS);
    let mut total = 0;
    for o in &report.outcomes {
        let expected: Vec<(u64, [u64; 9])> = (0..HCALLS)
            .map(|k| (0x100 + k, args(o.guest, o.vcpu, k)))
            .chain([(DONE, args(o.guest, o.vcpu, HCALLS))])
            .collect();
        assert_eq!(o.hcalls, expected, "guest {} vCPU {}", o.guest, o.vcpu);
        assert_eq!(o.stats.count(ExitKind::Hcall), HCALLS + 1);
        assert_eq!(o.stats.count(ExitKind::PageFault), FAULTS);
        // Waits for HDEC exit once each; a run whose expiry another vCPU's HDEC wait has
        // already passed exits at once (HDEC) too.
        assert!(o.stats.count(ExitKind::Hdec) >= HDECS, "{:?}", o.stats);
        total += o.stats.total();
    }
    // Every RUN the L0 saw is one exit in some vCPU's statistics, and none went elsewhere.
    assert_eq!(total, report.l0_runs);
    assert_eq!(report.wrapper_runs, report.l0_runs);
    // With a lock across H_GUEST_RUN_VCPU this stays 1.
    assert!(
        report.max_in_run >= 2,
        "RUNs never overlapped (max in flight {})",
        report.max_in_run
    );
}

/// What the crate promises for sharing: a host and a guest are `Sync`, a vCPU is `Send`
/// when the backends are.
#[test]
fn host_guest_vcpu_thread_safety() {
    fn sync<T: Sync>() {}
    fn send<T: Send>() {}
    sync::<Host<'static>>();
    sync::<G<'static, 'static>>();
    send::<
        Vcpu<
            'static,
            'static,
            (
                &'static Overlap<'static>,
                Mem,
                NoDelay,
                SimClock<'static>,
                PoolAlloc<4>,
            ),
            PoolAlloc<4>,
        >,
    >();
}
