//! Flush: dirty registers into the run input ([`VcpuState::flush`]) or to the L0
//! ([`VcpuState::flush_guest_wide`]), and the in-flight set after a failed run.

use super::*;

impl VcpuState {
    /// Writes every dirty thread-wide register into `input`, the vCPU's run input buffer,
    /// as one guest state buffer (ascending ids), and returns its length. The flushed ids
    /// stop being dirty and become [in flight](Self::in_flight). Allocates nothing; makes
    /// no hcall. Guest-wide ids are not touched: see [`flush_guest_wide`](Self::flush_guest_wide).
    ///
    /// The run loop must also set HDEC_EXPIRY_TB (and LPCR, if it changes MER) before each
    /// flush: the cache sends exactly what is dirty. If `input` is too small nothing is
    /// flushed (the cache is unchanged; `input` may hold a partial write).
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
    #[inline(always)]
    pub fn flush(&mut self, input: &mut [u8]) -> Result<usize, StateError> {
        let set = self.dirty.intersection(THREAD_REGS);
        let capacity = input.len();
        if set.is_empty() {
            // Nothing to send (an unchanged HDEC expiry is not re-sent): an empty buffer.
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
        // The wire format of `papr_gsb` (be32 count; be16 id, be16 length, big-endian
        // value), written directly in one pass, each element's room checked as it is
        // written (no size pre-pass); the tests parse every flushed buffer back with
        // `papr_gsb::Gsb::parse`.
        let mut at = HEADER_SIZE;
        let mut count = 0u32;
        let mut fits_all = true;
        set.for_each_index(|index| {
            if !fits_all {
                return;
            }
            // The header (id, size) from the per-index table: no id lookup.
            let header = crate::output::header_at(index);
            let size = header & 0xFFFF;
            let value = self.values.get(index).copied().unwrap_or(0);
            let dst = input.get_mut(at..).unwrap_or(&mut []);
            // One fixed-size store per width (no copy routine, one bounds check).
            let fits = match size {
                8 => dst.first_chunk_mut::<12>().map(|e| {
                    let (h, v) = e.split_at_mut(4);
                    h.copy_from_slice(&header.to_be_bytes());
                    v.copy_from_slice(&(value as u64).to_be_bytes());
                }),
                4 => dst.first_chunk_mut::<8>().map(|e| {
                    let (h, v) = e.split_at_mut(4);
                    h.copy_from_slice(&header.to_be_bytes());
                    v.copy_from_slice(&(value as u32).to_be_bytes());
                }),
                _ => dst.first_chunk_mut::<20>().map(|e| {
                    let (h, v) = e.split_at_mut(4);
                    h.copy_from_slice(&header.to_be_bytes());
                    v.copy_from_slice(&value.to_be_bytes());
                }),
            };
            fits_all = fits.is_some();
            at += ELEMENT_HEADER_SIZE + size as usize;
            count += 1;
        });
        if !fits_all {
            // Nothing flushed: the cache is unchanged (the buffer holds a partial write,
            // which no run reads).
            return Err(too_small(&set, capacity));
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
}

/// The error of a flush of `set` into a buffer of `capacity` bytes that cannot hold it:
/// the first id and the bytes the whole flush needs.
#[cold]
#[inline(never)]
fn too_small(set: &GsidSet, capacity: usize) -> StateError {
    StateError::InputTooSmall {
        id: set.iter().next().unwrap_or_default(),
        needed: sets::wire_size_fast(set),
        capacity,
    }
}
