//! Test helpers for crates above (feature `mock`): a fake L0 answer to a GET request.

use papr_gsb::{Gsb, GuestStateId, Policy};

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
    let mut slots: [(usize, usize, u128); 256] = [(0, 0, 0); 256];
    let mut n = 0;
    if let Ok(g) = Gsb::parse(gsb, &Policy::STRUCTURE) {
        for (e, slot) in g.iter().zip(slots.iter_mut()) {
            *slot = (e.offset + 4, e.value_bytes().len(), value(e.id));
            n += 1;
        }
    }
    for &(at, len, v) in slots.iter().take(n) {
        let bytes = v.to_be_bytes();
        let src = bytes.get(16 - len.min(16)..).unwrap_or(&[]);
        if let Some(dst) = gsb.get_mut(at..at + src.len()) {
            dst.copy_from_slice(src);
        }
    }
}
