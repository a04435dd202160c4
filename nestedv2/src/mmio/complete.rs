//! Completing an MMIO exit through the [`VcpuState`] cache: at most one batched
//! `H_GUEST_GET_STATE` per exit, every register write riding in the next run input.

use super::cache::FetchCache;
use super::decode::{decode, Insn, MmioAccess, Unsupported};
use super::fetch::{fetch, needs_pid, FetchError, Fetched, GuestMmu};
use super::MSR_SF;
use papr_gsb::{GsidSet, GuestStateId};
use papr_hcall::RealMemory;
use papr_mmu_radix::{GuestRealAddr, TableMemory};
use papr_vcpu_state::{sets::PTREGS, StateError, StateSource, VcpuState};

/// Where the effective address written to RA by an update form comes from.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum UpdateEa {
    /// Computed as the ISA defines it, from RA (+ D or RB), the registers fetched in the same
    /// single GET as the store data. Exact; an update-form load then costs one GET.
    #[default]
    Registers,
    /// HDAR, the effective address the L0 reported for the faulting access: no GET for an
    /// update-form load. HDAR may name a later byte when an access crosses a page.
    Hdar,
}

/// Options of [`begin`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct MmioOptions {
    /// Source of the EA for update forms.
    pub update_ea: UpdateEa,
}

/// Why an MMIO exit could not be emulated.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MmioError {
    /// The instruction could not be fetched.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The instruction is not an emulated load/store.
    #[error(transparent)]
    Unsupported(#[from] Unsupported),
    /// A register could not be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// A load completed with another number of bytes than it reads (or a store with data).
    #[error("MMIO access of {needed} bytes completed with {got} bytes of data")]
    DataLength {
        /// Bytes the access reads.
        needed: usize,
        /// Bytes given.
        got: usize,
    },
}

/// One MMIO access in progress: what the device must do, and what completing it writes.
///
/// Obtained from [`begin`] (fetch + decode + register reads) or [`prepare`] (the
/// instruction already known). The VMM performs [`store_data`](Self::store_data) or reads
/// [`size`](Self::size) bytes at [`gpa`](Self::gpa), then calls
/// [`complete_store`](Self::complete_store) or [`complete_load`](Self::complete_load).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct MmioOp {
    /// The L2 real address accessed (from the exit).
    pub gpa: GuestRealAddr,
    /// The instruction.
    pub insn: Insn,
    /// Its decoding.
    pub access: MmioAccess,
    /// Address of the instruction.
    pub nia: u64,
    /// The L2's MSR at the exit (data byte order, 32/64-bit mode).
    pub msr: u64,
    /// The effective address written to RA, for update forms.
    pub update_ea: Option<u64>,
    data: [u8; 8],
}

impl MmioOp {
    /// Bytes accessed.
    #[must_use]
    pub const fn size(&self) -> usize {
        self.access.size as usize
    }

    /// Whether this is a store.
    #[must_use]
    pub const fn is_write(&self) -> bool {
        self.access.is_write
    }

    /// For a store, the bytes the device receives at [`gpa`](Self::gpa), in storage order
    /// (MSR\[LE\] XOR byte-reverse applied); `None` for a load.
    #[must_use]
    pub fn store_data(&self) -> Option<&[u8]> {
        if self.access.is_write {
            self.data.get(..self.size())
        } else {
            None
        }
    }

    /// NIA after the instruction: `nia + 4` or `+ 8` (32-bit wrap when MSR\[SF\] = 0).
    #[must_use]
    pub const fn next_nia(&self) -> u64 {
        let n = self.nia.wrapping_add(self.access.len as u64);
        if self.msr & MSR_SF == 0 {
            n & 0xFFFF_FFFF
        } else {
            n
        }
    }

    fn finish(&self, state: &mut VcpuState) -> Result<(), MmioError> {
        if let (Some(ra), Some(ea)) = (self.access.update, self.update_ea) {
            state.set_gpr(ra, ea)?;
        }
        state.set_nia(self.next_nia());
        Ok(())
    }

    /// Completes a load with the `size` bytes the device returned (storage order): writes
    /// the value (byte order applied, sign-extended for algebraic forms) to RT, the EA to
    /// RA for update forms, and NIA += length. No hcall: the writes are dirty and ride in
    /// the next run input. Returns the value written to RT.
    ///
    /// # Errors
    /// [`MmioError::DataLength`] unless `data` is exactly the access's size, or for a store.
    pub fn complete_load(&self, state: &mut VcpuState, data: &[u8]) -> Result<u64, MmioError> {
        if self.access.is_write || data.len() != self.size() {
            return Err(MmioError::DataLength {
                needed: if self.access.is_write { 0 } else { self.size() },
                got: data.len(),
            });
        }
        let v = self.access.load_value(data, self.msr);
        state.set_gpr(self.access.reg, v)?;
        self.finish(state)?;
        Ok(v)
    }

    /// Completes a store the device has taken: the EA to RA for update forms, NIA +=
    /// length. No hcall. (On a load it only advances NIA, as a discarded load would.)
    ///
    /// # Errors
    /// [`MmioError::State`] if RA is not a register (never for a decoded access).
    pub fn complete_store(&self, state: &mut VcpuState) -> Result<(), MmioError> {
        self.finish(state)
    }
}

fn gpr_id(n: u8) -> Option<GuestStateId> {
    GuestStateId::gpr(n)
}

fn with_gpr(set: GsidSet, n: u8) -> GsidSet {
    match gpr_id(n) {
        Some(id) => set.with(id),
        None => set,
    }
}

fn cached_u64(state: &VcpuState, id: GuestStateId) -> Result<u64, MmioError> {
    state
        .cached(id)
        .map(|v| v as u64)
        .ok_or(MmioError::State(StateError::NotCached { id }))
}

/// Registers `access` needs before it can be completed: RS for a store, RA/RB for an
/// update form computing its EA from registers, HDAR for one taking it from HDAR.
#[must_use]
pub fn registers_needed(access: &MmioAccess, opts: MmioOptions) -> GsidSet {
    let mut set = GsidSet::EMPTY;
    if access.is_write {
        set = with_gpr(set, access.reg);
    }
    if access.update.is_some() {
        match opts.update_ea {
            UpdateEa::Registers => {
                for r in access.ea.registers().into_iter().flatten() {
                    set = with_gpr(set, r);
                }
            }
            UpdateEa::Hdar => set = set.with(GuestStateId::HDAR),
        }
    }
    set
}

/// Prepares the access of the known instruction `insn` at L2 real address `gpa`: decodes
/// it and reads, in **one** [`VcpuState::load`] (so at most one `H_GUEST_GET_STATE`, none
/// when all are valid), everything completion needs that the cache lacks — NIA and MSR,
/// the store's source register, RA/RB of an update form. A load of a non-update form
/// needs nothing beyond the HDSI output: no hcall.
///
/// # Errors
/// [`MmioError::Unsupported`] for an instruction that is not emulated,
/// [`MmioError::State`] if the GET fails.
pub fn prepare<S: StateSource + ?Sized>(
    state: &mut VcpuState,
    src: &mut S,
    insn: Insn,
    gpa: GuestRealAddr,
    opts: MmioOptions,
) -> Result<MmioOp, MmioError> {
    let access = decode(insn)?;
    let need = registers_needed(&access, opts)
        .with(GuestStateId::NIA)
        .with(GuestStateId::MSR);
    state.load(need, src)?;
    let nia = cached_u64(state, GuestStateId::NIA)?;
    let msr = cached_u64(state, GuestStateId::MSR)?;
    let sf = msr & MSR_SF != 0;
    let gpr = |state: &VcpuState, n: u8| -> u64 {
        gpr_id(n)
            .and_then(|id| state.cached(id))
            .map_or(0, |v| v as u64)
    };
    let update_ea = match (access.update, opts.update_ea) {
        (None, _) => None,
        (Some(_), UpdateEa::Registers) => Some(access.ea.compute(nia, sf, |n| gpr(state, n))),
        (Some(_), UpdateEa::Hdar) => Some(cached_u64(state, GuestStateId::HDAR)?),
    };
    let mut data = [0u8; 8];
    if access.is_write {
        let (bytes, _) = access.store_bytes(gpr(state, access.reg), msr);
        data = bytes;
    }
    Ok(MmioOp {
        gpa,
        insn,
        access,
        nia,
        msr,
        update_ea,
        data,
    })
}

/// Starts emulating the MMIO access of an HDSI at L2 real address `gpa`: fetches the
/// instruction at NIA from L2 memory with no hcall ([`fetch`]), decodes it and reads what
/// completion needs ([`prepare`]) — **at most one `H_GUEST_GET_STATE` in all**:
///
/// * NIA and MSR come with the HDSI exit; if the cache lacks them, one GET of the
///   whole PTREGS group plus PIDR brings everything at once;
/// * fetching from L2 user space (quadrant 0 with MSR\[IR\]) needs PIDR, which no exit
///   carries: it is read in one GET **together with all 32 GPRs**, so that a store's
///   source register (unknown until the instruction is decoded) needs no second GET;
/// * otherwise a store reads its source register (and RA/RB of an update form) in one GET;
///   a load of a non-update form reads nothing.
///
/// So per MMIO exit: a kernel-space or real-mode load costs the RUN only, a store RUN + 1,
/// a user-space access RUN + 1.
///
/// # Errors
/// [`MmioError::Fetch`] (with an [`L2Interrupt`](super::L2Interrupt) for the L2's own
/// faults), [`MmioError::Unsupported`], [`MmioError::State`].
pub fn begin<M: RealMemory + TableMemory + ?Sized, S: StateSource + ?Sized>(
    state: &mut VcpuState,
    src: &mut S,
    mem: &M,
    mmu: &GuestMmu,
    gpa: GuestRealAddr,
    opts: MmioOptions,
) -> Result<MmioOp, MmioError> {
    begin_with(state, src, gpa, opts, |msr, nia, pid| {
        fetch(mem, mmu, msr, nia, pid)
    })
}

/// [`begin`] with the instruction fetched through `cache` ([`FetchCache::fetch`]): the same
/// result, errors and hcalls, without the partition-scoped walk when the instruction's
/// page is cached under `generation`, the current
/// [`generation`](papr_mmu_radix::RadixTable::generation) of the tree at
/// `mmu.partition_root`, read before this call.
///
/// # Errors
/// As [`begin`].
#[allow(clippy::too_many_arguments)]
pub fn begin_cached<M: RealMemory + TableMemory + ?Sized, S: StateSource + ?Sized>(
    state: &mut VcpuState,
    src: &mut S,
    mem: &M,
    mmu: &GuestMmu,
    generation: u64,
    cache: &mut FetchCache,
    gpa: GuestRealAddr,
    opts: MmioOptions,
) -> Result<MmioOp, MmioError> {
    begin_with(state, src, gpa, opts, |msr, nia, pid| {
        cache.fetch(mem, mmu, generation, msr, nia, pid)
    })
}

/// [`begin`] with the fetch given as `fetch(msr, nia, pidr)`.
#[inline(always)]
fn begin_with<S: StateSource + ?Sized>(
    state: &mut VcpuState,
    src: &mut S,
    gpa: GuestRealAddr,
    opts: MmioOptions,
    fetch: impl FnOnce(u64, u64, u32) -> Result<Fetched, FetchError>,
) -> Result<MmioOp, MmioError> {
    let pidr = GsidSet::EMPTY.with(GuestStateId::PIDR);
    if !(state.is_valid(GuestStateId::NIA) && state.is_valid(GuestStateId::MSR)) {
        state.load(PTREGS.union(pidr), src)?;
    }
    let nia = cached_u64(state, GuestStateId::NIA)?;
    let msr = cached_u64(state, GuestStateId::MSR)?;
    let pid = if needs_pid(msr, nia) {
        state.load(pidr.union(GsidSet::GPRS), src)?;
        state.cached(GuestStateId::PIDR).map_or(0, |v| v as u32)
    } else {
        0
    };
    let f = fetch(msr, nia, pid)?;
    prepare(state, src, f.insn, gpa, opts)
}
