//! `cargo xtask conformance [--softl0-only]`: runs every scenario of `papr-scenarios` on the
//! software L0 and diffs its trace against QEMU's.
//!
//! The QEMU trace is the console log of the pseries example's conformance run: the file
//! named by `$PAPR_QEMU_TRACE`, else `target/conformance/qemu.trace`. Without one the
//! command says `qemu: not run yet` and fails, unless `--softl0-only` is given.

use crate::steps::{cargo, root};
use std::path::PathBuf;

/// Environment variable naming the QEMU trace file.
pub const QEMU_TRACE_ENV: &str = "PAPR_QEMU_TRACE";

/// Where the QEMU trace is looked for.
pub fn qemu_trace_path(env: Option<String>) -> PathBuf {
    match env {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => root().join("target/conformance/qemu.trace"),
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

pub fn run(args: &[String]) -> Result<(), String> {
    let mut softl0_only = false;
    for a in args {
        match a.as_str() {
            "--softl0-only" => softl0_only = true,
            other => {
                return Err(format!(
                    "`cargo xtask conformance`: unknown argument {other:?}"
                ))
            }
        }
    }
    let soft = root().join("target/conformance/softl0.trace");
    let soft_s = soft.display().to_string();
    println!("==> conformance: every scenario on the software L0");
    let st = cargo()
        .args([
            "run",
            "--quiet",
            "-p",
            "papr-scenarios",
            "--bin",
            "papr-conformance",
            "--",
            "run",
            "--out",
            &soft_s,
        ])
        .status()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if !st.success() {
        return Err(format!("the software-L0 run failed ({st})"));
    }
    println!("softl0 trace: {soft_s}");
    let qemu = qemu_trace_path(std::env::var(QEMU_TRACE_ENV).ok());
    let exists = qemu.is_file();
    match next(softl0_only, qemu, exists) {
        Next::SoftL0Only => {
            println!(
                "qemu: not run yet (no QEMU trace; set ${QEMU_TRACE_ENV} or write \
                 target/conformance/qemu.trace) — software L0 only, as asked by --softl0-only"
            );
            Ok(())
        }
        Next::Missing(p) => {
            println!("qemu: not run yet (no {})", p.display());
            Err(format!(
                "no QEMU trace at {}: run the pseries conformance boot first, or pass \
                 --softl0-only to check the software L0 alone",
                p.display()
            ))
        }
        Next::Diff(p) => {
            let q = p.display().to_string();
            println!("==> conformance: diff against {q}");
            let st = cargo()
                .args([
                    "run",
                    "--quiet",
                    "-p",
                    "papr-scenarios",
                    "--bin",
                    "papr-conformance",
                    "--",
                    "diff",
                    &q,
                    &soft_s,
                ])
                .status()
                .map_err(|e| format!("could not start cargo: {e}"))?;
            if st.success() {
                Ok(())
            } else {
                Err("the software L0 and QEMU differ (see above)".into())
            }
        }
    }
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
}
