//! Run output layouts an L0 is known to write: QEMU's, per exit (run-loop.md §4.4). An
//! output that matches one byte for byte in its headers is valid by construction, and its
//! values go straight to precomputed cache slots: no per-element id lookup or check.

use crate::output::FAST_BYTES;
use papr_gsb::{GsidSet, GuestStateId, ELEMENT_HEADER_SIZE, GSID_COUNT, HEADER_SIZE};

/// One element of a layout: its header as a big-endian word, the dense index of its id,
/// the offset and length of its value.
#[derive(Clone, Copy)]
pub(crate) struct Slot {
    pub(crate) header: u32,
    pub(crate) index: usize,
    pub(crate) at: usize,
    pub(crate) len: usize,
}

/// A fixed sequence of `N` elements.
pub(crate) struct Layout<const N: usize> {
    pub(crate) ids: GsidSet,
    pub(crate) slots: [Slot; N],
    /// Bytes from the start of the buffer to the end of the last value.
    end: usize,
}

/// The layout of `elements` (id, value length) in that order.
// `i < N`; `const fn` cannot use `get()` or iterators.
#[allow(clippy::indexing_slicing)]
const fn layout<const N: usize>(elements: [(GuestStateId, u16); N]) -> Layout<N> {
    let mut slots = [Slot {
        header: 0,
        index: 0,
        at: 0,
        len: 0,
    }; N];
    let mut ids = GsidSet::EMPTY;
    let mut at = HEADER_SIZE;
    let mut i = 0;
    while i < N {
        let (id, len) = elements[i];
        // An undefined id would get no slot (GSID_COUNT): the unit test rules it out.
        let index = match id.index() {
            Some(i) => i,
            None => GSID_COUNT,
        };
        ids = ids.with(id);
        slots[i] = Slot {
            header: ((id.0 as u32) << 16) | len as u32,
            index,
            at: at + ELEMENT_HEADER_SIZE,
            len: len as usize,
        };
        at += ELEMENT_HEADER_SIZE + len as usize;
        i += 1;
    }
    assert!(at <= FAST_BYTES);
    Layout {
        ids,
        slots,
        end: at,
    }
}

/// 0xC00 hcall: GPR3..GPR12.
pub(crate) const HCALL: Layout<10> = layout([
    (GuestStateId::GPR3, 8),
    (GuestStateId::GPR4, 8),
    (GuestStateId::GPR5, 8),
    (GuestStateId::GPR6, 8),
    (GuestStateId::GPR7, 8),
    (GuestStateId::GPR8, 8),
    (GuestStateId::GPR9, 8),
    (GuestStateId::GPR10, 8),
    (GuestStateId::GPR11, 8),
    (GuestStateId::GPR12, 8),
]);

/// 0xE00 HDSI: HDAR, HDSISR, ASDR, NIA, MSR.
pub(crate) const HDSI: Layout<5> = layout([
    (GuestStateId::HDAR, 8),
    (GuestStateId::HDSISR, 4),
    (GuestStateId::ASDR, 8),
    (GuestStateId::NIA, 8),
    (GuestStateId::MSR, 8),
]);

/// 0xE20 HISI: HDAR, ASDR, NIA, MSR.
pub(crate) const HISI: Layout<4> = layout([
    (GuestStateId::HDAR, 8),
    (GuestStateId::ASDR, 8),
    (GuestStateId::NIA, 8),
    (GuestStateId::MSR, 8),
]);

/// 0xE40 HEAI: HEIR (4 bytes, as QEMU sends it), NIA, MSR.
pub(crate) const HEAI: Layout<3> = layout([
    (GuestStateId::HEIR, 4),
    (GuestStateId::NIA, 8),
    (GuestStateId::MSR, 8),
]);

/// 0xF80 facility unavailable: HFSCR, NIA, MSR.
pub(crate) const HFAC: Layout<3> = layout([
    (GuestStateId::HFSCR, 8),
    (GuestStateId::NIA, 8),
    (GuestStateId::MSR, 8),
]);

impl<const N: usize> Layout<N> {
    /// Whether every element header of `output` is this layout's (the count is checked by
    /// the caller). Then every value is in `output`.
    #[inline(always)]
    pub(crate) fn matches(&self, output: &[u8]) -> bool {
        let Some(bytes) = output.get(..self.end) else {
            return false;
        };
        // Every header compared, the differences or-ed together: one branch, not one per
        // element (the offsets are constants once inlined).
        let mut diff = 0u32;
        for s in &self.slots {
            let h = bytes
                .get(s.at - ELEMENT_HEADER_SIZE..)
                .and_then(|h| h.first_chunk::<4>())
                .map_or(!s.header, |h| u32::from_be_bytes(*h));
            diff |= h ^ s.header;
        }
        diff == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sets::THREAD_REGS;

    #[test]
    fn layouts_hold_registers_of_the_right_sizes() {
        fn check<const N: usize>(l: &Layout<N>) {
            assert_eq!(l.ids.len(), N, "an id twice");
            assert!(l.ids.is_subset(&THREAD_REGS));
            for s in &l.slots {
                let id = GuestStateId((s.header >> 16) as u16);
                assert_eq!(id.index(), Some(s.index));
                let size = id.size().unwrap();
                assert!(s.len == usize::from(size) || (id == GuestStateId::HEIR && s.len == 4));
            }
        }
        check(&HCALL);
        check(&HDSI);
        check(&HISI);
        check(&HEAI);
        check(&HFAC);
        assert_eq!(HCALL.end, 124);
    }
}
