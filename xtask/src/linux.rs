//! `cargo xtask run`: Debian's unmodified ppc64el Linux as the L2 of the bare-metal VMM
//! (`examples/pseries-vmm`) on QEMU's L0, to a busybox userspace, then the same kernel,
//! initramfs and device tree booted directly on QEMU, and a table of figures.
//!
//! The VMM is QEMU's `-bios`; QEMU loads the kernel and initrd for it (`-kernel`, `-initrd`,
//! `-M …,kernel-addr=0x10000000`) and puts them and the command line in the VMM's `/chosen`.
//! Words `vmm.*` of the command line are the VMM's options (`vmm.ram=<MiB>`, default 256); the
//! VMM strips them and passes the rest to the L2.
//!
//! Each round boots the L2 nested with 1 vCPU, direct (1 CPU), and nested with N vCPUs
//! (`--smp N`, default 2; `--smp 1`: none) on an L1 with as many CPUs (`-smp`,
//! `vmm.cpus`), where the VMM runs vCPU k on L1 CPU k; the tables compare nested with
//! direct, and the N-vCPU with the 1-vCPU nested boot. An N-vCPU boot must also show its
//! vCPUs running in parallel ([`figures::parallel_check`]: exits and time inside RUN for
//! every vCPU, RUN time overlapping across L1 CPUs), and its median time to `/init` must
//! not be clearly worse than the 1-vCPU boots' of the same run
//! ([`figures::SMP_WORSE_LIMIT`]).
//!
//! A boot succeeds when QEMU exits 0 after `/init` printed `papr-init: RESULT ok` (with
//! `--shell`: after `papr-init: start`) and, with the generated initramfs, its `nproc` line
//! names the boot's CPU count and its two parallel checksum jobs agree. Anything else fails, naming how: a crash (kernel
//! panic, VMM panic, `ibm,os-term`), a hang (no exit before the deadline), the result line
//! `RESULT FAIL …`, or a missing result line.

use crate::bios::{self, Firmware};
use crate::debian;
use crate::direct;
use crate::figures::{self, Figures};
use crate::initramfs::{self, Init, RESULT, START};
use crate::platform;
use crate::qemu::{self, Boot, Input};
use crate::steps::{ensure_target, root, Report, PPC64LE};
use std::path::PathBuf;
use std::time::Duration;

/// Default deadline of one Linux boot.
const TIMEOUT: Duration = Duration::from_secs(300);
/// Nested and direct boots per `cargo xtask run`, alternating; the figures are medians.
const ROUNDS: usize = 3;
/// vCPUs of the SMP boot of each round (on an L1 with as many CPUs).
const SMP: u32 = 2;
/// The L2 command line unless `--append` gives one (spec §4: `quiet` saves 5k exits).
const DEFAULT_APPEND: &str = "console=hvc0 quiet";
/// The VMM's default L2 RAM (`vmm.ram`), MiB.
const DEFAULT_RAM_MIB: u64 = 256;
/// The VMM: folder, image.
pub const VMM: Firmware<'static> = Firmware {
    example: "pseries-vmm",
    features: &[],
    image: "pseries-vmm.bin",
};
/// Where the nested machine's QEMU loads `-kernel` (above the VMM's own memory; the VMM backs
/// L2 RAM from there, so GPA 0 is the loaded image).
const NESTED_KERNEL_ADDR: &str = "kernel-addr=0x10000000";
/// The nested machine's RAM (VMM + L2).
const NESTED_MEMORY: &str = "2G";

const USAGE: &str = "usage: cargo xtask run [--shell] [--kernel VMLINUX] [--initrd CPIO] \
                     [--append \"CMDLINE\"] [--timeout SECS] [--direct-only] [--nested-only] \
                     [--smp N] [--rounds N]
       cargo xtask run checks [--timeout SECS]";

/// The options of `cargo xtask run` (the Linux boot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Interactive: `/init` runs a shell and stdin is forwarded to QEMU's console.
    pub shell: bool,
    /// A kernel ELF to boot instead of Debian's.
    pub kernel: Option<PathBuf>,
    /// An initramfs to boot instead of the generated one.
    pub initrd: Option<PathBuf>,
    /// The command line (VMM `vmm.*` words included).
    pub append: String,
    /// Deadline of each boot (`None` with `--shell` unless given).
    pub timeout: Option<Duration>,
    /// Skip the nested boot: only the direct one (no VMM needed).
    pub direct_only: bool,
    /// Skip the direct boots (`--nested-only`): the nested ones only.
    pub nested_only: bool,
    /// vCPUs of an extra nested boot per round on an L1 with as many CPUs (`--smp N`,
    /// default 2; 1 = none).
    pub smp: u32,
    /// Rounds of boots (`--rounds N`, default 3); the figures are medians.
    pub rounds: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            shell: false,
            kernel: None,
            initrd: None,
            append: DEFAULT_APPEND.into(),
            timeout: Some(TIMEOUT),
            direct_only: false,
            nested_only: false,
            smp: SMP,
            rounds: ROUNDS,
        }
    }
}

/// What `cargo xtask run <args>` asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// `run checks …`: the pseries-l1 Nested APIv2 checks (arguments passed on).
    Checks(Vec<String>),
    /// `run probe …`: the hostile test L2 under the VMM (arguments passed on).
    Probe(Vec<String>),
    /// `run shell-check`: `--shell` with scripted input, judged.
    ShellCheck,
    /// The Linux boot.
    Linux(Options),
}

/// Parses the arguments after `run`.
pub fn parse(args: &[String]) -> Result<Request, String> {
    if args.first().map(String::as_str) == Some("checks") {
        return Ok(Request::Checks(args[1..].to_vec()));
    }
    if args.first().map(String::as_str) == Some("probe") {
        return Ok(Request::Probe(args[1..].to_vec()));
    }
    if args.first().map(String::as_str) == Some("shell-check") {
        if let Some(a) = args.get(1) {
            return Err(format!("`run shell-check` takes no arguments (got {a:?})"));
        }
        return Ok(Request::ShellCheck);
    }
    let mut o = Options::default();
    let mut timeout = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or(format!("{flag} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--shell" => o.shell = true,
            "--direct-only" => o.direct_only = true,
            "--nested-only" => o.nested_only = true,
            "--rounds" => {
                let v = value(a)?;
                o.rounds = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=100).contains(n))
                    .ok_or(format!("--rounds wants 1 to 100, got {v:?}"))?;
            }
            "--smp" => {
                let v = value(a)?;
                o.smp = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=8).contains(n))
                    .ok_or(format!("--smp wants 1 to 8 vCPUs, got {v:?}"))?;
            }
            "--kernel" => o.kernel = Some(value(a)?.into()),
            "--initrd" => o.initrd = Some(value(a)?.into()),
            "--append" => o.append = value(a)?,
            "--timeout" => {
                let v = value(a)?;
                let s: u64 = v
                    .parse()
                    .map_err(|_| format!("--timeout wants seconds, got {v:?}"))?;
                timeout = Some(Duration::from_secs(s));
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if o.direct_only && o.nested_only {
        return Err(format!(
            "--direct-only and --nested-only exclude each other\n{USAGE}"
        ));
    }
    o.timeout = match (timeout, o.shell) {
        (Some(t), _) => Some(t),
        (None, true) => None,
        (None, false) => Some(TIMEOUT),
    };
    Ok(Request::Linux(o))
}

/// The L2 RAM the command line asks the VMM for (`vmm.ram=<MiB>`, the last one wins).
pub fn ram_mib(append: &str) -> Result<u64, String> {
    let mut ram = DEFAULT_RAM_MIB;
    for w in append.split_whitespace() {
        if let Some(v) = w.strip_prefix("vmm.ram=") {
            ram = v
                .parse()
                .ok()
                .filter(|&m| m > 0)
                .ok_or(format!("vmm.ram wants a size in MiB, got {v:?}"))?;
        }
    }
    Ok(ram)
}

/// The command line without the VMM's `vmm.*` words: what the L2 sees.
pub fn l2_cmdline(append: &str) -> String {
    append
        .split_whitespace()
        .filter(|w| !w.starts_with("vmm."))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How a Linux boot ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// QEMU exited 0 after the success line.
    Ok,
    /// `/init` printed `papr-init: RESULT FAIL <why>`.
    Failed(String),
    /// A kernel panic, a VMM panic or an `ibm,os-term` (its line).
    Crashed(String),
    /// No exit before the deadline (the last console line).
    Hang(String),
    /// QEMU exited 0 but the success line never came.
    MissingResult,
    /// QEMU ended some other way.
    Abort(String),
}

/// The first line that reports a crash of the kernel or of the VMM.
fn crash_line(console: &str) -> Option<&str> {
    const SIGNS: [&str; 5] = ["Kernel panic", "PANIC", "FATAL", "os-term", "Oops"];
    console
        .lines()
        .filter(|l| !l.trim_start().starts_with(figures::VMM_STAT.trim_end()))
        .find(|l| SIGNS.iter().any(|s| l.contains(s)))
}

/// Judges a finished boot: success needs exit status 0 and the line `want`.
pub fn verdict(boot: &Boot, want: &str) -> Verdict {
    let result_fail = boot.console.lines().find_map(|l| {
        l.trim()
            .strip_prefix(RESULT)?
            .strip_prefix("FAIL")
            .map(|w| w.trim().to_string())
    });
    let seen = boot.console.lines().any(|l| l.trim().starts_with(want));
    let Some(status) = boot.status else {
        let last = boot.console.lines().rev().find(|l| !l.trim().is_empty());
        return Verdict::Hang(last.unwrap_or("").to_string());
    };
    if let Some(why) = result_fail {
        return Verdict::Failed(why);
    }
    if let Some(line) = crash_line(&boot.console) {
        if !(status.success() && seen) {
            return Verdict::Crashed(line.trim().to_string());
        }
    }
    match (status.code(), seen) {
        (Some(0), true) => Verdict::Ok,
        (Some(0), false) => Verdict::MissingResult,
        (Some(1), _) if boot.console.trim().is_empty() => Verdict::Abort(format!(
            "QEMU exited 1 before any console output (could not start?); its last words: {:?}",
            boot.stderr.lines().last().unwrap_or("")
        )),
        (Some(1), _) => Verdict::Crashed(format!(
            "QEMU exited 1: a guest panic (ibm,os-term under -action panic=exit-failure) with \
             no panic line on the console; QEMU's last words: {:?}",
            boot.stderr.lines().last().unwrap_or("")
        )),
        (Some(code), _) => Verdict::Abort(format!(
            "QEMU exited with status {code}; its last words: {:?}",
            boot.stderr.lines().last().unwrap_or("")
        )),
        (None, _) => Verdict::Abort(format!("QEMU was killed by a signal ({status})")),
    }
}

/// `Ok` for [`Verdict::Ok`], else the reason, naming the boot.
fn judged(name: &str, v: Verdict, want: &str, timeout: Option<Duration>) -> Result<(), String> {
    match v {
        Verdict::Ok => Ok(()),
        Verdict::Failed(why) => Err(format!("{name}: /init reported RESULT FAIL: {why}")),
        Verdict::Crashed(line) => Err(format!("{name}: crash: {line}")),
        Verdict::Hang(last) => Err(format!(
            "{name}: hang: no exit within {} s (last console line: {last:?}); QEMU was killed",
            timeout.map_or(0, |t| t.as_secs())
        )),
        Verdict::MissingResult => Err(format!(
            "{name}: QEMU exited 0 but the line {want:?} never appeared"
        )),
        Verdict::Abort(why) => Err(format!("{name}: {why}")),
    }
}

/// The kernel and initramfs to boot, checked before any QEMU starts.
struct Inputs {
    kernel: PathBuf,
    image: platform::Kernel,
    initrd: PathBuf,
    initrd_len: u64,
}

/// The scratch folder of the Linux boots.
fn work_dir() -> PathBuf {
    root().join("target").join("linux-l2")
}

fn inputs(o: &Options) -> Result<Inputs, String> {
    let fetched = match (&o.kernel, &o.initrd) {
        (Some(_), Some(_)) => None,
        _ => Some(debian::fetch()?),
    };
    let kernel = match (&o.kernel, &fetched) {
        (Some(k), _) => k.clone(),
        (None, Some(f)) => f.vmlinux.clone(),
        (None, None) => return Err("no kernel".into()),
    };
    let bytes = std::fs::read(&kernel)
        .map_err(|e| format!("kernel {}: cannot read it ({e})", kernel.display()))?;
    let image = platform::inspect(&bytes)
        .map_err(|e| format!("kernel {} is not a ppc64 ELF kernel: {e}", kernel.display()))?;
    let initrd = match (&o.initrd, &fetched) {
        (Some(i), _) => i.clone(),
        (None, Some(f)) => {
            let init = if o.shell { Init::Shell } else { Init::Workload };
            let out = work_dir().join(match init {
                Init::Workload => "initramfs.cpio",
                Init::Shell => "initramfs-shell.cpio",
            });
            initramfs::write(&f.busybox, init, &out)?;
            out
        }
        (None, None) => return Err("no initramfs".into()),
    };
    let initrd_len = std::fs::metadata(&initrd)
        .map_err(|e| format!("initrd {}: {e}", initrd.display()))?
        .len();
    println!(
        "kernel {} (entry {:#x}, {:.1} MiB loaded), initrd {} ({} KiB)",
        kernel.display(),
        image.entry,
        image.span() as f64 / (1 << 20) as f64,
        initrd.display(),
        initrd_len / 1024
    );
    Ok(Inputs {
        kernel,
        image,
        initrd,
        initrd_len,
    })
}

/// The success line of a boot.
fn wanted(o: &Options) -> String {
    if o.shell {
        START.to_string()
    } else {
        format!("{RESULT}ok")
    }
}

/// The nested boot with `cpus` vCPUs: the VMM as firmware, kernel and initrd loaded by QEMU
/// for it.
fn nested(o: &Options, inp: &Inputs, cpus: u32) -> Result<Boot, String> {
    let input = if o.shell { Input::Stdin } else { Input::None };
    boot_nested(o, inp, input, cpus)
}

/// The command line of a nested boot with `cpus` vCPUs: `append`, and `vmm.cpus=<n>` after
/// it when `cpus` > 1 (the VMM takes the last word of each option).
fn nested_append(append: &str, cpus: u32) -> String {
    if cpus > 1 {
        format!("{append} vmm.cpus={cpus}")
    } else {
        append.to_string()
    }
}

/// The nested boot with `cpus` vCPUs on an L1 with `cpus` CPUs, console input from `input`.
fn boot_nested(o: &Options, inp: &Inputs, input: Input, cpus: u32) -> Result<Boot, String> {
    let vmm = bios::build(&VMM)?;
    let mut c = qemu::command_with(NESTED_KERNEL_ADDR, NESTED_MEMORY, &vmm);
    // QEMU takes the last -smp.
    c.args(["-smp", &cpus.to_string()])
        .arg("-kernel")
        .arg(&inp.kernel)
        .arg("-initrd")
        .arg(&inp.initrd)
        .arg("-append")
        .arg(nested_append(&o.append, cpus));
    println!("\n==== nested: Linux as the L2 of examples/pseries-vmm, {cpus} vCPU(s) ====");
    qemu::boot_input(c, o.timeout, input)
}

/// Judges a workload boot with `cpus` CPUs: [`verdict`], then (generated initramfs only)
/// [`figures::smp_check`].
fn judged_boot(name: &str, b: &Boot, o: &Options, cpus: u32, want: &str) -> Result<(), String> {
    judged(name, verdict(b, want), want, o.timeout)?;
    if o.shell || o.initrd.is_some() {
        return Ok(());
    }
    let seen = figures::smp_check(&b.console, cpus).map_err(|e| format!("{name}: {e}"))?;
    println!("{name}: {seen}");
    Ok(())
}

/// The direct boot of the same kernel, initramfs and device tree (see [`direct`]).
fn direct_boot(o: &Options, inp: &Inputs, ram: u64) -> Result<Boot, String> {
    let files = direct::prepare(
        &work_dir(),
        &inp.image,
        ram,
        inp.initrd_len,
        &l2_cmdline(&o.append),
    )?;
    let c = direct::command(&files, ram, &inp.kernel, &inp.initrd);
    println!("\n==== direct: the same kernel, initramfs and device tree on QEMU ====");
    let input = if o.shell { Input::Stdin } else { Input::None };
    qemu::boot_input(c, o.timeout, input)
}

/// Runs the boots `o` asks for and prints the figures; `Ok(summary)` when every boot
/// succeeded.
pub fn boot_linux(o: &Options) -> Result<String, String> {
    if !o.direct_only {
        ensure_target(PPC64LE)?;
    }
    let ram = ram_mib(&o.append)?;
    println!("{}", qemu::ensure()?);
    let inp = inputs(o)?;
    let want = wanted(o);
    let mut failures = Vec::new();
    let (mut nested_runs, mut direct_runs) = (Vec::new(), Vec::new());
    let mut smp_runs = Vec::new();
    let (mut stats, mut smp_stats) = (Vec::new(), Vec::new());
    let smp = o.smp > 1 && !o.shell && !o.direct_only;
    let smp_n = o.smp;
    // Side by side: the nested and the direct boot alternate, ROUNDS times each, and the
    // table shows medians (one TCG machine's timing varies by tens of percent between runs).
    // The interactive shell is booted once and not timed against a direct boot.
    let rounds = if o.shell { 1 } else { o.rounds };
    for round in 1..=rounds {
        if rounds > 1 {
            println!("\n==== round {round} of {rounds} ====");
        }
        if !o.direct_only {
            let b = nested(o, &inp, 1)?;
            nested_runs.push(Figures::of(&b));
            if stats.is_empty() {
                stats = figures::vmm_stats(&b.console);
            }
            if let Err(e) = judged_boot("nested", &b, o, 1, &want) {
                failures.push(e);
            }
        }
        if (!o.shell || o.direct_only) && !o.nested_only {
            let b = direct_boot(o, &inp, ram)?;
            direct_runs.push(Figures::of(&b));
            if let Err(e) = judged_boot("direct", &b, o, 1, &want) {
                failures.push(e);
            }
        }
        if smp {
            let b = nested(o, &inp, o.smp)?;
            smp_runs.push(Figures::of(&b));
            if smp_stats.is_empty() {
                smp_stats = figures::vmm_stats(&b.console);
            }
            let name = format!("nested {smp_n} vCPUs");
            let judged = judged_boot(&name, &b, o, o.smp, &want).and_then(|()| {
                let seen = figures::parallel_check(&b.console, smp_n)
                    .map_err(|e| format!("{name}: {e}"))?;
                println!("{name}: {seen}");
                Ok(())
            });
            if let Err(e) = judged {
                failures.push(e);
            }
        }
        if !failures.is_empty() {
            break;
        }
    }
    let (nested_fig, direct_fig) = (Figures::median(&nested_runs), Figures::median(&direct_runs));
    println!(
        "\n{}",
        figures::table(nested_fig.as_ref(), direct_fig.as_ref(), &stats)
    );
    println!(
        "medians of {} nested and {} direct boot(s), alternating; time to papr-init start: nested {}, direct {}",
        nested_runs.len(),
        direct_runs.len(),
        figures::spread(&nested_runs),
        figures::spread(&direct_runs)
    );
    let smp_fig = Figures::median(&smp_runs);
    if smp {
        println!(
            "\n{}",
            figures::table(smp_fig.as_ref(), direct_fig.as_ref(), &smp_stats)
                .replace(" nested ", &format!(" {smp_n}-vCPU "))
        );
        println!(
            "{}",
            figures::smp_table(nested_fig.as_ref(), smp_fig.as_ref(), o.smp)
        );
        println!(
            "medians of {} boot(s) each; time to papr-init start: 1 vCPU {}, {smp_n} vCPUs {}",
            smp_runs.len(),
            figures::spread(&nested_runs),
            figures::spread(&smp_runs)
        );
        if failures.is_empty() {
            match figures::smp_time_check(nested_fig.as_ref(), smp_fig.as_ref(), smp_n) {
                Ok(seen) => println!("{seen}"),
                Err(e) => failures.push(e),
            }
        }
    }
    if failures.is_empty() {
        let boots = match (nested_fig, direct_fig) {
            (Some(n), Some(d)) => format!(
                "nested {:.1} s, direct {:.1} s{} (medians of {rounds})",
                n.to_exit.as_secs_f64(),
                d.to_exit.as_secs_f64(),
                smp_fig.map_or(String::new(), |f| format!(
                    ", nested {smp_n} vCPUs {:.1} s",
                    f.to_exit.as_secs_f64()
                ))
            ),
            (Some(f), None) | (None, Some(f)) => format!("{:.1} s", f.to_exit.as_secs_f64()),
            (None, None) => String::new(),
        };
        Ok(format!("Linux L2 boot ok ({boots})"))
    } else {
        Err(failures.join("; "))
    }
}

/// `cargo xtask run [...]`.
pub fn run(args: &[String]) -> Result<(), String> {
    match parse(args)? {
        Request::Checks(rest) => crate::pseries::run(&rest),
        Request::Probe(rest) => crate::probe::run(&rest),
        Request::ShellCheck => shell_check().map(|s| println!("{s}")),
        Request::Linux(o) => {
            let summary = boot_linux(&o)?;
            println!("{summary}");
            Ok(())
        }
    }
}

/// The `cargo xtask test` steps of the Linux boot: fmt and clippy of the VMM and of the
/// bare-metal library it shares with pseries-l1, then the same boot as `cargo xtask run`.
pub fn test_steps(r: &mut Report) -> bool {
    let vmm = bios::lint_steps(r, VMM.example, &[&[]]);
    let baremetal = bios::lint_steps(r, "baremetal", &[&[]]);
    let boot = r.step("linux L2 boot (nested 1 and 2 vCPUs + direct)", || {
        bios::require(VMM.example)?;
        boot_linux(&Options::default())
    });
    let shell = r.step(
        "linux L2 shell: typed commands reach it (--shell, scripted)",
        || {
            bios::require(VMM.example)?;
            shell_check()
        },
    );
    vmm && baremetal && boot && shell
}

/// What [`shell_check`] types, and the lines it must see come back.
const SHELL_SCRIPT: &str = "echo typed-$((6*7))\nuname -m\nexit\n";
const SHELL_ECHO: [&str; 2] = ["typed-42", "ppc64le"];

/// `--shell` with scripted input: once the L2's `/init` has started its shell, a command
/// that only a shell can answer (`$((6*7))`) and `uname -m` are typed on the L1's console;
/// their answers must come back, and `exit` must power the L2, then the L1, off (exit 0).
pub fn shell_check() -> Result<String, String> {
    ensure_target(PPC64LE)?;
    qemu::ensure()?;
    let o = Options {
        shell: true,
        timeout: Some(TIMEOUT),
        ..Options::default()
    };
    let inp = inputs(&o)?;
    let b = boot_nested(
        &o,
        &inp,
        Input::Script {
            after: START.to_string(),
            text: SHELL_SCRIPT.to_string(),
        },
        1,
    )?;
    let missing: Vec<&str> = SHELL_ECHO
        .into_iter()
        .filter(|want| !b.console.lines().any(|l| l.trim() == *want))
        .collect();
    let code = b.status.and_then(|s| s.code());
    if !missing.is_empty() || code != Some(0) {
        return Err(format!(
            "typed {SHELL_SCRIPT:?}: answers {missing:?} missing from the console, QEMU exit {code:?} (killed: {})",
            b.status.is_none()
        ));
    }
    Ok(format!(
        "typed {} lines, got {:?} back, exit powered off (exit 0) in {:.1} s",
        SHELL_SCRIPT.lines().count(),
        SHELL_ECHO,
        b.elapsed.as_secs_f64()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn linux(a: &[&str]) -> Options {
        match parse(&args(a)).unwrap() {
            Request::Linux(o) => o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn smp_boot_by_default_and_rounds() {
        assert_eq!(linux(&[]).smp, 2);
        assert_eq!(linux(&["--smp", "1"]).smp, 1);
        assert_eq!(linux(&[]).rounds, 3);
        assert_eq!(linux(&["--rounds", "10", "--nested-only"]).rounds, 10);
        assert!(linux(&["--nested-only"]).nested_only);
        assert!(parse(&args(&["--rounds", "0"])).is_err());
        assert!(parse(&args(&["--direct-only", "--nested-only"])).is_err());
        for bad in ["0", "9", "two"] {
            let e = parse(&args(&["--smp", bad])).unwrap_err();
            assert!(e.contains("--smp wants 1 to 8"), "{e}");
        }
    }

    #[test]
    fn command_lines() {
        assert_eq!(linux(&[]), Options::default());
        assert_eq!(linux(&[]).timeout, Some(TIMEOUT));
        let o = linux(&[
            "--kernel",
            "/k",
            "--initrd",
            "/i",
            "--append",
            "console=hvc0 vmm.ram=512",
            "--timeout",
            "90",
        ]);
        assert_eq!(o.kernel.as_deref(), Some(std::path::Path::new("/k")));
        assert_eq!(o.initrd.as_deref(), Some(std::path::Path::new("/i")));
        assert_eq!(o.append, "console=hvc0 vmm.ram=512");
        assert_eq!(o.timeout, Some(Duration::from_secs(90)));
        assert!(!o.shell && !o.direct_only);
        let s = linux(&["--shell"]);
        assert!(s.shell);
        assert_eq!(
            s.timeout, None,
            "an interactive shell has no deadline by default"
        );
        assert_eq!(
            linux(&["--shell", "--timeout", "5"]).timeout,
            Some(Duration::from_secs(5))
        );
        assert!(linux(&["--direct-only"]).direct_only);
        assert_eq!(
            parse(&args(&["checks", "--timeout", "9"])).unwrap(),
            Request::Checks(args(&["--timeout", "9"]))
        );
        assert_eq!(parse(&args(&["probe"])).unwrap(), Request::Probe(vec![]));
        assert_eq!(parse(&args(&["shell-check"])).unwrap(), Request::ShellCheck);
        assert!(parse(&args(&["--kernel"]))
            .unwrap_err()
            .contains("--kernel needs a value"));
        assert!(parse(&args(&["--timeout", "x"]))
            .unwrap_err()
            .contains("\"x\""));
        assert!(parse(&args(&["--bogus"])).unwrap_err().contains("--bogus"));
    }

    #[test]
    fn vmm_words() {
        assert_eq!(ram_mib("console=hvc0 quiet").unwrap(), DEFAULT_RAM_MIB);
        assert_eq!(ram_mib("vmm.ram=128 quiet vmm.ram=512").unwrap(), 512);
        assert!(ram_mib("vmm.ram=lots").unwrap_err().contains("lots"));
        assert!(ram_mib("vmm.ram=0").is_err());
        assert_eq!(
            l2_cmdline("console=hvc0 vmm.ram=128  quiet vmm.x"),
            "console=hvc0 quiet"
        );
        assert_eq!(nested_append("console=hvc0", 1), "console=hvc0");
        assert_eq!(
            nested_append("console=hvc0 vmm.cpus=4", 2),
            "console=hvc0 vmm.cpus=4 vmm.cpus=2"
        );
    }

    fn boot(code: Option<i32>, console: &str) -> Boot {
        Boot {
            status: code.map(|c| ExitStatus::from_raw(c << 8)),
            console: console.into(),
            stderr: String::new(),
            first_output: None,
            elapsed: Duration::ZERO,
            timeline: Vec::new(),
        }
    }

    #[test]
    fn verdicts() {
        let want = "papr-init: RESULT ok";
        let ok = "papr-init: start uptime 1.0\npapr-init: RESULT ok memory 50 MiB\n";
        assert_eq!(verdict(&boot(Some(0), ok), want), Verdict::Ok);
        assert_eq!(
            verdict(&boot(Some(0), "papr-init: RESULT FAIL cp of 5 MiB\n"), want),
            Verdict::Failed("cp of 5 MiB".into())
        );
        assert_eq!(
            verdict(&boot(None, "a\npapr-init: start uptime 1\n\n"), want),
            Verdict::Hang("papr-init: start uptime 1".into())
        );
        assert_eq!(
            verdict(&boot(Some(0), "papr-init: start uptime 1\n"), want),
            Verdict::MissingResult
        );
        let panic = "Kernel panic - not syncing: No working init found.\n";
        assert_eq!(
            verdict(&boot(Some(1), panic), want),
            Verdict::Crashed(panic.trim().into())
        );
        assert!(matches!(
            verdict(&boot(Some(1), "x\n"), want),
            Verdict::Crashed(_)
        ));
        assert!(matches!(
            verdict(&boot(Some(1), ""), want),
            Verdict::Abort(_)
        ));
        assert!(matches!(
            verdict(&boot(Some(0), "PANIC at x\n"), want),
            Verdict::Crashed(_)
        ));
        // A VMM figure naming os-term is no crash.
        assert_eq!(
            verdict(&boot(Some(0), "VMM-STAT rtas ibm,os-term 0\n"), want),
            Verdict::MissingResult
        );
        assert!(matches!(
            verdict(&boot(Some(136), ok), want),
            Verdict::Abort(_)
        ));
        // The shell variant succeeds on the start line.
        assert_eq!(
            verdict(&boot(Some(0), "papr-init: start uptime 2\n"), START),
            Verdict::Ok
        );
    }

    #[test]
    fn judgement_names_the_boot_and_reason() {
        let e = judged("nested", Verdict::Hang("x".into()), "w", Some(TIMEOUT)).unwrap_err();
        assert!(e.starts_with("nested: hang") && e.contains("300 s"), "{e}");
        let e = judged(
            "direct",
            Verdict::MissingResult,
            "papr-init: RESULT ok",
            None,
        )
        .unwrap_err();
        assert!(e.contains("papr-init: RESULT ok"), "{e}");
        assert!(judged("x", Verdict::Ok, "w", None).is_ok());
    }
}
