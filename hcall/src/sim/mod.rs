//! The software L0: [`SoftL0`], a model of QEMU's `pseries` Nested APIv2 L0
//! (`hw/ppc/spapr_nested.c`) behind the [`Hcall`] seam, for hosted tests (feature `sim`).
//!
//! It keeps what the ABI defines — capabilities, guests, vCPUs, guest-wide and per-vCPU
//! state keyed by GSID, run buffers, partition and process tables — and answers every
//! `H_GUEST_*` call with QEMU's return codes, checked in QEMU's order. Where QEMU would
//! abort the machine it answers [`WOULD_ABORT_RC`] and records a [`WouldAbort`]. Each vCPU
//! runs a scripted L2 program ([`L2Action`]); loads, stores and fetches go through the
//! guest's partition-scoped radix table, walked by [`walk`]. Faults can be injected
//! ([`Injection`]). L1 memory is reached only through [`RealMemory`].
//!
//! ```
//! use papr_hcall::sim::{L2Action, SoftL0};
//! use papr_hcall::*;
//! use vm_memory::{GuestAddress, GuestMemoryMmap};
//! let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x10_0000)]).unwrap();
//! let l0 = SoftL0::new(VmRealMemory(mem.clone()));
//! let mut hv = NestedHv::new(&l0, VmRealMemory(mem), NoDelay);
//! hv.negotiate(Capabilities::MODES)?;
//! let g = hv.create_guest()?;
//! hv.create_vcpu(g, VcpuId(0))?;
//! assert_eq!(l0.guests(), vec![1]);
//! assert_eq!(l0.vcpus(1), Some(1));
//! l0.set_program(1, 0, vec![L2Action::Hcall { nr: 0x58, args: [0; 9] }]).unwrap();
//! // Not runnable yet: no run buffers.
//! assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap_err().return_code(), Some(ReturnCode::P3));
//! assert!(l0.would_abort().is_empty());
//! # Ok::<(), HcallError>(())
//! ```

mod fault;
mod l2;
mod state;
mod validate;
pub mod walk;

pub use fault::{Injection, WouldAbort, WOULD_ABORT_RC};
pub use l2::{L2Action, L2Event, TRAP_HCALL, TRAP_HDEC, TRAP_HDSI, TRAP_HEAI, TRAP_HISI};

use crate::flags::{H_GUEST_CREATE_FIRST_TOKEN, H_GUEST_DELETE_ALL};
use crate::memory::{L1RealAddr, RealMemory};
use crate::opcode;
use crate::raw::{ContainedHcall, Hcall, HcallOutput, HCALL_ARGS};
use crate::rc::{ReturnCode, H_UNSUPPORTED_FLAG};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use fault::Armed;
use papr_gsb::{GuestStateId, Scope};
use state::{Guest, Machine, Table, Vcpu, GSB_MAX, GUEST_MAX, VCPU_MAX};
use std::sync::{Mutex, MutexGuard};

/// Why [`SoftL0::set_program`] refused a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// No such guest or vCPU.
    #[error("no vCPU {vcpu} in guest {guest}")]
    NoSuchVcpu {
        /// Guest.
        guest: u64,
        /// vCPU.
        vcpu: u64,
    },
    /// A load or store whose size is not 1, 2, 4 or 8, or that is not naturally aligned.
    #[error("action {index} is not a naturally aligned 1/2/4/8-byte access")]
    BadAction {
        /// Position in the program.
        index: usize,
    },
}

/// The software L0. See the [module documentation](self).
#[derive(Debug)]
pub struct SoftL0<M> {
    mem: M,
    inner: Mutex<Machine>,
}

fn rc(code: ReturnCode) -> HcallOutput {
    HcallOutput::rc(code.raw())
}

fn out(rc: i64, r4: u64) -> HcallOutput {
    let mut o = HcallOutput::rc(rc);
    o.ret[0] = r4;
    o
}

/// Applies an output injection to the bytes about to be written back.
fn mangle(bytes: &mut Vec<u8>, fault: Option<Injection>) {
    match fault {
        Some(Injection::CorruptOutput { offset, xor }) => {
            if let Some(b) = bytes.get_mut(offset) {
                *b ^= xor;
            }
        }
        Some(Injection::TruncateOutput { keep }) => bytes.truncate(keep),
        _ => {}
    }
}

impl<M: RealMemory> SoftL0<M> {
    /// A fresh L0 (no capabilities set, no guests) over L1 memory `mem`; it offers
    /// capabilities 0x6000000000000000 (P9 | P10, as QEMU on a power10 CPU), reports the
    /// L1 PVR 0x00801200 as the default logical PVR, and starts its timebase at 2^32.
    pub fn new(mem: M) -> Self {
        Self {
            mem,
            inner: Mutex::new(Machine::new()),
        }
    }

    /// Sets what `H_GUEST_GET_CAPABILITIES` answers (power9: 0x4000…, power11: 0x7000…).
    ///
    /// ```
    /// use papr_hcall::{sim::SoftL0, Hcall, VmRealMemory};
    /// use vm_memory::{GuestAddress, GuestMemoryMmap};
    /// let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x1000)]).unwrap();
    /// let l0 = SoftL0::new(VmRealMemory(mem)).with_capabilities(0x7000_0000_0000_0000);
    /// assert_eq!(l0.hcall(0x460, [0; 9]).ret[0], 0x7000_0000_0000_0000);
    /// ```
    pub fn with_capabilities(self, caps: u64) -> Self {
        self.lock().caps_offered = caps;
        self
    }

    /// Sets the L1's PVR, which SET_CAPABILITIES records as the default logical PVR.
    pub fn with_l1_pvr(self, pvr: u32) -> Self {
        self.lock().l1_pvr = pvr;
        self
    }

    /// Models QEMU's DEC sign bug (QEMU ≤ 10.0 `spapr_nested.c`): on every exit the L2's
    /// DEC_EXPIRY_TB is saved as `now − DEC` instead of `now + DEC`, with DEC = `e − now`
    /// read zero-extended from 32 bits unless the L2's LPCR\[LD\] is set (a stored expiry
    /// `e` less than 2³¹ ticks ahead becomes `2·now − e`; an expired one `now − (2³² − (now −
    /// e))`), and that value is what the next run loads.
    pub fn with_qemu_dec_sign_bug(self) -> Self {
        self.lock().qemu_dec_sign = true;
        self
    }

    /// Sets the virtual timebase.
    pub fn with_timebase(self, tb: u64) -> Self {
        self.lock().timebase = tb;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The L1 memory.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// Arms `injection` for the `nth` call (1-based, counting every call of `opcode`
    /// since this L0 was made, injected ones included).
    ///
    /// ```
    /// use papr_hcall::{sim::{Injection, SoftL0}, Hcall, VmRealMemory};
    /// use vm_memory::{GuestAddress, GuestMemoryMmap};
    /// let mem = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x1000)]).unwrap();
    /// let l0 = SoftL0::new(VmRealMemory(mem));
    /// l0.inject(0x460, 2, Injection::Fail { rc: -9, r4: 5 });
    /// assert_eq!(l0.hcall(0x460, [0; 9]).rc, 0);
    /// let o = l0.hcall(0x460, [0; 9]);
    /// assert_eq!((o.rc, o.ret[0]), (-9, 5));
    /// assert_eq!(l0.hcall_count(0x460), 2);
    /// ```
    pub fn inject(&self, opcode: u64, nth: u64, injection: Injection) {
        self.lock().armed.push(Armed {
            opcode,
            nth,
            injection,
        });
    }

    /// Gives vCPU `vcpu` of `guest` a new program (replacing any left), starting now.
    pub fn set_program(
        &self,
        guest: u64,
        vcpu: u64,
        program: Vec<L2Action>,
    ) -> Result<(), SimError> {
        if let Some(index) = program.iter().position(|a| !a.is_valid()) {
            return Err(SimError::BadAction { index });
        }
        let mut m = self.lock();
        let v = m
            .vcpu_mut(guest, vcpu)
            .ok_or(SimError::NoSuchVcpu { guest, vcpu })?;
        v.program = program;
        v.pc = 0;
        v.pending = None;
        Ok(())
    }

    /// Live guest ids, ascending.
    pub fn guests(&self) -> Vec<u64> {
        match &self.lock().table {
            Table::Live(g) => g.keys().copied().collect(),
            _ => Vec::new(),
        }
    }

    /// Number of vCPUs of a live guest.
    pub fn vcpus(&self, guest: u64) -> Option<u64> {
        self.lock().guest(guest).map(|g| g.vcpus.len() as u64)
    }

    /// A vCPU's stored value of thread-wide `id` (raw big-endian bytes), or `None` if never
    /// written. The guest-wide TB offset is kept per vCPU, as QEMU keeps it.
    pub fn state(&self, guest: u64, vcpu: u64, id: GuestStateId) -> Option<Vec<u8>> {
        self.lock().vcpu_mut(guest, vcpu)?.regs.get(&id.0).cloned()
    }

    /// A guest's stored guest-wide value: LOGICAL_PVR, PARTITION_TABLE, PROCESS_TABLE.
    pub fn guest_state(&self, guest: u64, id: GuestStateId) -> Option<Vec<u8>> {
        let m = self.lock();
        let g = m.guest(guest)?;
        match id {
            GuestStateId::LOGICAL_PVR => Some(g.lpvr.to_vec()),
            GuestStateId::PARTITION_TABLE => g.partition_table.clone(),
            GuestStateId::PROCESS_TABLE => g.process_table.clone(),
            _ => None,
        }
    }

    /// Calls of `opcode` so far (injected answers included).
    pub fn hcall_count(&self, opcode: u64) -> u64 {
        self.lock().counts.get(&opcode).copied().unwrap_or(0)
    }

    /// Calls per opcode so far.
    pub fn hcall_counts(&self) -> BTreeMap<u64, u64> {
        self.lock().counts.clone()
    }

    /// Requests that would have killed QEMU, in order.
    pub fn would_abort(&self) -> Vec<WouldAbort> {
        self.lock().aborts.clone()
    }

    /// The virtual timebase (L1 timebase ticks).
    pub fn timebase(&self) -> u64 {
        self.lock().timebase
    }

    /// Lets `ticks` of L1 time pass.
    pub fn advance_timebase(&self, ticks: u64) {
        let mut m = self.lock();
        m.timebase = m.timebase.wrapping_add(ticks);
    }

    /// Whether `H_GUEST_SET_CAPABILITIES` has succeeded.
    pub fn capabilities_set(&self) -> bool {
        self.lock().caps_set
    }

    /// The memory accesses a vCPU's L2 completed without exiting, in order.
    pub fn l2_events(&self, guest: u64, vcpu: u64) -> Vec<L2Event> {
        self.lock()
            .vcpu_mut(guest, vcpu)
            .map(|v| v.events.clone())
            .unwrap_or_default()
    }

    fn get_caps(m: &Machine, flags: u64) -> HcallOutput {
        if flags != 0 {
            return rc(ReturnCode::Parameter);
        }
        HcallOutput::ok(m.caps_offered)
    }

    fn set_caps(m: &mut Machine, flags: u64, caps: u64) -> HcallOutput {
        const VALID: u64 = 0x7000_0000_0000_0000;
        let p2 = |r5: u64| {
            let mut o = out(ReturnCode::P2.raw(), 1);
            o.ret[1] = r5;
            o
        };
        if flags != 0 {
            return rc(ReturnCode::Parameter);
        }
        if caps & (1 << 63) != 0 {
            return p2(caps); // r5 keeps the argument
        }
        if caps == 0 {
            let first = (1..=3u64)
                .rev()
                .find(|&i| m.caps_offered & (1 << (63 - i)) != 0)
                .unwrap_or(0);
            return p2(first);
        }
        if caps & !VALID != 0 {
            return p2(63 - u64::from(caps.trailing_zeros()));
        }
        if m.caps_set {
            return rc(ReturnCode::State);
        }
        m.caps_set = true;
        m.pvr_base = m.l1_pvr;
        HcallOutput::ok(0)
    }

    fn create(m: &mut Machine, flags: u64, token: u64) -> HcallOutput {
        if flags != 0 {
            return HcallOutput::rc(H_UNSUPPORTED_FLAG);
        }
        if token != H_GUEST_CREATE_FIRST_TOKEN && Some(token) != m.create_token {
            return rc(ReturnCode::P2);
        }
        if !m.caps_set {
            return rc(ReturnCode::State);
        }
        let lpvr = m.pvr_base.to_be_bytes();
        if matches!(m.table, Table::Never) {
            m.table = Table::Live(BTreeMap::new());
        }
        let Table::Live(guests) = &mut m.table else {
            let code = m.abort(WouldAbort::LookupAfterDeleteAll {
                opcode: opcode::H_GUEST_CREATE,
            });
            return HcallOutput::rc(code);
        };
        let Some(id) = (1..GUEST_MAX).find(|id| !guests.contains_key(id)) else {
            return rc(ReturnCode::NoMem);
        };
        guests.insert(
            id,
            Guest {
                lpvr,
                ..Guest::default()
            },
        );
        m.create_token = None;
        HcallOutput::ok(id)
    }

    fn create_vcpu(m: &mut Machine, flags: u64, guest: u64, vcpu: u64) -> HcallOutput {
        if flags != 0 {
            return HcallOutput::rc(H_UNSUPPORTED_FLAG);
        }
        let g = match m.lookup(opcode::H_GUEST_CREATE_VCPU, guest) {
            Err(code) => return HcallOutput::rc(code),
            Ok(None) => return rc(ReturnCode::P2),
            Ok(Some(g)) => g,
        };
        let next = g.vcpus.len() as u64;
        if vcpu < next {
            return rc(ReturnCode::InUse);
        }
        if vcpu > next {
            let code = m.abort(WouldAbort::VcpuOutOfOrder { guest, vcpu, next });
            return HcallOutput::rc(code);
        }
        if next >= VCPU_MAX {
            return rc(ReturnCode::P3);
        }
        g.vcpus.push(Vcpu::default());
        HcallOutput::ok(0)
    }

    fn delete(m: &mut Machine, flags: u64, guest: u64) -> HcallOutput {
        if flags & H_GUEST_DELETE_ALL != 0 {
            if matches!(m.table, Table::Live(_)) {
                m.table = Table::Destroyed;
            }
            return HcallOutput::ok(0);
        }
        if flags != 0 {
            return HcallOutput::rc(H_UNSUPPORTED_FLAG);
        }
        match m.lookup(opcode::H_GUEST_DELETE, guest) {
            Err(code) => return HcallOutput::rc(code),
            Ok(None) => return rc(ReturnCode::P2),
            Ok(Some(_)) => {}
        }
        if let Table::Live(g) = &mut m.table {
            g.remove(&guest);
        }
        HcallOutput::ok(0)
    }

    /// `H_GUEST_GET_STATE` / `H_GUEST_SET_STATE` (QEMU `h_guest_getset_state`).
    fn getset(
        &self,
        m: &mut Machine,
        op: u64,
        a: &[u64; HCALL_ARGS],
        fault: Option<Injection>,
    ) -> HcallOutput {
        let set = op == opcode::H_GUEST_SET_STATE;
        let [flags, guest, vcpu, addr, len, ..] = *a;
        if len > GSB_MAX {
            return HcallOutput::rc(m.abort(WouldAbort::StateBufferSize { opcode: op, len }));
        }
        let scope = match validate::scope_of(set, flags) {
            Ok(s) => s,
            Err(code) => return HcallOutput::rc(code),
        };
        let nr_vcpus = if scope == Scope::Host {
            0
        } else {
            match m.lookup(op, guest) {
                Err(code) => return HcallOutput::rc(code),
                Ok(None) => return rc(ReturnCode::P2),
                Ok(Some(g)) => g.vcpus.len() as u64,
            }
        };
        let mut bytes = alloc::vec![0u8; len as usize];
        if self.mem.read(L1RealAddr(addr), &mut bytes).is_err() {
            return rc(ReturnCode::P3);
        }
        if len < 4 {
            return HcallOutput::rc(m.abort(WouldAbort::StateBufferSize { opcode: op, len }));
        }
        let Some(gsb) = validate::parse(&bytes, set, scope) else {
            return rc(ReturnCode::P3);
        };
        if let Some(abort) = validate::abort_check(&gsb, set, scope, (op, guest, vcpu), nr_vcpus) {
            return HcallOutput::rc(m.abort(abort));
        }
        let g = match &mut m.table {
            Table::Live(t) if scope != Scope::Host => t.get_mut(&guest),
            _ => None,
        };
        if set {
            if let Some(g) = g {
                validate::apply_set(g, vcpu, &gsb, scope);
            }
            return HcallOutput::ok(0);
        }
        let mut answer = bytes.clone();
        validate::answer_get(g.as_deref(), vcpu, &gsb, scope, &mut answer);
        mangle(&mut answer, fault);
        match self.mem.write(L1RealAddr(addr), &answer) {
            Ok(()) => HcallOutput::ok(0),
            Err(_) => rc(ReturnCode::P3),
        }
    }

    /// `H_GUEST_RUN_VCPU` (QEMU `h_guest_run_vcpu`, then the scripted L2 and the exit).
    fn run(&self, m: &mut Machine, a: &[u64; HCALL_ARGS], fault: Option<Injection>) -> HcallOutput {
        let [flags, guest, vcpu, ..] = *a;
        if flags != 0 {
            return rc(ReturnCode::Parameter);
        }
        let g = match m.lookup(opcode::H_GUEST_RUN_VCPU, guest) {
            Err(code) => return HcallOutput::rc(code),
            Ok(None) => return rc(ReturnCode::P2),
            Ok(Some(g)) => g,
        };
        let nr_vcpus = g.vcpus.len() as u64;
        let pate0 = g.pate0;
        let Some(input) = usize::try_from(vcpu)
            .ok()
            .and_then(|i| g.vcpus.get(i))
            .and_then(|v| v.run_out.and(v.run_in))
        else {
            return rc(ReturnCode::P3);
        };
        if pate0 == 0 {
            return rc(ReturnCode::NotAvailable);
        }
        let mut bytes = alloc::vec![0u8; input.size as usize];
        if self.mem.read(L1RealAddr(input.addr), &mut bytes).is_err() {
            return rc(ReturnCode::P3);
        }
        let Some(gsb) = validate::parse(&bytes, true, Scope::Thread) else {
            return rc(ReturnCode::P3);
        };
        let ids = (opcode::H_GUEST_RUN_VCPU, guest, vcpu);
        if let Some(abort) = validate::abort_check(&gsb, true, Scope::Thread, ids, nr_vcpus) {
            return HcallOutput::rc(m.abort(abort));
        }
        if let Table::Live(t) = &mut m.table {
            if let Some(g) = t.get_mut(&guest) {
                validate::apply_set(g, vcpu, &gsb, Scope::Thread);
            }
        }
        let trap = match l2::run(&self.mem, m, (guest, vcpu), pate0) {
            l2::Outcome::Exit(trap) => trap,
            l2::Outcome::Hang(abort) => return HcallOutput::rc(m.abort(abort)),
        };
        let Some(v) = m.vcpu_mut(guest, vcpu) else {
            return HcallOutput::ok(trap);
        };
        let mut buf = l2::output(v, trap);
        let fits = v.run_out.is_some_and(|o| buf.len() as u64 <= o.size);
        let addr = v.run_out.map_or(0, |o| o.addr);
        mangle(&mut buf, fault);
        if !fits || self.mem.write(L1RealAddr(addr), &buf).is_err() {
            // QEMU's quirk: r3 stays H_SUCCESS and H_P2 lands in r4.
            return HcallOutput::ok(ReturnCode::P2.raw() as u64);
        }
        HcallOutput::ok(trap)
    }
}

impl<M: RealMemory> Hcall for SoftL0<M> {
    fn hcall(&self, op: u64, a: [u64; HCALL_ARGS]) -> HcallOutput {
        let mut guard = self.lock();
        let m = &mut *guard;
        let n = {
            let c = m.counts.entry(op).or_insert(0);
            *c += 1;
            *c
        };
        let injection = m
            .armed
            .iter()
            .find(|x| x.matches(op, n))
            .map(|x| x.injection);
        match injection {
            Some(Injection::Fail { rc, r4 }) => return out(rc, r4),
            Some(Injection::Busy { rc, .. }) => {
                let mut r4 = 0;
                if op == opcode::H_GUEST_CREATE {
                    r4 = 0x4000_0000_0000_0000 | n;
                    m.create_token = Some(r4);
                }
                return out(rc, r4);
            }
            _ => {}
        }
        match op {
            opcode::H_GUEST_GET_CAPABILITIES => Self::get_caps(m, a[0]),
            opcode::H_GUEST_SET_CAPABILITIES => Self::set_caps(m, a[0], a[1]),
            opcode::H_GUEST_CREATE => Self::create(m, a[0], a[1]),
            opcode::H_GUEST_CREATE_VCPU => Self::create_vcpu(m, a[0], a[1], a[2]),
            opcode::H_GUEST_GET_STATE | opcode::H_GUEST_SET_STATE => {
                self.getset(m, op, &a, injection)
            }
            opcode::H_GUEST_RUN_VCPU => self.run(m, &a, injection),
            opcode::H_GUEST_DELETE => Self::delete(m, a[0], a[1]),
            // H_GUEST_COPY_MEMORY included: QEMU does not register it.
            _ => rc(ReturnCode::Function),
        }
    }
}

// SAFETY: the software L0 reaches L1 memory only through the safe, bounds-checked
// `RealMemory` it was given; no argument makes it touch anything else.
unsafe impl<M: RealMemory> ContainedHcall for SoftL0<M> {}
