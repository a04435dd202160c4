//! The VMM's side of the platform: console, idling and the wall clock.

/// A calendar date and time (UTC), as RTAS `get-time-of-day` returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeOfDay {
    /// Year (e.g. 2025).
    pub year: u32,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
    /// Second, 0–59.
    pub second: u32,
    /// Nanoseconds, 0–999 999 999.
    pub nanos: u32,
}

/// Why [`Environment::idle_until`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The timebase reached the deadline.
    Timer,
    /// Console input arrived: up to 16 bytes, of which the first `.1` are valid. The
    /// platform keeps them for the L2's next `H_GET_TERM_CHAR`.
    Input([u8; 16], usize),
}

/// What the VMM provides to the platform: its console, a way to idle, and the L0's clock.
///
/// ```
/// use papr_platform::{Environment, TimeOfDay, Wake};
/// #[derive(Default)]
/// struct Log(Vec<u8>);
/// impl Environment for Log {
///     fn console_write(&mut self, bytes: &[u8]) { self.0.extend_from_slice(bytes) }
///     fn console_read(&mut self, _buf: &mut [u8]) -> usize { 0 }
///     fn idle_until(&mut self, _timebase: u64) -> Wake { Wake::Timer }
///     fn time_of_day(&mut self) -> Option<TimeOfDay> { None }
/// }
/// let mut l = Log::default();
/// l.console_write(b"hi");
/// assert_eq!(l.0, b"hi");
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Environment {
    /// Writes the L2's console output (`H_PUT_TERM_CHAR`, RTAS `ibm,os-term`).
    fn console_write(&mut self, bytes: &[u8]);

    /// Polls the console for input without blocking; returns how many bytes of `buf` it
    /// filled (0 when there is none).
    fn console_read(&mut self, buf: &mut [u8]) -> usize;

    /// Idles until the L1 timebase reaches `timebase` or console input arrives, whichever
    /// comes first: for `H_CEDE` of the one vCPU of a [`Platform`](crate::Platform). (A
    /// [`Board`](crate::Board)'s vCPUs give the L1 CPU back instead, and the VMM waits with
    /// [`Board::idle`](crate::Board::idle), which does not hold the board's lock.)
    fn idle_until(&mut self, timebase: u64) -> Wake;

    /// The L0's wall clock (the VMM forwards to the L1's RTAS), or `None` when it has none.
    fn time_of_day(&mut self) -> Option<TimeOfDay>;

    /// vCPU `vcpu`, not the one whose exit is being handled, has new work: its ICP now
    /// presents an interrupt (`H_IPI`), `H_PROD` named it, or RTAS `start-cpu` started it.
    /// A VMM running vCPUs on several L1 CPUs makes the L1 CPU running (or idling for)
    /// that vCPU look at the [`Board`](crate::Board) again — e.g. an IPI that ends its
    /// `H_GUEST_RUN_VCPU`; on one L1 CPU the scheduler asks the board anyway, and the
    /// default does nothing.
    fn kick(&mut self, vcpu: u64) {
        let _ = vcpu;
    }
}
