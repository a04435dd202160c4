//! `Vcpu`: one L2 vCPU, its run buffers, the run, exit handling and interrupt injection.

use crate::clock::Clock;
use crate::error::Error;
use crate::exit::Exit;
use crate::guest::{Guest, PAGE};
use crate::handler::HcallReturn;
use crate::host::{Backend, Hv};
use crate::mmio::{self, MmioOp, MmioOptions, UpdateEa};
use crate::stats::ExitStats;
use core::fmt;
use papr_gsb::{BufferDescriptor, GsbBuilder, GsidSet, GuestStateId, Scope, Value};
use papr_hcall::{GuestId, HcallError, L1RealAddr, RealMemory, Target, VcpuId};
use papr_mmu_radix::{GuestRealAddr, TableAlloc};
use papr_vcpu_state::{sets, HvSource, StateSource, VcpuState};

mod run_loop;
pub use run_loop::{DEFAULT_FAULT_REPEAT_LIMIT, DEFAULT_LOOP_LIMIT};

/// MSR bits used here.
pub mod msr {
    /// 64-bit mode.
    pub const SF: u64 = 1 << 63;
    /// External interrupts enabled.
    pub const EE: u64 = 1 << 15;
    /// Machine checks enabled.
    pub const ME: u64 = 1 << 12;
    /// Instruction relocation.
    pub const IR: u64 = 1 << 5;
    /// Data relocation.
    pub const DR: u64 = 1 << 4;
    /// Little-endian.
    pub const LE: u64 = 1;
}

/// LPCR bits used here.
pub mod lpcr {
    /// Default page-fault DPFD = 4.
    pub const DPFD_4: u64 = 4 << 52;
    /// Interrupts taken little-endian.
    pub const ILE: u64 = 0x0200_0000;
    /// Alternate interrupt location field.
    pub const AIL: u64 = 0x0180_0000;
    /// AIL = 3 (interrupts at 0xC000_0000_0000_4000 + vector with relocation on).
    pub const AIL_3: u64 = 0x0180_0000;
    /// Mediated external interrupt request: the L0 raises an external interrupt in the L2
    /// when MSR\[EE\] = 1.
    pub const MER: u64 = 0x800;
    /// Guest translation shootdown enable.
    pub const GTSE: u64 = 0x400;
    /// What a new vCPU starts with (Linux: DPFD = 4, GTSE; radix and HR are the L0's).
    pub const DEFAULT: u64 = DPFD_4 | GTSE;
}

/// SRR1 flags of a program interrupt.
pub mod program {
    /// Illegal instruction.
    pub const ILLEGAL: u64 = 0x0008_0000;
    /// Privileged instruction.
    pub const PRIVILEGED: u64 = 0x0004_0000;
    /// Trap instruction.
    pub const TRAP: u64 = 0x0002_0000;
}

/// Interrupt vectors used for injection.
pub mod vector {
    /// External.
    pub const EXTERNAL: u64 = 0x500;
    /// Program.
    pub const PROGRAM: u64 = 0x700;
    /// Decrementer.
    pub const DECREMENTER: u64 = 0x900;
}

/// MSR bits an interrupt copies into SRR1 (the rest of SRR1 holds interrupt-specific
/// flags): Linux's `~0x783f0000`.
const SRR1_MSR_BITS: u64 = !0x783f_0000;

/// Bytes of the run output read first; QEMU's largest output is 124 bytes.
const OUTPUT_FIRST_READ: usize = 256;

/// Run input capacity (one page; a full flush needs `sets::MAX_RUN_INPUT` = 2412 bytes).
const INPUT_BYTES: usize = PAGE as usize;

/// Default HDEC slice: 1 ms of a 512 MHz timebase.
pub const DEFAULT_SLICE: u64 = 512_000;

/// A [`StateSource`] that refuses requests larger than the scratch page they are written to.
struct Scratch<S> {
    inner: S,
    cap: usize,
}

impl<S: StateSource> Scratch<S> {
    fn check(&self, call: &'static str, len: usize) -> Result<(), HcallError> {
        if len > self.cap {
            return Err(HcallError::BadArgument {
                call,
                what: "state buffer larger than the vCPU's scratch page",
                value: len as u64,
            });
        }
        Ok(())
    }
}

impl<S: StateSource> StateSource for Scratch<S> {
    fn get_state(&mut self, scope: Scope, gsb: &mut [u8]) -> Result<(), HcallError> {
        self.check("H_GUEST_GET_STATE", gsb.len())?;
        self.inner.get_state(scope, gsb)
    }
    fn set_state(&mut self, scope: Scope, gsb: &[u8]) -> Result<(), HcallError> {
        self.check("H_GUEST_SET_STATE", gsb.len())?;
        self.inner.set_state(scope, gsb)
    }
}

/// An exit that still takes a completion.
#[derive(Debug, Clone, Copy)]
enum Pending {
    None,
    Hcall,
    Mmio(MmioOp),
}

/// How [`Vcpu::run`] emulates MMIO: update forms write HDAR (the effective address the
/// L0 reported) to RA, as Linux's `vaddr_accessed` does, so a kernel-space update-form load
/// costs no GET (1 hcall per exit). An access crossing a page would need
/// [`UpdateEa::Registers`]; MMIO never crosses one in practice.
pub const RUN_MMIO_OPTIONS: MmioOptions = MmioOptions {
    update_ea: UpdateEa::Hdar,
};

/// One L2 vCPU.
///
/// Created by [`Guest::create_vcpu`] (ids 0, 1, 2… in order); its run input and output
/// buffers are 4 KiB L1 pages from the host's page allocator, registered with the L0 and
/// given back when the vCPU is dropped (the L0 forgets the vCPU with its guest: there is
/// no vCPU delete).
///
/// The register state lives in a [`VcpuState`] cache: [`state`](Self::state) /
/// [`state_mut`](Self::state_mut) read and write it; writes ride in the next run input.
pub struct Vcpu<'g, 'h, P: Backend, A: TableAlloc> {
    guest: &'g Guest<'h, P, A>,
    id: VcpuId,
    state: VcpuState,
    input: L1RealAddr,
    output: L1RealAddr,
    out_size: usize,
    lpcr: u64,
    slice: u64,
    deadline: Option<u64>,
    /// `run_loop` bound: exits handled in a row without the handler (None: unbounded).
    loop_limit: Option<u64>,
    /// `run_loop` bound: the same fault fixed this many times in a row.
    fault_repeat_limit: Option<u32>,
    pending: Pending,
    /// QEMU DEC quirk: the timebase of the last exit while the DEC_EXPIRY_TB the L0 holds
    /// is its wrong-sign value, not yet corrected.
    dec_fix: Option<u64>,
    stats: ExitStats,
    input_buf: [u8; INPUT_BYTES],
    output_buf: [u8; PAGE as usize],
}

impl<P: Backend, A: TableAlloc> fmt::Debug for Vcpu<'_, '_, P, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vcpu")
            .field("guest", &self.guest.id())
            .field("id", &self.id)
            .field("input", &self.input)
            .field("output", &self.output)
            .field("lpcr", &self.lpcr)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<'h, P: Backend, A: TableAlloc> Guest<'h, P, A> {
    /// Creates the next vCPU (ids in order, as QEMU requires) and sets it up for running:
    /// `H_GUEST_CREATE_VCPU`; a guest-wide GET of RUN_OUTPUT_MIN_SIZE (0x0002); one
    /// thread-wide SET of RUN_OUTPUT and RUN_INPUT (4 KiB pages each). The L2 starts at
    /// `nia` with `msr` (e.g. `0x8000_0000_0000_0003`: 64-bit, real mode), LPCR
    /// [`lpcr::DEFAULT`]; all three go out in the first run input with the HDEC expiry.
    ///
    /// If a step after the create fails, the pages go back; the vCPU id stays used in the
    /// L0 until the guest is deleted.
    ///
    /// # Errors
    /// [`Error::Hcall`], [`Error::OutOfPages`], [`Error::OutputBufferTooLarge`],
    /// [`Error::Gsb`].
    pub fn create_vcpu(&self, nia: u64, msr: u64) -> Result<Vcpu<'_, 'h, P, A>, Error> {
        let host = self.host;
        let gid = self.id();
        let mut hv = host.hv.lock();
        let id = VcpuId(hv.vcpus(gid).unwrap_or(0));
        hv.create_vcpu(gid, id)?;
        let input = host.alloc_page("run input")?;
        let output = match host.alloc_page("run output") {
            Ok(o) => o,
            Err(e) => {
                host.free_page(input);
                return Err(e);
            }
        };
        match register_buffers::<P>(&mut hv, gid, id, input, output) {
            Ok(out_size) => {
                drop(hv);
                let mut state = VcpuState::new_zeroed();
                state.set_nia(nia);
                state.set_msr(msr);
                state.set_lpcr(lpcr::DEFAULT);
                Ok(Vcpu {
                    guest: self,
                    id,
                    state,
                    input,
                    output,
                    out_size,
                    lpcr: lpcr::DEFAULT,
                    slice: DEFAULT_SLICE,
                    deadline: None,
                    loop_limit: Some(DEFAULT_LOOP_LIMIT),
                    fault_repeat_limit: Some(DEFAULT_FAULT_REPEAT_LIMIT),
                    pending: Pending::None,
                    dec_fix: None,
                    stats: ExitStats::default(),
                    input_buf: [0; INPUT_BYTES],
                    output_buf: [0; PAGE as usize],
                })
            }
            Err(e) => {
                drop(hv);
                host.free_page(input);
                host.free_page(output);
                Err(e)
            }
        }
    }
}

/// GET 0x0002, then SET 0x0C01 + 0x0C00 (one buffer). Returns the output size registered.
fn register_buffers<P: Backend>(
    hv: &mut Hv<P>,
    guest: GuestId,
    vcpu: VcpuId,
    input: L1RealAddr,
    output: L1RealAddr,
) -> Result<usize, Error> {
    let mut req = [0u8; 16];
    let mut b = GsbBuilder::new(&mut req)?;
    b.put_request(GuestStateId::RUN_OUTPUT_MIN_SIZE)?;
    let n = b.finish();
    let target = Target {
        scope: Scope::Guest,
        guest,
        vcpu,
    };
    let answer = hv.get_state(target, req.get_mut(..n).unwrap_or(&mut []), input)?;
    let min = answer
        .get(GuestStateId::RUN_OUTPUT_MIN_SIZE)
        .and_then(|e| e.value().as_u64())
        .ok_or(Error::MissingElement {
            call: "H_GUEST_GET_STATE",
            id: GuestStateId::RUN_OUTPUT_MIN_SIZE,
        })?;
    if min > PAGE {
        return Err(Error::OutputBufferTooLarge { min, max: PAGE });
    }
    let mut buf = [0u8; 64];
    let mut b = GsbBuilder::new(&mut buf)?;
    b.put(
        GuestStateId::RUN_OUTPUT,
        Value::Buffer(BufferDescriptor {
            address: output.0,
            size: PAGE,
        }),
    )?;
    b.put(
        GuestStateId::RUN_INPUT,
        Value::Buffer(BufferDescriptor {
            address: input.0,
            size: PAGE,
        }),
    )?;
    let n = b.finish();
    hv.set_state(
        Target::thread(guest, vcpu),
        buf.get(..n).unwrap_or(&[]),
        input,
    )?;
    Ok(PAGE as usize)
}

impl<'g, 'h, P: Backend, A: TableAlloc> Vcpu<'g, 'h, P, A> {
    /// The vCPU id.
    pub fn id(&self) -> VcpuId {
        self.id
    }

    /// Its guest.
    pub fn guest(&self) -> &'g Guest<'h, P, A> {
        self.guest
    }

    /// The register cache.
    pub fn state(&self) -> &VcpuState {
        &self.state
    }

    /// The register cache, to set registers (they go out in the next run input). Reading
    /// an invalid register needs an L0 source: see [`Vcpu::load`] and [`Vcpu::reg`].
    pub fn state_mut(&mut self) -> &mut VcpuState {
        &mut self.state
    }

    /// Exit statistics so far.
    pub fn stats(&self) -> &ExitStats {
        &self.stats
    }

    /// Resets the statistics.
    pub fn reset_stats(&mut self) {
        self.stats.reset();
    }

    /// The L1 real addresses of the run input and output buffers.
    pub fn buffers(&self) -> (L1RealAddr, L1RealAddr) {
        (self.input, self.output)
    }

    /// Sets the HDEC slice: each run ends at the latest `ticks` timebase ticks after it
    /// starts (at least 1).
    pub fn set_time_slice(&mut self, ticks: u64) {
        self.slice = ticks.max(1);
    }

    /// Sets (or clears) an absolute timebase deadline: runs end by it, and a run asked
    /// for at or after it is refused with [`Error::DeadlinePassed`].
    pub fn set_deadline(&mut self, deadline: Option<u64>) {
        self.deadline = deadline;
    }

    /// The LPCR value this vCPU sends (the L1 is its source of truth).
    pub fn lpcr(&self) -> u64 {
        self.lpcr
    }

    /// The L2's decrementer expiry (absolute L1 timebase). Under
    /// [`Quirks::dec_expiry_sign`](crate::Quirks::dec_expiry_sign) the value the L0 saved at
    /// the last exit is read (with MSR, in one GET) and corrected to `2·t_exit − reported`,
    /// which then goes back to the L0 in the next run input; otherwise it is the cached
    /// value, or one GET.
    ///
    /// # Errors
    /// [`Error::State`].
    pub fn dec_expiry(&mut self) -> Result<u64, Error> {
        let Some(t_exit) = self.dec_fix else {
            return Ok(self.reg(GuestStateId::DEC_EXPIRY_TB)? as u64);
        };
        self.load(
            GsidSet::EMPTY
                .with(GuestStateId::DEC_EXPIRY_TB)
                .with(GuestStateId::MSR),
        )?;
        let reported = self.reg(GuestStateId::DEC_EXPIRY_TB)? as u64;
        let real = t_exit.wrapping_mul(2).wrapping_sub(reported);
        self.state.set_dec_expiry_tb(real);
        self.dec_fix = None;
        Ok(real)
    }

    /// Sets the LPCR the L2 runs with (DPFD, ILE, AIL, LD; MER is managed by
    /// [`Vcpu::set_external_pending`]). Sent in the next run input.
    pub fn set_lpcr(&mut self, value: u64) {
        self.lpcr = (value & !lpcr::MER) | (self.lpcr & lpcr::MER);
        self.state.set_lpcr(self.lpcr);
    }

    /// Runs `f` with a [`StateSource`] reaching this vCPU in the L0 (one hcall per GET/SET;
    /// requests go through the run input page).
    fn with_source<R>(&mut self, f: impl FnOnce(&mut VcpuState, &mut dyn StateSource) -> R) -> R {
        let host = self.guest.host;
        let mut hv = host.hv.lock();
        let mut src = Scratch {
            inner: HvSource::new(&mut hv, self.guest.id(), self.id, self.input),
            cap: INPUT_BYTES,
        };
        f(&mut self.state, &mut src)
    }

    /// Makes every id of `ids` valid with at most one `H_GUEST_GET_STATE` (none if all are
    /// valid): how a handler declares what it will read.
    ///
    /// # Errors
    /// [`Error::State`].
    pub fn load(&mut self, ids: GsidSet) -> Result<(), Error> {
        if ids.is_subset(&self.state.valid()) {
            return Ok(());
        }
        self.with_source(|s, src| s.load(ids, src))?;
        Ok(())
    }

    /// The value of `id`, fetched (one GET of its reload group) if not valid.
    ///
    /// # Errors
    /// [`Error::State`].
    pub fn reg(&mut self, id: GuestStateId) -> Result<u128, Error> {
        if let Some(v) = self.state.cached(id) {
            return Ok(v);
        }
        Ok(self.with_source(|s, src| s.get(id, src))?)
    }

    fn expiry(&self, now: u64) -> Result<u64, Error> {
        let mut expiry = now.saturating_add(self.slice);
        if let Some(deadline) = self.deadline {
            if now >= deadline {
                return Err(Error::DeadlinePassed { now, deadline });
            }
            expiry = expiry.min(deadline);
        }
        Ok(expiry)
    }

    /// Runs the L2 once and returns why it stopped.
    ///
    /// 1. The HDEC expiry is set to `min(now + slice, deadline)` — always in the future; a
    ///    run at or past the deadline is refused ([`Error::DeadlinePassed`]).
    /// 2. Dirty guest-wide registers go out in one guest-wide SET (none in the steady
    ///    state); dirty thread-wide registers and the HDEC expiry are packed into the run
    ///    input buffer in L1 memory.
    /// 3. `H_GUEST_RUN_VCPU`; on failure the flushed registers become dirty again.
    /// 4. The output buffer is read and validated whole ([`VcpuState::apply_exit`]); a bad
    ///    one is [`Error::State`] and nothing of it is kept (registers the run made stale
    ///    are forgotten, dirty ones kept).
    /// 5. The exit is decoded ([`Exit::decode`]); for MMIO, the instruction is read from L2
    ///    memory (MSR\[IR\] = 0 only) and decoded, and for a store its source register is
    ///    fetched (one GET).
    ///
    /// Hcalls: 1 (the run) for every exit but an MMIO store (2).
    ///
    /// # Errors
    /// [`Error::DeadlinePassed`], [`Error::Hcall`], [`Error::State`], [`Error::Memory`],
    /// [`Error::IncompleteExit`].
    pub fn run(&mut self) -> Result<Exit, Error> {
        let host = self.guest.host;
        if self.dec_fix.is_some() {
            self.dec_expiry()?;
        }
        let start = host.clock.now();
        let expiry = self.expiry(start)?;
        self.state.set_hdec_expiry_tb(expiry);
        self.pending = Pending::None;
        let mut hv = host.hv.lock();
        let (gid, vid) = (self.guest.id(), self.id);
        if !self.state.dirty().intersection(sets::GUEST_REGS).is_empty() {
            let mut src = Scratch {
                inner: HvSource::new(&mut hv, gid, vid, self.input),
                cap: INPUT_BYTES,
            };
            self.state.flush_guest_wide(&mut src)?;
        }
        let n = self.state.flush(&mut self.input_buf)?;
        if let Err(e) = host
            .mem
            .write(self.input, self.input_buf.get(..n).unwrap_or(&[]))
        {
            self.state.run_failed();
            return Err(e.into());
        }
        let trap = match hv.run_vcpu(gid, vid) {
            Ok(t) => t,
            Err(e) => {
                self.state.run_failed();
                return Err(e.into());
            }
        };
        drop(hv);
        if host.quirks.dec_expiry_sign {
            self.dec_fix = Some(host.clock.now());
            self.state
                .invalidate(GsidSet::EMPTY.with(GuestStateId::DEC_EXPIRY_TB));
        }
        if let Err(e) = self.take_output() {
            // The run happened: what the L1 held before it is stale, its dirty state is not.
            let stale = self
                .state
                .valid()
                .difference(self.state.dirty())
                .difference(self.state.in_flight())
                .intersection(sets::THREAD_REGS);
            self.state.invalidate(stale);
            self.state.run_failed();
            return Err(e);
        }
        let guest = self.guest;
        let exit = Exit::decode(trap, &self.state, |gpa| guest.is_ram(gpa))?;
        let exit = match exit {
            Exit::Mmio {
                gpa, is_write, nia, ..
            } => self.decode_mmio(gpa, is_write, nia)?,
            Exit::Hcall { .. } => {
                self.pending = Pending::Hcall;
                exit
            }
            other => other,
        };
        let end = host.clock.now();
        self.stats.record(exit.kind(), end.saturating_sub(start), 0);
        Ok(exit)
    }

    /// Reads the output buffer (a short first read, the whole buffer if needed) and applies it.
    fn take_output(&mut self) -> Result<(), Error> {
        let mem = &self.guest.host.mem;
        let first = OUTPUT_FIRST_READ.min(self.out_size);
        let head = self.output_buf.get_mut(..first).unwrap_or(&mut []);
        mem.read(self.output, head)?;
        match self.state.apply_exit(head) {
            Ok(_) => Ok(()),
            Err(_) if first < self.out_size => {
                let all = self.output_buf.get_mut(..self.out_size).unwrap_or(&mut []);
                mem.read(self.output, all)?;
                self.state.apply_exit(all)?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Fetches and decodes the instruction of an MMIO exit ([`mmio::begin`] with
    /// [`RUN_MMIO_OPTIONS`]: real mode, or
    /// through the L2's process table and the partition-scoped table), reading what the
    /// completion needs in one batched GET (a store's source register; PIDR for a
    /// user-space access). An instruction that cannot be fetched or decoded gives an
    /// [`Exit::Mmio`] without `access`, for the VMM to decide; a failed fetch leaves its
    /// [`FetchError`](mmio::FetchError) in `fetch_error`.
    fn decode_mmio(&mut self, gpa: GuestRealAddr, is_write: bool, nia: u64) -> Result<Exit, Error> {
        let guest = self.guest;
        let mmu = guest.mmu();
        let mem = &guest.host.mem;
        let op = self
            .with_source(|state, src| mmio::begin(state, src, mem, &mmu, gpa, RUN_MMIO_OPTIONS));
        let (insn, op, fetch_error) = match op {
            Ok(op) => (Some(op.insn.word), Some(op), None),
            Err(mmio::MmioError::Unsupported(u)) => (Some(u.insn.word), None, None),
            Err(mmio::MmioError::State(e)) => return Err(e.into()),
            Err(mmio::MmioError::Fetch(f)) => (None, None, Some(f)),
            Err(mmio::MmioError::ShortData { .. }) => (None, None, None),
        };
        self.pending = match op {
            Some(op) => Pending::Mmio(op),
            None => Pending::None,
        };
        Ok(Exit::Mmio {
            gpa,
            size: op.map(|o| o.access.size),
            is_write,
            data: op.and_then(|o| o.store_data().map(be_value)),
            insn,
            access: op.map(|o| o.access),
            nia,
            fetch_error,
        })
    }

    /// Completes an [`Exit::Hcall`]: writes r3, r4, … (rides in the next run input). NIA is
    /// already past the `sc 1`.
    pub fn complete_hcall(&mut self, ret: HcallReturn) {
        for (n, &v) in (3u8..).zip(ret.registers()) {
            let _ = self.state.set_gpr(n, v);
        }
        self.pending = Pending::None;
    }

    /// Completes an [`Exit::Mmio`] with a decoded access. For a load, `value` is the data
    /// the device returned: the `size` bytes at `gpa` in storage order, read as a big-endian
    /// number; the target register gets it in the L2's byte order, sign-extended for the
    /// algebraic forms. Update forms set RA to the effective address; NIA steps past the
    /// instruction (4 or 8 bytes). No hcall: everything rides in the next run input.
    ///
    /// # Errors
    /// [`Error::NothingToComplete`] when the last exit was not an MMIO exit with a decoded
    /// instruction (use [`Vcpu::skip_instruction`] or inject instead).
    pub fn complete_mmio(&mut self, value: u64) -> Result<(), Error> {
        let Pending::Mmio(op) = self.pending else {
            return Err(Error::NothingToComplete(
                "the last exit was not an MMIO exit with a decoded instruction",
            ));
        };
        if op.is_write() {
            op.complete_store(&mut self.state)?;
        } else {
            let bytes = value.to_be_bytes();
            let data = bytes.get(8 - op.size().min(8)..).unwrap_or(&[]);
            op.complete_load(&mut self.state, data)?;
        }
        self.pending = Pending::None;
        Ok(())
    }

    /// Steps NIA past the current instruction (4 bytes), e.g. after emulating an HEAI.
    /// Free when NIA came with the exit, else one GET.
    ///
    /// # Errors
    /// [`Error::State`].
    pub fn skip_instruction(&mut self) -> Result<(), Error> {
        let nia = self.reg(GuestStateId::NIA)? as u64;
        self.state.set_nia(nia.wrapping_add(4));
        self.pending = Pending::None;
        Ok(())
    }

    /// Requests (or withdraws) an external interrupt for the L2, as Linux does under
    /// Nested APIv2: LPCR\[MER\] = 1 in every run input while one is pending; the L0 raises it
    /// when the L2 enables MSR\[EE\]. Free: LPCR rides in the next run input only when MER
    /// changes.
    pub fn set_external_pending(&mut self, pending: bool) {
        let new = if pending {
            self.lpcr | lpcr::MER
        } else {
            self.lpcr & !lpcr::MER
        };
        if new != self.lpcr {
            self.lpcr = new;
            self.state.set_lpcr(new);
        }
    }

    /// Whether an external interrupt is requested (LPCR\[MER\]).
    pub fn external_pending(&self) -> bool {
        self.lpcr & lpcr::MER != 0
    }

    /// Delivers a program interrupt with SRR1 cause `flags` ([`program`]).
    ///
    /// # Errors
    /// [`Error::State`] when NIA/MSR cannot be fetched.
    pub fn inject_program(&mut self, flags: u64) -> Result<(), Error> {
        self.deliver(vector::PROGRAM, flags)
    }

    /// Delivers a decrementer interrupt if the L2 has MSR\[EE\] = 1 (returns whether it did;
    /// if not, try again after a later exit).
    ///
    /// # Errors
    /// [`Error::State`] when NIA/MSR cannot be fetched.
    pub fn inject_decrementer(&mut self) -> Result<bool, Error> {
        self.load(
            GsidSet::EMPTY
                .with(GuestStateId::NIA)
                .with(GuestStateId::MSR),
        )?;
        let m = self.state.cached(GuestStateId::MSR).unwrap_or(0) as u64;
        if m & msr::EE == 0 {
            return Ok(false);
        }
        self.deliver(vector::DECREMENTER, 0)?;
        Ok(true)
    }

    /// The architected interrupt: SRR0 = NIA, SRR1 = (MSR & SRR1_MSR_BITS) | flags,
    /// NIA = vector, MSR = SF | ME (| LE with LPCR\[ILE\]); with LPCR\[AIL\] = 3 and relocation
    /// on, the vector moves to 0xC000_0000_0000_4000 + vector and IR|DR stay on. At most
    /// one GET (NIA and MSR together) if they are not valid.
    fn deliver(&mut self, vec: u64, flags: u64) -> Result<(), Error> {
        self.load(
            GsidSet::EMPTY
                .with(GuestStateId::NIA)
                .with(GuestStateId::MSR),
        )?;
        let nia = self.state.cached(GuestStateId::NIA).unwrap_or(0) as u64;
        let old = self.state.cached(GuestStateId::MSR).unwrap_or(0) as u64;
        let mut new = msr::SF | msr::ME;
        if self.lpcr & lpcr::ILE != 0 {
            new |= msr::LE;
        }
        let mut target = vec;
        if self.lpcr & lpcr::AIL == lpcr::AIL_3 && old & (msr::IR | msr::DR) == msr::IR | msr::DR {
            new |= msr::IR | msr::DR;
            target = 0xC000_0000_0000_4000 | vec;
        }
        self.state.set_srr0(nia);
        self.state.set_srr1((old & SRR1_MSR_BITS) | flags);
        self.state.set_nia(target);
        self.state.set_msr(new);
        self.pending = Pending::None;
        Ok(())
    }
}

impl<P: Backend, A: TableAlloc> Drop for Vcpu<'_, '_, P, A> {
    fn drop(&mut self) {
        self.guest.host.free_page(self.input);
        self.guest.host.free_page(self.output);
    }
}

/// Storage-order bytes as a big-endian number: the value convention of [`Exit::Mmio`].
fn be_value(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0, |v, &b| (v << 8) | u64::from(b))
}
