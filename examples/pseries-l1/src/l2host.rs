//! Boot glue between this L1 and `papr-nestedv2`: the backend types of the one
//! [`NestedHost`], the L0 window (the only L1 memory the L0 and the L2s are given: L2 RAM,
//! tables, run buffers), and [`TimedHcall`], which times every `H_GUEST_RUN_VCPU` with the
//! timebase (round trip through the L0, per trap vector).

use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use papr_hcall::{
    opcode, CountingHcall, Hcall, HcallOutput, IdentityMemory, NestedHv, Sc1, TimebaseSpin,
};
use papr_mmu_radix::PoolAlloc;
use papr_nestedv2::{Guest, NestedHost, TimebaseClock, Vcpu};

/// The backends the L1 runs its L2s with: `sc 1` (counted, RUNs timed), identity-mapped L1
/// memory over the L0 window ([`window`]), a timebase delay and clock, and a page pool for run buffers.
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

/// Start of the L0 window: L1 memory that holds no Rust object (the heap ends at or below
/// it, the image lies below the heap), handed out by [`l1_memory`] for what the L0 and the
/// L2s reach: L2 RAM, partition-scoped tables, run buffers (and the conformance driver's pool).
pub const L0_WINDOW: u64 = 0x0200_0000;
/// Size of the L0 window: two L2s' RAM at 16 MiB-aligned addresses, their tables and run
/// buffers (checks), or the 16 MiB pool of the conformance driver.
pub const L0_WINDOW_LEN: u64 = 64 << 20;
/// End of the window once [`reserve_window`] checked it is RAM; 0 before (nothing handed out).
static WINDOW_END: AtomicU64 = AtomicU64::new(0);
/// The next free byte of the window.
static WINDOW_NEXT: AtomicU64 = AtomicU64::new(L0_WINDOW);

/// Reserves `L0_WINDOW..L0_WINDOW + L0_WINDOW_LEN` for the L0 after checking that it lies
/// below `limit` (the end of usable RAM: memory size and device tree) and above the heap's
/// end `heap_end`. Returns the window (start, end).
///
/// # Errors
/// The window and what overlaps it, as text.
pub fn reserve_window(heap_end: u64, limit: u64) -> Result<(u64, u64), String> {
    let end = L0_WINDOW + L0_WINDOW_LEN;
    if heap_end > L0_WINDOW || end > limit {
        return Err(format!(
            "L0 window {L0_WINDOW:#x}..{end:#x} does not fit between the heap's end {heap_end:#x} and the end of usable RAM {limit:#x}"
        ));
    }
    WINDOW_END.store(end, Relaxed);
    Ok((L0_WINDOW, end))
}

/// The L0 window (start, end); empty before [`reserve_window`].
pub fn window() -> (u64, u64) {
    (L0_WINDOW, WINDOW_END.load(Relaxed).max(L0_WINDOW))
}

/// The hcall API over `sc 1`, counted and timed, with L1 memory = the L0 window
/// ([`window`], identity mapped: the L1 runs in real mode).
pub fn new_hv(ticks_per_us: u64) -> Hv {
    let (start, end) = window();
    // SAFETY: the window is RAM owned by this L1 for its whole life (checked by `reserve_window` against the memory size and the device tree), identity mapped (real mode), and holds no Rust object: the heap ends at or below its start and the image lies below the heap. The L0 and the L2s only reach the run buffers, tables and L2 RAM `l1_memory` placed in it, which this program touches only through this handle.
    let mem = unsafe { IdentityMemory::new(start, end) };
    NestedHv::new(
        // SAFETY: the `Sc1` goes straight into the `NestedHv` over `mem`, which hands the L0 only addresses inside it; it comes back out only through `hcall_unchecked` to read the timer.
        CountingHcall::new(TimedHcall::new(unsafe { Sc1::new() })),
        mem,
        TimebaseSpin { ticks_per_us },
    )
}

/// `len` zeroed bytes of the L0 window at an `align`-aligned address (a power of two),
/// never given back (the L0 may use them until a guest is deleted, and the L1 powers off
/// after its last guest). `None` when the window is not reserved or has no room left.
pub fn l1_memory(len: u64, align: u64) -> Option<u64> {
    if len == 0 || !align.is_power_of_two() {
        return None;
    }
    let end = WINDOW_END.load(Relaxed);
    let mut base = 0;
    WINDOW_NEXT
        .fetch_update(Relaxed, Relaxed, |next| {
            base = next.checked_add(align - 1)? & !(align - 1);
            let top = base.checked_add(len)?;
            (top <= end).then_some(top)
        })
        .ok()?;
    // SAFETY: `base..base + len` lies inside the reserved window (checked above), which is RAM that holds no Rust object (see `reserve_window`); the bump pointer hands each byte out once, and nothing (L0 or L2) has its address yet.
    unsafe { core::ptr::write_bytes(base as usize as *mut u8, 0, len as usize) };
    Some(base)
}

/// A page pool of `len` bytes (64 KiB aligned, so a radix root fits) in the L0 window.
pub fn pool(len: u64) -> Option<PoolAlloc<1>> {
    let base = l1_memory(len, 1 << 16)?;
    PoolAlloc::new(papr_mmu_radix::L1RealAddr(base), len).ok()
}
