//! The crate's one error type.

use papr_gsb::{GsbError, GuestStateId};
use papr_hcall::HcallError;

/// What went wrong reading, writing, flushing or refreshing a [`VcpuState`](crate::VcpuState).
///
/// Every variant names the id involved and, for buffers, the element's index and byte
/// offset. Whenever one is returned, the cache is exactly as it was before the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// The id is not one the cache holds (meta ids, host counters, partition/process
    /// table, sizes, undefined ids; see [`sets::CACHED`](crate::sets::CACHED)).
    #[error("{id} is not held by the vCPU state cache")]
    NotCached {
        /// The id.
        id: GuestStateId,
    },
    /// A write of a read-only id (HDAR, HDSISR, HEIR, ASDR).
    #[error("{id} is read-only: only the L0 writes it")]
    ReadOnly {
        /// The id.
        id: GuestStateId,
    },
    /// A value wider than the id's register.
    #[error("{id}: value {value:#x} does not fit the register")]
    ValueTooWide {
        /// The id.
        id: GuestStateId,
        /// The value given.
        value: u128,
    },
    /// A register number out of range for an indexed accessor (`gpr(32)`, `vsr(64)`).
    #[error("no {class} register number {n}")]
    NoSuchRegister {
        /// `"GPR"` or `"VSR"`.
        class: &'static str,
        /// The number given.
        n: u8,
    },
    /// The run input buffer cannot hold the dirty registers; nothing was flushed.
    #[error("run input buffer of {capacity} bytes cannot hold the {needed} bytes of dirty state (first id {id})")]
    InputTooSmall {
        /// First dirty id.
        id: GuestStateId,
        /// Bytes the dirty state needs, header included.
        needed: usize,
        /// Size of the buffer given.
        capacity: usize,
    },
    /// The run output buffer is malformed (bad count, truncated element, unknown id, wrong
    /// size, duplicate, guest-wide id); the inner error names the element and offset.
    #[error("malformed run output buffer: {0}")]
    Output(#[source] GsbError),
    /// The run output buffer's element count is larger than the number of registers an
    /// exit can carry (each thread-wide register once): a corrupt count, or a header the L0
    /// did not write (an L1 that poisons the buffer with 0xFF bytes before the run reads
    /// back 0xFFFFFFFF, or 0x0000FFFF if only two bytes were written).
    #[error("run output element count {count} is more than the {max} registers an exit can carry")]
    OutputCount {
        /// The count read.
        count: u32,
        /// [`MAX_OUTPUT_ELEMENTS`](crate::MAX_OUTPUT_ELEMENTS).
        max: u32,
    },
    /// The run output buffer carries an id that is not a thread-wide register: a BLANK
    /// (0x0000) element, which an L0 never sends for an exit (a count that runs past what
    /// the L0 wrote, over a zeroed tail), or RUN_INPUT, RUN_OUTPUT, VPA.
    #[error("run output element {index} at offset {offset}: {id} is not a register")]
    UnexpectedOutputId {
        /// Index of the element.
        index: u32,
        /// Offset of its header.
        offset: usize,
        /// The id.
        id: GuestStateId,
    },
    /// The L0's answer to a reload GET is malformed.
    #[error("malformed H_GUEST_GET_STATE answer: {0}")]
    Answer(#[source] GsbError),
    /// The L0's answer to a reload GET lacks an id that was asked for, or holds one that
    /// was not.
    #[error("H_GUEST_GET_STATE answer {problem} {id}")]
    AnswerMismatch {
        /// The id.
        id: GuestStateId,
        /// `"lacks"` or `"holds the unrequested"`.
        problem: &'static str,
    },
    /// The reload or guest-wide SET hcall failed.
    #[error(transparent)]
    Hcall(#[from] HcallError),
}
