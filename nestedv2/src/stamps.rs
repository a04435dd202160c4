//! Phase stamps of the exit path (feature `stamps`, powerpc64 only): where the L1's time
//! between two `H_GUEST_RUN_VCPU` goes, measured with the timebase on the real L0.
//!
//! [`Vcpu::run`](crate::Vcpu::run) marks the end of each of its phases ([`Phase`]); each
//! mark adds the timebase ticks since the previous mark (any phase) to its phase's sum. A
//! backend may mark [`Phase::BeforeSc`] and [`Phase::Sc`] right around the `sc 1` of the
//! run, and [`Phase::BeforeGet`] and [`Phase::Get`] around the `sc 1` of a GET
//! (`examples/exit-bench` does). Without the feature, or on another architecture, a
//! mark is nothing at all: the stamps cost nothing when not asked for.
//!
//! ```
//! use papr_nestedv2::stamps::{self, Phase};
//! stamps::mark(Phase::Loop);
//! let sums = stamps::take();
//! assert_eq!(sums.len(), Phase::COUNT);
//! ```

#[cfg(all(feature = "stamps", target_arch = "powerpc64"))]
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A phase of the exit path; a mark of it ends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// From the end of the last `run` to the start of this one: the handler, the
    /// completion, the run loop.
    Loop,
    /// The QEMU DEC quirk's read up to the `sc 1` of its GET (marked by the backend).
    BeforeGet,
    /// Inside the `sc 1` of that GET (marked by the backend).
    Get,
    /// The QEMU DEC quirk's read and correction (after the GET when the backend marks it).
    Dec,
    /// HDEC expiry and the flush of dirty registers into the run input.
    Flush,
    /// The run input written to L1 memory, the output poisoned.
    Write,
    /// From there to right before the `sc 1` of the run (marked by the backend).
    BeforeSc,
    /// Inside the `sc 1` of the run (marked by the backend).
    Sc,
    /// From the `sc 1` back to `run` (wrappers, result mapping, quirk bookkeeping).
    AfterSc,
    /// The run output read and applied to the register cache.
    Output,
    /// The exit decoded (and an MMIO instruction fetched and decoded).
    Decode,
    /// Statistics and the return.
    Stats,
}

impl Phase {
    /// Number of phases.
    pub const COUNT: usize = 12;
    /// Every phase, in path order.
    pub const ALL: [Phase; Self::COUNT] = [
        Phase::Loop,
        Phase::BeforeGet,
        Phase::Get,
        Phase::Dec,
        Phase::Flush,
        Phase::Write,
        Phase::BeforeSc,
        Phase::Sc,
        Phase::AfterSc,
        Phase::Output,
        Phase::Decode,
        Phase::Stats,
    ];

    /// A short name.
    ///
    /// ```
    /// assert_eq!(papr_nestedv2::stamps::Phase::Sc.name(), "sc");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Phase::Loop => "loop",
            Phase::BeforeGet => "before-get",
            Phase::Get => "get",
            Phase::Dec => "dec",
            Phase::Flush => "flush",
            Phase::Write => "write",
            Phase::BeforeSc => "before-sc",
            Phase::Sc => "sc",
            Phase::AfterSc => "after-sc",
            Phase::Output => "output",
            Phase::Decode => "decode",
            Phase::Stats => "stats",
        }
    }
}

#[cfg(all(feature = "stamps", target_arch = "powerpc64"))]
static LAST: AtomicU64 = AtomicU64::new(0);
#[cfg(all(feature = "stamps", target_arch = "powerpc64"))]
static SUMS: [AtomicU64; Phase::COUNT] = [const { AtomicU64::new(0) }; Phase::COUNT];

/// Ends `phase`: adds the ticks since the last mark to its sum (nothing without the
/// feature).
#[inline(always)]
pub fn mark(phase: Phase) {
    #[cfg(all(feature = "stamps", target_arch = "powerpc64"))]
    {
        let now = papr_hcall::TimebaseSpin::now();
        let last = LAST.swap(now, Relaxed);
        if let Some(sum) = SUMS.get(phase as usize) {
            sum.fetch_add(now.wrapping_sub(last), Relaxed);
        }
    }
    #[cfg(not(all(feature = "stamps", target_arch = "powerpc64")))]
    let _ = phase;
}

/// The sums per phase (ticks, in [`Phase::ALL`] order) since the last `take`, and zeroes
/// them; the next mark counts from now (all zero without the feature).
pub fn take() -> [u64; Phase::COUNT] {
    #[cfg(all(feature = "stamps", target_arch = "powerpc64"))]
    {
        LAST.store(papr_hcall::TimebaseSpin::now(), Relaxed);
        SUMS.each_ref().map(|s| s.swap(0, Relaxed))
    }
    #[cfg(not(all(feature = "stamps", target_arch = "powerpc64")))]
    {
        [0; Phase::COUNT]
    }
}
