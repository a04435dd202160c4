//! `cargo run -p hosted`: an L1 VMM on the software L0 runs a scripted L2, prints its
//! console output and the exit statistics, and exits with the L2's status.
//!
//! `cargo run -p hosted -- STATUS` makes the L2 exit with `STATUS` instead of 0.

use std::process::ExitCode;

fn main() -> Result<ExitCode, Box<dyn std::error::Error>> {
    let status = match std::env::args().nth(1) {
        Some(s) => s.parse::<u64>()?,
        None => 0,
    };
    let script = hosted::script::default_script(hosted::DEV_GPA, status)?;
    let outcome = hosted::run(&script, std::io::stdout())?;
    Ok(ExitCode::from(outcome.exit_code()))
}
