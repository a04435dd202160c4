//! The scenario description: what the L2 does ([`L2Op`]) and what the L1 does ([`Step`]).

use alloc::vec::Vec;

/// One action of the L2 program: papr-hcall's [`L2Action`](papr_hcall::script::L2Action),
/// the one definition shared with the software L0. The same list becomes machine code for a
/// real L0 ([`crate::asm`]) and the software L0's script as it is.
pub use papr_hcall::script::L2Action as L2Op;

/// A guest as a step names it: by the slot the scenario created it in, or by a raw id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestRef {
    /// The guest created in this slot (its id stays known after deletion).
    Slot(u8),
    /// A raw guest id (e.g. 0, or one that never existed).
    Id(u64),
}

/// Scope of a GET/SET step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Thread-wide (flags 0).
    Thread,
    /// Guest-wide (flags 0x8000…).
    Guest,
    /// Host-wide (flags 0x4000…).
    Host,
}

/// When the HDEC expires for a run, relative to the L1's timebase at the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hdec {
    /// `now + ticks`.
    Future(u64),
    /// `now - ticks`.
    Past(u64),
    /// An absolute value (0 and `u64::MAX` are "past" for QEMU).
    Absolute(u64),
}

/// 1 s of the 512 MHz timebase: the default slice (never reached by a non-spinning L2).
pub const SECOND: u64 = 512_000_000;
/// 1 ms: the slice for runs that spin until the HDEC.
pub const MILLISECOND: u64 = 512_000;

/// What the L1 does with an exit after a [`Step::Run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handle {
    /// Linux-like: complete hcalls with r3 = 0; map unmapped RAM pages (HDSI/HISI); set
    /// R/C on R/C faults; emulate MMIO loads and stores (`papr_nestedv2::mmio`); skip
    /// illegal instructions.
    Auto,
    /// Nothing: the next run retries the faulting instruction.
    Nothing,
}

/// One step of the L1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Raw `H_GUEST_GET_CAPABILITIES(flags)`.
    GetCaps {
        /// r4.
        flags: u64,
    },
    /// Raw `H_GUEST_SET_CAPABILITIES(0, caps)`.
    SetCaps {
        /// r5.
        caps: u64,
    },
    /// `H_GUEST_CREATE` into `slot` (through `NestedHv`).
    CreateGuest {
        /// Slot.
        slot: u8,
    },
    /// Builds the guest's partition-scoped table and sets PARTITION_TABLE {root, `ea_bits`,
    /// 64 KiB} (guest-wide SET; anything but 52 is refused client-side); adds RAM
    /// `0..0x10000` and maps the code page at 0.
    SetupGuest {
        /// Slot.
        slot: u8,
        /// EA bits sent (52).
        ea_bits: u64,
    },
    /// Guest-wide SET of PROCESS_TABLE {`base`, `size`} (sizes other than 4 KiB and
    /// 16 MiB are refused client-side).
    SetProcessTable {
        /// Slot.
        slot: u8,
        /// Base (guest real).
        base: u64,
        /// Size in bytes.
        size: u64,
    },
    /// Adds L2 RAM `gpa..gpa+len` (backed by fresh zeroed L1 memory), not mapped.
    AddRam {
        /// Slot.
        slot: u8,
        /// Guest real address.
        gpa: u64,
        /// Length.
        len: u64,
    },
    /// `H_GUEST_CREATE_VCPU(slot, vcpu)` (through `NestedHv`).
    CreateVcpu {
        /// Guest.
        guest: GuestRef,
        /// vCPU id.
        vcpu: u64,
    },
    /// Registers 4 KiB run buffers (one thread-wide SET of 0x0C01 + 0x0C00) after a
    /// guest-wide GET of 0x0002; `size` overrides both sizes (refused outside 0x80..=16384).
    SetRunBuffers {
        /// Slot.
        slot: u8,
        /// vCPU.
        vcpu: u64,
        /// Buffer size.
        size: u64,
    },
    /// Gives the vCPU its program at `driver::entry(vcpu)` (0 for vCPU 0, 0x800 for vCPU 1:
    /// the vCPUs of a guest share its RAM), MSR = SF|RI|LE (sent in the next run input).
    Load {
        /// Slot.
        slot: u8,
        /// vCPU.
        vcpu: u64,
        /// The L2 program.
        program: Vec<L2Op>,
    },
    /// `H_GUEST_RUN_VCPU`: flushes the vCPU's `VcpuState` (dirty registers + HDEC expiry)
    /// into the run input, runs, traces the exit as the L0 wrote it, applies the output to
    /// the cache, decodes it (`papr_nestedv2::Exit::decode`) and handles it.
    Run {
        /// Slot.
        slot: u8,
        /// vCPU.
        vcpu: u64,
        /// HDEC expiry.
        hdec: Hdec,
        /// What the L1 does with the exit.
        handle: Handle,
    },
    /// Raw `H_GUEST_RUN_VCPU` with `flags` (no run input written).
    RunRaw {
        /// Guest.
        guest: GuestRef,
        /// vCPU.
        vcpu: u64,
        /// r4.
        flags: u64,
    },
    /// Sets a register in the vCPU's `VcpuState`, sent in the next run input (an id the
    /// cache refuses — read-only, unknown, too wide — is traced `refused call=vcpu-state`).
    SetReg {
        /// Slot.
        slot: u8,
        /// vCPU.
        vcpu: u64,
        /// GSID.
        id: u16,
        /// Value (8 bytes).
        value: u64,
    },
    /// Moves the vCPU's NIA to the start of program action `action` (or the end of the
    /// program when `action` is its length), in the next run input.
    Resume {
        /// Slot.
        slot: u8,
        /// vCPU.
        vcpu: u64,
        /// Action index.
        action: usize,
    },
    /// `H_GUEST_SET_STATE` through `NestedHv` (validated client-side) of 8-byte values.
    SetState {
        /// Scope.
        scope: Scope,
        /// Guest.
        guest: GuestRef,
        /// vCPU.
        vcpu: u64,
        /// (GSID, value) pairs, each sent as 8 bytes.
        values: Vec<(u16, u64)>,
    },
    /// `H_GUEST_GET_STATE` through `NestedHv`; each answer is traced (`state`).
    GetState {
        /// Scope.
        scope: Scope,
        /// Guest.
        guest: GuestRef,
        /// vCPU.
        vcpu: u64,
        /// GSIDs.
        ids: Vec<u16>,
    },
    /// A raw `H_GUEST_GET_STATE`/`H_GUEST_SET_STATE` of `bytes` (written to a scratch
    /// page) with raw `flags`: for malformed buffers and bad flags, unchecked.
    RawState {
        /// SET (else GET).
        set: bool,
        /// r4.
        flags: u64,
        /// Guest.
        guest: GuestRef,
        /// vCPU.
        vcpu: u64,
        /// The buffer.
        bytes: Vec<u8>,
    },
    /// Raw `H_GUEST_DELETE(flags, guest)`.
    DeleteRaw {
        /// r4.
        flags: u64,
        /// Guest.
        guest: GuestRef,
    },
    /// Raw `H_GUEST_CREATE_VCPU(0, guest, vcpu)` (no client-side checks).
    CreateVcpuRaw {
        /// Guest.
        guest: GuestRef,
        /// vCPU.
        vcpu: u64,
    },
    /// `H_GUEST_DELETE` through `NestedHv`.
    Delete {
        /// Guest.
        guest: GuestRef,
    },
    /// `H_GUEST_DELETE` with delete-all through `NestedHv` (refused: it kills QEMU).
    DeleteAll,
    /// Maps `gpa..gpa+len` of the guest's RAM with `perms` (bits 4 = read, 2 = write,
    /// 1 = exec; R set, C set when writable).
    Map {
        /// Slot.
        slot: u8,
        /// Guest real address.
        gpa: u64,
        /// Length.
        len: u64,
        /// Permissions.
        perms: u8,
    },
    /// Unmaps `gpa..gpa+len`.
    Unmap {
        /// Slot.
        slot: u8,
        /// Guest real address.
        gpa: u64,
        /// Length.
        len: u64,
    },
    /// Changes the permissions of `gpa..gpa+len` (write-protect for dirty tracking).
    Protect {
        /// Slot.
        slot: u8,
        /// Guest real address.
        gpa: u64,
        /// Length.
        len: u64,
        /// Permissions.
        perms: u8,
    },
    /// Maps the 4 KiB RAM page at `gpa` with the leaf's low bits forced to `bits`
    /// (V | L | R | C | ATT | EAA: e.g. 0xC000_0000_0000_0007 for R = C = 0, RWX).
    SetPte {
        /// Slot.
        slot: u8,
        /// Guest real address.
        gpa: u64,
        /// Leaf bits outside the RPN.
        bits: u64,
    },
    /// Traces the leaf bits (outside the RPN) mapping `gpa` (`pte`).
    ReadPte {
        /// Slot.
        slot: u8,
        /// Guest real address.
        gpa: u64,
    },
    /// Traces the 8 bytes of L2 RAM at `gpa` (big-endian), read by the L1 (`mem`).
    ReadMem {
        /// Slot.
        slot: u8,
        /// Guest real address.
        gpa: u64,
    },
}

/// One scenario: a name, what it shows, the L1 steps, and what the software L0 cannot
/// express. The differences accepted between the L0s are not here: each is tied to its
/// exact trace line in [`crate::known::KNOWN`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// Unique, no spaces.
    pub name: &'static str,
    /// What it checks (and the source of the expected behaviour).
    pub about: &'static str,
    /// The L1 steps, in order.
    pub steps: Vec<Step>,
    /// What the software L0 cannot express here (printed with its result).
    pub limitations: Vec<&'static str>,
}

impl Scenario {
    /// A scenario with no limitation or known difference.
    pub fn new(name: &'static str, about: &'static str, steps: Vec<Step>) -> Self {
        Self {
            name,
            about,
            steps,
            limitations: Vec::new(),
        }
    }

    /// Adds a software-L0 limitation note.
    pub fn limitation(mut self, note: &'static str) -> Self {
        self.limitations.push(note);
        self
    }

    /// The programs the scenario loads: (slot, vCPU, program).
    pub fn programs(&self) -> impl Iterator<Item = (u8, u64, &[L2Op])> {
        self.steps.iter().filter_map(|s| match s {
            Step::Load {
                slot,
                vcpu,
                program,
            } => Some((*slot, *vcpu, program.as_slice())),
            _ => None,
        })
    }
}
