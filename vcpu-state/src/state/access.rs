//! Reads and writes by id: [`VcpuState::get`]/[`VcpuState::set`] and the numbered GPR and VSR
//! accessors, checked against the cached and writable sets.

use super::*;

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
}
