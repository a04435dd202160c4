//! Conformance mode (cargo feature `conformance`, issue 13): instead of the checks, runs every
//! scenario of `papr-scenarios` in session order on this fresh L0 (no capabilities set yet),
//! the L2 programs assembled into real ppc64le code, and prints the trace's identity header
//! (`H papr-scenarios …`: format version, suite hash, scenario count, `l0=qemu`) and then
//! each trace line (`T <scenario> <seq> <kind> …`) on the console as soon as its step is
//! done. Ends with `CONFORMANCE: N scenarios, M events, E driver errors (T ms)`;
//! `cargo xtask conformance` captures the console and diffs it against the software L0's
//! trace (refusing it when the header names another suite or format).

use crate::l2host::l1_memory;
use papr_baremetal::println;
use papr_hcall::{IdentityMemory, Sc1};
use papr_scenarios::trace::Identity;
use papr_scenarios::{suite, AsmBackend, Config, Driver, Recorder};

/// L1 memory for the driver's pool (tables, L2 RAM, run buffers), reused by every scenario.
const POOL: u64 = 16 << 20;

/// Runs the suite; returns (scenarios, events, driver errors), or `None` when the pool could
/// not be allocated inside the L0 window `window_start..window_end`.
pub fn run(window_start: u64, window_end: u64) -> Option<(usize, usize, usize)> {
    let base = l1_memory(POOL, 1 << 16)?;
    let end = base.checked_add(POOL)?;
    if base < window_start || end > window_end {
        return None;
    }
    // SAFETY: `base..end` is the pool just taken from the L0 window and never given back: RAM
    // owned by this L1 for its whole life, identity mapped (real mode), holding no Rust
    // object (the heap ends below the window). This handle covers only that pool, not the
    // whole window (issue 17): the driver, the L0 and the L2s reach it only through it.
    let mem = unsafe { IdentityMemory::new(base, end) };
    let backend = AsmBackend(papr_baremetal::boot::timebase);
    let rec = Recorder::new();
    // SAFETY: the driver makes its raw hcalls with its scratch page inside `mem` or with no address, and its typed ones through `NestedHv` over `mem`.
    let sc1 = unsafe { Sc1::new() };
    let mut driver = Driver::new(sc1, &mem, &backend, &rec, Config { base, len: POOL });
    let scenarios = suite::all();
    println!("{}", Identity::of(&scenarios, "qemu"));
    let (mut events, mut errors) = (0, 0);
    for s in &scenarios {
        driver.run(s, &mut |line| {
            events += 1;
            if line.kind == "error" {
                errors += 1;
            }
            println!("{line}");
        });
    }
    Some((scenarios.len(), events, errors))
}
