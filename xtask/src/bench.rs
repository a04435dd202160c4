//! `cargo xtask bench`: runs the benches of every library crate that has some and prints
//! one table of the design targets (`design.md`, "Targets"), each measured, with its
//! target and pass/miss.
//!
//! Each bench prints its own summary lines besides criterion's; this module finds them:
//! * `gsb`: `ratio build/memcpy = X`, `ratio parse/memcpy = X`,
//!   `heap allocations during build+parse: N`;
//! * `vcpu-state`: `time : X ns   ratio to the 100 ns target = …`, `allocations: N`,
//!   `hcalls besides RUN: N`;
//! * `mmu-radix`: `radix/summary: 4K map+unmap X M ops/s …` and
//!   `radix/summary: 1 GiB as 4K leaves (…): N table pages = K KiB (+64 KiB root) per GiB`;
//! * `nestedv2`: one line per exit kind, `<kind> : X ns … hcalls/exit = H`.
//!
//! A missed target is a "miss" in the table, not a failure; a bench that fails to run or
//! whose output lacks (or garbles) a line it must print fails the command, naming it.

use crate::steps::{cargo, root, Report};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// The crates whose figures the table shows, as (folder, package).
const MEASURED: [(&str, &str); 4] = [
    ("gsb", "papr-gsb"),
    ("vcpu-state", "papr-vcpu-state"),
    ("mmu-radix", "papr-mmu-radix"),
    ("nestedv2", "papr-nestedv2"),
];

/// Design targets.
const RATIO_MIN: f64 = 0.5;
const NS_MAX: f64 = 100.0;
const OPS_MIN: f64 = 10e6;

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
}

impl Row {
    fn new(metric: &str, measured: String, target: &str, pass: Option<bool>) -> Self {
        Row {
            metric: metric.to_string(),
            measured,
            target: target.to_string(),
            verdict: match pass {
                Some(true) => Verdict::Pass,
                Some(false) => Verdict::Miss,
                None => Verdict::Info,
            },
        }
    }

    fn not_measured(metric: &str, why: &str, target: &str) -> Self {
        Row {
            metric: metric.to_string(),
            measured: format!("not measured ({why})"),
            target: target.to_string(),
            verdict: Verdict::NotMeasured,
        }
    }
}

/// The number that starts `s` (after leading blanks): digits, sign, point, exponent.
fn leading_number(s: &str) -> Option<f64> {
    let s = s.trim_start();
    let end = s
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_digit()
                || c == '.'
                || ((c == '-' || c == '+') && (i == 0 || s[..i].ends_with(['e', 'E'])))
                || ((c == 'e' || c == 'E') && i > 0))
        })
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse().ok()
}

/// The number right after the first occurrence of `marker` on the first line holding it
/// (and `also`, if given).
fn figure(out: &str, marker: &str, also: Option<&str>) -> Option<f64> {
    out.lines()
        .filter(|l| also.is_none_or(|a| l.contains(a)))
        .find_map(|l| l.find(marker).map(|i| &l[i + marker.len()..]))
        .and_then(leading_number)
}

fn need(bench: &str, out: &str, marker: &str, also: Option<&str>) -> Result<f64, String> {
    figure(out, marker, also)
        .ok_or_else(|| format!("bench {bench}: no parseable `{marker}` line in its output"))
}

/// Figures of `gsb/benches/gsb.rs`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GsbFigures {
    pub build_ratio: f64,
    pub parse_ratio: f64,
    pub allocs: f64,
}

pub fn parse_gsb(out: &str) -> Result<GsbFigures, String> {
    const B: &str = "gsb (gsb/benches/gsb.rs)";
    Ok(GsbFigures {
        build_ratio: need(B, out, "ratio build/memcpy =", None)?,
        parse_ratio: need(B, out, "ratio parse/memcpy =", None)?,
        allocs: need(B, out, "heap allocations during build+parse:", None)?,
    })
}

/// Figures of `vcpu-state/benches/exit.rs`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VcpuFigures {
    pub ns: f64,
    pub allocs: f64,
    pub extra_hcalls: f64,
}

pub fn parse_vcpu_state(out: &str) -> Result<VcpuFigures, String> {
    const B: &str = "vcpu-state (vcpu-state/benches/exit.rs)";
    Ok(VcpuFigures {
        // criterion's own lines also start with `time:`; ours carries the ratio.
        ns: need(B, out, ":", Some("ratio to the 100 ns target"))?,
        allocs: need(B, out, "allocations:", None)?,
        extra_hcalls: need(B, out, "hcalls besides RUN:", None)?,
    })
}

/// Figures of `mmu-radix/benches/radix.rs`.
#[derive(Debug, Clone, PartialEq)]
pub struct RadixFigures {
    pub map_unmap_mops: f64,
    /// (leaf size, table KiB per GiB mapped, excluding the 64 KiB root).
    pub table_kib_per_gib: Vec<(String, f64)>,
}

pub fn parse_radix(out: &str) -> Result<RadixFigures, String> {
    const B: &str = "mmu-radix (mmu-radix/benches/radix.rs)";
    let map_unmap_mops = need(B, out, "4K map+unmap", Some("radix/summary"))?;
    let mut table_kib_per_gib = Vec::new();
    for line in out
        .lines()
        .filter(|l| l.contains("radix/summary: 1 GiB as "))
    {
        let leaf = line
            .split("1 GiB as ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or("?")
            .to_string();
        let kib = line
            .find("table pages =")
            .and_then(|i| leading_number(&line[i + "table pages =".len()..]))
            .ok_or_else(|| format!("bench {B}: unparseable table memory line {line:?}"))?;
        table_kib_per_gib.push((leaf, kib));
    }
    if table_kib_per_gib.is_empty() {
        return Err(format!(
            "bench {B}: no `radix/summary: 1 GiB as … table pages = … KiB` line in its output"
        ));
    }
    Ok(RadixFigures {
        map_unmap_mops,
        table_kib_per_gib,
    })
}

/// One exit kind of `nestedv2/benches/exit.rs`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExitFigures {
    pub kind: String,
    pub ns: f64,
    pub hcalls: f64,
}

pub fn parse_nestedv2(out: &str) -> Result<Vec<ExitFigures>, String> {
    const B: &str = "nestedv2 (nestedv2/benches/exit.rs)";
    let mut exits = Vec::new();
    for line in out.lines().filter(|l| l.contains("hcalls/exit =")) {
        let bad = || format!("bench {B}: unparseable per-exit line {line:?}");
        let (kind, rest) = line.split_once(':').ok_or_else(bad)?;
        let ns = leading_number(rest).ok_or_else(bad)?;
        let hcalls = figure(line, "hcalls/exit =", None).ok_or_else(bad)?;
        exits.push(ExitFigures {
            kind: kind.trim().to_string(),
            ns,
            hcalls,
        });
    }
    if exits.is_empty() {
        return Err(format!(
            "bench {B}: no `<exit kind> : X ns … hcalls/exit = H` line in its output"
        ));
    }
    Ok(exits)
}

/// The hcall floor of an exit kind (design.md): 2 when the L0 keeps data the exit needs
/// (MMIO store, H_CEDE, user-space MMIO), else 1.
pub fn hcall_target(kind: &str) -> u32 {
    let k = kind.to_ascii_lowercase();
    if k.contains("store") || k.contains("cede") || k.contains("user") {
        2
    } else {
        1
    }
}

fn why(run: &BenchRun) -> &'static str {
    match run {
        BenchRun::Absent => "crate absent",
        BenchRun::NoBench => "crate has no bench",
        BenchRun::Failed(_) => "bench failed",
        BenchRun::Ran(_) => "bench output unparseable",
    }
}

fn ok_ratio(x: f64) -> Option<bool> {
    Some(x >= RATIO_MIN)
}

/// The rows for the runs of the [`MEASURED`] crates (in that order), and the errors
/// (unparseable output) found on the way.
pub fn rows(runs: &[(&str, BenchRun)]) -> (Vec<Row>, Vec<String>) {
    let run = |dir: &str| {
        runs.iter()
            .find(|(d, _)| *d == dir)
            .map_or(BenchRun::Absent, |(_, r)| r.clone())
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();

    // gsb
    let gsb = run("gsb");
    let g = match &gsb {
        BenchRun::Ran(out) => parse_gsb(out).map_err(|e| errors.push(e)).ok(),
        _ => None,
    };
    match g {
        Some(g) => {
            rows.push(Row::new(
                "GSB encode (build) / memcpy bandwidth",
                format!("{:.3}", g.build_ratio),
                ">= 0.5",
                ok_ratio(g.build_ratio),
            ));
            rows.push(Row::new(
                "GSB parse / memcpy bandwidth",
                format!("{:.3}", g.parse_ratio),
                ">= 0.5",
                ok_ratio(g.parse_ratio),
            ));
            rows.push(Row::new(
                "allocations, GSB build+parse of a full vCPU state",
                format!("{}", g.allocs),
                "0",
                Some(g.allocs == 0.0),
            ));
        }
        None => {
            for m in [
                "GSB encode (build) / memcpy bandwidth",
                "GSB parse / memcpy bandwidth",
            ] {
                rows.push(Row::not_measured(m, why(&gsb), ">= 0.5"));
            }
            rows.push(Row::not_measured(
                "allocations, GSB build+parse of a full vCPU state",
                why(&gsb),
                "0",
            ));
        }
    }

    // vcpu-state
    let vs = run("vcpu-state");
    let v = match &vs {
        BenchRun::Ran(out) => parse_vcpu_state(out).map_err(|e| errors.push(e)).ok(),
        _ => None,
    };
    const V_ALLOC: &str = "allocations per exit (vcpu-state cache)";
    const V_NS: &str = "L1 ns per exit, vcpu-state cache work";
    const V_HC: &str = "hcalls per exit besides RUN (vcpu-state)";
    match v {
        Some(v) => {
            rows.push(Row::new(
                V_ALLOC,
                format!("{}", v.allocs),
                "0",
                Some(v.allocs == 0.0),
            ));
            rows.push(Row::new(
                V_NS,
                format!("{:.1} ns", v.ns),
                "< 100 ns",
                Some(v.ns < NS_MAX),
            ));
            rows.push(Row::new(
                V_HC,
                format!("{}", v.extra_hcalls),
                "0",
                Some(v.extra_hcalls == 0.0),
            ));
        }
        None => {
            rows.push(Row::not_measured(V_ALLOC, why(&vs), "0"));
            rows.push(Row::not_measured(V_NS, why(&vs), "< 100 ns"));
            rows.push(Row::not_measured(V_HC, why(&vs), "0"));
        }
    }

    // nestedv2: every kind it prints, plus the design's kinds it does not (yet).
    let nv = run("nestedv2");
    let exits = match &nv {
        BenchRun::Ran(out) => parse_nestedv2(out).map_err(|e| errors.push(e)).ok(),
        _ => None,
    };
    let expected = ["hcall", "hdec", "mmio load", "mmio store"];
    match exits {
        Some(exits) => {
            for e in &exits {
                rows.push(Row::new(
                    &format!("L1 ns per exit, nestedv2 {}", e.kind),
                    format!("{:.1} ns", e.ns),
                    "< 100 ns",
                    Some(e.ns < NS_MAX),
                ));
            }
            for e in &exits {
                let t = hcall_target(&e.kind);
                rows.push(Row::new(
                    &format!("hcalls per exit, nestedv2 {}", e.kind),
                    format!("{:.2}", e.hcalls),
                    &t.to_string(),
                    Some((e.hcalls - f64::from(t)).abs() < 0.005),
                ));
            }
            for k in expected {
                if !exits
                    .iter()
                    .any(|e| e.kind.to_ascii_lowercase().starts_with(k))
                {
                    rows.push(Row::not_measured(
                        &format!("hcalls per exit, nestedv2 {k}"),
                        "the bench prints no such exit",
                        &hcall_target(k).to_string(),
                    ));
                }
            }
        }
        None => {
            for k in expected {
                rows.push(Row::not_measured(
                    &format!("L1 ns per exit, nestedv2 {k}"),
                    why(&nv),
                    "< 100 ns",
                ));
                rows.push(Row::not_measured(
                    &format!("hcalls per exit, nestedv2 {k}"),
                    why(&nv),
                    &hcall_target(k).to_string(),
                ));
            }
        }
    }

    // mmu-radix
    let mr = run("mmu-radix");
    let r = match &mr {
        BenchRun::Ran(out) => parse_radix(out).map_err(|e| errors.push(e)).ok(),
        _ => None,
    };
    const R_OPS: &str = "radix 4K map+unmap";
    match r {
        Some(r) => {
            rows.push(Row::new(
                R_OPS,
                format!("{:.2} M ops/s", r.map_unmap_mops),
                ">= 10 M ops/s",
                Some(r.map_unmap_mops * 1e6 >= OPS_MIN),
            ));
            for (leaf, kib) in &r.table_kib_per_gib {
                rows.push(Row::new(
                    &format!("table memory per GiB, {leaf} leaves"),
                    format!("{kib} KiB (+64 KiB root)"),
                    "-",
                    None,
                ));
            }
        }
        None => {
            rows.push(Row::not_measured(R_OPS, why(&mr), ">= 10 M ops/s"));
            rows.push(Row::not_measured("table memory per GiB", why(&mr), "-"));
        }
    }
    (rows, errors)
}

/// The table as text.
pub fn render(rows: &[Row]) -> String {
    let head = ["metric", "measured", "target", "result"];
    let cells: Vec<[String; 4]> = rows
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
            ]
        })
        .collect();
    let mut w = head.map(str::len);
    for c in &cells {
        for (wi, s) in w.iter_mut().zip(c) {
            *wi = (*wi).max(s.chars().count());
        }
    }
    let line = |c: [&str; 4]| {
        format!(
            "{:<a$} | {:<b$} | {:<c$} | {}\n",
            c[0],
            c[1],
            c[2],
            c[3],
            a = w[0],
            b = w[1],
            c = w[2]
        )
    };
    let mut out = line(head);
    out.push_str(&format!(
        "{}-+-{}-+-{}-+-{}\n",
        "-".repeat(w[0]),
        "-".repeat(w[1]),
        "-".repeat(w[2]),
        "-".repeat(w[3])
    ));
    for c in &cells {
        out.push_str(&line([&c[0], &c[1], &c[2], &c[3]]));
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
    for (dir, _) in MEASURED {
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
        match MEASURED.iter().find(|(d, _)| d == dir) {
            Some((d, _)) => runs.push((d, result)),
            None => println!("xtask bench: {pkg} has benches but no row in the table"),
        }
    }
    let (rows, errors) = rows(&runs);
    let steps = r.finish();
    println!("\nDesign targets (design.md), measured in this run:\n");
    print!("{}", render(&rows));
    let misses = rows.iter().filter(|r| r.verdict == Verdict::Miss).count();
    let passes = rows.iter().filter(|r| r.verdict == Verdict::Pass).count();
    println!("targets: {passes} pass, {misses} miss (a miss is reported, not a failure)");
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

    const GSB: &str = "\
gsb full vCPU state: 163 elements, 2468 bytes
  memcpy :     41.2 ns      59903 MB/s
  build  :    301.5 ns       8186 MB/s  ratio build/memcpy = 0.137
  parse  :     62.0 ns      39806 MB/s  ratio parse/memcpy = 0.665
  heap allocations during build+parse: 0
full_vcpu_state/memcpy  time:   [41.0 ns 41.2 ns 41.4 ns]
";

    const VCPU: &str = "\
vcpu-state per exit (flush 5 dirty + guest-wide check + parse 0xC00 output of 10):
  time       :    38.4 ns   ratio to the 100 ns target = 0.384
  of which papr-gsb parse + walk of the output: 12.3 ns
  allocations: 0 (target 0)
  hcalls besides RUN: 0 (target 0)
exit: flush 5 + parse 0xC00 output
                        time:   [38.1 ns 38.5 ns 38.9 ns]
";

    const RADIX: &str = "\
radix/map_unmap_4k      time:   [1.1 ms 1.2 ms 1.3 ms]
radix/summary: 4K map+unmap 14.27 M ops/s = 1.43 x the 10 M ops/s target
radix/summary: 1 GiB as 4K leaves (262144 leaves): 513 table pages = 2052 KiB (+64 KiB root) per GiB
radix/summary: 1 GiB as 2M leaves (512 leaves): 1 table pages = 4 KiB (+64 KiB root) per GiB
radix/summary: 1 GiB as 1G leaves (1 leaves): 0 table pages = 0 KiB (+64 KiB root) per GiB
";

    const NESTED: &str = "\
nestedv2 L1 software time per exit (Vcpu::run + completion, no-op L0):
  hcall (0xC00)     :    95.2 ns   ratio to the 100 ns target = 0.952   hcalls/exit = 1.00
  hdec (0x980)      :    61.0 ns   ratio to the 100 ns target = 0.610   hcalls/exit = 1.00
  mmio load (0xE00) :   180.5 ns   ratio to the 100 ns target = 1.805   hcalls/exit = 1.00
exit: hcall             time:   [95.0 ns 95.2 ns 95.4 ns]
";

    #[test]
    fn numbers_are_read_up_to_their_end() {
        assert_eq!(leading_number("  0.137\n"), Some(0.137));
        assert_eq!(leading_number(" 95.2 ns"), Some(95.2));
        assert_eq!(leading_number("1e-3x"), Some(0.001));
        assert_eq!(leading_number(" -4 KiB"), Some(-4.0));
        assert_eq!(leading_number(" ns"), None);
        assert_eq!(leading_number(" NaN"), None);
    }

    #[test]
    fn gsb_figures() {
        let g = parse_gsb(GSB).unwrap();
        assert_eq!(
            g,
            GsbFigures {
                build_ratio: 0.137,
                parse_ratio: 0.665,
                allocs: 0.0
            }
        );
        let broken = GSB.replace("ratio parse/memcpy = 0.665", "ratio parse/memcpy = ?");
        let e = parse_gsb(&broken).unwrap_err();
        assert!(
            e.contains("gsb/benches/gsb.rs") && e.contains("ratio parse/memcpy"),
            "{e}"
        );
    }

    #[test]
    fn vcpu_state_figures_skip_criterion_time_lines() {
        let v = parse_vcpu_state(VCPU).unwrap();
        assert_eq!((v.ns, v.allocs, v.extra_hcalls), (38.4, 0.0, 0.0));
        // Without our summary line, criterion's `time:` line must not be taken for it.
        let only_criterion: String = VCPU
            .lines()
            .filter(|l| !l.contains("ratio to the"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(parse_vcpu_state(&only_criterion)
            .unwrap_err()
            .contains("vcpu-state/benches/exit.rs"));
    }

    #[test]
    fn radix_figures() {
        let r = parse_radix(RADIX).unwrap();
        assert_eq!(r.map_unmap_mops, 14.27);
        assert_eq!(
            r.table_kib_per_gib,
            vec![
                ("4K".to_string(), 2052.0),
                ("2M".to_string(), 4.0),
                ("1G".to_string(), 0.0)
            ]
        );
        let garbled = RADIX.replace("= 2052 KiB", "= lots KiB");
        assert!(parse_radix(&garbled).unwrap_err().contains("table memory"));
        assert!(parse_radix("radix/summary: nothing\n").is_err());
    }

    #[test]
    fn nestedv2_figures_per_exit_kind() {
        let e = parse_nestedv2(NESTED).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(
            e[2],
            ExitFigures {
                kind: "mmio load (0xE00)".into(),
                ns: 180.5,
                hcalls: 1.0
            }
        );
        assert!(parse_nestedv2("fn main(){}\n")
            .unwrap_err()
            .contains("nestedv2/benches/exit.rs"));
        assert!(parse_nestedv2("  hcall: fast   hcalls/exit = 1\n").is_err());
    }

    #[test]
    fn hcall_floor_per_kind() {
        assert_eq!(hcall_target("hcall (0xC00)"), 1);
        assert_eq!(hcall_target("mmio load (0xE00)"), 1);
        assert_eq!(hcall_target("MMIO store (0xE00)"), 2);
        assert_eq!(hcall_target("H_CEDE"), 2);
    }

    fn find<'a>(rows: &'a [Row], metric: &str) -> &'a Row {
        rows.iter()
            .find(|r| r.metric == metric)
            .unwrap_or_else(|| panic!("no row {metric:?}"))
    }

    #[test]
    fn table_pass_miss_and_absent() {
        let runs = [
            ("gsb", BenchRun::Ran(GSB.into())),
            ("vcpu-state", BenchRun::Ran(VCPU.into())),
            ("mmu-radix", BenchRun::Ran(RADIX.into())),
            ("nestedv2", BenchRun::Absent),
        ];
        let (rows, errors) = rows(&runs);
        assert!(errors.is_empty(), "{errors:?}");
        let build = find(&rows, "GSB encode (build) / memcpy bandwidth");
        assert_eq!(build.verdict, Verdict::Miss);
        assert_eq!(build.measured, "0.137");
        assert_eq!(
            find(&rows, "GSB parse / memcpy bandwidth").verdict,
            Verdict::Pass
        );
        assert_eq!(find(&rows, "radix 4K map+unmap").verdict, Verdict::Pass);
        let hc = find(&rows, "hcalls per exit, nestedv2 hcall");
        assert_eq!(hc.measured, "not measured (crate absent)");
        assert_eq!(hc.verdict, Verdict::NotMeasured);
        assert_eq!(
            find(&rows, "table memory per GiB, 2M leaves").verdict,
            Verdict::Info
        );
        let text = render(&rows);
        assert!(text.starts_with("metric"));
        assert!(text.contains("| miss\n") && text.contains("not measured (crate absent)"));
    }

    #[test]
    fn table_nestedv2_rows_and_missing_store() {
        let runs = [("nestedv2", BenchRun::Ran(NESTED.into()))];
        let (rows, errors) = rows(&runs);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            find(&rows, "L1 ns per exit, nestedv2 mmio load (0xE00)").verdict,
            Verdict::Miss
        );
        assert_eq!(
            find(&rows, "hcalls per exit, nestedv2 hcall (0xC00)").verdict,
            Verdict::Pass
        );
        let store = find(&rows, "hcalls per exit, nestedv2 mmio store");
        assert_eq!(store.verdict, Verdict::NotMeasured);
        assert_eq!(store.target, "2");
        assert_eq!(
            find(&rows, "GSB parse / memcpy bandwidth").measured,
            "not measured (crate absent)"
        );
    }

    #[test]
    fn unparseable_output_is_an_error_naming_the_bench() {
        let runs = [
            ("gsb", BenchRun::Ran("criterion only\n".into())),
            ("vcpu-state", BenchRun::Failed("exit 101".into())),
            ("mmu-radix", BenchRun::NoBench),
            ("nestedv2", BenchRun::Ran("fn main(){}\n".into())),
        ];
        let (rows, errors) = rows(&runs);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("gsb/benches/gsb.rs"));
        assert!(errors[1].contains("nestedv2/benches/exit.rs"));
        assert_eq!(
            find(&rows, "GSB parse / memcpy bandwidth").measured,
            "not measured (bench output unparseable)"
        );
        assert_eq!(
            find(&rows, "allocations per exit (vcpu-state cache)").measured,
            "not measured (bench failed)"
        );
        assert_eq!(
            find(&rows, "radix 4K map+unmap").measured,
            "not measured (crate has no bench)"
        );
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
    }
}
