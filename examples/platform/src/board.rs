//! [`Board`]: the L2's platform shared by its vCPUs, and [`VcpuHandler`], the exit handler
//! of one of them.

use crate::env::{Environment, Wake};
use crate::error::Error;
use crate::platform::{CpuState, Outcome, Platform, PlatformConfig};
use papr_nestedv2::{Action, Exit, ExitHandler, VcpuContext};
use spin::Mutex;

/// The L2's platform shared by its vCPUs.
///
/// The board holds everything guest-wide — each vCPU's XICS presentation controller, run
/// state (stopped, starting, running, ceded), prod flag and VPA; RTAS; the console; the
/// guest-wide LPCR mode — in one [`Platform`] behind a `spin::Mutex`. A
/// [`VcpuHandler`] locks it for the handling of one exit only, so the board is
/// `Send + Sync` (for an `Environment` that is `Send`) and a VMM may run each vCPU on its
/// own L1 CPU.
///
/// # Scheduling
/// The board decides what may run, the VMM what runs:
/// * before running a vCPU the VMM calls [`Board::dispatch`]: `false` means it must stay
///   off the L1 CPU (stopped, or ceded with nothing to wake it). It sets a vCPU started
///   by RTAS `start-cpu` to its entry (NIA, r3, MSR = SF|ME, real mode), applies the
///   guest-wide LPCR mode and requests the external interrupt its ICP presents (IPIs sent
///   while it was off the L1 CPU);
/// * `H_CEDE` with nothing to wake the vCPU, `H_CONFER`, and `stop-self` answer
///   [`Action::Stop`] (r3 already set for the hcalls): `run_loop` returns, and with no
///   [`outcome`](Board::outcome) that means "run another vCPU";
/// * one L1 CPU running every vCPU round-robin asks [`Board::next`] for the next
///   runnable vCPU after the current one, and, when there is none, calls
///   [`Board::idle`], which sleeps through [`Environment::idle_until`] until the earliest
///   decrementer of a ceded vCPU (or console input);
/// * a ceded vCPU becomes runnable when its decrementer expires, its ICP presents an
///   interrupt (an `H_IPI` from another vCPU), `H_PROD` names it, or console input
///   arrives.
///
/// `run_loop` handles HDEC exits itself, so a vCPU spinning without an hcall (Linux's
/// boot CPU waiting for a secondary in `__cpu_up`, a lock holder's waiter) keeps the L1
/// CPU: a VMM time-slicing vCPUs on one L1 CPU drives `Vcpu::run`, `handle_internal`,
/// this handler and `apply` itself, and also switches vCPU on an HDEC exit.
///
/// A VMM with an L1 CPU per vCPU does not call [`Board::idle`] (it holds the lock while
/// idling): it waits on its own CPU until [`Board::runnable`] says so.
/// [`Environment::kick`] names the vCPU that got work from another one (an IPI its ICP
/// presents, `H_PROD`, `start-cpu`), so that VMM can interrupt the L1 CPU running or
/// idling for it; without a kick, a running vCPU sees the IPI at its next exit (its HDEC
/// slice bounds the delay).
///
/// ```
/// use papr_platform::{Board, Environment, PlatformConfig, TimeOfDay, Wake};
/// struct Quiet;
/// impl Environment for Quiet {
///     fn console_write(&mut self, _: &[u8]) {}
///     fn console_read(&mut self, _: &mut [u8]) -> usize { 0 }
///     fn idle_until(&mut self, _: u64) -> Wake { Wake::Timer }
///     fn time_of_day(&mut self) -> Option<TimeOfDay> { None }
/// }
/// let mut cfg = PlatformConfig::new(128 << 20, 0x410_0000);
/// cfg.vcpus = 2;
/// let board = Board::new(Quiet, cfg);
/// // vCPU 0 runs, vCPU 1 waits for RTAS start-cpu.
/// assert!(board.runnable(0, 0) && !board.runnable(1, 0));
/// assert_eq!(board.next(0, 0), Some(0));
/// // For each vCPU: `if board.dispatch(&mut vcpu)? { vcpu.run_loop(&mut board.handler())?; }`
/// ```
#[derive(Debug)]
pub struct Board<E: Environment> {
    platform: Mutex<Platform<E>>,
}

impl<E: Environment> Board<E> {
    /// A board for `cfg.vcpus` vCPUs over the VMM's environment: vCPU 0 running, the
    /// others stopped until RTAS `start-cpu`.
    pub fn new(env: E, cfg: PlatformConfig) -> Self {
        let mut platform = Platform::new(env, cfg);
        platform.set_yields(true);
        Self {
            platform: Mutex::new(platform),
        }
    }

    /// The exit handler of any vCPU of the board (it is stateless: the vCPU is the one
    /// `run_loop` passes).
    pub fn handler(&self) -> VcpuHandler<'_, E> {
        VcpuHandler { board: self }
    }

    /// Runs `f` on the platform, locked (counters, environment, process table, …).
    pub fn with<R>(&self, f: impl FnOnce(&mut Platform<E>) -> R) -> R {
        f(&mut self.platform.lock())
    }

    /// How the L2 ended, once it has.
    pub fn outcome(&self) -> Option<Outcome> {
        self.platform.lock().outcome().cloned()
    }

    /// The state of vCPU `vcpu` (`None`: no such vCPU).
    pub fn cpu_state(&self, vcpu: u64) -> Option<CpuState> {
        self.platform.lock().cpu_state(vcpu)
    }

    /// Whether vCPU `vcpu` may run at timebase `now` ([`Platform::runnable`]).
    pub fn runnable(&self, vcpu: u64, now: u64) -> bool {
        self.platform.lock().runnable(vcpu, now)
    }

    /// The first runnable vCPU after `after`, round-robin (`after` itself last); `None`
    /// when none may run at `now`.
    pub fn next(&self, after: u64, now: u64) -> Option<u64> {
        let p = self.platform.lock();
        let n = u64::from(p.config().vcpus);
        (1..=n)
            .map(|k| after.wrapping_add(k) % n.max(1))
            .find(|&id| p.runnable(id, now))
    }

    /// Takes vCPU `vcpu`'s pending start `(entry, r3)` (for a VMM setting the registers
    /// itself; [`dispatch`](Self::dispatch) does it).
    pub fn take_start(&self, vcpu: u64) -> Option<(u64, u64)> {
        self.platform.lock().take_start(vcpu)
    }

    /// Prepares `vcpu` to run ([`Platform::dispatch`]); `false`: leave it off the L1 CPU.
    ///
    /// # Errors
    /// [`Error::Vcpu`] when a register cannot be set or the VPA written.
    pub fn dispatch(&self, vcpu: &mut dyn VcpuContext) -> Result<bool, Error> {
        self.platform.lock().dispatch(vcpu)
    }

    /// For one L1 CPU running every vCPU, when [`next`](Self::next) finds none: idles
    /// through [`Environment::idle_until`] until the earliest decrementer of a ceded vCPU
    /// or console input (kept for `H_GET_TERM_CHAR`), and says why it woke. `None` without
    /// idling when a vCPU is runnable at `now`, or when no ceded vCPU has a deadline
    /// (every vCPU stopped, or waiting for an `H_PROD` nobody can send).
    pub fn idle(&self, now: u64) -> Option<Wake> {
        let mut p = self.platform.lock();
        let n = u64::from(p.config().vcpus);
        if (0..n).any(|id| p.runnable(id, now)) {
            return None;
        }
        let until = p.next_deadline()?;
        Some(p.idle_until(until))
    }
}

/// The exit handler of one vCPU on a [`Board`]: locks the board for the exit, answers it
/// as [`Platform`] does, and answers [`Action::Stop`] when the vCPU gives the L1 CPU back
/// (`H_CEDE`, `H_CONFER`, `stop-self`) or the L2 ends ([`Board::outcome`]).
#[derive(Debug, Clone, Copy)]
pub struct VcpuHandler<'b, E: Environment> {
    board: &'b Board<E>,
}

impl<E: Environment> ExitHandler for VcpuHandler<'_, E> {
    fn handle(&mut self, exit: &Exit, vcpu: &mut dyn VcpuContext) -> Action {
        self.board.platform.lock().handle(exit, vcpu)
    }
}
