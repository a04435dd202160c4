//! A bare-metal PAPR L1 on QEMU `pseries` (`cap-nested-papr=on`): boots, reads the device tree,
//! then checks the L0's Nested APIv2 answers through `papr-hcall` and prints one line per check
//! and a final `RESULT: N ok, M FAIL` line. Powers off (exit 0) when every check passed and
//! terminates with a failure status otherwise. Boot it with `cargo xtask run`.
#![no_std]
#![no_main]

extern crate alloc;

mod boot;
mod checks;
mod console;
mod dt;
mod heap;
mod l2checks;
mod l2emu;
mod l2payload;
mod l2run;
mod mem;
mod rtas;

use papr_hcall::{generic, Sc1};

/// The L1 proper, entered from [`boot`] with the device tree address.
pub fn l1_main(fdt_addr: usize) -> ! {
    let t0 = boot::timebase();
    // Little-endian interrupts first, so that a fault anywhere below reaches our vectors.
    let le = generic::set_interrupts_little_endian(&Sc1);
    // SAFETY: QEMU passes the address of a valid flattened device tree in r3 and never moves it;
    // nothing in this L1 writes to it (the heap ends below it, see `heap::init`).
    let info = unsafe { dt::read(fdt_addr) };
    if let Some(vterm) = info.vterm {
        console::set_vterm(vterm);
    }
    rtas::set_tokens(info.power_off, info.os_term);
    println!("pseries-l1: bare-metal PAPR L1 (papr-nested)");
    println!(
        "  device tree {fdt_addr:#x}, RAM {:#x}, vterm {:#x}, RTAS power-off {:#x}, os-term {:#x}, timebase {} MHz",
        info.memory,
        info.vterm.unwrap_or(0),
        info.power_off.unwrap_or(0),
        info.os_term.unwrap_or(0),
        info.ticks_per_us
    );
    if let Err(e) = le {
        println!("  little-endian interrupts: {e}");
    }
    let limit = info.memory.min(fdt_addr);
    let (heap, size) = heap::init(limit);
    println!("  heap {heap:#x} + {size:#x}");
    let (ok, fail) = checks::run(info.ticks_per_us);
    let (ok2, fail2) = l2checks::run(info.ticks_per_us);
    let (ok, fail) = (ok + ok2, fail + fail2);
    let ms = boot::timebase().wrapping_sub(t0) / (info.ticks_per_us * 1000);
    println!("RESULT: {ok} ok, {fail} FAIL ({ms} ms)");
    if fail == 0 && ok > 0 {
        rtas::power_off()
    } else {
        rtas::terminate("checks failed")
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    match info.location() {
        Some(at) => println!("\nPANIC at {at}: {}", info.message()),
        None => println!("\nPANIC: {}", info.message()),
    }
    rtas::terminate("panic")
}
