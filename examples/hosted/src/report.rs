//! What the vCPU thread reports when the L2 exits: its status, the exit statistics and the
//! hcalls the L1 made to the L0.

use papr_nestedv2::{ExitKind, ExitStats};
use std::fmt;

/// Hcalls the L1 made to the L0 (counted by `papr_hcall::CountingHcall`), since the host
/// was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HcallCounts {
    /// `H_GUEST_RUN_VCPU`.
    pub run_vcpu: u64,
    /// `H_GUEST_GET_STATE`.
    pub get_state: u64,
    /// `H_GUEST_SET_STATE`.
    pub set_state: u64,
    /// Every hcall.
    pub total: u64,
}

/// The L2's exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// The status the L2 passed to the exit hcall.
    pub status: u64,
    /// Exits of the vCPU, by kind, with timebase ticks.
    pub stats: ExitStats,
    /// Hcalls to the L0.
    pub hcalls: HcallCounts,
    /// The device's scratch register at the exit.
    pub scratch: u32,
}

impl fmt::Display for Report {
    /// The exit statistics table (kinds that occurred, then the total) and the hcall line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        writeln!(
            f,
            "{:<18} {:>6} {:>12} {:>12} {:>12}",
            "exit kind", "exits", "run ticks", "mean run", "handle ticks"
        )?;
        writeln!(f, "{}", "-".repeat(64))?;
        let (mut run, mut handle) = (0u64, 0u64);
        for k in ExitKind::ALL {
            let n = s.count(k);
            if n == 0 {
                continue;
            }
            run = run.saturating_add(s.run_ticks(k));
            handle = handle.saturating_add(s.handle_ticks(k));
            writeln!(
                f,
                "{:<18} {:>6} {:>12} {:>12} {:>12}",
                k.name(),
                n,
                s.run_ticks(k),
                s.mean_run_ticks(k).unwrap_or(0),
                s.handle_ticks(k)
            )?;
        }
        writeln!(f, "{}", "-".repeat(64))?;
        writeln!(
            f,
            "{:<18} {:>6} {:>12} {:>12} {:>12}",
            "total",
            s.total(),
            run,
            run.checked_div(s.total()).unwrap_or(0),
            handle
        )?;
        writeln!(
            f,
            "(ticks of the software L0's 512 MHz timebase, which moves only when the L2 idles)"
        )?;
        let h = &self.hcalls;
        writeln!(
            f,
            "hcalls to the L0: {} in all, {} H_GUEST_RUN_VCPU, {} H_GUEST_GET_STATE, {} H_GUEST_SET_STATE",
            h.total, h.run_vcpu, h.get_state, h.set_state
        )
    }
}
