//! `cargo xtask bench`: runs the benches of every library crate that has some and prints
//! one table of the design targets (`design.md`, "Targets"), each measured, with its
//! target, pass/miss and the reason for the target.
//!
//! The targets are not here: they are the one table `TARGETS` of
//! `xtask/benches/support/targets.rs`, which the benches include too. Each bench prints
//! every figure it measures as a machine-readable line, `bench-figure: <id> = <value>`;
//! this module reads those lines and judges each value against the row of that id. No
//! label is matched.
//!
//! A missed target is a "miss" in the table (with the figure), not a failure; a bench that
//! fails to run, prints a garbled figure line, a figure the table does not know, or lacks a
//! figure of its rows fails the command, naming it.

#[path = "../benches/support/targets.rs"]
#[allow(dead_code)]
mod targets;

use crate::steps::{cargo, root, Report};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use targets::{Target, TARGETS};

/// The crate folders whose figures the table shows, in table order.
fn measured() -> Vec<&'static str> {
    let mut dirs: Vec<&'static str> = Vec::new();
    for t in TARGETS {
        if !dirs.contains(&t.bench) {
            dirs.push(t.bench);
        }
    }
    dirs
}

/// What became of one crate's benches.
#[derive(Debug, Clone, PartialEq)]
pub enum BenchRun {
    /// The crate is not in this checkout.
    Absent,
    /// The crate has no `benches/*.rs`.
    NoBench,
    /// `cargo bench` ran; its stdout.
    Ran(String),
    /// `cargo bench` failed; why.
    Failed(String),
}

/// The verdict of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Miss,
    /// A figure without a target.
    Info,
    NotMeasured,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub metric: String,
    pub measured: String,
    pub target: String,
    pub verdict: Verdict,
    pub reason: String,
}

/// `value` as shown: whole numbers as such, others with 3 decimals, then the unit.
fn show(value: f64, unit: &str) -> String {
    let v = if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value}")
    } else {
        format!("{value:.3}")
    };
    if unit.is_empty() {
        v
    } else {
        format!("{v} {unit}")
    }
}

impl Row {
    fn judged(t: &Target, value: f64) -> Self {
        Row {
            metric: t.what.to_string(),
            measured: show(value, t.unit),
            target: t.goal.describe(t.unit),
            verdict: match t.goal.met(value) {
                Some(true) => Verdict::Pass,
                Some(false) => Verdict::Miss,
                None => Verdict::Info,
            },
            reason: t.reason.to_string(),
        }
    }

    fn not_measured(t: &Target, why: &str) -> Self {
        Row {
            metric: t.what.to_string(),
            measured: format!("not measured ({why})"),
            target: t.goal.describe(t.unit),
            verdict: Verdict::NotMeasured,
            reason: t.reason.to_string(),
        }
    }
}

/// The `bench-figure:` lines of the output of the bench of crate folder `bench`, as id →
/// value. Errors: a garbled line, an id `TARGETS` lacks or gives to another bench, an id
/// printed twice.
pub fn figures(bench: &str, out: &str) -> Result<BTreeMap<String, f64>, String> {
    let mut found = BTreeMap::new();
    for line in out.lines() {
        match targets::parse_figure_line(line) {
            None => {}
            Some(Err(l)) => return Err(format!("bench {bench}: garbled figure line {l:?}")),
            Some(Ok((id, value))) => {
                let t = targets::target(id)
                    .ok_or_else(|| format!("bench {bench}: figure {id:?} has no row in TARGETS"))?;
                if t.bench != bench {
                    return Err(format!(
                        "bench {bench}: figure {id:?} belongs to the bench of {}",
                        t.bench
                    ));
                }
                if found.insert(id.to_string(), value).is_some() {
                    return Err(format!("bench {bench}: figure {id:?} printed twice"));
                }
            }
        }
    }
    Ok(found)
}

fn why(run: &BenchRun) -> &'static str {
    match run {
        BenchRun::Absent => "crate absent",
        BenchRun::NoBench => "crate has no bench",
        BenchRun::Failed(_) => "bench failed",
        BenchRun::Ran(_) => "bench output unparseable",
    }
}

/// The rows of every [`TARGETS`] entry, in table order, for the runs of the crate folders
/// (a folder without a run is absent), and the errors (unparseable output, a figure
/// missing) found on the way.
pub fn rows(runs: &[(&str, BenchRun)]) -> (Vec<Row>, Vec<String>) {
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for dir in measured() {
        let run = runs
            .iter()
            .find(|(d, _)| *d == dir)
            .map_or(BenchRun::Absent, |(_, r)| r.clone());
        let found = match &run {
            BenchRun::Ran(out) => figures(dir, out).map_err(|e| errors.push(e)).ok(),
            _ => None,
        };
        for t in TARGETS.iter().filter(|t| t.bench == dir) {
            match found.as_ref().map(|f| f.get(t.figure)) {
                Some(Some(&v)) => rows.push(Row::judged(t, v)),
                Some(None) => {
                    errors.push(format!(
                        "bench {dir}: no `bench-figure: {} = …` line in its output",
                        t.figure
                    ));
                    rows.push(Row::not_measured(t, "the bench prints no such figure"));
                }
                None => rows.push(Row::not_measured(t, why(&run))),
            }
        }
    }
    (rows, errors)
}

/// The table as text.
pub fn render(rows: &[Row]) -> String {
    let head = ["metric", "measured", "target", "result", "reason"];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.metric.clone(),
                r.measured.clone(),
                r.target.clone(),
                match r.verdict {
                    Verdict::Pass => "pass",
                    Verdict::Miss => "miss",
                    Verdict::Info => "info",
                    Verdict::NotMeasured => "-",
                }
                .to_string(),
                r.reason.clone(),
            ]
        })
        .collect();
    let mut w = head.map(str::len);
    for c in &cells {
        for (wi, s) in w.iter_mut().zip(c) {
            *wi = (*wi).max(s.chars().count());
        }
    }
    let line = |c: [&str; 5]| {
        format!(
            "{:<a$} | {:<b$} | {:<c$} | {:<d$} | {}\n",
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            a = w[0],
            b = w[1],
            c = w[2],
            d = w[3]
        )
    };
    let mut out = line(head);
    out.push_str(&format!(
        "{}-+-{}-+-{}-+-{}-+-{}\n",
        "-".repeat(w[0]),
        "-".repeat(w[1]),
        "-".repeat(w[2]),
        "-".repeat(w[3]),
        "-".repeat(w[4])
    ));
    for c in &cells {
        out.push_str(&line([&c[0], &c[1], &c[2], &c[3], &c[4]]));
    }
    out
}

/// The package name in `dir/Cargo.toml` (`[package] name = "…"`).
fn package_name(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("Cargo.toml")).ok()?;
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(rest) = line.strip_prefix("name") {
                let v = rest.trim_start();
                if let Some(v) = v.strip_prefix('=') {
                    return Some(v.trim().trim_matches('"').to_string());
                }
            }
        }
    }
    None
}

/// Every library crate folder with `benches/*.rs`, as (folder, package), sorted.
pub fn discover() -> Vec<(String, String)> {
    let Ok(entries) = std::fs::read_dir(root()) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    dirs.sort();
    dirs.into_iter()
        .filter(|d| d.join("src/lib.rs").exists())
        .filter(|d| {
            std::fs::read_dir(d.join("benches")).is_ok_and(|rd| {
                rd.flatten()
                    .any(|e| e.path().extension().is_some_and(|x| x == "rs"))
            })
        })
        .filter_map(|d| {
            let name = d.file_name()?.to_string_lossy().into_owned();
            let pkg = package_name(&d).unwrap_or_else(|| format!("papr-{name}"));
            Some((name, pkg))
        })
        .collect()
}

/// `cargo bench -p pkg --benches`, stdout captured (and echoed), stderr passed through.
fn bench(pkg: &str) -> Result<String, String> {
    let out = cargo()
        .args(["bench", "-p", pkg, "--benches"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start cargo bench: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{stdout}");
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("cargo bench -p {pkg} exited with {}", out.status))
    }
}

/// `cargo xtask bench`.
pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!(
            "`cargo xtask bench` takes no arguments (got {a:?})"
        ));
    }
    let mut r = Report::default();
    let found = discover();
    let mut runs: Vec<(&str, BenchRun)> = Vec::new();
    let measured = measured();
    for &dir in &measured {
        if !root().join(dir).join("src/lib.rs").exists() {
            runs.push((dir, BenchRun::Absent));
        } else if !found.iter().any(|(d, _)| d == dir) {
            runs.push((dir, BenchRun::NoBench));
        }
    }
    for (dir, pkg) in &found {
        let mut result = BenchRun::Failed(String::new());
        r.step(&format!("cargo bench -p {pkg}"), || match bench(pkg) {
            Ok(out) => {
                result = BenchRun::Ran(out);
                Ok(String::new())
            }
            Err(e) => {
                result = BenchRun::Failed(e.clone());
                Err(e)
            }
        });
        match measured.iter().find(|d| **d == dir.as_str()) {
            Some(d) => runs.push((d, result)),
            None => println!("xtask bench: {pkg} has benches but no row in TARGETS"),
        }
    }
    let (rows, errors) = rows(&runs);
    let steps = r.finish();
    println!(
        "\nDesign targets (design.md; the table is xtask/benches/support/targets.rs), \
         measured in this run:\n"
    );
    print!("{}", render(&rows));
    let misses = rows.iter().filter(|r| r.verdict == Verdict::Miss).count();
    let passes = rows.iter().filter(|r| r.verdict == Verdict::Pass).count();
    println!("targets: {passes} pass, {misses} miss (a miss is reported, not a failure)");
    for row in rows.iter().filter(|r| r.verdict == Verdict::Miss) {
        println!(
            "  miss: {}: {} (target {})",
            row.metric, row.measured, row.target
        );
    }
    let mut failures: Vec<String> = errors;
    if let Err(e) = steps {
        failures.push(e);
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use targets::figure_line;

    /// The output of a bench of `dir` that printed every figure of its rows, each = `value`.
    fn output(dir: &str, value: impl Fn(&str) -> f64) -> String {
        let mut out = String::from("criterion noise\nexit: hcall  time:   [95.0 ns 95.2 ns]\n");
        for t in TARGETS.iter().filter(|t| t.bench == dir) {
            out.push_str("  human line\n");
            out.push_str(&figure_line(t.figure, value(t.figure)));
            out.push('\n');
        }
        out
    }

    fn find<'a>(rows: &'a [Row], what: &str) -> &'a Row {
        rows.iter()
            .find(|r| r.metric.contains(what))
            .unwrap_or_else(|| panic!("no row {what:?}"))
    }

    #[test]
    fn the_table_is_well_formed() {
        for (i, t) in TARGETS.iter().enumerate() {
            assert!(t.figure.starts_with(&format!("{}.", t.bench)), "{t:?}");
            assert!(!t.what.is_empty() && !t.reason.is_empty(), "{t:?}");
            assert!(
                TARGETS[..i].iter().all(|u| u.figure != t.figure),
                "{} twice",
                t.figure
            );
        }
        // The design's per-exit hcall floors (design.md Targets).
        for (kind, n) in [
            ("hcall", 1.0),
            ("hdec", 1.0),
            ("mmio_load", 1.0),
            ("mmio_store", 2.0),
        ] {
            let t = targets::target(&format!("nestedv2.{kind}.hcalls_per_exit")).unwrap();
            assert_eq!(t.goal, targets::Goal::Exactly(n), "{kind}");
        }
    }

    #[test]
    fn figure_lines_round_trip_and_garble() {
        for v in [0.0, 1.0, 2.0, 0.137, 1e-9, 12345.678] {
            let line = figure_line("gsb.allocs", v);
            assert_eq!(
                targets::parse_figure_line(&line),
                Some(Ok(("gsb.allocs", v)))
            );
        }
        assert_eq!(targets::parse_figure_line("gsb: 0.5"), None);
        for bad in [
            "bench-figure: gsb.allocs = ?",
            "bench-figure: = 1",
            "bench-figure: x = NaN",
        ] {
            assert_eq!(targets::parse_figure_line(bad), Some(Err(bad)));
        }
    }

    #[test]
    fn goals_judge_and_a_miss_is_never_a_pass() {
        use targets::Goal;
        assert_eq!(Goal::AtLeast(0.25).met(0.25), Some(true));
        assert_eq!(Goal::AtLeast(0.25).met(0.137), Some(false));
        assert_eq!(Goal::AtMost(100.0).met(100.5), Some(false));
        assert_eq!(Goal::Exactly(2.0).met(2.0), Some(true));
        assert_eq!(Goal::Exactly(2.0).met(1.0), Some(false));
        assert_eq!(Goal::Exactly(0.0).met(f64::NAN), Some(false));
        assert_eq!(Goal::AtLeast(1.0).met(f64::NAN), Some(false));
        assert_eq!(Goal::Info.met(5.0), None);
        assert_eq!(Goal::AtLeast(10.0).describe("M ops/s"), ">= 10 M ops/s");
        assert_eq!(Goal::Exactly(0.0).describe(""), "= 0");
    }

    #[test]
    fn rows_judge_each_figure_against_its_target() {
        // Every figure meets its target except the store's hcalls (3, target 2) and GSB build.
        let runs = [
            (
                "gsb",
                BenchRun::Ran(output("gsb", |f| {
                    if f == "gsb.build_vs_memcpy" {
                        0.137
                    } else if f == "gsb.allocs" {
                        0.0
                    } else {
                        0.665
                    }
                })),
            ),
            (
                "nestedv2",
                BenchRun::Ran(output("nestedv2", |f| {
                    if f == "nestedv2.mmio_store.hcalls_per_exit" {
                        3.0
                    } else if f.ends_with("hcalls_per_exit") {
                        1.0
                    } else if f.ends_with("ns_per_exit") {
                        61.0
                    } else {
                        0.0
                    }
                })),
            ),
            ("mmu-radix", BenchRun::Absent),
        ];
        let (rows, errors) = rows(&runs);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(rows.len(), TARGETS.len());
        let build = find(&rows, "GSB build");
        assert_eq!(
            (build.verdict, build.measured.as_str()),
            (Verdict::Miss, "0.137 x memcpy")
        );
        assert_eq!(find(&rows, "GSB parse").verdict, Verdict::Pass);
        let store = find(&rows, "MMIO store exit, hcalls");
        assert_eq!(
            (
                store.verdict,
                store.measured.as_str(),
                store.target.as_str()
            ),
            (Verdict::Miss, "3", "= 2")
        );
        assert!(store.reason.contains("design.md"));
        assert_eq!(find(&rows, "hcall exit, hcalls").verdict, Verdict::Pass);
        assert_eq!(
            find(&rows, "MMIO store exit (0xE00)").verdict,
            Verdict::Info
        );
        let radix = find(&rows, "radix map + unmap");
        assert_eq!(radix.measured, "not measured (crate absent)");
        assert_eq!(radix.verdict, Verdict::NotMeasured);
        assert_eq!(
            find(&rows, "vcpu-state cache work").measured,
            "not measured (crate absent)"
        );
        let text = render(&rows);
        assert!(text.starts_with("metric"));
        assert!(text.contains("| miss ") && text.contains("not measured (crate absent)"));
    }

    #[test]
    fn labels_do_not_matter_only_ids() {
        // A human line that looks like a figure is ignored; the id decides.
        let mut out = output("vcpu-state", |_| 0.0);
        out.push_str("  hcalls besides RUN: 5 (target 0)\n");
        let (rows, errors) = rows(&[("vcpu-state", BenchRun::Ran(out))]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(find(&rows, "hcalls besides RUN").verdict, Verdict::Pass);
    }

    #[test]
    fn unparseable_or_incomplete_output_is_an_error_naming_the_bench() {
        let without_store: String = output("nestedv2", |_| 1.0)
            .lines()
            .filter(|l| !l.contains("mmio_store.hcalls"))
            .map(|l| format!("{l}\n"))
            .collect();
        let runs = [
            ("gsb", BenchRun::Ran("criterion only\n".into())),
            ("vcpu-state", BenchRun::Failed("exit 101".into())),
            ("mmu-radix", BenchRun::NoBench),
            ("nestedv2", BenchRun::Ran(without_store)),
        ];
        let (rows, errors) = rows(&runs);
        // Every gsb figure is missing (one error each), plus the nestedv2 store count.
        let gsb = TARGETS.iter().filter(|t| t.bench == "gsb").count();
        assert!(gsb >= 3);
        assert_eq!(errors.len(), gsb + 1, "{errors:?}");
        assert_eq!(
            errors
                .iter()
                .filter(|e| e.starts_with("bench gsb:"))
                .count(),
            gsb
        );
        assert!(
            errors[gsb].contains("nestedv2.mmio_store.hcalls_per_exit"),
            "{errors:?}"
        );
        assert_eq!(
            find(&rows, "MMIO store exit, hcalls").measured,
            "not measured (the bench prints no such figure)"
        );
        assert_eq!(
            find(&rows, "vcpu-state cache work").measured,
            "not measured (bench failed)"
        );
        assert_eq!(
            find(&rows, "radix map + unmap").measured,
            "not measured (crate has no bench)"
        );
        let garbled = format!(
            "{}bench-figure: gsb.allocs = lots\n",
            output("gsb", |_| 0.0)
        );
        let e = figures("gsb", &garbled).unwrap_err();
        assert!(e.contains("garbled"), "{e}");
        let unknown = figures("gsb", "bench-figure: gsb.speed = 1e0\n").unwrap_err();
        assert!(unknown.contains("no row in TARGETS"), "{unknown}");
        let foreign = figures("gsb", &figure_line("mmu-radix.map_unmap_4k", 12.0)).unwrap_err();
        assert!(
            foreign.contains("belongs to the bench of mmu-radix"),
            "{foreign}"
        );
        let twice = format!("{0}\n{0}\n", figure_line("gsb.allocs", 0.0));
        assert!(figures("gsb", &twice).unwrap_err().contains("twice"));
    }

    #[test]
    fn discovery_finds_the_benches_of_this_checkout() {
        let found = discover();
        assert!(
            found.iter().all(|(_, p)| p.starts_with("papr-")),
            "{found:?}"
        );
        if root().join("gsb/benches/gsb.rs").exists() {
            assert!(found.contains(&("gsb".to_string(), "papr-gsb".to_string())));
        }
        for dir in measured() {
            assert!(
                found.iter().any(|(d, _)| d == dir) || !root().join(dir).exists(),
                "{dir} has rows in TARGETS but no bench"
            );
        }
    }
}
