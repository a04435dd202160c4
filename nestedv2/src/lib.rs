#![cfg_attr(doctest, doc = include_str!("../README.md"))]
#![cfg_attr(all(doctest, feature = "sim"), doc = include_str!("../GUIDE.md"))]
//! The crate a VMM embeds to run L2 guests under PAPR **Nested APIv2** (`H_GUEST_*`) from
//! an L1 hypervisor on IBM POWER: capabilities, guest and vCPU lifecycle, the run loop,
//! typed exits, page faults on L2 RAM, interrupt injection and exit statistics.
//!
//! Layers (each a crate below): `papr-gsb` (wire format) → `papr-hcall` (the hcalls,
//! [`NestedHv`](papr_hcall::NestedHv)) → `papr-vcpu-state` (register cache) and
//! `papr-mmu-radix` (the L2's partition-scoped table) → this crate.
//!
//! * [`NestedHost`] — negotiates capabilities and shares the hcall API (see its docs for
//!   why a `spin::Mutex`);
//! * [`Guest`] — an L2 with its radix table and RAM; deleted in the L0 on drop;
//! * [`Vcpu`] — run buffers in L1 memory, [`Vcpu::run`] → [`Exit`], injection, stats;
//! * [`ExitHandler`] — the VMM's part of [`Vcpu::run_loop`];
//! * seams: [`Clock`] here; `Hcall`, `RealMemory`, `Delay` in `papr-hcall`; `TableAlloc`
//!   in `papr-mmu-radix` (the L1 page allocator for tables and run buffers).
//!
//! Hcalls per steady-state exit: one `H_GUEST_RUN_VCPU` for an L2 hcall, an MMIO load, an
//! HDEC, a page fault on RAM; two (RUN + one GET of the source register) for an MMIO store.
//!
//! ```
//! # use papr_nestedv2::{Exit, ExitKind, ExitStats};
//! // Exits are plain owned values:
//! let e = Exit::Hdec;
//! assert_eq!(e.kind(), ExitKind::Hdec);
//! ```
//!
//! `#![no_std]` with `alloc` (a guest's RAM region list).
#![no_std]

extern crate alloc;
#[cfg(any(test, feature = "mock"))]
extern crate std;

mod clock;
mod context;
mod error;
mod exit;
mod guest;
mod handler;
mod host;
pub mod mmio;
mod stats;
mod vcpu;

#[cfg(any(test, feature = "mock"))]
pub use clock::MockClock;
#[cfg(target_arch = "powerpc64")]
pub use clock::TimebaseClock;
pub use clock::{Clock, ManualClock};
#[cfg(any(test, feature = "mock"))]
pub use context::MockVcpuContext;
pub use context::VcpuContext;
pub use error::Error;
pub use exit::{hdsisr, trap, Exit, ExitKind};
pub use guest::{Guest, GuestRadixTable, GuestTable, LogicalPvr, RamRegion};
#[cfg(any(test, feature = "mock"))]
pub use handler::MockExitHandler;
pub use handler::{Action, ExitHandler, HcallReturn};
#[cfg(any(test, feature = "mock"))]
pub use host::MockPageAlloc;
pub use host::{Backend, Hv, NestedHost, PageAlloc, Quirks};
pub use mmio::MmioAccess;
pub use papr_hcall::L1RealAddr;
pub use papr_mmu_radix::GuestRealAddr;
pub use stats::ExitStats;
pub use vcpu::{
    lpcr, msr, program, vector, Vcpu, DEFAULT_FAULT_REPEAT_LIMIT, DEFAULT_LOOP_LIMIT,
    DEFAULT_SLICE, RUN_MMIO_OPTIONS,
};
