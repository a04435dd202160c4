//! [`TimedHcall`]: times each `H_GUEST_RUN_VCPU` with the timebase right around its `sc 1`
//! (the time the L0 and the L2 took), and every other hcall apart, and counts them, into
//! counters anyone holding the host can read ([`TimedHcall::run_ticks`],
//! [`TimedHcall::other_ticks`], [`TimedHcall::count`], [`TimedHcall::total`]). Each RUN also
//! leaves a per-exit record ([`TimedHcall::record`]): its ticks inside the RUN and the ticks
//! from the previous RUN's return to its `sc 1` (the L1 software between two RUNs), taken
//! from the same two timebase reads.
//!
//! Counters and records live in the `TimedHcall`, that is inside the host (`main` keeps the
//! host in one page-aligned page): per exit the instrumentation touches only the page the
//! exit path reads anyway (QEMU flushes its TLB on every L1↔L2 switch, so each page
//! touched per exit costs ≈ 80 ns), and reads the timebase twice, around the `sc 1`.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use papr_hcall::{opcode, Hcall, HcallOutput};
use papr_nestedv2::stamps::{self, Phase};

/// Per-RUN records kept: the last this many RUNs (2 KiB, so that the host and they share a
/// page).
pub const SLOTS: usize = 512;

/// The counters and the record ring.
#[repr(C)]
struct Counters {
    /// Timebase ticks inside all RUNs so far.
    run_ticks: AtomicU64,
    /// RUNs so far.
    runs: AtomicU64,
    /// Timebase ticks inside all other hcalls so far (while [`TimedHcall::time_other_hcalls`]
    /// is on).
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

/// The other hcalls counted apart: `H_GUEST_GET_STATE`, `H_GUEST_SET_STATE`.
const COUNTED: [u64; 2] = [opcode::H_GUEST_GET_STATE, opcode::H_GUEST_SET_STATE];

impl<H> TimedHcall<H> {
    /// Calls of `op` so far (`H_GUEST_RUN_VCPU`, `H_GUEST_GET_STATE`, `H_GUEST_SET_STATE`;
    /// 0 for any other).
    pub fn count(&self, op: u64) -> u64 {
        let c = &self.counters;
        if op == opcode::H_GUEST_RUN_VCPU {
            return c.runs.load(Relaxed);
        }
        COUNTED
            .iter()
            .position(|&o| o == op)
            .and_then(|i| c.counts.get(i))
            .map_or(0, |n| n.load(Relaxed))
    }

    /// Every hcall so far.
    pub fn total(&self) -> u64 {
        let c = &self.counters;
        c.runs.load(Relaxed) + c.counts.iter().map(|n| n.load(Relaxed)).sum::<u64>()
    }

    /// Ticks inside hcalls other than `H_GUEST_RUN_VCPU` so far (the L0's share of what is
    /// not the run: state GETs and SETs), while they were timed; `None` while they are not
    /// ([`time_other_hcalls`](Self::time_other_hcalls)).
    pub fn other_ticks(&self) -> Option<u64> {
        let c = &self.counters;
        (c.time_others.load(Relaxed) != 0).then(|| c.other_ticks.load(Relaxed))
    }

    /// Whether hcalls other than `H_GUEST_RUN_VCPU` are timed (on at start) or only
    /// counted. Timing one costs two timebase reads (≈ 30 ns each under QEMU's TCG) on the
    /// L1's side of the exit: the loop whose L1 time is judged (kernel-hcall) turns it off.
    pub fn time_other_hcalls(&self, on: bool) {
        self.counters.time_others.store(u64::from(on), Relaxed);
    }

    /// (ticks inside `H_GUEST_RUN_VCPU`, RUNs) so far.
    pub fn run_ticks(&self) -> (u64, u64) {
        let c = &self.counters;
        (c.run_ticks.load(Relaxed), c.runs.load(Relaxed))
    }

    /// The per-exit records of the RUNs after the `since`-th (a [`run_ticks`](Self::run_ticks)
    /// count), the last [`SLOTS`] at most, oldest first: (ticks inside the RUN, ticks of L1
    /// software from the previous RUN's return to it). The first RUN after `since` is left
    /// out (its "previous RUN" is from before the sample).
    pub fn records(&self, since: u64) -> Vec<(u64, u64)> {
        let runs = self.counters.runs.load(Relaxed);
        let first = since
            .saturating_add(1)
            .max(runs.saturating_sub(SLOTS as u64));
        (first..runs).filter_map(|k| self.record(k)).collect()
    }

    /// The record of RUN number `k` (0 = the first RUN), while the ring still holds it:
    /// (ticks inside it, ticks of L1 software from the previous RUN's return to it).
    pub fn record(&self, k: u64) -> Option<(u64, u64)> {
        let c = &self.counters;
        let runs = c.runs.load(Relaxed);
        if k >= runs || runs - k > SLOTS as u64 {
            return None;
        }
        let v = c.ring.get((k % SLOTS as u64) as usize)?.load(Relaxed);
        Some((u64::from(v & 0xFFFF), u64::from(v >> 16)))
    }
}

/// Adds `n` to `counter`: a load and a store, not an atomic read-modify-write (this L1
/// makes hcalls from one CPU only; the `ldarx`/`stdcx.` loop would be part of the L1 time
/// it measures).
#[inline(always)]
fn add(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

/// Wraps an [`Hcall`] and times every hcall, `H_GUEST_RUN_VCPU` apart from the others.
pub struct TimedHcall<H> {
    inner: H,
    counters: Counters,
}

impl<H> core::fmt::Debug for TimedHcall<H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TimedHcall")
            .field("runs", &self.counters.runs)
            .finish_non_exhaustive()
    }
}

impl<H> TimedHcall<H> {
    /// Wraps `inner`.
    pub fn new(inner: H) -> Self {
        Self {
            inner,
            counters: Counters {
                run_ticks: AtomicU64::new(0),
                runs: AtomicU64::new(0),
                other_ticks: AtomicU64::new(0),
                time_others: AtomicU64::new(1),
                counts: [const { AtomicU64::new(0) }; 3],
                last_return: AtomicU64::new(0),
                ring: [const { AtomicU32::new(0) }; SLOTS],
            },
        }
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
        let c = &self.counters;
        let timed = c.time_others.load(Relaxed) != 0;
        let t0 = if timed {
            papr_baremetal::boot::timebase()
        } else {
            0
        };
        let out = self.inner.hcall(op, args);
        if timed {
            let t1 = papr_baremetal::boot::timebase();
            add(&c.other_ticks, t1.wrapping_sub(t0));
        }
        if get {
            stamps::mark(Phase::Get);
        }
        // Straight-line (no search): the GET of every exit costs a few instructions.
        let counter = if get {
            &c.counts[0]
        } else if op == COUNTED[1] {
            &c.counts[1]
        } else {
            &c.counts[2]
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
        let out = self.inner.hcall(opcode::H_GUEST_RUN_VCPU, args);
        let t1 = papr_baremetal::boot::timebase();
        stamps::mark(Phase::Sc);
        let dt = t1.wrapping_sub(t0);
        let c = &self.counters;
        let k = c.runs.load(Relaxed);
        let gap = t0.wrapping_sub(c.last_return.load(Relaxed));
        let sat = |v: u64| v.min(0xFFFF) as u32;
        if let Some(slot) = c.ring.get((k % SLOTS as u64) as usize) {
            slot.store(sat(dt) | (sat(gap) << 16), Relaxed);
        }
        c.last_return.store(t1, Relaxed);
        add(&c.run_ticks, dt);
        c.runs.store(k.wrapping_add(1), Relaxed);
        out
    }
}
