//! `RadixTable`: the partition-scoped tree of one L2, built in L1 memory.

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

    /// Maps `[gpa, gpa + len)` to `[l1_ra, l1_ra + len)` with `perms` as normal memory,
    /// using the largest leaves alignment allows (1 GiB, 2 MiB, then 4 KiB).
    ///
    /// Leaves get R set, and C set when `perms` allow writes (as Linux does), so the L0
    /// raises no R/C exits for them.
    ///
    /// # Errors
    /// [`RadixError::Misaligned`] (gpa, `l1_ra` or len not 4 KiB aligned),
    /// [`RadixError::GpaOutOfRange`], [`RadixError::L1OutOfRange`], [`RadixError::Overlap`],
    /// [`RadixError::OutOfTableMemory`]; all before anything is written.
    pub fn map(
        &mut self,
        gpa: GuestRealAddr,
        l1_ra: L1RealAddr,
        len: u64,
        perms: Perms,
    ) -> Result<(), RadixError> {
        self.map_with_attr(gpa, l1_ra, len, perms, Attr::Normal)
    }

    /// [`RadixTable::map`] with storage attributes (for device memory mapped through).
    ///
    /// # Errors
    /// As [`RadixTable::map`].
    pub fn map_with_attr(
        &mut self,
        gpa: GuestRealAddr,
        l1_ra: L1RealAddr,
        len: u64,
        perms: Perms,
        attr: Attr,
    ) -> Result<(), RadixError> {
        if len == 0 {
            return Ok(());
        }
        check_range(gpa.0, len)?;
        if !l1_ra.is_aligned(PAGE) {
            return Err(RadixError::Misaligned {
                what: "l1_ra",
                value: l1_ra.0,
                align: PAGE,
            });
        }
        match l1_ra.0.checked_add(len) {
            Some(end) if end <= L1_RA_LIMIT => {}
            _ => {
                return Err(RadixError::L1OutOfRange {
                    l1_ra: l1_ra.0,
                    len,
                })
            }
        }
        let (needed, single) = self.plan_map(gpa.0, l1_ra.0, len)?;
        let available = self.alloc.available(TableSize::Dir);
        if needed > available {
            return Err(RadixError::OutOfTableMemory { needed, available });
        }
        let leaf = |ra: u64| Pte::new(L1RealAddr(ra), perms, attr).with_rc(true, perms.can_write());
        if let Some(addr) = single {
            return Ok(self.mem.write_u64(addr, leaf(l1_ra.0).0)?);
        }
        let mut pos = 0;
        while pos < len {
            let (g, ra) = (gpa.0 + pos, l1_ra.0 + pos);
            let size = PageSize::largest_for(g, ra, len - pos);
            if let Err(e) = self.write_leaf(g, size, leaf(ra).0) {
                // Undo: clear what this map wrote and free the tables it emptied.
                let _ = self.unmap_inner(gpa.0, pos + size.bytes(), &mut NoInvalidate);
                return Err(e);
            }
            pos += size.bytes();
        }
        Ok(())
    }

    /// Checks a map for overlaps and counts the directory pages it needs. Also returns the
    /// entry address when the whole map is one leaf whose tables all exist.
    fn plan_map(
        &self,
        gpa: u64,
        ra: u64,
        len: u64,
    ) -> Result<(usize, Option<L1RealAddr>), RadixError> {
        let mut needed = 0usize;
        // Guest real base of the last new table counted at each level.
        let mut counted = [u64::MAX; LEVELS];
        let mut single = None;
        let mut pos = 0;
        while pos < len {
            let g = gpa + pos;
            let size = PageSize::largest_for(g, ra + pos, len - pos);
            let target = size.level();
            let mut table = self.root;
            let mut level = 0;
            loop {
                let addr = slot_addr(table, level, g);
                let slot = classify(self.mem.read_u64(addr)?, level, addr)?;
                let span = entry_span(level);
                match slot {
                    Slot::Empty if level == target => {
                        if size.bytes() == len {
                            single = Some(addr);
                        }
                        break;
                    }
                    Slot::Leaf(_) | Slot::Table(_) if level == target => {
                        return Err(RadixError::Overlap {
                            gpa: g,
                            mapped_at: g & !(span - 1),
                            size: span,
                        });
                    }
                    Slot::Leaf(_) => {
                        return Err(RadixError::Overlap {
                            gpa: g,
                            mapped_at: g & !(span - 1),
                            size: span,
                        });
                    }
                    Slot::Table(next) => {
                        table = next;
                        level += 1;
                    }
                    Slot::Empty => {
                        for l in level + 1..=target {
                            let region = table_base(l, g);
                            if let Some(c) = counted.get_mut(l) {
                                if *c != region {
                                    *c = region;
                                    needed += 1;
                                }
                            }
                        }
                        break;
                    }
                }
            }
            pos += size.bytes();
        }
        Ok((needed, single))
    }

    /// Writes one leaf, creating missing tables on the way.
    fn write_leaf(&mut self, gpa: u64, size: PageSize, leaf: u64) -> Result<(), RadixError> {
        let target = size.level();
        let mut table = self.root;
        let mut level = 0;
        loop {
            let addr = slot_addr(table, level, gpa);
            if level == target {
                return Ok(self.mem.write_u64(addr, leaf)?);
            }
            table = match classify(self.mem.read_u64(addr)?, level, addr)? {
                Slot::Table(next) => next,
                Slot::Empty => self.new_table(addr)?,
                Slot::Leaf(_) => {
                    let span = entry_span(level);
                    return Err(RadixError::Overlap {
                        gpa,
                        mapped_at: gpa & !(span - 1),
                        size: span,
                    });
                }
            };
            level += 1;
        }
    }

    /// Allocates and zeroes a directory page, then links it at `parent`.
    fn new_table(&mut self, parent: L1RealAddr) -> Result<L1RealAddr, RadixError> {
        let size = TableSize::Dir;
        let page = self
            .alloc
            .alloc(size)
            .ok_or(RadixError::AllocFailed { size: size.bytes() })?;
        if !page.is_aligned(size.bytes()) || Pde::new(page, 0).next_base() != page {
            self.alloc.free(page, size);
            return Err(RadixError::Misaligned {
                what: "table page",
                value: page.0,
                align: PAGE,
            });
        }
        let linked = self
            .mem
            .zero(page, size.bytes())
            .and_then(|()| self.mem.write_u64(parent, Pde::new(page, DIR_NLS).0));
        if let Err(e) = linked {
            self.alloc.free(page, size);
            return Err(e.into());
        }
        self.dir_pages += 1;
        Ok(page)
    }

    /// Fails with [`RadixError::SplitsLeaf`] if a leaf straddles `gpa` (which must be a
    /// boundary of the range being changed).
    fn check_boundary(&self, gpa: u64) -> Result<(), RadixError> {
        if gpa == 0 || gpa >= GPA_LIMIT {
            return Ok(());
        }
        let found = find(&self.mem, self.root, gpa)?;
        if let (Slot::Leaf(_), Some(size)) = (found.slot, PageSize::at_level(found.level)) {
            let leaf = gpa & !(size.bytes() - 1);
            if leaf != gpa {
                return Err(RadixError::SplitsLeaf {
                    gpa,
                    leaf,
                    size: size.bytes(),
                });
            }
        }
        Ok(())
    }

    fn check_boundaries(&self, gpa: u64, len: u64) -> Result<(), RadixError> {
        self.check_boundary(gpa)?;
        self.check_boundary(gpa + len)
    }

    /// Unmaps every leaf in `[gpa, gpa + len)` (holes are fine), tells `inv` which ranges
    /// went stale, and frees directory pages left empty (after telling `inv` to drop its
    /// page-walk cache). Returns the bytes that were mapped.
    ///
    /// # Errors
    /// [`RadixError::Misaligned`], [`RadixError::GpaOutOfRange`], and
    /// [`RadixError::SplitsLeaf`] when a boundary cuts a larger leaf; all before anything is
    /// written.
    pub fn unmap<I: Invalidate + ?Sized>(
        &mut self,
        gpa: GuestRealAddr,
        len: u64,
        inv: &mut I,
    ) -> Result<u64, RadixError> {
        if len == 0 {
            return Ok(0);
        }
        check_range(gpa.0, len)?;
        self.check_boundaries(gpa.0, len)?;
        self.unmap_inner(gpa.0, len, inv)
    }

    fn unmap_inner<I: Invalidate + ?Sized>(
        &mut self,
        gpa: u64,
        len: u64,
        inv: &mut I,
    ) -> Result<u64, RadixError> {
        let mut ctx = Stale::new(inv);
        let mut bytes = 0;
        let root = self.root;
        let r = self.unmap_level(&mut ctx, &mut bytes, root, 0, gpa, gpa + len);
        self.flush_frees(&mut ctx);
        r.map(|_| bytes)
    }

    /// Clears leaves in `[lo, hi)` under a `level` table; returns whether the table is now
    /// empty (never for the root).
    fn unmap_level<I: Invalidate + ?Sized>(
        &mut self,
        ctx: &mut Stale<'_, I>,
        bytes: &mut u64,
        table: L1RealAddr,
        level: usize,
        lo: u64,
        hi: u64,
    ) -> Result<bool, RadixError> {
        let span = entry_span(level);
        let base = table_base(level, lo);
        let first = level_index(GuestRealAddr(lo), level);
        let last = level_index(GuestRealAddr(hi - 1), level);
        let mut kept = false;
        for idx in first..=last {
            let addr = table.wrapping_add(idx * 8);
            let entry_base = base + idx * span;
            let entry = self.mem.read_u64(addr)?;
            match classify(entry, level, addr)? {
                Slot::Empty => {}
                Slot::Leaf(_) => {
                    let size = PageSize::at_level(level).ok_or(RadixError::CorruptEntry {
                        level,
                        addr: addr.0,
                        entry,
                    })?;
                    if entry_base < lo || entry_base + span > hi {
                        return Err(RadixError::SplitsLeaf {
                            gpa: lo,
                            leaf: entry_base,
                            size: span,
                        });
                    }
                    self.mem.write_u64(addr, 0)?;
                    ctx.push(entry_base, size);
                    *bytes += span;
                }
                Slot::Table(next) => {
                    let (sub_lo, sub_hi) = (lo.max(entry_base), hi.min(entry_base + span));
                    if self.unmap_level(ctx, bytes, next, level + 1, sub_lo, sub_hi)? {
                        self.mem.write_u64(addr, 0)?;
                        if ctx.n_frees == FREE_BATCH {
                            self.flush_frees(ctx);
                        }
                        if let Some(slot) = ctx.frees.get_mut(ctx.n_frees) {
                            *slot = next;
                            ctx.n_frees += 1;
                        }
                    } else {
                        kept = true;
                    }
                }
            }
        }
        if kept || level == 0 {
            return Ok(false);
        }
        self.others_empty(table, level, first, last)
    }

    /// Whether every entry of a `level` table outside `[first, last]` is invalid, looking
    /// outwards from the range (so sequential unmaps stop after one or two reads).
    fn others_empty(
        &self,
        table: L1RealAddr,
        level: usize,
        first: u64,
        last: u64,
    ) -> Result<bool, RadixError> {
        let n = table_entries(level);
        let mut d = 1;
        loop {
            let below = first.checked_sub(d);
            let above = last + d;
            if below.is_none() && above >= n {
                return Ok(true);
            }
            for idx in [below, (above < n).then_some(above)].into_iter().flatten() {
                if self.mem.read_u64(table.wrapping_add(idx * 8))? & PTE_VALID != 0 {
                    return Ok(false);
                }
            }
            d += 1;
        }
    }

    /// Issues pending invalidations, then the page-walk-cache flush, then frees the pages.
    fn flush_frees<I: Invalidate + ?Sized>(&mut self, ctx: &mut Stale<'_, I>) {
        ctx.flush_ranges();
        if ctx.n_frees == 0 {
            return;
        }
        ctx.inv.invalidate_page_walk_cache();
        for page in ctx.frees.iter().take(ctx.n_frees) {
            self.alloc.free(*page, TableSize::Dir);
            self.dir_pages = self.dir_pages.saturating_sub(1);
        }
        ctx.n_frees = 0;
    }

    /// Sets the access rights of every leaf in `[gpa, gpa + len)` (holes are skipped) and
    /// tells `inv` which ranges changed. R is set, and C too when `perms` allow writes (C is
    /// never cleared here). Entries are updated with compare-and-exchange. Returns the bytes
    /// whose leaf changed.
    ///
    /// # Errors
    /// As [`RadixTable::unmap`].
    pub fn protect<I: Invalidate + ?Sized>(
        &mut self,
        gpa: GuestRealAddr,
        len: u64,
        perms: Perms,
        inv: &mut I,
    ) -> Result<u64, RadixError> {
        if len == 0 {
            return Ok(0);
        }
        check_range(gpa.0, len)?;
        self.check_boundaries(gpa.0, len)?;
        let extra = PTE_R | if perms.can_write() { PTE_C } else { 0 };
        self.update_leaves(gpa.0, len, inv, |old| Pte(old).with_perms(perms).0 | extra)
    }

    /// Applies `f` to every leaf in range with a CAS loop; returns the bytes changed.
    fn update_leaves<I, F>(
        &mut self,
        lo: u64,
        len: u64,
        inv: &mut I,
        f: F,
    ) -> Result<u64, RadixError>
    where
        I: Invalidate + ?Sized,
        F: Fn(u64) -> u64,
    {
        let mut ctx = Stale::new(inv);
        let mut bytes = 0;
        let root = self.root;
        let r = walk_leaves(
            &mut self.mem,
            root,
            0,
            lo,
            lo + len,
            &mut |mem: &mut M, leaf: LeafAt| {
                if update_entry(mem, leaf.addr, leaf.pte.0, &f)? {
                    ctx.push(leaf.gpa, leaf.size);
                    bytes += leaf.size.bytes();
                }
                Ok(())
            },
        );
        ctx.flush_ranges();
        r.map(|()| bytes)
    }

    /// Dirty log from the C bits: sets bit `i` of `bitmap` (bit `i % 64` of word `i / 64`)
    /// when the 4 KiB page `gpa + i * 4096` is mapped with C set; with `clear`, also clears
    /// C (atomically) and tells `inv` which ranges it cleared. Bits of clean or unmapped
    /// pages are cleared. Returns the number of dirty pages.
    ///
    /// On QEMU, C is not a reliable record of stores (see the crate docs): track dirtiness
    /// with [`RadixTable::protect`] there.
    ///
    /// # Errors
    /// [`RadixError::Misaligned`], [`RadixError::GpaOutOfRange`],
    /// [`RadixError::BitmapTooSmall`], and with `clear` [`RadixError::SplitsLeaf`]; all before
    /// anything is written.
    pub fn harvest_dirty<I: Invalidate + ?Sized>(
        &mut self,
        gpa: GuestRealAddr,
        len: u64,
        bitmap: &mut [u64],
        clear: bool,
        inv: &mut I,
    ) -> Result<u64, RadixError> {
        check_range(gpa.0, len)?;
        let pages = len / PAGE;
        let needed = usize::try_from(pages.div_ceil(64)).unwrap_or(usize::MAX);
        if bitmap.len() < needed {
            return Err(RadixError::BitmapTooSmall {
                needed,
                got: bitmap.len(),
            });
        }
        if len == 0 {
            return Ok(0);
        }
        if clear {
            self.check_boundaries(gpa.0, len)?;
        }
        bitmap.iter_mut().take(needed).for_each(|w| *w = 0);
        let (lo, hi) = (gpa.0, gpa.0 + len);
        let mut ctx = Stale::new(inv);
        let mut dirty = 0;
        let root = self.root;
        let r = walk_leaves(
            &mut self.mem,
            root,
            0,
            lo,
            hi,
            &mut |mem: &mut M, leaf: LeafAt| {
                if !leaf.pte.changed() {
                    return Ok(());
                }
                let from = leaf.gpa.max(lo);
                let to = (leaf.gpa + leaf.size.bytes()).min(hi);
                let mut p = (from - lo) / PAGE;
                while p < (to - lo) / PAGE {
                    if let Some(w) = usize::try_from(p / 64).ok().and_then(|i| bitmap.get_mut(i)) {
                        *w |= 1 << (p % 64);
                    }
                    dirty += 1;
                    p += 1;
                }
                if clear && update_entry(mem, leaf.addr, leaf.pte.0, &|old| old & !PTE_C)? {
                    ctx.push(leaf.gpa, leaf.size);
                }
                Ok(())
            },
        );
        ctx.flush_ranges();
        r.map(|()| dirty)
    }

    /// Handles an R/C fault (HDSISR 0x0004_0000) at `gpa`: if a leaf maps it and the access
    /// is a load or the leaf is writable, sets R (and C for a store) atomically and returns
    /// `true`; the L2 can then be resumed without invalidation. Returns `false` when the
    /// fault needs other handling (no leaf, or a store to a read-only leaf).
    ///
    /// ```
    /// use papr_mmu_radix::*;
    /// let mut buf = vec![0u8; 0x2_0000];
    /// let pool = PoolAlloc::<1>::new(L1RealAddr(0), 0x2_0000).unwrap();
    /// let mut t = RadixTable::new(SliceMemory::new(L1RealAddr(0), &mut buf), pool).unwrap();
    /// t.map(GuestRealAddr(0), L1RealAddr(0x10_0000), 0x1000, Perms::R).unwrap();
    /// assert!(!t.set_rc(GuestRealAddr(0x10), true).unwrap());
    /// assert!(t.set_rc(GuestRealAddr(0x10), false).unwrap());
    /// assert!(!t.set_rc(GuestRealAddr(0x1000), false).unwrap());
    /// ```
    ///
    /// # Errors
    /// [`RadixError::GpaOutOfRange`], or a walk error.
    pub fn set_rc(&mut self, gpa: GuestRealAddr, store: bool) -> Result<bool, RadixError> {
        if gpa.0 >= GPA_LIMIT {
            return Err(RadixError::GpaOutOfRange { gpa: gpa.0, len: 1 });
        }
        let found = find(&self.mem, self.root, gpa.0)?;
        let Slot::Leaf(pte) = found.slot else {
            return Ok(false);
        };
        if store && !pte.perms().can_write() {
            return Ok(false);
        }
        let bits = PTE_R | if store { PTE_C } else { 0 };
        update_entry(&mut self.mem, found.addr, pte.0, &|old| old | bits)?;
        Ok(true)
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

/// Replaces the leaf at `addr` (read as `seen`) by `f(current)` with compare-and-exchange,
/// retrying while another agent changes it; stops if it stops being a leaf. Returns whether
/// the entry changed.
fn update_entry<M: TableMemory + ?Sized>(
    mem: &mut M,
    addr: L1RealAddr,
    seen: u64,
    f: &dyn Fn(u64) -> u64,
) -> Result<bool, RadixError> {
    let mut cur = seen;
    loop {
        if !Pte(cur).is_leaf() {
            return Ok(false);
        }
        let new = f(cur);
        if new == cur {
            return Ok(false);
        }
        match mem.compare_exchange_u64(addr, cur, new)? {
            Ok(_) => return Ok(true),
            Err(actual) => cur = actual,
        }
    }
}

#[cfg(test)]
#[path = "tests/table.rs"]
mod tests;
