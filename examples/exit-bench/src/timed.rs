//! [`TimedHcall`]: times each `H_GUEST_RUN_VCPU` with the timebase right around its `sc 1`
//! (the time the L0 and the L2 took), and every other hcall apart, and counts them, into
//! counters anyone can read ([`run_ticks`], [`other_ticks`], [`count`], [`total`]). Each RUN
//! also leaves a per-exit record ([`records`]): its ticks inside the RUN and the ticks from
//! the previous RUN's return to its `sc 1` (the L1 software between two RUNs), taken from
//! the same two timebase reads.
//!
//! Counters and records share one 4 KiB page: per exit the instrumentation touches that
//! page only (QEMU flushes its TLB on every L1↔L2 switch, so each page touched per exit
//! costs), and reads the timebase twice, around the `sc 1`.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use papr_hcall::{opcode, Hcall, HcallOutput};
use papr_nestedv2::stamps::{self, Phase};

/// Per-RUN records kept: the last this many RUNs (what fits next to the counters).
pub const SLOTS: usize = 1000;

/// The counters and the record ring, in one page.
#[repr(C, align(4096))]
struct Page {
    /// Timebase ticks inside all RUNs so far.
    run_ticks: AtomicU64,
    /// RUNs so far.
    runs: AtomicU64,
    /// Timebase ticks inside all other hcalls so far (while [`time_other_hcalls`] is on).
    other_ticks: AtomicU64,
    /// Whether other hcalls are timed too (1) or only counted (0).
    time_others: AtomicU64,
    /// Calls of each of [`COUNTED`] so far, then of every other opcode.
    counts: [AtomicU64; 3],
    /// The timebase when the last RUN returned.
    last_return: AtomicU64,
    /// RUN `k` writes slot `k % SLOTS`: ticks inside it (low 16 bits) and from the last
    /// RUN's return to it (high 16 bits), each saturated at 0xFFFF (128 µs at 512 MHz).
    ring: [AtomicU32; SLOTS],
}

static PAGE: Page = Page {
    run_ticks: AtomicU64::new(0),
    runs: AtomicU64::new(0),
    other_ticks: AtomicU64::new(0),
    time_others: AtomicU64::new(1),
    counts: [const { AtomicU64::new(0) }; 3],
    last_return: AtomicU64::new(0),
    ring: [const { AtomicU32::new(0) }; SLOTS],
};

/// The other hcalls counted apart: `H_GUEST_GET_STATE`, `H_GUEST_SET_STATE`.
const COUNTED: [u64; 2] = [opcode::H_GUEST_GET_STATE, opcode::H_GUEST_SET_STATE];

/// Calls of `op` so far (`H_GUEST_RUN_VCPU`, `H_GUEST_GET_STATE`, `H_GUEST_SET_STATE`;
/// 0 for any other).
pub fn count(op: u64) -> u64 {
    if op == opcode::H_GUEST_RUN_VCPU {
        return PAGE.runs.load(Relaxed);
    }
    COUNTED
        .iter()
        .position(|&o| o == op)
        .and_then(|i| PAGE.counts.get(i))
        .map_or(0, |c| c.load(Relaxed))
}

/// Every hcall so far.
pub fn total() -> u64 {
    PAGE.runs.load(Relaxed) + PAGE.counts.iter().map(|c| c.load(Relaxed)).sum::<u64>()
}

/// Ticks inside hcalls other than `H_GUEST_RUN_VCPU` so far (the L0's share of what is
/// not the run: state GETs and SETs), while they were timed; `None` while they are not
/// ([`time_other_hcalls`]).
pub fn other_ticks() -> Option<u64> {
    (PAGE.time_others.load(Relaxed) != 0).then(|| PAGE.other_ticks.load(Relaxed))
}

/// Whether hcalls other than `H_GUEST_RUN_VCPU` are timed (on at start) or only counted.
/// Timing one costs two timebase reads (≈ 30 ns each under QEMU's TCG) on the L1's side
/// of the exit: the loop whose L1 time is judged (kernel-hcall) turns it off.
pub fn time_other_hcalls(on: bool) {
    PAGE.time_others.store(u64::from(on), Relaxed);
}

/// (ticks inside `H_GUEST_RUN_VCPU`, RUNs) so far.
pub fn run_ticks() -> (u64, u64) {
    (PAGE.run_ticks.load(Relaxed), PAGE.runs.load(Relaxed))
}

/// The per-exit records of the RUNs after the `since`-th (a [`run_ticks`] count), the last
/// [`SLOTS`] at most, oldest first: (ticks inside the RUN, ticks of L1 software from the
/// previous RUN's return to it). The first RUN after `since` is left out (its "previous
/// RUN" is from before the sample).
pub fn records(since: u64) -> Vec<(u64, u64)> {
    let runs = PAGE.runs.load(Relaxed);
    let first = since
        .saturating_add(1)
        .max(runs.saturating_sub(SLOTS as u64));
    (first..runs)
        .filter_map(|k| PAGE.ring.get((k % SLOTS as u64) as usize))
        .map(|r| {
            let v = r.load(Relaxed);
            (u64::from(v & 0xFFFF), u64::from(v >> 16))
        })
        .collect()
}

/// The record of RUN number `k` (0 = the first RUN), while the ring still holds it: (ticks
/// inside it, ticks of L1 software from the previous RUN's return to it).
pub fn record(k: u64) -> Option<(u64, u64)> {
    let runs = PAGE.runs.load(Relaxed);
    if k >= runs || runs - k > SLOTS as u64 {
        return None;
    }
    let v = PAGE.ring.get((k % SLOTS as u64) as usize)?.load(Relaxed);
    Some((u64::from(v & 0xFFFF), u64::from(v >> 16)))
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
        if op == opcode::H_GUEST_RUN_VCPU {
            return self.run(args);
        }
        let get = op == opcode::H_GUEST_GET_STATE;
        if get {
            stamps::mark(Phase::BeforeGet);
        }
        let timed = PAGE.time_others.load(Relaxed) != 0;
        let t0 = if timed {
            papr_baremetal::boot::timebase()
        } else {
            0
        };
        let out = self.0.hcall(op, args);
        if timed {
            let t1 = papr_baremetal::boot::timebase();
            add(&PAGE.other_ticks, t1.wrapping_sub(t0));
        }
        if get {
            stamps::mark(Phase::Get);
        }
        // Straight-line (no search): the GET of every exit costs a few instructions.
        let counter = if get {
            &PAGE.counts[0]
        } else if op == COUNTED[1] {
            &PAGE.counts[1]
        } else {
            &PAGE.counts[2]
        };
        add(counter, 1);
        out
    }
}

impl<H: Hcall> TimedHcall<H> {
    /// `H_GUEST_RUN_VCPU`, timed right around its `sc 1` and recorded.
    #[inline(always)]
    fn run(&self, args: [u64; 9]) -> HcallOutput {
        stamps::mark(Phase::BeforeSc);
        let t0 = papr_baremetal::boot::timebase();
        let out = self.0.hcall(opcode::H_GUEST_RUN_VCPU, args);
        let t1 = papr_baremetal::boot::timebase();
        stamps::mark(Phase::Sc);
        let dt = t1.wrapping_sub(t0);
        let k = PAGE.runs.load(Relaxed);
        let gap = t0.wrapping_sub(PAGE.last_return.load(Relaxed));
        let sat = |v: u64| v.min(0xFFFF) as u32;
        if let Some(slot) = PAGE.ring.get((k % SLOTS as u64) as usize) {
            slot.store(sat(dt) | (sat(gap) << 16), Relaxed);
        }
        PAGE.last_return.store(t1, Relaxed);
        add(&PAGE.run_ticks, dt);
        PAGE.runs.store(k.wrapping_add(1), Relaxed);
        out
    }
}
