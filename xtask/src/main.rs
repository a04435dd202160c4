//! Repository automation for papr-nested (the matklad `cargo xtask` pattern).
//!
//! * `cargo xtask test` — every check CI runs, installing what is missing.
//! * `cargo xtask run`  — boot the bare-metal pseries example on QEMU.
//! * `cargo xtask fuzz [--seconds N]` — every cargo-fuzz target for N seconds each.

mod bench;
mod conformance;
mod fuzz;
mod pseries;
mod qemu;
mod steps;
mod test;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test    run every check (fmt, clippy, tests, docs, no_std builds, ...)
  run     build the pseries L1 example and boot it on QEMU [--timeout SECS]
  fuzz    run every cargo-fuzz target [--seconds N] (default 60 each)
  conformance  run the scenarios on the software L0 and diff with QEMU [--softl0-only]
  bench   run the benches of every crate and print the design-target table
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::run(&args[1..]),
        Some("run") => pseries::run(&args[1..]),
        Some("fuzz") => fuzz::run(&args[1..]),
        Some("conformance") => conformance::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
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
