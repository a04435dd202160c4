//! Conformance scenarios for PAPR Nested APIv2 L0s (issue 13): one description, run on
//! QEMU's `pseries` and on the software L0 (`papr_hcall::sim::SoftL0`), compared trace
//! line by trace line.
//!
//! * [`scenario`] — the description: the L2's actions ([`L2Op`]) and the L1's [`Step`]s;
//! * [`suite`] — the scenarios, in session order ([`suite::all`]);
//! * [`asm`] — [`L2Op`]s → ppc64 machine code for a real L0; [`layout`] — where actions are;
//! * [`driver`] — the L1 side, generic over `Hcall` + `RealMemory`, recording the trace;
//!   the L2 program comes from an [`L2Backend`] ([`AsmBackend`] for a real L0);
//! * [`trace`] — the line format (`T <scenario> <seq> <kind> key=value…`), parser, diff;
//! * `softl0` (feature `softl0`) — the software-L0 backend and a whole-suite runner.
//!
//! ```
//! use papr_scenarios::{asm, suite, L2Op};
//! let img = asm::assemble(0, &[L2Op::hcall(0x7F00)]).unwrap();
//! assert_eq!(*img.segments[0].words.last().unwrap(), asm::B_SELF);
//! assert!(suite::all().len() >= 30);
//! ```
//!
//! `#![no_std]` with `alloc`; feature `softl0` (default) adds `std`.
#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod asm;
pub mod driver;
pub mod layout;
pub mod scenario;
#[cfg(feature = "softl0")]
pub mod softl0;
pub mod suite;
pub mod trace;

pub use driver::{AsmBackend, Config, Driver, L2Backend, Recorder, TracingHcall};
pub use scenario::{GuestRef, Handle, Hdec, L2Op, Scenario, Scope, Step};
pub use trace::{compare, parse_trace, Comparison, TraceLine};
