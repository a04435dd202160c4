//! `NestedHost`: the L1's one handle on the L0 (capabilities, shared hcall API).

use crate::clock::Clock;
use crate::error::Error;
use core::fmt;
use papr_hcall::{Capabilities, Delay, Hcall, L1RealAddr, Mode, Negotiated, NestedHv, RealMemory};
use papr_mmu_radix::{PoolAlloc, TableMemory};
use spin::Mutex;

/// Where the 4 KiB L1 pages for run buffers and setup scratch come from (the
/// [`Backend::Pages`] seam; mockable as `MockPageAlloc` with feature `mock`). The pages are
/// handed to the L0 (`H_GUEST_RUN_VCPU` input/output buffers, `H_GUEST_SET_STATE`
/// buffers), so they must lie in L1 memory the host's [`RealMemory`] accepts.
///
/// The implementation is [`PoolAlloc`]'s: run-buffer pages and directory tables are the
/// same 4 KiB pages, so one bitmap allocator serves both seams (its
/// [`alloc_page`](PoolAlloc::alloc_page)/[`free_page`](PoolAlloc::free_page)) instead of a
/// second copy of the bitmap code here. Give the host and each guest's table their own pools
/// (as the examples do), or implement this trait over any other page source.
///
/// ```
/// use papr_mmu_radix::{L1RealAddr, PoolAlloc};
/// use papr_nestedv2::PageAlloc;
/// let mut pages = PoolAlloc::<1>::new(L1RealAddr(0x10_0000), 0x2000).unwrap();
/// let a = PageAlloc::alloc_page(&mut pages).unwrap();
/// assert!(a.is_aligned(0x1000));
/// PageAlloc::free_page(&mut pages, a);
/// assert_eq!(pages.free_pages(), 2);
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait PageAlloc {
    /// A free 4 KiB page, 4 KiB aligned, or `None` when exhausted.
    fn alloc_page(&mut self) -> Option<L1RealAddr>;

    /// Returns a page from [`PageAlloc::alloc_page`].
    fn free_page(&mut self, page: L1RealAddr);
}

impl<const WORDS: usize> PageAlloc for PoolAlloc<WORDS> {
    fn alloc_page(&mut self) -> Option<L1RealAddr> {
        PoolAlloc::alloc_page(self)
    }
    fn free_page(&mut self, page: L1RealAddr) {
        PoolAlloc::free_page(self, page);
    }
}

impl<T: PageAlloc + ?Sized> PageAlloc for &mut T {
    fn alloc_page(&mut self) -> Option<L1RealAddr> {
        (**self).alloc_page()
    }
    fn free_page(&mut self, page: L1RealAddr) {
        (**self).free_page(page);
    }
}

/// The types a [`NestedHost`] is built from, bundled so that `Guest` and `Vcpu` carry one
/// parameter instead of five. Implemented for the tuple `(H, M, D, C, B)`.
///
/// * `Hcall`, `Memory`, `Delay` — the [`NestedHv`] backends. `Memory` is also each
///   guest's [`TableMemory`] (the radix table lives in the memory the L0 reads, through the
///   same atomic accesses) and must be `Clone`: the run loop reads L2 instructions and each
///   table writes entries through its own copy; every backend is a handle:
///   `IdentityMemory`, `VmRealMemory<GuestMemoryMmap>`, `&IdentityMemory`, `&MockRealMemory`;
/// * `Clock` — the timebase ([`Clock`]);
/// * `Pages` — where 4 KiB L1 pages for run buffers and setup scratch come from
///   ([`PageAlloc`], e.g. `papr_mmu_radix::PoolAlloc`).
pub trait Backend {
    /// The hcall seam.
    type Hcall: Hcall;
    /// L1 real memory as the L0 sees it, which also holds the guests' radix tables.
    type Memory: RealMemory + TableMemory + Clone;
    /// Busy-wait policy.
    type Delay: Delay;
    /// The timebase.
    type Clock: Clock;
    /// L1 page allocator for run buffers.
    type Pages: PageAlloc;
}

impl<H: Hcall, M: RealMemory + TableMemory + Clone, D: Delay, C: Clock, B: PageAlloc> Backend
    for (H, M, D, C, B)
{
    type Hcall = H;
    type Memory = M;
    type Delay = D;
    type Clock = C;
    type Pages = B;
}

/// The hcall API of a host.
pub type Hv<P> = NestedHv<<P as Backend>::Hcall, <P as Backend>::Memory, <P as Backend>::Delay>;

/// The L1's handle on the L0: negotiated capabilities, the typed hcall API, the clock and
/// the L1 page allocator, shared by every [`Guest`](crate::Guest) and [`Vcpu`](crate::Vcpu)
/// created from it (they borrow it).
///
/// # Sharing
/// A `NestedHost` is used by reference from every L1 CPU at once; no lock is held across
/// an hcall, so `H_GUEST_RUN_VCPU` of vCPUs on different L1 CPUs runs concurrently (each
/// for its whole time slice) instead of one after the other:
///
/// * the [`NestedHv`] sits here unlocked: its methods take `&self`, and its own registry of
///   what exists in the L0 is locked only around a lookup or an update, never across the
///   call ([`NestedHv`]'s "Concurrency");
/// * the page allocator sits in a `spin::Mutex` held for one `alloc_page`/`free_page`
///   (no_std, no OS, no allocation);
/// * the clock, the memory handle and the quirks are read-only.
///
/// `NestedHost<P>` is `Sync` when the backends are `Send + Sync` (the pages `Send`), so
/// a `&NestedHost` (and a [`Guest`](crate::Guest), which borrows it) can be shared by every
/// L1 CPU and a [`Vcpu`](crate::Vcpu) moved to the CPU that runs it. See the crate's
/// "Concurrency" section for what may run at the same time.
///
/// ```
/// use papr_hcall::*;
/// use papr_mmu_radix::PoolAlloc;
/// use papr_nestedv2::{ManualClock, NestedHost};
/// let mut h = MockHcall::new();
/// h.expect_hcall().withf(|&op, _| op == opcode::H_GUEST_GET_CAPABILITIES)
///     .return_const(HcallOutput::ok(0x6000_0000_0000_0000));
/// h.expect_hcall().withf(|&op, a| op == opcode::H_GUEST_SET_CAPABILITIES && a[1] == 0x6000_0000_0000_0000)
///     .return_const(HcallOutput::ok(0));
/// let mem = MockRealMemory::new();
/// let pages = PoolAlloc::<1>::new(L1RealAddr(0x10_0000), 0x1_0000).unwrap();
/// let host = NestedHost::negotiate(NestedHv::new(h, &mem, NoDelay), ManualClock::new(0), pages,
///     Capabilities::MODES)?;
/// assert_eq!(host.mode(), Mode::Power10);
/// # Ok::<(), papr_nestedv2::Error>(())
/// ```
pub struct NestedHost<P: Backend> {
    pub(crate) hv: Hv<P>,
    pub(crate) mem: P::Memory,
    pub(crate) clock: P::Clock,
    pub(crate) pages: Mutex<P::Pages>,
    pub(crate) quirks: Quirks,
    negotiated: Negotiated,
}

/// Workarounds for known L0 bugs, chosen per host ([`NestedHost::with_quirks`]); each is
/// named after what it corrects and is off unless asked for.
///
/// One QEMU behaviour has no workaround, only a narrow window: its HDEC is edge-triggered
/// (`_cpu_ppc_store_hdecr`, `PPC_DECR_UNDERFLOW_TRIGGERED`), so an HDEC expiry that has
/// already passed when `H_GUEST_RUN_VCPU` loads it raises no HDEC at all once the previous
/// expiry has passed too, and the L2 then runs until it exits by itself. [`Vcpu::run`](crate::Vcpu::run) sends
/// an expiry at least half a slice ahead of a timebase read taken after the DEC read and
/// before the input is built, so only a delay of that order between that read and the L0's
/// entry (the L1 or QEMU's thread descheduled, or TCG translating the run path's code for
/// the first time) loses the run's bound. Seen once: a 317 µs first-time translation
/// against a 250 µs slice.
///
/// ```
/// use papr_nestedv2::Quirks;
/// assert!(Quirks::QEMU.dec_expiry_sign);
/// assert_eq!(Quirks::default(), Quirks::NONE);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Quirks {
    /// QEMU (up to 10.0 at least, `spapr_nested.c`) saves the L2's DEC on every exit as
    /// `DEC_EXPIRY_TB = now − DEC` instead of `now + DEC`, and reloads that value at the next
    /// run: a decrementer due in the future fires at once, a pending one is deferred. The DEC
    /// it subtracts is read zero-extended from 32 bits while LPCR\[LD\] = 0
    /// (`cpu_ppc_load_decr`), so an expired DEC comes back as a large positive one. With
    /// this set, every vCPU reads DEC_EXPIRY_TB after each exit (one batched GET, before the
    /// next run or when a handler asks for it first) and sends back `t_exit + DEC`, the DEC
    /// recovered as `t_exit − reported` taken signed (32-bit, or 64-bit with
    /// [`lpcr::LD`](crate::lpcr::LD)): the real expiry ([`Vcpu::dec_expiry`](crate::Vcpu::dec_expiry)).
    /// Costs one `H_GUEST_GET_STATE` per exit.
    pub dec_expiry_sign: bool,
}

impl Quirks {
    /// No workaround: an L0 that follows the ABI.
    pub const NONE: Self = Self {
        dec_expiry_sign: false,
    };
    /// QEMU's `pseries` nested L0.
    pub const QEMU: Self = Self {
        dec_expiry_sign: true,
    };
}

impl<P: Backend> fmt::Debug for NestedHost<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NestedHost")
            .field("negotiated", &self.negotiated)
            .finish_non_exhaustive()
    }
}

impl<H, M, D, C, B> NestedHost<(H, M, D, C, B)>
where
    H: Hcall,
    M: RealMemory + TableMemory + Clone,
    D: Delay,
    C: Clock,
    B: PageAlloc,
{
    /// `H_GUEST_GET_CAPABILITIES`, then `H_GUEST_SET_CAPABILITIES` of the modes both the L0
    /// and `supported` have (as Linux does); L2s run in the highest of them.
    ///
    /// # Errors
    /// [`Error::Hcall`] (including `HcallError::NoCommonMode`).
    pub fn negotiate(
        hv: NestedHv<H, M, D>,
        clock: C,
        pages: B,
        supported: Capabilities,
    ) -> Result<Self, Error> {
        let negotiated = hv.negotiate(supported)?;
        let mem = hv.memory().clone();
        Ok(Self {
            hv,
            mem,
            clock,
            pages: Mutex::new(pages),
            quirks: Quirks::NONE,
            negotiated,
        })
    }
}

impl<P: Backend> NestedHost<P> {
    /// Turns on the workarounds in `quirks` for every vCPU of this host (set it before
    /// creating guests; [`Quirks::QEMU`] on QEMU's `pseries`).
    #[must_use]
    pub fn with_quirks(mut self, quirks: Quirks) -> Self {
        self.quirks = quirks;
        self
    }

    /// The workarounds in force.
    pub fn quirks(&self) -> Quirks {
        self.quirks
    }
}

impl<P: Backend> NestedHost<P> {
    /// What was offered and set.
    pub fn negotiated(&self) -> Negotiated {
        self.negotiated
    }

    /// The processor mode L2s run in (the highest common one).
    pub fn mode(&self) -> Mode {
        self.negotiated.mode
    }

    /// The clock.
    pub fn clock(&self) -> &P::Clock {
        &self.clock
    }

    /// L1 memory.
    pub fn memory(&self) -> &P::Memory {
        &self.mem
    }

    /// The hcall API (for calls this crate does not wrap, or to read the backend, e.g. a
    /// `CountingHcall`'s counts). Shared: other CPUs may be in an hcall through it at the
    /// same time.
    pub fn hv(&self) -> &Hv<P> {
        &self.hv
    }

    /// Runs `f` with the hcall API: [`NestedHost::hv`] as a closure, kept for callers
    /// written when the API sat behind a lock (nothing is locked now).
    pub fn with_hv<R>(&self, f: impl FnOnce(&Hv<P>) -> R) -> R {
        f(&self.hv)
    }

    /// Runs `f` with the L1 page allocator locked.
    pub fn with_pages<R>(&self, f: impl FnOnce(&mut P::Pages) -> R) -> R {
        f(&mut self.pages.lock())
    }

    /// A 4 KiB L1 page for `what`.
    pub(crate) fn alloc_page(&self, what: &'static str) -> Result<L1RealAddr, Error> {
        self.pages
            .lock()
            .alloc_page()
            .ok_or(Error::OutOfPages { what })
    }

    /// Returns a page from [`NestedHost::alloc_page`].
    pub(crate) fn free_page(&self, at: L1RealAddr) {
        self.pages.lock().free_page(at);
    }
}
