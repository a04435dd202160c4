//! Runs the L2's vCPUs on the boot L1 CPU, round-robin, with a [`Board`] as their platform.
//!
//! The board says which vCPU may run ([`Board::next`], [`Board::dispatch`]); this module
//! runs it for one *slice*, which ends when
//! * the vCPU gives the L1 CPU back (`H_CEDE` with nothing to wake it, `H_CONFER`,
//!   `stop-self`: the handler answers [`Action::Stop`](papr_nestedv2::Action::Stop)) or the
//!   L2 ends, or
//! * another vCPU is runnable and the slice has lasted [`Slices::shared`]
//!   (`vmm.share_ms`). `Vcpu::run_loop` handles HDEC exits itself, so a vCPU spinning
//!   without an hcall (Linux's boot CPU waiting in `__cpu_up`, a sender of
//!   `smp_call_function` waiting for the target) would keep the CPU: the slice loop here
//!   is `run_loop`'s, with the end of the slice as the vCPU's run deadline (the HDEC of
//!   its runs ends by it) while another vCPU waits. Without a deadline an L2 that exits
//!   often would keep the CPU: the HDEC expiry the L0 holds is kept across exits only
//!   while half a slice ahead, then moved on; or
//! * right after an `H_IPI` that made another vCPU runnable: its sender often waits for
//!   the target (`smp_call_function`), and would spin until the end of its slice.
//!
//! While no other vCPU is runnable the HDEC slice is [`Slices::alone`] (`vmm.slice_ms`): a
//! lone vCPU pays few exits. Whether another vCPU waits is asked again after every exit,
//! so a vCPU that sends an IPI to a ceded one gives way when its slice is over.
//!
//! When no vCPU may run, [`Board::idle`] waits on the L1 CPU until the earliest
//! decrementer of a ceded vCPU, or console input.
//!
//! Pending external interrupts (IPIs) are delivered by the VMM before a run ([`irq`]).
//!
//! One L1 CPU runs every vCPU: the vCPUs never run at the same time, and the figures show
//! it (`run_overlap_ms` 0). This is the mode of an L1 with fewer CPUs than the L2 has
//! vCPUs (`-smp 1`, `vmm.cpus=2`); with as many, vCPU k runs on L1 CPU k ([`percpu`](crate::percpu)).

use crate::env::BareMetal;
use crate::irq::{self, Delivery};
use crate::l2::L2Vcpu;
use papr_baremetal::boot;
use papr_nestedv2::{Exit, ExitKind};
use papr_platform::hcall::H_IPI;
use papr_platform::{Board, CpuState, Idled};

/// What the scheduler counted for one vCPU.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VcpuFigures {
    /// Slices the vCPU was dispatched for.
    pub slices: u64,
    /// Slices that ended on HDEC with another vCPU runnable.
    pub preempted: u64,
    /// Slices that ended with the vCPU giving the CPU back (cede, confer, stop-self).
    pub yielded: u64,
    /// Runs with the short slice ([`Config::share_ms`](crate::config::Config::share_ms)).
    pub shared_runs: u64,
    /// Slices that ended ceded with a deadline, and the longest deadline asked (ticks).
    pub cedes: u64,
    /// The longest cede deadline, ticks from the cede.
    pub max_cede_ticks: u64,
    /// The longest time off the L1 CPU between two slices (ticks).
    pub max_off_ticks: u64,
    /// Slices ended right after an `H_IPI` that made another vCPU runnable.
    pub ipi_yields: u64,
    /// External interrupts the VMM delivered ([`irq`]).
    pub irqs: u64,
    /// Runs with an interrupt presented but MSR\[EE\] = 0.
    pub masked: u64,
    /// Timebase at the end of the last slice.
    last_end: u64,
}

/// What the scheduler counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Figures {
    /// Per vCPU, by index.
    pub vcpus: alloc::vec::Vec<VcpuFigures>,
    /// Times the L1 CPU went from one vCPU to another.
    pub switches: u64,
    /// Times the L1 CPU idled with no vCPU runnable.
    pub idles: u64,
    /// The longest idle (ticks).
    pub max_idle_ticks: u64,
}

/// The two HDEC slices, in timebase ticks.
#[derive(Debug, Clone, Copy)]
pub struct Slices {
    /// While no other vCPU is runnable.
    pub alone: u64,
    /// While another vCPU is runnable.
    pub shared: u64,
    /// Timebase ticks per millisecond (for `VMM-TRACE` lines).
    pub ticks_per_ms: u64,
}

/// How a slice ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SliceEnd {
    /// HDEC with another vCPU runnable.
    Preempted,
    /// The handler answered `Action::Stop`.
    Stopped,
}

/// Whether a vCPU other than `me` may run at `now`.
fn other_runnable(board: &Board<BareMetal>, me: u64, n: u64, now: u64) -> bool {
    (0..n).any(|k| k != me && board.runnable(k, now))
}

/// One slice of `vcpu` (dispatched by the board).
fn run_slice(
    vcpu: &mut L2Vcpu<'_, '_>,
    board: &Board<BareMetal>,
    n: u64,
    slices: Slices,
    fig: &mut VcpuFigures,
) -> Result<SliceEnd, papr_nestedv2::Error> {
    let me = vcpu.id().0;
    let mut handler = board.handler();
    let start = boot::timebase();
    let end = start.wrapping_add(slices.shared);
    vcpu.set_time_slice(slices.alone);
    loop {
        let now = boot::timebase();
        let shared = n > 1 && other_runnable(board, me, n, now);
        let mut deadline = None;
        if shared {
            // The slice ends `shared` ticks after it began, however the L2 exits: an HDEC
            // expiry the L0 keeps would move on with every exit of an L2 exiting often.
            if (end.wrapping_sub(now) as i64) <= 0 {
                vcpu.set_deadline(None);
                return Ok(SliceEnd::Preempted);
            }
            fig.shared_runs += 1;
            deadline = Some(end);
        }
        if board.with(|p| p.external_pending(me)) {
            match irq::deliver_external(vcpu)? {
                Delivery::Delivered => fig.irqs += 1,
                Delivery::Masked => {
                    // Look again soon: the L2 may enable MSR[EE] without an exit.
                    let soon = now.wrapping_add(slices.shared);
                    deadline = Some(deadline.map_or(soon, |d: u64| d.min(soon)));
                    fig.masked += 1;
                }
            }
        }
        vcpu.set_deadline(deadline);
        let exit = match vcpu.run() {
            Ok(exit) => exit,
            Err(papr_nestedv2::Error::DeadlinePassed { .. }) => {
                vcpu.set_deadline(None);
                if shared {
                    return Ok(SliceEnd::Preempted);
                }
                continue;
            }
            Err(e) => return Err(e),
        };
        if vcpu.handle_internal(&exit)? {
            continue;
        }
        let action = papr_nestedv2::ExitHandler::handle(&mut handler, &exit, vcpu);
        if !vcpu.apply(action)? {
            return Ok(SliceEnd::Stopped);
        }
        // An IPI's sender often waits for the target (`smp_call_function`): on one L1 CPU
        // it would spin until its slice ends. Give the target the CPU now.
        if let Exit::Hcall { nr: H_IPI, .. } = exit {
            if other_runnable(board, me, n, boot::timebase()) {
                fig.ipi_yields += 1;
                return Ok(SliceEnd::Preempted);
            }
        }
    }
}

/// Runs the vCPUs round-robin until the L2 ends ([`Board::outcome`]).
///
/// # Errors
/// A message naming the vCPU and what failed: a run, a dispatch, or a board on which no
/// vCPU can run and none will wake.
pub fn round_robin(
    vcpus: &mut [L2Vcpu<'_, '_>],
    board: &Board<BareMetal>,
    slices: Slices,
    trace_ticks: u64,
) -> Result<Figures, alloc::string::String> {
    use alloc::format;
    let n = vcpus.len() as u64;
    let mut figs = Figures {
        vcpus: alloc::vec![VcpuFigures::default(); vcpus.len()],
        ..Figures::default()
    };
    let mut cur = 0u64;
    let mut next_trace = boot::timebase().wrapping_add(trace_ticks);
    while board.outcome().is_none() {
        let now = boot::timebase();
        if trace_ticks > 0 && (now.wrapping_sub(next_trace) as i64) >= 0 {
            next_trace = now.wrapping_add(trace_ticks);
            let tpms = slices.ticks_per_ms.max(1);
            for (k, f) in figs.vcpus.iter().enumerate() {
                papr_baremetal::println!(
                    "VMM-TRACE tb {now} vcpu {k} {:?} slices {} preempted {} yielded {} cedes {} max_cede_ms {} max_off_ms {} idles {} max_idle_ms {}",
                    board.cpu_state(k as u64),
                    f.slices,
                    f.preempted,
                    f.yielded,
                    f.cedes,
                    f.max_cede_ticks / tpms,
                    f.max_off_ticks / tpms,
                    figs.idles,
                    figs.max_idle_ticks / tpms
                );
            }
        }
        let Some(next) = board.next(cur, now) else {
            let mut clock = boot::timebase;
            let mut spin = |_| {
                core::hint::spin_loop();
                false
            };
            let idled = board.idle(None, slices.ticks_per_ms, &mut clock, &mut spin);
            if idled == Idled::Woken {
                let d = boot::timebase().wrapping_sub(now);
                figs.idles += 1;
                figs.max_idle_ticks = figs.max_idle_ticks.max(d);
                board.with(|p| p.env_mut().idle_ticks += d);
            } else if idled == Idled::Never && board.next(cur, boot::timebase()).is_none() {
                return Err(format!(
                    "no vCPU of {n} can run and none will wake (states: {:?})",
                    (0..n)
                        .map(|k| board.cpu_state(k))
                        .collect::<alloc::vec::Vec<_>>()
                ));
            }
            continue;
        };
        if next != cur {
            figs.switches += 1;
        }
        cur = next;
        let (Some(vcpu), Some(fig)) = (
            vcpus.get_mut(cur as usize),
            figs.vcpus.get_mut(cur as usize),
        ) else {
            return Err(format!("the board named vCPU {cur} of {n}"));
        };
        if !board
            .dispatch(vcpu)
            .map_err(|e| format!("dispatching vCPU {cur}: {e}"))?
        {
            continue;
        }
        let start = boot::timebase();
        if fig.slices > 0 {
            fig.max_off_ticks = fig.max_off_ticks.max(start.wrapping_sub(fig.last_end));
        }
        fig.slices += 1;
        match run_slice(vcpu, board, n, slices, fig)
            .map_err(|e| format!("vCPU {cur}: run failed: {e}"))?
        {
            SliceEnd::Preempted => fig.preempted += 1,
            SliceEnd::Stopped => fig.yielded += 1,
        }
        fig.last_end = boot::timebase();
        if let Some(CpuState::Ceded { until: Some(t) }) = board.cpu_state(cur) {
            fig.cedes += 1;
            fig.max_cede_ticks = fig.max_cede_ticks.max(t.saturating_sub(fig.last_end));
        }
    }
    Ok(figs)
}

/// Timebase ticks `vcpu` spent inside `H_GUEST_RUN_VCPU` (over every exit kind).
pub fn run_ticks(vcpu: &L2Vcpu<'_, '_>) -> u64 {
    let s = vcpu.stats();
    ExitKind::ALL.iter().map(|&k| s.run_ticks(k)).sum()
}
