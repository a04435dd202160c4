//! `cargo xtask conformance [--softl0-only] [--timeout SECS]`: runs every scenario of
//! `papr-scenarios` on QEMU and on the software L0 and diffs the two traces (issue 13).
//!
//! 1. QEMU: builds `examples/pseries-l1` with its `conformance` feature, boots it on a fresh
//!    QEMU pseries (the `caps-*` scenarios need an L0 with no capabilities set yet), and
//!    writes the console (the trace lines among the boot messages) to
//!    `target/conformance/qemu.trace`. A crash, hang (no exit within the timeout) or abort
//!    of that boot fails the command. When `$PAPR_QEMU_TRACE` names a file, that trace is
//!    used instead and QEMU is not booted.
//! 2. The software L0: `papr-conformance run` writes `target/conformance/softl0.trace`.
//! 3. `papr-conformance diff` first checks both traces' identity header
//!    (`H papr-scenarios format=… suite=… scenarios=… l0=…`): a QEMU trace made by another
//!    suite or trace format (stale), on another L0 or with no header (foreign) is refused,
//!    and this command fails saying which, never diffing it. Then it prints per scenario
//!    `same`, a known difference (each tied to its exact trace line in
//!    `papr_scenarios::known::KNOWN`, with its reason) or the first difference, and the
//!    total `N scenarios: S same, K with known differences (L lines), D different`; any
//!    other difference, or a listed one that did not occur, fails the command.
//!
//! `--softl0-only` skips the QEMU boot: it diffs against an existing QEMU trace if there is
//! one, and otherwise checks the software L0 alone, saying `qemu: not run`.

use crate::pseries;
use crate::steps::{cargo, root};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Environment variable naming a QEMU trace to use instead of booting QEMU.
pub const QEMU_TRACE_ENV: &str = "PAPR_QEMU_TRACE";

/// Deadline for the QEMU boot; the whole suite takes well under a second there.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Where the QEMU trace is looked for.
pub fn qemu_trace_path(env: Option<String>) -> PathBuf {
    match env {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => root().join("target/conformance/qemu.trace"),
    }
}

/// Where the QEMU trace comes from.
#[derive(Debug, PartialEq, Eq)]
pub enum Source {
    /// Boot QEMU and write its trace here.
    Boot(PathBuf),
    /// A trace given by `$PAPR_QEMU_TRACE`.
    Given(PathBuf),
    /// `--softl0-only`: no boot; an existing trace here is diffed, if any.
    Existing(PathBuf),
}

/// Decides the [`Source`] from `--softl0-only` and `$PAPR_QEMU_TRACE`.
pub fn source(softl0_only: bool, env: Option<String>) -> Source {
    let given = env.as_deref().is_some_and(|p| !p.is_empty());
    let path = qemu_trace_path(env);
    match (given, softl0_only) {
        (true, _) => Source::Given(path),
        (false, true) => Source::Existing(path),
        (false, false) => Source::Boot(path),
    }
}

/// What to do once the software-L0 run passed: diff, or stop with a verdict.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Diff against this QEMU trace.
    Diff(PathBuf),
    /// No QEMU trace, and `--softl0-only`: pass, saying so.
    SoftL0Only,
    /// No QEMU trace: fail.
    Missing(PathBuf),
}

/// Decides [`Next`] from the arguments and whether the trace file exists.
pub fn next(softl0_only: bool, qemu: PathBuf, exists: bool) -> Next {
    match (exists, softl0_only) {
        (true, _) => Next::Diff(qemu),
        (false, true) => Next::SoftL0Only,
        (false, false) => Next::Missing(qemu),
    }
}

/// Command-line options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `--softl0-only`.
    pub softl0_only: bool,
    /// `--timeout SECS` for the QEMU boot.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            softl0_only: false,
            timeout: TIMEOUT,
        }
    }
}

/// Parses `[--softl0-only] [--timeout SECS]`.
pub fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--softl0-only" => o.softl0_only = true,
            "--timeout" => {
                let secs = it.next().ok_or("--timeout wants seconds")?;
                o.timeout = Duration::from_secs(
                    secs.parse()
                        .map_err(|_| format!("--timeout wants seconds, got {secs:?}"))?,
                );
            }
            other => {
                return Err(format!(
                    "`cargo xtask conformance [--softl0-only] [--timeout SECS]`: unknown \
                     argument {other:?}"
                ))
            }
        }
    }
    Ok(o)
}

/// `cargo xtask conformance …`.
pub fn run(args: &[String]) -> Result<(), String> {
    let summary = check(&parse(args)?)?;
    println!("conformance: {summary}");
    Ok(())
}

/// Boots QEMU and writes its trace to `path`; returns what the boot said.
fn qemu_side(path: &PathBuf, timeout: Duration) -> Result<String, String> {
    println!("==> conformance: every scenario on QEMU (pseries-l1, feature `conformance`)");
    let (console, summary) = pseries::conformance_boot(timeout)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, console).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("qemu: {summary}; trace: {}", path.display());
    Ok(summary)
}

/// How `papr-conformance` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit status 0.
    Pass,
    /// Exit status 2: a trace refused for its identity (stale or foreign).
    Refused,
    /// Any other status.
    Fail,
}

/// [`Outcome`] from `papr-conformance`'s exit status.
pub fn outcome(code: Option<i32>) -> Outcome {
    match code {
        Some(0) => Outcome::Pass,
        Some(2) => Outcome::Refused,
        _ => Outcome::Fail,
    }
}

fn papr_conformance(args: &[&str]) -> Result<Outcome, String> {
    let st = cargo()
        .args([
            "run",
            "--quiet",
            "-p",
            "papr-scenarios",
            "--bin",
            "papr-conformance",
            "--",
        ])
        .args(args)
        .status()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    Ok(outcome(st.code()))
}

/// The whole comparison; `Ok(summary)` when every scenario is `same` or a listed known
/// difference.
pub fn check(o: &Options) -> Result<String, String> {
    let start = Instant::now();
    let src = source(o.softl0_only, std::env::var(QEMU_TRACE_ENV).ok());
    let qemu = match &src {
        Source::Boot(p) => {
            qemu_side(p, o.timeout)?;
            p.clone()
        }
        Source::Given(p) => {
            println!(
                "qemu: using the trace named by ${QEMU_TRACE_ENV}: {}",
                p.display()
            );
            p.clone()
        }
        Source::Existing(p) => p.clone(),
    };
    let soft = root().join("target/conformance/softl0.trace");
    let soft_s = soft.display().to_string();
    println!("==> conformance: every scenario on the software L0");
    if papr_conformance(&["run", "--out", &soft_s])? != Outcome::Pass {
        return Err("the software-L0 run failed (see above)".into());
    }
    println!("softl0 trace: {soft_s}");
    let exists = qemu.is_file();
    let secs = || format!("{:.1} s", start.elapsed().as_secs_f64());
    match next(o.softl0_only, qemu, exists) {
        Next::SoftL0Only => {
            println!(
                "qemu: not run (--softl0-only, and no QEMU trace at \
                 target/conformance/qemu.trace or ${QEMU_TRACE_ENV})"
            );
            Ok(format!(
                "software L0 only, as asked by --softl0-only ({})",
                secs()
            ))
        }
        Next::Missing(p) => Err(format!("no QEMU trace at {}", p.display())),
        Next::Diff(p) => {
            let q = p.display().to_string();
            println!("==> conformance: diff {q} (reference) against {soft_s}");
            match papr_conformance(&["diff", &q, &soft_s])? {
                Outcome::Pass => Ok(format!(
                    "the software L0 agrees with QEMU on every scenario but the known \
                     differences, each on its listed trace line ({})",
                    secs()
                )),
                Outcome::Refused => Err(refused(&src, &q)),
                Outcome::Fail => Err("the software L0 and QEMU differ (see above)".into()),
            }
        }
    }
}

/// The message for a QEMU trace refused for its identity, with what to do about it.
fn refused(src: &Source, path: &str) -> String {
    let fix = match src {
        Source::Boot(_) => "the trace was just made: the QEMU side and this build disagree",
        Source::Given(_) => "unset $PAPR_QEMU_TRACE or point it at a fresh trace",
        Source::Existing(_) => {
            "run `cargo xtask conformance` without --softl0-only to make it again"
        }
    };
    format!("refused the QEMU trace {path}: stale or foreign (reason above), not diffed; {fix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_qemu_trace_fails_unless_softl0_only() {
        let p = PathBuf::from("/nonexistent/qemu.trace");
        assert_eq!(next(false, p.clone(), false), Next::Missing(p.clone()));
        assert_eq!(next(true, p.clone(), false), Next::SoftL0Only);
        assert_eq!(next(true, p.clone(), true), Next::Diff(p.clone()));
        assert_eq!(next(false, p.clone(), true), Next::Diff(p));
    }

    #[test]
    fn trace_path_from_env_or_default() {
        assert_eq!(
            qemu_trace_path(Some("/tmp/q.trace".into())),
            PathBuf::from("/tmp/q.trace")
        );
        assert!(qemu_trace_path(None).ends_with("target/conformance/qemu.trace"));
        assert!(qemu_trace_path(Some(String::new())).ends_with("target/conformance/qemu.trace"));
    }

    #[test]
    fn qemu_is_booted_unless_a_trace_is_given_or_softl0_only() {
        let q = "/tmp/q.trace".to_string();
        assert!(matches!(source(false, None), Source::Boot(_)));
        assert!(matches!(
            source(false, Some(String::new())),
            Source::Boot(_)
        ));
        assert!(matches!(source(true, None), Source::Existing(_)));
        assert_eq!(
            source(false, Some(q.clone())),
            Source::Given(PathBuf::from(&q))
        );
        assert_eq!(
            source(true, Some(q.clone())),
            Source::Given(PathBuf::from(q))
        );
    }

    #[test]
    fn exit_status_two_is_a_refusal() {
        assert_eq!(outcome(Some(0)), Outcome::Pass);
        assert_eq!(outcome(Some(2)), Outcome::Refused);
        assert_eq!(outcome(Some(1)), Outcome::Fail);
        assert_eq!(outcome(None), Outcome::Fail);
        let m = refused(&Source::Given(PathBuf::from("/q")), "/q");
        assert!(
            m.contains("stale or foreign") && m.contains("PAPR_QEMU_TRACE"),
            "{m}"
        );
        assert!(refused(&Source::Existing(PathBuf::new()), "x").contains("--softl0-only"));
    }

    #[test]
    fn options() {
        assert_eq!(parse(&[]).unwrap(), Options::default());
        let o = parse(&["--softl0-only".into(), "--timeout".into(), "5".into()]).unwrap();
        assert!(o.softl0_only);
        assert_eq!(o.timeout, Duration::from_secs(5));
        assert!(parse(&["--timeout".into()]).is_err());
        assert!(parse(&["--timeout".into(), "x".into()]).is_err());
        assert!(parse(&["--bogus".into()]).is_err());
    }
}
