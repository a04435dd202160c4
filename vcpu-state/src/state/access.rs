//! Reads and writes by id: [`VcpuState::get`]/[`VcpuState::set`] and the numbered GPR and VSR
//! accessors, checked against the cached and writable sets.

use super::*;

/// Dense index of GPR0; `GPR<n>` is at `GPR0_INDEX + n` (checked at compile time).
const GPR0_INDEX: usize = match GuestStateId::GPR0.index() {
    Some(i) => i,
    None => 0,
};
const _: () = assert!(matches!(GuestStateId::GPR31.index(), Some(i) if i == GPR0_INDEX + 31));

/// By `n`: the set holding `GPR<n>` alone, so that [`VcpuState::set_gpr`] makes no id
/// lookup (the register number is known only at run time on the exit path).
// `n < 32 == GPR_SETS.len()`; `const fn` cannot use `get()`.
#[allow(clippy::indexing_slicing)]
const GPR_SETS: [GsidSet; 32] = {
    let mut sets = [GsidSet::EMPTY; 32];
    let mut n = 0;
    while n < 32 {
        sets[n] = GsidSet::EMPTY.with(GuestStateId(GuestStateId::GPR0.0 + n as u16));
        n += 1;
    }
    sets
};

impl VcpuState {
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
    #[inline(always)]
    pub(crate) fn write(&mut self, id: GuestStateId, value: u128) {
        // One id→index lookup for the three set updates (the hot path of every exit); a
        // constant id folds it away.
        let one = GsidSet::EMPTY.with(id);
        self.store(id, value);
        self.written(one);
    }

    /// `one` (the ids just stored) is valid and dirty, no longer in flight.
    #[inline(always)]
    fn written(&mut self, one: GsidSet) {
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

    /// The cached values of the `N` consecutive registers `GPR<first>` … `GPR<first+N-1>`
    /// if every one of them is valid (and they exist): an exit's GPRs (the hcall exit's
    /// GPR3–12) by register number, with one validity check and no id lookup. Never makes
    /// an hcall; the same as [`cached_many`](Self::cached_many) of those ids.
    ///
    /// ```
    /// let mut s = papr_vcpu_state::VcpuState::new();
    /// s.set_gpr(3, 3)?;
    /// assert_eq!(s.cached_gprs::<2>(3), None);
    /// s.set_gpr(4, 4)?;
    /// assert_eq!(s.cached_gprs::<2>(3), Some([3, 4]));
    /// assert_eq!(s.cached_gprs::<2>(31), None); // GPR32 does not exist
    /// # Ok::<(), papr_vcpu_state::StateError>(())
    /// ```
    #[inline(always)]
    pub fn cached_gprs<const N: usize>(&self, first: u8) -> Option<[u64; N]> {
        let first = usize::from(first);
        let sets = GPR_SETS.get(first..first.checked_add(N)?)?;
        let set = sets.iter().fold(GsidSet::EMPTY, |s, &one| s.union(one));
        if !set.is_subset(&self.valid) {
            return None;
        }
        let start = GPR0_INDEX + first;
        let values = self.values.get(start..start + N)?;
        let mut out = [0u64; N];
        for (o, &v) in out.iter_mut().zip(values) {
            *o = v as u64;
        }
        Some(out)
    }

    /// Sets `GPR<n>`.
    ///
    /// ```
    /// let mut s = papr_vcpu_state::VcpuState::new();
    /// s.set_gpr(3, 0)?;
    /// assert!(s.is_dirty(papr_gsb::GuestStateId::GPR3));
    /// # Ok::<(), papr_vcpu_state::StateError>(())
    /// ```
    #[inline]
    pub fn set_gpr(&mut self, n: u8, value: u64) -> Result<(), StateError> {
        // By the register number: the slot and set from tables, no id lookup.
        let Some(&one) = GPR_SETS.get(usize::from(n)) else {
            return Err(StateError::NoSuchRegister { class: "GPR", n });
        };
        self.store_index(GPR0_INDEX + usize::from(n), u128::from(value));
        self.written(one);
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
}
