//! The L1 side: runs a scenario's steps through `NestedHv` and `papr-mmu-radix` over any
//! [`Hcall`] and [`RealMemory`], and records the trace.
//!
//! Every hcall goes through [`TracingHcall`], so the trace holds each one the L1 made
//! (opcode, return code), whichever layer made it. Requests refused client-side (they would
//! kill QEMU) appear as `refused`. The L2 program comes from an [`L2Backend`]: the software
//! L0 scripts it, a real L0 runs the words of [`crate::asm`].
//!
//! The suite is one session on one L0, scenario after scenario, in order: capabilities
//! are set once (by the `caps-*` scenarios at the start), and each scenario deletes the
//! guests it created before the next one starts. L1 memory for tables, RAM and buffers
//! comes from one pool ([`Config`]), reused by every scenario.
//!
//! Files, one concern each:
//! * `backend` — [`L2Backend`], where the L2 program comes from;
//! * `record` — [`Recorder`] and [`TracingHcall`], the trace events;
//! * this file — the [`Driver`] itself: a scenario's run, the L1 memory pool;
//! * `step` — the step machine: one [`Step`](crate::Step) at a time;
//! * `guest` — a guest's RAM, radix table and program;
//! * `state` — guest state buffers: run buffers, `H_GUEST_GET_STATE`;
//! * `run` — `H_GUEST_RUN_VCPU`: the run input, then the exit;
//! * `exit` — the run output, traced as the `exit` event (what the L0 wrote, raw);
//! * `handle` — what the L1 does about the exit `papr-nestedv2` decoded (`view` event);
//! * `mmio` — MMIO emulation through `papr_nestedv2::mmio` (`view act=mmio-load|mmio-store`
//!   with address, size, direction and data).

mod backend;
mod exit;
mod guest;
mod handle;
mod mmio;
mod record;
mod run;
mod state;
mod step;

pub use backend::{AsmBackend, L2Backend};
pub use record::{Recorder, TracingHcall};

use crate::layout::Layout;
use crate::scenario::Scenario;
use crate::trace::TraceLine;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use papr_hcall::{GuestId, Hcall, HcallError, L1RealAddr, NestedHv, NoDelay, RealMemory};
use papr_mmu_radix::{Perms, PoolAlloc, RadixTable, TableMemory};
use papr_vcpu_state::VcpuState;
use record::kv;

/// Guest real address where vCPU 0's program starts (real mode).
pub const ENTRY: u64 = 0;
/// Distance between the programs of consecutive vCPUs of one guest: vCPU `n` starts at
/// `ENTRY + n * VCPU_CODE` (the vCPUs share the guest's RAM, so their code must not overlap;
/// every entry stays inside the code page mapped at
/// [`Step::SetupGuest`](crate::Step::SetupGuest)).
pub const VCPU_CODE: u64 = 0x800;

/// Where vCPU `vcpu`'s program starts.
pub const fn entry(vcpu: u64) -> u64 {
    ENTRY + vcpu * VCPU_CODE
}
/// MSR every L2 starts with: SF | RI | LE, real mode.
pub const L2_MSR: u64 = 0x8000_0000_0000_0003;
/// RAM every guest gets at [`Step::SetupGuest`](crate::Step::SetupGuest): `0..DEFAULT_RAM`.
pub const DEFAULT_RAM: u64 = 0x1_0000;
/// L1 memory for one guest's radix tables.
pub const TABLE_POOL: u64 = 0x10_0000;
const PAGE: u64 = 0x1000;

/// L1 memory the driver may use: `len` bytes at `base` (64 KiB aligned; at least 8 MiB
/// for the suite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// First byte.
    pub base: u64,
    /// Length.
    pub len: u64,
}

/// L1 memory as the driver needs it: buffers for the L0 ([`RealMemory`]) and radix tables
/// ([`TableMemory`]) in the same memory; a clone is another handle to it (the table keeps
/// one). `papr_hcall::IdentityMemory` and `papr_hcall::VmRealMemory` are.
pub trait L1Memory: RealMemory + TableMemory + Clone {}

impl<T: RealMemory + TableMemory + Clone> L1Memory for T {}

type Table<M> = RadixTable<M, PoolAlloc<4>>;

struct VcpuSt {
    input: u64,
    output: u64,
    /// The L1's cache of the vCPU's registers (`papr-vcpu-state`): what the L1 sets goes
    /// out in the next run input through [`VcpuState::flush`]; each run output comes in
    /// through [`VcpuState::apply_exit`], and `papr-nestedv2` decodes the exit from it.
    state: VcpuState,
    layout: Layout,
}

struct GuestSt<M: L1Memory> {
    id: u64,
    deleted: bool,
    table: Option<Table<M>>,
    ram: Vec<(u64, u64, u64)>,
    vcpus: BTreeMap<u64, VcpuSt>,
}

/// Drives scenarios on one L0 (one session).
pub struct Driver<'a, H: Hcall, M: L1Memory, B: L2Backend> {
    hv: NestedHv<TracingHcall<'a, H>, &'a M, NoDelay>,
    mem: &'a M,
    backend: &'a B,
    rec: &'a Recorder,
    cfg: Config,
    bump: u64,
    scratch: u64,
    guests: BTreeMap<u8, GuestSt<M>>,
}

impl<H: Hcall, M: L1Memory, B: L2Backend> core::fmt::Debug for Driver<'_, H, M, B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Driver")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

type StepResult = Result<(), String>;

fn err<E: core::fmt::Debug>(what: &str) -> impl FnOnce(E) -> String + '_ {
    move |e| format!("{what}: {e:?}")
}

fn perms(bits: u8) -> Perms {
    Perms::from_entry(u64::from(bits))
}

fn first_word(s: &str) -> &str {
    s.split([' ', '{', '(']).next().unwrap_or(s)
}

impl<'a, H: Hcall, M: L1Memory, B: L2Backend> Driver<'a, H, M, B> {
    /// A driver over `hcall` (the L0), `mem` (L1 memory as the L0 sees it), `backend` (the
    /// L2 program), recording into `rec`, using L1 memory `cfg`.
    pub fn new(hcall: H, mem: &'a M, backend: &'a B, rec: &'a Recorder, cfg: Config) -> Self {
        Self {
            hv: NestedHv::new(TracingHcall::new(hcall, rec), mem, NoDelay),
            mem,
            backend,
            rec,
            cfg,
            bump: cfg.base,
            scratch: 0,
            guests: BTreeMap::new(),
        }
    }

    /// Runs `scenario`, handing every trace line to `sink` as soon as its step is done.
    /// A step the driver cannot carry out records `error what=…` and ends the scenario;
    /// guests still alive are deleted at the end (traced).
    pub fn run(&mut self, scenario: &Scenario, sink: &mut dyn FnMut(TraceLine)) {
        self.rec.begin(scenario.name);
        self.bump = self.cfg.base;
        self.guests.clear();
        let r = self.alloc(PAGE, PAGE).map(|a| self.scratch = a);
        if let Err(e) = r {
            self.rec.push("error", vec![kv("what", e)]);
        } else {
            for step in &scenario.steps {
                let r = self.step(step);
                if let Err(e) = r {
                    let what: String = e.chars().filter(|c| !c.is_whitespace()).collect();
                    self.rec.push("error", vec![kv("what", what)]);
                    break;
                }
                self.rec.take().into_iter().for_each(&mut *sink);
            }
        }
        let live: Vec<u8> = self
            .guests
            .iter()
            .filter(|(_, g)| !g.deleted)
            .map(|(s, _)| *s)
            .collect();
        for slot in live {
            if let Some(g) = self.guests.get(&slot) {
                let id = g.id;
                if let Err(e) = self.hv.delete_guest(GuestId(id)) {
                    self.note(&e);
                }
            }
        }
        self.guests.clear();
        self.rec.take().into_iter().for_each(sink);
    }

    fn alloc(&mut self, len: u64, align: u64) -> Result<u64, String> {
        let at = self.bump.next_multiple_of(align);
        let end = at.checked_add(len).ok_or("pool overflow")?;
        if end > self.cfg.base + self.cfg.len {
            return Err(format!("L1 pool exhausted ({len:#x} bytes more)"));
        }
        let zero = [0u8; PAGE as usize];
        let mut a = at;
        while a < end {
            let n = (end - a).min(PAGE) as usize;
            self.mem
                .write(L1RealAddr(a), zero.get(..n).unwrap_or(&[]))
                .map_err(err("zeroing L1 memory"))?;
            a += n as u64;
        }
        self.bump = end;
        Ok(at)
    }

    /// Records a request a crate refused client-side (no hcall was made).
    fn refused(&self, call: &str, e: &dyn core::fmt::Debug) {
        let r = format!("{e:?}");
        self.rec.push(
            "refused",
            vec![kv("call", call), kv("reason", first_word(&r))],
        );
    }

    /// Records what a failed `NestedHv` call means for the trace: a client-side refusal is
    /// an event; an L0 error answer is already in the trace as its `hcall` event.
    fn note(&self, e: &HcallError) {
        match e {
            HcallError::Failed { .. }
            | HcallError::InvalidElement { .. }
            | HcallError::Timeout { .. } => {}
            HcallError::Refused { call, reason } => {
                let r = format!("{reason:?}");
                self.rec.push(
                    "refused",
                    vec![kv("call", call), kv("reason", first_word(&r))],
                );
            }
            other => {
                let r = format!("{other:?}");
                self.rec.push("refused", vec![kv("reason", first_word(&r))]);
            }
        }
    }
}
