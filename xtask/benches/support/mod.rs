//! What every criterion bench of the workspace shares, included as a `#[path]` module
//! (`#[path = "../../xtask/benches/support/mod.rs"] mod support;`): no dependency, so each
//! library crate can use it without a new dev-dependency.
//!
//! * [`targets`]: the one table of targets, and the `bench-figure:` lines `cargo xtask
//!   bench` reads;
//! * a counting global allocator (installed by including this module) and [`measure`],
//!   which resets the count right before the timed loop and reads it right after, so setup
//!   never counts;
//! * [`emit`]: prints a figure, its target and verdict for people, and its machine line.
// Bench code: a figure without a row, or a missed exact count in a smoke run, stops the bench.
#![allow(dead_code, clippy::panic)]

pub mod targets;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The system allocator, counting every allocation (and reallocation).
#[derive(Debug)]
pub struct CountingAlloc;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator, which meets the
// `GlobalAlloc` contract; the only addition is an atomic counter.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(p, l, new_size) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Allocations made since the process started (or the last [`measure`]).
pub fn allocations() -> u64 {
    ALLOCS.load(Ordering::Relaxed)
}

/// Whether the bench runs for real (`cargo bench` passes `--bench`), not as the one-shot
/// smoke run of `cargo test --all-targets`.
pub fn full() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// What [`measure`] found.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Median over the batches of the time per call.
    pub per_call: Duration,
    /// Calls made in the timed loop.
    pub calls: u64,
    /// Heap allocations made in the timed loop (by anything on any thread).
    pub allocs: u64,
}

impl Measured {
    /// Nanoseconds per call.
    pub fn ns(&self) -> f64 {
        self.per_call.as_nanos() as f64
    }

    /// Allocations per call.
    pub fn allocs_per_call(&self) -> f64 {
        self.allocs as f64 / self.calls.max(1) as f64
    }
}

/// Calls `f(i)` `batches` × `iters` times; the median time per call over the batches, and
/// the allocations counted from right before the first call to right after the last.
pub fn measure(batches: usize, iters: usize, mut f: impl FnMut(u64)) -> Measured {
    let batches = batches.max(1);
    let iters = iters.max(1);
    let mut times: Vec<Duration> = Vec::with_capacity(batches);
    ALLOCS.store(0, Ordering::Relaxed);
    for _ in 0..batches {
        let t = Instant::now();
        for i in 0..iters {
            f(i as u64);
        }
        times.push(t.elapsed() / iters as u32);
    }
    let allocs = ALLOCS.load(Ordering::Relaxed);
    times.sort();
    Measured {
        per_call: times.get(times.len() / 2).copied().unwrap_or_default(),
        calls: (batches * iters) as u64,
        allocs,
    }
}

/// Prints `figure` = `value` for people (with its target and verdict from
/// [`targets::TARGETS`]) and as the machine line `cargo xtask bench` reads. Returns whether
/// it met its target (`None`: no target). A figure missing from the table is a bug of
/// the bench: it stops it.
pub fn emit(figure: &str, value: f64) -> Option<bool> {
    let Some(t) = targets::target(figure) else {
        panic!("bench figure {figure:?} has no row in support/targets.rs TARGETS");
    };
    let met = t.goal.met(value);
    let verdict = match met {
        Some(true) => "pass",
        Some(false) => "MISS",
        None => "info",
    };
    println!(
        "  {:<62} {:>12.3} {:<8} target {:<16} {verdict}",
        t.what,
        value,
        t.unit,
        t.goal.describe(t.unit)
    );
    println!("{}", targets::figure_line(figure, value));
    met
}

/// Emits every figure, then, in a smoke run only, fails on a missed exact count (hcalls,
/// allocations: deterministic, so `cargo test --all-targets` catches them). Timings are
/// never asserted (noisy machines); `cargo bench` reports every miss and carries on.
pub fn emit_all(figures: &[(&str, f64)]) {
    let mut missed = Vec::new();
    for &(figure, value) in figures {
        if emit(figure, value) == Some(false) {
            if let Some(t) = targets::target(figure) {
                if matches!(t.goal, targets::Goal::Exactly(_)) {
                    missed.push(format!(
                        "{figure} = {value} (target {})",
                        t.goal.describe(t.unit)
                    ));
                }
            }
        }
    }
    if !full() && !missed.is_empty() {
        panic!("exact-count targets missed: {}", missed.join("; "));
    }
}
