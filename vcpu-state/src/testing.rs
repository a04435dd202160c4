//! Test helpers for crates above (feature `mock`): a fake L0 answer to a GET request.

use papr_gsb::{Gsb, GuestStateId, Policy, ELEMENT_HEADER_SIZE, HEADER_SIZE};

/// Fills the GET request in `gsb` in place, as an L0 would: each element's value becomes
/// `value(id)` (truncated to the element's size, big-endian). A buffer that does not
/// parse is left unchanged.
///
/// ```
/// use papr_gsb::{GsbBuilder, Gsb, GuestStateId, Policy};
/// let mut buf = [0u8; 32];
/// let mut b = GsbBuilder::new(&mut buf).unwrap();
/// b.put_request(GuestStateId::CR).unwrap();
/// let n = b.finish();
/// papr_vcpu_state::testing::answer(&mut buf[..n], |_| 0x1_2345_6789);
/// let g = Gsb::parse(&buf[..n], &Policy::EXACT).unwrap();
/// assert_eq!(g.get(GuestStateId::CR).unwrap().value().as_u64(), Some(0x2345_6789));
/// ```
pub fn answer(gsb: &mut [u8], mut value: impl FnMut(GuestStateId) -> u128) {
    if Gsb::parse(gsb, &Policy::STRUCTURE).is_err() {
        return;
    }
    // Parsed: every counted element is there whole; fill them in one walk.
    let count = gsb
        .first_chunk::<HEADER_SIZE>()
        .map_or(0, |c| u32::from_be_bytes(*c));
    let mut at = HEADER_SIZE;
    for _ in 0..count {
        let Some(hdr) = gsb
            .get(at..)
            .and_then(|b| b.first_chunk::<ELEMENT_HEADER_SIZE>())
        else {
            return;
        };
        let id = GuestStateId(u16::from_be_bytes([hdr[0], hdr[1]]));
        let len = usize::from(u16::from_be_bytes([hdr[2], hdr[3]]));
        at += ELEMENT_HEADER_SIZE;
        if id != GuestStateId::BLANK {
            let bytes = value(id).to_be_bytes();
            let src = bytes.get(16 - len.min(16)..).unwrap_or(&[]);
            if let Some(dst) = gsb.get_mut(at..at + src.len()) {
                dst.copy_from_slice(src);
            }
        }
        at += len;
    }
}
