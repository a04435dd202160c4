//! `cargo xtask test` steps that keep every library crate publishable on its own (issue 19):
//!
//! * `cargo package` of the library crates together: each `.crate` is unpacked and built
//!   (no upload) against the other crates' `.crate` files, served from a temporary local
//!   registry, never from the workspace paths; once with default and once with all features;
//! * `cargo tree -d` of the library crates: no duplicated dependency versions beyond the
//!   known ones below;
//! * the MSRV (`rust-version` of the root `Cargo.toml`): the library crates build with that
//!   toolchain (installed explicitly, idempotently);
//! * `cargo semver-checks` of the library crates against the last release tag, or before the
//!   first release against [`BASELINE_REV`];
//! * `GUIDE.md`'s QEMU part type-checks for powerpc64le (the doc tests only compile it on
//!   powerpc64).

use crate::steps::{cargo, root, Report, PPC64LE};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The library crates in dependency order, as (folder, package); the L2 platform library is
/// included once it is a workspace member.
fn publishable() -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        ("gsb", "papr-gsb"),
        ("hcall", "papr-hcall"),
        ("mmu-radix", "papr-mmu-radix"),
        ("vcpu-state", "papr-vcpu-state"),
        ("nestedv2", "papr-nestedv2"),
    ];
    if platform_is_member() {
        v.push(("examples/platform", "papr-platform"));
    }
    v
}

/// Whether `examples/platform` exists and the root manifest lists it as a member.
fn platform_is_member() -> bool {
    let root = root();
    root.join("examples/platform/Cargo.toml").exists()
        && std::fs::read_to_string(root.join("Cargo.toml"))
            .map(|t| t.contains("\"examples/platform\""))
            .unwrap_or(false)
}

/// Dependencies allowed to appear in two versions in the library crates, with the reason.
/// Each must be re-checked when its users update.
const KNOWN_DUPLICATES: &[(&str, &str)] = &[(
    "syn",
    "thiserror-impl 2.0.21 is on syn 3; zerocopy-derive 0.8.66 and mockall_derive 0.15.0 \
     (the newest of each) are still on syn 2; proc-macro build dependencies only",
)];

/// The API that version 0.1.0 of the crates describes (the tree before issue 19), compared
/// against until a release tag (`v*` or `papr-*`) exists. papr-nestedv2 is 0.2.0 because
/// it broke that API (`ExitHandler::handle` gained its `VcpuContext` parameter).
pub const BASELINE_REV: &str = "e0b181d17b8613a788d0b6d055882dab5aa1bd9a";

/// The cargo-semver-checks release installed when it is missing (0.51 reads the rustdoc
/// JSON of Rust 1.93 and later).
const SEMVER_CHECKS: &str = "0.51.0";

/// Registers the steps in `r`.
pub fn test_steps(r: &mut Report) {
    let crates = publishable();
    let names: Vec<&str> = crates.iter().map(|(_, p)| *p).collect();
    r.step(
        "package: library crates built from their .crate files",
        || package(&names, false),
    );
    r.step(
        "package: library crates built from their .crate files (all features)",
        || package(&names, true),
    );
    r.step("cargo tree -d: library crates", || duplicates(&names));
    let msrv = rust_version();
    let toolchain = msrv.clone().unwrap_or_default();
    r.step("setup: MSRV toolchain", || match &msrv {
        Ok(v) => ensure_toolchain(v),
        Err(e) => Err(e.clone()),
    });
    for all in [false, true] {
        r.step(
            &format!(
                "MSRV {toolchain}: library crates build{}",
                if all { " (all features)" } else { "" }
            ),
            || msrv_build(&toolchain, &names, all),
        );
    }
    r.step("setup: cargo-semver-checks", ensure_semver_checks);
    r.step("semver: cargo semver-checks against the baseline", || {
        semver(&crates)
    });
    r.step(
        "GUIDE.md: the QEMU part type-checks for powerpc64le",
        guide_qemu,
    );
}

/// Runs `cmd`, streaming its output; `Err` names it when it fails.
fn status(mut cmd: Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    match cmd.status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(format!("{shown} exited with {s}")),
        Err(e) => Err(format!("could not start {shown}: {e}")),
    }
}

/// Runs `cmd` and returns its stdout, or `Err` with its stderr.
fn output(mut cmd: Command) -> Result<String, String> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| format!("could not start {shown}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{shown} exited with {}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `cargo package` of `crates` together, verified: cargo unpacks each `.crate` and builds it
/// with its sibling dependencies resolved from the other `.crate` files (a temporary local
/// registry overlaid on crates.io), so a file left out of a package, a path dependency
/// without a version or a feature that only works in the workspace fails here.
fn package(crates: &[&str], all_features: bool) -> Result<String, String> {
    forget_unpacked(crates)?;
    let target = root().join("target/package-verify");
    forget_built(&target)?;
    let mut c = cargo();
    c.args(["package", "--locked", "--allow-dirty", "--target-dir"])
        .arg(&target);
    if all_features {
        c.arg("--all-features");
    }
    for p in crates {
        c.args(["-p", p]);
    }
    status(c)?;
    let dir = target.join("package");
    let missing: Vec<String> = crates
        .iter()
        .filter_map(|p| {
            let v = version_of(p)?;
            let file = dir.join(format!("{p}-{v}.crate"));
            (!file.exists()).then(|| file.display().to_string())
        })
        .collect();
    if missing.is_empty() {
        Ok(format!("{} crates packaged and built", crates.len()))
    } else {
        Err(format!("no package file {}", missing.join(", ")))
    }
}

/// Removes cargo's unpacked copies of our own packages from `$CARGO_HOME/registry/src`.
/// Cargo unpacks a `.crate` of the temporary registry once per version and reuses that copy
/// while its version stays the same, so a package whose files changed since an earlier run
/// (a new module, same version) would be verified against its stale copy. Cargo unpacks a
/// missing copy again from the `.crate`.
fn forget_unpacked(crates: &[&str]) -> Result<(), String> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let Ok(registries) = std::fs::read_dir(home.join("registry/src")) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        let Ok(entries) = std::fs::read_dir(registry.path()) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let ours = crates.iter().any(|p| {
                name.strip_prefix(p)
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
            });
            if ours {
                std::fs::remove_dir_all(e.path())
                    .map_err(|err| format!("{}: {err}", e.path().display()))?;
            }
        }
    }
    Ok(())
}

/// Removes what the verification builds in `target` compiled of our own packages: cargo
/// takes a registry package as immutable and would link the sibling `.crate`s of an earlier
/// run (same version, other files) instead of building them again. Third-party
/// dependencies stay built.
fn forget_built(target: &Path) -> Result<(), String> {
    for dir in ["debug/.fingerprint", "debug/deps", "debug/build"] {
        let Ok(entries) = std::fs::read_dir(target.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("papr-")
                || name.starts_with("papr_")
                || name.starts_with("libpapr_")
            {
                let p = e.path();
                let r = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
                r.map_err(|err| format!("{}: {err}", p.display()))?;
            }
        }
    }
    Ok(())
}

/// The version of workspace package `pkg` (from `cargo pkgid`).
fn version_of(pkg: &str) -> Option<String> {
    let mut c = cargo();
    c.args(["pkgid", "-p", pkg]);
    let id = output(c).ok()?;
    id.trim().rsplit(['@', '#']).next().map(str::to_string)
}

/// Duplicated dependency versions in the library crates' normal and build dependencies
/// (all features, every target), against [`KNOWN_DUPLICATES`].
fn duplicates(crates: &[&str]) -> Result<String, String> {
    let mut c = cargo();
    c.args([
        "tree",
        "--locked",
        "-d",
        "-e",
        "normal,build",
        "--all-features",
        "--target",
        "all",
    ]);
    for p in crates {
        c.args(["-p", p]);
    }
    let text = output(c)?;
    print!("{text}");
    let mut dups: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.chars()
                .next()
                .is_some_and(|ch| ch.is_ascii_alphanumeric())
        })
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    dups.sort_unstable();
    dups.dedup();
    let unknown: Vec<&str> = dups
        .iter()
        .copied()
        .filter(|d| !KNOWN_DUPLICATES.iter().any(|(k, _)| k == d))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "new duplicated dependencies: {} (unify the versions, or add them with the \
             reason to KNOWN_DUPLICATES in xtask/src/package.rs)",
            unknown.join(", ")
        ));
    }
    let known: Vec<String> = dups
        .iter()
        .filter_map(|d| KNOWN_DUPLICATES.iter().find(|(k, _)| k == d))
        .map(|(k, why)| format!("{k}: {why}"))
        .collect();
    Ok(if known.is_empty() {
        "no duplicates".into()
    } else {
        format!("known only — {}", known.join("; "))
    })
}

/// `rust-version` of `[workspace.package]` in the root manifest.
fn rust_version() -> Result<String, String> {
    let text = std::fs::read_to_string(root().join("Cargo.toml"))
        .map_err(|e| format!("reading Cargo.toml: {e}"))?;
    let mut section = "";
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if section == "[workspace.package]" {
            if let Some(v) = line.strip_prefix("rust-version") {
                return Ok(v
                    .trim_start()
                    .trim_start_matches('=')
                    .trim()
                    .trim_matches('"')
                    .into());
            }
        }
    }
    Err("no rust-version in [workspace.package] of Cargo.toml".into())
}

/// `rustup run <toolchain> <cmd>` without the outer cargo's environment (which names the
/// stable binaries) and without an implicit toolchain install.
fn rustup_run(toolchain: &str, cmd: &str) -> Command {
    let mut c = Command::new("rustup");
    c.current_dir(root())
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env("RUSTUP_AUTO_INSTALL", "0")
        .args(["run", toolchain, cmd]);
    c
}

/// Installs toolchain `v` (minimal profile) unless `rustup run v rustc` already works.
fn ensure_toolchain(v: &str) -> Result<String, String> {
    let mut probe = rustup_run(v, "rustc");
    probe.arg("--version");
    if let Ok(out) = output(probe) {
        return Ok(format!("present: {}", out.trim()));
    }
    let mut install = Command::new("rustup");
    install.args(["toolchain", "install", v, "--profile", "minimal"]);
    status(install).map_err(|e| {
        format!("{e}; run `rustup toolchain install {v} --profile minimal` by hand")
    })?;
    Ok(format!("installed {v}"))
}

/// Builds the library crates (libraries only: tests and benches may use newer dev
/// dependencies) with toolchain `v`, from the same `Cargo.lock`.
fn msrv_build(v: &str, crates: &[&str], all_features: bool) -> Result<String, String> {
    if v.is_empty() {
        return Err("no MSRV (see the setup step)".into());
    }
    let mut c = rustup_run(v, "cargo");
    c.args(["build", "--locked", "--lib", "--target-dir", "target/msrv"]);
    if all_features {
        c.arg("--all-features");
    }
    for p in crates {
        c.args(["-p", p]);
    }
    status(c)?;
    Ok(format!("{} crates with Rust {v}", crates.len()))
}

/// Installs cargo-semver-checks unless `cargo semver-checks --version` works.
fn ensure_semver_checks() -> Result<String, String> {
    let mut probe = cargo();
    probe.args(["semver-checks", "--version"]);
    if let Ok(out) = output(probe) {
        return Ok(format!("present: {}", out.trim()));
    }
    let mut install = cargo();
    install.args([
        "install",
        "--locked",
        "cargo-semver-checks",
        "--version",
        SEMVER_CHECKS,
    ]);
    status(install).map_err(|e| {
        format!("{e}; run `cargo install --locked cargo-semver-checks --version {SEMVER_CHECKS}`")
    })?;
    Ok(format!("installed cargo-semver-checks {SEMVER_CHECKS}"))
}

/// The newest release tag (`v*` or `papr-*`), if any.
fn last_release_tag() -> Option<String> {
    let mut c = Command::new("git");
    c.current_dir(root())
        .args(["tag", "--list", "v*", "papr-*", "--sort=-creatordate"]);
    output(c).ok()?.lines().next().map(|t| t.trim().to_string())
}

/// Whether `path` exists at git revision `rev`.
fn exists_at(rev: &str, path: &str) -> bool {
    Command::new("git")
        .current_dir(root())
        .args(["cat-file", "-e", &format!("{rev}:{path}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `cargo semver-checks` of every library crate that exists at the baseline: a breaking
/// change without the version bump that announces it fails (all features, so the mocks
/// and the software L0 count as API too).
fn semver(crates: &[(&str, &str)]) -> Result<String, String> {
    let (baseline, what) = match last_release_tag() {
        Some(tag) => (tag.clone(), format!("tag {tag}")),
        None => (
            BASELINE_REV.to_string(),
            format!("{} (no release tag yet)", &BASELINE_REV[..8]),
        ),
    };
    if !exists_at(&baseline, "Cargo.toml") {
        return Err(format!(
            "baseline {what} is not in this clone (a shallow clone? run `git fetch --unshallow`)"
        ));
    }
    let (checked, new): (Vec<_>, Vec<_>) = crates
        .iter()
        .partition(|(dir, _)| exists_at(&baseline, &format!("{dir}/Cargo.toml")));
    let mut c = cargo();
    c.args([
        "semver-checks",
        "check-release",
        "--baseline-rev",
        &baseline,
        "--all-features",
    ]);
    for (_, p) in &checked {
        c.args(["-p", p]);
    }
    status(c)?;
    let mut note = format!("{} crates against {what}", checked.len());
    if !new.is_empty() {
        let names: Vec<&str> = new.iter().map(|(_, p)| *p).collect();
        note.push_str(&format!("; new since: {}", names.join(", ")));
    }
    Ok(note)
}

/// Type-checks `GUIDE.md`'s example for powerpc64le, where its QEMU part (`Sc1`,
/// `IdentityMemory`, `TimebaseClock`) is compiled in: the example becomes `main.rs` of a
/// scratch crate under `target/guide-qemu` (no linking, so no cross linker is needed).
fn guide_qemu() -> Result<String, String> {
    let root = root();
    let guide = std::fs::read_to_string(root.join("GUIDE.md"))
        .map_err(|e| format!("reading GUIDE.md: {e}"))?;
    let code = rust_block(&guide).ok_or("GUIDE.md has no ```rust block")?;
    if !code.contains("target_arch = \"powerpc64\"") {
        return Err("GUIDE.md's example has no powerpc64 (QEMU) part".into());
    }
    let dir = root.join("target/guide-qemu");
    std::fs::create_dir_all(dir.join("src")).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = |d: &str| root.join(d).display().to_string();
    let manifest = format!(
        "[package]\nname = \"guide-qemu\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
         publish = false\n\n[workspace]\n\n[dependencies]\n\
         papr-nestedv2 = {{ path = {:?}, features = [\"sim\"] }}\n\
         papr-hcall = {{ path = {:?}, features = [\"sim\"] }}\n\
         papr-mmu-radix = {{ path = {:?} }}\n\
         vm-memory = {{ version = \"0.18\", features = [\"backend-mmap\"] }}\n",
        path("nestedv2"),
        path("hcall"),
        path("mmu-radix"),
    );
    write(&dir.join("Cargo.toml"), &manifest)?;
    write(&dir.join("src/main.rs"), &code)?;
    // The workspace's lock file, so the scratch crate resolves the same versions.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))
        .map_err(|e| format!("copying Cargo.lock: {e}"))?;
    let mut c = cargo();
    c.current_dir(&dir).args([
        "check",
        "--target",
        PPC64LE,
        "--target-dir",
        "../guide-qemu-target",
    ]);
    status(c)?;
    Ok(format!(
        "{} lines checked for {PPC64LE}",
        code.lines().count()
    ))
}

/// The first ```` ```rust ```` block of a Markdown text, hidden-line markers (`# `) removed.
fn rust_block(md: &str) -> Option<String> {
    let start = md.find("```rust\n")? + "```rust\n".len();
    let len = md.get(start..)?.find("\n```")?;
    let body = md.get(start..start + len + 1)?;
    Some(
        body.lines()
            .map(|l| match l.strip_prefix('#') {
                Some(rest) if rest.is_empty() || rest.starts_with(' ') => {
                    rest.strip_prefix(' ').unwrap_or(rest)
                }
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Writes `text` to `path` unless it is there already (keeps cargo's fingerprints).
fn write(path: &Path, text: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
        return Ok(());
    }
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::rust_block;

    #[test]
    fn rust_block_takes_the_first_rust_block_and_unhides_lines() {
        let md = "# Title\n```toml\na = 1\n```\ntext\n```rust\n# use x;\n#[derive(Debug)]\nfn f() {}\n#\n```\n```rust\nfn g() {}\n```\n";
        assert_eq!(
            rust_block(md).as_deref(),
            Some("use x;\n#[derive(Debug)]\nfn f() {}\n")
        );
        assert_eq!(rust_block("no code"), None);
    }
}
