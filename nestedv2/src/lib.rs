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
//! * [`NestedHost`] — negotiates capabilities and shares the hcall API between L1 CPUs
//!   (see "Concurrency" below);
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
//! # Concurrency
//! `H_GUEST_RUN_VCPU` of different vCPUs may run at the same time on different L1 CPUs
//! (the L0 allows it; Linux's KVM does it), and here nothing is locked across a run: the
//! vCPUs of one or several guests, each driven by its own L1 thread or CPU, run for their
//! whole time slices at once.
//!
//! * **What may go where.** With backends that are `Send + Sync` (the `Hcall`, `Memory`,
//!   `Delay` and `Clock` of the [`Backend`]; the `Pages` and each guest's `TableAlloc`
//!   `Send`), a [`NestedHost`] and a [`Guest`] are `Sync` (share them by reference) and a
//!   [`Vcpu`] is `Send`: create it anywhere, move it to the thread or CPU that runs it.
//!   A `Vcpu` is driven through `&mut` by one thread at a time; it is not shared.
//! * **Short critical sections only** (`spin::Mutex`, no_std): the registry inside
//!   [`NestedHv`](papr_hcall::NestedHv) (a lookup before a call, an update after it, never
//!   across the hcall); the host's page allocator (one page in or out: vCPU creation and
//!   drop, a guest-wide SET's scratch page); each guest's radix table (a page fault fixed
//!   up, [`Guest::map_ram`], [`Guest::fault_in`], a translation for an MMIO fetch); the
//!   process-table value; and, per guest, the pick of the next vCPU id with its
//!   `H_GUEST_CREATE_VCPU` (so two threads creating vCPUs get consecutive ids).
//! * **Statistics** ([`ExitStats`], off by default: [`Vcpu::set_stats_enabled`]) are per
//!   vCPU and kept in the [`Vcpu`]: nothing shared, nothing atomic on the exit path; add them
//!   up after the threads are done.
//! * **What an [`ExitHandler`] may call while other vCPUs run**: everything of its own vCPU
//!   (the [`VcpuContext`] it is given); the `&self` methods of the [`Guest`]
//!   ([`Guest::fault_in`], [`Guest::map_ram`], [`Guest::read_ram`], [`Guest::write_ram`],
//!   [`Guest::mmu`], [`Guest::set_process_table`]); the host's hcall API
//!   ([`NestedHost::hv`]) for guest-wide state. Another vCPU's state belongs to the thread
//!   that runs that vCPU: ask that thread (the L0 would answer a GET/SET of a vCPU in a run
//!   on another CPU in a race with the run). Never take one of these locks from an
//!   interrupt handler that may have interrupted a holder (spin locks: it would spin
//!   forever).
//! * **Deleting a guest while its vCPUs run cannot be written**: a [`Vcpu`] borrows its
//!   [`Guest`], and [`Guest::delete`] (like the drop) needs the guest by value, so the
//!   borrow checker makes every vCPU go first.
//!
//! `tests/concurrent.rs` proves this on the software L0: four threads × two guests × four
//! vCPUs × hcall, page-fault and HDEC exits, every exit accounted for, the statistics
//! adding up to the L0's count of runs, and runs that really overlap.
//!
//! ```
//! use papr_hcall::{MockHcall, MockRealMemory, NoDelay};
//! use papr_mmu_radix::PoolAlloc;
//! use papr_nestedv2::{Guest, ManualClock, NestedHost, Vcpu};
//! type B = (MockHcall, &'static MockRealMemory, NoDelay, ManualClock, PoolAlloc<1>);
//! fn sync<T: Sync>() {}
//! fn send<T: Send>() {}
//! sync::<NestedHost<B>>();
//! sync::<Guest<'static, B, PoolAlloc<1>>>();
//! send::<Vcpu<'static, 'static, B, PoolAlloc<1>>>();
//! ```
//!
//! A backend that is not `Sync` (here an hcall counter in a `Cell`) keeps its vCPUs on
//! the thread that made them:
//!
//! ```compile_fail,E0277
//! use core::cell::Cell;
//! use papr_hcall::{Hcall, HcallOutput, MockRealMemory, NoDelay};
//! use papr_mmu_radix::PoolAlloc;
//! use papr_nestedv2::{ManualClock, Vcpu};
//! struct Counting(Cell<u64>);
//! impl Hcall for Counting {
//!     fn hcall(&self, _: u64, _: [u64; 9]) -> HcallOutput {
//!         self.0.set(self.0.get() + 1);
//!         HcallOutput::ok(0)
//!     }
//! }
//! type B = (Counting, &'static MockRealMemory, NoDelay, ManualClock, PoolAlloc<1>);
//! fn send<T: Send>() {}
//! send::<Vcpu<'static, 'static, B, PoolAlloc<1>>>();
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
pub mod stamps;
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
pub use mmio::{MmioAccess, MmioData};
pub use papr_hcall::L1RealAddr;
pub use papr_mmu_radix::GuestRealAddr;
pub use stats::ExitStats;
pub use vcpu::{
    lpcr, msr, program, vector, Vcpu, DEFAULT_FAULT_REPEAT_LIMIT, DEFAULT_LOOP_LIMIT,
    DEFAULT_SLICE, RUN_MMIO_OPTIONS,
};
