//! `cargo xtask fuzz [--seconds N]`: every cargo-fuzz target of every crate, and the short
//! smoke run of `cargo xtask test`.

use crate::steps::{cargo, ensure_miri, nightly_cargo, root, Report};
use std::path::PathBuf;

/// Every (crate folder, fuzz target) in the checkout, from each `*/fuzz/Cargo.toml`.
pub fn targets() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(root()) else {
        return out;
    };
    let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    dirs.sort();
    for dir in dirs {
        let manifest = dir.join("fuzz").join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let mut in_bin = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if in_bin {
                if let Some(name) = line.strip_prefix("name").map(|r| {
                    r.trim_start()
                        .trim_start_matches('=')
                        .trim()
                        .trim_matches('"')
                }) {
                    out.push((dir.clone(), name.to_string()));
                }
            }
        }
    }
    out
}

/// Installs cargo-fuzz (from crates.io) if `cargo fuzz` is missing.
pub fn ensure_cargo_fuzz() -> Result<String, String> {
    let mut probe = cargo();
    probe.args(["fuzz", "--version"]);
    if probe.output().map(|o| o.status.success()).unwrap_or(false) {
        return Ok("cargo-fuzz present".into());
    }
    let st = cargo()
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .map_err(|e| format!("cargo install: {e}"))?;
    if st.success() {
        Ok("installed cargo-fuzz".into())
    } else {
        Err("could not install cargo-fuzz: run `cargo install cargo-fuzz --locked`".into())
    }
}

/// Runs one target for `seconds`; returns libFuzzer's execution count.
fn run_target(dir: &PathBuf, target: &str, seconds: u64) -> Result<String, String> {
    let corpus = dir.join("fuzz").join("corpus").join(target);
    std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
    let seeds = dir.join("fuzz").join("seeds").join(target);
    let out = nightly_cargo()
        .current_dir(dir)
        // One target folder for every fuzz crate: libfuzzer-sys and shared crates build once.
        .args(["fuzz", "run", "--target-dir"])
        .arg(root().join("target").join("fuzz"))
        .arg(target)
        .arg(&corpus)
        // Hand-made seeds (committed): read as a second corpus, never written.
        .args(seeds.exists().then_some(&seeds))
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg("-rss_limit_mb=2048")
        .output()
        .map_err(|e| format!("cargo fuzz: {e}"))?;
    let log = String::from_utf8_lossy(&out.stderr);
    let runs = log
        .lines()
        .rev()
        .find_map(|l| {
            l.strip_prefix("Done ")
                .and_then(|r| r.split_whitespace().next())
        })
        .unwrap_or("?")
        .to_string();
    if out.status.success() {
        Ok(format!("{runs} executions, 0 crashes"))
    } else {
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        for l in tail.iter().rev() {
            eprintln!("{l}");
        }
        Err(format!(
            "{target} failed after {runs} executions ({})",
            out.status
        ))
    }
}

/// Runs every target for `seconds` each, as steps of `r`.
pub fn all(r: &mut Report, seconds: u64) {
    r.step("setup: nightly toolchain", ensure_miri);
    if !r.step("setup: cargo-fuzz", ensure_cargo_fuzz) {
        return;
    }
    let targets = targets();
    if targets.is_empty() {
        r.step("fuzz targets", || Err("no fuzz targets found".into()));
    }
    for (dir, target) in targets {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        r.step(&format!("fuzz {name}/{target} ({seconds} s)"), || {
            run_target(&dir, &target, seconds)
        });
    }
}

/// `cargo xtask fuzz [--seconds N]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let mut seconds = 60;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds needs a whole number")?;
            }
            other => {
                return Err(format!(
                    "unknown argument {other:?} (usage: cargo xtask fuzz [--seconds N])"
                ))
            }
        }
    }
    let mut r = Report::default();
    all(&mut r, seconds);
    r.finish()
}

/// The fuzz smoke of `cargo xtask test`: every target, ≤ 30 s of fuzzing in total.
pub fn smoke(r: &mut Report) {
    let n = targets().len().max(1) as u64;
    all(r, (30 / n).max(1));
}
