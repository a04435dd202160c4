//! The three L2 loops of `cargo xtask compare`, the same words at the same GPAs as
//! `examples/kvm-l1-init/src/bench.rs`, timed with the timebase.
//!
//! | loop | how our L1 handles each exit | counterpart under Linux |
//! |---|---|---|
//! | `kernel-hcall` | `Vcpu::run_loop` with an `ExitHandler` answering H_CONFER; one call for N exits | KVM's in-kernel H_CONFER, one `KVM_RUN` |
//! | `user-hcall` | `Vcpu::run` + `complete_hcall` per exit (no second privilege level: the "userspace" variant is the manual API) | `KVM_EXIT_PAPR_HCALL` to userspace |
//! | `mmio` | `Vcpu::run` + `complete_mmio` per exit (nestedv2 fetches and decodes the `lwz`) | `KVM_EXIT_MMIO` to userspace |
//!
//! Each sample prints `EXIT-BENCH side=ours loop=<loop> sample=<k> exits=<n> ticks=<t>
//! run=<ticks inside H_GUEST_RUN_VCPU> hcalls=<L0 hcalls> p50=<median ticks of one run()> tb=<hz>
//! other_hcall_ticks=<ticks inside the other L0 hcalls>` (with `Quirks::QEMU`, nestedv2 reads
//! DEC_EXPIRY_TB back with one H_GUEST_GET_STATE per exit: that L0 time is part of the L1
//! software figure, shown apart; `-` for the kernel-hcall loop, which counts that GET but
//! does not time it).

use crate::timed::TimedHcall;
use crate::Parts;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use papr_baremetal::{boot::timebase, println};
use papr_hcall::{opcode, Sc1};
use papr_mmu_radix::PoolAlloc;
use papr_nestedv2::stamps::{self, Phase};
use papr_nestedv2::{Action, Exit, ExitHandler, Guest, HcallReturn, Vcpu, VcpuContext};

/// Exits per sample (as the Linux side).
const EXITS: u64 = 2000;
/// Samples per loop, after an unreported warm-up of [`WARMUP`] exits.
const SAMPLES: u64 = 5;
/// Exits of the warm-up.
const WARMUP: u64 = 200;
/// `H_CONFER`.
const H_CONFER: u64 = 0xE4;
/// The hcall the Linux side sends to userspace.
const USER_HCALL: u64 = 0x54;
/// The MMIO address: above the 16 MiB of RAM.
const MMIO_GPA: u64 = 0x200_0000;
/// SF | ME | LE, real mode (as the Linux side).
const L2_MSR: u64 = 0x8000_0000_0000_1001;
/// The HDEC slice: 1 s, so that no HDEC exit falls inside a sample.
const SLICE_US: u64 = 1_000_000;

/// `li r3,0x54; sc 1; b .-8`.
const USER_LOOP: (u64, &[u32]) = (0x1000, &[0x3860_0054, 0x4400_0022, 0x4BFF_FFF8]);
/// The L2 times its own exits in this loop: `mftb r16; 1: li r3,H_CONFER; li r4,-1;
/// li r5,0; sc 1; mftb r17; subf r18,r16,r17; std r18,0(r15); addi r15,r15,8; mr r16,r17;
/// addi r14,r14,-1; cmpdi r14,0; bne 1b; li r3,0x54; sc 1; b <start>`: one doubleword per
/// exit at [`STAMPS`] (r15), the timebase from one `sc 1` to the next as the L2 saw it.
const KERNEL_LOOP: (u64, &[u32]) = (
    0x1100,
    &[
        0x7E0C_42A6,
        0x3860_00E4,
        0x3880_FFFF,
        0x38A0_0000,
        0x4400_0022,
        0x7E2C_42A6,
        0x7E50_8850,
        0xFA4F_0000,
        0x39EF_0008,
        0x7E30_8B78,
        0x39CE_FFFF,
        0x2C2E_0000,
        0x4082_FFD4,
        0x3860_0054,
        0x4400_0022,
        0x4BFF_FFC4,
    ],
);
/// Where the kernel loop's L2 stores its per-exit timebase deltas.
const STAMPS: u64 = 0x1_0000;
/// `lis r5,0x200; 1: lwz r6,0(r5); b 1b`.
const MMIO_LOOP: (u64, &[u32]) = (0x1200, &[0x3CA0_0200, 0x80C5_0000, 0x4BFF_FFFC]);

type L2Guest<'h> = Guest<'h, Parts, PoolAlloc<1>>;
type L2Vcpu<'g, 'h> = Vcpu<'g, 'h, Parts, PoolAlloc<1>>;

/// One sample.
#[derive(Debug, Default, Clone, Copy)]
struct Sample {
    exits: u64,
    ticks: u64,
    run: u64,
    other: Option<u64>,
    hcalls: u64,
    p50: Option<u64>,
    med: Medians,
    /// Ticks per phase of nestedv2's exit path (feature `stamps`; zero without).
    phases: [u64; Phase::COUNT],
}

/// Medians over the single exits of a sample (timebase ticks): inside the RUN, L1 software
/// (from one exit's return to the next one's, minus the RUN between them), whole cycle.
#[derive(Debug, Default, Clone, Copy)]
struct Medians {
    l2: Option<u64>,
    /// Median over single exits of (the L2's timing of exit i − the time inside the RUN in
    /// which its `sc 1` came): the L1 software of that exit plus the difference of two
    /// RUNs' entry halves; unlike the difference of two medians, steady when QEMU's cost
    /// per RUN switches between levels within a sample.
    l2_run: Option<i64>,
    run: Option<u64>,
    l1: Option<u64>,
    cycle: Option<u64>,
}

/// The per-exit figures of a sample: from [`TimedHcall`](crate::timed::TimedHcall)'s
/// per-RUN records (its two timebase reads around each `sc 1`, in the host's page), so
/// that nothing in the loop itself reads the clock or writes a page per exit.
#[derive(Debug)]
struct Recorder {
    since: u64,
}

impl Recorder {
    /// Starts at the next RUN of `t`.
    fn new(t: &TimedHcall<Sc1>) -> Self {
        Self {
            since: t.run_ticks().1,
        }
    }

    /// Medians of the cycle (RUN + the L1 software before it), the RUN and the L1 software
    /// between two RUNs, over the sample's last [`SLOTS`](crate::timed::SLOTS) exits.
    fn medians(self, t: &TimedHcall<Sc1>) -> Medians {
        let recs = t.records(self.since);
        let mut cycle: Vec<u64> = recs.iter().map(|&(r, g)| r + g).collect();
        let mut run: Vec<u64> = recs.iter().map(|&(r, _)| r).collect();
        let mut l1: Vec<u64> = recs.iter().map(|&(_, g)| g).collect();
        Medians {
            l2: None,
            l2_run: None,
            run: median(&mut run),
            l1: median(&mut l1),
            cycle: median(&mut cycle),
        }
    }
}

/// The host's [`TimedHcall`]: its counters and per-RUN records.
fn timed<'h>(v: &L2Vcpu<'_, 'h>) -> &'h TimedHcall<Sc1> {
    // SAFETY: only the wrapper's own counters are read through the reference (no hcall is
    // made through it), which `hcall_unchecked`'s contract allows.
    unsafe { v.guest().host().hv().hcall_unchecked() }
}

/// Median of `v` (sorted here).
fn median(v: &mut [u64]) -> Option<u64> {
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

/// L0 hcalls made so far (counted by `TimedHcall`).
fn hcalls(v: &L2Vcpu<'_, '_>) -> u64 {
    timed(v).total()
}

/// Prints a sample's line.
fn report(name: &str, k: u64, s: &Sample, tb_hz: u64) {
    let opt = |v: Option<u64>| v.map_or(String::from("-"), |v| format!("{v}"));
    println!(
        "EXIT-BENCH side=ours loop={name} sample={k} exits={} ticks={} run={} hcalls={} p50={} tb={tb_hz} other_hcall_ticks={} run_p50={} l1_p50={} cycle_p50={} l2_p50={} l2_minus_run_p50={}",
        s.exits, s.ticks, s.run, s.hcalls, opt(s.p50), opt(s.other), opt(s.med.run), opt(s.med.l1), opt(s.med.cycle), opt(s.med.l2),
        s.med.l2_run.map_or(String::from("-"), |v| format!("{v}"))
    );
    if cfg!(feature = "stamps") {
        let per: Vec<String> = Phase::ALL
            .iter()
            .zip(s.phases)
            .map(|(p, t)| format!("{}={}", p.name(), t / s.exits.max(1)))
            .collect();
        println!(
            "EXIT-BENCH-STAMPS loop={name} sample={k} exits={} ticks/exit: {}",
            s.exits,
            per.join(" ")
        );
    }
}

/// Answers H_CONFER(-1) with H_SUCCESS; stops on the 0x54 hcall.
#[derive(Debug)]
struct Confer {
    confers: u64,
    rec: Recorder,
}

impl ExitHandler for Confer {
    fn handle(&mut self, exit: &Exit, _vcpu: &mut dyn VcpuContext) -> Action {
        match *exit {
            Exit::Hcall { nr: H_CONFER, args } if args.first() == Some(&u64::MAX) => {
                self.confers += 1;
                Action::HcallReturn(HcallReturn::status(0))
            }
            _ => Action::Stop,
        }
    }
}

/// Points the vCPU at `pc`, real mode, GPR14 = `r14`, GPR15 = `r15`.
fn enter_at(v: &mut L2Vcpu<'_, '_>, pc: u64, r14: u64, r15: u64) -> Result<(), String> {
    let s = v.state_mut();
    s.set_nia(pc);
    s.set_msr(L2_MSR);
    s.set_gpr(14, r14)
        .and_then(|()| s.set_gpr(15, r15))
        .map_err(|e| format!("set GPR14/15: {e}"))
}

/// Over the last [`SLOTS`](crate::timed::SLOTS) of the `n` per-exit stamps the kernel
/// loop's L2 stored at [`STAMPS`] (the exits whose RUNs [`Recorder::medians`] takes): their
/// median, and the median of (stamp − the RUN its `sc 1` came in) paired exit by exit, the
/// sample's first RUN being number `first_run`. QEMU's time per RUN switches between
/// levels within a sample (its software TLB, flushed on every switch, changes size with
/// use), so a difference of two medians can land between levels; the paired one does not.
fn l2_median(
    v: &L2Vcpu<'_, '_>,
    n: u64,
    first_run: u64,
) -> Result<(Option<u64>, Option<i64>), String> {
    let t = timed(v);
    let k = n.min(crate::timed::SLOTS as u64);
    let mut bytes = alloc::vec![0u8; 8 * k as usize];
    v.guest()
        .read_ram(
            papr_nestedv2::GuestRealAddr(STAMPS + 8 * (n - k)),
            &mut bytes,
        )
        .map_err(|e| format!("reading the L2's stamps: {e}"))?;
    let mut d: Vec<u64> = bytes
        .chunks_exact(8)
        .map(|c| {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            u64::from_le_bytes(w)
        })
        .collect();
    // Stamp i (of the last k) times exit n - k + i, whose `sc 1` came inside RUN number
    // first_run + n - k + i.
    let mut paired: Vec<i64> = d
        .iter()
        .enumerate()
        .filter_map(|(i, &stamp)| {
            let (run, _) = t.record(first_run + (n - k) + i as u64)?;
            Some(stamp as i64 - run as i64)
        })
        .collect();
    paired.sort_unstable();
    let l2_run = paired.get(paired.len() / 2).copied();
    Ok((median(&mut d), l2_run))
}

/// Takes a sample: `f` runs it and returns (exits, median of one `run()`, per-exit medians).
fn sample(
    v: &mut L2Vcpu<'_, '_>,
    f: impl FnOnce(&mut L2Vcpu<'_, '_>) -> Result<(u64, Option<u64>, Medians), String>,
) -> Result<Sample, String> {
    let t = timed(v);
    let (r0, o0, c0) = (t.run_ticks().0, t.other_ticks(), hcalls(v));
    let t0 = timebase();
    stamps::take();
    let (exits, p50, med) = f(v)?;
    let phases = stamps::take();
    let t1 = timebase();
    Ok(Sample {
        phases,
        exits,
        ticks: t1.wrapping_sub(t0),
        run: t.run_ticks().0 - r0,
        other: t.other_ticks().zip(o0).map(|(o, o0)| o - o0),
        hcalls: hcalls(v) - c0,
        p50,
        med,
    })
}

/// `n` H_CONFER exits answered inside one `run_loop`, then the 0x54 exit.
fn kernel_hcall(v: &mut L2Vcpu<'_, '_>, n: u64) -> Result<Sample, String> {
    enter_at(v, KERNEL_LOOP.0, n, STAMPS)?;
    let mut h = Confer {
        confers: 0,
        rec: Recorder::new(timed(v)),
    };
    let s = sample(v, |v| {
        let last = v
            .run_loop(&mut h)
            .map_err(|e| format!("kernel-hcall loop: run_loop: {e}"))?;
        match last {
            Exit::Hcall { nr: USER_HCALL, .. } if h.confers == n => {
                let t = timed(v);
                let rec = core::mem::replace(&mut h.rec, Recorder::new(t));
                let first_run = rec.since;
                let mut med = rec.medians(t);
                (med.l2, med.l2_run) = l2_median(v, n, first_run)?;
                Ok((n + 1, None, med))
            }
            other => Err(format!(
                "kernel-hcall loop: stopped on {other:?} after {} of {n} H_CONFER",
                h.confers
            )),
        }
    })?;
    v.complete_hcall(HcallReturn::status(0));
    Ok(s)
}

/// `n` single exits through `run()`, each checked and completed by `done`.
fn round_trips(
    v: &mut L2Vcpu<'_, '_>,
    n: u64,
    per: &mut [u64],
    name: &str,
    done: fn(&mut L2Vcpu<'_, '_>, &Exit) -> Result<(), String>,
) -> Result<Sample, String> {
    // The first exit leaves from wherever the vCPU was: not counted.
    let first = v.run().map_err(|e| format!("{name}: run: {e}"))?;
    done(v, &first)?;
    sample(v, |v| {
        let rec = Recorder::new(timed(v));
        for i in 0..n {
            let a = timebase();
            let exit = v.run().map_err(|e| format!("{name}: run: {e}"))?;
            let b = timebase();
            if let Some(slot) = per.get_mut(i as usize) {
                *slot = b.wrapping_sub(a);
            }
            done(v, &exit)?;
        }
        let k = (n as usize).min(per.len());
        let p50 = median(per.get_mut(..k).unwrap_or(&mut []));
        Ok((n, p50, rec.medians(timed(v))))
    })
}

/// The 0x54 exit, answered H_SUCCESS.
fn user_done(v: &mut L2Vcpu<'_, '_>, exit: &Exit) -> Result<(), String> {
    match *exit {
        Exit::Hcall { nr: USER_HCALL, .. } => {
            v.complete_hcall(HcallReturn::status(0));
            Ok(())
        }
        other => Err(format!("user-hcall loop: unexpected exit {other:?}")),
    }
}

/// The `lwz` from [`MMIO_GPA`], answered with a value.
fn mmio_done(v: &mut L2Vcpu<'_, '_>, exit: &Exit) -> Result<(), String> {
    match *exit {
        Exit::Mmio {
            gpa,
            size: Some(4),
            is_write: false,
            ..
        } if gpa.0 == MMIO_GPA => v
            .complete_mmio(&[0x12, 0x34, 0x56, 0x78])
            .map_err(|e| format!("mmio loop: complete_mmio: {e}")),
        other => Err(format!("mmio loop: unexpected exit {other:?}")),
    }
}

/// Every loop: a warm-up, then [`SAMPLES`] samples, one line each.
pub fn all(guest: &L2Guest<'_>, ticks_per_us: u64) -> Result<(), String> {
    for (gpa, words) in [KERNEL_LOOP, USER_LOOP, MMIO_LOOP] {
        let bytes: alloc::vec::Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        guest
            .write_ram(papr_nestedv2::GuestRealAddr(gpa), &bytes)
            .map_err(|e| format!("writing the L2 code at {gpa:#x}: {e}"))?;
    }
    let mut v = guest
        .create_vcpu(KERNEL_LOOP.0, L2_MSR)
        .map_err(|e| format!("create vCPU: {e}"))?;
    v.set_time_slice(SLICE_US * ticks_per_us);
    // Exit statistics (they read the clock around each exit and count) stay off, nestedv2's
    // default: Linux's side has no such instrumentation either. The exits are counted by
    // `TimedHcall` instead.
    let tb_hz = ticks_per_us * 1_000_000;
    let mut per = alloc::vec![0u64; EXITS as usize];
    // The kernel-hcall loop's L1 time is the judged figure: its per-exit GET is counted,
    // not timed (two timebase reads fewer per exit); the other loops time it.
    timed(&v).time_other_hcalls(false);
    kernel_hcall(&mut v, WARMUP)?;
    for k in 1..=SAMPLES {
        report("kernel-hcall", k, &kernel_hcall(&mut v, EXITS)?, tb_hz);
    }
    timed(&v).time_other_hcalls(true);
    enter_at(&mut v, USER_LOOP.0, 0, 0)?;
    round_trips(&mut v, WARMUP, &mut per, "user-hcall loop", user_done)?;
    for k in 1..=SAMPLES {
        let s = round_trips(&mut v, EXITS, &mut per, "user-hcall loop", user_done)?;
        report("user-hcall", k, &s, tb_hz);
    }
    enter_at(&mut v, MMIO_LOOP.0, 0, 0)?;
    round_trips(&mut v, WARMUP, &mut per, "mmio loop", mmio_done)?;
    for k in 1..=SAMPLES {
        let s = round_trips(&mut v, EXITS, &mut per, "mmio loop", mmio_done)?;
        report("mmio", k, &s, tb_hz);
    }
    let t = timed(&v);
    let total = t.run_ticks().1;
    let by_op = [
        opcode::H_GUEST_RUN_VCPU,
        opcode::H_GUEST_GET_STATE,
        opcode::H_GUEST_SET_STATE,
    ]
    .map(|op| t.count(op));
    println!(
        "EXIT-BENCH-INFO side=ours exits={total} runs_timed={} l0_run_vcpu={} l0_get_state={} l0_set_state={}",
        t.run_ticks().1,
        by_op[0],
        by_op[1],
        by_op[2]
    );
    Ok(())
}
