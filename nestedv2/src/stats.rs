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
/// Statistics are **off by default**: nothing is recorded and the run path reads no clock
/// for them, so they cost nothing when not asked for. Ask for them with
/// [`set_enabled`](Self::set_enabled) (on a vCPU:
/// [`Vcpu::set_stats_enabled`](crate::Vcpu::set_stats_enabled)).
///
/// ```
/// use papr_nestedv2::{ExitKind, ExitStats};
/// let mut s = ExitStats::default();
/// s.set_enabled(true);
/// s.record(ExitKind::Hdec, 100, 7);
/// s.record(ExitKind::Hdec, 300, 1);
/// assert_eq!(s.count(ExitKind::Hdec), 2);
/// assert_eq!(s.mean_run_ticks(ExitKind::Hdec), Some(200));
/// assert_eq!(s.total(), 2);
/// assert!(s.to_string().contains("hdec"));
/// ```
///
/// ```
/// use papr_nestedv2::{ExitKind, ExitStats};
/// let mut s = ExitStats::default();
/// s.record(ExitKind::Hdec, 100, 7);
/// assert_eq!((s.is_enabled(), s.total()), (false, 0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStats {
    counts: [u64; ExitKind::COUNT],
    run_ticks: [u64; ExitKind::COUNT],
    handle_ticks: [u64; ExitKind::COUNT],
    disabled: bool,
}

impl Default for ExitStats {
    /// Disabled, all zero.
    fn default() -> Self {
        Self {
            counts: [0; ExitKind::COUNT],
            run_ticks: [0; ExitKind::COUNT],
            handle_ticks: [0; ExitKind::COUNT],
            disabled: true,
        }
    }
}

impl ExitStats {
    /// Whether exits are recorded (off by default).
    #[inline]
    pub fn is_enabled(&self) -> bool {
        !self.disabled
    }

    /// Switches recording on or off; what was recorded stays.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.disabled = !enabled;
    }

    /// Records one exit of `kind` (nothing when disabled).
    pub fn record(&mut self, kind: ExitKind, run_ticks: u64, handle_ticks: u64) {
        if self.disabled {
            return;
        }
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
        if self.disabled {
            return;
        }
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

    /// Sets every figure to zero (enabled or not stays as it is).
    pub fn reset(&mut self) {
        *self = Self {
            disabled: self.disabled,
            ..Self::default()
        };
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
