//! The `Clock` seam: the L1 timebase, for HDEC expiries, deadlines and exit timing.

use core::sync::atomic::{AtomicU64, Ordering};

/// The L1's timebase (512 MHz on POWER9/10/11 and QEMU `pseries`).
///
/// HDEC_EXPIRY_TB and deadlines are absolute values of this clock. Backends:
/// `TimebaseClock` (`mftb`, powerpc64 only), [`ManualClock`] (tests and benchmarks: time
/// moves only when told), and `MockClock` (feature `mock`).
///
/// ```
/// use papr_nestedv2::{Clock, ManualClock};
/// let c = ManualClock::new(100);
/// c.advance(5);
/// assert_eq!(c.now(), 105);
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Clock {
    /// The current timebase value.
    fn now(&self) -> u64;
}

impl<T: Clock + ?Sized> Clock for &T {
    fn now(&self) -> u64 {
        (**self).now()
    }
}

/// A clock that moves only when told (shared safely between threads).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    /// A clock reading `start`.
    pub const fn new(start: u64) -> Self {
        Self(AtomicU64::new(start))
    }
    /// Moves the clock forward by `ticks`.
    pub fn advance(&self, ticks: u64) {
        self.0.fetch_add(ticks, Ordering::Relaxed);
    }
    /// Sets the clock to `tb`.
    pub fn set(&self, tb: u64) {
        self.0.store(tb, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The timebase register (`mftb`), for a bare-metal L1 (powerpc64 only).
#[cfg(target_arch = "powerpc64")]
#[derive(Debug, Clone, Copy, Default)]
pub struct TimebaseClock;

#[cfg(target_arch = "powerpc64")]
impl Clock for TimebaseClock {
    fn now(&self) -> u64 {
        papr_hcall::TimebaseSpin::now()
    }
}
