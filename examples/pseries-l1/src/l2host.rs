//! Boot glue between this L1 and `papr-nestedv2`: the backend types of the one
//! [`NestedHost`], L1 memory for L2 RAM and tables, and [`TimedHcall`], which times every
//! `H_GUEST_RUN_VCPU` with the timebase (round trip through the L0, per trap vector).

use alloc::alloc::{alloc_zeroed, Layout};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use papr_hcall::{
    opcode, CountingHcall, Hcall, HcallOutput, IdentityMemory, NestedHv, Sc1, TimebaseSpin,
};
use papr_mmu_radix::PoolAlloc;
use papr_nestedv2::{Guest, NestedHost, TimebaseClock, Vcpu};

/// The backends the L1 runs its L2s with: `sc 1` (counted, RUNs timed), identity-mapped L1
/// memory over the heap, a timebase delay and clock, and a page pool for run buffers.
pub type Parts = (
    CountingHcall<TimedHcall<Sc1>>,
    IdentityMemory,
    TimebaseSpin,
    TimebaseClock,
    PoolAlloc<1>,
);
/// The L1's one handle on the L0.
pub type Host = NestedHost<Parts>;
/// The hcall API (the lifecycle checks use it directly, through [`Host::with_hv`]).
pub type Hv = papr_nestedv2::Hv<Parts>;
/// A guest; its partition-scoped table takes pages from its own pool.
pub type L2Guest<'h> = Guest<'h, Parts, PoolAlloc<1>>;
/// A vCPU of an [`L2Guest`].
pub type L2Vcpu<'g, 'h> = Vcpu<'g, 'h, Parts, PoolAlloc<1>>;

/// Traps [`TimedHcall`] keeps apart; everything else is counted in the last slot.
pub const TRAPS: [(u64, &str); 6] = [
    (0xC00, "0xC00 hcall"),
    (0xE00, "0xE00 HDSI"),
    (0xE20, "0xE20 HISI"),
    (0xE40, "0xE40 HEAI"),
    (0x980, "0x980 HDEC"),
    (0, "other"),
];

/// Per-trap RUN statistics of a [`TimedHcall`] (timebase ticks).
#[derive(Debug, Default, Clone, Copy)]
pub struct RunTimes {
    /// RUNs per trap ([`TRAPS`] order).
    pub count: [u64; 6],
    /// Ticks inside `H_GUEST_RUN_VCPU` per trap.
    pub total: [u64; 6],
    /// Longest RUN per trap.
    pub max: [u64; 6],
}

impl RunTimes {
    /// All RUNs.
    pub fn runs(&self) -> u64 {
        self.count.iter().sum()
    }
    /// Ticks inside all RUNs.
    pub fn ticks(&self) -> u64 {
        self.total.iter().sum()
    }
}

/// Wraps an [`Hcall`] and times each `H_GUEST_RUN_VCPU` (`mftb` right around the `sc 1`),
/// by the trap the L0 answered (r4). Other hcalls pass through untouched.
#[derive(Debug, Default)]
pub struct TimedHcall<H> {
    inner: H,
    count: [AtomicU64; 6],
    total: [AtomicU64; 6],
    max: [AtomicU64; 6],
}

impl<H> TimedHcall<H> {
    /// Wraps `inner`.
    pub fn new(inner: H) -> Self {
        Self {
            inner,
            count: Default::default(),
            total: Default::default(),
            max: Default::default(),
        }
    }

    /// Forgets what was measured.
    pub fn reset(&self) {
        for a in self.count.iter().chain(&self.total).chain(&self.max) {
            a.store(0, Relaxed);
        }
    }

    /// What was measured so far.
    pub fn times(&self) -> RunTimes {
        let mut t = RunTimes::default();
        for i in 0..TRAPS.len() {
            t.count[i] = self.count[i].load(Relaxed);
            t.total[i] = self.total[i].load(Relaxed);
            t.max[i] = self.max[i].load(Relaxed);
        }
        t
    }
}

impl<H: Hcall> Hcall for TimedHcall<H> {
    fn hcall(&self, op: u64, args: [u64; 9]) -> HcallOutput {
        if op != opcode::H_GUEST_RUN_VCPU {
            return self.inner.hcall(op, args);
        }
        let t0 = papr_baremetal::boot::timebase();
        let out = self.inner.hcall(op, args);
        let dt = papr_baremetal::boot::timebase().wrapping_sub(t0);
        let trap = if out.rc == 0 { out.ret[0] } else { u64::MAX };
        let i = TRAPS
            .iter()
            .position(|&(t, _)| t == trap)
            .unwrap_or(TRAPS.len() - 1);
        self.count[i].fetch_add(1, Relaxed);
        self.total[i].fetch_add(dt, Relaxed);
        self.max[i].fetch_max(dt, Relaxed);
        out
    }
}

/// The hcall API over `sc 1`, counted and timed, with L1 memory = the heap
/// (`heap_start..heap_end`, identity mapped: the L1 runs in real mode).
pub fn new_hv(heap_start: u64, heap_end: u64, ticks_per_us: u64) -> Hv {
    // SAFETY: the heap range is RAM owned by this L1 for its whole life, identity mapped (real mode); the L0 and the L2s only reach buffers the L1 handed them, which no Rust reference covers (run buffers, tables and L2 RAM are used through raw pointers only).
    let mem = unsafe { IdentityMemory::new(heap_start, heap_end) };
    NestedHv::new(
        // SAFETY: the `Sc1` goes straight into the `NestedHv` over `mem`, which hands the L0 only addresses inside it; it comes back out only through `hcall_unchecked` to read the timer.
        CountingHcall::new(TimedHcall::new(unsafe { Sc1::new() })),
        mem,
        TimebaseSpin { ticks_per_us },
    )
}

/// `len` zeroed bytes of heap at an `align`-aligned address, never freed (the L0 may use
/// them until a guest is deleted, and the L1 powers off after its last guest).
pub fn l1_memory(len: u64, align: u64) -> Option<u64> {
    let layout = Layout::from_size_align(len as usize, align as usize).ok()?;
    if layout.size() == 0 {
        return None;
    }
    // SAFETY: the layout has a non-zero size (checked above).
    let p = unsafe { alloc_zeroed(layout) };
    (!p.is_null()).then_some(p as u64)
}

/// A page pool of `len` bytes (64 KiB aligned, so a radix root fits) over fresh heap.
pub fn pool(len: u64) -> Option<PoolAlloc<1>> {
    let base = l1_memory(len, 1 << 16)?;
    PoolAlloc::new(papr_mmu_radix::L1RealAddr(base), len).ok()
}
