//! Host runner of the conformance suite (used by `cargo xtask conformance`).
//!
//! * `papr-conformance run [--out FILE] [--only NAME]` — runs every scenario on the software
//!   L0, writes the trace (stdout or FILE) and prints `<scenario>: softl0: N events` per
//!   scenario (stderr when the trace goes to stdout). Fails if a scenario stopped with an
//!   `error` event or a request would have killed QEMU.
//! * `papr-conformance diff QEMU_TRACE SOFTL0_TRACE` — first checks each trace's identity
//!   header (`H papr-scenarios …`): a trace made by another suite or trace format (stale),
//!   on the wrong L0, or without a header (foreign) is refused, saying which. Then per
//!   scenario `same`, a known difference of `known::KNOWN` (each tied to its exact line),
//!   or the first difference. Fails on any other difference, a missing scenario, or a listed
//!   known difference that did not occur.
//!
//! Exit status: 0 pass, 1 fail, 2 a trace refused for its identity (stale or foreign).

use papr_scenarios::known::{judge, KNOWN};
use papr_scenarios::softl0;
use papr_scenarios::suite;
use papr_scenarios::trace::{parse_trace, scenario_names, Identity, TraceLine};
use std::io::Write;
use std::process::ExitCode;

/// Exit status of a trace refused for its identity.
const REFUSED: u8 = 2;

/// Why a command failed.
enum Failure {
    /// A trace was refused for its identity (exit status [`REFUSED`]).
    Refused(String),
    /// Anything else (exit status 1).
    Other(String),
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Failure::Other(s)
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or(&[]);
    let r = match args.first().map(String::as_str) {
        Some("run") => run(rest).map_err(Failure::Other),
        Some("diff") => diff(rest),
        _ => Err(Failure::Other(
            "usage: papr-conformance run [--out FILE] [--only NAME] | diff QEMU SOFTL0".into(),
        )),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused(e)) => {
            eprintln!("papr-conformance: {e}");
            ExitCode::from(REFUSED)
        }
        Err(Failure::Other(e)) => {
            eprintln!("papr-conformance: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), String> {
    let mut out = None;
    let mut only = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => out = it.next().cloned(),
            "--only" => only = it.next().cloned(),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let mut scenarios = suite::all();
    if let Some(name) = &only {
        // The suite is one session: run everything before `name` too, print only it.
        let end = scenarios
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| format!("no scenario {name:?}"))?;
        scenarios.truncate(end + 1);
    }
    let session = softl0::run(&scenarios)?;
    let keep = |t: &TraceLine| only.as_ref().is_none_or(|n| &t.scenario == n);
    // The identity is the whole suite's only when the whole suite ran.
    let mut text = if only.is_none() {
        format!("{}\n", Identity::of(&scenarios, "softl0"))
    } else {
        String::new()
    };
    text.extend(
        session
            .trace
            .iter()
            .filter(|t| keep(t))
            .map(|t| format!("{t}\n")),
    );
    match &out {
        Some(path) => {
            if let Some(dir) = std::path::Path::new(path).parent() {
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
            std::fs::write(path, &text).map_err(|e| format!("{path}: {e}"))?;
        }
        None => {
            std::io::stdout()
                .write_all(text.as_bytes())
                .map_err(|e| e.to_string())?;
        }
    }
    let say = |line: String| {
        if out.is_some() {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
    };
    let mut failed = 0;
    for s in scenarios
        .iter()
        .filter(|s| only.as_ref().is_none_or(|n| s.name == n))
    {
        let events: Vec<&TraceLine> = session
            .trace
            .iter()
            .filter(|t| t.scenario == s.name)
            .collect();
        let error = events.iter().find(|t| t.kind == "error");
        let mut line = format!("{:<36} softl0: {} events", s.name, events.len());
        if let Some(e) = error {
            failed += 1;
            line.push_str(&format!("  DRIVER ERROR: {}", e.body()));
        }
        say(line);
        for l in &s.limitations {
            say(format!("{:<36}   limitation: {l}", ""));
        }
    }
    say(format!(
        "softl0: {} scenarios, {} events",
        scenarios.len(),
        session.trace.len()
    ));
    if !session.would_abort.is_empty() {
        return Err(format!(
            "requests that would kill QEMU reached the software L0: {:?}",
            session.would_abort
        ));
    }
    if failed > 0 {
        return Err(format!("{failed} scenario(s) stopped with a driver error"));
    }
    Ok(())
}

/// Reads a trace, refusing it unless its identity header says it was made by this suite
/// and trace format on `l0`.
fn read_trace(
    path: &str,
    l0: &str,
    scenarios: &[papr_scenarios::Scenario],
) -> Result<Vec<TraceLine>, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let what = if l0 == "qemu" {
        "reference"
    } else {
        "candidate"
    };
    Identity::find(&text)
        .and_then(|id| id.check(scenarios, l0))
        .map_err(|e| Failure::Refused(format!("refusing the {what} trace {path}: {e}")))?;
    Ok(parse_trace(&text).map_err(|(n, e)| format!("{path}:{n}: {e}"))?)
}

fn diff(args: &[String]) -> Result<(), Failure> {
    let [qemu, soft] = args else {
        return Err(Failure::Other(
            "usage: papr-conformance diff QEMU_TRACE SOFTL0_TRACE".into(),
        ));
    };
    let scenarios = suite::all();
    let q = read_trace(qemu, "qemu", &scenarios)?;
    let s = read_trace(soft, "softl0", &scenarios)?;
    let mut names: Vec<String> = scenarios.iter().map(|s| s.name.to_string()).collect();
    for n in scenario_names(&q).into_iter().chain(scenario_names(&s)) {
        if !names.iter().any(|m| m == n) {
            names.push(n.to_string());
        }
    }
    let (mut same, mut known, mut bad) = (0, 0, 0);
    for n in &names {
        let v = judge(&q, &s, n, KNOWN);
        if v.fails() {
            bad += 1;
        } else if matches!(v, papr_scenarios::known::Verdict::Same { .. }) {
            same += 1;
        } else {
            known += 1;
        }
        println!("{n:<36} {v}");
    }
    println!(
        "conformance: {} scenarios: {same} same, {known} with known differences ({} lines), \
         {bad} different",
        names.len(),
        KNOWN.len()
    );
    if bad > 0 {
        return Err(Failure::Other(format!("{bad} scenario(s) differ")));
    }
    Ok(())
}
