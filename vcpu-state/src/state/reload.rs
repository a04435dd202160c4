//! Reload: [`VcpuState::load`] fetches invalid registers from the L0 with `H_GUEST_GET_STATE`.

use super::*;

impl VcpuState {
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
        let uncached = ids.difference(CACHED);
        if !uncached.is_empty() {
            return Err(StateError::NotCached {
                id: uncached.iter().next().unwrap_or_default(),
            });
        }
        let missing = ids.difference(self.valid);
        if missing.is_empty() {
            // All valid (an exit handler's usual case): no request buffer, no hcall.
            return Ok(());
        }
        let thread = missing.intersection(THREAD_REGS);
        let guest = missing.intersection(GUEST_REGS);
        // A buffer as small as the request (an exit handler's few registers, or a group).
        if sets::wire_size_fast(&thread) <= SMALL_REQUEST {
            self.load_scopes::<SMALL_REQUEST, S>(thread, guest, src)
        } else {
            self.load_scopes::<MAX_REQUEST, S>(thread, guest, src)
        }
    }

    /// Takes in `value` for `id`, read from the L0 by the caller's own checked
    /// `H_GUEST_GET_STATE` (e.g. `NestedHv::get_regs` on the exit path), as
    /// [`load`](Self::load) would store it: an invalid `id` becomes valid with `value`; a
    /// valid one (perhaps dirty: set by the L1, not yet sent) is kept. Returns whether it
    /// was stored.
    ///
    /// ```
    /// use papr_gsb::GuestStateId;
    /// use papr_vcpu_state::{StateError, VcpuState};
    /// let mut s = VcpuState::new();
    /// assert!(s.fill(GuestStateId::MSR, 1 << 63)?);
    /// assert!(!s.fill(GuestStateId::MSR, 0)?); // valid already: kept
    /// assert_eq!(s.cached(GuestStateId::MSR), Some(1 << 63));
    /// assert!(!s.is_dirty(GuestStateId::MSR));
    /// assert!(matches!(s.fill(GuestStateId::CR, 1 << 32), Err(StateError::ValueTooWide { .. })));
    /// assert!(matches!(s.fill(GuestStateId::RUN_INPUT, 0), Err(StateError::NotCached { .. })));
    /// # Ok::<(), StateError>(())
    /// ```
    ///
    /// # Errors
    /// [`StateError::NotCached`], [`StateError::ValueTooWide`]; the cache is then unchanged.
    #[inline]
    pub fn fill(&mut self, id: GuestStateId, value: u128) -> Result<bool, StateError> {
        if !CACHED.contains(id) {
            return Err(StateError::NotCached { id });
        }
        if value > max_value(id) {
            return Err(StateError::ValueTooWide { id, value });
        }
        if self.valid.contains(id) {
            return Ok(false);
        }
        self.store(id, value);
        self.valid.insert(id);
        Ok(true)
    }

    /// [`load`](Self::load) of the missing `thread` and `guest` ids, the thread-wide request
    /// built in a buffer of `N` bytes.
    pub(super) fn load_scopes<const N: usize, S: StateSource + ?Sized>(
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
