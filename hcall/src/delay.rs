//! How busy waits are spent, and how many are allowed.

/// What the retry loop does between attempts of a busy hcall.
///
/// Linux spends waits two ways, by call: lifecycle calls (capabilities, create, delete) may
/// sleep (`cond_resched` / `msleep`), state calls on the vCPU path may not (`cpu_relax` /
/// `mdelay`). `may_sleep` carries that distinction to the backend.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Delay {
    /// After `H_BUSY`: give way briefly before the next attempt.
    fn relax(&self, may_sleep: bool);
    /// After `H_LONG_BUSY_*`: wait `micros` microseconds.
    fn wait_us(&self, micros: u64, may_sleep: bool);
}

impl<T: Delay + ?Sized> Delay for &T {
    fn relax(&self, may_sleep: bool) {
        (**self).relax(may_sleep)
    }
    fn wait_us(&self, micros: u64, may_sleep: bool) {
        (**self).wait_us(micros, may_sleep)
    }
}

/// How many retries a busy hcall gets before it fails with
/// [`HcallError::Timeout`](crate::HcallError::Timeout).
///
/// ```
/// use papr_hcall::RetryBudget;
/// let b = RetryBudget { max_attempts: 100, max_wait_us: 2_000_000 };
/// assert_eq!(RetryBudget::default(), b);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryBudget {
    /// Calls at most (the first included).
    pub max_attempts: u32,
    /// Long-busy waiting at most, in microseconds (a wait that would pass it is not started).
    pub max_wait_us: u64,
}

impl Default for RetryBudget {
    fn default() -> Self {
        Self {
            max_attempts: 100,
            max_wait_us: 2_000_000,
        }
    }
}

/// Busy-waits on the timebase register (bare metal, powerpc64 only).
#[cfg(target_arch = "powerpc64")]
#[derive(Debug, Clone, Copy)]
pub struct TimebaseSpin {
    /// Timebase ticks per microsecond (512 on POWER9/10: the device tree's
    /// `timebase-frequency` / 1e6).
    pub ticks_per_us: u64,
}

#[cfg(target_arch = "powerpc64")]
impl TimebaseSpin {
    /// Reads the timebase.
    pub fn now() -> u64 {
        let tb: u64;
        // SAFETY: `mftb` only reads the timebase register: no side effects, no memory access.
        unsafe { core::arch::asm!("mftb {0}", out(reg) tb, options(nomem, nostack)) };
        tb
    }
}

#[cfg(target_arch = "powerpc64")]
impl Delay for TimebaseSpin {
    fn relax(&self, _may_sleep: bool) {
        core::hint::spin_loop();
    }
    fn wait_us(&self, micros: u64, _may_sleep: bool) {
        let start = Self::now();
        let ticks = micros.saturating_mul(self.ticks_per_us);
        while Self::now().wrapping_sub(start) < ticks {
            core::hint::spin_loop();
        }
    }
}

/// Sleeps with the standard library (hosted L1s, the software L0's tests).
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy, Default)]
pub struct StdSleep;

#[cfg(feature = "std")]
impl Delay for StdSleep {
    fn relax(&self, may_sleep: bool) {
        if may_sleep {
            std::thread::yield_now();
        } else {
            core::hint::spin_loop();
        }
    }
    fn wait_us(&self, micros: u64, may_sleep: bool) {
        let d = std::time::Duration::from_micros(micros);
        if may_sleep {
            std::thread::sleep(d);
        } else {
            let t = std::time::Instant::now();
            while t.elapsed() < d {
                core::hint::spin_loop();
            }
        }
    }
}

/// A delay that does not wait: for L0s known never to answer busy, and for tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDelay;

impl Delay for NoDelay {
    fn relax(&self, _may_sleep: bool) {}
    fn wait_us(&self, _micros: u64, _may_sleep: bool) {}
}

/// A fake delay that records every wait instead of waiting (tests; feature `mock`).
#[cfg(any(test, feature = "mock"))]
#[derive(Debug, Default)]
pub struct RecordingDelay {
    waits: std::sync::Mutex<std::vec::Vec<DelayEvent>>,
}

/// One recorded wait.
#[cfg(any(test, feature = "mock"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayEvent {
    /// `relax(may_sleep)`.
    Relax {
        /// As passed.
        may_sleep: bool,
    },
    /// `wait_us(micros, may_sleep)`.
    Wait {
        /// As passed.
        micros: u64,
        /// As passed.
        may_sleep: bool,
    },
}

#[cfg(any(test, feature = "mock"))]
impl RecordingDelay {
    /// The waits so far, in order.
    pub fn events(&self) -> std::vec::Vec<DelayEvent> {
        self.waits.lock().map(|w| w.clone()).unwrap_or_default()
    }
}

#[cfg(any(test, feature = "mock"))]
impl Delay for RecordingDelay {
    fn relax(&self, may_sleep: bool) {
        if let Ok(mut w) = self.waits.lock() {
            w.push(DelayEvent::Relax { may_sleep });
        }
    }
    fn wait_us(&self, micros: u64, may_sleep: bool) {
        if let Ok(mut w) = self.waits.lock() {
            w.push(DelayEvent::Wait { micros, may_sleep });
        }
    }
}
