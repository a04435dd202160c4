#![cfg_attr(doctest, doc = include_str!("../README.md"))]
//! The PAPR **Nested APIv2** hcall ABI for an L1 hypervisor: opcodes, flags, capability
//! bits and return codes; the [`Hcall`] seam with its `sc 1` backend (`Sc1`, powerpc64
//! only); and the typed [`NestedHv`] API with Linux's busy/long-busy retry policy and
//! client-side refusal of the requests that kill QEMU's L0 ([`Profile`]).
//!
//! Layers, bottom up:
//! * [`opcode`], [`flags`], [`ReturnCode`], [`Capabilities`] — the numbers of the ABI;
//! * [`Hcall`] — one raw hcall (registers in, registers out), the mockable seam;
//!   [`ContainedHcall`] marks the backends safe code may hold (models, mocks);
//! * [`RealMemory`] — where GSBs live (L1 real addresses), [`Delay`] — how busy waits pass;
//!   [`L1RealAddr`] and [`MemoryError`] are papr-mmu-radix's (one vocabulary from the radix
//!   tree up), and every memory backend here is also a `papr_mmu_radix::TableMemory`;
//! * [`NestedHv`] — the typed calls over any backend, all `&self` (one `NestedHv` serves
//!   every L1 CPU; RUNs of different vCPUs overlap: its "Concurrency" docs); [`generic`] —
//!   console, RTAS, endianness;
//! * [`CountingHcall`] — counts hcalls, for benchmarks and tests that prove hcall budgets.
//!
//! # Safe code cannot make the L0 write arbitrary memory
//! Hcalls that carry an L1 real address make the L0 write there. As in kvm-ioctls, the
//! raw entry points are `unsafe`: `Sc1::new`, [`generic::rtas`],
//! [`NestedHv::hcall_unchecked`]. The typed [`NestedHv`] is safe because every address it
//! hands the L0 (state buffers, run buffers, VPA, partition-table root) lies in its
//! [`RealMemory`], whose real backend ([`IdentityMemory`]) has an `unsafe` constructor;
//! its safe [`NestedHv::hcall`] hands out only [`ContainedHcall`] backends.
//!
//! ```compile_fail,E0133
//! use papr_hcall::{generic, L1RealAddr, MockHcall};
//! // A raw address-carrying hcall needs `unsafe`:
//! let _ = generic::rtas(&MockHcall::new(), L1RealAddr(0x1000));
//! ```
//!
//! `#![no_std]` with `alloc` (the L1's guest table). Feature `mock` exports mockall mocks
//! of the seams (`MockHcall`, `MockRealMemory`, `MockDelay`) and a `RecordingDelay`;
//! `std` adds [`StdSleep`]; `vm-memory` adds `VmRealMemory`.
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(any(test, feature = "mock", feature = "std"))]
extern crate std;

mod caps;
mod counting;
mod delay;
mod error;
pub mod flags;
pub mod generic;
mod memory;
pub mod msr;
mod nested;
pub mod opcode;
mod profile;
mod raw;
mod rc;
#[cfg(target_arch = "powerpc64")]
mod sc1;
pub mod script;
#[cfg(feature = "sim")]
pub mod sim;
mod target;
pub mod trap;

pub use caps::{Capabilities, Mode};
pub use counting::{CountingHcall, HcallCounts};
#[cfg(feature = "std")]
pub use delay::StdSleep;
#[cfg(target_arch = "powerpc64")]
pub use delay::TimebaseSpin;
pub use delay::{Delay, NoDelay, RetryBudget};
#[cfg(any(test, feature = "mock"))]
pub use delay::{DelayEvent, MockDelay, RecordingDelay};
pub use error::{HcallError, Refusal};
pub use flags::RunFlags;
#[cfg(any(test, feature = "mock"))]
pub use memory::MockRealMemory;
#[cfg(feature = "vm-memory")]
pub use memory::VmRealMemory;
pub use memory::{IdentityMemory, L1RealAddr, MemoryError, RealMemory};
pub use nested::{
    Negotiated, NestedHv, RegRequest, VcpuTicket, MAX_TRAP, REG_REQUEST_MAX, VPA_BYTES,
};
pub use profile::Profile;
#[cfg(any(test, feature = "mock"))]
pub use raw::MockHcall;
pub use raw::{ContainedHcall, Hcall, HcallOutput, HCALL_ARGS};
pub use rc::{ReturnCode, H_LONG_BUSY_END, H_LONG_BUSY_START, H_UNSUPPORTED_FLAG};
#[cfg(target_arch = "powerpc64")]
pub use sc1::Sc1;
pub use target::{GuestId, Target, VcpuId};
