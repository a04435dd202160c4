//! A bare-metal VMM on the papr-nested crates: QEMU `pseries` boots it as `-bios`; it boots an
//! unmodified Linux (or any ppc64 ELF kernel) as its L2 under PAPR Nested APIv2, to power-off.
//!
//! 1. Reads its own device tree: RAM, console, RTAS tokens, the CPU's properties, and in
//!    `/chosen` the kernel QEMU loaded for it (`-kernel` → `qemu,boot-kernel`, placed at
//!    `-M pseries,kernel-addr=0x10000000`), the initrd (`-initrd` → `linux,initrd-*`) and the
//!    command line (`-append` → `bootargs`; its `vmm.*` words are the VMM's, see [`config`]).
//! 2. Negotiates with the L0, creates one guest whose RAM is L1 memory at 0x1000_0000 (so the
//!    image QEMU loaded *is* the L2's GPA 0 onwards: no copy), maps all of it with the largest
//!    leaves, writes the L2's device tree and RTAS blob above the kernel and initrd.
//! 3. Creates `vmm.cpus` vCPUs (default 1): vCPU 0 entered kexec-style (r3 = device tree,
//!    r5 = 0, 64-bit big-endian real mode), the others stopped until the L2's RTAS
//!    `start-cpu`; with as many L1 CPUs as vCPUs (`-smp`), runs vCPU k on L1 CPU k
//!    ([`percpu`], kicked out of a run by L1 IPIs, [`l1ipi`]), else round-robin on the boot
//!    L1 CPU ([`sched`]), with a `papr_platform::Board` as their platform until the L2
//!    powers off, reboots or panics;
//!    prints figures (`VMM-STAT` lines, per vCPU too); deletes the guest; powers the L1 off
//!    (exit 0) after an L2 power-off and terminates it (exit 1) otherwise.
#![no_std]
#![no_main]

extern crate alloc;

mod config;
mod env;
mod irq;
mod l1ipi;
mod l2;
mod percpu;
mod sched;

use papr_baremetal::{boot, dt, heap, println, rtas};

papr_baremetal::entry!(vmm_main);

/// The VMM proper, entered with the device tree address.
fn vmm_main(fdt_addr: usize) -> ! {
    let t0 = boot::timebase();
    let le = boot::little_endian_interrupts();
    // SAFETY: QEMU passes the address of a valid flattened device tree in r3 and never moves it; nothing in this L1 writes to it (the heap and the L0 window end below it, checked in `l2::boot`).
    let info = match unsafe { dt::read(fdt_addr) } {
        Ok(info) => info,
        Err(e) => {
            println!("pseries-vmm: cannot read the device tree at {fdt_addr:#x}: {e}");
            rtas::terminate("bad device tree")
        }
    };
    info.apply();
    println!("pseries-vmm: bare-metal VMM on papr-nestedv2, booting an L2 kernel");
    if let Err(e) = le {
        println!("  little-endian interrupts: {e}");
    }
    let limit = (l2::L0_WINDOW as usize).min(fdt_addr);
    // SAFETY: below L0_WINDOW (0xF00_0000) nothing but this image lives: QEMU loads the kernel and initrd at kernel-addr (0x1000_0000, checked by `l2::boot`), and the device tree is above `limit` or `limit` stops at it.
    let (heap_start, heap_size) = match unsafe { heap::init(limit, usize::MAX) } {
        Ok(h) => h,
        Err(e) => {
            println!("pseries-vmm: heap: {e}");
            rtas::terminate("no heap")
        }
    };
    println!("  heap {heap_start:#x} + {heap_size:#x}");
    let cfg = match config::Config::parse(info.bootargs.unwrap_or("")) {
        Ok(c) => c,
        Err(e) => {
            println!("pseries-vmm: {e}");
            rtas::terminate("bad VMM option")
        }
    };
    match l2::boot(&info, &cfg, fdt_addr as u64, t0) {
        Ok(l2::End::PowerOff) => rtas::power_off(),
        Ok(l2::End::Failure(why)) => rtas::terminate(why),
        Err(e) => {
            println!("pseries-vmm: FAILED: {e}");
            rtas::terminate("VMM error")
        }
    }
}
