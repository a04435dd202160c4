//! Host runner of the conformance suite (used by `cargo xtask conformance`).
//!
//! * `papr-conformance run [--out FILE] [--only NAME]` — runs every scenario on the software
//!   L0, writes the trace (stdout or FILE) and prints `<scenario>: softl0: N events` per
//!   scenario (stderr when the trace goes to stdout). Fails if a scenario stopped with an
//!   `error` event or a request would have killed QEMU.
//! * `papr-conformance diff QEMU_TRACE SOFTL0_TRACE` — per scenario `same`, a listed known
//!   difference, or the first difference. Fails on any other difference or a missing
//!   scenario.

use papr_scenarios::softl0;
use papr_scenarios::trace::{compare, parse_trace, scenario_names, Comparison, TraceLine};
use papr_scenarios::{suite, Scenario};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or(&[]);
    let r = match args.first().map(String::as_str) {
        Some("run") => run(rest),
        Some("diff") => diff(rest),
        _ => {
            Err("usage: papr-conformance run [--out FILE] [--only NAME] | diff QEMU SOFTL0".into())
        }
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
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
    let text: String = session
        .trace
        .iter()
        .filter(|t| keep(t))
        .map(|t| format!("{t}\n"))
        .collect();
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

fn read_trace(path: &str) -> Result<Vec<TraceLine>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    parse_trace(&text).map_err(|(n, e)| format!("{path}:{n}: {e}"))
}

/// The verdict for one scenario: (text, counts as a failure).
fn verdict(s: Option<&Scenario>, c: &Comparison) -> (String, bool) {
    match (c, s.and_then(|s| s.known_difference)) {
        (Comparison::Same { .. }, Some(_)) => {
            ("same (the listed known difference is gone)".into(), false)
        }
        (Comparison::Same { .. }, None) => ("same".into(), false),
        (Comparison::Differs { .. }, Some(why)) => {
            (format!("known difference ({why}): {c}"), false)
        }
        (_, _) => (c.to_string(), true),
    }
}

fn diff(args: &[String]) -> Result<(), String> {
    let [qemu, soft] = args else {
        return Err("usage: papr-conformance diff QEMU_TRACE SOFTL0_TRACE".into());
    };
    let q = read_trace(qemu)?;
    let s = read_trace(soft)?;
    let scenarios = suite::all();
    let mut names: Vec<String> = scenarios.iter().map(|s| s.name.to_string()).collect();
    for n in scenario_names(&q).into_iter().chain(scenario_names(&s)) {
        if !names.iter().any(|m| m == n) {
            names.push(n.to_string());
        }
    }
    let (mut same, mut known, mut bad) = (0, 0, 0);
    for n in &names {
        let sc = scenarios.iter().find(|s| s.name == n);
        let c = compare(&q, &s, n);
        let (text, fails) = verdict(sc, &c);
        if fails {
            bad += 1;
        } else if c.is_same() {
            same += 1;
        } else {
            known += 1;
        }
        println!("{n:<36} {text}");
    }
    println!(
        "conformance: {} scenarios: {same} same, {known} known differences, {bad} different",
        names.len()
    );
    if bad > 0 {
        return Err(format!("{bad} scenario(s) differ"));
    }
    Ok(())
}
