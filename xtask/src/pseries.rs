//! `cargo xtask run checks`: build `examples/pseries-l1`, boot it on QEMU pseries, judge the
//! result.
//!
//! The L1 prints one line per check (`ok   NAME: …` / `FAIL NAME: …`), `figure NAME: …` lines
//! for what it measured (not checks), and ends with `RESULT: N ok, M FAIL`; it powers off
//! through RTAS (QEMU exits 0) when all passed, and otherwise calls RTAS `ibm,os-term` (QEMU
//! exits 1 with `-action panic=exit-failure`). A boot passes only when it printed each name
//! of [`CHECKS`] exactly once, no other check, and its RESULT line counted exactly those.
//! The boot has [`SMP`] CPU threads: the L1 starts the second one through RTAS.

use crate::bios::{self, Firmware};
use crate::qemu;
use crate::steps::{ensure_target, Report, PPC64LE};
use std::path::PathBuf;
use std::time::Duration;

/// Default deadline for one boot; a healthy run takes well under a second.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What a build of the example does once booted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The Nested APIv2 checks (`RESULT: N ok, M FAIL`).
    Checks,
    /// Cargo feature `conformance`: every `papr-scenarios` scenario, trace lines on the console.
    Conformance,
}

impl Mode {
    /// The build: the example, its features and the flat image's file name (both builds
    /// share the target folder).
    fn firmware(self) -> Firmware<'static> {
        match self {
            Mode::Checks => Firmware {
                example: EXAMPLE,
                features: &[],
                image: "pseries-l1.bin",
            },
            Mode::Conformance => Firmware {
                example: EXAMPLE,
                features: &["conformance"],
                image: "pseries-l1-conformance.bin",
            },
        }
    }
}

/// The example's folder under `examples/` (also its package and binary name).
const EXAMPLE: &str = "pseries-l1";

/// Builds the example (release) and writes the flat `-bios` image; returns its path.
pub fn build() -> Result<PathBuf, String> {
    build_mode(Mode::Checks)
}

/// Builds the example (release) in `mode` and writes its flat `-bios` image; returns its path.
pub fn build_mode(mode: Mode) -> Result<PathBuf, String> {
    bios::build(&mode.firmware())
}

/// Every check the L1 prints (`ok   NAME: …` or `FAIL NAME: …`), in the order it prints them:
/// the second CPU of issue 20 (started through RTAS, given a job, stopped), the lifecycle
/// checks of issue 9, then the L2 guests of issue 10 (two guests, every exit
/// kind, isolation, MMU on, timers, both deletes). Each judges something QEMU or an L2 did;
/// what the L1 measured itself is printed on `figure …` lines, which are not checks.
/// A boot must print each name exactly once and nothing else, and its RESULT line must count
/// exactly these; otherwise it fails, naming what is missing or extra.
pub const CHECKS: &[&str] = &[
    "L1 second CPU",
    "GET_CAPABILITIES",
    "CREATE before SET_CAPABILITIES",
    "SET_CAPABILITIES(0)",
    "negotiate (NestedHost)",
    "SET_CAPABILITIES again",
    "CREATE",
    "CREATE_VCPU(vCPU 0)",
    "CREATE_VCPU(vCPU 1)",
    "CREATE_VCPU(vCPU 1) again",
    "CREATE_VCPU(vCPU 0) again",
    "GET RUN_OUTPUT_MIN_SIZE",
    "GET LOGICAL_PVR (default)",
    "SET LOGICAL_PVR",
    "GET LOGICAL_PVR read back",
    "RUN_VCPU(flags=external interrupt)",
    "RUN_VCPU before run buffers",
    "DELETE",
    "DELETE again",
    "SET_STATE on the deleted guest",
    "L2 guest A",
    "L2 guest B",
    "L2 hcall console",
    "L2 MMIO",
    "L2 demand paging",
    "L2 HISI",
    "L2 HEAI",
    "L2 program interrupt injected",
    "L2 two vCPUs",
    "L2 isolation B to A",
    "L2 isolation A to B",
    "L2 MMU on",
    "L2 timer, DEC in the L0",
    "L2 timer exits",
    "L2 delete one of two",
    "L2 HDEC",
    "L2 steady state",
    "L2 delete guest A",
];

/// The names of the check lines in `console`, in order: the text after `ok   ` or `FAIL `
/// up to the first `": "`.
fn printed_checks(console: &str) -> Vec<&str> {
    console
        .lines()
        .filter_map(|l| l.strip_prefix("ok   ").or_else(|| l.strip_prefix("FAIL ")))
        .map(|rest| rest.split_once(": ").map_or(rest, |(name, _)| name))
        .collect()
}

/// What is wrong with the checks a boot printed, against [`CHECKS`]: `None` when it printed
/// each exactly once, nothing else, and its RESULT line counted `counted` = all of them.
fn roster(console: &str, counted: u32) -> Option<Verdict> {
    let printed = printed_checks(console);
    let missing: Vec<&'static str> = CHECKS
        .iter()
        .copied()
        .filter(|name| !printed.contains(name))
        .collect();
    let mut extra: Vec<String> = Vec::new();
    for (i, name) in printed.iter().enumerate() {
        let again = printed.get(..i).is_some_and(|before| before.contains(name));
        if !CHECKS.contains(name) {
            extra.push(format!("{name:?}"));
        } else if again {
            extra.push(format!("{name:?} (again)"));
        }
    }
    let want = CHECKS.len();
    let total_ok = usize::try_from(counted).is_ok_and(|c| c == want) && printed.len() == want;
    let wrong = !missing.is_empty() || !extra.is_empty() || !total_ok;
    wrong.then_some(Verdict::Roster {
        missing,
        extra,
        printed: printed.len(),
        counted,
    })
}

/// How a boot ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every check printed `ok`, RESULT says 0 FAIL, QEMU exited 0 (RTAS power-off).
    AllOk(u32),
    /// The L1 ran to its RESULT line with failures.
    Failed { ok: u32, fail: u32 },
    /// Every printed check passed, but the checks printed are not exactly [`CHECKS`].
    Roster {
        /// Checks of [`CHECKS`] with no line.
        missing: Vec<&'static str>,
        /// Check lines not in [`CHECKS`], or printed again.
        extra: Vec<String>,
        /// Check lines printed.
        printed: usize,
        /// Checks the RESULT line counted.
        counted: u32,
    },
    /// The L1 panicked or took an unexpected interrupt (message line).
    Crashed(String),
    /// No exit before the deadline.
    Hang,
    /// QEMU itself died or exited in a way the L1 never asks for.
    Abort(String),
}

fn result_line(console: &str) -> Option<(u32, u32)> {
    let line = console
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("RESULT: "))?;
    let mut nums = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u32>().ok());
    Some((nums.next()??, nums.next()??))
}

/// Judges a finished boot from QEMU's exit and the console.
pub fn verdict(boot: &qemu::Boot) -> Verdict {
    let Some(status) = boot.status else {
        return Verdict::Hang;
    };
    let fails = boot
        .console
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .count() as u32;
    let crash = boot
        .console
        .lines()
        .find(|l| l.starts_with("PANIC") || l.starts_with("FATAL"))
        .map(str::to_string);
    let result = result_line(&boot.console);
    match (status.code(), result, crash) {
        (_, _, Some(line)) if status.code() == Some(1) => Verdict::Crashed(line),
        (Some(0), Some((ok, 0)), None) if fails == 0 && ok > 0 => {
            roster(&boot.console, ok).unwrap_or(Verdict::AllOk(ok))
        }
        (Some(0 | 1), Some((ok, fail)), None) => Verdict::Failed {
            ok,
            fail: fail.max(fails).max(1),
        },
        (Some(0), None, _) => Verdict::Abort(
            "QEMU exited 0 but the L1 printed no RESULT line: it powered off or reset early".into(),
        ),
        (Some(code), _, _) => Verdict::Abort(format!(
            "QEMU exited with status {code}, which the L1 never asks for \
             (1 without a RESULT line: QEMU could not start); QEMU's last words: {:?}",
            boot.stderr.lines().last().unwrap_or("")
        )),
        (None, _, _) => Verdict::Abort(signal_text(status)),
    }
}

#[cfg(unix)]
fn signal_text(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    let sig = status.signal().unwrap_or(0);
    let name = match sig {
        6 => "SIGABRT: an assertion in QEMU failed",
        8 => "SIGFPE: e.g. a guest lookup after H_GUEST_DELETE(delete-all)",
        11 => "SIGSEGV",
        9 => "SIGKILL from outside",
        _ => "a signal",
    };
    format!(
        "QEMU was killed by signal {sig} ({name}); see `Requests that kill the whole QEMU \
         process` in qemu-pseries.md"
    )
}

#[cfg(not(unix))]
fn signal_text(status: std::process::ExitStatus) -> String {
    format!("QEMU ended abnormally ({status})")
}

/// CPU threads of the checks boot: the L1 starts the second through RTAS (check
/// "L1 second CPU", issue 20).
pub const SMP: u32 = 2;

/// The QEMU command of the checks boot: [`qemu::command`] with [`SMP`] CPUs (QEMU merges
/// repeated `-smp` options, the last value wins).
pub fn command(image: &std::path::Path) -> std::process::Command {
    let mut c = qemu::command(image);
    c.args(["-smp", &SMP.to_string()]);
    c
}

/// Ensures target and QEMU, builds, boots with `timeout`, prints a report; `Ok(summary)` only
/// when every check passed.
pub fn build_and_boot(timeout: Duration) -> Result<String, String> {
    ensure_target(PPC64LE)?;
    println!("{}", qemu::ensure()?);
    let image = build()?;
    let boot = qemu::boot(command(&image), timeout)?;
    let first = boot
        .first_output
        .map_or("none".to_string(), |d| format!("{:.2} s", d.as_secs_f64()));
    let timing = format!(
        "first output after {first}, whole run {:.2} s",
        boot.elapsed.as_secs_f64()
    );
    println!("\n{timing}");
    match verdict(&boot) {
        Verdict::AllOk(n) => Ok(format!("all {n} checks ok; {timing}")),
        Verdict::Failed { ok, fail } => Err(format!(
            "{fail} check(s) FAILED ({ok} ok): see the FAIL lines above; {timing}"
        )),
        Verdict::Roster {
            missing,
            extra,
            printed,
            counted,
        } => Err(format!(
            "the L1 passed every check it printed, but not the {} checks of \
             xtask/src/pseries.rs CHECKS: missing {missing:?}, extra [{}], {printed} check \
             lines printed, {counted} counted by its RESULT line",
            CHECKS.len(),
            extra.join(", ")
        )),
        Verdict::Crashed(line) => Err(format!("the L1 crashed: {line}")),
        Verdict::Hang => Err(format!(
            "hang: no exit within {} s (last console line: {:?}); QEMU was killed",
            timeout.as_secs(),
            boot.console.lines().last().unwrap_or("")
        )),
        Verdict::Abort(why) => Err(why),
    }
}

/// How a conformance boot ended.
#[derive(Debug, PartialEq, Eq)]
pub enum ConformanceVerdict {
    /// QEMU exited 0 after the L1's closing `CONFORMANCE: N scenarios, …` line.
    Done {
        /// Scenarios the L1 ran.
        scenarios: u32,
        /// Trace events it printed.
        events: u32,
    },
    /// The L1 panicked or took an unexpected interrupt (message line).
    Crashed(String),
    /// No exit before the deadline (e.g. an L2 that spins with no HDEC exit).
    Hang,
    /// QEMU died, or exited without the closing line.
    Abort(String),
}

/// The L1's closing line: (scenarios, events).
fn conformance_line(console: &str) -> Option<(u32, u32)> {
    let line = console
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("CONFORMANCE: "))?;
    let mut nums = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<u32>().ok());
    Some((nums.next()??, nums.next()??))
}

/// Judges a finished conformance boot from QEMU's exit and the console.
pub fn conformance_verdict(boot: &qemu::Boot) -> ConformanceVerdict {
    let Some(status) = boot.status else {
        return ConformanceVerdict::Hang;
    };
    let crash = boot
        .console
        .lines()
        .find(|l| l.starts_with("PANIC") || l.starts_with("FATAL"))
        .map(str::to_string);
    match (status.code(), conformance_line(&boot.console), crash) {
        (Some(1), _, Some(line)) => ConformanceVerdict::Crashed(line),
        (Some(0), Some((scenarios, events)), None) => {
            ConformanceVerdict::Done { scenarios, events }
        }
        (Some(0), None, _) => ConformanceVerdict::Abort(
            "QEMU exited 0 but the L1 printed no CONFORMANCE line: it powered off or reset \
             early"
                .into(),
        ),
        (Some(code), _, _) => ConformanceVerdict::Abort(format!(
            "QEMU exited with status {code} before the end of the suite; QEMU's last words: \
             {:?}; last console line: {:?}",
            boot.stderr.lines().last().unwrap_or(""),
            boot.console.lines().last().unwrap_or("")
        )),
        (None, _, _) => ConformanceVerdict::Abort(signal_text(status)),
    }
}

/// Builds the conformance mode, boots it on a fresh QEMU with `timeout`, and returns its
/// console (trace lines among boot messages) once the whole suite ran; any other end is an
/// error naming it (the console is still echoed live).
pub fn conformance_boot(timeout: Duration) -> Result<(String, String), String> {
    ensure_target(PPC64LE)?;
    println!("{}", qemu::ensure()?);
    let image = build_mode(Mode::Conformance)?;
    let boot = qemu::boot_quiet(qemu::command(&image), timeout)?;
    let timing = format!(
        "QEMU ran {:.2} s (first output after {})",
        boot.elapsed.as_secs_f64(),
        boot.first_output
            .map_or("none".to_string(), |d| format!("{:.2} s", d.as_secs_f64()))
    );
    let last = boot.console.lines().last().unwrap_or("").to_string();
    match conformance_verdict(&boot) {
        ConformanceVerdict::Done { scenarios, events } => Ok((
            boot.console,
            format!("{scenarios} scenarios, {events} events; {timing}"),
        )),
        ConformanceVerdict::Crashed(line) => Err(format!(
            "the conformance L1 crashed: {line} (last trace line before it: {:?})",
            last_trace_line(&boot.console)
        )),
        ConformanceVerdict::Hang => Err(format!(
            "hang: QEMU did not exit within {} s (last console line: {last:?}); QEMU was killed",
            timeout.as_secs()
        )),
        ConformanceVerdict::Abort(why) => Err(why),
    }
}

fn last_trace_line(console: &str) -> &str {
    console
        .lines()
        .rev()
        .find(|l| l.starts_with("T "))
        .unwrap_or("")
}

/// `cargo xtask run checks [--timeout SECS]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let timeout = match args {
        [] => TIMEOUT,
        [flag, secs] if flag == "--timeout" => Duration::from_secs(
            secs.parse()
                .map_err(|_| format!("--timeout wants seconds, got {secs:?}"))?,
        ),
        _ => {
            return Err(format!(
                "usage: cargo xtask run checks [--timeout SECS] (got {args:?})"
            ))
        }
    };
    let summary = build_and_boot(timeout)?;
    println!("pseries-l1: {summary}");
    Ok(())
}

/// The `cargo xtask test` steps for the example: fmt and clippy (it is not a workspace
/// member), then the same boot as `run checks`, failing on anything but all-ok.
pub fn test_steps(r: &mut Report) -> bool {
    let lint = bios::lint_steps(r, EXAMPLE, &[&[], &["conformance"]]);
    let checks = r.step("pseries-l1 on QEMU (Nested APIv2 checks)", || {
        build_and_boot(TIMEOUT)
    });
    let conformance = r.step("conformance: software L0 vs QEMU (issue 13)", || {
        crate::conformance::check(&crate::conformance::Options::default())
    });
    lint && checks && conformance
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    fn boot(code: Option<i32>, console: &str) -> qemu::Boot {
        qemu::Boot {
            status: code.map(|c| ExitStatus::from_raw(c << 8)),
            console: console.into(),
            stderr: String::new(),
            first_output: None,
            elapsed: Duration::ZERO,
            timeline: Vec::new(),
        }
    }

    /// A console with a line for each of [`CHECKS`] (and a figure line), then `tail`.
    fn all_checks(tail: &str) -> String {
        let mut s: String = CHECKS.iter().map(|n| format!("ok   {n}: x\n")).collect();
        s.push_str("figure L2 steady state cost: 35.6 % (design target < 1 %)\n");
        s.push_str(tail);
        s
    }

    /// The RESULT line for `n` checks, all ok.
    fn result(n: usize) -> String {
        format!("RESULT: {n} ok, 0 FAIL (3 ms)\n")
    }

    #[test]
    fn verdicts() {
        let n = CHECKS.len();
        let ok = &all_checks(&result(n));
        assert_eq!(verdict(&boot(Some(0), ok)), Verdict::AllOk(n as u32));
        let bad = "ok   a: x\nFAIL b: y\nRESULT: 1 ok, 1 FAIL (3 ms)\n";
        assert_eq!(
            verdict(&boot(Some(1), bad)),
            Verdict::Failed { ok: 1, fail: 1 }
        );
        assert_eq!(verdict(&boot(None, ok)), Verdict::Hang);
        assert!(matches!(
            verdict(&boot(Some(1), "PANIC: x\n")),
            Verdict::Crashed(_)
        ));
        assert!(matches!(
            verdict(&boot(Some(0), "ok a\n")),
            Verdict::Abort(_)
        ));
        assert!(matches!(verdict(&boot(Some(136), ok)), Verdict::Abort(_)));
        let sig = qemu::Boot {
            status: Some(ExitStatus::from_raw(8)),
            ..boot(None, ok)
        };
        assert!(matches!(verdict(&sig), Verdict::Abort(_)));
    }

    #[test]
    fn the_checks_boot_has_two_cpus() {
        let c = command(std::path::Path::new("l1.bin"));
        let args: Vec<String> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        // The last -smp wins in QEMU.
        let last = args
            .iter()
            .rposition(|a| a == "-smp")
            .map(|i| args[i + 1].as_str());
        assert_eq!(last, Some("2"));
        assert!(CHECKS.contains(&"L1 second CPU"));
    }

    #[test]
    fn names_are_unique_and_parse_back() {
        for (i, name) in CHECKS.iter().enumerate() {
            assert!(!name.contains(": "), "{name:?} holds the separator");
            assert!(!CHECKS[..i].contains(name), "{name:?} twice");
            let line = format!("ok   {name}: -> H_SUCCESS: with a colon\n");
            assert_eq!(printed_checks(&line), [*name]);
        }
        assert_eq!(
            printed_checks("FAIL DELETE\nfigure DELETE: 3\n"),
            ["DELETE"]
        );
    }

    #[test]
    fn a_missing_check_fails_naming_it() {
        let n = CHECKS.len();
        let console = all_checks(&result(n)).replace("ok   L2 HISI: x\n", "");
        let want = Verdict::Roster {
            missing: vec!["L2 HISI"],
            extra: vec![],
            printed: n - 1,
            counted: n as u32,
        };
        assert_eq!(verdict(&boot(Some(0), &console)), want);
        let short = format!("ok   {}: x\n{}", CHECKS[0], result(1));
        let Verdict::Roster { missing, .. } = verdict(&boot(Some(0), &short)) else {
            panic!("a boot with one check passed");
        };
        assert_eq!(missing, CHECKS[1..]);
    }

    #[test]
    fn an_extra_or_repeated_check_fails_naming_it() {
        let n = CHECKS.len();
        let extra = all_checks(&format!("ok   L2 new thing: x\n{}", result(n + 1)));
        let Verdict::Roster { missing, extra, .. } = verdict(&boot(Some(0), &extra)) else {
            panic!("an extra check passed");
        };
        assert!(missing.is_empty());
        assert_eq!(extra, ["\"L2 new thing\""]);
        let again = all_checks(&format!("ok   CREATE: y\n{}", result(n + 1)));
        let Verdict::Roster { extra, .. } = verdict(&boot(Some(0), &again)) else {
            panic!("a repeated check passed");
        };
        assert_eq!(extra, ["\"CREATE\" (again)"]);
    }

    #[test]
    fn the_result_line_must_count_every_check() {
        let n = CHECKS.len();
        for counted in [n - 1, n + 1] {
            let console = all_checks(&result(counted));
            assert_eq!(
                verdict(&boot(Some(0), &console)),
                Verdict::Roster {
                    missing: vec![],
                    extra: vec![],
                    printed: n,
                    counted: counted as u32,
                }
            );
        }
    }

    #[test]
    fn conformance_verdicts() {
        let done = "T a 0 hcall op=X rc=0\nCONFORMANCE: 51 scenarios, 711 events, 0 driver \
                    errors (175 ms)\n";
        assert_eq!(
            conformance_verdict(&boot(Some(0), done)),
            ConformanceVerdict::Done {
                scenarios: 51,
                events: 711
            }
        );
        assert_eq!(
            conformance_verdict(&boot(None, done)),
            ConformanceVerdict::Hang
        );
        assert!(matches!(
            conformance_verdict(&boot(Some(0), "T a 0 hcall op=X rc=0\n")),
            ConformanceVerdict::Abort(_)
        ));
        assert!(matches!(
            conformance_verdict(&boot(Some(1), "T a 0 x\nPANIC at x: y\n")),
            ConformanceVerdict::Crashed(_)
        ));
        assert!(matches!(
            conformance_verdict(&boot(Some(136), "T a 0 x\n")),
            ConformanceVerdict::Abort(_)
        ));
        assert_eq!(last_trace_line("T a 0 x\nT a 1 y\nPANIC\n"), "T a 1 y");
    }
}
