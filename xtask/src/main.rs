//! Repository automation for papr-nested (the matklad `cargo xtask` pattern).
//!
//! * `cargo xtask test` — every check CI runs, installing what is missing.
//! * `cargo xtask run`  — Debian's Linux as the L2 of the bare-metal VMM on QEMU, then the
//!   same kernel booted directly, and figures (`run checks`: the pseries-l1 checks).
//! * `cargo xtask fetch` — fetch (or show the cached) Debian kernel and busybox.
//! * `cargo xtask fuzz [--seconds N]` — every cargo-fuzz target for N seconds each.

mod bench;
mod bios;
mod compare;
mod conformance;
mod cpio;
mod debian;
mod direct;
mod figures;
mod fuzz;
mod initramfs;
mod linux;
mod package;
mod platform;
mod probe;
mod pseries;
mod qemu;
mod steps;
mod test;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test    run every check (fmt, clippy, tests, docs, no_std builds, ...)
  run     boot Debian's Linux as the L2 of examples/pseries-vmm on QEMU, then directly,
          and print figures [--shell] [--kernel VMLINUX] [--initrd CPIO]
          [--append \"CMDLINE\"] [--timeout SECS] [--direct-only]
  run checks   build the pseries L1 example and run its Nested APIv2 checks [--timeout SECS]
  run probe    the hostile test L2 (examples/l2-probe) under the VMM: malformed hcalls/RTAS
  run shell-check   --shell with scripted typing, judged (what cargo xtask test runs)
  fetch   fetch Debian's ppc64el kernel and busybox-static into the cache (apt)
  fuzz    run every cargo-fuzz target [--seconds N] (default 60 each)
  conformance  run the scenarios on the software L0 and diff with QEMU [--softl0-only]
  bench   run the benches of every crate and print the design-target table
  compare our L1 vs Linux 6.12 KVM as the L1 on the same QEMU: the same L2 exit loops,
          alternating boots, one table [--rounds N] [--no-trace] [--timeout SECS]
          [--only ours|linux]
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::run(&args[1..]),
        Some("run") => linux::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("fetch") => debian::fetch().map(drop),
        Some("conformance") => conformance::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("compare") => compare::run(&args[1..]),
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!(
            "unknown command {:?}\n{USAGE}",
            other.unwrap_or("<none>")
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
