//! tmp
#![no_std]
extern crate alloc;
#[cfg(any(test, feature = "mock"))]
extern crate std;
/// Sizes.
pub const SIZES: (usize, usize) = (papr_vcpu_state::sets::MAX_RUN_INPUT, papr_vcpu_state::MAX_REQUEST_BYTES);
#[cfg(test)]
mod t { #[test] fn s() { std::println!("{:?} {}", super::SIZES, core::mem::size_of::<papr_vcpu_state::VcpuState>()); } }
