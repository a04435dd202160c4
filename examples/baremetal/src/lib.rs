//! Bare-metal plumbing for a PAPR L1 that QEMU's `pseries` machine boots as its firmware
//! (`-bios`): the entry trampoline and interrupt vectors ([`boot`]), the hypervisor console
//! with `print!`/`println!` and input ([`console`]), the heap for `alloc` ([`heap`]), RTAS
//! ([`rtas`]), what the device tree says ([`dt`]), secondary CPUs started through RTAS with a
//! per-CPU job mailbox (`smp`, issue 20), and the symbols a freestanding binary must
//! provide (`memcpy` & co., `rust_eh_personality`, `_Unwind_Resume`, the panic handler).
//!
//! A binary links with this crate's `link.ld` (its `build.rs` passes `-T…/baremetal/link.ld`),
//! names its main function with [`entry!`], and in it typically reads the device tree
//! ([`dt::read`]), applies it ([`dt::Info::apply`]: console vterm, RTAS tokens), starts the
//! heap (`heap::init`) and ends with `rtas::power_off` or `rtas::terminate`. The README shows a
//! whole binary.
//!
//! Everything that touches the machine exists for `powerpc64` only (the entry, vectors, heap,
//! `mem*` symbols and panic handler not in unit-test builds either, which have `std`); the
//! parsers (device tree, console input, RTAS argument blocks) also build on the host, where
//! their unit tests run (`cargo test --target x86_64-unknown-linux-gnu`).
#![cfg_attr(not(test), no_std)]

#[cfg(all(target_arch = "powerpc64", not(test)))]
extern crate alloc;

#[cfg(all(target_arch = "powerpc64", not(test)))]
pub mod boot;
pub mod console;
pub mod dt;
mod error;
#[cfg(all(target_arch = "powerpc64", not(test)))]
pub mod heap;
#[cfg(any(target_arch = "powerpc64", test))]
mod mem;
#[cfg(all(target_arch = "powerpc64", feature = "panic-handler", not(test)))]
mod panic;
pub mod rtas;
#[cfg(all(target_arch = "powerpc64", not(test)))]
pub mod smp;

pub use error::Error;

/// Defines the binary's entry: `l1_entry(fdt: usize) -> !`, which [`boot`]'s code calls once,
/// in 64-bit little-endian real mode with a stack and `.bss` zeroed, and which calls `$main`
/// (a `fn(usize) -> !`) with the device tree address QEMU passed in r3, through
/// `boot::enter` (little-endian interrupts first).
///
/// Use it exactly once, in the binary; without it the link fails with
/// `undefined symbol: l1_entry`.
///
/// ```ignore
/// // Builds for powerpc64 only (bare metal), so not as a host doc test.
/// papr_baremetal::entry!(l1_main);
///
/// fn l1_main(fdt_addr: usize) -> ! {
///     // … read the tree at `fdt_addr`, do the work, then `papr_baremetal::rtas::power_off()`.
///     loop {}
/// }
/// ```
#[macro_export]
macro_rules! entry {
    ($main:path) => {
        /// The entry `papr-baremetal`'s boot code calls with the device tree address.
        #[unsafe(no_mangle)]
        extern "C" fn l1_entry(fdt: usize) -> ! {
            let main: fn(usize) -> ! = $main;
            $crate::boot::enter(fdt, main)
        }
    };
}
