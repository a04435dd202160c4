//! The cache itself: values by dense GSID index, valid/dirty/in-flight sets.
//!
//! This file holds the type, its sets and invalidation; reads/writes by id, reload and flush
//! are in the submodules.

use crate::error::StateError;
use crate::sets::{self, CACHED, GUEST_REGS, MAX_REQUEST, THREAD_REGS, WRITABLE};
use crate::source::StateSource;
use core::fmt;
use papr_gsb::{
    Gsb, GsbBuilder, GsidSet, GuestStateId, Policy, Scope, ELEMENT_HEADER_SIZE, GSID_COUNT,
    HEADER_SIZE,
};

mod access;
mod flush;
mod reload;

/// Bytes of the largest GET request a reload sends (every thread-wide register at once):
/// the size the scratch buffer behind an [`HvSource`](crate::HvSource) must have.
pub const MAX_REQUEST_BYTES: usize = MAX_REQUEST;

const GUEST_REQUEST: usize = sets::wire_size(&GUEST_REGS);

/// Bytes of the small request buffer of a reload (up to 20 registers of 8 bytes).
const SMALL_REQUEST: usize = 256;

/// The L1's cache of one L2 vCPU's register state (the L0 holds the canonical copy).
///
/// Holds every register id of the `gsb` table that belongs to a vCPU
/// ([`sets::CACHED`]: all thread-wide registers, the exit registers, and the guest-wide
/// LOGICAL_PVR and TB_OFFSET), one `u128` slot per dense GSID index, plus three sets:
///
/// * **valid** — the cached value is current; reading an invalid register reloads it (and
///   the rest of its [`reload_group`](sets::reload_group)) with one `H_GUEST_GET_STATE`;
/// * **dirty** — set by the L1 and not yet sent; [`flush`](Self::flush) writes the
///   thread-wide ones into the run input buffer, [`flush_guest_wide`](Self::flush_guest_wide)
///   sends the guest-wide ones with one `H_GUEST_SET_STATE`;
/// * **in flight** — flushed into a run input whose `H_GUEST_RUN_VCPU` has not returned yet;
///   [`apply_exit`](Self::apply_exit) drops them, [`run_failed`](Self::run_failed) makes them
///   dirty again.
///
/// Invariants: dirty ∪ in-flight ⊆ valid ∩ [`sets::WRITABLE`]; dirty ∩ in-flight = ∅.
///
/// Typed accessors (`gpr3`/`set_gpr3`, `nia`/`set_nia`, `vsr63`/`set_vsr63`, `hdar`, …) are
/// generated for every cached id from one list checked against `papr_gsb::TABLE` at compile
/// time; read-only ids have no setter. The values are `u32`, `u64` or `u128` as the table
/// gives (HEIR reads as `u64`: an L0 may send 4 or 8 bytes).
///
/// One exit, end to end (no hcall besides the run itself):
/// ```
/// use papr_gsb::{GsbBuilder, GuestStateId};
/// use papr_vcpu_state::{Detached, VcpuState};
/// let mut s = VcpuState::new_zeroed();
/// s.set_gpr3(0x4242);
/// s.set_nia(0x100);
/// let mut input = [0u8; 256];
/// let used = s.flush(&mut input)?;          // GPR3 and NIA ride in the run input
/// assert_eq!(used, 4 + 2 * 12);
/// // ... H_GUEST_RUN_VCPU; the L0 returns an hcall exit (0xC00) with GPR3..GPR12:
/// let mut out = [0u8; 128];
/// let mut b = GsbBuilder::new(&mut out)?;
/// for n in 3..=12u8 {
///     b.put_u64(GuestStateId::gpr(n).unwrap(), u64::from(n))?;
/// }
/// s.apply_exit(&out)?;
/// assert_eq!(s.gpr4(&mut Detached)?, 4);    // from the output buffer
/// assert!(!s.is_valid(GuestStateId::NIA));  // the L2 ran: NIA must be fetched again
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct VcpuState {
    values: [u128; GSID_COUNT],
    pub(crate) valid: GsidSet,
    pub(crate) dirty: GsidSet,
    pub(crate) in_flight: GsidSet,
}

impl Default for VcpuState {
    fn default() -> Self {
        Self::new()
    }
}

/// `bytes` (4, 8 or 16 big-endian bytes, as validated by the parser) as an integer.
#[inline]
pub(crate) fn decode(bytes: &[u8]) -> u128 {
    if let Ok(b) = <[u8; 8]>::try_from(bytes) {
        u128::from(u64::from_be_bytes(b))
    } else if let Ok(b) = <[u8; 4]>::try_from(bytes) {
        u128::from(u32::from_be_bytes(b))
    } else if let Ok(b) = <[u8; 16]>::try_from(bytes) {
        u128::from_be_bytes(b)
    } else {
        0
    }
}

/// Largest value an id's register holds.
fn max_value(id: GuestStateId) -> u128 {
    match id.size() {
        Some(4) => u128::from(u32::MAX),
        Some(8) => u128::from(u64::MAX),
        _ => u128::MAX,
    }
}

impl VcpuState {
    /// A cache that knows nothing: every register invalid (read from the L0 on first use),
    /// nothing dirty. Right for attaching to a vCPU whose state the L0 already holds.
    ///
    /// ```
    /// use papr_vcpu_state::VcpuState;
    /// let s = VcpuState::new();
    /// assert!(s.valid().is_empty() && s.dirty().is_empty());
    /// ```
    pub const fn new() -> Self {
        Self {
            values: [0; GSID_COUNT],
            valid: GsidSet::EMPTY,
            dirty: GsidSet::EMPTY,
            in_flight: GsidSet::EMPTY,
        }
    }

    /// A cache for a vCPU the L0 has just created zeroed (as QEMU does): every register
    /// valid with value 0, nothing dirty. For an L0 that may not zero new vCPUs, start
    /// from [`new`](Self::new) and set every register the L2 needs.
    ///
    /// ```
    /// use papr_vcpu_state::{sets, VcpuState};
    /// let s = VcpuState::new_zeroed();
    /// assert_eq!(s.valid(), sets::CACHED);
    /// ```
    pub const fn new_zeroed() -> Self {
        Self {
            values: [0; GSID_COUNT],
            valid: CACHED,
            dirty: GsidSet::EMPTY,
            in_flight: GsidSet::EMPTY,
        }
    }

    /// Ids whose cached value is current.
    ///
    /// ```
    /// use papr_gsb::GuestStateId;
    /// let mut s = papr_vcpu_state::VcpuState::new();
    /// s.set_lr(8);
    /// assert_eq!(s.valid().iter().collect::<Vec<_>>(), [GuestStateId::LR]);
    /// ```
    #[inline]
    pub const fn valid(&self) -> GsidSet {
        self.valid
    }

    /// Ids set by the L1 and not yet flushed.
    ///
    /// ```
    /// use papr_gsb::GuestStateId;
    /// let mut s = papr_vcpu_state::VcpuState::new();
    /// s.set_ctr(8);
    /// assert!(s.dirty().contains(GuestStateId::CTR));
    /// ```
    #[inline]
    pub const fn dirty(&self) -> GsidSet {
        self.dirty
    }

    /// Ids flushed into a run input whose run has not been completed by
    /// [`apply_exit`](Self::apply_exit) or undone by [`run_failed`](Self::run_failed).
    ///
    /// ```
    /// let mut s = papr_vcpu_state::VcpuState::new();
    /// s.set_msr(1 << 63);
    /// s.flush(&mut [0u8; 64])?;
    /// assert_eq!((s.dirty().len(), s.in_flight().len()), (0, 1));
    /// # Ok::<(), papr_vcpu_state::StateError>(())
    /// ```
    #[inline]
    pub const fn in_flight(&self) -> GsidSet {
        self.in_flight
    }

    /// Whether `id`'s cached value is current.
    ///
    /// ```
    /// let s = papr_vcpu_state::VcpuState::new_zeroed();
    /// assert!(s.is_valid(papr_gsb::GuestStateId::NIA));
    /// ```
    #[inline]
    pub const fn is_valid(&self, id: GuestStateId) -> bool {
        self.valid.contains(id)
    }

    /// Whether `id` is waiting to be flushed.
    ///
    /// ```
    /// let mut s = papr_vcpu_state::VcpuState::new();
    /// s.set_tb_offset(1 << 24);
    /// assert!(s.is_dirty(papr_gsb::GuestStateId::TB_OFFSET));
    /// ```
    #[inline]
    pub const fn is_dirty(&self, id: GuestStateId) -> bool {
        self.dirty.contains(id)
    }

    #[inline(always)]
    fn slot(&self, id: GuestStateId) -> u128 {
        id.index()
            .and_then(|i| self.values.get(i))
            .copied()
            .unwrap_or(0)
    }

    #[inline]
    pub(crate) fn store(&mut self, id: GuestStateId, value: u128) {
        if let Some(i) = id.index() {
            self.store_index(i, value);
        }
    }

    /// Stores `value` in the slot of dense GSID index `index`.
    #[inline]
    pub(crate) fn store_index(&mut self, index: usize, value: u128) {
        if let Some(v) = self.values.get_mut(index) {
            *v = value;
        }
    }

    /// The cached value of `id` if it is valid; never makes an hcall.
    ///
    /// ```
    /// use papr_gsb::GuestStateId;
    /// let mut s = papr_vcpu_state::VcpuState::new();
    /// assert_eq!(s.cached(GuestStateId::XER), None);
    /// s.set_xer(3);
    /// assert_eq!(s.cached(GuestStateId::XER), Some(3));
    /// ```
    #[inline(always)]
    pub fn cached(&self, id: GuestStateId) -> Option<u128> {
        self.valid.contains(id).then(|| self.slot(id))
    }

    /// The cached values of `ids` if every one of them is valid (one check for all, then
    /// the values: the exit path's way to read an exit's registers); never makes an hcall.
    ///
    /// ```
    /// use papr_gsb::GuestStateId;
    /// let mut s = papr_vcpu_state::VcpuState::new();
    /// s.set_gpr3(3);
    /// assert_eq!(s.cached_many(&[GuestStateId::GPR3, GuestStateId::GPR4]), None);
    /// s.set_gpr4(4);
    /// assert_eq!(s.cached_many(&[GuestStateId::GPR3, GuestStateId::GPR4]), Some([3, 4]));
    /// ```
    #[inline(always)]
    pub fn cached_many<const N: usize>(&self, ids: &[GuestStateId; N]) -> Option<[u128; N]> {
        // One subset test of the ids' set (constant ids fold to a constant set), then the
        // values by a plain loop (unrolled, each index folded), not `array::map`, which is
        // not always inlined and then looks every id up at run time.
        let mut set = GsidSet::EMPTY;
        for &id in ids {
            set = set.with(id);
        }
        // An undefined id is in no set: it makes the ids not all valid.
        let defined = ids.iter().fold(true, |ok, id| ok & id.index().is_some());
        if !(defined && set.is_subset(&self.valid)) {
            return None;
        }
        let mut values = [0u128; N];
        for (v, &id) in values.iter_mut().zip(ids) {
            *v = self.slot(id);
        }
        Some(values)
    }

    /// Forgets `ids`: they become invalid, and a dirty or in-flight value among them is
    /// dropped (it will not be sent). For resynchronising with the L0.
    ///
    /// ```
    /// use papr_gsb::{GsidSet, GuestStateId};
    /// let mut s = papr_vcpu_state::VcpuState::new_zeroed();
    /// s.invalidate(GsidSet::GPRS);
    /// assert!(!s.is_valid(GuestStateId::GPR0) && s.is_valid(GuestStateId::NIA));
    /// ```
    #[inline(always)]
    pub fn invalidate(&mut self, ids: GsidSet) {
        self.valid = self.valid.difference(ids);
        self.dirty = self.dirty.difference(ids);
        self.in_flight = self.in_flight.difference(ids);
    }

    /// [`invalidate`](Self::invalidate) of one id: the cache forgets `id` (not valid,
    /// not dirty, not in flight). Built from `id` in registers (a constant one-id set would
    /// be read from `.rodata`: one more page touched on the exit path that uses it).
    ///
    /// ```
    /// use papr_gsb::GuestStateId;
    /// let mut s = papr_vcpu_state::VcpuState::new_zeroed();
    /// s.invalidate_id(GuestStateId::DEC_EXPIRY_TB);
    /// assert!(!s.is_valid(GuestStateId::DEC_EXPIRY_TB) && s.is_valid(GuestStateId::MSR));
    /// ```
    #[inline(always)]
    pub fn invalidate_id(&mut self, id: GuestStateId) {
        self.valid.remove(id);
        self.dirty.remove(id);
        self.in_flight.remove(id);
    }

    /// Forgets everything ([`invalidate`](Self::invalidate) of every id).
    ///
    /// ```
    /// let mut s = papr_vcpu_state::VcpuState::new_zeroed();
    /// s.invalidate_all();
    /// assert!(s == papr_vcpu_state::VcpuState::new());
    /// ```
    pub fn invalidate_all(&mut self) {
        *self = Self::new();
    }
}

impl fmt::Debug for VcpuState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Hex(u128);
        impl fmt::Debug for Hex {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }
        struct Values<'a>(&'a VcpuState);
        impl fmt::Debug for Values<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.valid.iter().map(|id| (id, Hex(self.0.slot(id)))))
                    .finish()
            }
        }
        f.debug_struct("VcpuState")
            .field("dirty", &self.dirty)
            .field("in_flight", &self.in_flight)
            .field("valid", &Values(self))
            .finish()
    }
}
