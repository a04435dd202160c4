//! The run output buffer of an exit: validated, staged and committed to the cache.
//!
//! Two validators that accept exactly the same buffers and give the same result (and
//! before both, QEMU's exit layouts ([`layout`]) matched header for header, which are
//! valid by construction):
//! * the **fast path** ([`check_fast`]): for an exit of at most [`FAST_ELEMENTS`]
//!   registers (QEMU's largest, the hcall exit, has 10), one pass over the element
//!   headers the L0 wrote, each checked against a per-id size table, then the values
//!   decoded straight into the cache; it never reports an error, it declines and leaves
//!   anything unusual to
//! * the **full validator** ([`VcpuState::apply_exit_full`]): the header count checked
//!   against [`MAX_OUTPUT_ELEMENTS`], `papr_gsb::Gsb::parse` with
//!   [`Policy::L1_RUN_OUTPUT`], then every element checked to be a thread-wide register.
//!
//! Property tests (`tests/fast_path.rs`) and the `run_output` fuzz target hold the two to
//! the same cache state and the same errors on the same input.

use crate::error::StateError;
use crate::layout;
use crate::sets::{L1_OWNED, THREAD_REGS};
use crate::state::{decode, VcpuState};
use papr_gsb::{Gsb, GsidSet, GuestStateId, Policy, ELEMENT_HEADER_SIZE, GSID_COUNT, HEADER_SIZE};

/// Registers an exit may carry at most (each thread-wide register once): a larger
/// element count is [`StateError::OutputCount`].
pub const MAX_OUTPUT_ELEMENTS: u32 = THREAD_REGS.len() as u32;

/// Elements the fast path stages at most; an exit with more goes to the full validator.
pub const FAST_ELEMENTS: usize = 16;
/// Bytes the fast path reads at most (every value offset fits a byte); an exit whose
/// elements run past it goes to the full validator.
pub(crate) const FAST_BYTES: usize = 256;
const _: () = assert!(GSID_COUNT <= 256);
// QEMU's largest exit (0xC00: GPR3..GPR12) takes the fast path.
const _: () = assert!(FAST_ELEMENTS >= 10);

/// The value size of the thread-wide register of dense index `index`, 0 for every other
/// index: computed from the id classes (GPRs and SPRs of 0x1000 are 8 bytes, the SPRs of
/// 0x2000 are 4, the VSRs of 0x3000 are 16; of the exit registers 0xF000, HDSISR and HEIR
/// are 4) with compares, not read from a table. Under QEMU each page the exit path touches
/// costs a TLB refill per exit (QEMU flushes its TLB on every L1↔L2 switch): a table in
/// `.rodata` would be one more. The `sizes_match_the_table` test keeps it equal to the
/// GSID table.
#[inline(always)]
pub(crate) const fn size_at(index: usize) -> u32 {
    // Dense indices: 15..99 = 0x1000.., 99..114 = 0x2000.., 114..178 = 0x3000..,
    // 178..182 = HDAR, HDSISR, HEIR, ASDR.
    if index < 15 {
        0
    } else if index < 99 {
        8
    } else if index < 114 {
        4
    } else if index < 178 {
        16
    } else if index == 178 || index == 181 {
        8
    } else if index < 181 {
        4
    } else {
        0
    }
}

/// The element header (id << 16 | size) of the thread-wide register of dense index
/// `index` (0 for any other), computed as [`size_at`] is.
#[inline(always)]
pub(crate) const fn header_at(index: usize) -> u32 {
    let size = size_at(index);
    match GuestStateId::from_index(index) {
        Some(id) if size != 0 => ((id.0 as u32) << 16) | size,
        _ => 0,
    }
}

/// Dense index of HEIR, which an L0 may send as 4 bytes (PAPR, QEMU) or 8 (Linux).
const HEIR: Option<usize> = GuestStateId::HEIR.index();

/// What [`check_fast`] found: the ids an exit carries and, in buffer order, the dense
/// index, value offset and value length of each.
pub(crate) struct Checked {
    ids: GsidSet,
    n: usize,
    at: [(u8, u8, u8); FAST_ELEMENTS],
}

/// Checks `output` in one pass over its element headers, or declines (`None`) when it
/// holds more than [`FAST_ELEMENTS`] elements, runs past [`FAST_BYTES`], or holds
/// anything the full validator must judge (a short buffer, an id that is not a
/// thread-wide register, a wrong size, a duplicate). Reads nothing past the last counted
/// element.
#[inline]
pub(crate) fn check_fast(output: &[u8]) -> Option<Checked> {
    let output = output.get(..FAST_BYTES).unwrap_or(output);
    let count = u32::from_be_bytes(*output.first_chunk::<HEADER_SIZE>()?);
    if count as usize > FAST_ELEMENTS {
        return None;
    }
    let mut c = Checked {
        ids: GsidSet::EMPTY,
        n: count as usize,
        at: [(0, 0, 0); FAST_ELEMENTS],
    };
    let mut at = HEADER_SIZE;
    for slot in c.at.iter_mut().take(c.n) {
        let hdr = output.get(at..)?.first_chunk::<ELEMENT_HEADER_SIZE>()?;
        let id = GuestStateId(u16::from_be_bytes([hdr[0], hdr[1]]));
        let len = usize::from(u16::from_be_bytes([hdr[2], hdr[3]]));
        let index = id.index()?;
        let size = size_at(index) as usize;
        if len != size && !(Some(index) == HEIR && len == 4) {
            return None;
        }
        if size == 0 || !c.ids.insert(id) {
            return None;
        }
        let value = at + ELEMENT_HEADER_SIZE;
        at = value + len;
        if at > output.len() {
            return None;
        }
        // index < GSID_COUNT <= 256, value < FAST_BYTES = 256, len <= 16: each fits a byte.
        *slot = (index as u8, value as u8, len as u8);
    }
    Some(c)
}

/// Calls `f(id, value)` for each of the `count` elements of the GSB `bytes` (already
/// validated), in order; stops where the bytes end.
#[inline]
pub(crate) fn for_each_element(bytes: &[u8], mut f: impl FnMut(GuestStateId, &[u8])) {
    let Some((count, mut rest)) = bytes.split_first_chunk::<HEADER_SIZE>() else {
        return;
    };
    for _ in 0..u32::from_be_bytes(*count) {
        let Some((hdr, tail)) = rest.split_first_chunk::<ELEMENT_HEADER_SIZE>() else {
            return;
        };
        let len = usize::from(u16::from_be_bytes([hdr[2], hdr[3]]));
        let Some((value, tail)) = tail.split_at_checked(len) else {
            return;
        };
        f(GuestStateId(u16::from_be_bytes([hdr[0], hdr[1]])), value);
        rest = tail;
    }
}

impl VcpuState {
    /// Takes in the run output buffer after an `H_GUEST_RUN_VCPU` returned an exit.
    ///
    /// The buffer is untrusted: it is validated whole first (element count at most
    /// [`MAX_OUTPUT_ELEMENTS`], structure, defined thread-wide register ids, sizes, no
    /// duplicates, no BLANK element); on error the cache is exactly as before and the
    /// error names the element or the count. Then, as Linux does after every exit, every
    /// thread-wide register becomes invalid except those in the buffer, which are stored
    /// and valid; in-flight registers are done. The registers only the L1 writes
    /// ([`sets::L1_OWNED`](crate::sets::L1_OWNED): guest-wide ones, HDEC_EXPIRY_TB) stay
    /// valid, and so do registers set after the flush, which stay dirty for the next run
    /// unless the buffer carries them (the L0's value wins).
    ///
    /// An exit of at most [`FAST_ELEMENTS`] registers takes one pass over its bytes; any
    /// other buffer goes through [`apply_exit_full`](Self::apply_exit_full), with the same
    /// result. Pass only the bytes the L0 may have written: a count that runs past them is
    /// an error, and so is a BLANK (zero) element where a register is expected, which is
    /// what a corrupt count over a zeroed tail reads as.
    ///
    /// Returns the ids the buffer carried.
    ///
    /// ```
    /// use papr_vcpu_state::{StateError, VcpuState};
    /// let mut s = VcpuState::new_zeroed();
    /// let before = s.clone();
    /// // count 1, an unknown id 0x0007:
    /// let bad = [0, 0, 0, 1, 0x00, 0x07, 0, 0];
    /// assert!(matches!(s.apply_exit(&bad), Err(StateError::Output(_))));
    /// // count 2 over a zeroed tail: BLANK elements are not registers
    /// let blank = [0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0];
    /// assert!(matches!(s.apply_exit(&blank), Err(StateError::UnexpectedOutputId { .. })));
    /// // a header the L0 did not write (poisoned by the L1 before the run)
    /// let poison = [0xFF; 64];
    /// assert!(matches!(s.apply_exit(&poison), Err(StateError::OutputCount { count: u32::MAX, .. })));
    /// assert!(s == before);
    /// // an HDEC exit carries nothing: only the L1's own registers stay valid
    /// s.apply_exit(&[0, 0, 0, 0])?;
    /// assert_eq!(s.valid(), papr_vcpu_state::sets::L1_OWNED);
    /// # Ok::<(), StateError>(())
    /// ```
    ///
    /// # Errors
    /// [`StateError::OutputCount`], [`StateError::Output`],
    /// [`StateError::UnexpectedOutputId`].
    #[inline(always)]
    pub fn apply_exit(&mut self, output: &[u8]) -> Result<GsidSet, StateError> {
        let count = output
            .first_chunk::<HEADER_SIZE>()
            .map(|c| u32::from_be_bytes(*c));
        let known = match count {
            // An exit that carries nothing (HDEC, doorbell, external): what the one-pass
            // check accepts for a count of 0, without its call.
            Some(0) => {
                self.exit_done();
                Some(self.carried(GsidSet::EMPTY))
            }
            Some(10) => self.apply_gprs(output),
            Some(c @ 3..=5) => self.apply_fault_layout(c, output),
            _ => None,
        };
        match known {
            Some(ids) => Ok(ids),
            None => self.apply_exit_other(output),
        }
    }

    /// [`apply_exit`](Self::apply_exit) of an output of `count` 3 to 5 elements: QEMU's
    /// HDSI (5), HISI (4), HEAI or HFAC (3) layouts. Out of line (not cold: MMIO comes
    /// this way): the hcall exit's code in the caller stays short, on fewer pages.
    #[inline(never)]
    fn apply_fault_layout(&mut self, count: u32, output: &[u8]) -> Option<GsidSet> {
        match count {
            5 => self.apply_layout(&layout::HDSI, output),
            4 => self.apply_layout(&layout::HISI, output),
            _ => self
                .apply_layout(&layout::HEAI, output)
                .or_else(|| self.apply_layout(&layout::HFAC, output)),
        }
    }

    /// [`apply_exit`](Self::apply_exit) of an output that is none of QEMU's layouts: the
    /// one-pass check, else the full validator. Kept out of line, off the exit path's pages.
    #[cold]
    #[inline(never)]
    fn apply_exit_other(&mut self, output: &[u8]) -> Result<GsidSet, StateError> {
        match check_fast(output) {
            Some(c) => {
                // Checked: commit, straight from the bytes into the cache.
                self.exit_done();
                for &(index, at, len) in c.at.iter().take(c.n) {
                    let (at, len) = (usize::from(at), usize::from(len));
                    let value = output.get(at..at + len).unwrap_or(&[]);
                    self.store_index(usize::from(index), decode(value));
                }
                Ok(self.carried(c.ids))
            }
            None => self.apply_exit_full(output),
        }
    }

    /// [`apply_exit`](Self::apply_exit) through the full validator only, whatever the
    /// buffer: the fallback of the fast path, and its reference in tests.
    ///
    /// ```
    /// let (mut a, mut b) = (papr_vcpu_state::VcpuState::new(), papr_vcpu_state::VcpuState::new());
    /// let out = [0, 0, 0, 1, 0x10, 0x03, 0, 8, 0, 0, 0, 0, 0, 0, 0, 7]; // GPR3 = 7
    /// assert_eq!(a.apply_exit(&out), b.apply_exit_full(&out));
    /// assert!(a == b);
    /// ```
    ///
    /// # Errors
    /// As [`apply_exit`](Self::apply_exit).
    pub fn apply_exit_full(&mut self, output: &[u8]) -> Result<GsidSet, StateError> {
        if let Some(count) = output.first_chunk::<HEADER_SIZE>() {
            let count = u32::from_be_bytes(*count);
            if count > MAX_OUTPUT_ELEMENTS {
                return Err(StateError::OutputCount {
                    count,
                    max: MAX_OUTPUT_ELEMENTS,
                });
            }
        }
        let gsb = Gsb::parse(output, &Policy::L1_RUN_OUTPUT).map_err(StateError::Output)?;
        let mut ids = GsidSet::EMPTY;
        for e in &gsb {
            if !THREAD_REGS.contains(e.id) {
                return Err(StateError::UnexpectedOutputId {
                    index: e.index,
                    offset: e.offset,
                    id: e.id,
                });
            }
            ids = ids.with(e.id);
        }
        // Validated: apply.
        self.exit_done();
        for e in &gsb {
            self.store(e.id, decode(e.value_bytes()));
        }
        Ok(self.carried(ids))
    }

    /// [`apply_layout`](Self::apply_layout) of [`layout::HCALL`] (GPR3–12, every hcall
    /// exit), written out for the hot path: each header word compared as it is read, the
    /// differences folded through a rotate (a serial chain: no vector code, which costs
    /// more than it saves on the short buffer and under QEMU's TCG), one branch, then ten
    /// doubleword stores. `tests/fast_access.rs` holds it to the general layout check on
    /// arbitrary buffers.
    #[inline(always)]
    fn apply_gprs(&mut self, output: &[u8]) -> Option<GsidSet> {
        const N: usize = 10;
        const BYTES: usize = HEADER_SIZE + N * (ELEMENT_HEADER_SIZE + 8);
        let bytes = output.first_chunk::<BYTES>()?;
        let word = |at: usize| -> u32 {
            bytes
                .get(at..at + 4)
                .and_then(|w| w.try_into().ok())
                .map_or(!0, u32::from_ne_bytes)
        };
        let mut diff = 0u32;
        let mut values = [0u64; N];
        for (k, (slot, value)) in layout::HCALL.slots.iter().zip(&mut values).enumerate() {
            let at = HEADER_SIZE + k * (ELEMENT_HEADER_SIZE + 8);
            // The header as it lies in the buffer (big-endian), compared in the CPU's byte
            // order against the constant swapped at compile time: no byte swap per word.
            diff = diff.rotate_left(1) | (word(at) ^ slot.header.to_be());
            *value = bytes
                .get(at + ELEMENT_HEADER_SIZE..at + ELEMENT_HEADER_SIZE + 8)
                .and_then(|v| v.try_into().ok())
                .map_or(0, u64::from_be_bytes);
        }
        if diff != 0 {
            return None;
        }
        self.exit_done();
        for (slot, &v) in layout::HCALL.slots.iter().zip(&values) {
            self.store_index(slot.index, u128::from(v));
        }
        Some(self.carried(layout::HCALL.ids))
    }

    /// Applies `output` if its element headers are exactly `layout`'s (valid by
    /// construction: no further check), and returns the ids it carried.
    #[inline(always)]
    fn apply_layout<const N: usize>(
        &mut self,
        layout: &layout::Layout<N>,
        output: &[u8],
    ) -> Option<GsidSet> {
        if !layout.matches(output) {
            return None;
        }
        self.exit_done();
        for s in &layout.slots {
            let value = output.get(s.at..s.at + s.len).unwrap_or(&[]);
            self.store_index(s.index, decode(value));
        }
        Some(self.carried(layout.ids))
    }

    /// The run is over: registers not dirty are stale but the L1's own
    /// ([`L1_OWNED`]), nothing is in flight.
    #[inline]
    fn exit_done(&mut self) {
        self.valid = self.valid.intersection(L1_OWNED.union(self.dirty));
        self.in_flight.clear();
    }

    /// `ids` (stored) are valid and no longer dirty; returns them.
    #[inline]
    fn carried(&mut self, ids: GsidSet) -> GsidSet {
        self.valid = self.valid.union(ids);
        self.dirty = self.dirty.difference(ids);
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use papr_gsb::TABLE;

    /// `size_at` and `header_at` (compares) agree with the GSID table for every index and
    /// one past: the thread-wide registers' sizes and ids, 0 for everything else.
    #[test]
    fn sizes_match_the_table() {
        for (i, info) in TABLE.iter().enumerate() {
            let thread = THREAD_REGS.contains(info.id);
            let size = if thread { u32::from(info.size()) } else { 0 };
            assert_eq!(size_at(i), size, "size of {:?} (index {i})", info.id);
            let header = if thread {
                (u32::from(info.id.0) << 16) | size
            } else {
                0
            };
            assert_eq!(header_at(i), header, "header of {:?} (index {i})", info.id);
        }
        assert_eq!((size_at(GSID_COUNT), header_at(GSID_COUNT)), (0, 0));
        assert_eq!((size_at(usize::MAX), header_at(usize::MAX)), (0, 0));
    }
}
