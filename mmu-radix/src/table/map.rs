//! Mapping: [`RadixTable::map`] and its planning, leaf writes and directory-page allocation.

use super::*;

impl<M: TableMemory, A: TableAlloc> RadixTable<M, A> {
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
        self.bump_generation();
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
    pub(super) fn plan_map(
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
    pub(super) fn write_leaf(
        &mut self,
        gpa: u64,
        size: PageSize,
        leaf: u64,
    ) -> Result<(), RadixError> {
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
    pub(super) fn new_table(&mut self, parent: L1RealAddr) -> Result<L1RealAddr, RadixError> {
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
}
