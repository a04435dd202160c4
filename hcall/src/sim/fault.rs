//! Faults: the ones a test injects ([`Injection`]) and the ones QEMU would have died of
//! ([`WouldAbort`]).

use papr_gsb::GuestStateId;

/// What [`SoftL0`](super::SoftL0) answers instead of aborting the machine (QEMU would
/// assert, crash or hang): `H_HARDWARE`.
pub const WOULD_ABORT_RC: i64 = -1;

/// What an injected fault does to the call it matches.
///
/// ```
/// use papr_hcall::sim::Injection;
/// let storm = Injection::Busy { rc: 1, count: 3 };
/// assert_ne!(storm, Injection::Fail { rc: -9, r4: 0 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injection {
    /// The call is not executed; it answers `rc` with r4 = `r4`.
    Fail {
        /// r3.
        rc: i64,
        /// r4.
        r4: u64,
    },
    /// This occurrence and the next `count − 1` of the same opcode answer `rc` (H_BUSY or an
    /// H_LONG_BUSY_* code) without being executed; the one after runs normally.
    /// `H_GUEST_CREATE` answers carry a continue token in r4, which the next call may pass.
    Busy {
        /// The busy code.
        rc: i64,
        /// Length of the storm.
        count: u64,
    },
    /// The call executes, but of the buffer the L0 writes back (the run output buffer, or a
    /// GET_STATE answer) only the first `keep` bytes reach L1 memory.
    TruncateOutput {
        /// Bytes written.
        keep: usize,
    },
    /// The call executes, then byte `offset` of the buffer it wrote is XORed with `xor`.
    CorruptOutput {
        /// Byte offset in the written buffer.
        offset: usize,
        /// XOR mask.
        xor: u8,
    },
}

/// One armed injection: `injection` at the `nth` call (1-based) of `opcode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Armed {
    pub opcode: u64,
    pub nth: u64,
    pub injection: Injection,
}

impl Armed {
    /// Whether the `n`-th call (1-based) of `opcode` is affected.
    pub fn matches(&self, opcode: u64, n: u64) -> bool {
        if opcode != self.opcode {
            return false;
        }
        match self.injection {
            Injection::Busy { count, .. } => n >= self.nth && n - self.nth < count,
            _ => n == self.nth,
        }
    }
}

/// A request that would have killed QEMU's L0 (or hung the L1 for good). [`SoftL0`]
/// answers it with [`WOULD_ABORT_RC`], applies nothing, and records it; tests assert that
/// [`SoftL0::would_abort`] stays empty.
///
/// [`SoftL0`]: super::SoftL0
/// [`SoftL0::would_abort`]: super::SoftL0::would_abort
///
/// ```
/// use papr_hcall::sim::WouldAbort;
/// let a = WouldAbort::PartitionTableEaBits { guest: 1, ea_bits: 48 };
/// assert!(format!("{a:?}").contains("48"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WouldAbort {
    /// GSID 0x0005 with EA bits other than 52 (`assert(rts == 52)`).
    PartitionTableEaBits {
        /// Guest.
        guest: u64,
        /// EA bits sent.
        ea_bits: u64,
    },
    /// GSID 0x0006 with a size other than 4 KiB or 16 MiB (`g_assert_not_reached`).
    ProcessTableSize {
        /// Guest.
        guest: u64,
        /// Size sent.
        size: u64,
    },
    /// GET_STATE of a set-only id (0x0005, 0x0006, 0x0C00, 0x0C01: `assert(set)`).
    GetOfSetOnlyId {
        /// Guest.
        guest: u64,
        /// The id.
        id: GuestStateId,
    },
    /// CREATE_VCPU of an id above the next one in order (`assert(vcpuid == nr_vcpus)`).
    VcpuOutOfOrder {
        /// Guest.
        guest: u64,
        /// vCPU id asked for.
        vcpu: u64,
        /// The next id in order.
        next: u64,
    },
    /// Thread-wide GET/SET (or a GET of 0x0002) naming a vCPU that does not exist.
    NoSuchVcpu {
        /// The opcode.
        opcode: u64,
        /// Guest.
        guest: u64,
        /// vCPU.
        vcpu: u64,
    },
    /// A run buffer (0x0C00/0x0C01) with address 0 or size outside 0x80..=16384.
    RunBuffer {
        /// Guest.
        guest: u64,
        /// vCPU.
        vcpu: u64,
        /// 0x0C00 or 0x0C01.
        id: GuestStateId,
        /// Address sent.
        address: u64,
        /// Size sent.
        size: u64,
    },
    /// A GET/SET buffer longer than 1 MiB or shorter than 4 bytes.
    StateBufferSize {
        /// The opcode.
        opcode: u64,
        /// Length passed in r8.
        len: u64,
    },
    /// A guest lookup after `H_GUEST_DELETE` with the delete-all flag (QEMU: SIGFPE).
    LookupAfterDeleteAll {
        /// The opcode.
        opcode: u64,
    },
    /// The L2 would never exit: it waits for an HDEC whose expiry is not in the future and
    /// the previous run did not leave the HDEC positive (QEMU's HDEC is edge-triggered).
    L2NeverExits {
        /// Guest.
        guest: u64,
        /// vCPU.
        vcpu: u64,
        /// HDEC_EXPIRY_TB at the time.
        hdec_expiry: u64,
        /// The virtual timebase.
        timebase: u64,
    },
}
