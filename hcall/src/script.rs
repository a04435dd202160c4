//! What a scripted L2 does, step by step: the one vocabulary shared by the software L0
//! (`sim::SoftL0` runs it) and the conformance scenarios (which also assemble it into
//! ppc64 code for a real L0). `no_std`, no feature needed.

/// One step of an L2 vCPU's program.
///
/// On the software L0, instructions that exit with a fault (HDSI, HISI, HEAI) are retried
/// on the next run unless the L1 moved NIA in between (it emulated or skipped the
/// instruction); a vCPU whose program has ended spins (`b .`) until its HDEC expires.
/// Loads and stores have GPR5 as their data register, as the assembled code on a real L0
/// does (a store's value is in GPR5 before it executes; a load that completes in RAM leaves
/// its value there). The software L0 leaves the address register (GPR4 in that code) alone,
/// so a test can read what an earlier hcall left in GPR4.
///
/// ```
/// use papr_hcall::script::L2Action;
/// let program = [
///     L2Action::hcall(0x58),
///     L2Action::Store { gpa: 0x1000, size: 8, value: 7 },
///     L2Action::Load { gpa: 0x1000, size: 8 },
///     L2Action::Fetch { gpa: 0x20_0000 },
///     L2Action::illegal(0x7c00_07fe),
///     L2Action::WaitHdec,
/// ];
/// let names: Vec<_> = program.iter().map(L2Action::name).collect();
/// assert_eq!(names, ["hcall", "store", "load", "fetch", "illegal", "wait-hdec"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L2Action {
    /// `sc 1` with GPR3 = `nr`, GPR4–12 = `args`: exit 0xC00, NIA past the `sc`.
    Hcall {
        /// GPR3.
        nr: u64,
        /// GPR4–GPR12.
        args: [u64; 9],
    },
    /// A load of `size` bytes (1, 2, 4 or 8, naturally aligned) at L2 real address `gpa`
    /// into GPR5.
    Load {
        /// L2 real address.
        gpa: u64,
        /// Bytes.
        size: u8,
    },
    /// A store of the low `size` bytes of `value` (GPR5) at `gpa`, in the L2's byte
    /// order (MSR\[LE\]: little-endian as on QEMU for an LE L2, else big-endian).
    Store {
        /// L2 real address.
        gpa: u64,
        /// Bytes (1, 2, 4 or 8, naturally aligned).
        size: u8,
        /// Value stored.
        value: u64,
    },
    /// A branch to `gpa` (`mtctr; bctr`): NIA = `gpa`, and the fetch from there faults
    /// (0xE20) when the page is not mapped executable.
    Fetch {
        /// L2 real address of the target (4-byte aligned).
        gpa: u64,
    },
    /// An instruction the L0 cannot execute: exit 0xE40 with HEIR = `heir`.
    EmulationAssist {
        /// The instruction word (the suffix for a prefixed instruction: HEIR keeps only
        /// the suffix).
        heir: u32,
        /// The prefix word before it, for a prefixed instruction.
        prefix: Option<u32>,
    },
    /// Spin (`b .`) until the HDEC expires: exit 0x980.
    WaitHdec,
}

impl L2Action {
    /// An hcall with no arguments.
    #[must_use]
    pub const fn hcall(nr: u64) -> Self {
        L2Action::Hcall { nr, args: [0; 9] }
    }

    /// An illegal (non-prefixed) instruction word.
    #[must_use]
    pub const fn illegal(word: u32) -> Self {
        L2Action::EmulationAssist {
            heir: word,
            prefix: None,
        }
    }

    /// Short name, used in traces and diagnostics.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            L2Action::Hcall { .. } => "hcall",
            L2Action::Load { .. } => "load",
            L2Action::Store { .. } => "store",
            L2Action::Fetch { .. } => "fetch",
            L2Action::EmulationAssist { .. } => "illegal",
            L2Action::WaitHdec => "wait-hdec",
        }
    }
}
