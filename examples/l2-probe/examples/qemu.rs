//! Boots the probe kernel on QEMU and judges its console.
//!
//! ```text
//! cargo run -p papr-l2-probe --example qemu -- [--panic] [--at-zero] [--vmm BIOS] [OUT_DIR]
//! ```
//!
//! * default: directly, as a plain pseries guest (no L1), judged for
//!   [`Target::QemuDirect`] — what QEMU itself answers. `--at-zero` runs it at GPA 0
//!   instead of 0x400000.
//! * `--vmm BIOS`: as the L2 of the VMM image `BIOS` (`pseries-vmm.bin`), judged for
//!   [`Target::Platform`]; with `--panic` QEMU must also exit non-zero (`-action
//!   panic=exit-failure`) and the console must hold the kernel's `ibm,os-term` text.
//! * `--panic`: the panic kernel, judged by `judge_panic`.
//!
//! Writes `probe.elf` and, for direct boots, `bios.bin` to `OUT_DIR` (default: a
//! temporary directory), runs `qemu-system-ppc64` (or `$QEMU`) for at most 300 s, prints
//! the console and QEMU's exit status, and exits 0 when the judge passes.

use papr_l2_probe::kernel::PANIC_TEXT;
use papr_l2_probe::{boot, judge_for, judge_panic, kernel_elf, panic_kernel_elf, Target};
use std::io::Read;
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("qemu: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs QEMU with `args` for at most `limit`; returns its exit status (None: killed) and
/// its standard output.
fn qemu(args: &[String], limit: Duration) -> Result<(Option<ExitStatus>, String), String> {
    let program = std::env::var("QEMU").unwrap_or_else(|_| "qemu-system-ppc64".into());
    eprintln!("{program} {}", args.join(" "));
    let mut child = Command::new(&program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(s);
        }
        if t0.elapsed() > limit {
            child.kill().map_err(|e| e.to_string())?;
            child.wait().map_err(|e| e.to_string())?;
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let bytes = reader.join().map_err(|_| "the reader thread panicked")?;
    println!("-- QEMU {status:?} after {:.2?}", t0.elapsed());
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let (panic, at_zero) = (flag("--panic"), flag("--at-zero"));
    let vmm = args
        .iter()
        .position(|a| a == "--vmm")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let dir = match args
        .iter()
        .rfind(|a| !a.starts_with("--") && Some(*a) != vmm.as_ref())
    {
        Some(d) => std::path::PathBuf::from(d),
        None => std::env::temp_dir().join(format!("l2-probe-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir)?;
    let elf = dir.join("probe.elf");
    let image = if panic {
        panic_kernel_elf()?
    } else {
        kernel_elf()?
    };
    std::fs::write(&elf, &image)?;
    let elf_path = elf.to_str().ok_or("non-UTF-8 path")?;
    let (qemu_args, target) = match &vmm {
        Some(bios) => {
            let mut a = boot::vmm_qemu_args(bios, elf_path, image.len());
            a.extend(["-action".into(), "panic=exit-failure".into()]);
            (a, Target::Platform)
        }
        None => {
            let bios = dir.join("bios.bin");
            let stub = if at_zero {
                boot::direct_bios_at_zero()
            } else {
                boot::direct_bios()
            };
            std::fs::write(&bios, stub)?;
            let bios_path = bios.to_str().ok_or("non-UTF-8 path")?;
            (
                boot::direct_qemu_args(bios_path, elf_path),
                Target::QemuDirect,
            )
        }
    };
    let (status, console) = qemu(&qemu_args, Duration::from_secs(300))?;
    print!("{console}");
    if panic {
        let mut ok = match judge_panic(&console) {
            Ok(t) => {
                println!("PASS: {t:x?}");
                true
            }
            Err(bad) => {
                bad.iter().for_each(|m| println!("MISMATCH {m}"));
                false
            }
        };
        if vmm.is_some() {
            let failed = status.is_some_and(|s| !s.success());
            let text = console.contains(PANIC_TEXT);
            println!("QEMU exit non-zero: {failed}; panic text on the console: {text}");
            ok &= failed && text;
        }
        return Ok(ok);
    }
    Ok(match judge_for(&console, target) {
        Ok(s) => {
            println!("PASS ({target:?}): {s:?}");
            status.is_some_and(|s| s.success())
        }
        Err(bad) => {
            bad.iter().for_each(|m| println!("MISMATCH {m}"));
            false
        }
    })
}
