//! An [`Hcall`] wrapper that counts calls per opcode: how benchmarks and the run loop prove
//! hcall counts.

use crate::opcode;
use crate::raw::{ContainedHcall, Hcall, HcallOutput, HCALL_ARGS};
use core::sync::atomic::{AtomicU64, Ordering};

// The run and the state calls first: the exit path's record is the first compare or two.
const TRACKED: [u64; 13] = [
    opcode::H_GUEST_RUN_VCPU,
    opcode::H_GUEST_GET_STATE,
    opcode::H_GUEST_SET_STATE,
    opcode::H_PUT_TERM_CHAR,
    opcode::H_SET_MODE,
    opcode::H_RPT_INVALIDATE,
    opcode::H_GUEST_GET_CAPABILITIES,
    opcode::H_GUEST_SET_CAPABILITIES,
    opcode::H_GUEST_CREATE,
    opcode::H_GUEST_CREATE_VCPU,
    opcode::H_GUEST_COPY_MEMORY,
    opcode::H_GUEST_DELETE,
    opcode::H_RTAS,
];

/// Hcall counts per opcode: what a [`CountingHcall`] records, readable on its own (see
/// [`NestedHv::counts`](crate::NestedHv::counts)) without handing out the backend.
#[derive(Debug, Default)]
pub struct HcallCounts {
    counts: [AtomicU64; TRACKED.len()],
    other: AtomicU64,
}

impl HcallCounts {
    /// Calls of `opcode` so far (opcodes without a constant in [`opcode`] count as other).
    pub fn count(&self, opcode: u64) -> u64 {
        TRACKED
            .iter()
            .position(|&o| o == opcode)
            .and_then(|i| self.counts.get(i))
            .map_or(0, |c| c.load(Ordering::Relaxed))
    }
    /// Calls of opcodes not in [`opcode`].
    pub fn other(&self) -> u64 {
        self.other.load(Ordering::Relaxed)
    }
    /// All calls.
    pub fn total(&self) -> u64 {
        self.counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum::<u64>()
            + self.other()
    }
    /// Sets every count to 0.
    pub fn reset(&self) {
        for c in &self.counts {
            c.store(0, Ordering::Relaxed);
        }
        self.other.store(0, Ordering::Relaxed);
    }
    fn record(&self, opcode: u64) {
        let slot = TRACKED
            .iter()
            .position(|&o| o == opcode)
            .and_then(|i| self.counts.get(i));
        slot.unwrap_or(&self.other).fetch_add(1, Ordering::Relaxed);
    }
}

/// Counts every hcall passed to the wrapped backend.
///
/// ```
/// use papr_hcall::{CountingHcall, Hcall, HcallOutput, opcode};
/// struct Ok0;
/// impl Hcall for Ok0 {
///     fn hcall(&self, _: u64, _: [u64; 9]) -> HcallOutput { HcallOutput::ok(0) }
/// }
/// let h = CountingHcall::new(Ok0);
/// h.hcall(opcode::H_GUEST_RUN_VCPU, [0; 9]);
/// h.hcall(opcode::H_GUEST_RUN_VCPU, [0; 9]);
/// h.hcall(0x1234, [0; 9]);
/// assert_eq!(h.count(opcode::H_GUEST_RUN_VCPU), 2);
/// assert_eq!(h.other(), 1);
/// assert_eq!(h.total(), 3);
/// h.reset();
/// assert_eq!(h.counts().total(), 0);
/// ```
#[derive(Debug, Default)]
pub struct CountingHcall<H> {
    inner: H,
    counts: HcallCounts,
}

impl<H> CountingHcall<H> {
    /// Wraps `inner` with all counts 0.
    pub fn new(inner: H) -> Self {
        Self {
            inner,
            counts: HcallCounts::default(),
        }
    }
    /// Calls of `opcode` so far (opcodes without a constant in [`opcode`] count as other).
    pub fn count(&self, opcode: u64) -> u64 {
        self.counts.count(opcode)
    }
    /// Calls of opcodes not in [`opcode`].
    pub fn other(&self) -> u64 {
        self.counts.other()
    }
    /// All calls.
    pub fn total(&self) -> u64 {
        self.counts.total()
    }
    /// Sets every count to 0.
    pub fn reset(&self) {
        self.counts.reset();
    }
    /// The counts alone.
    pub fn counts(&self) -> &HcallCounts {
        &self.counts
    }
    /// The wrapped backend.
    pub fn inner(&self) -> &H {
        &self.inner
    }
}

impl<H: Hcall> Hcall for CountingHcall<H> {
    fn hcall(&self, opcode: u64, args: [u64; HCALL_ARGS]) -> HcallOutput {
        self.counts.record(opcode);
        self.inner.hcall(opcode, args)
    }
}

// SAFETY: counting touches only the counters; every hcall goes to the contained `H`.
unsafe impl<H: ContainedHcall> ContainedHcall for CountingHcall<H> {}
