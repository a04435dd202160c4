//! Jobs for the secondary CPUs: [`spawn`] and [`scope`] hand a closure to CPU k and return
//! at once with a [`Join`]; [`run_on`] waits for the result.
//!
//! **Soundness.** A job runs on another CPU while its caller goes on, so what it borrows
//! must outlive it. [`spawn`] takes `Send + 'static` closures only. [`scope`] is
//! `std::thread::scope` for CPUs: its jobs may borrow from the caller's frame (`'env`),
//! and `scope` returns only after every job spawned in it has finished — a wait the
//! caller cannot skip (dropping or forgetting a [`Join`] does not end it), and that
//! nothing can unwind past (this crate's panics stop the machine). [`run_on`] is a
//! one-job scope.

use super::{slot, Posted, Slot, IDLE, POSTED, POSTING};
use crate::boot;
use crate::dt::Info;
use crate::Error;
use alloc::boxed::Box;
use alloc::sync::Arc;
use core::marker::PhantomData;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use spinning_top::Spinlock;

/// Sequence numbers of posted jobs (a withdrawal names the job it withdraws).
static SEQ: AtomicU64 = AtomicU64::new(1);

/// A job's result, shared by the job and its [`Join`].
struct Packet<R> {
    done: AtomicBool,
    value: Spinlock<Option<R>>,
}

/// A job handed to a CPU with [`spawn`] or [`Scope::spawn`]: wait for its result with
/// [`join`](Join::join), or ask whether it ended with [`is_finished`](Join::is_finished).
/// Dropping it detaches the job (a scope still waits for it).
pub struct Join<'scope, R> {
    index: usize,
    seq: u64,
    packet: Arc<Packet<R>>,
    _scope: PhantomData<&'scope ()>,
}

impl<R> core::fmt::Debug for Join<'_, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Join")
            .field("index", &self.index)
            .field("seq", &self.seq)
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<R> Join<'_, R> {
    /// The CPU index the job was handed to.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Whether the job has ended (its result is ready).
    pub fn is_finished(&self) -> bool {
        self.packet.done.load(Ordering::Acquire)
    }

    /// Spins until the job has ended and returns its result.
    ///
    /// # Errors
    /// [`Error::JobWithoutResult`] when the job ended without one (it was withdrawn).
    pub fn join(self) -> Result<R, Error> {
        while !self.is_finished() {
            core::hint::spin_loop();
        }
        self.packet
            .value
            .lock()
            .take()
            .ok_or(Error::JobWithoutResult { index: self.index })
    }
}

/// Puts `call` in the mailbox of the idle CPU `s` (index `index`).
fn post(s: &Slot, index: usize, seq: u64, call: Box<dyn FnOnce() + Send>) -> Result<(), Error> {
    if let Err(state) =
        s.state
            .compare_exchange(IDLE, POSTING, Ordering::Acquire, Ordering::Acquire)
    {
        return Err(Error::CpuNotIdle { index, state });
    }
    let mut mailbox = s.job.lock();
    *mailbox = Some(Posted { seq, call });
    s.state.store(POSTED, Ordering::Release);
    Ok(())
}

/// Takes job `seq` back out of `s`'s mailbox if the CPU has not taken it yet.
fn withdraw(s: &Slot, seq: u64) -> Option<Box<dyn FnOnce() + Send>> {
    let mut mailbox = s.job.lock();
    if s.state.load(Ordering::Acquire) != POSTED || mailbox.as_ref().map(|p| p.seq) != Some(seq) {
        return None;
    }
    let p = mailbox.take()?;
    s.state.store(IDLE, Ordering::Release);
    Some(p.call)
}

/// Decrements a scope's count of running jobs when dropped: after the job ran, or when it
/// is dropped unrun (withdrawn, or never posted).
struct Running<'a>(Option<&'a AtomicUsize>);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.0 {
            n.fetch_sub(1, Ordering::Release);
        }
    }
}

/// Hands `f` to CPU `index` (idle in its loop); `running`, when given, counts the job
/// until it has ended (and dropped everything it holds).
fn hand<'a, F, R>(
    info: &Info,
    index: usize,
    f: F,
    running: Option<&'a AtomicUsize>,
) -> Result<Join<'a, R>, Error>
where
    F: FnOnce() -> R + Send + 'a,
    R: Send + 'a,
{
    let (s, _) = slot(info, index)?;
    let packet = Arc::new(Packet {
        done: AtomicBool::new(false),
        value: Spinlock::new(None),
    });
    let theirs = Arc::clone(&packet);
    if let Some(n) = running {
        n.fetch_add(1, Ordering::AcqRel);
    }
    let guard = Running(running);
    let job = move || {
        let guard = guard;
        let r = f();
        *theirs.value.lock() = Some(r);
        theirs.done.store(true, Ordering::Release);
        // Everything of the scope the job holds goes before the count does.
        drop(theirs);
        drop(guard);
    };
    let job: Box<dyn FnOnce() + Send + 'a> = Box::new(job);
    // SAFETY: only the lifetime changes (same vtable, same layout). The box outlives `'a`
    // only in a scope's mailbox or on a CPU, and then the scope's `Running` count includes
    // it: `scope` does not return (end `'a`) until the job has run or been dropped, and
    // the count drops last. Without a count (`spawn`), `'a` is `'static`.
    let job: Box<dyn FnOnce() + Send + 'static> = unsafe { core::mem::transmute(job) };
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    post(s, index, seq, job)?;
    Ok(Join {
        index,
        seq,
        packet,
        _scope: PhantomData,
    })
}

/// Hands `f` to CPU `index` of `info` (started with [`start`](super::start), idle in its
/// loop) and returns at once: the CPU runs it while the caller goes on. One job per CPU at
/// a time: the CPU takes the next once this one has returned.
///
/// # Errors
/// [`Error::NoSuchCpu`]; [`Error::CpuNotIdle`] when the CPU is not idle in its loop (not
/// started, stopped, or running another job).
pub fn spawn<F, R>(info: &Info, index: usize, f: F) -> Result<Join<'static, R>, Error>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    hand(info, index, f, None)
}

/// The jobs of a [`scope`]: hand them out with [`Scope::spawn`].
#[derive(Debug)]
pub struct Scope<'scope, 'env: 'scope> {
    running: AtomicUsize,
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

impl<'scope> Scope<'scope, '_> {
    /// Hands `f`, which may borrow from outside the scope, to CPU `index` of `info` and
    /// returns at once (as [`spawn`]); the scope waits for it.
    ///
    /// # Errors
    /// As [`spawn`].
    pub fn spawn<F, R>(
        &'scope self,
        info: &Info,
        index: usize,
        f: F,
    ) -> Result<Join<'scope, R>, Error>
    where
        F: FnOnce() -> R + Send + 'scope,
        R: Send + 'scope,
    {
        hand(info, index, f, Some(&self.running))
    }
}

/// Runs `f` with a [`Scope`] whose jobs may borrow what lives outside it, then waits until
/// every job spawned in it has ended, and returns what `f` returned.
///
/// ```ignore
/// // Builds for powerpc64 only (bare metal), so not as a host doc test.
/// let mut counts = [0u64; 2];
/// let [a, b] = &mut counts;
/// smp::scope(|s| -> Result<(), papr_baremetal::Error> {
///     let j = s.spawn(&info, 1, || *a += 1)?; // on CPU 1 …
///     *b += 1; // … while CPU 0 goes on
///     j.join()
/// })?;
/// assert_eq!(counts, [1, 1]);
/// ```
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T,
{
    let s = Scope {
        running: AtomicUsize::new(0),
        _scope: PhantomData,
        _env: PhantomData,
    };
    let t = f(&s);
    while s.running.load(Ordering::Acquire) != 0 {
        core::hint::spin_loop();
    }
    t
}

/// Runs `f` on CPU `index` (started with [`start`](super::start)) and returns its result;
/// waits for the CPU to take the job at most `timeout_us` (timebase at
/// `info.ticks_per_us`), then for as long as the job runs. A one-job [`scope`].
///
/// # Errors
/// [`Error::NoSuchCpu`]; [`Error::CpuNotIdle`] when the CPU is not idle in its loop;
/// [`Error::JobNotTaken`] when it did not take the job in time (the job was withdrawn, `f`
/// not run).
pub fn run_on<F, R>(info: &Info, index: usize, timeout_us: u64, f: F) -> Result<R, Error>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    let (s, _) = slot(info, index)?;
    scope(|sc| {
        let j = sc.spawn(info, index, f)?;
        let t0 = boot::timebase();
        let limit = timeout_us.saturating_mul(info.ticks_per_us);
        while !j.is_finished() {
            if boot::timebase().wrapping_sub(t0) > limit {
                if let Some(job) = withdraw(s, j.seq) {
                    drop(job);
                    return Err(Error::JobNotTaken {
                        index,
                        waited_us: timeout_us,
                    });
                }
                // Taken meanwhile: it runs; wait for it without a limit.
                return j.join();
            }
            core::hint::spin_loop();
        }
        j.join()
    })
}
