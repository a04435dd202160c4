//! Telling a GET_STATE answer the L0 wrote from the request the L1 left in its place.
//!
//! `H_GUEST_GET_STATE` answers in place: the L0 overwrites the value bytes of the request.
//! An answer the L0 did not write (or wrote only in part) would read back as the request
//! itself. So the request goes out with every value poisoned ([`FIRST`]); an answer value
//! still equal to the poison was either not written or is a register that really holds
//! the pattern. Those few are asked again with the opposite poison ([`SECOND`]) in their
//! place: a value written both times is the pattern both times; anything else means the
//! L0 did not write the first answer, and the call fails.

use core::ops::Range;
use papr_gsb::{GsidSet, GuestStateId, ELEMENT_HEADER_SIZE, HEADER_SIZE};

/// Poison byte of the values of a GET request.
pub(super) const FIRST: u8 = 0x5A;
/// Poison byte of the values asked again (every bit differs from [`FIRST`]).
pub(super) const SECOND: u8 = !FIRST;

/// Ids QEMU accepts but does not store: a GET leaves the L1's bytes untouched, so they
/// are neither poisoned nor checked (MMCR3, SIER2, SIER3, WORT).
const NOT_STORED: [u16; 4] = [0x103E, 0x1041, 0x1042, 0x200D];

/// Whether the L0 must write `id`'s value in an answer.
pub(super) fn written_by_l0(id: GuestStateId) -> bool {
    id != GuestStateId::BLANK && !NOT_STORED.contains(&id.0)
}

/// The element count of the GSB `buf` (0 if it has no header).
fn count(buf: &[u8]) -> u32 {
    buf.first_chunk::<HEADER_SIZE>()
        .map_or(0, |c| u32::from_be_bytes(*c))
}

/// The id and value range of the element whose header is at `at` in `buf`, if it is there
/// whole.
fn element_at(buf: &[u8], at: usize) -> Option<(GuestStateId, Range<usize>)> {
    let hdr = buf.get(at..)?.first_chunk::<ELEMENT_HEADER_SIZE>()?;
    let id = GuestStateId(u16::from_be_bytes([hdr[0], hdr[1]]));
    let len = usize::from(u16::from_be_bytes([hdr[2], hdr[3]]));
    let start = at + ELEMENT_HEADER_SIZE;
    (buf.len() >= start + len).then_some((id, start..start + len))
}

/// Calls `f(id, value range)` for each element of the GSB `buf` (as far as it goes).
fn for_each_value(buf: &[u8], mut f: impl FnMut(GuestStateId, Range<usize>)) {
    let mut at = HEADER_SIZE;
    for _ in 0..count(buf) {
        let Some((id, range)) = element_at(buf, at) else {
            return;
        };
        at = range.end;
        f(id, range);
    }
}

/// Fills the value of every element of `buf` whose id is in `ids` with `byte`.
pub(super) fn poison(buf: &mut [u8], ids: &GsidSet, byte: u8) {
    let mut at = HEADER_SIZE;
    for _ in 0..count(buf) {
        let Some((id, range)) = element_at(buf, at) else {
            return;
        };
        at = range.end;
        if ids.contains(id) {
            if let Some(value) = buf.get_mut(range) {
                value.fill(byte);
            }
        }
    }
}

/// The ids of `buf` the L0 must write ([`written_by_l0`]).
pub(super) fn checked_ids(buf: &[u8]) -> GsidSet {
    let mut ids = GsidSet::EMPTY;
    for_each_value(buf, |id, _| {
        if written_by_l0(id) {
            ids.insert(id);
        }
    });
    ids
}

/// The ids of `ids` whose value in `buf` is non-empty and every byte `byte`.
pub(super) fn still(buf: &[u8], ids: &GsidSet, byte: u8) -> GsidSet {
    let mut found = GsidSet::EMPTY;
    for_each_value(buf, |id, range| {
        let value = buf.get(range).unwrap_or(&[]);
        if ids.contains(id) && !value.is_empty() && value.iter().all(|&b| b == byte) {
            found.insert(id);
        }
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use papr_gsb::GsbBuilder;

    #[test]
    fn poison_and_still_see_only_selected_values() {
        let mut buf = [0u8; 64];
        let mut b = GsbBuilder::new(&mut buf).unwrap();
        b.put_u64(GuestStateId::GPR3, 0).unwrap();
        b.put_u64(GuestStateId(0x103E), 0).unwrap(); // MMCR3: not stored by QEMU
        b.put_u64(GuestStateId::NIA, 0).unwrap();
        let n = b.finish();
        let buf = &mut buf[..n];
        let ids = checked_ids(buf);
        assert_eq!(
            ids.iter().collect::<Vec<_>>(),
            [GuestStateId::GPR3, GuestStateId::NIA]
        );
        poison(buf, &ids, FIRST);
        assert_eq!(buf[8..16], [FIRST; 8]);
        assert_eq!(buf[20..28], [0; 8]);
        assert_eq!(still(buf, &ids, FIRST), ids);
        buf[8 + 7] = 0; // the L0 wrote GPR3's value
        assert_eq!(
            still(buf, &ids, FIRST).iter().collect::<Vec<_>>(),
            [GuestStateId::NIA]
        );
        assert!(still(buf, &ids, SECOND).is_empty());
    }

    #[test]
    fn a_count_past_the_buffer_stops_the_walk() {
        let mut buf = [0, 0, 0, 9, 0x10, 0x03, 0, 8, 1, 2, 3];
        assert!(checked_ids(&buf).is_empty());
        poison(&mut buf, &GsidSet::EMPTY.with(GuestStateId::GPR3), FIRST);
        assert_eq!(buf[8..], [1, 2, 3]);
    }
}
