//! A bare-metal PAPR L1 on QEMU `pseries` (`cap-nested-papr=on`): boots, reads the device tree,
//! then checks the L0's Nested APIv2 answers through `papr-hcall`, runs L2 guests through
//! `papr-nestedv2` (two guests, every exit kind, statistics), and prints one line per check
//! (`ok   NAME: …` / `FAIL NAME: …`, each judging what the L0 or an L2 did; xtask requires
//! every name of its list), `figure NAME: …` lines for what the L1 measured, and a final
//! `RESULT: N ok, M FAIL` line. Powers off (exit 0) when every check passed and
//! terminates with a failure status otherwise. Boot it with `cargo xtask run checks`.
#![no_std]
#![no_main]

extern crate alloc;

mod checks;
#[cfg(feature = "conformance")]
mod conformance;
mod l2checks;
mod l2emu;
mod l2host;
mod l2payload;
mod l2timing;
mod smpcheck;

use alloc::format;
use papr_baremetal::{boot, dt, heap, println, rtas};
use papr_hcall::Capabilities;
use papr_nestedv2::{NestedHost, Quirks, TimebaseClock};

papr_baremetal::entry!(l1_main);

/// The L1 proper, entered from `papr-baremetal`'s boot code with the device tree address.
pub fn l1_main(fdt_addr: usize) -> ! {
    let t0 = boot::timebase();
    // `boot::enter` switched interrupts to little-endian before calling this.
    let le = boot::little_endian_interrupts();
    // SAFETY: QEMU passes the address of a valid flattened device tree in r3 and never moves it; nothing in this L1 writes to it (the heap and the L0 window end below it, checked below). A tree that does not parse gives the defaults.
    let info = unsafe { dt::read(fdt_addr) }.unwrap_or_default();
    info.apply();
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
    // SAFETY: [end of the image, L0 window) is RAM (below the memory size at 0 and below the
    // device tree, from the tree itself) that nothing else uses: this L1 is booted without
    // `-kernel` and `-initrd`, so QEMU loads nothing there. The heap stops below the L0
    // window, which holds no Rust object.
    let (heap, size) =
        match unsafe { heap::init(limit.min(l2host::L0_WINDOW as usize), usize::MAX) } {
            Ok(h) => h,
            Err(e) => {
                println!("  {e}");
                rtas::terminate("no heap")
            }
        };
    let (w0, w1) = match l2host::reserve_window((heap + size) as u64, limit as u64) {
        Ok(w) => w,
        Err(e) => {
            println!("  {e}");
            rtas::terminate("no L0 window")
        }
    };
    println!(
        "  heap {heap:#x} + {size:#x}, L0 window {w0:#x}..{w1:#x} (L2 RAM, tables, run buffers)"
    );
    // The build selects the mode: the checks, or (feature `conformance`) the scenario suite.
    #[cfg(feature = "conformance")]
    let mode: fn(&dt::Info, u64, u64, u64) -> ! = conformance_main;
    #[cfg(not(feature = "conformance"))]
    let mode: fn(&dt::Info, u64, u64, u64) -> ! = checks_main;
    mode(&info, w0, w1, t0)
}

/// Normal mode: the checks, then `RESULT: N ok, M FAIL`; powers off when all passed.
#[cfg_attr(feature = "conformance", allow(dead_code))]
fn checks_main(info: &dt::Info, _window_start: u64, _window_end: u64, t0: u64) -> ! {
    let ticks_per_us = info.ticks_per_us;
    // First the second CPU (started, given a job, stopped again before the timed checks).
    let mut t = checks::Tally::default();
    smpcheck::run(&mut t, info);
    let (ok, fail) = checks(ticks_per_us);
    let (ok, fail) = (ok + t.ok, fail + t.fail);
    let ms = boot::timebase().wrapping_sub(t0) / (ticks_per_us * 1000);
    println!("RESULT: {ok} ok, {fail} FAIL ({ms} ms)");
    if fail == 0 && ok > 0 {
        rtas::power_off()
    } else {
        rtas::terminate("checks failed")
    }
}

/// Conformance mode: the scenario suite instead of the checks; powers off when every
/// scenario ran to its end (differences are judged by xtask, not here).
#[cfg(feature = "conformance")]
fn conformance_main(info: &dt::Info, window_start: u64, window_end: u64, t0: u64) -> ! {
    let ticks_per_us = info.ticks_per_us;
    println!("conformance mode: every papr-scenarios scenario, in order, on this fresh L0");
    let Some((n, events, errors)) = conformance::run(window_start, window_end) else {
        println!("CONFORMANCE: no L1 memory for the driver's pool");
        rtas::terminate("conformance: no memory")
    };
    let ms = boot::timebase().wrapping_sub(t0) / (ticks_per_us * 1000);
    println!("CONFORMANCE: {n} scenarios, {events} events, {errors} driver errors ({ms} ms)");
    rtas::power_off()
}

/// The lifecycle checks, then one [`NestedHost`] for every L2: capabilities are negotiated
/// once, between the checks that must come before and those that come after. Returns
/// (ok, FAIL).
fn checks(ticks_per_us: u64) -> (u32, u32) {
    let mut t = checks::Tally::default();
    let hv = l2host::new_hv(ticks_per_us);
    checks::before_negotiate(&mut t, &hv);
    let host = l2host::pool(128 << 10)
        .ok_or(papr_nestedv2::Error::OutOfPages {
            what: "run buffer pool",
        })
        .and_then(|pages| NestedHost::negotiate(hv, TimebaseClock, pages, Capabilities::MODES))
        // QEMU's L0 saves the L2's DEC with the wrong sign: nestedv2 corrects it per vCPU.
        .map(|h| h.with_quirks(Quirks::QEMU));
    // H_SUCCESS from the L0 for GET_CAPABILITIES and SET_CAPABILITIES (what negotiate sends).
    t.check(
        host.is_ok(),
        "negotiate (NestedHost)",
        format_args!(
            "-> {}",
            host.as_ref().map_or_else(
                |e| format!("{e}"),
                |h| {
                    let n = h.negotiated();
                    format!("H_SUCCESS, set {}, mode {:?}", n.set, n.mode)
                }
            )
        ),
    );
    let Ok(host) = host else {
        return (t.ok, t.fail);
    };
    let n = host.negotiated();
    host.with_hv(|hv| checks::after_negotiate(&mut t, hv, n));
    let (ok, fail) = l2checks::run(&host, ticks_per_us);
    (t.ok + ok, t.fail + fail)
}
