//! The L2's PAPR platform for an L1 hypervisor on `papr-nestedv2`: what QEMU's `pseries`
//! machine provides to a KVM guest, provided by the L1 to its L2 (spec `linux-l2.md`).
//!
//! * [`fdt`] — the minimal device tree an unmodified Linux boots from (spec §2.1);
//! * [`layout`] — where the tree, the RTAS blob and the initrd go in L2 RAM;
//! * [`elf`] — the kernel loader (ppc64 ELF, checked before anything is written);
//! * [`rtas`] — the 20-byte RTAS entry blob and the token numbers;
//! * [`vcpu`] — the pseries vCPU defaults (AMOR, HFSCR, LPCR) and kexec entry registers;
//! * [`Platform`] — a nestedv2 [`ExitHandler`](papr_nestedv2::ExitHandler) answering the
//!   guest hcalls and RTAS as QEMU's spapr does, over the VMM's [`Environment`] (console,
//!   idling, wall clock);
//! * [`Board`] — the platform shared by several vCPUs (SMP: RTAS `start-cpu`, IPIs between
//!   the vCPUs' XICS presentation controllers, `H_CEDE`/`H_PROD`/`H_CONFER`), with a
//!   [`VcpuHandler`] per vCPU and the scheduling questions a VMM asks.
//!
//! Every address and length the L2 passes is checked against its RAM before use; bad
//! arguments get PAPR's error codes and nothing in the L1 or the L0 breaks.
//!
//! ```
//! use papr_platform::{layout::Layout, fdt};
//! let place = Layout::place(128 << 20, 0x289_e750, Some(0x650))?;
//! let dtb = fdt::build(&fdt::DtConfig {
//!     ram_bytes: 128 << 20,
//!     bootargs: "console=hvc0 quiet",
//!     initrd: place.initrd,
//!     rtas_base: place.rtas,
//!     vcpus: 1,
//!     cpu: fdt::CpuProps::default(),
//! })?;
//! place.check_fdt_len(dtb.len())?;
//! # Ok::<(), papr_platform::Error>(())
//! ```
//!
//! `#![no_std]` with `alloc`. Feature `mock` exports `MockEnvironment` (mockall); `sim`
//! enables the end-to-end tests over the software L0.
#![no_std]

extern crate alloc;
#[cfg(any(test, feature = "mock"))]
extern crate std;

mod board;
pub mod elf;
mod env;
mod error;
pub mod fdt;
pub mod hcall;
pub mod layout;
mod platform;
pub mod rtas;
mod time;
pub mod vcpu;

pub use board::{Board, Idled, VcpuHandler};
#[cfg(any(test, feature = "mock"))]
pub use env::MockEnvironment;
pub use env::{Environment, TimeOfDay, Wake};
pub use error::Error;
pub use platform::{CpuState, Outcome, Platform, PlatformConfig, PlatformStats, SRR1_PREFIXED};
