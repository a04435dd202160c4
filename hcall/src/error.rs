//! The crate's one error type.

use crate::memory::MemoryError;
use crate::rc::ReturnCode;
use papr_gsb::{GsbError, GuestStateId};

/// Why a request was refused before it reached the L0.
///
/// These are the requests that make QEMU's L0 abort the whole machine (see
/// `qemu-pseries.md`), refused under the active [`Profile`](crate::Profile).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// vCPUs must be created densely in order (QEMU asserts `id == count`).
    #[error("vCPU {vcpu} of guest {guest} created out of order: the next id is {next}")]
    VcpuOutOfOrder {
        /// Guest id.
        guest: u64,
        /// vCPU id asked for.
        vcpu: u64,
        /// The id that must come next.
        next: u64,
    },
    /// A thread-wide request (or RUN) names a vCPU that was never created.
    #[error("vCPU {vcpu} of guest {guest} does not exist ({created} created)")]
    NoSuchVcpu {
        /// Guest id.
        guest: u64,
        /// vCPU id.
        vcpu: u64,
        /// vCPUs created so far.
        created: u64,
    },
    /// A thread-wide request on a guest this API did not create (its vCPUs are unknown).
    #[error(
        "guest {guest} was not created through this API (or was deleted): its vCPUs are unknown"
    )]
    UnknownGuest {
        /// Guest id.
        guest: u64,
    },
    /// GET_STATE of an id QEMU only lets the L1 set (0x0005, 0x0006, 0x0C00, 0x0C01).
    #[error("{id} can only be set, never read back from this L0")]
    GetOfSetOnlyId {
        /// The id.
        id: GuestStateId,
    },
    /// Partition table EA bits other than 52.
    #[error("partition table with {ea_bits} effective-address bits: the L0 requires 52")]
    PartitionTableEaBits {
        /// Value given.
        ea_bits: u64,
    },
    /// Process table size other than 4 KiB or 16 MiB.
    #[error("process table of {size} bytes: the L0 accepts 4096 or 16777216 only")]
    ProcessTableSize {
        /// Value given.
        size: u64,
    },
    /// Run buffer outside 0x80..=16384 bytes, or at address 0.
    #[error(
        "{id} at {address:#x} of {size} bytes: needs a non-zero address and 128..=16384 bytes"
    )]
    RunBuffer {
        /// RUN_INPUT or RUN_OUTPUT.
        id: GuestStateId,
        /// Address given.
        address: u64,
        /// Size given.
        size: u64,
    },
    /// A GET/SET buffer larger than the L0 accepts (1 MiB on QEMU) or smaller than a header.
    #[error("state buffer of {len} bytes: must be 4..={max} bytes")]
    BufferSize {
        /// Length given.
        len: u64,
        /// Largest accepted.
        max: u64,
    },
    /// `H_GUEST_DELETE` with the delete-all flag (kills QEMU on the next guest lookup).
    #[error("delete-all guests is refused by this profile; delete guests one by one")]
    DeleteAll,
}

/// Everything a typed hcall can fail with.
///
/// Every variant names the hcall; L0 answers keep the raw return code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HcallError {
    /// The L0 answered with an error code.
    #[error("{call} failed: {code}")]
    Failed {
        /// The hcall (`"H_GUEST_CREATE"`).
        call: &'static str,
        /// Its return code.
        code: ReturnCode,
    },
    /// `H_INVALID_ELEMENT_ID/SIZE/VALUE`: r4 names the bad element (its index for GET/SET,
    /// its position in the run input buffer for RUN).
    #[error("{call} failed: {code}, element at position {position}")]
    InvalidElement {
        /// The hcall.
        call: &'static str,
        /// Which of the three codes.
        code: ReturnCode,
        /// r4 as returned.
        position: u64,
    },
    /// Still busy when the retry budget ran out.
    #[error("{call} still busy after {attempts} attempts and {waited_us} µs of waiting (last answer {last})")]
    Timeout {
        /// The hcall.
        call: &'static str,
        /// Calls made.
        attempts: u32,
        /// Time waited in long-busy delays.
        waited_us: u64,
        /// The last busy code.
        last: ReturnCode,
    },
    /// Refused client-side: never reached the L0.
    #[error("{call} refused before reaching the L0: {reason}")]
    Refused {
        /// The hcall.
        call: &'static str,
        /// Why.
        reason: Refusal,
    },
    /// A request or answer buffer is malformed.
    #[error("{call}: bad guest state buffer: {source}")]
    Buffer {
        /// The hcall.
        call: &'static str,
        /// What was wrong.
        source: GsbError,
    },
    /// An element would hand the L0 an L1 range outside the [`RealMemory`](crate::RealMemory)
    /// backend (run buffers, VPA, partition-table root): refused, since the L0 writes there
    /// and only that memory is this API's to give.
    #[error("{call}: {id} names L1 real range {addr:#x}+{len:#x}, outside L1 memory")]
    OutsideMemory {
        /// The hcall.
        call: &'static str,
        /// The element.
        id: GuestStateId,
        /// Start of the range.
        addr: u64,
        /// Its length.
        len: u64,
    },
    /// L1 memory could not be read or written.
    #[error("{call}: {source}")]
    Memory {
        /// The hcall.
        call: &'static str,
        /// What failed.
        source: MemoryError,
    },
    /// The L0 and the L1 have no processor mode in common.
    #[error("no common processor mode: the L0 offers {offered:#018x}, this L1 supports {supported:#018x}")]
    NoCommonMode {
        /// Capabilities the L0 offered.
        offered: u64,
        /// Capabilities this L1 supports.
        supported: u64,
    },
    /// The L0 answered something impossible (a hostile or broken L0).
    #[error("{call}: the L0 answered {what} = {value:#x}")]
    BadAnswer {
        /// The hcall.
        call: &'static str,
        /// What was wrong.
        what: &'static str,
        /// The value received.
        value: u64,
    },
    /// An argument outside what the call can carry.
    #[error("{call}: {what} = {value:#x} is not allowed")]
    BadArgument {
        /// The hcall.
        call: &'static str,
        /// Which argument.
        what: &'static str,
        /// Its value.
        value: u64,
    },
}

impl HcallError {
    /// The return code the L0 gave, if the error came from the L0.
    pub fn return_code(&self) -> Option<ReturnCode> {
        match self {
            HcallError::Failed { code, .. } | HcallError::InvalidElement { code, .. } => {
                Some(*code)
            }
            HcallError::Timeout { last, .. } => Some(*last),
            _ => None,
        }
    }
}
