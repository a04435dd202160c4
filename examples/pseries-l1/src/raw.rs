//! STAND-IN, TO BE SWITCHED: raw `H_GUEST_*` calls over [`Sc1`], used by [`crate::checks`]
//! until `papr_hcall::NestedHv` (the typed API) lands. Each returns `Ok(r4)` on H_SUCCESS and
//! `Err(r3)` otherwise; buffers are heap memory, whose address is its real address (the L1 runs
//! identity-mapped in real mode).

use papr_hcall::opcode::*;
use papr_hcall::{Hcall, Sc1};

/// SET/GET_STATE flag: guest-wide request.
pub const GUEST_WIDE: u64 = 0x8000_0000_0000_0000;

fn call(opcode: u64, a: &[u64]) -> Result<u64, i64> {
    let mut args = [0u64; 9];
    for (slot, v) in args.iter_mut().zip(a) {
        *slot = *v;
    }
    let out = Sc1.hcall(opcode, args);
    if out.rc == 0 {
        Ok(out.ret[0])
    } else {
        Err(out.rc)
    }
}

/// `H_GUEST_GET_CAPABILITIES(flags)` → capability bitmap.
pub fn get_capabilities(flags: u64) -> Result<u64, i64> {
    call(H_GUEST_GET_CAPABILITIES, &[flags])
}

/// `H_GUEST_SET_CAPABILITIES(0, caps)`.
pub fn set_capabilities(caps: u64) -> Result<u64, i64> {
    call(H_GUEST_SET_CAPABILITIES, &[0, caps])
}

/// `H_GUEST_CREATE(0, -1)` → guest id.
pub fn create_guest() -> Result<u64, i64> {
    call(H_GUEST_CREATE, &[0, u64::MAX])
}

/// `H_GUEST_CREATE_VCPU(0, guest, vcpu)`.
pub fn create_vcpu(guest: u64, vcpu: u64) -> Result<u64, i64> {
    call(H_GUEST_CREATE_VCPU, &[0, guest, vcpu])
}

/// `H_GUEST_GET_STATE(flags, guest, vcpu, buf, len)`: the L0 fills `buf` in place.
pub fn get_state(flags: u64, guest: u64, vcpu: u64, buf: &mut [u8]) -> Result<u64, i64> {
    let (addr, len) = (buf.as_mut_ptr() as u64, buf.len() as u64);
    call(H_GUEST_GET_STATE, &[flags, guest, vcpu, addr, len])
}

/// `H_GUEST_SET_STATE(flags, guest, vcpu, buf, len)`.
pub fn set_state(flags: u64, guest: u64, vcpu: u64, buf: &[u8]) -> Result<u64, i64> {
    let (addr, len) = (buf.as_ptr() as u64, buf.len() as u64);
    call(H_GUEST_SET_STATE, &[flags, guest, vcpu, addr, len])
}

/// `H_GUEST_RUN_VCPU(flags, guest, vcpu)` → exit vector.
pub fn run_vcpu(flags: u64, guest: u64, vcpu: u64) -> Result<u64, i64> {
    call(H_GUEST_RUN_VCPU, &[flags, guest, vcpu])
}

/// `H_GUEST_DELETE(flags, guest)`. Never pass the delete-all flag to QEMU (it kills QEMU on
/// the next guest lookup).
pub fn delete_guest(flags: u64, guest: u64) -> Result<u64, i64> {
    call(H_GUEST_DELETE, &[flags, guest])
}
