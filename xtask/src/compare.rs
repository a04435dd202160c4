//! `cargo xtask compare`: our L1 (`examples/exit-bench`, bare metal on papr-nestedv2) against
//! Linux 6.12 KVM as the L1 (Debian's ppc64el kernel, its `kvm`/`kvm-hv` modules, and
//! `examples/kvm-l1-init` as `/init`), on the same QEMU machine, running the same three L2
//! loops: an hcall the L1 handles without leaving its hypervisor part (`H_CONFER(-1)`, in
//! Linux's kernel), an hcall round trip through the VMM (Linux: L1 userspace), an MMIO load.
//!
//! The two L1s boot alternately, `--rounds` times each (default 3); each boot prints one
//! `EXIT-BENCH` line per sample (5 samples of 2000 exits per loop, after a warm-up). Then one
//! more Linux boot with the hcall tracepoints on (`compare.trace`) splits Linux's exits into
//! time inside `H_GUEST_RUN_VCPU` and L1 software; tracing slows the L1, so those figures are
//! shown apart (`--no-trace` skips it). The table gives per exit: total, inside RUN, L1
//! software, L0 hcalls; median and mean, the run-to-run range, and the ratio ours / Linux.
//!
//! `--stamps` builds our side with `papr_nestedv2::stamps` on and adds a table of where our
//! L1's time goes per exit, phase by phase (the stamps themselves cost some: compare the
//! phases with each other, not the total with an unstamped run).

use crate::bios::{self, Firmware};
use crate::cpio;
use crate::debian;
use crate::qemu::{self, Boot, Input};
use crate::steps::{ensure_target, PPC64LE};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod insns;
mod pages;
mod table;

use table::table;

/// Our side, QEMU's `-bios`.
const OURS: Firmware<'static> = Firmware {
    example: "exit-bench",
    features: &[],
    image: "exit-bench.bin",
};
/// Our side with `papr_nestedv2::stamps` on (`--stamps`): the per-phase split.
const OURS_STAMPS: Firmware<'static> = Firmware {
    example: "exit-bench",
    features: &["stamps"],
    image: "exit-bench-stamps.bin",
};
/// Prefix of a phase-stamp line (`--stamps`).
const STAMPS_LINE: &str = "EXIT-BENCH-STAMPS ";
/// The Linux side's `/init`.
const INIT: &str = "kvm-l1-init";
/// QEMU RAM of both sides (the anchor's `-m 2G`).
const MEMORY: &str = "2G";
/// The L1 kernel's command line.
const APPEND: &str = "console=hvc0 quiet";
/// Prefix of a sample line.
const LINE: &str = "EXIT-BENCH ";
/// The line that ends a successful boot.
const END_OK: &str = "EXIT-BENCH-END ok";
/// Prefix of a failure line.
const FAIL: &str = "EXIT-BENCH-FAIL ";
/// The loops, in table order.
const LOOPS: [&str; 3] = ["kernel-hcall", "user-hcall", "mmio"];

const USAGE: &str =
    "usage: cargo xtask compare [--rounds N] [--no-trace] [--timeout SECS] [--only ours|linux] [--stamps] [--insns] [--pages]";

/// The options.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Options {
    rounds: usize,
    trace: bool,
    timeout: Duration,
    /// Boot only this side (`ours` or `linux`).
    only: Option<String>,
    /// Our side built with phase stamps (`papr_nestedv2::stamps`), their split printed.
    stamps: bool,
    /// Our L1's guest instructions per kernel-hcall exit counted under QEMU's trace
    /// ([`insns`]), after the table.
    insns: bool,
    /// The pages our L1 touches per kernel-hcall exit, counted with a QEMU plugin
    /// ([`pages`]), after the table.
    pages: bool,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        rounds: 3,
        trace: true,
        timeout: Duration::from_secs(300),
        only: None,
        stamps: false,
        insns: false,
        pages: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |flag: &str| -> Result<u64, String> {
            let v = it.next().ok_or(format!("{flag} needs a value\n{USAGE}"))?;
            v.parse()
                .ok()
                .filter(|&n| n > 0)
                .ok_or(format!("{flag} wants a positive number, got {v:?}"))
        };
        match a.as_str() {
            "--rounds" => o.rounds = num(a)? as usize,
            "--timeout" => o.timeout = Duration::from_secs(num(a)?),
            "--no-trace" => o.trace = false,
            "--stamps" => o.stamps = true,
            "--insns" => o.insns = true,
            "--pages" => o.pages = true,
            "--only" => match it.next().map(String::as_str) {
                Some(side @ ("ours" | "linux")) => o.only = Some(side.into()),
                other => return Err(format!("--only wants ours or linux, got {other:?}")),
            },
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(o)
}

/// One `EXIT-BENCH` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// `linux`, `ours` or `linux-traced`.
    pub side: String,
    /// The loop (see [`LOOPS`]).
    pub name: String,
    /// Exits in the sample.
    pub exits: u64,
    /// Timebase ticks over the sample.
    pub ticks: u64,
    /// Ticks inside `H_GUEST_RUN_VCPU`, when measured.
    pub run: Option<u64>,
    /// L0 hcalls in the sample, when counted.
    pub hcalls: Option<u64>,
    /// Median ticks of a single run call, when each call is one exit.
    pub p50: Option<u64>,
    /// Median ticks of a whole exit cycle (return to return), when each call is one exit.
    pub cycle_p50: Option<u64>,
    /// Median ticks of one exit as the L2 timed it (`mftb` from one `sc 1` to the next;
    /// kernel-hcall loop).
    pub l2_p50: Option<u64>,
    /// Traced boot: `l2_p50` of the same sample run untraced right before.
    pub untraced_l2_p50: Option<u64>,
    /// Traced boot: `cycle_p50` of the same sample run untraced right before.
    pub untraced_cycle_p50: Option<u64>,
    /// Median over single exits of (the L2-timed exit − the RUN its `sc 1` came in), ticks
    /// (ours: the two are paired exit by exit; may be negative).
    pub l2_minus_run_p50: Option<i64>,
    /// Median ticks inside one RUN.
    pub run_p50: Option<u64>,
    /// Median ticks between a RUN's return and the next RUN (traced only).
    pub l1_p50: Option<u64>,
    /// Ticks inside L0 hcalls other than the RUN (ours only).
    pub other: Option<u64>,
    /// Timebase frequency (Hz).
    pub tb: u64,
}

impl Sample {
    /// µs per exit of `ticks` over this sample.
    fn per_exit_us(&self, ticks: u64) -> f64 {
        ticks as f64 / self.exits.max(1) as f64 / self.us_ticks()
    }

    /// Ticks per µs.
    fn us_ticks(&self) -> f64 {
        (self.tb as f64 / 1e6).max(1e-9)
    }
}

/// Parses an `EXIT-BENCH key=value …` line (`-` for a figure not measured).
pub fn parse_line(line: &str) -> Option<Sample> {
    let rest = line.trim().strip_prefix(LINE)?;
    let kv: BTreeMap<&str, &str> = rest
        .split_whitespace()
        .filter_map(|w| w.split_once('='))
        .collect();
    let num = |k: &str| kv.get(k).and_then(|v| v.parse::<u64>().ok());
    Some(Sample {
        side: kv.get("side")?.to_string(),
        name: kv.get("loop")?.to_string(),
        exits: num("exits").filter(|&n| n > 0)?,
        ticks: num("ticks")?,
        run: num("run"),
        hcalls: num("hcalls"),
        p50: num("p50"),
        cycle_p50: num("cycle_p50"),
        l2_p50: num("l2_p50"),
        untraced_l2_p50: num("untraced_l2_p50"),
        untraced_cycle_p50: num("untraced_cycle_p50"),
        l2_minus_run_p50: kv
            .get("l2_minus_run_p50")
            .and_then(|v| v.parse::<i64>().ok()),
        run_p50: num("run_p50"),
        l1_p50: num("l1_p50"),
        other: num("other_hcall_ticks"),
        tb: num("tb").filter(|&n| n > 0)?,
    })
}

/// The samples of one boot; `Err` naming how the boot failed.
fn samples_of(name: &str, b: &Boot) -> Result<Vec<Sample>, String> {
    let fail = b
        .console
        .lines()
        .find_map(|l| l.trim().strip_prefix(FAIL).map(str::to_string));
    let ok = b.console.lines().any(|l| l.trim() == END_OK);
    let last = |s: &str| {
        s.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string()
    };
    match (fail, ok, b.status) {
        (Some(why), _, _) => {
            let hint = if why.contains("kvm-hv") && why.contains("ENODEV") {
                " (kvm-hv found no nesting in the L0: does this QEMU offer cap-nested-papr?)"
            } else {
                ""
            };
            Err(format!("{name}: {why}{hint}"))
        }
        (None, _, None) => Err(format!(
            "{name}: no end within the deadline (last console line {:?}); QEMU was killed",
            last(&b.console)
        )),
        (None, false, Some(st)) => Err(format!(
            "{name}: QEMU exited ({st}) without `{END_OK}`; last console line {:?}, QEMU's last words {:?}",
            last(&b.console),
            last(&b.stderr)
        )),
        (None, true, _) => Ok(b.console.lines().filter_map(parse_line).collect()),
    }
}

/// Builds `examples/kvm-l1-init` (static ppc64le ELF) and returns its path.
fn build_init() -> Result<PathBuf, String> {
    let dir = bios::require(INIT)?;
    let mut c = bios::example_cargo(INIT, &["build", "--release", "--target", PPC64LE]);
    println!("+ (cd {}) {c:?}", dir.display());
    let st = c
        .status()
        .map_err(|e| format!("could not run cargo: {e}"))?;
    if !st.success() {
        return Err(format!("building examples/{INIT} failed ({st})"));
    }
    Ok(dir.join("target").join(PPC64LE).join("release").join(INIT))
}

/// A module's bytes for the initramfs: decompressed with the host's `xz` when it has one
/// (`lib/<m>.ko`), else the `.xz` as is (`lib/<m>.ko.xz`, the kernel decompresses it).
fn module_file(xz: &Path) -> Result<(String, Vec<u8>), String> {
    let stem = xz
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".xz").to_string())
        .unwrap_or_default();
    match Command::new("xz").arg("-dc").arg(xz).output() {
        Ok(out) if out.status.success() && out.stdout.get(..4) == Some(b"\x7fELF") => {
            Ok((format!("lib/{stem}"), out.stdout))
        }
        _ => {
            let bytes = std::fs::read(xz).map_err(|e| format!("{}: {e}", xz.display()))?;
            Ok((format!("lib/{stem}.xz"), bytes))
        }
    }
}

/// The Linux L1's initramfs: `/init` = kvm-l1-init, `/lib/kvm*.ko`, `/dev/console`.
fn initramfs(init: &Path, modules: &[PathBuf], out: &Path) -> Result<(), String> {
    let mut w = cpio::Writer::new();
    for d in ["dev", "proc", "sys", "lib"] {
        w.dir(d, 0o755)?;
    }
    w.char_dev("dev/console", 0o600, 5, 1)?;
    let bin = std::fs::read(init).map_err(|e| format!("{}: {e}", init.display()))?;
    w.file("init", 0o755, &bin)?;
    for m in modules {
        let (name, bytes) = module_file(m)?;
        w.file(&name, 0o644, &bytes)?;
    }
    let cpio = w.finish()?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(out, &cpio).map_err(|e| format!("{}: {e}", out.display()))
}

/// Boots Linux KVM as the L1 (SLOF, as QEMU's default firmware, loads the kernel).
fn boot_linux(vmlinux: &Path, initrd: &Path, append: &str, t: Duration) -> Result<Boot, String> {
    let mut c = qemu::command_with("", MEMORY, Path::new("slof.bin"));
    c.arg("-kernel")
        .arg(vmlinux)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(append);
    qemu::boot_input(c, Some(t), Input::None)
}

/// Boots our L1.
fn boot_ours(image: &Path, t: Duration) -> Result<Boot, String> {
    qemu::boot_input(qemu::command_with("", MEMORY, image), Some(t), Input::None)
}

/// `cargo xtask compare [...]`.
pub fn run(args: &[String]) -> Result<(), String> {
    let o = parse_args(args)?;
    ensure_target(PPC64LE)?;
    println!("{}", qemu::ensure()?);
    let fetched = debian::fetch()?;
    let modules = debian::kvm_modules(&fetched)?;
    let init = build_init()?;
    let work = crate::steps::root().join("target").join("compare");
    let initrd = work.join("initramfs-kvm-l1.cpio");
    initramfs(&init, &modules, &initrd)?;
    let ours = bios::build(if o.stamps { &OURS_STAMPS } else { &OURS })?;
    let mut stamps = Vec::new();
    let mut all = Vec::new();
    let linux = o.only.as_deref() != Some("ours");
    let us = o.only.as_deref() != Some("linux");
    for round in 1..=o.rounds {
        if linux {
            println!(
                "\n==== round {round} of {}: Linux KVM as the L1 ====",
                o.rounds
            );
            let b = boot_linux(&fetched.vmlinux, &initrd, APPEND, o.timeout)?;
            all.push(tag(samples_of("Linux L1", &b)?, round));
        }
        if us {
            println!(
                "\n==== round {round} of {}: our L1 (exit-bench) ====",
                o.rounds
            );
            let b = boot_ours(&ours, o.timeout)?;
            all.push(tag(samples_of("our L1", &b)?, round));
            stamps.extend(b.console.lines().filter_map(parse_stamps));
        }
    }
    if o.trace && linux {
        println!("\n==== traced: Linux KVM as the L1 with the hcall tracepoints on ====");
        let append = format!("{APPEND} compare.trace");
        let b = boot_linux(&fetched.vmlinux, &initrd, &append, o.timeout)?;
        all.push(tag(samples_of("Linux L1 (traced)", &b)?, 0));
    }
    let all: Vec<(usize, Sample)> = all.into_iter().flatten().collect();
    println!("\n{}", table(&all, &fetched.kernel_package, o.rounds));
    if o.stamps {
        println!("{}", stamp_table(&stamps));
    }
    let elf = bios::example_dir(OURS.example)
        .join("target")
        .join(PPC64LE)
        .join("release")
        .join(OURS.example);
    if o.insns && us {
        let cmd = qemu::command_with("", MEMORY, &ours);
        println!("{}", insns::measure(cmd, &work, &elf)?);
    }
    if o.pages && us {
        let cmd = qemu::command_with("", MEMORY, &ours);
        println!("{}", pages::measure(cmd, &work, &elf)?);
    }
    Ok(())
}

/// Parses an `EXIT-BENCH-STAMPS loop=L … ticks/exit: phase=ticks …` line: (phase, ticks
/// per exit) in line order, the loop first (as `loop`, 0).
fn parse_stamps(line: &str) -> Option<Vec<(String, u64)>> {
    let rest = line.trim().strip_prefix(STAMPS_LINE)?;
    let (head, phases) = rest.split_once("ticks/exit:")?;
    let name = head
        .split_whitespace()
        .find_map(|w| w.strip_prefix("loop="))?;
    let v: Vec<(String, u64)> = phases
        .split_whitespace()
        .filter_map(|w| {
            let (k, v) = w.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect();
    (!v.is_empty()).then(|| [vec![(name.to_string(), 0)], v].concat())
}

/// The `--stamps` split: per loop and phase, the median over the samples of the mean
/// ticks per exit, in µs (512 MHz timebase).
fn stamp_table(lines: &[Vec<(String, u64)>]) -> String {
    let mut out = format!(
        "our exit path by phase (--stamps; {} samples; median of the per-sample means, µs per exit)\n{:<10}",
        lines.len(),
        "phase"
    );
    for l in LOOPS {
        out.push_str(&format!(" {l:>13}"));
    }
    out.push('\n');
    let phases: Vec<String> = lines
        .first()
        .map(|l| l.iter().skip(1).map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    for p in &phases {
        out.push_str(&format!("{p:<10}"));
        for l in LOOPS {
            let mut vs: Vec<u64> = lines
                .iter()
                .filter(|line| line.first().is_some_and(|(n, _)| n == l))
                .filter_map(|line| line.iter().skip(1).find(|(k, _)| k == p).map(|(_, v)| *v))
                .collect();
            vs.sort_unstable();
            match vs.get(vs.len() / 2) {
                Some(m) => out.push_str(&format!(" {:>13.2}", *m as f64 / 512.0)),
                None => out.push_str(&format!(" {:>13}", "-")),
            }
        }
        out.push('\n');
    }
    out
}

/// Marks each sample with its round.
fn tag(s: Vec<Sample>, round: usize) -> Vec<(usize, Sample)> {
    s.into_iter().map(|s| (round, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::table::figure;
    use super::*;

    const LX: &str = "EXIT-BENCH side=linux loop=user-hcall sample=2 exits=2000 ticks=64000000 run=- hcalls=- p50=26156 tb=512000000";
    const OURS_LINE: &str = "EXIT-BENCH side=ours loop=kernel-hcall sample=1 exits=2001 ticks=10245120 run=5122560 hcalls=2001 p50=- tb=512000000";
    const TRACED: &str = "EXIT-BENCH side=linux-traced loop=mmio sample=1 exits=500 ticks=84709793 run=8969728 hcalls=1044 p50=39651 tb=512000000 runs=501 run_p50=7680 l1_p50=31232";

    #[test]
    fn parses_the_three_kinds_of_line() {
        let l = parse_line(LX).unwrap();
        assert_eq!((l.side.as_str(), l.name.as_str()), ("linux", "user-hcall"));
        assert_eq!((l.exits, l.ticks, l.tb), (2000, 64_000_000, 512_000_000));
        assert_eq!((l.run, l.hcalls, l.p50), (None, None, Some(26156)));
        assert!((l.per_exit_us(l.ticks) - 62.5).abs() < 1e-9);
        let o = parse_line(&format!("  {OURS_LINE}\r")).unwrap();
        assert_eq!(
            (o.run, o.hcalls, o.p50),
            (Some(5_122_560), Some(2001), None)
        );
        let t = parse_line(TRACED).unwrap();
        assert_eq!((t.run_p50, t.l1_p50), (Some(7680), Some(31232)));
    }

    #[test]
    fn options() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let d = parse_args(&[]).unwrap();
        assert_eq!((d.rounds, d.trace, d.only), (3, true, None));
        let o = parse_args(&args(&["--rounds", "5", "--no-trace", "--only", "ours"])).unwrap();
        assert_eq!(
            (o.rounds, o.trace, o.only.as_deref()),
            (5, false, Some("ours"))
        );
        assert!(!d.stamps && parse_args(&args(&["--stamps"])).unwrap().stamps);
        assert!(!d.insns && parse_args(&args(&["--insns"])).unwrap().insns);
        assert!(!d.pages && parse_args(&args(&["--pages"])).unwrap().pages);
        assert!(parse_args(&args(&["--rounds", "0"])).is_err());
        assert!(parse_args(&args(&["--only", "both"])).is_err());
        assert!(parse_args(&args(&["--bogus"]))
            .unwrap_err()
            .contains("--bogus"));
    }

    #[test]
    fn stamp_lines_make_a_table() {
        let line = "EXIT-BENCH-STAMPS loop=mmio sample=1 exits=2000 ticks/exit: loop=512 dec=1024";
        let p = parse_stamps(line).unwrap();
        assert_eq!(p[0], ("mmio".to_string(), 0));
        assert_eq!(p[2], ("dec".to_string(), 1024));
        assert_eq!(parse_stamps(LX), None);
        let t = stamp_table(&[p]);
        let dec = t.lines().find(|l| l.starts_with("dec")).unwrap();
        assert!(dec.ends_with("2.00") && dec.contains('-'), "{t}");
    }

    #[test]
    fn rejects_what_is_not_a_sample() {
        assert_eq!(parse_line("EXIT-BENCH-END ok"), None);
        assert_eq!(
            parse_line("EXIT-BENCH-BASE side=linux getppid_p50=558"),
            None
        );
        assert_eq!(parse_line(&LX.replace("exits=2000", "exits=0")), None);
        assert_eq!(parse_line(&LX.replace("tb=512000000", "tb=x")), None);
        assert_eq!(parse_line(&LX.replace(" side=linux", "")), None);
        assert_eq!(parse_line("x EXIT-BENCH side=linux"), None);
    }

    #[test]
    fn figures_and_failures() {
        let a = parse_line(LX).unwrap();
        let mut b = a.clone();
        b.ticks = 2 * a.ticks;
        let s = [(1, &a), (1, &a), (2, &b)];
        let f = figure(&s, |x| Some(x.per_exit_us(x.ticks))).unwrap();
        assert!((f.median - 62.5).abs() < 1e-9);
        assert!((f.mean - 83.333_333).abs() < 1e-3);
        assert_eq!(f.range, (62.5, 125.0));
        assert_eq!(figure(&s, |x| x.run.map(|r| r as f64)), None);
        let boot = |console: &str, code: Option<i32>| Boot {
            status: code.map(|c| std::os::unix::process::ExitStatusExt::from_raw(c << 8)),
            console: console.into(),
            stderr: String::new(),
            first_output: None,
            elapsed: Duration::ZERO,
            timeline: Vec::new(),
        };
        let e = samples_of(
            "Linux L1",
            &boot(
                "EXIT-BENCH-FAIL finit_module(/lib/kvm-hv.ko): errno 19 ENODEV\n",
                Some(0),
            ),
        )
        .unwrap_err();
        assert!(
            e.contains("kvm-hv.ko") && e.contains("ENODEV") && e.contains("cap-nested-papr"),
            "{e}"
        );
        assert!(samples_of("x", &boot("a\n", None))
            .unwrap_err()
            .contains("deadline"));
        assert!(samples_of("x", &boot("a\n", Some(1)))
            .unwrap_err()
            .contains("without"));
        let ok = samples_of("x", &boot(&format!("{LX}\n{END_OK}\n"), Some(0))).unwrap();
        assert_eq!(ok.len(), 1);
    }
}
