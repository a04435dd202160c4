//! Conformance scenarios for PAPR Nested APIv2 L0s (issues 13, 17): one description, run on
//! QEMU's `pseries` and on the software L0 (`papr_hcall::sim::SoftL0`), compared trace
//! line by trace line.
//!
//! * [`scenario`] — the description: the L2's actions ([`L2Op`]) and the L1's [`Step`]s;
//! * [`suite`] — the scenarios, in session order ([`suite::all`]);
//! * [`asm`] — [`L2Op`]s → ppc64 machine code for a real L0; [`layout`] — where actions are;
//! * [`driver`] — the L1 side, generic over `Hcall` + `RealMemory`, recording the trace;
//!   the L2 program comes from an [`L2Backend`] ([`AsmBackend`] for a real L0);
//! * [`trace`] — the line format (`T <scenario> <seq> <kind> key=value…`), its identity
//!   header ([`trace::Identity`]: format, suite hash, scenario count, L0), parser, diff;
//! * [`known`] — the known differences between the L0s, each tied to one exact trace line;
//! * [`raw`] — the scenarios that keep raw hcalls, and why;
//! * `softl0` (feature `softl0`) — the software-L0 backend and a whole-suite runner.
//!
//! # What goes through the crates (issue 17)
//!
//! The driver is an L1 built on the crates wherever an L1 would use them; every hcall they
//! make goes through [`TracingHcall`], so the trace records what the crates did:
//!
//! * guest create/delete, vCPU create, state SET/GET, partition and process tables, run
//!   buffers: `papr_hcall::NestedHv` (typed, validated client-side: a request it refuses
//!   is traced as `refused call=… reason=…`, and never reaches the L0);
//! * registers: each vCPU's `papr_vcpu_state::VcpuState` — what the L1 sets (program entry,
//!   MSR, NIA moves, hcall return values, MMIO completions, the HDEC expiry) goes out in
//!   the run input through `VcpuState::flush`; each run output comes back through
//!   `VcpuState::apply_exit`;
//! * exits: `papr_nestedv2::Exit::decode` (page fault vs MMIO from the guest's RAM);
//!   MMIO: `papr_nestedv2::mmio::prepare` and `MmioOp::complete_load`/`complete_store`,
//!   traced with address, size, direction and data (`view act=mmio-load|mmio-store`);
//! * partition-scoped tables: `papr_mmu_radix::RadixTable` (map, unmap, protect,
//!   translate, R/C) over the driver's pool.
//!
//! Not through `papr_nestedv2::{NestedHost, Guest, Vcpu}` themselves: their calls bundle
//! several hcalls the scenarios address one by one (`NestedHost::negotiate` = GET + SET
//! capabilities, which the `caps-*` scenarios test raw on a fresh L0; `Guest::create` =
//! CREATE + one SET of PARTITION_TABLE and LOGICAL_PVR; `Guest::create_vcpu` = CREATE_VCPU +
//! GET 0x0002 + SET of the run buffers, with the id chosen by the crate; `Vcpu::run` with
//! `Quirks::QEMU` adds a GET after each exit), and a `Vcpu` borrows its `Guest`, which
//! borrows the host, so a step machine cannot keep them across steps in its per-slot maps.
//! The driver uses the same pieces those types are built from (above) instead.
//!
//! The scenarios that keep raw hcalls test the ABI edge itself ([`raw::RAW`], checked
//! against the suite).
//!
//! # One vocabulary for the L2's actions
//!
//! [`L2Op`] is `papr_hcall::script::L2Action`: one definition, in the lowest crate that
//! needs it (`papr-hcall`, whose software L0 runs it), in a `no_std` module outside the
//! `std`-only `sim` feature, so this `no_std` crate (which also runs on bare metal) uses it
//! too. The software-L0 backend hands the program over as it is.
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
mod identity;
pub mod known;
pub mod layout;
pub mod raw;
pub mod scenario;
#[cfg(feature = "softl0")]
pub mod softl0;
pub mod suite;
pub mod trace;

pub use driver::{AsmBackend, Config, Driver, L2Backend, Recorder, TracingHcall};
pub use scenario::{GuestRef, Handle, Hdec, L2Op, Scenario, Scope, Step};
pub use trace::{compare, parse_trace, Comparison, TraceLine};
