//! The typed Nested APIv2: `NestedHv`.
//!
//! This file holds the type, its registry and the retrying call; the hcalls themselves are
//! in the submodules (capabilities, lifecycle, state, run).

use crate::caps::{Capabilities, Mode};
use crate::counting::{CountingHcall, HcallCounts};
use crate::delay::{Delay, RetryBudget};
use crate::error::{HcallError, Refusal};
use crate::flags::{RunFlags, H_GUEST_CREATE_FIRST_TOKEN, H_GUEST_DELETE_ALL};
use crate::memory::{L1RealAddr, RealMemory};
use crate::opcode;
use crate::profile::Profile;
use crate::raw::{ContainedHcall, Hcall, HcallOutput, HCALL_ARGS};
use crate::rc::ReturnCode;
use crate::target::{GuestId, Target, VcpuId};
use alloc::collections::BTreeMap;
use core::sync::atomic::{AtomicU64, Ordering};
use papr_gsb::{Gsb, GsidSet, GuestStateId, Policy, Request, Scope, Value};
use spin::Mutex;

mod answer;
mod lifecycle;
mod negotiate;
mod regs;
mod run;
mod state;
mod ticket;

pub use regs::{RegRequest, REG_REQUEST_MAX};
pub use ticket::VcpuTicket;

/// Bytes of a VPA the L0 may write (Linux's `struct lppaca`, 1 KiB).
pub const VPA_BYTES: u64 = 0x400;

/// The largest interrupt vector an exit can report (vectors are below 0x2000; Linux also
/// uses 0x1xxx forms).
pub const MAX_TRAP: u64 = 0x1FFF;

/// Result of [`NestedHv::negotiate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// What the L0 offered.
    pub offered: Capabilities,
    /// What was set (the modes both support).
    pub set: Capabilities,
    /// The highest common mode: the one to run L2s in.
    pub mode: Mode,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// Lifecycle calls: may sleep (Linux `cond_resched` / `msleep`).
    Sleeping,
    /// State calls on the vCPU path: spin (Linux `cpu_relax` / `mdelay`).
    Spinning,
    /// `H_GUEST_RUN_VCPU`: never retried.
    Never,
}

/// The typed Nested APIv2 over any [`Hcall`] backend.
///
/// Owns the L1's view of what exists in the L0 (guests it created and how many vCPUs each
/// has), so that requests which would make the L0 abort are refused under the
/// [`Profile`] before any hcall. Busy answers are retried as Linux retries each call,
/// waiting through the [`Delay`], within the [`RetryBudget`].
///
/// # Concurrency
/// Every method takes `&self`: one `NestedHv` serves all L1 CPUs at once, and
/// `H_GUEST_RUN_VCPU` of different vCPUs may run at the same time (the L0 allows it; Linux's
/// KVM does it). The registry (guest → vCPUs created) sits behind a `spin::Mutex` locked
/// only to read an entry before a call and to update it after the call; it is never held
/// across an hcall, a [`Delay`] or a retry. `NestedHv<H, M, D>` is `Sync` when `H`, `M`
/// and `D` are (`Send` when they are `Send`), so share it by reference between threads.
///
/// What stays the caller's to order: two calls on the same vCPU at once (the L0 serialises
/// or refuses them; the registry does not), and a delete of a guest while calls on it are
/// in flight (they come back refused or as the L0's error, never as undefined behaviour).
///
/// ```
/// # use papr_hcall::*;
/// fn shared<T: Sync>() {}
/// shared::<NestedHv<MockHcall, MockRealMemory, NoDelay>>();
/// ```
///
/// ```
/// use papr_hcall::*;
/// let mut h = MockHcall::new();
/// h.expect_hcall().withf(|&op, _| op == opcode::H_GUEST_GET_CAPABILITIES)
///     .return_const(HcallOutput::ok(0x6000_0000_0000_0000));
/// h.expect_hcall().withf(|&op, a| op == opcode::H_GUEST_SET_CAPABILITIES && a[1] == 0x6000_0000_0000_0000)
///     .return_const(HcallOutput::ok(0));
/// h.expect_hcall().withf(|&op, a| op == opcode::H_GUEST_CREATE && a[1] == u64::MAX)
///     .return_const(HcallOutput::ok(1));
/// h.expect_hcall().withf(|&op, a| op == opcode::H_GUEST_CREATE_VCPU && a[1] == 1 && a[2] == 0)
///     .return_const(HcallOutput::ok(0));
/// let mem = MockRealMemory::new();
/// let hv = NestedHv::new(h, mem, NoDelay);
/// let n = hv.negotiate(Capabilities::MODES)?;
/// assert_eq!(n.mode, Mode::Power10);
/// let g = hv.create_guest()?;
/// hv.create_vcpu(g, VcpuId(0))?;
/// // vCPU 2 before vCPU 1 would abort QEMU: refused without an hcall.
/// assert!(matches!(hv.create_vcpu(g, VcpuId(2)),
///     Err(HcallError::Refused { reason: Refusal::VcpuOutOfOrder { next: 1, .. }, .. })));
/// # Ok::<(), HcallError>(())
/// ```
#[derive(Debug)]
pub struct NestedHv<H, M, D> {
    hcall: H,
    mem: M,
    delay: D,
    budget: RetryBudget,
    profile: Profile,
    /// Guests created through this value → vCPUs created so far. Locked only to read or
    /// update an entry, never across an hcall (see "Concurrency").
    guests: Mutex<BTreeMap<u64, u64>>,
    /// Guests deleted so far: a [`VcpuTicket`] issued since the last delete is still good
    /// without a registry lookup.
    deletes: AtomicU64,
}

fn fail(call: &'static str, code: ReturnCode, out: &HcallOutput) -> HcallError {
    if code.carries_element_position() {
        HcallError::InvalidElement {
            call,
            code,
            position: out.ret[0],
        }
    } else {
        HcallError::Failed { call, code }
    }
}

/// The answer of a failed first attempt as far as errors read it: the status and r4.
fn first_output(rc: i64, r4: u64) -> HcallOutput {
    let mut ret = [0; HCALL_ARGS];
    ret[0] = r4;
    HcallOutput { rc, ret }
}

/// The error of `op` failing with status `rc` (r4 = `r4`), without a retry.
#[cold]
#[inline(never)]
fn failed(op: u64, rc: i64, r4: u64) -> HcallError {
    fail(name(op), ReturnCode::from_raw(rc), &first_output(rc, r4))
}

fn name(op: u64) -> &'static str {
    opcode::name(op).unwrap_or("hcall")
}

impl<H: Hcall, M: RealMemory, D: Delay> NestedHv<H, M, D> {
    /// A new API over `hcall`, reaching L1 memory through `mem`, waiting through `delay`;
    /// [`Profile::QEMU`] and the default [`RetryBudget`].
    pub fn new(hcall: H, mem: M, delay: D) -> Self {
        Self {
            hcall,
            mem,
            delay,
            budget: RetryBudget::default(),
            profile: Profile::QEMU,
            guests: Mutex::new(BTreeMap::new()),
            deletes: AtomicU64::new(0),
        }
    }

    /// Replaces the refusal profile.
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// Replaces the retry budget.
    pub fn with_budget(mut self, budget: RetryBudget) -> Self {
        self.budget = budget;
        self
    }

    /// The raw hcall backend, whatever it is.
    ///
    /// ```compile_fail,E0133
    /// # use papr_hcall::*;
    /// let hv = NestedHv::new(MockHcall::new(), MockRealMemory::new(), NoDelay);
    /// let _ = hv.hcall_unchecked(); // error[E0133]: call to unsafe function
    /// ```
    ///
    /// # Safety
    /// Every hcall made through the returned reference must pass the L0 only addresses of
    /// L1 memory it may write (the contract of `Sc1::new`), and must not change what the
    /// L0 holds behind this API's back (guests, vCPUs, run buffers it tracks). Reading a
    /// wrapper's own state (counts, timings) is always fine. For a [`ContainedHcall`]
    /// backend use the safe [`hcall`](Self::hcall).
    pub unsafe fn hcall_unchecked(&self) -> &H {
        &self.hcall
    }

    /// The L1 memory backend.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// vCPUs created so far in `guest`, if the guest was created through this value.
    pub fn vcpus(&self, guest: GuestId) -> Option<u64> {
        self.guests.lock().get(&guest.0).copied()
    }

    /// Makes one hcall with the retry policy of `retry`. The first attempt is inlined into
    /// the caller and returns on `H_SUCCESS` (the exit path: no call, no lookup in the
    /// return-code table); anything else goes on in [`call_again`](Self::call_again).
    #[inline(always)]
    fn call(
        &self,
        op: u64,
        args: [u64; HCALL_ARGS],
        retry: Retry,
    ) -> Result<HcallOutput, HcallError> {
        let out = self.hcall.hcall(op, args);
        if out.rc == 0 {
            return Ok(out);
        }
        // Only the status and r4 go on (what an error reports): the failure paths keep
        // nothing else of the answer, so the success path need not store it. A call that
        // is never retried keeps no arguments either.
        match retry {
            Retry::Never => Err(failed(op, out.rc, out.ret[0])),
            _ => self.call_again(op, args, retry, out.rc, out.ret[0]),
        }
    }

    /// [`call`](Self::call) after a first attempt that did not succeed (status `rc`, r4
    /// `r4`): the error, or the retries of a busy answer.
    #[cold]
    #[inline(never)]
    fn call_again(
        &self,
        op: u64,
        mut args: [u64; HCALL_ARGS],
        retry: Retry,
        rc: i64,
        r4: u64,
    ) -> Result<HcallOutput, HcallError> {
        let call = name(op);
        let mut attempts = 0u32;
        let mut waited_us = 0u64;
        let mut next = Some(first_output(rc, r4));
        loop {
            let out = match next.take() {
                Some(out) => out,
                None => self.hcall.hcall(op, args),
            };
            if out.rc == 0 {
                return Ok(out);
            }
            attempts = attempts.saturating_add(1);
            let code = ReturnCode::from_raw(out.rc);
            if code == ReturnCode::Success {
                return Ok(out);
            }
            if !code.is_busy() || retry == Retry::Never {
                return Err(fail(call, code, &out));
            }
            let timeout = HcallError::Timeout {
                call,
                attempts,
                waited_us,
                last: code,
            };
            if attempts >= self.budget.max_attempts {
                return Err(timeout);
            }
            let may_sleep = retry == Retry::Sleeping;
            match code.long_busy_ms() {
                Some(ms) => {
                    let us = ms.saturating_mul(1000);
                    if waited_us.saturating_add(us) > self.budget.max_wait_us {
                        return Err(timeout);
                    }
                    self.delay.wait_us(us, may_sleep);
                    waited_us += us;
                }
                None => self.delay.relax(may_sleep),
            }
            if op == opcode::H_GUEST_CREATE {
                // The continue token of the next attempt is what the L0 returned.
                args[1] = out.ret[0];
            }
        }
    }

    fn refuse(call: &'static str, reason: Refusal) -> HcallError {
        HcallError::Refused { call, reason }
    }
}

impl<H: ContainedHcall, M, D> NestedHv<H, M, D> {
    /// The hcall backend, when it is a [`ContainedHcall`] (a software L0, a mock, a counter
    /// around one): safe code may call it with any arguments. The `sc 1` backend comes back
    /// out only through the `unsafe` [`hcall_unchecked`](Self::hcall_unchecked).
    ///
    /// ```compile_fail,E0599
    /// # use papr_hcall::*;
    /// struct Raw; // not a `ContainedHcall`: it could be `sc 1`
    /// impl Hcall for Raw {
    ///     fn hcall(&self, _: u64, _: [u64; 9]) -> HcallOutput { HcallOutput::ok(0) }
    /// }
    /// let hv = NestedHv::new(Raw, MockRealMemory::new(), NoDelay);
    /// hv.hcall().hcall(opcode::H_GUEST_GET_STATE, [0, 1, 0, 0xdead_0000, 64, 0, 0, 0, 0]);
    /// ```
    pub fn hcall(&self) -> &H {
        &self.hcall
    }
}

impl<H, M, D> NestedHv<CountingHcall<H>, M, D> {
    /// The hcall counts of a [`CountingHcall`] backend (the backend itself stays inside).
    pub fn counts(&self) -> &HcallCounts {
        self.hcall.counts()
    }
}
