//! The L1 on N CPUs (`-smp N`): secondary CPU threads started through the L0's RTAS, each
//! with its own stack and interrupt stack and a run loop that takes jobs from a per-CPU
//! mailbox, so that the boot CPU can hand a closure to CPU k and wait for its result.
//!
//! * **Discovery**: the device tree's `/cpus` nodes ([`Info::cpus`]): index 0 is the
//!   boot CPU, index k its k-th thread id (`ibm,ppc-interrupt-server#s`), the id RTAS takes and
//!   the thread's PIR.
//! * **Start** ([`start`]): RTAS `query-cpu-stopped-state` (must say 0, stopped), then
//!   `start-cpu(id, __secondary_start, r3 = the CPU's start block)`. The new thread enters
//!   like the boot CPU (an endian flip, 64-bit mode with FP/VMX/VSX, see [`boot`]), loads r1
//!   from its start block (its own stack), puts the top of its own interrupt stack in SPRG1
//!   (the vectors are shared; their common code takes its stack from SPRG1, which the boot CPU
//!   sets too), sets the TOC and calls the run loop with its index. [`start`] returns when
//!   the thread reports itself idle in its loop.
//! * **Jobs** ([`spawn`], [`scope`], [`run_on`]): the caller posts a closure in CPU k's
//!   mailbox and goes on; the CPU takes it, runs it, and is idle again when it returns.
//!   [`Join::join`] waits for the result. One job at a time per CPU: a long-running job
//!   (a VMM's per-CPU vCPU loop) keeps its CPU for as long as it runs. [`spawn`] takes
//!   `'static` closures; [`scope`] lets jobs borrow from the caller and waits for all of
//!   them before it returns; [`run_on`] is a one-job scope that waits for the result.
//! * **Stop** ([`stop`]): the CPU leaves its loop through RTAS `stop-self`; [`start`] can
//!   start it again (its stacks are kept).
//!
//! **Why polling, not IPIs.** The L1 runs with MSR\[EE\] = 0 and every vector is fatal
//! ([`boot`]): an IPI (`H_IPI` through the L0's XICS/XIVE) needs external-interrupt
//! delivery, an interrupt-controller driver (`H_XIRR`/`H_EOI`, or XIVE's queues, which differ
//! per machine) and re-entrant handlers. A CPU of a VMM L1 spends its time inside
//! `H_GUEST_RUN_VCPU` or waiting for the next vCPU to run, so a mailbox it polls between jobs
//! costs nothing the CPU had other use for, needs no interrupt state, and hands a job over
//! in the time of one cache-line transfer. The cost is a host thread kept busy while a
//! secondary idles (QEMU TCG: one host CPU per spinning vCPU): [`stop`] idle CPUs. (A
//! VMM whose job runs an L2 vCPU still needs to end that CPU's `H_GUEST_RUN_VCPU` from
//! another CPU: that is an L1 IPI the VMM sends and acknowledges itself, with MSR\[EE\]
//! still 0 — the L0 ends the run with an external exit; see `examples/pseries-vmm`.)
//!
//! ```ignore
//! // Builds for powerpc64 only (bare metal), so not as a host doc test.
//! use papr_baremetal::smp;
//! let started = smp::start(&info, 1, 1_000_000)?; // RTAS start-cpu, CPU 1 online
//! let words = [1u64, 2, 3];
//! let (sum, pir) = smp::run_on(&info, 1, 1_000_000, || (words.iter().sum::<u64>(), smp::pir()))?;
//! assert_eq!((sum, pir), (6, started.id));
//! // Both CPUs at once: CPU 1 sums while CPU 0 does too.
//! let (a, b) = smp::scope(|s| -> Result<_, papr_baremetal::Error> {
//!     let j = s.spawn(&info, 1, || words.iter().sum::<u64>())?;
//!     let mine = words.iter().product::<u64>();
//!     Ok((j.join()?, mine))
//! })?;
//! assert_eq!((a, b), (6, 6));
//! smp::stop(&info, 1, 1_000_000)?; // RTAS stop-self on CPU 1
//! ```
//!
//! The heap ([`heap`](crate::heap), `linked_list_allocator`'s `LockedHeap`) takes a spinlock
//! (`spinning_top`, acquire/release atomics): safe from every CPU, and with MSR\[EE\] = 0 no
//! interrupt can re-enter it. Console output (`println!`) is not serialised between CPUs:
//! lines from two CPUs may interleave.

use crate::dt::{Info, MAX_CPUS};
use crate::{boot, rtas, Error};
use alloc::alloc::{alloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use spinning_top::Spinlock;

mod jobs;
pub use jobs::{run_on, scope, spawn, Join, Scope};

/// Bytes of each secondary CPU's stack.
pub const STACK_BYTES: usize = 64 << 10;
/// Bytes of each secondary CPU's interrupt stack.
pub const INTERRUPT_STACK_BYTES: usize = 16 << 10;

/// The CPU is not running this crate's code (never started, or stopped).
const OFFLINE: u32 = 0;
/// `start-cpu` was called; the CPU has not reached its loop yet.
const STARTING: u32 = 1;
/// In its loop, waiting for a job.
const IDLE: u32 = 2;
/// A caller is writing a job into the mailbox.
const POSTING: u32 = 3;
/// A job waits in the mailbox.
const POSTED: u32 = 4;
/// The CPU took the job and runs it (back to [`IDLE`] when it returns).
const RUNNING: u32 = 5;
/// The CPU is asked to stop.
const STOP: u32 = 6;

/// What the secondary entry reads in r3 (its layout is the asm's: do not reorder).
#[repr(C)]
struct StartBlock {
    /// Top of the CPU's stack (16-byte aligned).
    stack_top: u64,
    /// Top of its interrupt stack (into SPRG1).
    interrupt_stack_top: u64,
    /// Its index in [`Info::cpus`].
    index: u64,
}

/// A posted job: its sequence number (for [`jobs`]' withdrawal) and the closure, which
/// stores its own result ([`jobs`] erases the scope's lifetime; see there).
struct Posted {
    seq: u64,
    call: alloc::boxed::Box<dyn FnOnce() + Send + 'static>,
}

/// One CPU's mailbox and start state.
struct Slot {
    state: AtomicU32,
    /// The thread id, written by [`start`] (the CPU reports its PIR in [`Slot::pir`]).
    id: AtomicU32,
    /// The PIR the CPU read when it entered its loop.
    pir: AtomicU32,
    /// Timebase when the CPU entered its loop.
    online_tb: AtomicU64,
    /// The mailbox. [`POSTED`] is entered and left only with this lock held.
    job: Spinlock<Option<Posted>>,
    block: UnsafeCell<StartBlock>,
}

// SAFETY: `block` is written only by `start` while the CPU is OFFLINE (before `start-cpu`,
// which the CPU reads it after), and read by that CPU only at entry; everything else is
// atomics or behind the spinlock.
unsafe impl Sync for Slot {}

#[allow(clippy::declare_interior_mutable_const)]
const SLOT: Slot = Slot {
    state: AtomicU32::new(OFFLINE),
    id: AtomicU32::new(0),
    pir: AtomicU32::new(0),
    online_tb: AtomicU64::new(0),
    job: Spinlock::new(None),
    block: UnsafeCell::new(StartBlock {
        stack_top: 0,
        interrupt_stack_top: 0,
        index: 0,
    }),
};

static SLOTS: [Slot; MAX_CPUS] = [SLOT; MAX_CPUS];
/// RTAS token of `stop-self`, for the CPUs' loops.
static STOP_SELF: AtomicU32 = AtomicU32::new(0);

extern "C" {
    /// The secondary CPUs' entry (boot.rs asm): `start-cpu`'s start address.
    fn __secondary_start();
}

/// What [`start`] saw and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    /// The CPU thread id (RTAS and PIR).
    pub id: u32,
    /// `query-cpu-stopped-state` before the start: 0 (stopped).
    pub state_before: u32,
    /// `start-cpu`'s RTAS status: 0.
    pub status: i32,
    /// The PIR the CPU read when it reached its loop.
    pub pir: u32,
    /// Timebase ticks from `start-cpu` to the CPU reporting itself idle.
    pub ticks_to_online: u64,
}

/// This CPU's Processor Identification Register (SPR 1023): its thread id.
pub fn pir() -> u32 {
    let v: u64;
    // SAFETY: `mfspr` of PIR only reads a register (supervisor-readable).
    unsafe {
        core::arch::asm!("mfspr {0}, 1023", out(reg) v, options(nomem, nostack, preserves_flags))
    };
    v as u32
}

fn slot(info: &Info, index: usize) -> Result<(&'static Slot, u32), Error> {
    let count = info.cpus.len();
    match (index, info.cpus.id(index), SLOTS.get(index)) {
        (1.., Some(id), Some(s)) => Ok((s, id)),
        _ => Err(Error::NoSuchCpu { index, count }),
    }
}

/// RTAS `query-cpu-stopped-state` for CPU `index` of `info`: 0 stopped, 1 stopping, 2
/// running (PAPR).
///
/// # Errors
/// [`Error::NoSuchCpu`], RTAS errors ([`rtas::call`]), [`Error::RtasStatus`].
pub fn stopped_state(info: &Info, index: usize) -> Result<u32, Error> {
    let (_, id) = slot(info, index)?;
    let token = info.query_cpu_stopped_state.ok_or(Error::RtasNoToken)?;
    let mut rets = [0u32; 2];
    rtas::call(token, &[id], &mut rets)?;
    match rets[0] as i32 {
        0 => Ok(rets[1]),
        status => Err(Error::RtasStatus {
            call: "query-cpu-stopped-state",
            id,
            status,
        }),
    }
}

/// Starts CPU `index` of `info` (1 ≤ index < `info.cpus.len()`) through RTAS `start-cpu`
/// and waits up to `timeout_us` (timebase at `info.ticks_per_us`) for it to reach its run
/// loop. Its stacks come from the heap (kept when it is stopped and started again).
///
/// # Errors
/// [`Error::NoSuchCpu`]; [`Error::CpuNotIdle`] when it already runs; RTAS errors;
/// [`Error::CpuNotStopped`] when the L0 does not report it stopped; [`Error::NoStack`];
/// [`Error::RtasStatus`] when `start-cpu` fails; [`Error::CpuNotOnline`] when it does not
/// report in time.
pub fn start(info: &Info, index: usize, timeout_us: u64) -> Result<Started, Error> {
    let (s, id) = slot(info, index)?;
    let state = s.state.load(Ordering::Acquire);
    if state != OFFLINE {
        return Err(Error::CpuNotIdle { index, state });
    }
    let state_before = stopped_state(info, index)?;
    if state_before != 0 {
        return Err(Error::CpuNotStopped {
            id,
            state: state_before,
        });
    }
    let token = info.start_cpu.ok_or(Error::RtasNoToken)?;
    STOP_SELF.store(info.stop_self.unwrap_or(0), Ordering::Relaxed);
    let block = s.block.get();
    // SAFETY: the CPU is OFFLINE (checked above) and stopped (the L0 says so): nothing reads
    // or writes its block until `start-cpu` below.
    let b = unsafe { &mut *block };
    if b.stack_top == 0 {
        b.stack_top = stack(STACK_BYTES)?;
        b.interrupt_stack_top = stack(INTERRUPT_STACK_BYTES)?;
    }
    b.index = index as u64;
    s.id.store(id, Ordering::Relaxed);
    s.state.store(STARTING, Ordering::Release);
    // The start block's real address in r3 (identity mapping, below 4 GiB: this image's
    // `.bss`).
    let r3 = u32::try_from(block as usize).unwrap_or(0);
    let entry = u32::try_from(__secondary_start as *const () as usize).unwrap_or(0);
    let mut status = [0u32];
    let t0 = boot::timebase();
    let sent = rtas::call(token, &[id, entry, r3], &mut status);
    let status = status[0] as i32;
    if let Err(e) = sent {
        s.state.store(OFFLINE, Ordering::Release);
        return Err(e);
    }
    if status != 0 {
        s.state.store(OFFLINE, Ordering::Release);
        return Err(Error::RtasStatus {
            call: "start-cpu",
            id,
            status,
        });
    }
    let limit = timeout_us.saturating_mul(info.ticks_per_us);
    while s.state.load(Ordering::Acquire) == STARTING {
        if boot::timebase().wrapping_sub(t0) > limit {
            return Err(Error::CpuNotOnline {
                index,
                id,
                waited_us: timeout_us,
            });
        }
        core::hint::spin_loop();
    }
    Ok(Started {
        id,
        state_before,
        status,
        pir: s.pir.load(Ordering::Relaxed),
        ticks_to_online: s.online_tb.load(Ordering::Relaxed).wrapping_sub(t0),
    })
}

/// The top of `bytes` of fresh heap (16-byte aligned), never freed.
fn stack(bytes: usize) -> Result<u64, Error> {
    let layout = Layout::from_size_align(bytes, 16).map_err(|_| Error::NoStack { bytes })?;
    // SAFETY: the layout has a non-zero size (both stack sizes are constants > 0).
    let p = unsafe { alloc(layout) };
    if p.is_null() {
        return Err(Error::NoStack { bytes });
    }
    Ok(p as u64 + bytes as u64)
}

/// Asks CPU `index` to leave its loop through RTAS `stop-self` and waits up to
/// `timeout_us` for the L0 to report it stopped (`query-cpu-stopped-state` = 0). Returns
/// that state.
///
/// # Errors
/// [`Error::NoSuchCpu`]; [`Error::CpuNotIdle`] when it is not idle; RTAS errors;
/// [`Error::CpuNotOnline`] when the L0 still reports it running after `timeout_us`.
pub fn stop(info: &Info, index: usize, timeout_us: u64) -> Result<u32, Error> {
    let (s, id) = slot(info, index)?;
    if let Err(state) = s
        .state
        .compare_exchange(IDLE, STOP, Ordering::AcqRel, Ordering::Acquire)
    {
        return Err(Error::CpuNotIdle { index, state });
    }
    let t0 = boot::timebase();
    let limit = timeout_us.saturating_mul(info.ticks_per_us);
    loop {
        let state = stopped_state(info, index)?;
        if state == 0 && s.state.load(Ordering::Acquire) == OFFLINE {
            return Ok(state);
        }
        if boot::timebase().wrapping_sub(t0) > limit {
            return Err(Error::CpuNotOnline {
                index,
                id,
                waited_us: timeout_us,
            });
        }
        core::hint::spin_loop();
    }
}

/// The secondary CPUs' Rust entry (from `__secondary64` in boot.rs, on the CPU's own stack,
/// SPRG1 = its interrupt stack): the run loop. Never returns.
#[no_mangle]
extern "C" fn l1_secondary(block: *const StartBlock) -> ! {
    // SAFETY: `block` is the start block `start` filled and passed in r3; it lives in a
    // static and is not written while the CPU runs.
    let index = unsafe { (*block).index } as usize;
    let Some(s) = SLOTS.get(index) else {
        crate::rtas::terminate("secondary CPU with a bad index")
    };
    s.pir.store(pir(), Ordering::Relaxed);
    s.online_tb.store(boot::timebase(), Ordering::Relaxed);
    s.state.store(IDLE, Ordering::Release);
    loop {
        match s.state.load(Ordering::Acquire) {
            POSTED => {
                // Taken under the mailbox lock, as a withdrawal would be.
                let taken = {
                    let mut mailbox = s.job.lock();
                    if s.state.load(Ordering::Acquire) == POSTED {
                        s.state.store(RUNNING, Ordering::Release);
                        mailbox.take()
                    } else {
                        None
                    }
                };
                if let Some(p) = taken {
                    (p.call)();
                    s.state.store(IDLE, Ordering::Release);
                }
            }
            STOP => {
                s.state.store(OFFLINE, Ordering::Release);
                let mut status = [0u32];
                // Does not return when the L0 stops the thread; the next `start` enters
                // at `__secondary_start` again.
                let _ = rtas::call(STOP_SELF.load(Ordering::Relaxed), &[], &mut status);
                // It returned: back to the loop, still reachable.
                s.state.store(IDLE, Ordering::Release);
            }
            _ => core::hint::spin_loop(),
        }
    }
}
