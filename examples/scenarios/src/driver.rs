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

use crate::asm::{assemble, Image};
use crate::layout::{Layout, NiaKind};
use crate::scenario::{GuestRef, Handle, Hdec, L2Op, Scenario, Scope, Step};
use crate::trace::TraceLine;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use papr_gsb::{
    BufferDescriptor, Gsb, GsbBuilder, GuestStateId, PartitionTable, Policy, ProcessTable, Value,
};
use papr_hcall::{
    opcode, GuestId, Hcall, HcallError, HcallOutput, L1RealAddr, NestedHv, NoDelay, RealMemory,
    Target, VcpuId, HCALL_ARGS,
};
use papr_mmu_radix::bits::PTE_RPN_MASK;
use papr_mmu_radix::{GuestRealAddr, NoInvalidate, Perms, PoolAlloc, RadixTable, TableMemory};
use papr_nestedv2::{hdsisr, trap, RealTableMemory};

/// Guest real address where vCPU 0's program starts (real mode).
pub const ENTRY: u64 = 0;
/// Distance between the programs of consecutive vCPUs of one guest: vCPU `n` starts at
/// `ENTRY + n * VCPU_CODE` (the vCPUs share the guest's RAM, so their code must not overlap;
/// every entry stays inside the code page mapped at [`Step::SetupGuest`]).
pub const VCPU_CODE: u64 = 0x800;

/// Where vCPU `vcpu`'s program starts.
pub const fn entry(vcpu: u64) -> u64 {
    ENTRY + vcpu * VCPU_CODE
}
/// MSR every L2 starts with: SF | RI | LE, real mode.
pub const L2_MSR: u64 = 0x8000_0000_0000_0003;
/// RAM every guest gets at [`Step::SetupGuest`]: `0..DEFAULT_RAM`.
pub const DEFAULT_RAM: u64 = 0x1_0000;
/// L1 memory for one guest's radix tables.
pub const TABLE_POOL: u64 = 0x10_0000;
const PAGE: u64 = 0x1000;

/// Where the L2 program comes from.
pub trait L2Backend {
    /// Gives vCPU `vcpu` of guest `guest` (L0 ids) the program `program`, starting at
    /// `entry`. Returns the code to copy into L2 RAM (none for a scripted L2) and the
    /// layout of the actions.
    ///
    /// # Errors
    /// A description of why the program cannot run on this backend.
    fn load(&self, guest: u64, vcpu: u64, entry: u64, program: &[L2Op]) -> Result<Image, String>;

    /// The L1 timebase now.
    fn timebase(&self) -> u64;
}

/// The backend of a real L0: the program is assembled and copied into L2 RAM; the
/// timebase comes from `F` (on POWER: `mftb`).
#[derive(Debug, Clone, Copy)]
pub struct AsmBackend<F>(pub F);

impl<F: Fn() -> u64> L2Backend for AsmBackend<F> {
    fn load(&self, _: u64, _: u64, entry: u64, program: &[L2Op]) -> Result<Image, String> {
        assemble(entry, program).map_err(|e| format!("{e:?}"))
    }
    fn timebase(&self) -> u64 {
        (self.0)()
    }
}

/// Collects trace events of the scenario being run.
#[derive(Debug, Default)]
pub struct Recorder {
    inner: RefCell<(String, u32, Vec<TraceLine>)>,
}

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

fn kv(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts scenario `name` (sequence numbers restart at 0).
    pub fn begin(&self, name: &str) {
        let mut r = self.inner.borrow_mut();
        r.0 = name.to_string();
        r.1 = 0;
    }

    /// Records one event.
    pub fn push(&self, kind: &str, fields: Vec<(String, String)>) {
        let mut r = self.inner.borrow_mut();
        let line = TraceLine {
            scenario: r.0.clone(),
            seq: r.1,
            kind: kind.to_string(),
            fields,
        };
        r.1 += 1;
        r.2.push(line);
    }

    /// Takes the events recorded so far.
    pub fn take(&self) -> Vec<TraceLine> {
        core::mem::take(&mut self.inner.borrow_mut().2)
    }
}

/// An [`Hcall`] that records every call (`hcall op=… rc=… [ret=…]`) before returning it.
/// `ret` (r4) is recorded where it is deterministic: capabilities, guest ids, exit traps.
#[derive(Debug)]
pub struct TracingHcall<'r, H> {
    inner: H,
    rec: &'r Recorder,
}

impl<'r, H: Hcall> TracingHcall<'r, H> {
    /// Wraps `inner`.
    pub fn new(inner: H, rec: &'r Recorder) -> Self {
        Self { inner, rec }
    }
}

impl<H: Hcall> Hcall for TracingHcall<'_, H> {
    fn hcall(&self, op: u64, args: [u64; HCALL_ARGS]) -> HcallOutput {
        let out = self.inner.hcall(op, args);
        let name = opcode::name(op).map_or_else(|| hex(op), ToString::to_string);
        let mut f = vec![kv("op", name), kv("rc", out.rc)];
        let keeps_r4 = matches!(
            op,
            opcode::H_GUEST_GET_CAPABILITIES | opcode::H_GUEST_CREATE | opcode::H_GUEST_RUN_VCPU
        );
        if out.rc == 0 && keeps_r4 {
            f.push(kv("ret", hex(out.ret[0])));
        }
        self.rec.push("hcall", f);
        out
    }
}

/// L1 memory the driver may use: `len` bytes at `base` (64 KiB aligned; at least 8 MiB
/// for the suite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// First byte.
    pub base: u64,
    /// Length.
    pub len: u64,
}

type Table<'m, M> = RadixTable<RealTableMemory<&'m M>, PoolAlloc<4>>;

struct VcpuSt {
    input: u64,
    output: u64,
    pending: BTreeMap<u16, u64>,
    layout: Layout,
}

struct GuestSt<'m, M: RealMemory> {
    id: u64,
    deleted: bool,
    table: Option<Table<'m, M>>,
    ram: Vec<(u64, u64, u64)>,
    vcpus: BTreeMap<u64, VcpuSt>,
}

/// Drives scenarios on one L0 (one session).
pub struct Driver<'a, H: Hcall, M: RealMemory, B: L2Backend> {
    hv: NestedHv<TracingHcall<'a, H>, &'a M, NoDelay>,
    mem: &'a M,
    backend: &'a B,
    rec: &'a Recorder,
    cfg: Config,
    bump: u64,
    scratch: u64,
    guests: BTreeMap<u8, GuestSt<'a, M>>,
}

impl<H: Hcall, M: RealMemory, B: L2Backend> core::fmt::Debug for Driver<'_, H, M, B> {
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

impl<'a, H: Hcall, M: RealMemory, B: L2Backend> Driver<'a, H, M, B> {
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

    fn guest_id(&self, g: GuestRef) -> Result<u64, String> {
        match g {
            GuestRef::Id(id) => Ok(id),
            GuestRef::Slot(s) => self
                .guests
                .get(&s)
                .map(|g| g.id)
                .ok_or_else(|| format!("no guest in slot {s}")),
        }
    }

    fn guest(&mut self, slot: u8) -> Result<&mut GuestSt<'a, M>, String> {
        self.guests
            .get_mut(&slot)
            .ok_or_else(|| format!("no guest in slot {slot}"))
    }

    fn vcpu(&mut self, slot: u8, vcpu: u64) -> Result<&mut VcpuSt, String> {
        self.guest(slot)?
            .vcpus
            .get_mut(&vcpu)
            .ok_or_else(|| format!("no vcpu {vcpu} in slot {slot}"))
    }

    fn target(&self, scope: Scope, guest: GuestRef, vcpu: u64) -> Result<Target, String> {
        let guest = GuestId(self.guest_id(guest)?);
        let scope = match scope {
            Scope::Thread => papr_gsb::Scope::Thread,
            Scope::Guest => papr_gsb::Scope::Guest,
            Scope::Host => papr_gsb::Scope::Host,
        };
        Ok(Target {
            scope,
            guest,
            vcpu: VcpuId(vcpu),
        })
    }

    fn backing(&self, slot: u8, gpa: u64) -> Option<u64> {
        self.guests
            .get(&slot)?
            .ram
            .iter()
            .find_map(|&(g, l1, len)| (gpa >= g && gpa - g < len).then(|| l1 + (gpa - g)))
    }

    fn table(&mut self, slot: u8) -> Result<&mut Table<'a, M>, String> {
        self.guest(slot)?
            .table
            .as_mut()
            .ok_or_else(|| format!("slot {slot} has no table (SetupGuest first)"))
    }

    fn map(&mut self, slot: u8, gpa: u64, len: u64, p: Perms) -> Result<(), String> {
        let l1 = self
            .backing(slot, gpa)
            .filter(|_| self.backing(slot, gpa + len - 1).is_some())
            .ok_or_else(|| format!("{gpa:#x}+{len:#x} is not RAM of slot {slot}"))?;
        self.table(slot)?
            .map(GuestRealAddr(gpa), papr_mmu_radix::L1RealAddr(l1), len, p)
            .map_err(err("map"))
    }

    fn add_ram(&mut self, slot: u8, gpa: u64, len: u64) -> StepResult {
        let l1 = self.alloc(len, PAGE)?;
        self.guest(slot)?.ram.push((gpa, l1, len));
        Ok(())
    }

    fn step(&mut self, step: &Step) -> StepResult {
        match step {
            Step::GetCaps { flags } => {
                self.raw(opcode::H_GUEST_GET_CAPABILITIES, [*flags, 0, 0]);
            }
            Step::SetCaps { caps } => {
                self.raw(opcode::H_GUEST_SET_CAPABILITIES, [0, *caps, 0]);
            }
            Step::CreateGuest { slot } => match self.hv.create_guest() {
                Ok(id) => {
                    self.guests.insert(
                        *slot,
                        GuestSt {
                            id: id.0,
                            deleted: false,
                            table: None,
                            ram: Vec::new(),
                            vcpus: BTreeMap::new(),
                        },
                    );
                }
                Err(e) => self.note(&e),
            },
            Step::SetupGuest { slot, ea_bits } => self.setup_guest(*slot, *ea_bits)?,
            Step::SetProcessTable { slot, base, size } => {
                let id = self.guest(*slot)?.id;
                let mut buf = [0u8; 64];
                let mut b = GsbBuilder::new(&mut buf).map_err(err("gsb"))?;
                b.put(
                    GuestStateId::PROCESS_TABLE,
                    Value::ProcessTable(ProcessTable {
                        base: *base,
                        size: *size,
                    }),
                )
                .map_err(err("gsb"))?;
                let n = b.finish();
                let at = L1RealAddr(self.scratch);
                if let Err(e) =
                    self.hv
                        .set_state(Target::guest(GuestId(id)), buf.get(..n).unwrap_or(&[]), at)
                {
                    self.note(&e);
                }
            }
            Step::AddRam { slot, gpa, len } => self.add_ram(*slot, *gpa, *len)?,
            Step::CreateVcpu { guest, vcpu } => {
                let id = self.guest_id(*guest)?;
                match self.hv.create_vcpu(GuestId(id), VcpuId(*vcpu)) {
                    Ok(()) => {}
                    Err(e) => self.note(&e),
                }
            }
            Step::SetRunBuffers { slot, vcpu, size } => {
                self.set_run_buffers(*slot, *vcpu, *size)?;
            }
            Step::Load {
                slot,
                vcpu,
                program,
            } => self.load(*slot, *vcpu, program)?,
            Step::Run {
                slot,
                vcpu,
                hdec,
                handle,
            } => self.run_vcpu(*slot, *vcpu, *hdec, *handle)?,
            Step::RunRaw { guest, vcpu, flags } => {
                let g = self.guest_id(*guest)?;
                self.raw(opcode::H_GUEST_RUN_VCPU, [*flags, g, *vcpu]);
            }
            Step::SetReg {
                slot,
                vcpu,
                id,
                value,
            } => {
                self.vcpu(*slot, *vcpu)?.pending.insert(*id, *value);
            }
            Step::Resume { slot, vcpu, action } => {
                let v = self.vcpu(*slot, *vcpu)?;
                let nia = v.layout.start(*action);
                v.pending.insert(GuestStateId::NIA.0, nia);
            }
            Step::SetState {
                scope,
                guest,
                vcpu,
                values,
            } => {
                let target = self.target(*scope, *guest, *vcpu)?;
                let mut buf = [0u8; 512];
                let mut b = GsbBuilder::new(&mut buf).map_err(err("gsb"))?;
                for &(id, v) in values {
                    let id = GuestStateId(id);
                    let r = match id.size() {
                        Some(4) => b.put_u32(id, v as u32),
                        _ => b.put_u64(id, v),
                    };
                    r.map_err(err("gsb"))?;
                }
                let n = b.finish();
                let at = L1RealAddr(self.scratch);
                if let Err(e) = self.hv.set_state(target, buf.get(..n).unwrap_or(&[]), at) {
                    self.note(&e);
                }
            }
            Step::GetState {
                scope,
                guest,
                vcpu,
                ids,
            } => self.get_state(*scope, *guest, *vcpu, ids)?,
            Step::RawState {
                set,
                flags,
                guest,
                vcpu,
                bytes,
            } => {
                let g = self.guest_id(*guest)?;
                // Zero the page first: what lies past the buffer must not depend on earlier
                // steps (QEMU reads one element header past a buffer whose count is too high).
                let zero = [0u8; PAGE as usize];
                self.mem
                    .write(L1RealAddr(self.scratch), &zero)
                    .map_err(err("scratch"))?;
                self.mem
                    .write(L1RealAddr(self.scratch), bytes)
                    .map_err(err("scratch"))?;
                let op = if *set {
                    opcode::H_GUEST_SET_STATE
                } else {
                    opcode::H_GUEST_GET_STATE
                };
                let len = bytes.len() as u64;
                // SAFETY: the only address passed is `self.scratch`, the driver's page of L1 memory just written through `self.mem` (so inside it); the L0 reads and writes at most `len` bytes of it.
                unsafe { self.hv.hcall_unchecked() }
                    .hcall(op, [*flags, g, *vcpu, self.scratch, len, 0, 0, 0, 0]);
            }
            Step::DeleteRaw { flags, guest } => {
                let g = self.guest_id(*guest)?;
                let out = self.raw(opcode::H_GUEST_DELETE, [*flags, g, 0]);
                if out.rc == 0 {
                    self.mark_deleted(*guest);
                }
            }
            Step::CreateVcpuRaw { guest, vcpu } => {
                let g = self.guest_id(*guest)?;
                self.raw(opcode::H_GUEST_CREATE_VCPU, [0, g, *vcpu]);
            }
            Step::Delete { guest } => {
                let g = self.guest_id(*guest)?;
                match self.hv.delete_guest(GuestId(g)) {
                    Ok(()) => self.mark_deleted(*guest),
                    Err(e) => self.note(&e),
                }
            }
            Step::DeleteAll => {
                if let Err(e) = self.hv.delete_all_guests() {
                    self.note(&e);
                }
            }
            Step::Map {
                slot,
                gpa,
                len,
                perms: p,
            } => self.map(*slot, *gpa, *len, perms(*p))?,
            Step::Unmap { slot, gpa, len } => {
                self.table(*slot)?
                    .unmap(GuestRealAddr(*gpa), *len, &mut NoInvalidate)
                    .map_err(err("unmap"))?;
            }
            Step::Protect {
                slot,
                gpa,
                len,
                perms: p,
            } => {
                self.table(*slot)?
                    .protect(GuestRealAddr(*gpa), *len, perms(*p), &mut NoInvalidate)
                    .map_err(err("protect"))?;
            }
            Step::SetPte { slot, gpa, bits } => self.set_pte(*slot, *gpa, *bits)?,
            Step::ReadPte { slot, gpa } => {
                let t = self
                    .table(*slot)?
                    .translate(GuestRealAddr(*gpa))
                    .map_err(err("translate"))?;
                let bits =
                    t.map_or_else(|| "none".to_string(), |t| hex(t.pte.raw() & !PTE_RPN_MASK));
                self.rec.push(
                    "pte",
                    vec![kv("g", slot), kv("gpa", hex(*gpa)), kv("bits", bits)],
                );
            }
            Step::ReadMem { slot, gpa } => {
                let l1 = self
                    .backing(*slot, *gpa)
                    .ok_or_else(|| format!("{gpa:#x} is not RAM"))?;
                let mut b = [0u8; 8];
                self.mem.read(L1RealAddr(l1), &mut b).map_err(err("read"))?;
                self.rec.push(
                    "mem",
                    vec![
                        kv("g", slot),
                        kv("gpa", hex(*gpa)),
                        kv("value", hex(u64::from_be_bytes(b))),
                    ],
                );
            }
        }
        Ok(())
    }

    fn raw(&self, op: u64, first: [u64; 3]) -> HcallOutput {
        let mut a = [0u64; HCALL_ARGS];
        a[..3].copy_from_slice(&first);
        // SAFETY: no caller of `raw` passes an address (flags, ids and capabilities only; a RUN writes the run buffers registered through the typed API, which checked them).
        unsafe { self.hv.hcall_unchecked() }.hcall(op, a)
    }

    fn mark_deleted(&mut self, g: GuestRef) {
        let id = match g {
            GuestRef::Slot(s) => self.guests.get(&s).map(|g| g.id),
            GuestRef::Id(id) => Some(id),
        };
        for g in self.guests.values_mut() {
            if Some(g.id) == id && !g.deleted {
                g.deleted = true;
                break;
            }
        }
    }

    fn setup_guest(&mut self, slot: u8, ea_bits: u64) -> StepResult {
        let pool = self.alloc(TABLE_POOL, 0x1_0000)?;
        let alloc = PoolAlloc::<4>::new(papr_mmu_radix::L1RealAddr(pool), TABLE_POOL)
            .map_err(err("table pool"))?;
        let table =
            RadixTable::new(RealTableMemory(self.mem), alloc).map_err(err("radix table"))?;
        let [root, _, root_size] = table.pagetable_value().to_u64s();
        let id = {
            let g = self.guest(slot)?;
            g.table = Some(table);
            g.id
        };
        self.add_ram(slot, 0, DEFAULT_RAM)?;
        self.map(slot, ENTRY, PAGE, Perms::RWX)?;
        let mut buf = [0u8; 64];
        let mut b = GsbBuilder::new(&mut buf).map_err(err("gsb"))?;
        b.put(
            GuestStateId::PARTITION_TABLE,
            Value::PartitionTable(PartitionTable {
                root,
                ea_bits,
                root_size,
            }),
        )
        .map_err(err("gsb"))?;
        let n = b.finish();
        let at = L1RealAddr(self.scratch);
        if let Err(e) =
            self.hv
                .set_state(Target::guest(GuestId(id)), buf.get(..n).unwrap_or(&[]), at)
        {
            self.note(&e);
        }
        Ok(())
    }

    fn set_run_buffers(&mut self, slot: u8, vcpu: u64, size: u64) -> StepResult {
        let id = self.guest(slot)?.id;
        let input = self.alloc(PAGE, PAGE)?;
        let output = self.alloc(PAGE, PAGE)?;
        self.get_state(
            Scope::Guest,
            GuestRef::Slot(slot),
            vcpu,
            &[GuestStateId::RUN_OUTPUT_MIN_SIZE.0],
        )?;
        let mut buf = [0u8; 64];
        let mut b = GsbBuilder::new(&mut buf).map_err(err("gsb"))?;
        for (gsid, address) in [
            (GuestStateId::RUN_OUTPUT, output),
            (GuestStateId::RUN_INPUT, input),
        ] {
            b.put(gsid, Value::Buffer(BufferDescriptor { address, size }))
                .map_err(err("gsb"))?;
        }
        let n = b.finish();
        let at = L1RealAddr(self.scratch);
        let target = Target::thread(GuestId(id), VcpuId(vcpu));
        if let Err(e) = self.hv.set_state(target, buf.get(..n).unwrap_or(&[]), at) {
            self.note(&e);
        }
        self.guest(slot)?.vcpus.insert(
            vcpu,
            VcpuSt {
                input,
                output,
                pending: BTreeMap::new(),
                layout: Layout::default(),
            },
        );
        Ok(())
    }

    fn get_state(&mut self, scope: Scope, guest: GuestRef, vcpu: u64, ids: &[u16]) -> StepResult {
        let target = self.target(scope, guest, vcpu)?;
        let mut buf = [0u8; 512];
        let mut b = GsbBuilder::new(&mut buf).map_err(err("gsb"))?;
        for &id in ids {
            b.put_request(GuestStateId(id)).map_err(err("gsb"))?;
        }
        let n = b.finish();
        let at = L1RealAddr(self.scratch);
        let answer = match self
            .hv
            .get_state(target, buf.get_mut(..n).unwrap_or(&mut []), at)
        {
            Ok(a) => a,
            Err(e) => {
                self.note(&e);
                return Ok(());
            }
        };
        let layout = match (scope, guest) {
            (Scope::Thread, GuestRef::Slot(s)) => self
                .guests
                .get(&s)
                .and_then(|g| g.vcpus.get(&vcpu))
                .map(|v| &v.layout),
            _ => None,
        };
        let mut events = Vec::new();
        for e in answer.iter() {
            let value = match layout {
                // Instruction addresses differ between L0s: traced by action.
                Some(l) if e.id == GuestStateId::NIA => {
                    l.symbol(be_u64(e.value_bytes()), NiaKind::Resume)
                }
                _ => be_hex(e.value_bytes()),
            };
            events.push(vec![kv("id", hex(u64::from(e.id.0))), kv("value", value)]);
        }
        for f in events {
            self.rec.push("state", f);
        }
        Ok(())
    }

    fn load(&mut self, slot: u8, vcpu: u64, program: &[L2Op]) -> StepResult {
        let id = self.guest(slot)?.id;
        let start = entry(vcpu);
        let image = self.backend.load(id, vcpu, start, program)?;
        for s in &image.segments {
            let bytes = s.to_le_bytes();
            let len = bytes.len() as u64;
            let l1 = self
                .backing(slot, s.gpa)
                .filter(|_| len == 0 || self.backing(slot, s.gpa + len - 1).is_some())
                .ok_or_else(|| format!("code at {:#x} is not in RAM", s.gpa))?;
            self.mem
                .write(L1RealAddr(l1), &bytes)
                .map_err(err("code copy"))?;
        }
        let v = self.vcpu(slot, vcpu)?;
        v.layout = image.layout;
        v.pending.insert(GuestStateId::NIA.0, start);
        v.pending.insert(GuestStateId::MSR.0, L2_MSR);
        Ok(())
    }

    fn set_pte(&mut self, slot: u8, gpa: u64, bits: u64) -> StepResult {
        let page = gpa & !(PAGE - 1);
        let mapped = self
            .table(slot)?
            .translate(GuestRealAddr(page))
            .map_err(err("translate"))?;
        if mapped.is_none() {
            self.map(slot, page, PAGE, Perms::RWX)?;
        }
        let t = self
            .table(slot)?
            .translate(GuestRealAddr(page))
            .map_err(err("translate"))?
            .ok_or("page not mapped after map")?;
        let raw = (t.pte.raw() & PTE_RPN_MASK) | (bits & !PTE_RPN_MASK);
        RealTableMemory(self.mem)
            .write_u64(t.entry_addr, raw)
            .map_err(err("pte write"))
    }

    fn run_vcpu(&mut self, slot: u8, vcpu: u64, hdec: Hdec, handle: Handle) -> StepResult {
        let gid = self.guest(slot)?.id;
        let now = self.backend.timebase();
        let expiry = match hdec {
            Hdec::Future(t) => now.wrapping_add(t),
            Hdec::Past(t) => now.wrapping_sub(t),
            Hdec::Absolute(v) => v,
        };
        let (input, output, pending) = {
            let v = self.vcpu(slot, vcpu)?;
            (v.input, v.output, v.pending.clone())
        };
        let mut buf = [0u8; 1024];
        let mut b = GsbBuilder::new(&mut buf).map_err(err("gsb"))?;
        for (&id, &value) in &pending {
            b.put_u64(GuestStateId(id), value).map_err(err("gsb"))?;
        }
        b.put_u64(GuestStateId::HDEC_EXPIRY_TB, expiry)
            .map_err(err("gsb"))?;
        let n = b.finish();
        self.mem
            .write(L1RealAddr(input), buf.get(..n).unwrap_or(&[]))
            .map_err(err("run input"))?;
        let trap = match self.hv.run_vcpu(GuestId(gid), VcpuId(vcpu)) {
            Ok(t) => t,
            Err(e) => {
                self.note(&e);
                return Ok(());
            }
        };
        self.vcpu(slot, vcpu)?.pending.clear();
        let mut out = [0u8; 256];
        self.mem
            .read(L1RealAddr(output), &mut out)
            .map_err(err("run output"))?;
        let exit = self.trace_exit(slot, vcpu, trap, &out)?;
        match handle {
            Handle::Nothing => self.rec.push(
                "view",
                vec![kv("g", slot), kv("v", vcpu), kv("act", "none")],
            ),
            Handle::Auto => self.handle(slot, vcpu, trap, exit)?,
        }
        Ok(())
    }

    /// Records the `exit` event; returns (asdr, hdsisr, nia) where present.
    fn trace_exit(
        &mut self,
        slot: u8,
        vcpu: u64,
        trap_: u64,
        out: &[u8],
    ) -> Result<ExitRegs, String> {
        let kind = match trap_ {
            trap::HDSI => NiaKind::DataAccess,
            trap::HISI => NiaKind::Fetch,
            trap::HEAI => NiaKind::Illegal,
            _ => NiaKind::Resume,
        };
        let mut f = vec![kv("g", slot), kv("v", vcpu), kv("trap", hex(trap_))];
        let mut regs = ExitRegs::default();
        match Gsb::parse(out, &Policy::L1_RUN_OUTPUT) {
            Err(e) => {
                let r = format!("{e:?}");
                f.push(kv("out", format!("bad:{}", first_word(&r))));
            }
            Ok(gsb) => {
                let ids: Vec<String> = gsb
                    .iter()
                    .map(|e| format!("{:x}:{}", e.id.0, e.value_bytes().len()))
                    .collect();
                f.push(kv("n", gsb.len()));
                f.push(kv(
                    "out",
                    if ids.is_empty() {
                        "-".to_string()
                    } else {
                        ids.join(",")
                    },
                ));
                let layout = &self.vcpu(slot, vcpu)?.layout;
                for e in gsb.iter() {
                    let bytes = e.value_bytes();
                    let v = be_u64(bytes);
                    let (key, value) = match e.id {
                        GuestStateId::HDAR => ("hdar".to_string(), hex(v)),
                        GuestStateId::HDSISR => {
                            regs.hdsisr = Some(v as u32);
                            ("hdsisr".to_string(), hex(v))
                        }
                        GuestStateId::ASDR => {
                            regs.asdr = Some(v);
                            ("asdr".to_string(), hex(v))
                        }
                        GuestStateId::HEIR => ("heir".to_string(), hex(v)),
                        GuestStateId::NIA => {
                            regs.nia = Some(v);
                            ("nia".to_string(), layout.symbol(v, kind))
                        }
                        GuestStateId::MSR => ("msr".to_string(), hex(v)),
                        id if (0x1003..=0x100C).contains(&id.0) => {
                            (format!("gpr{}", id.0 - 0x1000), hex(v))
                        }
                        id => (format!("id{:x}", id.0), be_hex(bytes)),
                    };
                    f.push((key, value));
                }
            }
        }
        self.rec.push("exit", f);
        Ok(regs)
    }

    fn is_mapped(&mut self, slot: u8, gpa: u64) -> Result<bool, String> {
        Ok(self
            .table(slot)?
            .translate(GuestRealAddr(gpa))
            .map_err(err("translate"))?
            .is_some())
    }

    fn skip(
        &mut self,
        slot: u8,
        vcpu: u64,
        nia: Option<u64>,
        kind: NiaKind,
    ) -> Result<Option<usize>, String> {
        let v = self.vcpu(slot, vcpu)?;
        let Some(k) = nia.and_then(|n| v.layout.action_at(n, kind)) else {
            return Ok(None);
        };
        let next = v.layout.start(k + 1);
        v.pending.insert(GuestStateId::NIA.0, next);
        Ok(Some(k))
    }

    fn handle(&mut self, slot: u8, vcpu: u64, trap_: u64, x: ExitRegs) -> StepResult {
        let mut f = vec![kv("g", slot), kv("v", vcpu)];
        match trap_ {
            trap::HCALL => {
                self.vcpu(slot, vcpu)?
                    .pending
                    .insert(GuestStateId::GPR3.0, 0);
                f.push(kv("act", "complete"));
                f.push(kv("r3", "0x0"));
            }
            trap::HDSI => {
                let gpa = x.asdr.unwrap_or(0);
                let h = x.hdsisr.unwrap_or(0);
                let page = gpa & !(PAGE - 1);
                if self.backing(slot, gpa).is_none() {
                    let k = self.skip(slot, vcpu, x.nia, NiaKind::DataAccess)?;
                    f.push(kv("act", if k.is_some() { "mmio-skip" } else { "none" }));
                    f.push(kv("gpa", hex(gpa)));
                    f.push(kv("write", u8::from(h & hdsisr::ISSTORE != 0)));
                } else if h & hdsisr::PROTFAULT != 0 {
                    f.push(kv("act", "none"));
                    f.push(kv("why", "protection"));
                } else if h & hdsisr::NOPTE != 0 && !self.is_mapped(slot, page)? {
                    self.map(slot, page, PAGE, Perms::RWX)?;
                    f.push(kv("act", "map"));
                    f.push(kv("gpa", hex(page)));
                } else if h & hdsisr::RC != 0 {
                    let store = h & hdsisr::ISSTORE != 0;
                    let ok = self
                        .table(slot)?
                        .set_rc(GuestRealAddr(gpa), store)
                        .map_err(err("set_rc"))?;
                    f.push(kv("act", if store { "set-rc" } else { "set-r" }));
                    f.push(kv("gpa", hex(page)));
                    f.push(kv("ok", u8::from(ok)));
                } else {
                    f.push(kv("act", "none"));
                }
            }
            trap::HISI => {
                let gpa = x.asdr.unwrap_or(0);
                let page = gpa & !(PAGE - 1);
                if self.backing(slot, gpa).is_some() && !self.is_mapped(slot, page)? {
                    self.map(slot, page, PAGE, Perms::RWX)?;
                    f.push(kv("act", "map"));
                    f.push(kv("gpa", hex(page)));
                } else {
                    f.push(kv("act", "none"));
                }
            }
            trap::HEAI => {
                let k = self.skip(slot, vcpu, x.nia, NiaKind::Illegal)?;
                f.push(kv("act", if k.is_some() { "skip" } else { "none" }));
            }
            _ => f.push(kv("act", "none")),
        }
        self.rec.push("view", f);
        Ok(())
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct ExitRegs {
    asdr: Option<u64>,
    hdsisr: Option<u32>,
    nia: Option<u64>,
}

fn be_u64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .fold(0u64, |a, &b| (a << 8) | u64::from(b))
}

fn be_hex(bytes: &[u8]) -> String {
    if bytes.len() <= 8 {
        return hex(be_u64(bytes));
    }
    let mut s = String::from("0x");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}
