//! [`Board`]: the L2's platform shared by its vCPUs, and [`VcpuHandler`], the exit handler
//! of one of them.

use crate::env::Environment;
use crate::error::Error;
use crate::platform::{CpuState, Outcome, Platform, PlatformConfig};
use core::sync::atomic::{AtomicBool, Ordering};
use papr_nestedv2::{Action, Exit, ExitHandler, VcpuContext};
use spin::Mutex;

/// How [`Board::idle`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Idled {
    /// It did not wait: the vCPU (or, for any vCPU, one of them) may run already.
    Runnable,
    /// It waited, and now the vCPU may run: its decrementer passed, another vCPU woke it
    /// (an IPI, `H_PROD`, `start-cpu`), or console input arrived (kept for
    /// `H_GET_TERM_CHAR`).
    Woken,
    /// The L2 ended ([`Board::ended`]) while it waited.
    Ended,
    /// Waiting for any vCPU, none may run and none has a deadline: nothing but another L1
    /// CPU could wake one, and there is none.
    Never,
}

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
///   [`Board::idle`] for any vCPU, which waits until the earliest decrementer of a ceded
///   vCPU (or console input);
/// * an L1 CPU per vCPU calls [`Board::idle`] for its own vCPU when `dispatch` says no:
///   it waits until that vCPU's decrementer, or until another vCPU wakes it;
/// * a ceded vCPU becomes runnable when its decrementer expires, its ICP presents an
///   interrupt (an `H_IPI` from another vCPU), `H_PROD` names it, or console input
///   arrives.
///
/// `run_loop` handles HDEC exits itself, so a vCPU spinning without an hcall (Linux's
/// boot CPU waiting for a secondary in `__cpu_up`, a lock holder's waiter) keeps the L1
/// CPU: a VMM time-slicing vCPUs on one L1 CPU drives `Vcpu::run`, `handle_internal`,
/// this handler and `apply` itself, and also switches vCPU on an HDEC exit.
///
/// [`Board::idle`] does not hold the board's lock while it waits: it looks at the board
/// (locked, briefly) when its deadline passes, every `poll_ticks`, and whenever the VMM's
/// `pause` says another vCPU may have woken it. [`Environment::kick`] names the vCPU that
/// got work from another one (an IPI its ICP presents, `H_PROD`, `start-cpu`), so that
/// the VMM can interrupt the L1 CPU running or idling for it; without a kick, a running
/// vCPU sees the IPI at its next exit (its HDEC slice bounds the delay). The loops of the
/// L1 CPUs learn that the L2 has ended from [`Board::ended`], without the lock.
///
/// ```
/// use papr_platform::{Board, Environment, Idled, PlatformConfig, TimeOfDay, Wake};
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
/// let mut clock = || 0u64;
/// assert_eq!(board.idle(Some(0), 1000, &mut clock, &mut |_| false), Idled::Runnable);
/// // For each vCPU: `if board.dispatch(&mut vcpu)? { vcpu.run_loop(&mut board.handler())?; }`
/// ```
#[derive(Debug)]
pub struct Board<E: Environment> {
    platform: Mutex<Platform<E>>,
    /// Set once the platform has an [`Outcome`] (read without the lock).
    ended: AtomicBool,
}

impl<E: Environment> Board<E> {
    /// A board for `cfg.vcpus` vCPUs over the VMM's environment: vCPU 0 running, the
    /// others stopped until RTAS `start-cpu`.
    pub fn new(env: E, cfg: PlatformConfig) -> Self {
        let mut platform = Platform::new(env, cfg);
        platform.set_yields(true);
        Self {
            platform: Mutex::new(platform),
            ended: AtomicBool::new(false),
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

    /// Whether the L2 has ended ([`outcome`](Self::outcome) is set), without taking the
    /// lock: for the loops of the L1 CPUs, which look at it after every exit.
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Ends the L2 with [`Outcome::Error`]`(`[`Error::Stopped`]`(why))` unless it has ended
    /// already: for a VMM whose loop of one vCPU failed, so that the other vCPUs' loops
    /// see [`ended`](Self::ended) and return.
    pub fn stop(&self, why: alloc::string::String) {
        let mut p = self.platform.lock();
        p.end(Outcome::Error(Error::Stopped(why)));
        self.ended.store(true, Ordering::Release);
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

    /// Waits until vCPU `vcpu` may run (`None`: any vCPU), the L2 ends, or — for any
    /// vCPU — it is clear that nothing will wake one; says which. The lock is not held
    /// while waiting: the board is looked at (locked, briefly) at once, when the deadline
    /// of the vCPU (of any ceded vCPU, for `None`) passes on `clock`, every `poll_ticks`
    /// (when console input is read too, kept for `H_GET_TERM_CHAR`: it wakes a ceded
    /// vCPU), and whenever `pause` returns `true`.
    ///
    /// `pause(until)` is the VMM's way to wait: it returns by timebase `until` (the next
    /// look) or earlier, `true` when [`Environment::kick`] named this vCPU meanwhile (the
    /// VMM's flag, taken). `|_| false` spins; a VMM may sleep the L1 CPU until `until` or
    /// the kick's IPI. A vCPU that is stopped or ceded without a deadline waits for a kick
    /// (or input) only.
    ///
    /// No wake-up is lost if the kick sets the flag (it runs with the board locked, after
    /// the change it announces) and `pause` takes it: a change made before a look is seen
    /// by it, one made after sets the flag.
    pub fn idle(
        &self,
        vcpu: Option<u64>,
        poll_ticks: u64,
        clock: &mut dyn FnMut() -> u64,
        pause: &mut dyn FnMut(u64) -> bool,
    ) -> Idled {
        let start = clock();
        let due = |now: u64, t: u64| (now.wrapping_sub(t) as i64) >= 0;
        let mut next_look = start;
        let mut next_input = start.wrapping_add(poll_ticks);
        let mut until: Option<u64> = None;
        let mut waited = false;
        loop {
            if self.ended() {
                return Idled::Ended;
            }
            let now = clock();
            let look = due(now, next_look) || until.is_some_and(|t| due(now, t)) || {
                let next = match until {
                    Some(t) if (t.wrapping_sub(next_look) as i64) < 0 => t,
                    _ => next_look,
                };
                pause(next)
            };
            if look {
                let mut p = self.platform.lock();
                if waited && due(now, next_input) {
                    p.poll_input();
                    next_input = now.wrapping_add(poll_ticks);
                }
                let n = u64::from(p.config().vcpus);
                let runnable = match vcpu {
                    Some(k) => p.runnable(k, now),
                    None => (0..n).any(|id| p.runnable(id, now)),
                };
                if runnable {
                    return if waited {
                        Idled::Woken
                    } else {
                        Idled::Runnable
                    };
                }
                until = match vcpu {
                    Some(k) => match p.cpu_state(k) {
                        Some(CpuState::Ceded { until }) => until,
                        _ => None,
                    },
                    None => p.next_deadline(),
                };
                if vcpu.is_none() && until.is_none() {
                    return Idled::Never;
                }
                if !waited {
                    p.note_idle();
                }
                waited = true;
                next_look = now.wrapping_add(poll_ticks.max(1));
            }
        }
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
        let mut p = self.board.platform.lock();
        let action = p.handle(exit, vcpu);
        if p.outcome().is_some() {
            self.board.ended.store(true, Ordering::Release);
        }
        action
    }
}
