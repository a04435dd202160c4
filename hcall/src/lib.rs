//! The PAPR Nested APIv2 hcall ABI for an L1 hypervisor.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(test, feature = "mock", feature = "std"))]
extern crate std;

pub mod opcode;
mod raw;
#[cfg(target_arch = "powerpc64")]
mod sc1;

pub use raw::{Hcall, HcallOutput, HCALL_ARGS};
#[cfg(any(test, feature = "mock"))]
pub use raw::MockHcall;
#[cfg(target_arch = "powerpc64")]
pub use sc1::Sc1;
