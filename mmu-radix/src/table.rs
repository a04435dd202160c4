//! `RadixTable`: the partition-scoped tree of one L2, built in L1 memory.
//!
//! This file holds the type, its construction and translation; mapping, unmapping and
//! protection/R-C are in the submodules.

use crate::addr::{GuestRealAddr, L1RealAddr, GPA_LIMIT, L1_RA_LIMIT};
use crate::alloc::{TableAlloc, TableSize};
use crate::error::RadixError;
use crate::invalidate::{Invalidate, NoInvalidate};
use crate::memory::TableMemory;
use crate::pate::{PagetableValue, Pate};
use crate::pde::{entry_span, level_index, table_entries, Pde, LEVELS};
use crate::pte::{Attr, PageSize, Perms, Pte, PTE_C, PTE_R, PTE_VALID};
use crate::walk::{
    classify, find, slot_addr, table_base, walk_leaves, LeafAt, Slot, Stale, DIR_NLS, FREE_BATCH,
    PAGE,
};

mod map;
mod protect;
mod unmap;

/// Where a guest real address leads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Translation {
    /// The L1 real address the gpa maps to (page base from the RPN plus the offset).
    pub l1_ra: L1RealAddr,
    /// Guest real address of the start of the page.
    pub page: GuestRealAddr,
    /// Size of the leaf.
    pub size: PageSize,
    /// The leaf entry.
    pub pte: Pte,
    /// L1 real address of the leaf entry.
    pub entry_addr: L1RealAddr,
}

/// The partition-scoped radix tree of one L2: 52-bit guest real space, a 64 KiB root
/// (8192 entries) and 4 KiB tables of 512 entries below; leaves of 1 GiB (level 1),
/// 2 MiB (level 2) or 4 KiB (level 3).
///
/// Every mutating method checks everything it can (alignment, range, overlap, table pages)
/// before writing, so an `Err` leaves the tree as it was. The one exception is a
/// [`TableMemory`] that fails part-way: a map is then rolled back as far as memory allows.
///
/// The tree does not issue `ptesync`: the caller does before re-entering the L2.
///
/// ```
/// use papr_mmu_radix::*;
/// let mut buf = vec![0u8; 1 << 20];
/// let mem = SliceMemory::new(L1RealAddr(0x100_0000), &mut buf);
/// let pool = PoolAlloc::<4>::new(L1RealAddr(0x100_0000), 1 << 20).unwrap();
/// let mut t = RadixTable::new(mem, pool).unwrap();
/// // 2 MiB + 4 KiB: one 2 MiB leaf, then one base page.
/// t.map(GuestRealAddr(0x20_0000), L1RealAddr(0x4000_0000), 0x20_1000, Perms::RWX).unwrap();
/// let tr = t.translate(GuestRealAddr(0x20_0123)).unwrap().unwrap();
/// assert_eq!((tr.l1_ra, tr.size), (L1RealAddr(0x4000_0123), PageSize::Size2M));
/// let tr = t.translate(GuestRealAddr(0x40_0008)).unwrap().unwrap();
/// assert_eq!((tr.l1_ra, tr.size), (L1RealAddr(0x4020_0008), PageSize::Size4K));
/// assert_eq!(t.pagetable_value().to_u64s(), [0x100_0000, 52, 65536]);
/// assert_eq!(t.unmap(GuestRealAddr(0x20_0000), 0x20_1000, &mut NoInvalidate).unwrap(), 0x20_1000);
/// assert_eq!(t.translate(GuestRealAddr(0x20_0000)).unwrap(), None);
/// assert_eq!(t.dir_pages(), 0); // emptied tables were freed
/// ```
#[derive(Debug)]
pub struct RadixTable<M: TableMemory, A: TableAlloc> {
    mem: M,
    alloc: A,
    root: L1RealAddr,
    dir_pages: usize,
    generation: u64,
}

fn check_range(gpa: u64, len: u64) -> Result<(), RadixError> {
    if !gpa.is_multiple_of(PAGE) {
        return Err(RadixError::Misaligned {
            what: "gpa",
            value: gpa,
            align: PAGE,
        });
    }
    if !len.is_multiple_of(PAGE) {
        return Err(RadixError::Misaligned {
            what: "len",
            value: len,
            align: PAGE,
        });
    }
    match gpa.checked_add(len) {
        Some(end) if end <= GPA_LIMIT => Ok(()),
        _ => Err(RadixError::GpaOutOfRange { gpa, len }),
    }
}

impl<M: TableMemory, A: TableAlloc> RadixTable<M, A> {
    /// An empty tree: allocates and zeroes the 64 KiB root.
    ///
    /// # Errors
    /// [`RadixError::OutOfTableMemory`] if no root is available,
    /// [`RadixError::Misaligned`] if the allocator returns a root that is not 64 KiB aligned
    /// (or above 2^60), [`RadixError::Memory`] if it cannot be zeroed.
    pub fn new(mut mem: M, mut alloc: A) -> Result<Self, RadixError> {
        let size = TableSize::Root;
        let Some(root) = alloc.alloc(size) else {
            return Err(RadixError::OutOfTableMemory {
                needed: 1,
                available: alloc.available(size),
            });
        };
        if !root.is_aligned(size.bytes()) || Pde::new(root, 0).next_base() != root {
            alloc.free(root, size);
            return Err(RadixError::Misaligned {
                what: "root table",
                value: root.0,
                align: size.bytes(),
            });
        }
        if let Err(e) = mem.zero(root, size.bytes()) {
            alloc.free(root, size);
            return Err(e.into());
        }
        Ok(Self {
            mem,
            alloc,
            root,
            dir_pages: 0,
            generation: 0,
        })
    }

    /// Takes over a tree already in `mem` at `root` (64 KiB aligned), for example one built
    /// before a restart. Nothing is checked until it is walked: a hostile tree yields
    /// [`RadixError::CorruptEntry`] or [`RadixError::Memory`], never a panic. Pages it frees
    /// go to `alloc`; [`RadixTable::dir_pages`] counts from zero.
    ///
    /// # Errors
    /// [`RadixError::Misaligned`] if `root` is not 64 KiB aligned or above 2^60.
    pub fn adopt(mem: M, alloc: A, root: L1RealAddr) -> Result<Self, RadixError> {
        let align = TableSize::Root.bytes();
        if !root.is_aligned(align) || Pde::new(root, 0).next_base() != root {
            return Err(RadixError::Misaligned {
                what: "root table",
                value: root.0,
                align,
            });
        }
        Ok(Self {
            mem,
            alloc,
            root,
            dir_pages: 0,
            generation: 0,
        })
    }

    /// L1 real address of the root directory.
    #[must_use]
    pub const fn root(&self) -> L1RealAddr {
        self.root
    }

    /// The value to register as the guest's GSID 0x0005: (root, 52, 65536).
    #[must_use]
    pub const fn pagetable_value(&self) -> PagetableValue {
        PagetableValue::for_root(self.root)
    }

    /// The partition-table entry for this tree (no process table).
    #[must_use]
    pub const fn pate(&self) -> Pate {
        Pate::new(self.root)
    }

    /// The table memory.
    #[must_use]
    pub const fn memory(&self) -> &M {
        &self.mem
    }

    /// The allocator.
    #[must_use]
    pub const fn allocator(&self) -> &A {
        &self.alloc
    }

    /// A counter bumped by every call that may change the tree (map, unmap, protect,
    /// harvest of the dirty log, R/C update), whether it succeeds or not: a translation read
    /// while the generation was `g` is still the tree's while the generation is `g` (a
    /// cache of translations, e.g. the instruction-fetch cache of papr-nestedv2, checks
    /// it). Writes to the table memory that bypass this type are not counted.
    ///
    /// ```
    /// use papr_mmu_radix::*;
    /// let mut buf = vec![0u8; 0x4_0000];
    /// let mem = SliceMemory::new(L1RealAddr(0), &mut buf);
    /// let alloc = PoolAlloc::<1>::new(L1RealAddr(0), 0x2_0000).unwrap();
    /// let mut t = RadixTable::new(mem, alloc).unwrap();
    /// let g = t.generation();
    /// t.map(GuestRealAddr(0), L1RealAddr(0x3_0000), 0x1000, Perms::RWX).unwrap();
    /// assert_ne!(t.generation(), g);
    /// ```
    #[must_use]
    pub const fn generation(&self) -> u64 {
        self.generation
    }

    /// Marks the tree as possibly changed ([`generation`](Self::generation)).
    pub(crate) fn bump_generation(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Directory pages (4 KiB each) currently linked below the root.
    #[must_use]
    pub const fn dir_pages(&self) -> usize {
        self.dir_pages
    }

    /// Bytes of table memory in use, root included.
    #[must_use]
    pub const fn table_bytes(&self) -> u64 {
        TableSize::Root.bytes() + self.dir_pages as u64 * TableSize::Dir.bytes()
    }

    /// Walks the tree for `gpa` as the L0 would; `None` when nothing maps it.
    ///
    /// # Errors
    /// [`RadixError::GpaOutOfRange`] for `gpa` ≥ 2^52, [`RadixError::CorruptEntry`] or
    /// [`RadixError::Memory`] if the walk cannot complete.
    pub fn translate(&self, gpa: GuestRealAddr) -> Result<Option<Translation>, RadixError> {
        translate_at(&self.mem, self.root, gpa)
    }

    /// Unmaps everything (telling `inv`), frees every table including the root, and gives
    /// back the memory and the allocator.
    ///
    /// # Errors
    /// A walk error; the tree is then lost, partly cleared.
    pub fn into_parts<I: Invalidate + ?Sized>(mut self, inv: &mut I) -> Result<(M, A), RadixError> {
        self.unmap_inner(0, GPA_LIMIT, inv)?;
        self.alloc.free(self.root, TableSize::Root);
        Ok((self.mem, self.alloc))
    }
}

/// Walks the tree rooted at `root` in `mem` for `gpa`, as the L0 would; `None` when nothing
/// maps it. This is [`RadixTable::translate`] for a tree the caller does not own.
///
/// ```
/// use papr_mmu_radix::*;
/// let mut buf = vec![0u8; 0x1_0000];
/// let mem = SliceMemory::new(L1RealAddr(0), &mut buf);
/// assert_eq!(translate_at(&mem, L1RealAddr(0), GuestRealAddr(0x1000)).unwrap(), None);
/// ```
///
/// # Errors
/// [`RadixError::GpaOutOfRange`] for `gpa` ≥ 2^52, [`RadixError::CorruptEntry`] or
/// [`RadixError::Memory`] if the walk cannot complete.
pub fn translate_at<M: TableMemory + ?Sized>(
    mem: &M,
    root: L1RealAddr,
    gpa: GuestRealAddr,
) -> Result<Option<Translation>, RadixError> {
    if gpa.0 >= GPA_LIMIT {
        return Err(RadixError::GpaOutOfRange { gpa: gpa.0, len: 1 });
    }
    let found = find(mem, root, gpa.0)?;
    let Slot::Leaf(pte) = found.slot else {
        return Ok(None);
    };
    let size = PageSize::at_level(found.level).ok_or(RadixError::CorruptEntry {
        level: found.level,
        addr: found.addr.0,
        entry: pte.0,
    })?;
    let mask = size.bytes() - 1;
    Ok(Some(Translation {
        l1_ra: L1RealAddr((pte.rpn().0 & !mask) | (gpa.0 & mask)),
        page: gpa.align_down(size.bytes()),
        size,
        pte,
        entry_addr: found.addr,
    }))
}

#[cfg(test)]
#[path = "tests/table.rs"]
mod tests;
