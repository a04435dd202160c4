//! `Vcpu`: one L2 vCPU, its run buffers, the run, exit handling and interrupt injection.

use crate::error::Error;
use crate::guest::{Guest, PAGE};
use crate::host::{Backend, Hv, NestedHost};
use crate::mmio::{FetchCache, MmioOp, MmioOptions, UpdateEa};
use crate::stats::ExitStats;
use core::fmt;
use papr_gsb::{GsidSet, GuestStateId, Scope};
use papr_hcall::{GuestId, HcallError, L1RealAddr, RegRequest, VcpuId, VcpuTicket};
use papr_mmu_radix::TableAlloc;
use papr_vcpu_state::{HvSource, StateSource, VcpuState};

mod complete;
mod create;
mod inject;
mod mmio_exit;
mod run;
mod run_loop;
pub use run_loop::{DEFAULT_FAULT_REPEAT_LIMIT, DEFAULT_LOOP_LIMIT};

/// MSR bits: papr-hcall's, re-exported.
pub use papr_hcall::msr;

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
    /// Large decrementer: the L2's DEC is as wide as the implementation's (56 bits on
    /// POWER9/10) instead of 32, and read sign-extended.
    pub const LD: u64 = 0x2_0000;
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

/// Bytes of the run output read (and poisoned before the run) first; QEMU's largest output
/// is 124 bytes (an HDSI), so one read covers every exit it makes. A longer output costs a
/// second read.
const OUTPUT_FIRST_READ: usize = 128;

/// Run input capacity, and the largest state request sent through the input buffer: the
/// first 3 KiB of the vCPU's buffer page (a full flush needs `sets::MAX_RUN_INPUT` = 2412
/// bytes).
const INPUT_BYTES: usize = 3 * 1024;

/// Run output size when it shares the input's page: its last 1 KiB, right after the input
/// (QEMU asks for 128 bytes). One page for both buffers: each exit touches one buffer page
/// instead of two (QEMU flushes its software TLB on every L1↔L2 switch, so each page
/// touched per exit costs). An L0 that asks for more gets a page of its own.
const SHARED_OUTPUT_BYTES: u64 = PAGE - INPUT_BYTES as u64;

/// Bytes of the run input built on the stack of every run (the steady state sends a few
/// registers); a larger flush takes a page-sized buffer, off the hot path.
const INPUT_FIRST: usize = 128;

/// Default HDEC slice: 1 ms of a 512 MHz timebase.
pub const DEFAULT_SLICE: u64 = 512_000;

/// A [`StateSource`] reaching one vCPU in the L0 through the host's shared hcall API (no
/// lock: other vCPUs may be in a run meanwhile), with requests written to the vCPU's run
/// input page; it refuses requests larger than that page.
pub(crate) struct Scratch<'a, P: Backend> {
    inner: HvSource<'a, P::Hcall, P::Memory, P::Delay>,
}

impl<'a, P: Backend> Scratch<'a, P> {
    /// Binds `hv` to vCPU `vcpu` of `guest`, requests passed at `page` (4 KiB).
    pub(crate) fn new(hv: &'a Hv<P>, guest: GuestId, vcpu: VcpuId, page: L1RealAddr) -> Self {
        Self {
            inner: HvSource::new(hv, guest, vcpu, page),
        }
    }

    fn check(call: &'static str, len: usize) -> Result<(), HcallError> {
        if len > INPUT_BYTES {
            return Err(HcallError::BadArgument {
                call,
                what: "state buffer larger than the vCPU's scratch page",
                value: len as u64,
            });
        }
        Ok(())
    }
}

impl<P: Backend> StateSource for Scratch<'_, P> {
    fn get_state(&mut self, scope: Scope, gsb: &mut [u8]) -> Result<(), HcallError> {
        Self::check("H_GUEST_GET_STATE", gsb.len())?;
        self.inner.get_state(scope, gsb)
    }
    fn set_state(&mut self, scope: Scope, gsb: &[u8]) -> Result<(), HcallError> {
        Self::check("H_GUEST_SET_STATE", gsb.len())?;
        self.inner.set_state(scope, gsb)
    }
}

/// The prebuilt GETs of the DEC quirk's correction ([`Vcpu::dec_expiry`]).
#[derive(Debug, Clone, Copy)]
struct DecRequests {
    /// DEC_EXPIRY_TB and MSR: what [`Vcpu::dec_expiry`] reads while an exit is handled
    /// (the MSR is valid until the next run, for the handler's interrupt checks).
    with_msr: RegRequest,
    /// DEC_EXPIRY_TB alone: what [`Vcpu::run`] reads right before the next run, which
    /// would make an MSR read with it stale at once (one element less for the L0).
    alone: RegRequest,
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
///
/// A `Vcpu` is page-aligned and one page long (4 KiB), wherever it is kept: everything
/// an exit reads and writes of it (the register cache, the run bookkeeping) is on one page.
/// Under QEMU's TCG each page an exit touches costs a TLB refill per exit, because QEMU
/// flushes its TLB on every L1↔L2 switch; unaligned, the cache spread over two or three.
#[repr(align(4096))]
pub struct Vcpu<'g, 'h, P: Backend, A: TableAlloc> {
    guest: &'g Guest<'h, P, A>,
    /// The guest's host, kept here too: the exit path reads the host without reading the
    /// `Guest` (one page fewer per exit wherever the VMM keeps its guests).
    host: &'h NestedHost<P>,
    id: VcpuId,
    state: VcpuState,
    input: L1RealAddr,
    output: L1RealAddr,
    out_size: usize,
    /// The output has a page of its own (the L0 asked for more than
    /// [`SHARED_OUTPUT_BYTES`]); otherwise it is the tail of the input's page.
    output_page: bool,
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
    /// The prebuilt GETs the DEC quirk makes after each exit.
    dec_req: DecRequests,
    /// This vCPU checked against the hcall registry once: runs and the DEC GET check one
    /// atomic instead of looking it up.
    ticket: VcpuTicket,
    /// The partition-scoped translation of the last MMIO instruction's page.
    fetch_cache: FetchCache,
    stats: ExitStats,
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

    /// Exit statistics so far (all zero unless [`set_stats_enabled`](Self::set_stats_enabled)
    /// switched them on).
    pub fn stats(&self) -> &ExitStats {
        &self.stats
    }

    /// Resets the statistics.
    pub fn reset_stats(&mut self) {
        self.stats.reset();
    }

    /// Switches exit statistics on or off (off by default). Off, the run path reads no
    /// clock and counts nothing: instrumentation costs nothing when it is not asked for.
    /// A VMM that prints [`stats`](Self::stats) calls `set_stats_enabled(true)` after
    /// creating the vCPU.
    ///
    /// ```
    /// # use papr_nestedv2::ExitStats;
    /// let mut s = ExitStats::default();
    /// assert!(!s.is_enabled());
    /// s.set_enabled(true);
    /// assert!(s.is_enabled());
    /// ```
    pub fn set_stats_enabled(&mut self, enabled: bool) {
        self.stats.set_enabled(enabled);
    }

    /// The L1 real addresses of the run input and output buffers: one page, the output in
    /// its last 1 KiB, when the L0's minimum output size allows (QEMU's 128 bytes do);
    /// two pages otherwise.
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
    /// the last exit is read (with MSR, in one GET) and corrected, which then goes back to
    /// the L0 in the next run input; otherwise it is the cached value, or one GET.
    ///
    /// The correction: QEMU saved `reported = now − DEC` with DEC read *unsigned* when
    /// LPCR\[LD\] = 0 (`cpu_ppc_load_decr` returns the 32-bit register zero-extended), so
    /// `t_exit − reported` is the DEC the L2 had, modulo 2³². It is taken as a signed
    /// 32-bit value (64-bit with [`lpcr::LD`]) and the expiry is `t_exit + DEC`: a
    /// decrementer that had already expired (negative, its interrupt pending) stays
    /// expired, instead of moving 2³² ticks (8.4 s at 512 MHz) into the future.
    ///
    /// # Errors
    /// [`Error::State`].
    pub fn dec_expiry(&mut self) -> Result<u64, Error> {
        self.dec_expiry_inline(true)
    }

    /// [`dec_expiry`](Self::dec_expiry)'s body, inlined into the run path, which reads
    /// DEC_EXPIRY_TB alone (`with_msr` false): an MSR read right before the run would be
    /// stale at once.
    #[inline(always)]
    pub(crate) fn dec_expiry_inline(&mut self, with_msr: bool) -> Result<u64, Error> {
        let Some(t_exit) = self.dec_fix else {
            return Ok(self.reg(GuestStateId::DEC_EXPIRY_TB)? as u64);
        };
        let reported = match self.state.cached(GuestStateId::DEC_EXPIRY_TB) {
            Some(v) => v as u64,
            None => {
                // The prebuilt request (DEC_EXPIRY_TB, with MSR or alone), its answer
                // checked against its fixed layout (`NestedHv::get_regs`): what `load`
                // would store.
                let req = if with_msr {
                    &self.dec_req.with_msr
                } else {
                    &self.dec_req.alone
                };
                let v = self.host.hv.get_regs(&self.ticket, req, self.input)?;
                self.state
                    .fill(GuestStateId::DEC_EXPIRY_TB, u128::from(v[0]))?;
                if with_msr {
                    self.state.fill(GuestStateId::MSR, u128::from(v[1]))?;
                }
                v[0]
            }
        };
        let seen = t_exit.wrapping_sub(reported);
        let dec = if self.lpcr & lpcr::LD == 0 {
            // The low 32 bits are the register; its sign is bit 31.
            i64::from((seen & 0xFFFF_FFFF) as u32 as i32)
        } else {
            seen as i64
        };
        let real = t_exit.wrapping_add_signed(dec);
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
        let host = self.host;
        let mut src = Scratch::<P>::new(&host.hv, self.guest.id(), self.id, self.input);
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
}

impl<P: Backend, A: TableAlloc> Drop for Vcpu<'_, '_, P, A> {
    fn drop(&mut self) {
        self.host.free_page(self.input);
        if self.output_page {
            self.host.free_page(self.output);
        }
    }
}
