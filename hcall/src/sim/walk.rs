//! The software L0's own walk of an L2's partition-scoped radix table, as QEMU walks it
//! (`target/ppc/mmu-radix64.c`, see `spec/radix-mmu.md` §8). Shares no code with
//! `mmu-radix`, whose tables it checks.

use crate::memory::{L1RealAddr, RealMemory};

/// HDSISR/HSRR1 cause: no valid entry at some level.
pub const CAUSE_NOPTE: u32 = 0x4000_0000;
/// HSRR1 cause: fetch from a no-execute or guarded (ATT 0b10) page.
pub const CAUSE_NOEXEC: u32 = 0x1000_0000;
/// HDSISR cause: the entry's permissions forbid the access.
pub const CAUSE_PROTFAULT: u32 = 0x0800_0000;
/// HDSISR cause bit: the access was a store.
pub const CAUSE_ISSTORE: u32 = 0x0200_0000;
/// HDSISR cause: unsupported tree shape.
pub const CAUSE_BADCONFIG: u32 = 0x0008_0000;
/// HDSISR cause: R (or C for a store) is 0 in the leaf.
pub const CAUSE_RC: u32 = 0x0004_0000;

const VALID: u64 = 1 << 63;
const LEAF: u64 = 1 << 62;
const NLB_MASK: u64 = 0x0FFF_FFFF_FFFF_FF00;
const NLS_MASK: u64 = 0x1F;
const RPN_MASK: u64 = 0x01FF_FFFF_FFFF_F000;
const PTE_R: u64 = 0x100;
const PTE_C: u64 = 0x80;
const PTE_READ: u64 = 0x4;
const PTE_RW: u64 = 0x2;
const PTE_EXEC: u64 = 0x1;
const ATT_MASK: u64 = 0x30;
const ATT_GUARDED: u64 = 0x20;

/// The kind of access being translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccessKind {
    /// A data load: needs read (0x4) or read/write (0x2), and R.
    Load,
    /// A data store: needs read/write (0x2), R and C.
    Store,
    /// An instruction fetch: needs execute (0x1), ATT ≠ 0b10, and R.
    Fetch,
}

/// A successful translation of an L2 real address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    /// The L1 real address the L2 real address maps to.
    pub l1: L1RealAddr,
    /// The leaf entry, as read.
    pub pte: u64,
    /// log2 of the page size the leaf maps (12, 16, 21, 30 or 39).
    pub page_shift: u32,
}

/// Builds PATE doubleword 0 the way QEMU rebuilds it from GSID 0x0005 {root, ea_bits,
/// root size}: `root | HR | RTS | (log2(size) − 3)`, the root ORed in unchecked.
///
/// ```
/// use papr_hcall::sim::walk::pate0;
/// assert_eq!(pate0(0x100_0000, 52, 65536), 0xC000_0000_0100_00AD);
/// ```
pub fn pate0(root: u64, ea_bits: u64, root_size: u64) -> u64 {
    let rts = ea_bits.wrapping_sub(31);
    let rpds = (63i64 - i64::from(root_size.leading_zeros()) - 3) as u64;
    root | (1 << 63) | ((rts & 0x7) << 5) | (((rts >> 3) & 0x3) << 61) | rpds
}

fn valid_level(level: u32, psize: u32, nls: u64) -> bool {
    match level {
        0 => psize == 52 && nls == 13,
        1 | 2 => nls == 9,
        3 => nls == 9 || nls == 5,
        _ => false,
    }
}

fn read_entry<M: RealMemory + ?Sized>(mem: &M, addr: u64) -> u64 {
    // One atomic doubleword, as the hardware walker reads it: the L1 updates entries with
    // atomics from other threads while vCPUs run (a byte copy here is a data race, Miri).
    // QEMU reads unassigned memory as 0 here, which is an invalid entry.
    mem.read_u64(L1RealAddr(addr)).unwrap_or(0)
}

fn index(gpa: u64, psize: u32, nls: u64) -> u64 {
    let shift = psize.saturating_sub(nls as u32);
    gpa.checked_shr(shift).unwrap_or(0) & ((1u64 << nls) - 1)
}

/// Walks the partition-scoped tree whose PATE doubleword 0 is `pate0` for L2 real address
/// `gpa` and checks `access` as QEMU does: shape per level (0x00080000), V at every level
/// (0x40000000), permissions (0x08000000 data, 0x10000000 fetch), then R/C (0x00040000);
/// stores add 0x02000000. Misaligned table bases are masked, not faulted.
///
/// `Err` holds the cause (the HDSISR an HDSI reports; for a fetch, the HSRR1 cause bits
/// that the v2 exit loses).
///
/// ```
/// use papr_hcall::sim::walk::{pate0, translate, AccessKind};
/// use papr_hcall::{L1RealAddr, RealMemory, VmRealMemory};
/// use vm_memory::{GuestAddress, GuestMemoryMmap};
/// let mem = VmRealMemory(GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x40_0000)]).unwrap());
/// // An empty 64 KiB root at 0x10000: every address faults with "no entry".
/// let pate = pate0(0x1_0000, 52, 65536);
/// assert_eq!(translate(&mem, pate, 0x1000, AccessKind::Load), Err(0x4000_0000));
/// assert_eq!(translate(&mem, pate, 0x1000, AccessKind::Store), Err(0x4200_0000));
/// // A 1 GiB leaf in the root's slot 0 (PUD level, via one PDE).
/// mem.write(L1RealAddr(0x1_0000), &(0x8000_0000_0002_0009u64).to_be_bytes()).unwrap();
/// mem.write(L1RealAddr(0x2_0000), &(0xC000_0000_0000_0187u64).to_be_bytes()).unwrap();
/// let t = translate(&mem, pate, 0x1234, AccessKind::Store).unwrap();
/// assert_eq!((t.l1, t.page_shift), (L1RealAddr(0x1234), 30));
/// ```
pub fn translate<M: RealMemory + ?Sized>(
    mem: &M,
    pate0: u64,
    gpa: u64,
    access: AccessKind,
) -> Result<Translation, u32> {
    let store = if access == AccessKind::Store {
        CAUSE_ISSTORE
    } else {
        0
    };
    let mut psize: u32 = 52; // QEMU only accepts RTS = 52 (anything else aborts it).
    let mut nls = pate0 & NLS_MASK;
    let mut base = pate0 & NLB_MASK;
    let mut level = 0u32;
    let pte = loop {
        if !valid_level(level, psize, nls) {
            return Err(CAUSE_BADCONFIG | store);
        }
        level += 1;
        base &= !((1u64 << (nls + 3)) - 1);
        let entry_addr = base.wrapping_add(index(gpa, psize, nls) * 8);
        let entry = read_entry(mem, entry_addr);
        if entry & VALID == 0 {
            return Err(CAUSE_NOPTE | store);
        }
        psize = psize.saturating_sub(nls as u32);
        if entry & LEAF != 0 {
            break entry;
        }
        nls = entry & NLS_MASK;
        base = entry & NLB_MASK;
    };
    let allowed = match access {
        AccessKind::Load => pte & (PTE_READ | PTE_RW) != 0,
        AccessKind::Store => pte & PTE_RW != 0,
        AccessKind::Fetch => pte & PTE_EXEC != 0 && pte & ATT_MASK != ATT_GUARDED,
    };
    if !allowed {
        return Err(if access == AccessKind::Fetch {
            CAUSE_NOEXEC
        } else {
            CAUSE_PROTFAULT | store
        });
    }
    if pte & PTE_R == 0 || (access == AccessKind::Store && pte & PTE_C == 0) {
        return Err(CAUSE_RC | store);
    }
    let mask = (1u64 << psize) - 1;
    Ok(Translation {
        l1: L1RealAddr(((pte & RPN_MASK) & !mask) | (gpa & mask)),
        pte,
        page_shift: psize,
    })
}

/// Whether a leaf lets a store through once QEMU has a TLB entry for its page (write
/// permission; C is not checked again): the "store after load on a C = 0 page" quirk.
pub(crate) fn writable(pte: u64) -> bool {
    pte & PTE_RW != 0
}
