//! `GuestTable`: what safe code may do with a guest's partition-scoped table.

use super::GuestRadixTable;
use crate::host::Backend;
use papr_mmu_radix::{
    GuestRealAddr, Invalidate, PagetableValue, Perms, RadixError, TableAlloc, Translation,
};

/// A guest's radix table, locked, as [`Guest::with_table`](crate::Guest::with_table) hands
/// it out: translate, protect, unmap, harvest and set R/C — everything except pointing an
/// entry at L1 memory. Mappings are made by the [`Guest`](crate::Guest), which checks that
/// the L1 range is RAM it registered ([`Guest::map_ram`](crate::Guest::map_ram),
/// [`Guest::fault_in`](crate::Guest::fault_in), [`Guest::map_all_ram`](crate::Guest::map_all_ram)):
/// a table entry is an address the L0 lets the L2 read and write, so safe code must not be
/// able to aim one anywhere else. Code that needs the raw [`RadixTable`](papr_mmu_radix::RadixTable)
/// uses the `unsafe` [`Guest::with_table_mut`](crate::Guest::with_table_mut).
///
/// What it offers compiles; a `map` does not:
///
/// ```
/// use papr_mmu_radix::{GuestRealAddr, TableAlloc};
/// use papr_nestedv2::{Backend, Guest};
/// fn is_mapped<P: Backend, A: TableAlloc>(g: &Guest<'_, P, A>, gpa: GuestRealAddr) -> bool {
///     g.with_table(|t| t.translate(gpa).is_ok_and(|t| t.is_some()))
/// }
/// ```
///
/// ```compile_fail,E0599
/// use papr_mmu_radix::{GuestRealAddr, L1RealAddr, Perms, TableAlloc};
/// use papr_nestedv2::{Backend, Guest};
/// fn aim_anywhere<P: Backend, A: TableAlloc>(g: &Guest<'_, P, A>) {
///     // error[E0599]: no method named `map`: only the guest maps, and only its RAM.
///     let _ = g.with_table(|t| t.map(GuestRealAddr(0), L1RealAddr(0xdead_0000), 0x1000, Perms::RWX));
/// }
/// ```
pub struct GuestTable<'t, P: Backend, A: TableAlloc> {
    table: &'t mut GuestRadixTable<P, A>,
}

impl<P: Backend, A: TableAlloc> core::fmt::Debug for GuestTable<'_, P, A> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GuestTable")
            .field("root", &self.table.root())
            .field("dir_pages", &self.table.dir_pages())
            .finish_non_exhaustive()
    }
}

impl<'t, P: Backend, A: TableAlloc> GuestTable<'t, P, A> {
    pub(super) fn new(table: &'t mut GuestRadixTable<P, A>) -> Self {
        Self { table }
    }

    /// The GSID 0x0005 value the guest was registered with (root, 52, 64 KiB).
    pub fn pagetable_value(&self) -> PagetableValue {
        self.table.pagetable_value()
    }

    /// Directory pages in use (the root not counted).
    pub fn dir_pages(&self) -> usize {
        self.table.dir_pages()
    }

    /// Bytes of L1 memory the tree occupies.
    pub fn table_bytes(&self) -> u64 {
        self.table.table_bytes()
    }

    /// The table's page allocator.
    pub fn allocator(&self) -> &A {
        self.table.allocator()
    }

    /// [`RadixTable::translate`](papr_mmu_radix::RadixTable::translate).
    ///
    /// # Errors
    /// As `RadixTable::translate`.
    pub fn translate(&self, gpa: GuestRealAddr) -> Result<Option<Translation>, RadixError> {
        self.table.translate(gpa)
    }

    /// [`RadixTable::unmap`](papr_mmu_radix::RadixTable::unmap): returns the bytes that were
    /// mapped.
    ///
    /// # Errors
    /// As `RadixTable::unmap`.
    pub fn unmap<I: Invalidate + ?Sized>(
        &mut self,
        gpa: GuestRealAddr,
        len: u64,
        inv: &mut I,
    ) -> Result<u64, RadixError> {
        self.table.unmap(gpa, len, inv)
    }

    /// [`RadixTable::protect`](papr_mmu_radix::RadixTable::protect) (write-protect for dirty
    /// logging, or give rights back): the leaves keep the L1 pages they were mapped to.
    ///
    /// # Errors
    /// As `RadixTable::protect`.
    pub fn protect<I: Invalidate + ?Sized>(
        &mut self,
        gpa: GuestRealAddr,
        len: u64,
        perms: Perms,
        inv: &mut I,
    ) -> Result<u64, RadixError> {
        self.table.protect(gpa, len, perms, inv)
    }

    /// [`RadixTable::harvest_dirty`](papr_mmu_radix::RadixTable::harvest_dirty).
    ///
    /// # Errors
    /// As `RadixTable::harvest_dirty`.
    pub fn harvest_dirty<I: Invalidate + ?Sized>(
        &mut self,
        gpa: GuestRealAddr,
        len: u64,
        bitmap: &mut [u64],
        clear: bool,
        inv: &mut I,
    ) -> Result<u64, RadixError> {
        self.table.harvest_dirty(gpa, len, bitmap, clear, inv)
    }

    /// [`RadixTable::set_rc`](papr_mmu_radix::RadixTable::set_rc).
    ///
    /// # Errors
    /// As `RadixTable::set_rc`.
    pub fn set_rc(&mut self, gpa: GuestRealAddr, store: bool) -> Result<bool, RadixError> {
        self.table.set_rc(gpa, store)
    }
}
