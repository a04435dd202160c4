//! vCPU k on L1 CPU k: each L1 CPU runs its own vCPU's loop, all sharing one [`Board`].
//!
//! [`l2::boot`](crate::l2) starts the L1's secondary CPUs (RTAS `start-cpu`,
//! `papr_baremetal::smp`) and hands CPU k the loop of vCPU k ([`vcpu_loop`]) in an
//! `smp::scope`; CPU 0 runs vCPU 0's loop itself, so the vCPUs' `H_GUEST_RUN_VCPU`s run at
//! the same time (nestedv2 holds no lock across a RUN). The loop of vCPU k:
//! 1. waits on its own CPU until the board says vCPU k may run ([`Board::idle`] for it:
//!    its decrementer, or a kick from another vCPU; the board is not locked meanwhile, and
//!    the CPU cedes to the L0 until then or the kick's IPI, [`l1ipi::pause`]);
//! 2. dispatches it ([`Board::dispatch`]) and runs it exit after exit — delivering the
//!    external interrupt its ICP presents before a run ([`irq`]), handling the exit with
//!    the board's handler (locked for that exit only) — until it gives the CPU back
//!    (`H_CEDE` with nothing to wake it, `H_CONFER`, `stop-self`) or the L2 ends;
//! 3. an external exit is an L1 IPI from another vCPU's handler ([`l1ipi`]): it is
//!    acknowledged, and the next run delivers what the ICP presents.
//!
//! Each run is timed into an [`Overlap`] shared by the CPUs: the time at least two of
//! them were inside RUN at once, the proof that the vCPUs ran in parallel.

use crate::env::BareMetal;
use crate::irq::{self, Delivery};
use crate::l1ipi;
use crate::l2::{L2Vcpu, Times};
use crate::sched;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use papr_baremetal::boot;
use papr_baremetal::dt::Info;
use papr_baremetal::{println, smp};
use papr_nestedv2::Exit;
use papr_platform::{Board, Idled};

/// Time during which at least two L1 CPUs were inside a vCPU run at once.
///
/// One word holds how many CPUs are inside a run (low 8 bits) and, while two or more are,
/// the timebase at which the second one entered (the rest); every entry and exit updates
/// it with a compare-and-swap, so the sum is exact without a lock.
#[derive(Debug, Default)]
pub struct Overlap {
    state: AtomicU64,
    total: AtomicU64,
}

impl Overlap {
    /// A CPU enters a run.
    pub fn enter(&self) {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let n = (s & 0xFF) + 1;
            let since = if n == 2 {
                boot::timebase() << 8
            } else {
                s & !0xFF
            };
            match self.state.compare_exchange_weak(
                s,
                since | n,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(now) => s = now,
            }
        }
    }

    /// A CPU leaves a run.
    pub fn leave(&self) {
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let n = (s & 0xFF).saturating_sub(1);
            let now = boot::timebase();
            let since = s >> 8;
            let next = if n >= 2 { s & !0xFF } else { 0 };
            match self
                .state
                .compare_exchange_weak(s, next | n, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    if n == 1 {
                        // The second-to-last leaves: the overlap that began at `since` ends.
                        let d = (now << 8 >> 8).wrapping_sub(since);
                        self.total.fetch_add(d, Ordering::Relaxed);
                    }
                    return;
                }
                Err(cur) => s = cur,
            }
        }
    }

    /// Timebase ticks with two or more CPUs inside a run.
    pub fn ticks(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// What the loop of one vCPU counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopFigures {
    /// The L1 CPU thread (PIR) that ran the loop.
    pub pir: u32,
    /// Times the vCPU was dispatched.
    pub dispatches: u64,
    /// Times its CPU waited for it ([`Board::idle`] waited).
    pub waits: u64,
    /// Timebase ticks its CPU spent waiting.
    pub wait_ticks: u64,
    /// External exits (L1 IPIs from other vCPUs, acknowledged).
    pub kicks: u64,
    /// External exits that found no interrupt pending.
    pub spurious: u64,
    /// External interrupts delivered to the L2 ([`irq`]).
    pub irqs: u64,
    /// Runs with an interrupt presented but MSR\[EE\] = 0.
    pub masked: u64,
    /// Deliveries right after a wait, and the ticks from the wait's end to them.
    pub wake_deliveries: u64,
    /// See [`wake_deliveries`](Self::wake_deliveries).
    pub wake_delivery_ticks: u64,
}

/// What a loop needs besides its vCPU.
#[derive(Debug, Clone, Copy)]
pub struct LoopConfig<'a> {
    /// The board of the L2.
    pub board: &'a Board<BareMetal>,
    /// The HDEC slice of a run (ticks): the run ends by then even without an exit.
    pub slice: u64,
    /// A short run while an interrupt waits for MSR\[EE\] (ticks).
    pub masked_slice: u64,
    /// How often a waiting CPU looks at the board anyway, and reads console input (ticks).
    pub poll: u64,
    /// The shortest wait for which a waiting CPU cedes to the L0 rather than spins (ticks).
    pub min_cede: u64,
    /// How long a waiting CPU spins before it cedes (ticks, `vmm.spin_us`).
    pub spin: u64,
    /// vCPUs of the L2 (every CPU is kicked when the L2 ends).
    pub vcpus: usize,
    /// The RUN overlap of every CPU.
    pub overlap: &'a Overlap,
    /// Print a `VMM-TRACE` line for every wait longer than 500 polls (`vmm.trace_s` > 0).
    pub trace: bool,
}

/// Runs `vcpu` on this L1 CPU until the L2 ends.
///
/// # Errors
/// A message naming the vCPU and what failed (a dispatch, a run, an exit it could not
/// handle).
pub fn vcpu_loop(vcpu: &mut L2Vcpu<'_, '_>, c: &LoopConfig<'_>) -> Result<LoopFigures, String> {
    let r = run(vcpu, c);
    if let Err(e) = &r {
        // The L2 cannot go on without this vCPU: end the other loops too.
        c.board.stop(e.clone());
        l1ipi::kick_all(c.vcpus);
    }
    r
}

/// [`vcpu_loop`] proper.
fn run(vcpu: &mut L2Vcpu<'_, '_>, c: &LoopConfig<'_>) -> Result<LoopFigures, String> {
    let me = vcpu.id().0;
    let k = me as usize;
    let board = c.board;
    let my_server = papr_baremetal::smp::pir();
    let mut fig = LoopFigures {
        pir: my_server,
        ..LoopFigures::default()
    };
    let cppr = l1ipi::init_cpu();
    if cppr != 0 {
        return Err(format!(
            "vCPU {me}: H_CPPR(0xFF) on L1 CPU {my_server:#x}: status {cppr}"
        ));
    }
    l1ipi::assign(k, my_server);
    let mut handler = board.handler();
    vcpu.set_time_slice(c.slice);
    let mut clock = boot::timebase;
    'outer: while !board.ended() {
        l1ipi::set_dispatched(k, false);
        let t0 = boot::timebase();
        let before = board.cpu_state(me);
        let mut t_woke = t0;
        // Spin for the first `c.spin` ticks of a wait (a wake-up soon after the cede, as
        // in a ping-pong of IPIs, costs no L0 wake-up then), cede after.
        let spin_until = t0.wrapping_add(c.spin);
        let mut pause = |until: u64| {
            let t = boot::timebase();
            // Within the spin: a look at the flag only (`pause` spins when `until` is near).
            let until = if (spin_until.wrapping_sub(t) as i64) > 0 {
                t
            } else {
                until
            };
            l1ipi::pause(k, my_server, until, c.min_cede)
        };
        match board.idle(Some(me), c.poll, &mut clock, &mut pause) {
            Idled::Ended => break,
            Idled::Woken => {
                t_woke = boot::timebase();
                let d = boot::timebase().wrapping_sub(t0);
                if c.trace && d > c.poll * 500 {
                    println!(
                        "VMM-TRACE vcpu {me} waited {} ms, state before {:?} (t0 {t0}), now {:?}; others {:?}",
                        d / c.poll,
                        before,
                        board.cpu_state(me),
                        (0..c.vcpus as u64).map(|j| (board.cpu_state(j), board.with(|p| p.external_pending(j)))).collect::<Vec<_>>()
                    );
                }
                fig.waits += 1;
                fig.wait_ticks += d;
                board.with(|p| p.env_mut().idle_ticks += d);
            }
            _ => {}
        }
        // From here on, kicks send IPIs (before the board is looked at: see `l1ipi`).
        l1ipi::set_dispatched(k, true);
        if !board
            .dispatch(vcpu)
            .map_err(|e| format!("dispatching vCPU {me}: {e}"))?
        {
            continue;
        }
        fig.dispatches += 1;
        let mut woke_at = Some(t_woke);
        loop {
            if board.ended() {
                break 'outer;
            }
            let mut deadline = None;
            let pending = board.with(|p| p.external_pending(me));
            if !pending {
                // Nothing to deliver (it was, or the L2 took it with H_XIRR itself).
                l1ipi::delivered(k);
            }
            if pending {
                match irq::deliver_external(vcpu).map_err(|e| format!("vCPU {me}: {e}"))? {
                    Delivery::Delivered => {
                        if let Some(w) = woke_at.take() {
                            fig.wake_deliveries += 1;
                            fig.wake_delivery_ticks += boot::timebase().wrapping_sub(w);
                        }
                        fig.irqs += 1;
                        l1ipi::delivered(k);
                    }
                    Delivery::Masked => {
                        // Look again soon: the L2 may set MSR[EE] without an exit.
                        deadline = Some(boot::timebase().wrapping_add(c.masked_slice));
                        fig.masked += 1;
                    }
                }
            }
            vcpu.set_deadline(deadline);
            c.overlap.enter();
            let ran = vcpu.run();
            c.overlap.leave();
            let exit = match ran {
                Ok(exit) => exit,
                Err(papr_nestedv2::Error::DeadlinePassed { .. }) => continue,
                Err(e) => return Err(format!("vCPU {me}: run failed: {e}")),
            };
            if let Exit::External { .. } = exit {
                if l1ipi::ack(my_server) & 0x00FF_FFFF != 0 {
                    fig.kicks += 1;
                    l1ipi::noticed(k, 1);
                } else {
                    fig.spurious += 1;
                }
                continue;
            }
            if vcpu
                .handle_internal(&exit)
                .map_err(|e| format!("vCPU {me}: {e}"))?
            {
                continue;
            }
            let action = papr_nestedv2::ExitHandler::handle(&mut handler, &exit, vcpu);
            let go_on = vcpu.apply(action).map_err(|e| format!("vCPU {me}: {e}"))?;
            if board.ended() {
                // End the other CPUs' runs now rather than at their next HDEC.
                l1ipi::kick_all(c.vcpus);
                break 'outer;
            }
            if !go_on {
                break;
            }
        }
    }
    l1ipi::set_dispatched(k, false);
    Ok(fig)
}

/// How long a secondary L1 CPU may take to come online (µs).
const CPU_START_US: u64 = 1_000_000;

/// Starts L1 CPUs 1.. (one per vCPU but the first), hands CPU k the loop of vCPU k and
/// runs vCPU 0's on this CPU; returns when every loop has (the L2 ended or a loop
/// failed: a failed loop ends the L2, so the others end too).
///
/// # Errors
/// A message naming the CPU that could not start, or the first loop that failed.
pub fn run_parallel(
    info: &Info,
    vcpus: &mut [L2Vcpu<'_, '_>],
    lc: &LoopConfig<'_>,
) -> Result<Vec<LoopFigures>, String> {
    for k in 1..vcpus.len() {
        let s = smp::start(info, k, CPU_START_US)
            .map_err(|e| format!("starting L1 CPU {k} for vCPU {k}: {e}"))?;
        println!(
            "  L1 CPU {k} (thread {:#x}) online in {} us: it runs vCPU {k}",
            s.id,
            s.ticks_to_online / info.ticks_per_us.max(1)
        );
    }
    let Some((first, rest)) = vcpus.split_first_mut() else {
        return Ok(Vec::new());
    };
    smp::scope(|s| {
        let mut joins = Vec::new();
        let mut failed = None;
        for (i, v) in rest.iter_mut().enumerate() {
            match s.spawn(info, i + 1, move || vcpu_loop(v, lc)) {
                Ok(j) => joins.push(j),
                Err(e) => {
                    failed = Some(format!("handing vCPU {} to L1 CPU {}: {e}", i + 1, i + 1));
                    break;
                }
            }
        }
        // With a CPU missing, vCPU 0 still runs (the L2 sees a CPU that never starts);
        // the error is reported after the run.
        if let Some(e) = &failed {
            // The L2 cannot go on without that vCPU.
            lc.board.stop(e.clone());
        }
        let mine = vcpu_loop(first, lc);
        let mut figs = alloc::vec![mine];
        for j in joins {
            figs.push(
                j.join()
                    .map_err(|e| format!("joining a vCPU loop: {e}"))
                    .and_then(|r| r),
            );
        }
        let mut out = Vec::new();
        for f in figs {
            out.push(f?);
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(out),
        }
    })
}

/// Per-vCPU `VMM-STAT vcpu <k> …` lines of vCPUs on their own L1 CPUs (exits, time inside
/// RUN, dispatches, waits and their L1 cedes, kicks received and IPIs sent, interrupts
/// delivered, the L1 CPU), the kick latencies (`vcpu_kick_latency`, `vcpu_kick_noticed`,
/// `vcpu_wake_to_delivery`), and the time at least two vCPUs were inside RUN at once
/// (`run_overlap_us`: above 0 only if they ran in parallel).
pub fn figures(vcpus: &[L2Vcpu<'_, '_>], figs: &[LoopFigures], overlap: &Overlap, t: &Times) {
    let ms = |ticks: u64| ticks / (t.tpu * 1000);
    let mut run_sum = 0;
    for (k, (v, f)) in vcpus.iter().zip(figs).enumerate() {
        let run = sched::run_ticks(v);
        run_sum += run;
        println!(
            "VMM-STAT vcpu {k} exits {} run_ms {} dispatches {} waits {} wait_ms {} l1_cedes {} l1_ipi_wakes {} kicks {} spurious_kicks {} ipis_sent {} irqs {} masked {} l1_cpu {}",
            v.stats().total(),
            ms(run),
            f.dispatches,
            f.waits,
            ms(f.wait_ticks),
            l1ipi::cedes(k).0,
            l1ipi::cedes(k).1,
            f.kicks,
            f.spurious,
            l1ipi::ipis_sent(k),
            f.irqs,
            f.masked,
            f.pir
        );
    }
    for k in 0..figs.len() {
        let (n, sum, max) = l1ipi::latency(k);
        if let Some(mean) = sum.checked_div(n) {
            println!(
                "VMM-STAT vcpu_kick_latency {k} n {n} mean_us {} max_us {}",
                mean / t.tpu.max(1),
                max / t.tpu.max(1)
            );
            if let Some(f) = figs.get(k) {
                println!(
                    "VMM-STAT vcpu_wake_to_delivery {k} n {} mean_us {}",
                    f.wake_deliveries,
                    f.wake_delivery_ticks
                        .checked_div(f.wake_deliveries)
                        .unwrap_or(0)
                        / t.tpu.max(1)
                );
            }
            let [cn, cs, en, es] = l1ipi::noticed_latency(k);
            println!(
                "VMM-STAT vcpu_kick_noticed {k} by_cede n {cn} mean_us {} by_exit n {en} mean_us {}",
                cs.checked_div(cn).unwrap_or(0) / t.tpu.max(1),
                es.checked_div(en).unwrap_or(0) / t.tpu.max(1)
            );
        }
    }
    let wall = t.t_end.wrapping_sub(t.t_run);
    println!("VMM-STAT run_sum_ms {}", ms(run_sum));
    println!("VMM-STAT run_wall_ms {}", ms(wall));
    println!("VMM-STAT run_overlap_ms {}", ms(overlap.ticks()));
    println!("VMM-STAT run_overlap_us {}", overlap.ticks() / t.tpu.max(1));
    println!("VMM-STAT l1_cpus {}", figs.len());
}
