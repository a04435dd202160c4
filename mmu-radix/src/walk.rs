//! Reading the tree: entry classification, range walks, and the stale-range accumulator.

use crate::addr::{GuestRealAddr, L1RealAddr};
use crate::error::RadixError;
use crate::invalidate::Invalidate;
use crate::memory::TableMemory;
use crate::pde::{entry_span, level_index, table_entries, Pde, LEVELS};
use crate::pte::{PageSize, Pte, PTE_LEAF, PTE_VALID};

/// Bytes in a base page and a directory table.
pub(crate) const PAGE: u64 = 1 << 12;
/// NLS this crate writes into every PDE.
pub(crate) const DIR_NLS: u32 = 9;

/// What one entry holds.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Slot {
    /// V = 0.
    Empty,
    /// V = 1, L = 1 (below the root).
    Leaf(Pte),
    /// V = 1, L = 0: a PDE to a 4 KiB, 512-entry table.
    Table(L1RealAddr),
}

/// Classifies `entry` read at `addr` in a table at `level`. Anything this crate would not
/// have written (a leaf in the root, a PDE at the last level, NLS ≠ 9, a misaligned base)
/// is [`RadixError::CorruptEntry`].
pub(crate) fn classify(entry: u64, level: usize, addr: L1RealAddr) -> Result<Slot, RadixError> {
    if entry & PTE_VALID == 0 {
        return Ok(Slot::Empty);
    }
    let corrupt = RadixError::CorruptEntry {
        level,
        addr: addr.0,
        entry,
    };
    if entry & PTE_LEAF != 0 {
        return if level == 0 {
            Err(corrupt)
        } else {
            Ok(Slot::Leaf(Pte(entry)))
        };
    }
    let pde = Pde(entry);
    if level + 1 >= LEVELS || pde.nls() != DIR_NLS || !pde.next_base().is_aligned(PAGE) {
        return Err(corrupt);
    }
    Ok(Slot::Table(pde.next_base()))
}

/// Address of the entry for `gpa` in the table at `table` (a `level` table).
pub(crate) const fn slot_addr(table: L1RealAddr, level: usize, gpa: u64) -> L1RealAddr {
    table.wrapping_add(level_index(GuestRealAddr(gpa), level) * 8)
}

/// Guest real address of the first byte a `level` table holding `gpa` covers.
pub(crate) const fn table_base(level: usize, gpa: u64) -> u64 {
    gpa & !(entry_span(level) * table_entries(level) - 1)
}

/// Where a walk for one address stopped.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Found {
    /// Level of the entry.
    pub level: usize,
    /// Its address.
    pub addr: L1RealAddr,
    /// Its contents (never `Table`).
    pub slot: Slot,
}

/// Walks from `root` towards `gpa` until an empty entry or a leaf.
pub(crate) fn find<M: TableMemory + ?Sized>(
    mem: &M,
    root: L1RealAddr,
    gpa: u64,
) -> Result<Found, RadixError> {
    let mut table = root;
    let mut level = 0;
    loop {
        let addr = slot_addr(table, level, gpa);
        let entry = mem.read_u64(addr)?;
        match classify(entry, level, addr)? {
            Slot::Table(next) => {
                table = next;
                level += 1;
            }
            slot => return Ok(Found { level, addr, slot }),
        }
    }
}

/// A leaf met by [`walk_leaves`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct LeafAt {
    /// Guest real address of the page.
    pub gpa: u64,
    /// Its size.
    pub size: PageSize,
    /// Where the entry is.
    pub addr: L1RealAddr,
    /// The entry as read.
    pub pte: Pte,
}

/// Calls `f` for every leaf intersecting `[lo, hi)` under the `level` table at `table`, in
/// address order. Leaves may extend past the range.
pub(crate) fn walk_leaves<M, F>(
    mem: &mut M,
    table: L1RealAddr,
    level: usize,
    lo: u64,
    hi: u64,
    f: &mut F,
) -> Result<(), RadixError>
where
    M: TableMemory + ?Sized,
    F: FnMut(&mut M, LeafAt) -> Result<(), RadixError>,
{
    let span = entry_span(level);
    let base = table_base(level, lo);
    let first = level_index(GuestRealAddr(lo), level);
    let last = level_index(GuestRealAddr(hi - 1), level);
    for idx in first..=last {
        let addr = table.wrapping_add(idx * 8);
        let entry_base = base + idx * span;
        match classify(mem.read_u64(addr)?, level, addr)? {
            Slot::Empty => {}
            Slot::Leaf(pte) => {
                let size = PageSize::at_level(level).ok_or(RadixError::CorruptEntry {
                    level,
                    addr: addr.0,
                    entry: pte.0,
                })?;
                f(
                    mem,
                    LeafAt {
                        gpa: entry_base,
                        size,
                        addr,
                        pte,
                    },
                )?;
            }
            Slot::Table(next) => {
                let sub_lo = lo.max(entry_base);
                let sub_hi = hi.min(entry_base + span);
                walk_leaves(mem, next, level + 1, sub_lo, sub_hi, f)?;
            }
        }
    }
    Ok(())
}

/// Directory pages unlinked but not yet freed, at most this many at once.
pub(crate) const FREE_BATCH: usize = 16;

/// Accumulates stale leaf ranges (coalescing contiguous leaves of one size) and unlinked
/// tables for one operation.
pub(crate) struct Stale<'i, I: Invalidate + ?Sized> {
    pub inv: &'i mut I,
    start: u64,
    end: u64,
    size: PageSize,
    open: bool,
    pub frees: [L1RealAddr; FREE_BATCH],
    pub n_frees: usize,
}

impl<'i, I: Invalidate + ?Sized> Stale<'i, I> {
    pub(crate) fn new(inv: &'i mut I) -> Self {
        Self {
            inv,
            start: 0,
            end: 0,
            size: PageSize::Size4K,
            open: false,
            frees: [L1RealAddr(0); FREE_BATCH],
            n_frees: 0,
        }
    }

    /// The leaf of `size` at `gpa` became stale.
    pub(crate) fn push(&mut self, gpa: u64, size: PageSize) {
        if self.open && size == self.size && gpa == self.end {
            self.end += size.bytes();
            return;
        }
        self.flush_ranges();
        self.start = gpa;
        self.end = gpa + size.bytes();
        self.size = size;
        self.open = true;
    }

    /// Tells the seam about the pending range.
    pub(crate) fn flush_ranges(&mut self) {
        if self.open {
            self.inv
                .invalidate_range(GuestRealAddr(self.start), self.end - self.start, self.size);
            self.open = false;
        }
    }
}
