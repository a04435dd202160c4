//! The MMIO exit's fast path: the common exit — a real-mode L2's D-form load (no update)
//! from a code page the fetch cache holds — emulated from the cache and the exit's own
//! registers alone, with no result that can fail passed around.

use super::cache::FetchCache;
use super::complete::MmioOp;
use super::decode::{decode_d_form, Insn};
use super::fetch::REAL_MODE_MASK;
use super::{MSR_IR, MSR_LE};
use papr_gsb::GuestStateId;
use papr_hcall::RealMemory;
use papr_mmu_radix::{GuestRealAddr, L1RealAddr};
use papr_vcpu_state::VcpuState;

/// [`begin_cached`](super::begin_cached)'s result when it is sure to be a plain load
/// without any GET, computed without it: `Some(op)` exactly when NIA and MSR are valid in
/// `state`, MSR\[IR\] = 0 (real mode), `cache` holds the instruction's page of the tree at
/// `partition_root` under `generation` (the tree's current
/// [`generation`](papr_mmu_radix::RadixTable::generation)), the word there is a D-form
/// integer load that is not an update form (`lwz`, `lbz`, `lhz`, `lha`); and then `op` is
/// what `begin_cached` returns, for any [`MmioOptions`](super::MmioOptions), which would
/// change neither `state` nor `cache`. `None` says only "take `begin_cached`".
///
/// Reads nothing but the instruction's 4 bytes; changes nothing. `tests/fast_mmio.rs`
/// holds it to `begin_cached` on arbitrary states, caches and instructions.
///
/// ```
/// use papr_nestedv2::mmio::{begin_fast, FetchCache};
/// use papr_nestedv2::GuestRealAddr;
/// use papr_hcall::{L1RealAddr, RealMemory, MemoryError};
/// use papr_vcpu_state::VcpuState;
/// struct NoMemory;
/// impl RealMemory for NoMemory {
///     fn read(&self, a: L1RealAddr, _: &mut [u8]) -> Result<(), MemoryError> {
///         Err(MemoryError::OutOfRange { addr: a.0, len: 4 })
///     }
///     fn write(&self, a: L1RealAddr, _: &[u8]) -> Result<(), MemoryError> {
///         Err(MemoryError::OutOfRange { addr: a.0, len: 4 })
///     }
/// }
/// // An empty cache: nothing to go on, the general path decides.
/// let op = begin_fast(&VcpuState::new_zeroed(), &NoMemory, L1RealAddr(0), 0,
///                     &FetchCache::new(), GuestRealAddr(0x1000_0000));
/// assert!(op.is_none());
/// ```
#[inline(always)]
pub fn begin_fast<M: RealMemory + ?Sized>(
    state: &VcpuState,
    mem: &M,
    partition_root: L1RealAddr,
    generation: u64,
    cache: &FetchCache,
    gpa: GuestRealAddr,
) -> Option<MmioOp> {
    let [nia, msr] = state.cached_many(&[GuestStateId::NIA, GuestStateId::MSR])?;
    let (nia, msr) = (nia as u64, msr as u64);
    if msr & MSR_IR != 0 {
        return None;
    }
    // `translate_fetch` in real mode, then the cache's hit (a prefix is no D form: it
    // goes to the general path, as everything else).
    let fetch_gpa = (nia & !3) & REAL_MODE_MASK;
    let b = cache.read_hit(mem, partition_root.0, generation, fetch_gpa)?;
    let word = if msr & MSR_LE != 0 {
        u32::from_le_bytes(b)
    } else {
        u32::from_be_bytes(b)
    };
    let access = match decode_d_form(word) {
        Some(Ok(a)) if !a.is_write && a.update.is_none() => a,
        _ => return None,
    };
    Some(MmioOp::plain_load(gpa, Insn::word(word), access, nia, msr))
}
