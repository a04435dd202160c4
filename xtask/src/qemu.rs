//! QEMU for the pseries example: find (or install) a `qemu-system-ppc64` with Nested APIv2
//! (`cap-nested-papr`, QEMU ≥ 9.0), and boot an image with a deadline, streaming its console.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The QEMU binary.
pub const QEMU: &str = "qemu-system-ppc64";

/// Where the bookworm-backports suite is declared (qemu-pseries.md, "Installing").
const BACKPORTS_FILE: &str = "/etc/apt/sources.list.d/backports.sources";
const BACKPORTS: &str = "Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

/// The machine: TCG pseries with Nested APIv2; the spectre caps TCG cannot honour are turned
/// off so that QEMU prints no warning about them.
const MACHINE: &str = "pseries,cap-nested-papr=on,cap-cfpc=broken,cap-sbbc=broken,\
                       cap-ibs=broken,cap-ccf-assist=off";

/// `Ok(version)` when the installed QEMU has `cap-nested-papr`, `Err(why not)` otherwise.
fn check() -> Result<String, String> {
    let out = Command::new(QEMU)
        .arg("--version")
        .output()
        .map_err(|e| format!("{QEMU} not found ({e})"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let version = text
        .split_whitespace()
        .skip_while(|w| *w != "version")
        .nth(1)
        .unwrap_or("?")
        .to_string();
    let props = Command::new(QEMU)
        .args(["-M", "pseries,help"])
        .output()
        .map_err(|e| format!("{QEMU} -M pseries,help: {e}"))?;
    if String::from_utf8_lossy(&props.stdout).contains("cap-nested-papr") {
        Ok(version)
    } else {
        Err(format!(
            "{QEMU} {version} has no cap-nested-papr (Nested APIv2 needs QEMU ≥ 9.0)"
        ))
    }
}

/// The commands that install a suitable QEMU on Debian bookworm, for humans.
fn manual_commands() -> String {
    format!(
        "as root on Debian bookworm:\n  cat > {BACKPORTS_FILE} <<'EOF'\n{BACKPORTS}EOF\n  \
         apt-get update && apt-get install -y -t bookworm-backports qemu-system-ppc\n\
         (on Debian trixie or later: apt-get install -y qemu-system-ppc; elsewhere install \
         QEMU ≥ 9.0 with {QEMU} on PATH)"
    )
}

/// The value of `key` in `/etc/os-release` (quotes removed).
pub fn os_release(key: &str) -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .map(|v| v.trim_matches('"').to_string())
}

/// Whether this process runs as root (`id -u` is 0).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs `apt-get <args…>` non-interactively, echoing the command; `Err` names a failure.
pub fn apt(args: &[&str]) -> Result<(), String> {
    println!("+ apt-get {}", args.join(" "));
    let st = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("apt-get: {e}"))?;
    if st.success() {
        Ok(())
    } else {
        Err(format!("`apt-get {}` failed ({st})", args.join(" ")))
    }
}

/// Makes sure a QEMU with `cap-nested-papr` is installed; installs it when running as root on
/// Debian (bookworm: from bookworm-backports), and otherwise stops with the exact commands.
/// Idempotent: does nothing when a suitable QEMU is already there.
pub fn ensure() -> Result<String, String> {
    let why = match check() {
        Ok(v) => return Ok(format!("QEMU {v} with cap-nested-papr")),
        Err(why) => why,
    };
    let debian = os_release("ID").as_deref() == Some("debian");
    if !debian || !is_root() {
        return Err(format!(
            "{why}; cannot install it here (needs root on Debian). Install it {}",
            manual_commands()
        ));
    }
    let codename = os_release("VERSION_CODENAME").unwrap_or_default();
    if codename == "bookworm" {
        let declared = std::fs::read_dir("/etc/apt/sources.list.d")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| {
                let n = e.file_name();
                let n = n.to_string_lossy();
                n.ends_with(".sources") || n.ends_with(".list")
            })
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .any(|t| t.contains("bookworm-backports"));
        if !declared {
            println!("+ writing {BACKPORTS_FILE}");
            std::fs::write(BACKPORTS_FILE, BACKPORTS)
                .map_err(|e| format!("writing {BACKPORTS_FILE}: {e}"))?;
        }
        apt(&["update"])?;
        apt(&[
            "install",
            "-y",
            "-t",
            "bookworm-backports",
            "qemu-system-ppc",
        ])?;
    } else {
        apt(&["update"])?;
        apt(&["install", "-y", "qemu-system-ppc"])?;
    }
    check()
        .map(|v| format!("installed QEMU {v} with cap-nested-papr"))
        .map_err(|e| format!("after installing: {e}. Install it {}", manual_commands()))
}

/// The command line that boots `image` (a flat binary loaded at real address 0).
pub fn command(image: &Path) -> Command {
    command_with("", "1G", image)
}

/// The command line that boots `image` as `-bios` with `machine_extra` appended to the
/// machine's properties (e.g. `kernel-addr=0x10000000`, empty for none) and `memory` RAM
/// (QEMU's `-m`, e.g. `2G`).
pub fn command_with(machine_extra: &str, memory: &str, image: &Path) -> Command {
    let machine = if machine_extra.is_empty() {
        MACHINE.to_string()
    } else {
        format!("{MACHINE},{machine_extra}")
    };
    let mut c = Command::new(QEMU);
    c.args(["-M", &machine, "-cpu", "power10", "-m", memory, "-smp", "1"])
        .args(["-nographic", "-no-reboot", "-action", "panic=exit-failure"])
        .arg("-bios")
        .arg(image);
    c
}

/// What one boot did.
#[derive(Debug)]
pub struct Boot {
    /// QEMU's exit status; `None` when it was killed at the deadline.
    pub status: Option<ExitStatus>,
    /// Everything the L1 printed (console), `\r` removed.
    pub console: String,
    /// What QEMU printed on stderr.
    pub stderr: String,
    /// From QEMU's start to the first console byte.
    pub first_output: Option<Duration>,
    /// From QEMU's start to its exit (or the kill).
    pub elapsed: Duration,
    /// When the console grew: (time since QEMU's start, console length in bytes after it).
    pub timeline: Vec<(Duration, usize)>,
}

impl Boot {
    /// Host time from QEMU's start until the console first held `needle` in full.
    pub fn time_of(&self, needle: &str) -> Option<Duration> {
        let end = self.console.find(needle)? + needle.len();
        self.timeline
            .iter()
            .find(|(_, len)| *len >= end)
            .map(|(t, _)| *t)
    }
}

/// Where QEMU's console input comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Nothing: the guest sees no input (a judged, unattended boot).
    None,
    /// Typed input from a script: once the console shows `after`, `text` is written to QEMU's
    /// console input (as a user would type it), and the pipe stays open until QEMU exits.
    Script {
        /// The console text to wait for.
        after: String,
        /// What is typed then.
        text: String,
    },
    /// This process's stdin, so that what the user types reaches the guest's console.
    Stdin,
}

/// Starts `cmd`, echoes its console live (stdout as is, stderr prefixed `[qemu]`), and waits at
/// most `timeout`, killing the QEMU it started when the deadline passes.
pub fn boot(cmd: Command, timeout: Duration) -> Result<Boot, String> {
    boot_with(cmd, Some(timeout), true, Input::None)
}

/// [`boot`] with console input from `input` and an optional deadline (`None`: wait for QEMU
/// to exit however long it takes, e.g. an interactive shell).
pub fn boot_input(cmd: Command, timeout: Option<Duration>, input: Input) -> Result<Boot, String> {
    boot_with(cmd, timeout, true, input)
}

/// [`boot`] without the live echo of the console; afterwards prints its lines that are not
/// conformance trace lines (`T …`, hundreds of them, kept in [`Boot::console`]).
pub fn boot_quiet(cmd: Command, timeout: Duration) -> Result<Boot, String> {
    let boot = boot_with(cmd, Some(timeout), false, Input::None)?;
    let trace = boot.console.lines().filter(|l| l.starts_with("T ")).count();
    for l in boot.console.lines().filter(|l| !l.starts_with("T ")) {
        println!("{l}");
    }
    println!("({trace} trace lines captured)");
    Ok(boot)
}

fn boot_with(
    mut cmd: Command,
    timeout: Option<Duration>,
    echo: bool,
    input: Input,
) -> Result<Boot, String> {
    println!("+ {cmd:?}");
    let start = Instant::now();
    let stdin = match input {
        Input::None => Stdio::null(),
        Input::Script { .. } => Stdio::piped(),
        Input::Stdin => Stdio::inherit(),
    };
    let mut child = cmd
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {QEMU}: {e}"))?;
    let console = Arc::new(Mutex::new(Vec::<u8>::new()));
    let first = Arc::new(Mutex::new(None::<Duration>));
    let timeline = Arc::new(Mutex::new(Vec::<(Duration, usize)>::new()));
    let out_thread = child.stdout.take().map(|mut out| {
        let (console, first) = (Arc::clone(&console), Arc::clone(&first));
        let timeline = Arc::clone(&timeline);
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = out.read(&mut buf) {
                let bytes: Vec<u8> = buf[..n].iter().copied().filter(|&b| b != b'\r').collect();
                if let Ok(mut f) = first.lock() {
                    f.get_or_insert(start.elapsed());
                }
                if echo {
                    let mut so = std::io::stdout().lock();
                    let _ = so.write_all(&bytes);
                    let _ = so.flush();
                }
                if let Ok(mut c) = console.lock() {
                    c.extend_from_slice(&bytes);
                    if let Ok(mut t) = timeline.lock() {
                        t.push((start.elapsed(), c.len()));
                    }
                }
            }
        })
    });
    let err_thread = child.stderr.take().map(|mut err| {
        thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(&mut err).lines().map_while(Result::ok) {
                eprintln!("[qemu] {line}");
                text.push_str(&line);
                text.push('\n');
            }
            text
        })
    });
    let mut script = match input {
        Input::Script { after, text } => child.stdin.take().map(|pipe| (after, text, pipe, false)),
        Input::None | Input::Stdin => None,
    };
    let status = loop {
        if let Some((after, text, pipe, sent)) = script.as_mut() {
            let seen = !*sent
                && console
                    .lock()
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(after.as_str()));
            if seen {
                *sent = true;
                pipe.write_all(text.as_bytes())
                    .and_then(|()| pipe.flush())
                    .map_err(|e| format!("typing into {QEMU}'s console: {e}"))?;
            }
        }
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if timeout.is_some_and(|t| start.elapsed() >= t) => {
                // Our own child, by its handle (SIGKILL to this one process).
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("waiting for {QEMU}: {e}")),
        }
    };
    let elapsed = start.elapsed();
    if let Some(t) = out_thread {
        let _ = t.join();
    }
    let stderr = err_thread.and_then(|t| t.join().ok()).unwrap_or_default();
    let console = String::from_utf8_lossy(&console.lock().map(|c| c.clone()).unwrap_or_default())
        .into_owned();
    let first_output = first.lock().ok().and_then(|f| *f);
    let timeline = timeline.lock().map(|t| t.clone()).unwrap_or_default();
    Ok(Boot {
        status,
        console,
        stderr,
        first_output,
        elapsed,
        timeline,
    })
}
