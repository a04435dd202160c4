//! The figures printed after a Linux boot: host wall-clock times (from QEMU's start, measured
//! the same way for the nested and the direct boot), the L2's own uptime from `/init`'s
//! marker lines, the ratio nested/direct, and every `VMM-STAT <key> <value…>` line the VMM
//! printed, grouped by key.

use crate::initramfs::{END, JOBS, NPROC, START};
use crate::qemu::Boot;
use std::fmt::Write as _;
use std::time::Duration;

/// The target for nested/direct (time to `papr-init: start`, L2 uptime at start).
pub const RATIO_TARGET: f64 = 1.2;

/// The prefix of the VMM's figure lines.
pub const VMM_STAT: &str = "VMM-STAT ";

/// What one boot measured.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// Host time from QEMU's start to the `papr-init: start` line.
    pub to_start: Option<Duration>,
    /// Host time from QEMU's start to its exit.
    pub to_exit: Duration,
    /// The L2's uptime on the start line, seconds.
    pub uptime_start: Option<f64>,
    /// The L2's uptime on the end line, seconds.
    pub uptime_end: Option<f64>,
    /// L2 seconds the two parallel checksum jobs took (the `papr-init: jobs` line).
    pub jobs: Option<f64>,
}

impl Figures {
    /// The figures of a finished boot.
    pub fn of(boot: &Boot) -> Self {
        Self {
            to_start: boot.time_of(START),
            to_exit: boot.elapsed,
            uptime_start: uptime(&boot.console, START),
            uptime_end: uptime(&boot.console, END),
            jobs: jobs(&boot.console).map(|j| j.secs),
        }
    }
}

/// The median of `values` (the upper one of the middle two for an even count); `None` when
/// empty.
fn median_of<T: Copy + PartialOrd>(mut values: Vec<T>) -> Option<T> {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    values.get(values.len() / 2).copied()
}

impl Figures {
    /// The per-figure median of repeated boots of one kind (each figure over the boots that
    /// have it); `None` for no boot.
    pub fn median(runs: &[Figures]) -> Option<Figures> {
        if runs.is_empty() {
            return None;
        }
        Some(Figures {
            to_start: median_of(runs.iter().filter_map(|f| f.to_start).collect()),
            to_exit: median_of(runs.iter().map(|f| f.to_exit).collect()).unwrap_or_default(),
            uptime_start: median_of(runs.iter().filter_map(|f| f.uptime_start).collect()),
            uptime_end: median_of(runs.iter().filter_map(|f| f.uptime_end).collect()),
            jobs: median_of(runs.iter().filter_map(|f| f.jobs).collect()),
        })
    }
}

/// `min..max s` of the time to `papr-init: start` over `runs`, for the table's footnote.
pub fn spread(runs: &[Figures]) -> String {
    let t: Vec<f64> = runs
        .iter()
        .filter_map(|f| f.to_start.map(|d| d.as_secs_f64()))
        .collect();
    let lo = t.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = t.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if t.is_empty() {
        "-".into()
    } else {
        format!("{lo:.2}..{hi:.2} s")
    }
}

/// The seconds on the line `<marker> uptime <s>`.
pub fn uptime(console: &str, marker: &str) -> Option<f64> {
    console.lines().find_map(|l| {
        let rest = l.trim_start().strip_prefix(marker)?.trim_start();
        rest.strip_prefix("uptime")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

/// What the `papr-init: jobs` line says.
#[derive(Debug, Clone, PartialEq)]
pub struct Jobs {
    /// The two jobs' md5 sums.
    pub md5: [String; 2],
    /// L2 seconds from starting both to both done.
    pub secs: f64,
}

/// The line `papr-init: jobs <md5> <md5> <t0>..<t1> s`.
pub fn jobs(console: &str) -> Option<Jobs> {
    console.lines().find_map(|l| {
        let mut w = l.trim_start().strip_prefix(JOBS)?.split_whitespace();
        let (a, b, span) = (w.next()?, w.next()?, w.next()?);
        let (t0, t1) = span.split_once("..")?;
        let secs = t1.parse::<f64>().ok()? - t0.parse::<f64>().ok()?;
        Some(Jobs {
            md5: [a.to_string(), b.to_string()],
            secs,
        })
    })
}

/// Checks what the L2 printed about its CPUs: `nproc` must say `want`, and both parallel
/// checksum jobs must have given the same non-empty md5. `Ok` names what was seen.
pub fn smp_check(console: &str, want: u32) -> Result<String, String> {
    let nproc = console.lines().find_map(|l| {
        l.trim_start()
            .strip_prefix(NPROC)?
            .split_whitespace()
            .next()?
            .parse::<u32>()
            .ok()
    });
    let Some(nproc) = nproc else {
        return Err(format!("no line {NPROC:?}<n> from the L2"));
    };
    if nproc != want {
        return Err(format!("the L2's nproc says {nproc}, want {want}"));
    }
    let Some(j) = jobs(console) else {
        return Err(format!(
            "no line {JOBS:?}<md5> <md5> <t0>..<t1> s from the L2"
        ));
    };
    let [a, b] = &j.md5;
    if a.len() != 32 || a != b {
        return Err(format!("the parallel checksum jobs gave {a:?} and {b:?}"));
    }
    Ok(format!(
        "nproc {nproc}, two parallel md5 jobs agree ({a}) in {:.2} s",
        j.secs
    ))
}

/// The L2 with 1 and with N vCPUs under the VMM, side by side: each figure and the
/// ratio N/1 (time to `papr-init: start` is targeted: no worse than with 1 vCPU).
pub fn smp_table(one: Option<&Figures>, many: Option<&Figures>, n: u32) -> String {
    let rows: [Row; 4] = [
        (
            "host: QEMU start -> papr-init start",
            |f| secs(f.to_start),
            true,
        ),
        ("L2 uptime at papr-init start", |f| f.uptime_start, false),
        ("L2: two parallel md5 jobs", |f| f.jobs, false),
        (
            "host: QEMU start -> QEMU exit",
            |f| Some(f.to_exit.as_secs_f64()),
            false,
        ),
    ];
    let mut out = String::new();
    let rule = "-".repeat(82);
    let _ = writeln!(out, "{rule}");
    let _ = writeln!(
        out,
        "{:<38} {:>10} {:>10}  {n} vCPUs/1",
        "nested figure",
        "1 vCPU",
        format!("{n} vCPUs")
    );
    let _ = writeln!(out, "{rule}");
    for (name, get, targeted) in rows {
        let (a, b) = (one.and_then(get), many.and_then(get));
        let r = match ratio(b, a) {
            Some(r) if targeted => {
                let verdict = if r <= 1.0 { "ok" } else { "worse" };
                format!("{r:.2} ({verdict} <= 1.0)")
            }
            Some(r) => format!("{r:.2}"),
            None => "-".into(),
        };
        let _ = writeln!(out, "{name:<38} {:>10} {:>10}  {r}", cell(a), cell(b));
    }
    let _ = writeln!(out, "{rule}");
    out
}

/// The `VMM-STAT` lines, grouped: a key with several values (`exit hcall 143`) lists
/// `hcall 143` under `exit`; keys with one value (`init_ms 2100`) go together under `""`.
/// Groups and entries keep the order the VMM printed them in.
pub fn vmm_stats(console: &str) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for line in console.lines() {
        let Some(rest) = line.trim().strip_prefix(VMM_STAT) else {
            continue;
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        let (group, entry) = match words.as_slice() {
            [] => continue,
            [key] => (String::new(), (*key).to_string()),
            [key, value] => (String::new(), format!("{key} {value}")),
            [key, more @ ..] => ((*key).to_string(), more.join(" ")),
        };
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, entries)) => entries.push(entry),
            None => groups.push((group, vec![entry])),
        }
    }
    groups
}

fn secs(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

fn cell(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2} s"))
}

fn ratio(nested: Option<f64>, direct: Option<f64>) -> Option<f64> {
    match (nested, direct) {
        (Some(n), Some(d)) if d > 0.0 => Some(n / d),
        _ => None,
    }
}

/// One row of the table: name, the figure of one boot, whether the issue targets its ratio.
type Row = (&'static str, fn(&Figures) -> Option<f64>, bool);

/// The table: one row per figure, columns nested, direct and nested/direct (the two ratios
/// the issue targets are marked against [`RATIO_TARGET`]), then the VMM's figures.
pub fn table(
    nested: Option<&Figures>,
    direct: Option<&Figures>,
    stats: &[(String, Vec<String>)],
) -> String {
    let rows: [Row; 4] = [
        (
            "host: QEMU start -> papr-init start",
            |f| secs(f.to_start),
            true,
        ),
        (
            "host: QEMU start -> QEMU exit",
            |f| Some(f.to_exit.as_secs_f64()),
            false,
        ),
        ("L2 uptime at papr-init start", |f| f.uptime_start, true),
        ("L2 uptime at papr-init end", |f| f.uptime_end, false),
    ];
    let mut out = String::new();
    let rule = "-".repeat(82);
    let _ = writeln!(out, "{rule}");
    let _ = writeln!(
        out,
        "{:<38} {:>10} {:>10}  nested/direct",
        "figure", "nested", "direct"
    );
    let _ = writeln!(out, "{rule}");
    for (name, get, targeted) in rows {
        let n = nested.and_then(get);
        let d = direct.and_then(get);
        let r = match ratio(n, d) {
            Some(r) if targeted => {
                let verdict = if r <= RATIO_TARGET { "ok" } else { "over" };
                format!("{r:.2} ({verdict} <= {RATIO_TARGET})")
            }
            Some(r) => format!("{r:.2}"),
            None => "-".into(),
        };
        let _ = writeln!(out, "{name:<38} {:>10} {:>10}  {r}", cell(n), cell(d));
    }
    let _ = writeln!(out, "{rule}");
    if stats.is_empty() {
        if nested.is_some() {
            let _ = writeln!(out, "VMM-STAT: the VMM printed no figures");
        }
    } else {
        let count: usize = stats.iter().map(|(_, e)| e.len()).sum();
        let _ = writeln!(out, "VMM figures ({count} VMM-STAT lines):");
        for (group, entries) in stats {
            let indent = if group.is_empty() {
                "  "
            } else {
                let _ = writeln!(out, "  {group}:");
                "    "
            };
            for e in entries {
                let _ = writeln!(out, "{indent}{e}");
            }
        }
        let _ = writeln!(out, "{rule}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_spread() {
        let f = |t: u64, u: f64| Figures {
            to_start: Some(Duration::from_millis(t)),
            to_exit: Duration::from_millis(t * 3),
            uptime_start: Some(u),
            uptime_end: None,
            jobs: Some(u * 2.0),
        };
        let runs = [f(3000, 1.9), f(5000, 2.5), f(4000, 2.0)];
        let m = Figures::median(&runs).unwrap();
        assert_eq!(m.to_start, Some(Duration::from_millis(4000)));
        assert_eq!(m.to_exit, Duration::from_millis(12000));
        assert_eq!(m.uptime_start, Some(2.0));
        assert_eq!(m.uptime_end, None);
        assert_eq!(m.jobs, Some(4.0));
        assert_eq!(spread(&runs), "3.00..5.00 s");
        assert!(Figures::median(&[]).is_none());
    }

    #[test]
    fn uptimes_from_marker_lines() {
        let c = "x\npapr-init: start uptime 3.21 1.00\nfoo\npapr-init: end uptime 9.5\n";
        assert_eq!(uptime(c, START), Some(3.21));
        assert_eq!(uptime(c, END), Some(9.5));
        assert_eq!(uptime("papr-init: start uptime ?\n", START), None);
        assert_eq!(uptime("", END), None);
    }

    #[test]
    fn vmm_stat_groups() {
        let c = "VMM-STAT exit hcall 143\nhello\nVMM-STAT hcall H_SET_MODE 98\n\
                 VMM-STAT ram_mapped_bytes 268435456\nVMM-STAT exit hdec 356\n\
                 VMM-STAT init_ms 2100\nVMM-STAT flag\n";
        let g = vmm_stats(c);
        assert_eq!(
            g,
            vec![
                ("exit".into(), vec!["hcall 143".into(), "hdec 356".into()]),
                ("hcall".into(), vec!["H_SET_MODE 98".into()]),
                (
                    String::new(),
                    vec![
                        "ram_mapped_bytes 268435456".into(),
                        "init_ms 2100".into(),
                        "flag".into()
                    ]
                ),
            ]
        );
    }

    #[test]
    fn table_ratios() {
        let n = Figures {
            to_start: Some(Duration::from_millis(12_000)),
            to_exit: Duration::from_secs(20),
            uptime_start: Some(3.3),
            uptime_end: None,
            jobs: None,
        };
        let d = Figures {
            to_start: Some(Duration::from_millis(10_000)),
            to_exit: Duration::from_secs(16),
            uptime_start: Some(3.0),
            uptime_end: Some(8.0),
            jobs: None,
        };
        let t = table(Some(&n), Some(&d), &vmm_stats("VMM-STAT exit hcall 1\n"));
        assert!(t.contains("1.20 (ok <= 1.2)"), "{t}");
        assert!(t.contains("1.10 (ok <= 1.2)"), "{t}");
        assert!(t.contains("1.25"), "{t}");
        assert!(t.contains("  exit:\n    hcall 1\n"), "{t}");
        let slow = Figures {
            to_start: Some(Duration::from_secs(13)),
            ..n
        };
        assert!(table(Some(&slow), Some(&d), &[]).contains("1.30 (over <= 1.2)"));
        assert!(table(Some(&n), None, &[]).contains("the VMM printed no figures"));
        assert!(!table(None, Some(&d), &[]).contains("VMM"));
    }

    #[test]
    fn smp_lines() {
        let m = "0123456789abcdef0123456789abcdef";
        let c = format!("papr-init: nproc 2 cpuinfo 2\npapr-init: jobs {m} {m} 10.50..12.75 s\n");
        let j = jobs(&c).unwrap();
        assert_eq!(j.md5, [m.to_string(), m.to_string()]);
        assert!((j.secs - 2.25).abs() < 1e-9);
        assert!(smp_check(&c, 2).unwrap().contains("nproc 2"));
        assert!(smp_check(&c, 1).unwrap_err().contains("says 2, want 1"));
        assert!(smp_check("papr-init: nproc 2\n", 2)
            .unwrap_err()
            .contains("no line \"papr-init: jobs \""));
        let bad = format!("papr-init: nproc 2\npapr-init: jobs {m} x 1..2 s\n");
        assert!(smp_check(&bad, 2).unwrap_err().contains("\"x\""));
        assert!(smp_check("", 2).unwrap_err().contains("nproc"));
        let f = |t: u64| Figures {
            to_start: Some(Duration::from_secs(t)),
            to_exit: Duration::from_secs(2 * t),
            uptime_start: None,
            uptime_end: None,
            jobs: Some(t as f64),
        };
        let t = smp_table(Some(&f(10)), Some(&f(9)), 2);
        assert!(t.contains("0.90 (ok <= 1.0)"), "{t}");
        let t = smp_table(Some(&f(10)), Some(&f(11)), 2);
        assert!(t.contains("1.10 (worse <= 1.0)"), "{t}");
        assert!(t.contains("2 vCPUs/1"), "{t}");
    }
}
