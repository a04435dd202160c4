//! `cargo xtask test`: every check, in order, with a summary table.

use crate::pseries;
use crate::steps::{
    cargo, ensure_miri, ensure_target, library_crates, nightly_cargo, Report, PPC64LE,
};

pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(a) = args.first() {
        return Err(format!("`cargo xtask test` takes no arguments (got {a:?})"));
    }
    let mut r = Report::default();

    r.step("setup: rustup target", || ensure_target(PPC64LE));

    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    r.cmd("cargo fmt --check", fmt);

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]);
    r.cmd("clippy -D warnings (all targets, all features)", clippy);

    let mut tests = cargo();
    tests.args(["test", "--workspace", "--all-features", "--all-targets"]);
    r.cmd("tests (unit, integration, bench smoke)", tests);

    let mut doctests = cargo();
    doctests.args(["test", "--workspace", "--all-features", "--doc"]);
    r.cmd("doc tests", doctests);

    let mut doc = cargo();
    doc.env("RUSTDOCFLAGS", "-D warnings").args([
        "doc",
        "--workspace",
        "--no-deps",
        "--all-features",
    ]);
    r.cmd("rustdoc -D warnings", doc);

    for (_, pkg) in library_crates() {
        let mut b = cargo();
        b.args([
            "build",
            "-p",
            &pkg,
            "--target",
            PPC64LE,
            "--no-default-features",
        ]);
        r.cmd(&format!("no_std build {pkg} ({PPC64LE})"), b);
    }
    // The L2 platform library (examples/platform) is no_std + alloc too.
    let mut b = cargo();
    b.args([
        "build",
        "-p",
        "papr-platform",
        "--target",
        PPC64LE,
        "--no-default-features",
    ]);
    r.cmd(&format!("no_std build papr-platform ({PPC64LE})"), b);

    // Publishability: packages built from their .crate files, duplicates, MSRV, semver.
    crate::package::test_steps(&mut r);

    r.step("setup: nightly toolchain with miri", ensure_miri);
    let mut miri = nightly_cargo();
    miri.env("PROPTEST_CASES", "8")
        .env("MIRIFLAGS", "-Zmiri-disable-isolation")
        .args(["miri", "test"]);
    for (dir, pkg) in library_crates() {
        // The pure crates whole; hcall's unit tests (IdentityMemory's raw pointer copies).
        if dir == "hcall" || dir == "nestedv2" {
            continue;
        }
        miri.args(["-p", &pkg]);
    }
    r.cmd("miri: pure crates (gsb, mmu-radix, vcpu-state)", miri);
    let mut miri_hcall = nightly_cargo();
    miri_hcall
        .env("MIRIFLAGS", "-Zmiri-disable-isolation")
        .args(["miri", "test", "-p", "papr-hcall", "--lib"]);
    r.cmd("miri: papr-hcall unit tests", miri_hcall);
    // The concurrency proof (4 threads x 8 vCPUs over the software L0, ~25 s under Miri):
    // data races between the L1's table updates, its run buffers and the L0 are UB here.
    let mut miri_conc = nightly_cargo();
    miri_conc
        .env("MIRIFLAGS", "-Zmiri-disable-isolation")
        .args([
            "miri",
            "test",
            "-p",
            "papr-nestedv2",
            "--features",
            "sim",
            "--test",
            "concurrent",
        ]);
    r.cmd(
        "miri: papr-nestedv2 concurrent (threads x vCPUs x exits)",
        miri_conc,
    );

    r.step("fault matrix: SoftL0 x nestedv2 call sites", fault_matrix);
    r.step("hosted example: cargo run -p hosted", hosted);

    crate::fuzz::smoke(&mut r);

    pseries::test_steps(&mut r);
    crate::linux::test_steps(&mut r);
    crate::probe::test_steps(&mut r);
    // The two L1s `cargo xtask compare` boots (it is not part of this suite: it boots
    // Linux KVM and ours 3x each); their code stays formatted and lint-clean here.
    crate::bios::lint_steps(&mut r, "exit-bench", &[&[], &["stamps"]]);
    crate::bios::lint_steps(&mut r, "kvm-l1-init", &[&[]]);

    r.finish()
}

/// Runs the hosted example (an L1 VMM on the software L0) and checks what it prints.
fn hosted() -> Result<String, String> {
    let out = cargo()
        .args(["run", "--quiet", "-p", "hosted"])
        .output()
        .map_err(|e| format!("cargo run -p hosted: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    let want = [
        "Hello from an L2 guest under PAPR Nested APIv2!",
        "[vmm] mmio read  dev+0x0 (id) -> 0x50415052",
        "[vmm] L2 exited with status 0",
        "[vmm] guest deleted, the L0 holds no guests",
    ];
    if !out.status.success() {
        return Err(format!("hosted exited with {}", out.status));
    }
    match want.iter().find(|w| !text.contains(*w)) {
        Some(missing) => Err(format!("hosted output lacks {missing:?}")),
        None => Ok(format!(
            "{} lines, L2 exited with status 0",
            text.lines().count()
        )),
    }
}

/// Runs the fault-injection matrix (nestedv2 over SoftL0) and reports its size and result.
fn fault_matrix() -> Result<String, String> {
    let out = cargo()
        .args([
            "test",
            "--quiet",
            "-p",
            "papr-nestedv2",
            "--all-features",
            "--test",
            "softl0",
            "fault_injection",
            "--",
            "--nocapture",
        ])
        .output()
        .map_err(|e| format!("cargo test: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("fault matrix:"));
    match (out.status.success(), line) {
        (true, Some(l)) => {
            println!("{l}");
            Ok(l.trim_start_matches("fault matrix: ").to_string())
        }
        (true, None) => Err("the fault matrix test printed no summary".into()),
        (false, _) => {
            print!("{text}{}", String::from_utf8_lossy(&out.stderr));
            Err(format!("the fault matrix failed ({})", out.status))
        }
    }
}
