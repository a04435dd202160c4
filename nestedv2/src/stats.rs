//! Exit statistics: how many exits of each kind, and how much time they took.

use crate::exit::ExitKind;
use core::fmt;

/// Counts and times per [`ExitKind`], in timebase ticks of the vCPU's [`Clock`](crate::Clock).
///
/// * **run** ticks: from just before `H_GUEST_RUN_VCPU` is prepared (flush) to the decoded
///   exit — the L0 round trip plus the L1's build/parse work;
/// * **handle** ticks: from the decoded exit to the end of its handling in
///   [`Vcpu::run_loop`](crate::Vcpu::run_loop) (page mapping, the VMM's handler).
///
/// ```
/// use papr_nestedv2::{ExitKind, ExitStats};
/// let mut s = ExitStats::default();
/// s.record(ExitKind::Hdec, 100, 7);
/// s.record(ExitKind::Hdec, 300, 1);
/// assert_eq!(s.count(ExitKind::Hdec), 2);
/// assert_eq!(s.mean_run_ticks(ExitKind::Hdec), Some(200));
/// assert_eq!(s.total(), 2);
/// assert!(s.to_string().contains("hdec"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExitStats {
    counts: [u64; ExitKind::COUNT],
    run_ticks: [u64; ExitKind::COUNT],
    handle_ticks: [u64; ExitKind::COUNT],
}

impl ExitStats {
    /// Records one exit of `kind`.
    pub fn record(&mut self, kind: ExitKind, run_ticks: u64, handle_ticks: u64) {
        let i = kind.index();
        if let Some(c) = self.counts.get_mut(i) {
            *c = c.saturating_add(1);
        }
        if let Some(t) = self.run_ticks.get_mut(i) {
            *t = t.saturating_add(run_ticks);
        }
        if let Some(t) = self.handle_ticks.get_mut(i) {
            *t = t.saturating_add(handle_ticks);
        }
    }

    /// Adds handling time to the last exit of `kind` (the run loop measures it after the
    /// exit was recorded).
    pub fn add_handle_ticks(&mut self, kind: ExitKind, ticks: u64) {
        if let Some(t) = self.handle_ticks.get_mut(kind.index()) {
            *t = t.saturating_add(ticks);
        }
    }

    /// Exits of `kind` so far.
    pub fn count(&self, kind: ExitKind) -> u64 {
        self.counts.get(kind.index()).copied().unwrap_or(0)
    }

    /// Total run ticks of exits of `kind`.
    pub fn run_ticks(&self, kind: ExitKind) -> u64 {
        self.run_ticks.get(kind.index()).copied().unwrap_or(0)
    }

    /// Total handling ticks of exits of `kind`.
    pub fn handle_ticks(&self, kind: ExitKind) -> u64 {
        self.handle_ticks.get(kind.index()).copied().unwrap_or(0)
    }

    /// Mean run ticks per exit of `kind`, if there was one.
    pub fn mean_run_ticks(&self, kind: ExitKind) -> Option<u64> {
        self.run_ticks(kind).checked_div(self.count(kind))
    }

    /// All exits.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Sets everything to zero.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

impl fmt::Display for ExitStats {
    /// One line per kind that occurred: `kind count run-ticks handle-ticks`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for k in ExitKind::ALL {
            let n = self.count(k);
            if n != 0 {
                writeln!(
                    f,
                    "{:<22}{:>10} exits {:>14} run ticks {:>12} handle ticks",
                    k.name(),
                    n,
                    self.run_ticks(k),
                    self.handle_ticks(k)
                )?;
            }
        }
        Ok(())
    }
}
