//! The typed Nested APIv2: `NestedHv`.

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
use papr_gsb::{Gsb, GsidSet, GuestStateId, Policy, Request, Scope, Value};
use spin::Mutex;

mod answer;

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

    /// Makes one hcall with the retry policy of `retry`.
    fn call(
        &self,
        op: u64,
        mut args: [u64; HCALL_ARGS],
        retry: Retry,
    ) -> Result<HcallOutput, HcallError> {
        let call = name(op);
        let mut attempts = 0u32;
        let mut waited_us = 0u64;
        loop {
            let out = self.hcall.hcall(op, args);
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

    /// `H_GUEST_GET_CAPABILITIES`: what the L0 offers.
    pub fn get_capabilities(&self) -> Result<Capabilities, HcallError> {
        let out = self.call(
            opcode::H_GUEST_GET_CAPABILITIES,
            [0; HCALL_ARGS],
            Retry::Sleeping,
        )?;
        Ok(Capabilities(out.ret[0]))
    }

    /// `H_GUEST_SET_CAPABILITIES`: what this L1 will use (once per L0 reset).
    pub fn set_capabilities(&self, caps: Capabilities) -> Result<(), HcallError> {
        self.call(
            opcode::H_GUEST_SET_CAPABILITIES,
            [0, caps.0, 0, 0, 0, 0, 0, 0, 0],
            Retry::Sleeping,
        )
        .map(|_| ())
    }

    /// GET, then SET the modes both the L0 and `supported` have (as Linux does); reports
    /// the highest of them.
    pub fn negotiate(&self, supported: Capabilities) -> Result<Negotiated, HcallError> {
        let offered = self.get_capabilities()?;
        let set = offered
            .intersection(supported)
            .intersection(Capabilities::MODES);
        let mode = set.highest_mode().ok_or(HcallError::NoCommonMode {
            offered: offered.0,
            supported: supported.0,
        })?;
        self.set_capabilities(set)?;
        Ok(Negotiated { offered, set, mode })
    }

    /// `H_GUEST_CREATE`: a new guest; the L0 picks its id.
    pub fn create_guest(&self) -> Result<GuestId, HcallError> {
        let out = self.call(
            opcode::H_GUEST_CREATE,
            [0, H_GUEST_CREATE_FIRST_TOKEN, 0, 0, 0, 0, 0, 0, 0],
            Retry::Sleeping,
        )?;
        let id = out.ret[0];
        self.guests.lock().insert(id, 0);
        Ok(GuestId(id))
    }

    /// `H_GUEST_CREATE_VCPU`. Under [`Profile::dense_vcpu_ids`] only the next id in order
    /// may be created (an id already created is passed on: the L0 answers `H_IN_USE`).
    pub fn create_vcpu(&self, guest: GuestId, vcpu: VcpuId) -> Result<(), HcallError> {
        const CALL: &str = "H_GUEST_CREATE_VCPU";
        let created = self.guests.lock().get(&guest.0).copied();
        if self.profile.dense_vcpu_ids {
            match created {
                None => return Err(Self::refuse(CALL, Refusal::UnknownGuest { guest: guest.0 })),
                Some(next) if vcpu.0 > next => {
                    return Err(Self::refuse(
                        CALL,
                        Refusal::VcpuOutOfOrder {
                            guest: guest.0,
                            vcpu: vcpu.0,
                            next,
                        },
                    ))
                }
                Some(_) => {}
            }
        }
        self.call(
            opcode::H_GUEST_CREATE_VCPU,
            [0, guest.0, vcpu.0, 0, 0, 0, 0, 0, 0],
            Retry::Sleeping,
        )?;
        if let Some(n) = self.guests.lock().get_mut(&guest.0) {
            if vcpu.0 == *n {
                *n += 1;
            }
        }
        Ok(())
    }

    fn check_vcpu(
        &self,
        call: &'static str,
        guest: GuestId,
        vcpu: VcpuId,
    ) -> Result<(), HcallError> {
        if !self.profile.known_vcpus_only {
            return Ok(());
        }
        let created = self.guests.lock().get(&guest.0).copied();
        match created {
            None => Err(Self::refuse(call, Refusal::UnknownGuest { guest: guest.0 })),
            Some(created) if vcpu.0 >= created => Err(Self::refuse(
                call,
                Refusal::NoSuchVcpu {
                    guest: guest.0,
                    vcpu: vcpu.0,
                    created,
                },
            )),
            Some(_) => Ok(()),
        }
    }

    /// Validates a GET/SET request buffer as the L0 will, plus the profile's refusals.
    fn check_request(
        &self,
        call: &'static str,
        target: &Target,
        gsb: &[u8],
        req: Request,
    ) -> Result<(), HcallError> {
        let len = gsb.len() as u64;
        if len < 4 || len > self.profile.max_state_buffer {
            return Err(Self::refuse(
                call,
                Refusal::BufferSize {
                    len,
                    max: self.profile.max_state_buffer,
                },
            ));
        }
        let parsed = Gsb::parse(gsb, &Policy::l0_request(req, target.scope))
            .map_err(|source| HcallError::Buffer { call, source })?;
        if target.scope == Scope::Thread {
            self.check_vcpu(call, target.guest, target.vcpu)?;
        }
        for e in &parsed {
            if req == Request::Get && self.profile.set_only_ids.contains(e.id) {
                return Err(Self::refuse(call, Refusal::GetOfSetOnlyId { id: e.id }));
            }
            if e.id == GuestStateId::RUN_OUTPUT_MIN_SIZE {
                // QEMU keeps this per vCPU and looks the named vCPU up.
                self.check_vcpu(call, target.guest, target.vcpu)?;
            }
            if req == Request::Get {
                continue;
            }
            match e.value() {
                Value::PartitionTable(p)
                    if self
                        .profile
                        .partition_ea_bits
                        .is_some_and(|b| b != p.ea_bits) =>
                {
                    return Err(Self::refuse(
                        call,
                        Refusal::PartitionTableEaBits { ea_bits: p.ea_bits },
                    ));
                }
                Value::ProcessTable(p)
                    if self
                        .profile
                        .process_table_sizes
                        .is_some_and(|s| !s.contains(&p.size)) =>
                {
                    return Err(Self::refuse(
                        call,
                        Refusal::ProcessTableSize { size: p.size },
                    ));
                }
                Value::Buffer(b) => {
                    if let Some((lo, hi)) = self.profile.run_buffer_sizes {
                        if b.address == 0 || b.size < lo || b.size > hi {
                            return Err(Self::refuse(
                                call,
                                Refusal::RunBuffer {
                                    id: e.id,
                                    address: b.address,
                                    size: b.size,
                                },
                            ));
                        }
                    }
                }
                _ => {}
            }
            self.check_l1_range(call, e.id, e.value())?;
        }
        Ok(())
    }

    /// Refuses an element that hands the L0 an L1 range outside [`RealMemory`]: the run
    /// buffers (the L0 writes the output at every exit), the VPA, the partition-table root.
    fn check_l1_range(
        &self,
        call: &'static str,
        id: GuestStateId,
        value: Value,
    ) -> Result<(), HcallError> {
        let (addr, len) = match value {
            Value::Buffer(b) => (b.address, b.size),
            Value::PartitionTable(p) => (p.root, p.root_size),
            Value::U64(a) if id == GuestStateId::VPA && a != 0 => (a, VPA_BYTES),
            _ => return Ok(()),
        };
        self.mem
            .check_range(L1RealAddr(addr), len)
            .map_err(|_| HcallError::OutsideMemory {
                call,
                id,
                addr,
                len,
            })
    }

    fn state_args(target: &Target, at: L1RealAddr, len: usize) -> [u64; HCALL_ARGS] {
        [
            target.flags(),
            target.guest.0,
            target.vcpu.0,
            at.0,
            len as u64,
            0,
            0,
            0,
            0,
        ]
    }

    /// `H_GUEST_SET_STATE`: writes the GSB `gsb` (ids, sizes and values) to L1 memory at
    /// `at` and has the L0 apply it to `target`. The buffer is validated first, as the L0
    /// validates it and against the profile; nothing is sent when it fails.
    ///
    /// An empty buffer (0 elements) makes no hcall, as in Linux.
    pub fn set_state(&self, target: Target, gsb: &[u8], at: L1RealAddr) -> Result<(), HcallError> {
        const CALL: &str = "H_GUEST_SET_STATE";
        if target.scope == Scope::Host {
            return Err(HcallError::BadArgument {
                call: CALL,
                what: "flags (host-wide SET)",
                value: target.flags(),
            });
        }
        self.check_request(CALL, &target, gsb, Request::Set)?;
        if gsb.get(..4) == Some(&[0, 0, 0, 0]) {
            return Ok(());
        }
        self.mem
            .write(at, gsb)
            .map_err(|source| HcallError::Memory { call: CALL, source })?;
        self.call(
            opcode::H_GUEST_SET_STATE,
            Self::state_args(&target, at, gsb.len()),
            Retry::Spinning,
        )?;
        Ok(())
    }

    /// `H_GUEST_GET_STATE`: `gsb` holds a request (ids and sizes: build it with
    /// `GsbBuilder::put_request`); it is written to L1 memory at `at`, the L0 fills in the
    /// values, and the answer is read back into `gsb` and parsed as untrusted input.
    ///
    /// The answer is written over the request, so the request's values go out poisoned
    /// (their bytes in `gsb` are ignored). An answer value that still reads as the poison
    /// is asked again once, with the opposite poison in its place, and is the register's
    /// value only if it reads as the first poison again (one more hcall, only then). An
    /// answer the L0 did not write, or wrote only in part, is [`HcallError::BadAnswer`]
    /// naming the first id left unwritten, never the request read back as values. QEMU's
    /// no-op ids (MMCR3, SIER2, SIER3, WORT), which it leaves untouched, are not checked.
    pub fn get_state<'b>(
        &self,
        target: Target,
        gsb: &'b mut [u8],
        at: L1RealAddr,
    ) -> Result<Gsb<'b>, HcallError> {
        const CALL: &str = "H_GUEST_GET_STATE";
        self.check_request(CALL, &target, gsb, Request::Get)?;
        let checked = answer::checked_ids(gsb);
        answer::poison(gsb, &checked, answer::FIRST);
        let asked = Gsb::parse(gsb, &Policy::STRUCTURE)
            .map(|g| (g.ids(), g.len()))
            .map_err(|source| HcallError::Buffer { call: CALL, source })?;
        self.exchange(&target, gsb, at)?;
        let suspect = answer::still(gsb, &checked, answer::FIRST);
        if !suspect.is_empty() {
            Self::checked(&target, gsb, asked)?;
            answer::poison(gsb, &suspect, answer::SECOND);
            self.exchange(&target, gsb, at)?;
            let confirmed = answer::still(gsb, &suspect, answer::FIRST);
            if let Some(id) = suspect.difference(confirmed).iter().next() {
                return Err(HcallError::BadAnswer {
                    call: CALL,
                    what: "an answer that left unwritten (its request read back) the value of id",
                    value: u64::from(id.0),
                });
            }
        }
        Self::checked(&target, gsb, asked)
    }

    /// One GET of the request in `gsb`: written to `at`, answered, read back into `gsb`.
    fn exchange(&self, target: &Target, gsb: &mut [u8], at: L1RealAddr) -> Result<(), HcallError> {
        const CALL: &str = "H_GUEST_GET_STATE";
        self.mem
            .write(at, gsb)
            .map_err(|source| HcallError::Memory { call: CALL, source })?;
        self.call(
            opcode::H_GUEST_GET_STATE,
            Self::state_args(target, at, gsb.len()),
            Retry::Spinning,
        )?;
        self.mem
            .read(at, gsb)
            .map_err(|source| HcallError::Memory { call: CALL, source })
    }

    /// The answer in `gsb`, parsed as untrusted input and checked to hold exactly the ids
    /// of the request (`asked`: its ids and element count).
    fn checked<'b>(
        target: &Target,
        gsb: &'b [u8],
        asked: (GsidSet, usize),
    ) -> Result<Gsb<'b>, HcallError> {
        const CALL: &str = "H_GUEST_GET_STATE";
        let answer = Gsb::parse(gsb, &Policy::l1_answer(target.scope))
            .map_err(|source| HcallError::Buffer { call: CALL, source })?;
        // The L0 fills values in place: it must answer exactly the ids asked for.
        if (answer.ids(), answer.len()) != asked {
            return Err(HcallError::BadAnswer {
                call: CALL,
                what: "an answer whose elements differ from the request; element count",
                value: answer.len() as u64,
            });
        }
        Ok(answer)
    }

    /// `H_GUEST_RUN_VCPU` with no flags: runs the vCPU until it exits; returns the exit
    /// trap (r4: 0x980 HDEC, 0xC00 hcall, 0xE00 HDSI, …). Never retried.
    pub fn run_vcpu(&self, guest: GuestId, vcpu: VcpuId) -> Result<u64, HcallError> {
        self.run_vcpu_with(guest, vcpu, RunFlags::NONE)
    }

    /// `H_GUEST_RUN_VCPU` with the PAPR-defined `flags` (QEMU accepts none:
    /// `H_PARAMETER`). Never retried.
    pub fn run_vcpu_with(
        &self,
        guest: GuestId,
        vcpu: VcpuId,
        flags: RunFlags,
    ) -> Result<u64, HcallError> {
        self.check_vcpu("H_GUEST_RUN_VCPU", guest, vcpu)?;
        let out = self.call(
            opcode::H_GUEST_RUN_VCPU,
            [flags.bits(), guest.0, vcpu.0, 0, 0, 0, 0, 0, 0],
            Retry::Never,
        )?;
        let trap = out.ret[0];
        // Vectors are small; QEMU puts an error code (H_P2) into r4 with r3 = H_SUCCESS when
        // it cannot map the output buffer.
        if trap > MAX_TRAP {
            return Err(HcallError::BadAnswer {
                call: "H_GUEST_RUN_VCPU",
                what: "exit trap (r4)",
                value: trap,
            });
        }
        Ok(trap)
    }

    /// `H_GUEST_DELETE` of one guest and all its vCPUs.
    ///
    /// The guest leaves the registry before the hcall (so that an id the L0 hands out again
    /// to a concurrent [`create_guest`](Self::create_guest) is not dropped after it) and
    /// comes back if the delete fails.
    pub fn delete_guest(&self, guest: GuestId) -> Result<(), HcallError> {
        let known = self.guests.lock().remove(&guest.0);
        let r = self.call(
            opcode::H_GUEST_DELETE,
            [0, guest.0, 0, 0, 0, 0, 0, 0, 0],
            Retry::Sleeping,
        );
        if let (Err(_), Some(vcpus)) = (&r, known) {
            self.guests.lock().entry(guest.0).or_insert(vcpus);
        }
        r.map(|_| ())
    }

    /// `H_GUEST_DELETE` with the delete-all flag. Refused under [`Profile::QEMU`].
    pub fn delete_all_guests(&self) -> Result<(), HcallError> {
        if self.profile.refuse_delete_all {
            return Err(Self::refuse("H_GUEST_DELETE", Refusal::DeleteAll));
        }
        self.call(
            opcode::H_GUEST_DELETE,
            [H_GUEST_DELETE_ALL, 0, 0, 0, 0, 0, 0, 0, 0],
            Retry::Sleeping,
        )?;
        self.guests.lock().clear();
        Ok(())
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
