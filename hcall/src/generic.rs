//! The generic (non-nested) hcalls an L1 needs: console, interrupt endianness, RTAS.
//!
//! [`put_term_char`] and [`set_interrupts_little_endian`] pass the L0 no address and are
//! safe; [`rtas`] hands it an argument block to write and is `unsafe`.

use crate::error::HcallError;
use crate::memory::L1RealAddr;
use crate::opcode;
use crate::raw::Hcall;
use crate::rc::ReturnCode;

fn check(call: &'static str, rc: i64) -> Result<(), HcallError> {
    match ReturnCode::from_raw(rc) {
        ReturnCode::Success => Ok(()),
        code => Err(HcallError::Failed { call, code }),
    }
}

/// `H_PUT_TERM_CHAR`: writes up to 16 bytes of `bytes` to virtual terminal `vterm`
/// (packed big-endian into r6, r7). Returns how many bytes were sent (≤ 16); call again
/// for the rest.
///
/// ```
/// use papr_hcall::{generic::put_term_char, MockHcall, HcallOutput, opcode};
/// let mut h = MockHcall::new();
/// h.expect_hcall()
///     .withf(|&op, a| op == opcode::H_PUT_TERM_CHAR && a[0] == 0x7100_0000 && a[1] == 3
///         && a[2] == u64::from_be_bytes(*b"hi!\0\0\0\0\0") && a[3] == 0)
///     .return_const(HcallOutput::ok(0));
/// assert_eq!(put_term_char(&h, 0x7100_0000, b"hi!"), Ok(3));
/// ```
pub fn put_term_char(h: &impl Hcall, vterm: u64, bytes: &[u8]) -> Result<usize, HcallError> {
    let n = bytes.len().min(16);
    let mut packed = [0u8; 16];
    if let (Some(dst), Some(src)) = (packed.get_mut(..n), bytes.get(..n)) {
        dst.copy_from_slice(src);
    }
    let (hi, lo) = packed.split_at(8);
    let r6 = u64::from_be_bytes(hi.try_into().unwrap_or([0; 8]));
    let r7 = u64::from_be_bytes(lo.try_into().unwrap_or([0; 8]));
    let out = h.hcall(
        opcode::H_PUT_TERM_CHAR,
        [vterm, n as u64, r6, r7, 0, 0, 0, 0, 0],
    );
    check("H_PUT_TERM_CHAR", out.rc).map(|()| n)
}

/// `H_SET_MODE(resource 4, mflags 1)`: the partition takes interrupts little-endian.
pub fn set_interrupts_little_endian(h: &impl Hcall) -> Result<(), HcallError> {
    let out = h.hcall(
        opcode::H_SET_MODE,
        [
            opcode::H_SET_MODE_MFLAGS_LE,
            opcode::H_SET_MODE_RESOURCE_LE,
            0,
            0,
            0,
            0,
            0,
            0,
            0,
        ],
    );
    check("H_SET_MODE", out.rc)
}

/// `H_RTAS`: calls RTAS with the big-endian argument block at `args`
/// ({token, nargs, nret, args…, rets…}, each be32). The RTAS status is in the block's
/// first return slot, which the caller reads back.
///
/// `unsafe` because the L0 writes the block's return slots, wherever `args` points: the
/// raw entry point of an address-carrying call, as in kvm-ioctls.
///
/// # Safety
/// Unless `h` is a [`ContainedHcall`](crate::ContainedHcall) (a model or a mock: then
/// nothing is written outside its own memory), `args` must be the L1 real address of an
/// argument block the caller owns, `12 + 4 × (nargs + nret)` bytes as its header says,
/// readable and writable by the L0 for the length of the call, and no Rust reference may
/// be live over its return slots (pass a pointer taken from a `&mut`, read the slots back
/// through it after the call).
///
/// ```
/// use papr_hcall::{generic::rtas, opcode, HcallOutput, L1RealAddr, MockHcall};
/// let mut h = MockHcall::new();
/// h.expect_hcall()
///     .withf(|&op, a| op == opcode::H_RTAS && a[0] == 0x1000)
///     .return_const(HcallOutput::ok(0));
/// // SAFETY: a mock writes no memory.
/// assert_eq!(unsafe { rtas(&h, L1RealAddr(0x1000)) }, Ok(()));
/// ```
///
/// Safe code cannot make the call (the same call as above, without `unsafe`):
///
/// ```compile_fail,E0133
/// use papr_hcall::{generic::rtas, L1RealAddr, MockHcall};
/// let h = MockHcall::new();
/// let _ = rtas(&h, L1RealAddr(0x1000)); // error[E0133]: call to unsafe function
/// ```
pub unsafe fn rtas(h: &impl Hcall, args: L1RealAddr) -> Result<(), HcallError> {
    let out = h.hcall(opcode::H_RTAS, [args.0, 0, 0, 0, 0, 0, 0, 0, 0]);
    check("H_RTAS", out.rc)
}
