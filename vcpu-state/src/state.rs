//! The cache itself: values by dense GSID index, valid/dirty/in-flight sets.

use crate::error::StateError;
use crate::sets::{self, CACHED, GUEST_REGS, MAX_REQUEST, THREAD_REGS, WRITABLE};
use crate::source::StateSource;
use core::fmt;
use papr_gsb::{
    Gsb, GsbBuilder, GsidSet, GuestStateId, Policy, Scope, ELEMENT_HEADER_SIZE, GSID_COUNT,
    HEADER_SIZE,
};

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
    pub const fn in_flight(&self) -> GsidSet {
        self.in_flight
    }

    /// Whether `id`'s cached value is current.
    ///
    /// ```
    /// let s = papr_vcpu_state::VcpuState::new_zeroed();
    /// assert!(s.is_valid(papr_gsb::GuestStateId::NIA));
    /// ```
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
    pub const fn is_dirty(&self, id: GuestStateId) -> bool {
        self.dirty.contains(id)
    }

    #[inline]
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
    #[inline]
    pub fn cached(&self, id: GuestStateId) -> Option<u128> {
        self.valid.contains(id).then(|| self.slot(id))
    }

    /// The value of `id`, reloading its [`reload_group`](sets::reload_group) (the members
    /// not valid) with one `H_GUEST_GET_STATE` through `src` if `id` is invalid.
    ///
    /// ```
    /// use papr_gsb::GuestStateId;
    /// use papr_vcpu_state::{Detached, StateError, VcpuState};
    /// let mut s = VcpuState::new_zeroed();
    /// assert_eq!(s.get(GuestStateId::VSR63, &mut Detached)?, 0);
    /// assert!(matches!(s.get(GuestStateId::RUN_INPUT, &mut Detached), Err(StateError::NotCached { .. })));
    /// # Ok::<(), StateError>(())
    /// ```
    #[inline]
    pub fn get<S: StateSource + ?Sized>(
        &mut self,
        id: GuestStateId,
        src: &mut S,
    ) -> Result<u128, StateError> {
        if self.valid.contains(id) {
            return Ok(self.slot(id));
        }
        if !CACHED.contains(id) {
            return Err(StateError::NotCached { id });
        }
        self.load(sets::reload_group(id), src)?;
        Ok(self.slot(id))
    }

    /// Sets `id` to `value` (valid and dirty). Refuses ids not cached, read-only ids and
    /// values wider than the register.
    ///
    /// ```
    /// use papr_gsb::GuestStateId;
    /// use papr_vcpu_state::{StateError, VcpuState};
    /// let mut s = VcpuState::new();
    /// s.set(GuestStateId::CR, 0x2000_0000)?;
    /// assert!(matches!(s.set(GuestStateId::CR, 1 << 32), Err(StateError::ValueTooWide { .. })));
    /// assert!(matches!(s.set(GuestStateId::HDAR, 0), Err(StateError::ReadOnly { .. })));
    /// # Ok::<(), StateError>(())
    /// ```
    pub fn set(&mut self, id: GuestStateId, value: u128) -> Result<(), StateError> {
        if !WRITABLE.contains(id) {
            return Err(if CACHED.contains(id) {
                StateError::ReadOnly { id }
            } else {
                StateError::NotCached { id }
            });
        }
        if value > max_value(id) {
            return Err(StateError::ValueTooWide { id, value });
        }
        self.write(id, value);
        Ok(())
    }

    /// Stores a value known to be writable and to fit (typed setters).
    #[inline]
    pub(crate) fn write(&mut self, id: GuestStateId, value: u128) {
        // One id→index lookup for the three set updates (the hot path of every exit).
        let one = GsidSet::EMPTY.with(id);
        self.store(id, value);
        self.valid = self.valid.union(one);
        self.dirty = self.dirty.union(one);
        self.in_flight = self.in_flight.difference(one);
    }

    /// `GPR<n>` (reloading [`PTREGS`](sets::PTREGS) if invalid): for emulation code that
    /// decodes register numbers.
    ///
    /// ```
    /// let mut s = papr_vcpu_state::VcpuState::new();
    /// s.set_gpr(7, 0x77)?;
    /// assert_eq!(s.gpr(7, &mut papr_vcpu_state::Detached)?, 0x77);
    /// assert!(s.set_gpr(32, 0).is_err());
    /// # Ok::<(), papr_vcpu_state::StateError>(())
    /// ```
    pub fn gpr<S: StateSource + ?Sized>(&mut self, n: u8, src: &mut S) -> Result<u64, StateError> {
        let id = GuestStateId::gpr(n).ok_or(StateError::NoSuchRegister { class: "GPR", n })?;
        self.get(id, src).map(|v| v as u64)
    }

    /// Sets `GPR<n>`.
    ///
    /// ```
    /// let mut s = papr_vcpu_state::VcpuState::new();
    /// s.set_gpr(3, 0)?;
    /// assert!(s.is_dirty(papr_gsb::GuestStateId::GPR3));
    /// # Ok::<(), papr_vcpu_state::StateError>(())
    /// ```
    pub fn set_gpr(&mut self, n: u8, value: u64) -> Result<(), StateError> {
        let id = GuestStateId::gpr(n).ok_or(StateError::NoSuchRegister { class: "GPR", n })?;
        self.write(id, u128::from(value));
        Ok(())
    }

    /// `VSR<n>` (VSR0–31 overlay FPR0–31 in their high doubleword, VSR32–63 are VR0–31),
    /// reloading [`FP_VECTOR`](sets::FP_VECTOR) if invalid.
    ///
    /// ```
    /// let mut s = papr_vcpu_state::VcpuState::new();
    /// s.set_vsr(40, 1 << 100)?;
    /// assert_eq!(s.vsr(40, &mut papr_vcpu_state::Detached)?, 1 << 100);
    /// # Ok::<(), papr_vcpu_state::StateError>(())
    /// ```
    pub fn vsr<S: StateSource + ?Sized>(&mut self, n: u8, src: &mut S) -> Result<u128, StateError> {
        let id = GuestStateId::vsr(n).ok_or(StateError::NoSuchRegister { class: "VSR", n })?;
        self.get(id, src)
    }

    /// Sets `VSR<n>`.
    ///
    /// ```
    /// let mut s = papr_vcpu_state::VcpuState::new();
    /// assert!(s.set_vsr(64, 0).is_err());
    /// ```
    pub fn set_vsr(&mut self, n: u8, value: u128) -> Result<(), StateError> {
        let id = GuestStateId::vsr(n).ok_or(StateError::NoSuchRegister { class: "VSR", n })?;
        self.write(id, value);
        Ok(())
    }

    /// Makes every id of `ids` valid, with at most one `H_GUEST_GET_STATE` per scope (one
    /// thread-wide for registers, one guest-wide for LOGICAL_PVR/TB_OFFSET) for the members
    /// not valid yet, and none when all are valid. How an exit handler declares what it
    /// needs. The answers are validated (structure, sizes, exactly the ids asked for) before
    /// anything is stored; on error the cache is unchanged.
    ///
    /// ```
    /// use papr_gsb::GsidSet;
    /// use papr_vcpu_state::{MockStateSource, VcpuState};
    /// let mut src = MockStateSource::new();
    /// src.expect_get_state().times(1).returning(|_, gsb| {
    ///     papr_vcpu_state::testing::answer(gsb, |_| 9);
    ///     Ok(())
    /// });
    /// let mut s = VcpuState::new();
    /// s.load(GsidSet::GPRS, &mut src)?;
    /// s.load(GsidSet::GPRS, &mut src)?; // all valid now: no hcall
    /// assert_eq!(s.gpr31(&mut src)?, 9);
    /// # Ok::<(), papr_vcpu_state::StateError>(())
    /// ```
    pub fn load<S: StateSource + ?Sized>(
        &mut self,
        ids: GsidSet,
        src: &mut S,
    ) -> Result<(), StateError> {
        if let Some(id) = ids.difference(CACHED).iter().next() {
            return Err(StateError::NotCached { id });
        }
        let missing = ids.difference(self.valid);
        let thread = missing.intersection(THREAD_REGS);
        let guest = missing.intersection(GUEST_REGS);
        // A buffer as small as the request (an exit handler's few registers, or a group).
        if sets::wire_size_fast(&thread) <= SMALL_REQUEST {
            self.load_scopes::<SMALL_REQUEST, S>(thread, guest, src)
        } else {
            self.load_scopes::<MAX_REQUEST, S>(thread, guest, src)
        }
    }

    /// [`load`](Self::load) of the missing `thread` and `guest` ids, the thread-wide request
    /// built in a buffer of `N` bytes.
    fn load_scopes<const N: usize, S: StateSource + ?Sized>(
        &mut self,
        thread: GsidSet,
        guest: GsidSet,
        src: &mut S,
    ) -> Result<(), StateError> {
        let mut tbuf = [0u8; N];
        let mut gbuf = [0u8; GUEST_REQUEST];
        let tlen = fetch(src, Scope::Thread, &thread, &mut tbuf)?;
        let glen = fetch(src, Scope::Guest, &guest, &mut gbuf)?;
        // Both answers validated (exactly the ids asked for, each once, sizes): apply.
        for (set, buf, len) in [(thread, &tbuf[..], tlen), (guest, &gbuf[..], glen)] {
            if set.is_empty() {
                continue;
            }
            let bytes = buf.get(..len).unwrap_or(&[]);
            crate::output::for_each_element(bytes, |id, value| {
                if set.contains(id) {
                    self.store(id, decode(value));
                }
            });
            self.valid = self.valid.union(set);
        }
        Ok(())
    }

    /// Writes every dirty thread-wide register into `input`, the vCPU's run input buffer,
    /// as one guest state buffer (ascending ids), and returns its length. The flushed ids
    /// stop being dirty and become [in flight](Self::in_flight). Allocates nothing; makes
    /// no hcall. Guest-wide ids are not touched: see [`flush_guest_wide`](Self::flush_guest_wide).
    ///
    /// The run loop must also set HDEC_EXPIRY_TB (and LPCR, if it changes MER) before each
    /// flush: the cache sends exactly what is dirty. If `input` is too small nothing is
    /// flushed.
    ///
    /// ```
    /// use papr_gsb::{Gsb, GuestStateId, Policy};
    /// let mut s = papr_vcpu_state::VcpuState::new();
    /// s.set_srr0(0x700);
    /// s.set_cr(1);
    /// let mut input = [0u8; 64];
    /// let n = s.flush(&mut input)?;
    /// let ids = Gsb::parse(&input[..n], &Policy::EXACT).unwrap().ids();
    /// assert_eq!(ids.iter().collect::<Vec<_>>(), [GuestStateId::SRR0, GuestStateId::CR]);
    /// assert!(s.dirty().is_empty());
    /// # Ok::<(), papr_vcpu_state::StateError>(())
    /// ```
    pub fn flush(&mut self, input: &mut [u8]) -> Result<usize, StateError> {
        let set = self.dirty.intersection(THREAD_REGS);
        if set.is_empty() {
            // Nothing to send (an unchanged HDEC expiry is not re-sent): an empty buffer.
            let capacity = input.len();
            let hdr = input
                .first_chunk_mut::<HEADER_SIZE>()
                .ok_or(StateError::InputTooSmall {
                    id: GuestStateId::BLANK,
                    needed: HEADER_SIZE,
                    capacity,
                })?;
            *hdr = [0; HEADER_SIZE];
            return Ok(HEADER_SIZE);
        }
        let needed = sets::wire_size_fast(&set);
        let capacity = input.len();
        if needed > capacity {
            return Err(StateError::InputTooSmall {
                id: set.iter().next().unwrap_or_default(),
                needed,
                capacity,
            });
        }
        // The wire format of `papr_gsb` (be32 count; be16 id, be16 length, big-endian
        // value), written directly: the size check above covers every element, and the
        // tests parse every flushed buffer back with `papr_gsb::Gsb::parse`.
        let mut at = HEADER_SIZE;
        let mut count = 0u32;
        for id in &set {
            // One id→index lookup per element: the size from the per-index table.
            let index = id.index().unwrap_or(GSID_COUNT);
            let size = usize::from(crate::output::size_at(index));
            let bytes = self.values.get(index).copied().unwrap_or(0).to_be_bytes();
            let value = bytes.get(16 - size.min(16)..).unwrap_or(&[]);
            let end = at + ELEMENT_HEADER_SIZE + value.len();
            if let Some(dst) = input.get_mut(at..end) {
                let (hdr, val) = dst.split_at_mut(ELEMENT_HEADER_SIZE);
                hdr.copy_from_slice(&[
                    (id.0 >> 8) as u8,
                    id.0 as u8,
                    (value.len() >> 8) as u8,
                    value.len() as u8,
                ]);
                val.copy_from_slice(value);
            }
            at = end;
            count += 1;
        }
        if let Some(hdr) = input.first_chunk_mut::<HEADER_SIZE>() {
            *hdr = count.to_be_bytes();
        }
        self.dirty = self.dirty.difference(set);
        self.in_flight = self.in_flight.union(set);
        Ok(at)
    }

    /// Sends the dirty guest-wide registers (LOGICAL_PVR, TB_OFFSET) with one guest-wide
    /// `H_GUEST_SET_STATE` through `src`, and returns whether an hcall was made: none when
    /// nothing guest-wide is dirty (the steady state). On error they stay dirty.
    ///
    /// ```
    /// use papr_vcpu_state::{MockStateSource, VcpuState};
    /// let mut src = MockStateSource::new();
    /// src.expect_set_state().times(1).returning(|scope, _| {
    ///     assert_eq!(scope, papr_gsb::Scope::Guest);
    ///     Ok(())
    /// });
    /// let mut s = VcpuState::new();
    /// s.set_tb_offset(3 << 24);
    /// assert!(s.flush_guest_wide(&mut src)?);
    /// assert!(!s.flush_guest_wide(&mut src)?); // nothing dirty: no hcall
    /// # Ok::<(), papr_vcpu_state::StateError>(())
    /// ```
    pub fn flush_guest_wide<S: StateSource + ?Sized>(
        &mut self,
        src: &mut S,
    ) -> Result<bool, StateError> {
        let set = self.dirty.intersection(GUEST_REGS);
        if set.is_empty() {
            return Ok(false);
        }
        let mut buf = [0u8; GUEST_REQUEST];
        let mut b = GsbBuilder::new(&mut buf).map_err(StateError::Answer)?;
        for id in &set {
            b.put_reg(id, self.slot(id) as u64)
                .map_err(StateError::Answer)?;
        }
        let len = b.finish();
        src.set_state(Scope::Guest, buf.get(..len).unwrap_or(&[]))?;
        self.dirty = self.dirty.difference(set);
        Ok(true)
    }

    /// The run did not happen or failed (`H_GUEST_RUN_VCPU` error, lazy interrupt before
    /// the run): the in-flight registers become dirty again, to go out with the next flush.
    ///
    /// ```
    /// let mut s = papr_vcpu_state::VcpuState::new();
    /// s.set_nia(4);
    /// s.flush(&mut [0u8; 64])?;
    /// s.run_failed();
    /// assert!(s.is_dirty(papr_gsb::GuestStateId::NIA));
    /// # Ok::<(), papr_vcpu_state::StateError>(())
    /// ```
    pub fn run_failed(&mut self) {
        self.dirty = self.dirty.union(self.in_flight);
        self.in_flight.clear();
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
    pub fn invalidate(&mut self, ids: GsidSet) {
        self.valid = self.valid.difference(ids);
        self.dirty = self.dirty.difference(ids);
        self.in_flight = self.in_flight.difference(ids);
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

/// Builds a GET request for `ids` in `buf`, has `src` answer it, and checks the answer
/// holds exactly `ids`. Returns the answer's length (0, and no hcall, for no ids).
fn fetch<S: StateSource + ?Sized>(
    src: &mut S,
    scope: Scope,
    ids: &GsidSet,
    buf: &mut [u8],
) -> Result<usize, StateError> {
    if ids.is_empty() {
        return Ok(0);
    }
    let mut b = GsbBuilder::new(buf).map_err(StateError::Answer)?;
    b.put_requests(ids).map_err(StateError::Answer)?;
    let len = b.finish();
    let req = buf.get_mut(..len).unwrap_or(&mut []);
    src.get_state(scope, req)?;
    let gsb = Gsb::parse(req, &Policy::l1_answer(scope)).map_err(StateError::Answer)?;
    let mut seen = GsidSet::EMPTY;
    for e in &gsb {
        if e.id == GuestStateId::BLANK {
            continue;
        }
        if !ids.contains(e.id) {
            return Err(StateError::AnswerMismatch {
                id: e.id,
                problem: "holds the unrequested",
            });
        }
        seen.insert(e.id);
    }
    if let Some(id) = ids.difference(seen).iter().next() {
        return Err(StateError::AnswerMismatch {
            id,
            problem: "lacks",
        });
    }
    Ok(len)
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
