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

    /// A load of the decoded `access` (no update form: nothing but NIA and MSR needed),
    /// as [`prepare`] builds it.
    #[inline(always)]
    pub(super) const fn plain_load(
        gpa: GuestRealAddr,
        insn: Insn,
        access: MmioAccess,
        nia: u64,
        msr: u64,
    ) -> Self {
        Self {
            gpa,
            insn,
            access,
            nia,
            msr,
            update_ea: None,
            data: [0; 8],
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

    #[inline(always)]
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
    #[inline]
    pub fn complete_load(&self, state: &mut VcpuState, data: &[u8]) -> Result<u64, MmioError> {
        if self.access.is_write || data.len() != self.size() {
            return Err(MmioError::DataLength {
                needed: if self.access.is_write { 0 } else { self.size() },
                got: data.len(),
            });
        }
        let v = load_exact(&self.access, data, self.msr);
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

/// [`MmioAccess::load_value`] of `data` holding exactly the access's size (1, 2, 4 or 8
/// bytes, as [`MmioOp::complete_load`] checks): one fixed-width conversion instead of a
/// loop over the bytes. Any other length goes through `load_value` itself.
#[inline(always)]
fn load_exact(access: &MmioAccess, data: &[u8], msr: u64) -> u64 {
    if data.len() != usize::from(access.size.min(8)) {
        return access.load_value(data, msr);
    }
    let be = access.big_endian(msr);
    let (v, bits) = match *data {
        [a] => (u64::from(a), 8),
        [a, b] => (
            u64::from(if be {
                u16::from_be_bytes([a, b])
            } else {
                u16::from_le_bytes([a, b])
            }),
            16,
        ),
        [a, b, c, d] => (
            u64::from(if be {
                u32::from_be_bytes([a, b, c, d])
            } else {
                u32::from_le_bytes([a, b, c, d])
            }),
            32,
        ),
        [a, b, c, d, e, f, g, h] => {
            let bytes = [a, b, c, d, e, f, g, h];
            let v = if be {
                u64::from_be_bytes(bytes)
            } else {
                u64::from_le_bytes(bytes)
            };
            return v;
        }
        _ => return access.load_value(data, msr),
    };
    if access.sign_extend {
        let shift = 64 - bits;
        (((v << shift) as i64) >> shift) as u64
    } else {
        v
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

#[inline(always)]
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
    finish_prepare(state, insn, access, gpa, opts, nia, msr)
}

/// [`prepare`] when NIA and MSR are already valid, as `nia` and `msr` (what [`begin`]
/// read): the same result, errors and cache state, with no reload unless the access
/// needs a register that is not valid (the load of NIA and MSR with them would fetch
/// nothing for them).
#[inline(always)]
fn prepare_known<S: StateSource + ?Sized>(
    state: &mut VcpuState,
    src: &mut S,
    insn: Insn,
    gpa: GuestRealAddr,
    opts: MmioOptions,
    nia: u64,
    msr: u64,
) -> Result<MmioOp, MmioError> {
    let access = decode(insn)?;
    let need = registers_needed(&access, opts);
    if !need.is_empty() {
        state.load(need, src)?;
    }
    finish_prepare(state, insn, access, gpa, opts, nia, msr)
}

/// The rest of [`prepare`], once every register `access` needs is valid.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn finish_prepare(
    state: &VcpuState,
    insn: Insn,
    access: MmioAccess,
    gpa: GuestRealAddr,
    opts: MmioOptions,
    nia: u64,
    msr: u64,
) -> Result<MmioOp, MmioError> {
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
    const NIA_MSR: [GuestStateId; 2] = [GuestStateId::NIA, GuestStateId::MSR];
    let pidr = GsidSet::EMPTY.with(GuestStateId::PIDR);
    // Both came with the HDSI exit (the usual case): one validity check, no reload.
    let [nia, msr] = match state.cached_many(&NIA_MSR) {
        Some([nia, msr]) => [nia as u64, msr as u64],
        None => {
            state.load(PTREGS.union(pidr), src)?;
            [
                cached_u64(state, GuestStateId::NIA)?,
                cached_u64(state, GuestStateId::MSR)?,
            ]
        }
    };
    let pid = if needs_pid(msr, nia) {
        state.load(pidr.union(GsidSet::GPRS), src)?;
        state.cached(GuestStateId::PIDR).map_or(0, |v| v as u32)
    } else {
        0
    };
    let f = fetch(msr, nia, pid)?;
    // NIA and MSR are valid here and no load since changed them (a load only fills
    // registers that are not valid): `prepare` would read the same two values.
    prepare_known(state, src, f.insn, gpa, opts, nia, msr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// The fixed-width completion is `load_value`, for every decoded access, byte
        /// order and data length.
        #[test]
        fn load_exact_is_load_value(
            w: u32,
            po in 30u32..=46,
            xo in prop_oneof![Just(23u32), Just(343), Just(341), Just(534), Just(790), Just(532), Just(21)],
            x: bool,
            data in proptest::collection::vec(any::<u8>(), 0..10),
            msr: u64,
        ) {
            let word = if x {
                31 << 26 | (w & 0x03FF_F800) | xo << 1
            } else {
                po << 26 | (w & 0x03FF_FFFF)
            };
            if let Ok(a) = decode(Insn::word(word)) {
                prop_assert_eq!(load_exact(&a, &data, msr), a.load_value(&data, msr));
            }
        }
    }
}
