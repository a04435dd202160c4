//! The `Invalidate` seam: how stale translations are dropped after unmap/protect.

use crate::addr::GuestRealAddr;
use crate::pte::PageSize;

/// Told exactly which guest real ranges became stale, so cached translations (TLB,
/// page-walk cache) can be dropped — with `H_RPT_INVALIDATE` where the L0 has it.
///
/// [`crate::RadixTable`] calls it after clearing or changing leaves and before freeing a
/// directory page, and coalesces contiguous leaves of one size into one range.
///
/// ```
/// use papr_mmu_radix::{GuestRealAddr, Invalidate, PageSize};
/// #[derive(Default)]
/// struct Count(u32);
/// impl Invalidate for Count {
///     fn invalidate_range(&mut self, _start: GuestRealAddr, _len: u64, _size: PageSize) {
///         self.0 += 1;
///     }
///     fn invalidate_page_walk_cache(&mut self) {}
/// }
/// let mut c = Count::default();
/// c.invalidate_range(GuestRealAddr(0), 0x1000, PageSize::Size4K);
/// assert_eq!(c.0, 1);
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Invalidate {
    /// Translations of `[start, start + len)` made from leaves of `size` are stale.
    /// `start` and `len` are multiples of `size`. (H_RPT_INVALIDATE type 0x3, page-size mask
    /// from `size`, start, end.)
    fn invalidate_range(&mut self, start: GuestRealAddr, len: u64, size: PageSize);

    /// Directory pages were unlinked and are about to be freed: drop cached page-walk
    /// entries (H_RPT_INVALIDATE type 0x5).
    fn invalidate_page_walk_cache(&mut self);
}

impl<T: Invalidate + ?Sized> Invalidate for &mut T {
    fn invalidate_range(&mut self, start: GuestRealAddr, len: u64, size: PageSize) {
        (**self).invalidate_range(start, len, size);
    }
    fn invalidate_page_walk_cache(&mut self) {
        (**self).invalidate_page_walk_cache();
    }
}

/// Invalidation that does nothing: right for QEMU's nested-PAPR L0, which keeps no L2
/// translations across an `H_GUEST_RUN_VCPU` return and has no invalidation hcall.
///
/// ```
/// use papr_mmu_radix::{GuestRealAddr, Invalidate, NoInvalidate, PageSize};
/// NoInvalidate.invalidate_range(GuestRealAddr(0), 0x1000, PageSize::Size4K);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct NoInvalidate;

impl Invalidate for NoInvalidate {
    fn invalidate_range(&mut self, _start: GuestRealAddr, _len: u64, _size: PageSize) {}
    fn invalidate_page_walk_cache(&mut self) {}
}
