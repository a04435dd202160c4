//! Access rights and R/C: [`RadixTable::protect`], the dirty harvest from the C bits and
//! R/C fault handling.

use super::*;

impl<M: TableMemory, A: TableAlloc> RadixTable<M, A> {
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
        self.bump_generation();
        if len == 0 {
            return Ok(0);
        }
        check_range(gpa.0, len)?;
        self.check_boundaries(gpa.0, len)?;
        let extra = PTE_R | if perms.can_write() { PTE_C } else { 0 };
        self.update_leaves(gpa.0, len, inv, |old| Pte(old).with_perms(perms).0 | extra)
    }

    /// Applies `f` to every leaf in range with a CAS loop; returns the bytes changed.
    pub(super) fn update_leaves<I, F>(
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
        self.bump_generation();
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
        self.bump_generation();
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
