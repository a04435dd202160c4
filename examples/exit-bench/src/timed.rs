//! [`TimedHcall`]: times each `H_GUEST_RUN_VCPU` with the timebase right around its `sc 1`
//! (the time the L0 and the L2 took), and every other hcall apart, into counters anyone can
//! read ([`run_ticks`], [`other_ticks`]).

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use papr_hcall::{opcode, Hcall, HcallOutput};

/// Timebase ticks inside all RUNs so far.
static RUN_TICKS: AtomicU64 = AtomicU64::new(0);
/// RUNs so far.
static RUNS: AtomicU64 = AtomicU64::new(0);

/// Timebase ticks inside all other hcalls so far.
static OTHER_TICKS: AtomicU64 = AtomicU64::new(0);

/// Ticks inside hcalls other than `H_GUEST_RUN_VCPU` so far (the L0's share of what is
/// not the run: state GETs and SETs).
pub fn other_ticks() -> u64 {
    OTHER_TICKS.load(Relaxed)
}

/// (ticks inside `H_GUEST_RUN_VCPU`, RUNs) so far.
pub fn run_ticks() -> (u64, u64) {
    (RUN_TICKS.load(Relaxed), RUNS.load(Relaxed))
}

/// Wraps an [`Hcall`] and times every hcall, `H_GUEST_RUN_VCPU` apart from the others.
#[derive(Debug)]
pub struct TimedHcall<H>(H);

impl<H> TimedHcall<H> {
    /// Wraps `inner`.
    pub fn new(inner: H) -> Self {
        Self(inner)
    }
}

impl<H: Hcall> Hcall for TimedHcall<H> {
    fn hcall(&self, op: u64, args: [u64; 9]) -> HcallOutput {
        let t0 = papr_baremetal::boot::timebase();
        let out = self.0.hcall(op, args);
        let dt = papr_baremetal::boot::timebase().wrapping_sub(t0);
        if op == opcode::H_GUEST_RUN_VCPU {
            RUN_TICKS.fetch_add(dt, Relaxed);
            RUNS.fetch_add(1, Relaxed);
        } else {
            OTHER_TICKS.fetch_add(dt, Relaxed);
        }
        out
    }
}
