//! `cargo xtask run probe`: the hostile test L2 (`examples/l2-probe`) under the VMM on QEMU.
//!
//! The probe kernel, a small big-endian `ET_DYN` ELF, is handed to the VMM raw
//! (`-device loader`, `vmm.kernel=`), so the VMM's ELF loader places it at 0x400000. It
//! sends 63 malformed and valid hcalls and RTAS calls and prints what each returned; the
//! judge compares every answer with QEMU's spapr (and the platform's documented departures
//! where QEMU's nested L0 would abort). A second kernel executes an illegal instruction and
//! must end the run through `ibm,os-term` with a non-zero exit: never a hang.

use crate::bios;
use crate::qemu::{self, Boot};
use crate::steps::{root, Report};
use std::path::PathBuf;
use std::time::Duration;

/// The VMM boots the probe in well under a second; QEMU itself takes a few.
const TIMEOUT: Duration = Duration::from_secs(60);

fn write_elf(name: &str, elf: &[u8]) -> Result<PathBuf, String> {
    let dir = root().join("target").join("l2-probe");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, elf).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Boots `elf` as the L2 of the VMM image `vmm`.
fn boot(vmm: &std::path::Path, name: &str, elf: &[u8]) -> Result<Boot, String> {
    let path = write_elf(name, elf)?;
    let file = path
        .to_str()
        .ok_or_else(|| format!("{} is not UTF-8", path.display()))?;
    let mut cmd = qemu::command_with("kernel-addr=0x10000000", "2G", vmm);
    cmd.args(papr_l2_probe::qemu_args(file, elf.len()));
    qemu::boot(cmd, TIMEOUT)
}

/// Both probe kernels under the VMM; `Ok` names what was proven.
pub fn run_probes() -> Result<String, String> {
    qemu::ensure()?;
    let vmm = bios::build(&crate::linux::VMM)?;
    let kernel = papr_l2_probe::kernel_elf().map_err(|e| format!("probe kernel: {e}"))?;
    let b = boot(&vmm, "probe.elf", &kernel)?;
    let code = b.status.and_then(|s| s.code());
    let summary = papr_l2_probe::judge(&b.console).map_err(|bad| {
        let lines: Vec<String> = bad.iter().map(|m| format!("  {m}")).collect();
        format!(
            "probe kernel under the VMM: {} mismatch(es):\n{}",
            bad.len(),
            lines.join("\n")
        )
    })?;
    if code != Some(0) {
        return Err(format!(
            "probe kernel: every answer right, but QEMU exited {code:?} (the VMM must power off after the L2's power-off)"
        ));
    }
    let panic = papr_l2_probe::panic_kernel_elf().map_err(|e| format!("panic kernel: {e}"))?;
    let p = boot(&vmm, "probe-panic.elf", &panic)?;
    let trap = papr_l2_probe::judge_panic(&p.console).map_err(|bad| {
        let lines: Vec<String> = bad.iter().map(|m| format!("  {m}")).collect();
        format!("panic kernel under the VMM:\n{}", lines.join("\n"))
    })?;
    let pcode = p.status.and_then(|s| s.code());
    if pcode == Some(0) || p.status.is_none() {
        return Err(format!(
            "panic kernel: QEMU exited {pcode:?} (killed: {}); an L2 panic must end the run with a non-zero status",
            p.status.is_none()
        ));
    }
    Ok(format!(
        "{} probes answered as expected (H_CEDE slept {} ticks, L0 clock year {}), exit 0; \
         panic kernel: program interrupt {:#x} at {:#x} -> ibm,os-term, exit {}",
        summary.probes,
        summary.cede_ticks,
        summary.year,
        trap.vector,
        trap.srr0,
        pcode.unwrap_or(-1)
    ))
}

/// `cargo xtask run probe`.
pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!(
            "`cargo xtask run probe` takes no arguments (got {a:?})"
        ));
    }
    let what = run_probes()?;
    println!("l2-probe: {what}");
    Ok(())
}

/// The `cargo xtask test` step.
pub fn test_steps(r: &mut Report) -> bool {
    r.step("hostile test L2 under the VMM (l2-probe)", run_probes)
}
