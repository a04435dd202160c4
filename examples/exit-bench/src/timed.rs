//! [`TimedHcall`]: times each `H_GUEST_RUN_VCPU` with the timebase right around its `sc 1`
//! (the time the L0 and the L2 took), and every other hcall apart, and counts them, into
//! counters anyone can read ([`run_ticks`], [`other_ticks`], [`count`], [`total`]).

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};
use papr_hcall::{opcode, Hcall, HcallOutput};
use papr_nestedv2::stamps::{self, Phase};

/// Timebase ticks inside all RUNs so far.
static RUN_TICKS: AtomicU64 = AtomicU64::new(0);
/// RUNs so far.
static RUNS: AtomicU64 = AtomicU64::new(0);

/// Timebase ticks inside all other hcalls so far.
static OTHER_TICKS: AtomicU64 = AtomicU64::new(0);

/// The other hcalls counted apart: `H_GUEST_GET_STATE`, `H_GUEST_SET_STATE`.
const COUNTED: [u64; 2] = [opcode::H_GUEST_GET_STATE, opcode::H_GUEST_SET_STATE];
/// Calls of each of [`COUNTED`] so far, then of every other opcode.
static COUNTS: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];

/// Calls of `op` so far (`H_GUEST_RUN_VCPU`, `H_GUEST_GET_STATE`, `H_GUEST_SET_STATE`;
/// 0 for any other).
pub fn count(op: u64) -> u64 {
    if op == opcode::H_GUEST_RUN_VCPU {
        return RUNS.load(Relaxed);
    }
    COUNTED
        .iter()
        .position(|&o| o == op)
        .and_then(|i| COUNTS.get(i))
        .map_or(0, |c| c.load(Relaxed))
}

/// Every hcall so far.
pub fn total() -> u64 {
    RUNS.load(Relaxed) + COUNTS.iter().map(|c| c.load(Relaxed)).sum::<u64>()
}

/// Ticks inside hcalls other than `H_GUEST_RUN_VCPU` so far (the L0's share of what is
/// not the run: state GETs and SETs).
pub fn other_ticks() -> u64 {
    OTHER_TICKS.load(Relaxed)
}

/// (ticks inside `H_GUEST_RUN_VCPU`, RUNs) so far.
pub fn run_ticks() -> (u64, u64) {
    (RUN_TICKS.load(Relaxed), RUNS.load(Relaxed))
}

/// Adds `n` to `counter`: a load and a store, not an atomic read-modify-write (this L1
/// makes hcalls from one CPU only; the `ldarx`/`stdcx.` loop would be part of the L1 time
/// it measures).
#[inline(always)]
fn add(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
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
        let run = op == opcode::H_GUEST_RUN_VCPU;
        let get = op == opcode::H_GUEST_GET_STATE;
        if run {
            stamps::mark(Phase::BeforeSc);
        } else if get {
            stamps::mark(Phase::BeforeGet);
        }
        let t0 = papr_baremetal::boot::timebase();
        let out = self.0.hcall(op, args);
        let dt = papr_baremetal::boot::timebase().wrapping_sub(t0);
        if get {
            stamps::mark(Phase::Get);
        }
        if run {
            stamps::mark(Phase::Sc);
            add(&RUN_TICKS, dt);
            add(&RUNS, 1);
        } else {
            add(&OTHER_TICKS, dt);
            let i = COUNTED
                .iter()
                .position(|&o| o == op)
                .unwrap_or(COUNTED.len());
            if let Some(c) = COUNTS.get(i) {
                add(c, 1);
            }
        }
        out
    }
}
