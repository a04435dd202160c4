//! The crate's one error type.

use crate::exit::ExitKind;
use papr_gsb::{GsbError, GuestStateId};
use papr_hcall::{HcallError, MemoryError};
use papr_mmu_radix::RadixError;
use papr_vcpu_state::StateError;

/// Everything the lifecycle, the run and the run loop can fail with.
///
/// Errors from the crates below are wrapped unchanged, so the hcall, return code, GSB
/// element or table entry at fault stays visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An hcall failed, or was refused before it reached the L0.
    #[error(transparent)]
    Hcall(HcallError),
    /// The vCPU state cache refused a value or an L0 buffer (the cache is unchanged).
    #[error(transparent)]
    State(StateError),
    /// The guest's partition-scoped table refused an operation.
    #[error(transparent)]
    Radix(RadixError),
    /// A buffer this crate builds or reads during setup is malformed.
    #[error("guest state buffer: {0}")]
    Gsb(GsbError),
    /// L1 memory (run buffers, L2 RAM) could not be read or written.
    #[error("L1 memory: {0}")]
    Memory(MemoryError),
    /// An MMIO access could not be completed.
    #[error(transparent)]
    Mmio(crate::mmio::MmioError),
    /// The L1 page allocator has no page left for a run buffer or a scratch page.
    #[error("no free L1 page for {what}")]
    OutOfPages {
        /// What the page was for.
        what: &'static str,
    },
    /// The L0 wants a run output buffer larger than this crate allocates (one 4 KiB page).
    #[error("the L0 asks for a run output buffer of {min} bytes; at most {max} are supported")]
    OutputBufferTooLarge {
        /// RUN_OUTPUT_MIN_SIZE as the L0 answered it.
        min: u64,
        /// The largest size supported.
        max: u64,
    },
    /// A run was refused because the caller's deadline (an L1 timebase value) has passed:
    /// no future HDEC expiry could be given.
    #[error("run refused: timebase {now:#x} is past the deadline {deadline:#x}")]
    DeadlinePassed {
        /// Timebase when the run was asked for.
        now: u64,
        /// The deadline.
        deadline: u64,
    },
    /// The run output buffer lacks a register this exit must carry (a hostile or broken
    /// L0); the exit cannot be decoded.
    #[error("exit {trap:#x}: the run output buffer lacks {id}")]
    IncompleteExit {
        /// The trap.
        trap: u64,
        /// The missing register.
        id: GuestStateId,
    },
    /// An L0 answer to a GET this crate made lacks an element it asked for (a hostile or
    /// broken L0), e.g. RUN_OUTPUT_MIN_SIZE when a vCPU is set up.
    #[error("{call}: the L0's answer lacks {id}")]
    MissingElement {
        /// The hcall.
        call: &'static str,
        /// The missing element.
        id: GuestStateId,
    },
    /// [`Vcpu::run_loop`](crate::Vcpu::run_loop) handled this many exits in a row itself
    /// (HDEC, page faults it fixed) without the handler seeing one, and the bound set with
    /// [`Vcpu::set_loop_limit`](crate::Vcpu::set_loop_limit) was reached: an L2 that only
    /// exits by HDEC, or an L0 that keeps faulting. The vCPU is intact: run it again to go
    /// on.
    #[error("run loop bound reached: {exits} exits in a row handled without the handler (last {last:?})")]
    LoopLimit {
        /// Exits handled in a row.
        exits: u64,
        /// The kind of the last one.
        last: ExitKind,
    },
    /// The L0 reported the same page fault (same kind, page and cause) again and again
    /// after [`Vcpu::run_loop`](crate::Vcpu::run_loop) had fixed it: a hostile or broken L0
    /// (bound: [`Vcpu::set_fault_repeat_limit`](crate::Vcpu::set_fault_repeat_limit)).
    #[error(
        "the L0 reported the {kind:?} at gpa {gpa:#x} (cause {cause:#x}) {count} times in a row"
    )]
    RepeatedFault {
        /// [`ExitKind::PageFault`] or [`ExitKind::InstructionFault`].
        kind: ExitKind,
        /// The faulting guest real address.
        gpa: u64,
        /// HDSISR of a page fault (0 for an instruction fault).
        cause: u32,
        /// Times it came in a row.
        count: u32,
    },
    /// A RAM region is empty, misaligned, wraps, or overlaps another.
    #[error("RAM region at gpa {gpa:#x} of {len:#x} bytes: {why}")]
    BadRamRegion {
        /// Its start.
        gpa: u64,
        /// Its length.
        len: u64,
        /// What is wrong.
        why: &'static str,
    },
    /// An access to L2 memory by the L1 (for a handler) is not inside one RAM region.
    #[error("L2 access of {len} bytes at gpa {gpa:#x} is not inside one RAM region")]
    NotRam {
        /// The guest real address.
        gpa: u64,
        /// The length of the access.
        len: u64,
    },
    /// A completion was given for an exit that does not take it (for example MMIO load
    /// data after an hcall exit), or an MMIO exit whose instruction was not decoded.
    #[error("cannot complete: {0}")]
    NothingToComplete(&'static str),
}

/// The conversions `?` makes from the errors of the crates below. Each is `#[cold]` and
/// never inlined: the code that leads only to an error is laid out away from the exit fast
/// path, whose hot blocks then sit on fewer pages (QEMU flushes its TLB and its jump cache on
/// every L1↔L2 switch, so every page boundary the path branches across costs a lookup).
macro_rules! cold_from {
    ($($variant:ident($ty:ty)),* $(,)?) => {$(
        impl From<$ty> for Error {
            #[cold]
            #[inline(never)]
            fn from(e: $ty) -> Self {
                Error::$variant(e)
            }
        }
    )*};
}

cold_from!(
    Hcall(HcallError),
    State(StateError),
    Radix(RadixError),
    Gsb(GsbError),
    Memory(MemoryError),
    Mmio(crate::mmio::MmioError),
);
