//! Running commands as named steps and reporting them in a table.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The target every library crate must build for without `std`.
pub const PPC64LE: &str = "powerpc64le-unknown-linux-gnu";

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.parent().map(Path::to_path_buf).unwrap_or(dir)
}

/// `cargo` as invoked by the user (respects `$CARGO`).
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// `cargo` of the nightly toolchain (`rustup run nightly cargo`): `$CARGO` is the stable
/// binary itself, which does not understand `+nightly`.
pub fn nightly_cargo() -> Command {
    let mut c = Command::new("rustup");
    c.current_dir(root())
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTDOC")
        .args(["run", "nightly", "cargo"]);
    c
}

/// Result of one step.
pub struct Outcome {
    pub name: String,
    pub ok: bool,
    pub time: Duration,
    pub detail: String,
}

/// Collects step outcomes and prints the summary table.
#[derive(Default)]
pub struct Report {
    outcomes: Vec<Outcome>,
}

impl Report {
    /// Runs `cmd` as step `name`, streaming its output.
    pub fn cmd(&mut self, name: &str, mut cmd: Command) -> bool {
        self.step(name, || {
            let shown = format!("{cmd:?}");
            match cmd.status() {
                Ok(s) if s.success() => Ok(String::new()),
                Ok(s) => Err(format!("{shown} exited with {s}")),
                Err(e) => Err(format!("could not start {shown}: {e}")),
            }
        })
    }

    /// Runs a step given as a closure returning `Ok(note)` or `Err(reason)`.
    pub fn step(&mut self, name: &str, f: impl FnOnce() -> Result<String, String>) -> bool {
        let n = self.outcomes.len() + 1;
        println!("\n==> [{n}] {name}");
        let start = Instant::now();
        let res = f();
        let time = start.elapsed();
        let (ok, detail) = match res {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        println!(
            "<== [{n}] {name}: {} in {:.1}s{}{}",
            if ok { "ok" } else { "FAILED" },
            time.as_secs_f64(),
            if detail.is_empty() { "" } else { " — " },
            detail
        );
        self.outcomes.push(Outcome {
            name: name.to_string(),
            ok,
            time,
            detail,
        });
        ok
    }

    /// Prints the summary table; `Err` if any step failed.
    pub fn finish(self) -> Result<(), String> {
        let width = self
            .outcomes
            .iter()
            .map(|o| o.name.len())
            .max()
            .unwrap_or(4)
            .max(4);
        println!("\n{:-<1$}", "", width + 30);
        println!("{:<width$}  result  time", "step");
        println!("{:-<1$}", "", width + 30);
        let mut failed = 0;
        let mut total = Duration::ZERO;
        for o in &self.outcomes {
            total += o.time;
            if !o.ok {
                failed += 1;
            }
            println!(
                "{:<width$}  {:<6}  {:>6.1}s{}",
                o.name,
                if o.ok { "ok" } else { "FAILED" },
                o.time.as_secs_f64(),
                if o.ok || o.detail.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", o.detail)
                }
            );
        }
        println!("{:-<1$}", "", width + 30);
        let passed = self.outcomes.len() - failed;
        println!("total time: {:.1}s", total.as_secs_f64());
        // Alone on its line, in the plain "N passed, N failed" form CI reads.
        println!("steps: {passed} passed, {failed} failed");
        if failed == 0 {
            Ok(())
        } else {
            Err(format!("{failed} step(s) failed"))
        }
    }
}

/// Makes sure a rustup target is installed (idempotent; needed because
/// `RUSTUP_AUTO_INSTALL=0` stops `rust-toolchain.toml` from installing it).
pub fn ensure_target(target: &str) -> Result<String, String> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(root())
        .output()
        .map_err(|e| {
            format!("rustup not found ({e}); install rustup, then run `rustup target add {target}`")
        })?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == target)
    {
        return Ok(format!("{target} already installed"));
    }
    let st = Command::new("rustup")
        .args(["target", "add", target])
        .current_dir(root())
        .status()
        .map_err(|e| format!("rustup target add {target}: {e}"))?;
    if st.success() {
        Ok(format!("installed {target}"))
    } else {
        Err(format!(
            "`rustup target add {target}` failed ({st}); run it by hand"
        ))
    }
}

/// Makes sure `cargo +nightly miri` works, installing the nightly toolchain with the miri
/// and rust-src components if needed (idempotent; `RUSTUP_AUTO_INSTALL=0` means nothing is
/// installed implicitly).
pub fn ensure_miri() -> Result<String, String> {
    let works = |c: &mut Command| c.output().map(|o| o.status.success()).unwrap_or(false);
    let mut probe = nightly_cargo();
    probe.args(["miri", "--version"]);
    if works(&mut probe) {
        return Ok("nightly miri present".into());
    }
    let st = Command::new("rustup")
        .args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
            "--component",
            "miri,rust-src",
        ])
        .status()
        .map_err(|e| format!("rustup not found ({e})"))?;
    let mut setup = nightly_cargo();
    setup.args(["miri", "setup"]);
    if st.success() && works(&mut setup) {
        Ok("installed nightly with miri and rust-src".into())
    } else {
        Err("could not install miri: run `rustup toolchain install nightly --profile minimal --component miri,rust-src`".into())
    }
}

/// The library crates that exist in this checkout, as (folder, package).
pub fn library_crates() -> Vec<(&'static str, String)> {
    ["gsb", "hcall", "vcpu-state", "mmu-radix", "nestedv2"]
        .into_iter()
        .filter(|d| root().join(d).join("src/lib.rs").exists())
        .map(|d| (d, format!("papr-{d}")))
        .collect()
}
