#![cfg_attr(doctest, doc = include_str!("../README.md"))]
//! The L1's cache of an L2 vCPU's register state under PAPR Nested APIv2.
//!
//! The L0 holds the canonical L2 state; an L1 reads it with `H_GUEST_GET_STATE`, writes it
//! with `H_GUEST_SET_STATE` or in the run input buffer of `H_GUEST_RUN_VCPU`, and gets part
//! of it back in the run output buffer after each exit. [`VcpuState`] keeps a copy with
//! valid and dirty sets so that each exit costs the fewest hcalls:
//!
//! * registers the exit carried are read for free; others are reloaded on first use, a
//!   whole group per `H_GUEST_GET_STATE` ([`VcpuState::load`], [`sets::reload_group`]);
//! * writes are free until the next run: [`VcpuState::flush`] packs the dirty thread-wide
//!   registers into the run input (no allocation, no hcall);
//!   [`VcpuState::flush_guest_wide`] sends LOGICAL_PVR/TB_OFFSET with one SET only when
//!   they changed;
//! * [`VcpuState::apply_exit`] validates the untrusted run output buffer whole, then stores
//!   it and invalidates what the exit made stale.
//!
//! The L0 is reached through the [`StateSource`] seam: [`HvSource`] binds a
//! `papr_hcall::NestedHv` to one vCPU; `MockStateSource` (feature `mock`) mocks it.
//!
//! ```
//! use papr_gsb::GsidSet;
//! use papr_vcpu_state::{MockStateSource, VcpuState};
//! let mut l0 = MockStateSource::new();
//! l0.expect_get_state().times(1).returning(|_, gsb| {
//!     papr_vcpu_state::testing::answer(gsb, |id| u128::from(id.raw()));
//!     Ok(())
//! });
//! let mut s = VcpuState::new();
//! // An exit handler declares what it needs: one GET for all 32 GPRs.
//! s.load(GsidSet::GPRS, &mut l0)?;
//! let sum: u64 = (0..32).map(|n| s.gpr(n, &mut l0).unwrap()).sum();
//! assert_eq!(sum, (0x1000..0x1020u64).sum::<u64>());
//! s.set_gpr3(0);                       // hcall return value
//! let mut input = [0u8; papr_vcpu_state::sets::MAX_RUN_INPUT];
//! let n = s.flush(&mut input)?;        // rides in the next run input
//! assert_eq!(n, 4 + 12);
//! # Ok::<(), papr_vcpu_state::StateError>(())
//! ```
//!
//! `#![no_std]`, no `alloc`.
#![no_std]

#[cfg(any(test, feature = "mock"))]
extern crate std;

mod accessors;
mod error;
mod layout;
mod output;
pub mod sets;
mod source;
mod state;
#[cfg(any(test, feature = "mock"))]
pub mod testing;

pub use error::StateError;
pub use output::{FAST_ELEMENTS, MAX_OUTPUT_ELEMENTS};
#[cfg(any(test, feature = "mock"))]
pub use source::MockStateSource;
pub use source::{Detached, HvSource, StateSource};
pub use state::{VcpuState, MAX_REQUEST_BYTES};
