//! Unmapping: [`RadixTable::unmap`], leaf-boundary checks and the freeing of emptied
//! directory pages.

use super::*;

impl<M: TableMemory, A: TableAlloc> RadixTable<M, A> {
    /// Fails with [`RadixError::SplitsLeaf`] if a leaf straddles `gpa` (which must be a
    /// boundary of the range being changed).
    pub(super) fn check_boundary(&self, gpa: u64) -> Result<(), RadixError> {
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

    pub(super) fn check_boundaries(&self, gpa: u64, len: u64) -> Result<(), RadixError> {
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
        self.bump_generation();
        if len == 0 {
            return Ok(0);
        }
        check_range(gpa.0, len)?;
        self.check_boundaries(gpa.0, len)?;
        self.unmap_inner(gpa.0, len, inv)
    }

    pub(super) fn unmap_inner<I: Invalidate + ?Sized>(
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
    pub(super) fn unmap_level<I: Invalidate + ?Sized>(
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
    pub(super) fn others_empty(
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
    pub(super) fn flush_frees<I: Invalidate + ?Sized>(&mut self, ctx: &mut Stale<'_, I>) {
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
}
