//! Fetching the L2 instruction at NIA without an hcall: the L2's process-scoped radix walk
//! (its own tables, in its memory) and then the L1's partition-scoped tree, both read from
//! L1 memory through [`RealMemory`].

use super::decode::{is_prefix, Insn};
use super::{MSR_IR, MSR_LE, MSR_PR, MSR_SF};
use papr_hcall::RealMemory;
use papr_mmu_radix::bits::{PDE_NLB_MASK, PDE_NLS_MASK, PTE_EAA_EXEC, PTE_EAA_PRIV, PTE_LEAF};
use papr_mmu_radix::bits::{PTE_RPN_MASK, PTE_VALID};
use papr_mmu_radix::{
    translate_at, GuestRealAddr, L1RealAddr, ProcessTableValue, Prte, RadixError, TableMemory,
};

/// In real mode the processor ignores EA bits 63..60 (Linux `KVM_PAM`,
/// `arch/powerpc/include/asm/kvm_book3s.h`, used by `kvmppc_xlate`).
pub const REAL_MODE_MASK: u64 = 0x0FFF_FFFF_FFFF_FFFF;

/// Address bits of a process-scoped tree this walker accepts (RTS + 31 = 52, as Linux's
/// `kvmppc_mmu_walk_radix_tree` and QEMU require).
pub const PROCESS_EA_BITS: u32 = 52;

/// SRR1 cause bits of an instruction storage interrupt (`arch/powerpc/include/asm/reg.h`).
pub mod srr1 {
    /// No valid translation (`DSISR_NOHPTE` / `SRR1_ISI_NOPT`).
    pub const NOPTE: u64 = 0x4000_0000;
    /// Fetch from a no-execute page (`SRR1_ISI_N_G_OR_CIP`).
    pub const NOEXEC: u64 = 0x1000_0000;
    /// Protection (`SRR1_ISI_PROT`).
    pub const PROTFAULT: u64 = 0x0800_0000;
    /// Unsupported radix tree configuration (`DSISR_UNSUPP_MMU`).
    pub const BADCONFIG: u64 = 0x0008_0000;
}

/// What the L1 knows of the L2's MMU: its own partition-scoped tree and the process table
/// the VMM registered (GSID 0x0006, from the L2's `H_REGISTER_PROC_TBL`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct GuestMmu {
    /// L1 real address of the 64 KiB root of the partition-scoped tree (GSID 0x0005).
    pub partition_root: L1RealAddr,
    /// The process table as sent in GSID 0x0006; `None` while the L2 has registered none.
    pub process_table: Option<ProcessTableValue>,
}

/// The interrupt a VMM would deliver to the L2 for a fault of its own translation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum L2Interrupt {
    /// Instruction storage interrupt (0x400) with these SRR1 cause bits ([`srr1`]).
    InstructionStorage {
        /// SRR1 bits 33..36/44 style cause, as in [`srr1`].
        srr1: u64,
    },
    /// Instruction segment interrupt (0x480): EA outside the translatable quadrants/range.
    InstructionSegment,
}

/// Why the instruction at NIA could not be read. Each variant names the address (and level)
/// where the walk stopped.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Quadrant 1 or 2 (hypervisor-only), or EA bits 61..52 not zero: no process-scoped
    /// translation exists (instruction segment interrupt).
    #[error("EA {ea:#x} is outside the L2's translatable quadrants")]
    Segment {
        /// The effective address.
        ea: u64,
    },
    /// MSR\[IR\] = 1 but no process table has been registered (GSID 0x0006 never set).
    #[error("EA {ea:#x}: the L2 has no process table")]
    NoProcessTable {
        /// The effective address.
        ea: u64,
    },
    /// The PID indexes past the end of the process table.
    #[error("EA {ea:#x}: PID {pid} is beyond the {table_size:#x}-byte process table")]
    PidOutOfRange {
        /// The effective address.
        ea: u64,
        /// The PID used (PIDR for quadrant 0, 0 for quadrant 3).
        pid: u32,
        /// Process table size in bytes.
        table_size: u64,
    },
    /// A process-table entry or process-scoped entry this MMU cannot use: tree size other
    /// than 52 bits, a level size other than 13/9/9/(9|5), a leaf in the root, or a
    /// directory entry at the last level.
    #[error("EA {ea:#x}: unsupported process-scoped tree at level {level} (entry {entry:#018x})")]
    BadConfig {
        /// The effective address.
        ea: u64,
        /// Level (0 = root; the process-table entry reports level 0).
        level: u8,
        /// The offending entry (or the PRTE doubleword 0).
        entry: u64,
    },
    /// A process-scoped entry with V = 0.
    #[error("EA {ea:#x}: no valid process-scoped entry at level {level} (L2 real address {entry_gpa:?})")]
    NotPresent {
        /// The effective address.
        ea: u64,
        /// Level of the invalid entry (0 = root).
        level: u8,
        /// L2 real address of that entry.
        entry_gpa: GuestRealAddr,
    },
    /// The process-scoped leaf forbids the fetch: no execute right, or a privileged page
    /// fetched in problem state (MSR\[PR\] = 1).
    #[error("EA {ea:#x}: process-scoped leaf {pte:#018x} forbids instruction fetch")]
    Protection {
        /// The effective address.
        ea: u64,
        /// The leaf entry.
        pte: u64,
    },
    /// An L2 real address (of the instruction, or of one of the L2's table entries when
    /// `table` is set) has no translation in the L1's partition-scoped tree: a page the L1
    /// has not mapped (map it and retry) or not RAM at all.
    #[error("EA {ea:#x}: L2 real address {gpa:?} is not mapped (table entry: {table})")]
    PartitionFault {
        /// The effective address being fetched.
        ea: u64,
        /// The untranslatable L2 real address.
        gpa: GuestRealAddr,
        /// The address was that of a process-table or process-scoped entry.
        table: bool,
    },
    /// The partition-scoped walk failed (corrupt tree or unreachable table memory).
    #[error("partition-scoped walk failed: {0}")]
    Radix(#[source] RadixError),
    /// L1 memory could not be read.
    #[error("L1 real range {addr:#x}+{len} could not be read")]
    Memory {
        /// L1 real address.
        addr: u64,
        /// Bytes.
        len: u64,
    },
}

impl FetchError {
    /// The interrupt the L2 should see, for faults of the L2's own translation; `None` for
    /// the L1's side (partition-scoped faults, corrupt L1 tree, L1 memory), which the L1
    /// must resolve itself.
    ///
    /// ```
    /// use papr_nestedv2::mmio::{FetchError, L2Interrupt};
    /// let e = FetchError::Segment { ea: 1 << 62 };
    /// assert_eq!(e.l2_interrupt(), Some(L2Interrupt::InstructionSegment));
    /// ```
    #[must_use]
    pub const fn l2_interrupt(&self) -> Option<L2Interrupt> {
        let bits = match self {
            FetchError::Segment { .. } => return Some(L2Interrupt::InstructionSegment),
            FetchError::NoProcessTable { .. }
            | FetchError::PidOutOfRange { .. }
            | FetchError::NotPresent { .. } => srr1::NOPTE,
            FetchError::BadConfig { .. } => srr1::BADCONFIG,
            FetchError::Protection { pte, .. } => {
                if *pte & PTE_EAA_EXEC == 0 {
                    srr1::NOEXEC
                } else {
                    srr1::PROTFAULT
                }
            }
            FetchError::PartitionFault { .. }
            | FetchError::Radix(_)
            | FetchError::Memory { .. } => return None,
        };
        Some(L2Interrupt::InstructionStorage { srr1: bits })
    }

    /// The effective address being fetched, when the error names one.
    #[must_use]
    pub const fn ea(&self) -> Option<u64> {
        match *self {
            FetchError::Segment { ea }
            | FetchError::NoProcessTable { ea }
            | FetchError::PidOutOfRange { ea, .. }
            | FetchError::BadConfig { ea, .. }
            | FetchError::NotPresent { ea, .. }
            | FetchError::Protection { ea, .. }
            | FetchError::PartitionFault { ea, .. } => Some(ea),
            FetchError::Radix(_) | FetchError::Memory { .. } => None,
        }
    }
}

/// Whether fetching at `nia` needs PIDR: translation on (MSR\[IR\]) and quadrant 0 (EA bits
/// 63..62 = 0b00, L2 user space). Quadrant 3 uses PID 0, real mode no PID at all.
///
/// ```
/// use papr_nestedv2::mmio::{needs_pid, MSR_IR};
/// assert!(needs_pid(MSR_IR, 0x1000_0000));
/// assert!(!needs_pid(MSR_IR, 0xC000_0000_0000_1000));
/// assert!(!needs_pid(0, 0x1000));
/// ```
#[must_use]
pub const fn needs_pid(msr: u64, nia: u64) -> bool {
    msr & MSR_IR != 0 && nia >> 62 == 0
}

/// Reads `buf.len()` bytes at L2 real address `gpa` (not crossing a 4 KiB page) through
/// the partition-scoped tree. `ea` and `table` only label a fault.
pub(super) fn read_gpa<M: RealMemory + TableMemory + ?Sized>(
    mem: &M,
    mmu: &GuestMmu,
    gpa: u64,
    buf: &mut [u8],
    ea: u64,
    table: bool,
) -> Result<L1RealAddr, FetchError> {
    let unmapped = FetchError::PartitionFault {
        ea,
        gpa: GuestRealAddr(gpa),
        table,
    };
    let t = match translate_at(mem, mmu.partition_root, GuestRealAddr(gpa)) {
        Ok(Some(t)) => t,
        Ok(None) | Err(RadixError::GpaOutOfRange { .. }) => return Err(unmapped),
        Err(e) => return Err(FetchError::Radix(e)),
    };
    let ra = t.l1_ra;
    mem.read(ra, buf).map_err(|_| FetchError::Memory {
        addr: ra.0,
        len: buf.len() as u64,
    })?;
    Ok(ra)
}

fn read_gpa_u64<M: RealMemory + TableMemory + ?Sized>(
    mem: &M,
    mmu: &GuestMmu,
    gpa: u64,
    ea: u64,
) -> Result<u64, FetchError> {
    let mut b = [0u8; 8];
    read_gpa(mem, mmu, gpa, &mut b, ea, true)?;
    Ok(u64::from_be_bytes(b))
}

/// The result of a process-scoped walk.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ProcessTranslation {
    /// The L2 real address `ea` maps to.
    pub gpa: GuestRealAddr,
    /// The process-scoped leaf.
    pub pte: u64,
    /// log2 of its page size (30, 21, 16 or 12).
    pub page_shift: u32,
}

/// Walks the L2's process-scoped radix tree for `ea` with `pid` (the caller applies the
/// quadrant rule; see [`translate_fetch`]) and returns the L2 real address. Every L2 table
/// entry is read through the partition-scoped tree. Shapes accepted: a 52-bit tree, root
/// 2^13 entries, then 2^9, 2^9 and 2^9 or 2^5 (4 KiB or 64 KiB pages); leaves at levels 1–3.
/// Misaligned table bases are masked to their size, as QEMU does. No permission check.
///
/// # Errors
/// [`FetchError::NoProcessTable`], [`FetchError::PidOutOfRange`],
/// [`FetchError::BadConfig`], [`FetchError::NotPresent`], and partition-scoped faults
/// ([`FetchError::PartitionFault`] with `table` set, [`FetchError::Radix`],
/// [`FetchError::Memory`]).
pub fn walk_process_scoped<M: RealMemory + TableMemory + ?Sized>(
    mem: &M,
    mmu: &GuestMmu,
    ea: u64,
    pid: u32,
) -> Result<ProcessTranslation, FetchError> {
    let pt = mmu.process_table.ok_or(FetchError::NoProcessTable { ea })?;
    let off = u64::from(pid) * 16;
    if off >= pt.size {
        return Err(FetchError::PidOutOfRange {
            ea,
            pid,
            table_size: pt.size,
        });
    }
    let dw0 = read_gpa_u64(mem, mmu, pt.base.0.wrapping_add(off), ea)?;
    let prte = Prte { dw0, dw1: 0 };
    if prte.ea_bits() != u64::from(PROCESS_EA_BITS) {
        return Err(FetchError::BadConfig {
            ea,
            level: 0,
            entry: dw0,
        });
    }
    let mut base = prte.root().0;
    let mut nls = prte.rpds();
    let mut entry = dw0;
    let mut shift = PROCESS_EA_BITS;
    for level in 0u8..4 {
        let ok = match level {
            0 => nls == 13,
            1 | 2 => nls == 9,
            _ => nls == 9 || nls == 5,
        };
        if !ok {
            return Err(FetchError::BadConfig { ea, level, entry });
        }
        // nls ≤ 13 here, so the shifts stay in range.
        let nls32 = nls as u32;
        shift -= nls32;
        let index = (ea >> shift) & ((1u64 << nls32) - 1);
        let table = base & !((1u64 << (nls32 + 3)) - 1);
        let entry_gpa = table.wrapping_add(index * 8);
        entry = read_gpa_u64(mem, mmu, entry_gpa, ea)?;
        if entry & PTE_VALID == 0 {
            return Err(FetchError::NotPresent {
                ea,
                level,
                entry_gpa: GuestRealAddr(entry_gpa),
            });
        }
        if entry & PTE_LEAF != 0 {
            if level == 0 {
                return Err(FetchError::BadConfig { ea, level, entry });
            }
            let mask = (1u64 << shift) - 1;
            let gpa = (entry & PTE_RPN_MASK & !mask) | (ea & mask);
            return Ok(ProcessTranslation {
                gpa: GuestRealAddr(gpa),
                pte: entry,
                page_shift: shift,
            });
        }
        if level == 3 {
            return Err(FetchError::BadConfig { ea, level, entry });
        }
        base = entry & PDE_NLB_MASK;
        nls = entry & PDE_NLS_MASK;
    }
    // Unreachable: level 3 always returns above.
    Err(FetchError::BadConfig {
        ea,
        level: 3,
        entry,
    })
}

/// Translates the instruction address `ea` to an L2 real address as the L2's MMU would
/// under `msr`: real mode (MSR\[IR\] = 0) drops EA bits 63..60; otherwise quadrant 0 walks
/// with `pidr`, quadrant 3 with PID 0, quadrants 1 and 2 fault. The leaf must allow
/// execute, and a privileged leaf is refused in problem state. (AMR/IAMR are not checked:
/// reading them would cost an hcall, and the hardware already fetched this instruction.)
///
/// # Errors
/// Any [`FetchError`] of the walk.
pub fn translate_fetch<M: RealMemory + TableMemory + ?Sized>(
    mem: &M,
    mmu: &GuestMmu,
    msr: u64,
    ea: u64,
    pidr: u32,
) -> Result<GuestRealAddr, FetchError> {
    if msr & MSR_IR == 0 {
        return Ok(GuestRealAddr(ea & REAL_MODE_MASK));
    }
    let pid = match ea >> 62 {
        0 => pidr,
        3 => 0,
        _ => return Err(FetchError::Segment { ea }),
    };
    // EA bits 61..52 must be zero for a 52-bit tree.
    if ea & 0x3FF0_0000_0000_0000 != 0 {
        return Err(FetchError::Segment { ea });
    }
    let t = walk_process_scoped(mem, mmu, ea, pid)?;
    let pte = t.pte;
    if pte & PTE_EAA_EXEC == 0 || (msr & MSR_PR != 0 && pte & PTE_EAA_PRIV != 0) {
        return Err(FetchError::Protection { ea, pte });
    }
    Ok(t.gpa)
}

/// The instruction read at NIA.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Fetched {
    /// The instruction (with its suffix if prefixed).
    pub insn: Insn,
    /// L2 real address of the first word.
    pub gpa: GuestRealAddr,
    /// L1 real address of the first word.
    pub l1_ra: L1RealAddr,
}

fn read_word<M: RealMemory + TableMemory + ?Sized>(
    mem: &M,
    mmu: &GuestMmu,
    msr: u64,
    ea: u64,
    pidr: u32,
) -> Result<(u32, GuestRealAddr, L1RealAddr), FetchError> {
    let gpa = translate_fetch(mem, mmu, msr, ea, pidr)?;
    let mut b = [0u8; 4];
    let ra = read_gpa(mem, mmu, gpa.0, &mut b, ea, false)?;
    let w = if msr & MSR_LE != 0 {
        u32::from_le_bytes(b)
    } else {
        u32::from_be_bytes(b)
    };
    Ok((w, gpa, ra))
}

/// Reads the instruction at `nia` (low two bits ignored) with no hcall: translated as in
/// [`translate_fetch`], read through the partition-scoped tree in L1 memory, in the L2's
/// byte order (MSR\[LE\]). A prefix word brings its suffix from `nia + 4`, translated
/// separately when it lies in another page. `pidr` is used only when [`needs_pid`].
///
/// # Errors
/// A [`FetchError`] naming the address and level where the walk stopped.
pub fn fetch<M: RealMemory + TableMemory + ?Sized>(
    mem: &M,
    mmu: &GuestMmu,
    msr: u64,
    nia: u64,
    pidr: u32,
) -> Result<Fetched, FetchError> {
    let nia = nia & !3;
    let (word, gpa, l1_ra) = read_word(mem, mmu, msr, nia, pidr)?;
    let suffix = if is_prefix(word) {
        let mut next = nia.wrapping_add(4);
        if msr & MSR_SF == 0 {
            next &= 0xFFFF_FFFF;
        }
        let s = if next >> 12 == nia >> 12 {
            // Same 4 KiB page: same translation.
            let mut b = [0u8; 4];
            read_gpa(mem, mmu, gpa.0.wrapping_add(4), &mut b, next, false)?;
            if msr & MSR_LE != 0 {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            }
        } else {
            read_word(mem, mmu, msr, next, pidr)?.0
        };
        Some(s)
    } else {
        None
    };
    Ok(Fetched {
        insn: Insn::new(word, suffix),
        gpa,
        l1_ra,
    })
}
