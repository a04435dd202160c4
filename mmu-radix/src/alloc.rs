//! The `TableAlloc` seam and a bitmap pool allocator usable on bare metal.

use crate::addr::L1RealAddr;
use crate::error::RadixError;

/// The two table page sizes the tree uses.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TableSize {
    /// The root directory: 8192 entries, 64 KiB, 64 KiB aligned.
    Root,
    /// A PUD, PMD or PTE table: 512 entries, 4 KiB, 4 KiB aligned.
    Dir,
}

impl TableSize {
    /// Size (and required alignment) in bytes.
    #[must_use]
    pub const fn bytes(self) -> u64 {
        match self {
            Self::Root => 1 << 16,
            Self::Dir => 1 << 12,
        }
    }
}

/// Where table pages come from.
///
/// Pages must be aligned to their size and inside memory the [`crate::TableMemory`] reaches.
/// Their contents need not be zero: [`crate::RadixTable`] zeroes each page before linking it.
///
/// ```
/// use papr_mmu_radix::{L1RealAddr, PoolAlloc, TableAlloc, TableSize};
/// let mut pool = PoolAlloc::<1>::new(L1RealAddr(0x10_0000), 0x2_0000).unwrap();
/// assert_eq!(pool.available(TableSize::Root), 2);
/// let root = pool.alloc(TableSize::Root).unwrap();
/// assert!(root.is_aligned(0x1_0000));
/// let dir = pool.alloc(TableSize::Dir).unwrap();
/// assert_eq!(pool.available(TableSize::Dir), 32 - 16 - 1);
/// pool.free(dir, TableSize::Dir);
/// assert_eq!(pool.available(TableSize::Dir), 16);
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait TableAlloc {
    /// A fresh page of `size` bytes aligned to `size`, or `None` when exhausted.
    fn alloc(&mut self, size: TableSize) -> Option<L1RealAddr>;

    /// Returns a page obtained from [`TableAlloc::alloc`] with the same `size`.
    fn free(&mut self, addr: L1RealAddr, size: TableSize);

    /// How many pages of `size` the next calls to `alloc` will certainly provide (a lower
    /// bound; `usize::MAX` if unbounded). `RadixTable::map` checks this before writing.
    fn available(&self, size: TableSize) -> usize;
}

impl<T: TableAlloc + ?Sized> TableAlloc for &mut T {
    fn alloc(&mut self, size: TableSize) -> Option<L1RealAddr> {
        (**self).alloc(size)
    }
    fn free(&mut self, addr: L1RealAddr, size: TableSize) {
        (**self).free(addr, size);
    }
    fn available(&self, size: TableSize) -> usize {
        (**self).available(size)
    }
}

const PAGE: u64 = 1 << 12;
const ROOT_PAGES: u64 = 16;

/// A bitmap allocator over a caller-given L1 real range: one bit per 4 KiB page, `WORDS` × 64
/// pages at most (the default, 64 words, tracks 16 MiB). No heap, so it works bare-metal.
///
/// Roots take 16 free pages at a 64 KiB-aligned L1 real address; directory pages take one.
/// Freed pages are reused. `free` of an address the pool does not own is ignored.
#[derive(Clone, Debug)]
pub struct PoolAlloc<const WORDS: usize = 64> {
    base: L1RealAddr,
    pages: u64,
    used: [u64; WORDS],
    free_pages: usize,
    hint: usize,
}

impl<const WORDS: usize> PoolAlloc<WORDS> {
    /// A pool over `[base, base + len)`; `len` is rounded down to whole pages.
    ///
    /// # Errors
    /// [`RadixError::Misaligned`] if `base` is not 4 KiB aligned; [`RadixError::PoolTooLarge`]
    /// if the range holds more than `WORDS * 64` pages; [`RadixError::L1OutOfRange`] if it
    /// wraps.
    pub fn new(base: L1RealAddr, len: u64) -> Result<Self, RadixError> {
        if !base.is_aligned(PAGE) {
            return Err(RadixError::Misaligned {
                what: "pool base",
                value: base.0,
                align: PAGE,
            });
        }
        if base.checked_add(len).is_none() {
            return Err(RadixError::L1OutOfRange { l1_ra: base.0, len });
        }
        let pages = len / PAGE;
        let capacity = (WORDS as u64) * 64;
        if pages > capacity {
            return Err(RadixError::PoolTooLarge { pages, capacity });
        }
        let mut used = [u64::MAX; WORDS];
        for (i, w) in used.iter_mut().enumerate() {
            let first = i as u64 * 64;
            if first + 64 <= pages {
                *w = 0;
            } else if first < pages {
                *w = u64::MAX << (pages - first);
            }
        }
        // `pages` fits in usize: it is at most WORDS * 64.
        #[allow(clippy::cast_possible_truncation)]
        let free_pages = pages as usize;
        Ok(Self {
            base,
            pages,
            used,
            free_pages,
            hint: 0,
        })
    }

    /// Pages the pool covers.
    #[must_use]
    pub const fn pages(&self) -> u64 {
        self.pages
    }

    fn is_used(&self, page: u64) -> bool {
        self.used
            .get((page / 64) as usize)
            .is_none_or(|w| w & (1 << (page % 64)) != 0)
    }

    fn set(&mut self, page: u64, used: bool) {
        if let Some(w) = self.used.get_mut((page / 64) as usize) {
            let bit = 1 << (page % 64);
            let was = *w & bit != 0;
            if used {
                *w |= bit;
            } else {
                *w &= !bit;
            }
            match (was, used) {
                (false, true) => self.free_pages -= 1,
                (true, false) => self.free_pages += 1,
                _ => {}
            }
        }
    }

    fn addr(&self, page: u64) -> L1RealAddr {
        self.base.wrapping_add(page * PAGE)
    }

    /// Index of the first page whose address is 64 KiB aligned.
    fn first_root_page(&self) -> u64 {
        let mis = self.base.0 % TableSize::Root.bytes();
        if mis == 0 {
            0
        } else {
            (TableSize::Root.bytes() - mis) / PAGE
        }
    }

    fn root_runs(&self) -> impl Iterator<Item = u64> + '_ {
        let first = self.first_root_page();
        let pages = self.pages;
        (0..)
            .map(move |k| first + k * ROOT_PAGES)
            .take_while(move |p| p + ROOT_PAGES <= pages)
            .filter(|&p| (p..p + ROOT_PAGES).all(|q| !self.is_used(q)))
    }

    /// A free 4 KiB page (4 KiB aligned), or `None` when the pool is full. The same pages
    /// serve as directory tables ([`TableSize::Dir`]) and, for crates above, as plain L1
    /// pages (papr-nestedv2's run buffers) — one bitmap, one implementation.
    ///
    /// ```
    /// use papr_mmu_radix::{L1RealAddr, PoolAlloc};
    /// let mut pool = PoolAlloc::<1>::new(L1RealAddr(0x10_0000), 0x2000).unwrap();
    /// let a = pool.alloc_page().unwrap();
    /// let b = pool.alloc_page().unwrap();
    /// assert_eq!((a, b), (L1RealAddr(0x10_0000), L1RealAddr(0x10_1000)));
    /// assert_eq!(pool.alloc_page(), None);
    /// pool.free_page(a);
    /// assert_eq!(pool.free_pages(), 1);
    /// ```
    pub fn alloc_page(&mut self) -> Option<L1RealAddr> {
        for k in 0..WORDS {
            let i = (self.hint + k) % WORDS;
            let w = *self.used.get(i)?;
            if w != u64::MAX {
                let page = i as u64 * 64 + u64::from((!w).trailing_zeros());
                self.hint = i;
                self.set(page, true);
                return Some(self.addr(page));
            }
        }
        None
    }

    /// Returns a 4 KiB page from [`PoolAlloc::alloc_page`]; an address the pool does not own
    /// (or a misaligned one) is ignored, as is a double free.
    pub fn free_page(&mut self, addr: L1RealAddr) {
        self.free(addr, TableSize::Dir);
    }

    /// Free 4 KiB pages.
    #[must_use]
    pub const fn free_pages(&self) -> usize {
        self.free_pages
    }

    fn alloc_root(&mut self) -> Option<L1RealAddr> {
        let p = self.root_runs().next()?;
        for q in p..p + ROOT_PAGES {
            self.set(q, true);
        }
        Some(self.addr(p))
    }

    fn page_of(&self, addr: L1RealAddr, size: TableSize) -> Option<u64> {
        let off = addr.0.checked_sub(self.base.0)?;
        let page = off / PAGE;
        let n = size.bytes() / PAGE;
        (addr.is_aligned(size.bytes()) && page + n <= self.pages).then_some(page)
    }
}

impl<const WORDS: usize> TableAlloc for PoolAlloc<WORDS> {
    fn alloc(&mut self, size: TableSize) -> Option<L1RealAddr> {
        match size {
            TableSize::Dir => self.alloc_page(),
            TableSize::Root => self.alloc_root(),
        }
    }

    fn free(&mut self, addr: L1RealAddr, size: TableSize) {
        if let Some(p) = self.page_of(addr, size) {
            for q in p..p + size.bytes() / PAGE {
                self.set(q, false);
            }
            self.hint = (p / 64) as usize;
        }
    }

    fn available(&self, size: TableSize) -> usize {
        match size {
            TableSize::Dir => self.free_pages,
            TableSize::Root => self.root_runs().count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausts_and_reuses() {
        let mut p = PoolAlloc::<1>::new(L1RealAddr(0x3000), 3 * PAGE).unwrap();
        assert_eq!(p.available(TableSize::Dir), 3);
        assert_eq!(p.available(TableSize::Root), 0);
        assert_eq!(p.alloc(TableSize::Root), None);
        let a: [_; 3] = core::array::from_fn(|_| p.alloc(TableSize::Dir).unwrap());
        assert_eq!(
            a,
            [L1RealAddr(0x3000), L1RealAddr(0x4000), L1RealAddr(0x5000)]
        );
        assert_eq!(p.alloc(TableSize::Dir), None);
        p.free(L1RealAddr(0x4000), TableSize::Dir);
        p.free(L1RealAddr(0x4000), TableSize::Dir); // double free ignored
        p.free(L1RealAddr(0x9000), TableSize::Dir); // foreign ignored
        p.free(L1RealAddr(0x4800), TableSize::Dir); // misaligned ignored
        assert_eq!(p.available(TableSize::Dir), 1);
        assert_eq!(p.alloc(TableSize::Dir), Some(L1RealAddr(0x4000)));
    }

    #[test]
    fn roots_are_64k_aligned() {
        let mut p = PoolAlloc::<1>::new(L1RealAddr(0xF000), 0x2_1000).unwrap();
        assert_eq!(p.available(TableSize::Root), 2);
        let r = p.alloc(TableSize::Root).unwrap();
        assert_eq!(r, L1RealAddr(0x1_0000));
        assert_eq!(p.available(TableSize::Root), 1);
        let d = p.alloc(TableSize::Dir).unwrap();
        assert_eq!(d, L1RealAddr(0xF000));
        p.free(r, TableSize::Root);
        assert_eq!(p.available(TableSize::Root), 2);
        assert_eq!(p.available(TableSize::Dir), 32);
    }

    #[test]
    fn constructor_errors() {
        assert!(matches!(
            PoolAlloc::<1>::new(L1RealAddr(0x10), PAGE),
            Err(RadixError::Misaligned { .. })
        ));
        assert!(matches!(
            PoolAlloc::<1>::new(L1RealAddr(0), 65 * PAGE),
            Err(RadixError::PoolTooLarge {
                pages: 65,
                capacity: 64
            })
        ));
        assert!(matches!(
            PoolAlloc::<1>::new(L1RealAddr(u64::MAX - 0xFFF), 2 * PAGE),
            Err(RadixError::L1OutOfRange { .. })
        ));
    }

    #[test]
    fn many_words() {
        let mut p = PoolAlloc::<4>::new(L1RealAddr(0), 200 * PAGE).unwrap();
        for _ in 0..200 {
            assert!(p.alloc(TableSize::Dir).is_some());
        }
        assert_eq!(p.alloc(TableSize::Dir), None);
        p.free(L1RealAddr(150 * PAGE), TableSize::Dir);
        assert_eq!(p.alloc(TableSize::Dir), Some(L1RealAddr(150 * PAGE)));
    }
}
