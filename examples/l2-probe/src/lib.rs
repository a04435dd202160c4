//! A hostile test L2 for the L1's PAPR platform: a tiny big-endian ppc64 kernel that sends
//! malformed hcalls and RTAS calls, prints every return code on the console, and the judge
//! that checks those lines.
//!
//! * [`kernel_elf`] — the kernel as an ELF64 big-endian `ET_DYN` file (`EM_PPC64`, one RWX
//!   `PT_LOAD` at vaddr = paddr = 0, entry 0); layout in [`kernel`] and [`elf`];
//! * [`PROBES`] — the probes in order, each with its expected value and QEMU source;
//! * [`judge()`] / [`judge_for`] — console text → [`Summary`] or every [`Mismatch`];
//! * [`panic_kernel_elf`] / [`judge_panic`] — a kernel that takes an illegal instruction on
//!   purpose and ends with RTAS `ibm,os-term`, and its judge;
//! * [`qemu_args`] — how the VMM is handed the kernel; [`boot`] — a direct QEMU boot too;
//! * [`asm`] / [`insn`] — the small assembler and instruction encoders behind the kernel.
//!
//! Console line format: `probe <name> rc=<value as 16 lower-case hex digits>\n`, one per
//! probe, then `probe-done <count>\n` (decimal), then RTAS `power-off`.
//!
//! ```
//! use papr_l2_probe::{judge, kernel_elf, Target, PROBES};
//! let elf = kernel_elf()?;
//! assert_eq!(&elf[..6], b"\x7fELF\x02\x02"); // 64-bit, big-endian
//! // A perfect run's console:
//! let mut console = String::from("SLOF-less boot\n");
//! for p in PROBES {
//!     console += &format!("probe {} rc={:016x}\n", p.name, p.expect.sample());
//! }
//! console += &format!("probe-done {}\n", PROBES.len());
//! assert_eq!(judge(&console).map(|s| s.probes), Ok(PROBES.len()));
//! # Ok::<(), papr_l2_probe::Error>(())
//! ```
#![no_std]

extern crate alloc;

pub mod asm;
pub mod boot;
pub mod elf;
mod error;
pub mod insn;
pub mod judge;
pub mod kernel;
pub mod papr;
pub mod probes;

pub use boot::qemu_args;
pub use error::Error;
pub use judge::{judge, judge_for, judge_panic, Mismatch, Summary};
pub use probes::{Expect, Probe, Target, PROBES};

use alloc::vec::Vec;

/// The probe kernel as an ELF file (see [`kernel`] for the image and [`elf`] for the
/// container).
///
/// # Errors
/// [`Error`] if the program does not assemble; never for this crate's program (tested).
pub fn kernel_elf() -> Result<Vec<u8>, Error> {
    let img = kernel::image()?;
    Ok(elf::write(&img.bytes, img.mem_size, 0))
}

/// The panic kernel ([`kernel::Program::Panic`]) as an ELF file: it takes a program
/// interrupt on purpose, reports it, and calls RTAS `ibm,os-term` with
/// [`kernel::PANIC_TEXT`]. Judge its console with [`judge_panic`].
///
/// # Errors
/// As [`kernel_elf`].
pub fn panic_kernel_elf() -> Result<Vec<u8>, Error> {
    let img = kernel::build(kernel::Program::Panic)?;
    Ok(elf::write(&img.bytes, img.mem_size, 0))
}
