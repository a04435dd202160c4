//! Our side of `cargo xtask compare`: a bare-metal L1 on `papr-nestedv2` (QEMU `pseries`
//! boots it as `-bios`) that runs the same three L2 loops as `examples/kvm-l1-init` does
//! under Linux KVM, and times them with the timebase.
//!
//! 1. Reads its device tree, puts the heap below [`L0_WINDOW`], and gives the L0 only the
//!    window above it (`IdentityMemory` over `L0_WINDOW..L0_WINDOW + WINDOW_LEN`: tables,
//!    run buffers, the L2's 16 MiB of RAM), like `examples/pseries-vmm`.
//! 2. Negotiates (with `Quirks::QEMU`), creates one guest with 16 MiB of RAM at GPA 0 mapped
//!    up front, one vCPU, real mode, MSR = SF | ME | LE.
//! 3. Runs the loops of [`loops`], prints one `EXIT-BENCH side=ours …` line per sample and
//!    `EXIT-BENCH-END ok`, deletes the guest and powers off.
#![no_std]
#![no_main]

extern crate alloc;

mod loops;
mod timed;

use alloc::format;
use alloc::string::String;
use papr_baremetal::{boot, dt, heap, println, rtas};
use papr_hcall::TimebaseSpin;
use papr_hcall::{Capabilities, IdentityMemory, L1RealAddr, NestedHv, Sc1};
use papr_mmu_radix::PoolAlloc;
use papr_nestedv2::{Guest, GuestRealAddr, NestedHost, Quirks, TimebaseClock};
use timed::TimedHcall;

papr_baremetal::entry!(bench_main);

/// Start of the L1 memory the L0 is given; the heap ends below it.
pub const L0_WINDOW: u64 = 0x0400_0000;
/// Its length: tables, run buffers, then the L2's RAM at a 16 MiB boundary.
const WINDOW_LEN: u64 = 32 << 20;
/// Partition-scoped table pages (a 16 MiB L2 with 2 MiB leaves needs a 64 KiB root and a
/// few directories).
const TABLE_POOL: (u64, u64) = (L0_WINDOW, 256 << 10);
/// Run buffer pages.
const PAGE_POOL: (u64, u64) = (L0_WINDOW + (1 << 20), 64 << 10);
/// The L2's RAM in the L1.
const L2_RAM_L1: u64 = L0_WINDOW + (16 << 20);
/// The L2's RAM: 16 MiB at GPA 0, as the Linux side's memslot.
pub const L2_RAM: u64 = 16 << 20;

/// The backends: `sc 1` with every hcall counted and timed (RUNs apart) by [`TimedHcall`];
/// identity-mapped L1 memory over the window.
pub type Parts = (
    TimedHcall<Sc1>,
    IdentityMemory,
    TimebaseSpin,
    TimebaseClock,
    PoolAlloc<1>,
);

/// The host alone on one page-aligned page: the exit path reads it, and the counters of
/// [`TimedHcall`] in it, on every exit (under QEMU's TCG each page an exit touches costs a
/// TLB refill per exit).
#[repr(align(4096))]
struct OnePage<T>(T);
const _: () = assert!(
    core::mem::size_of::<OnePage<NestedHost<Parts>>>() == 4096,
    "the host no longer fits one page"
);

/// The L1 proper, entered with the device tree address.
fn bench_main(fdt_addr: usize) -> ! {
    // SAFETY: QEMU passes the address of a valid flattened device tree in r3 and never moves it; nothing in this L1 writes to it (the heap and the window end below it, checked in `run`).
    let info = match unsafe { dt::read(fdt_addr) } {
        Ok(info) => info,
        Err(e) => {
            println!("EXIT-BENCH-FAIL device tree at {fdt_addr:#x}: {e}");
            rtas::terminate("bad device tree")
        }
    };
    info.apply();
    println!("exit-bench: our L1 (papr-nestedv2 on bare metal), cargo xtask compare");
    if let Err(e) = boot::little_endian_interrupts() {
        println!("  little-endian interrupts: {e}");
    }
    let limit = (L0_WINDOW as usize).min(fdt_addr);
    // SAFETY: below L0_WINDOW nothing but this image lives (booted without -kernel/-initrd), and the device tree is above `limit` or `limit` stops at it.
    if let Err(e) = unsafe { heap::init(limit, usize::MAX) } {
        println!("EXIT-BENCH-FAIL heap: {e}");
        rtas::terminate("no heap")
    }
    match run(fdt_addr as u64, info.memory_total as u64, info.ticks_per_us) {
        Ok(()) => {
            println!("EXIT-BENCH-END ok");
            rtas::power_off()
        }
        Err(e) => {
            println!("EXIT-BENCH-FAIL {e}");
            rtas::terminate("exit-bench failed")
        }
    }
}

/// Sets up the host, the guest and the vCPU, runs the loops, deletes the guest.
fn run(fdt: u64, memory: u64, ticks_per_us: u64) -> Result<(), String> {
    let end = L0_WINDOW + WINDOW_LEN;
    if end > memory || (L0_WINDOW..end).contains(&fdt) {
        return Err(format!(
            "the L0 window {L0_WINDOW:#x}..{end:#x} is not free RAM (RAM {memory:#x}, device tree {fdt:#x})"
        ));
    }
    // SAFETY: L0_WINDOW..end is L1 RAM (checked above) that no Rust object covers: the heap ends at L0_WINDOW, the image lies below the heap, the device tree lies outside it. The L0 and the L2 reach only the tables, run buffers and L2 RAM placed there; this program touches it only through `IdentityMemory`.
    let mem = unsafe { IdentityMemory::new(L0_WINDOW, end) };
    let hv = NestedHv::new(
        // SAFETY: the `Sc1` goes straight into the `NestedHv` over `mem`, which hands the L0 only addresses inside the window.
        TimedHcall::new(unsafe { Sc1::new() }),
        mem,
        TimebaseSpin { ticks_per_us },
    );
    let pages = PoolAlloc::<1>::new(L1RealAddr(PAGE_POOL.0), PAGE_POOL.1)
        .map_err(|e| format!("run buffer pool: {e}"))?;
    let tables = PoolAlloc::<1>::new(L1RealAddr(TABLE_POOL.0), TABLE_POOL.1)
        .map_err(|e| format!("table pool: {e}"))?;
    let host = OnePage(
        NestedHost::negotiate(hv, TimebaseClock, pages, Capabilities::MODES)
            .map_err(|e| format!("negotiate: {e}"))?
            .with_quirks(Quirks::QEMU),
    );
    let mut guest = Guest::create(&host.0, tables).map_err(|e| format!("create guest: {e}"))?;
    guest
        .add_ram(GuestRealAddr(0), L1RealAddr(L2_RAM_L1), L2_RAM)
        .map_err(|e| format!("add RAM: {e}"))?;
    guest
        .map_all_ram()
        .map_err(|e| format!("map L2 RAM: {e}"))?;
    let r = loops::all(&guest, ticks_per_us);
    let deleted = guest.delete().map_err(|e| format!("H_GUEST_DELETE: {e}"));
    r.and(deleted)
}
