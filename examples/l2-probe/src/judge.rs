//! The judge: reads the console text of a run and compares every probe line with
//! [`PROBES`].
//!
//! A probe line is `probe <name> rc=<16 hex digits>`; it may follow other text on the same
//! line (a VMM's prefix), and other lines may come between. The run must also print
//! `probe-done <n>` with `n` = [`PROBES`]`.len()`. Lines starting `probe trap.` or `probe
//! power-off.returned` (the kernel's own failure reports) and any unknown probe name are
//! mismatches too.

use crate::probes::{Expect, Target, PROBES};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// A passed run, in short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Probes checked (all of [`PROBES`]).
    pub probes: usize,
    /// Timebase ticks `H_CEDE` slept.
    pub cede_ticks: u64,
    /// The year RTAS `get-time-of-day` gave.
    pub year: u64,
}

/// One thing that is not as expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The probe name (or the text that could not be read).
    pub probe: String,
    /// What was expected.
    pub expected: String,
    /// What the console showed (`missing` when absent).
    pub got: String,
}

impl core::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.probe, self.expected, self.got
        )
    }
}

/// A probe line read from the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// The name.
    pub name: &'a str,
    /// The value.
    pub value: u64,
}

/// What one console line holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// `probe <name> rc=<hex>`.
    Probe(Line<'a>),
    /// `probe-done <n>`.
    Done(u64),
    /// A line with `probe ` and ` rc=` that does not parse.
    Malformed(&'a str),
    /// Anything else.
    Other,
}

/// Reads one console line.
///
/// ```
/// use papr_l2_probe::judge::{parse_line, Line, Parsed};
/// let l = parse_line("[vmm] probe cede rc=0000000000000000\r");
/// assert_eq!(l, Parsed::Probe(Line { name: "cede", value: 0 }));
/// assert_eq!(parse_line("probe-done 7"), Parsed::Done(7));
/// assert_eq!(parse_line("Linux version 6.12"), Parsed::Other);
/// ```
pub fn parse_line(line: &str) -> Parsed<'_> {
    let line = line.trim_end();
    if let Some(i) = line.find("probe-done ") {
        let n = line.get(i + 11..).unwrap_or("").trim();
        return match n.parse() {
            Ok(n) => Parsed::Done(n),
            Err(_) => Parsed::Malformed(line),
        };
    }
    let Some(i) = line.find("probe ") else {
        return Parsed::Other;
    };
    let rest = line.get(i + 6..).unwrap_or("");
    if !rest.contains(" rc=") {
        // Text that merely contains the word ("probe kernel loaded").
        return Parsed::Other;
    }
    let mut parts = rest.split(' ');
    let (Some(name), Some(rc), None) = (parts.next(), parts.next(), parts.next()) else {
        return Parsed::Malformed(line);
    };
    match rc.strip_prefix("rc=") {
        Some(hex) if hex.len() == 16 && !name.is_empty() => match u64::from_str_radix(hex, 16) {
            Ok(value) => Parsed::Probe(Line { name, value }),
            Err(_) => Parsed::Malformed(line),
        },
        _ => Parsed::Malformed(line),
    }
}

/// A value as hex, with its hcall return-code name when it is one, else signed decimal.
fn show(value: u64) -> String {
    match crate::papr::rc::name(value as i64) {
        Some(n) => format!("{value:#018x} ({n})"),
        None => format!("{value:#018x} ({})", value as i64),
    }
}

/// A value as [`show`] does for return codes, as hex and signed decimal otherwise.
fn show_as(value: u64, expect: Expect) -> String {
    match expect {
        Expect::Rc(_) => show(value),
        _ => format!("{value:#018x} ({})", value as i64),
    }
}

/// Judges a run under the L1's platform: [`judge_for`] with [`Target::Platform`].
///
/// # Errors
/// Every [`Mismatch`]: a probe missing, printed twice, unknown, or with a wrong value;
/// `probe-done` missing or with the wrong count; a malformed probe line.
pub fn judge(console: &str) -> Result<Summary, Vec<Mismatch>> {
    judge_for(console, Target::Platform)
}

/// Judges the console text of a run against the expectations for `target`.
///
/// ```
/// use papr_l2_probe::{judge, PROBES};
/// let bad = judge::judge("probe cede rc=0000000000000000\n").unwrap_err();
/// assert!(bad.iter().any(|m| m.probe == "probe-done"));
/// assert!(bad.iter().any(|m| m.probe == "set-mode-be" && m.got == "missing"));
/// ```
///
/// # Errors
/// As [`judge`].
pub fn judge_for(console: &str, target: Target) -> Result<Summary, Vec<Mismatch>> {
    let mut seen: Vec<Option<u64>> = alloc::vec![None; PROBES.len()];
    let mut bad = Vec::new();
    let mut done = None;
    for raw in console.split('\n') {
        match parse_line(raw) {
            Parsed::Other => {}
            Parsed::Done(n) => done = Some(n),
            Parsed::Malformed(text) => bad.push(Mismatch {
                probe: text.to_string(),
                expected: "probe <name> rc=<16 hex digits>".to_string(),
                got: "a malformed line".to_string(),
            }),
            Parsed::Probe(line) => {
                let slot = PROBES
                    .iter()
                    .position(|p| p.name == line.name)
                    .and_then(|i| seen.get_mut(i));
                match slot {
                    None => bad.push(Mismatch {
                        probe: line.name.to_string(),
                        expected: "no such probe".to_string(),
                        got: show(line.value),
                    }),
                    Some(Some(_)) => bad.push(Mismatch {
                        probe: line.name.to_string(),
                        expected: "one line".to_string(),
                        got: "a second line".to_string(),
                    }),
                    Some(slot) => *slot = Some(line.value),
                }
            }
        }
    }
    for (p, value) in PROBES.iter().zip(&seen) {
        let expect = p.expect_for(target);
        match *value {
            Some(v) if expect.holds(v) => {}
            Some(v) => bad.push(mismatch(p.name, expect, p.source, show_as(v, expect))),
            None => bad.push(mismatch(p.name, expect, p.source, "missing".to_string())),
        }
    }
    if done != Some(PROBES.len() as u64) {
        bad.push(Mismatch {
            probe: "probe-done".to_string(),
            expected: format!("probe-done {}", PROBES.len()),
            got: done.map_or("missing".to_string(), |n| format!("probe-done {n}")),
        });
    }
    if !bad.is_empty() {
        return Err(bad);
    }
    let value = |name: &str| {
        PROBES
            .iter()
            .position(|p| p.name == name)
            .and_then(|i| seen.get(i).copied().flatten())
            .unwrap_or(0)
    };
    Ok(Summary {
        probes: PROBES.len(),
        cede_ticks: value("cede.ticks"),
        year: value("rtas-tod.year"),
    })
}

fn mismatch(name: &str, expect: Expect, source: &str, got: String) -> Mismatch {
    Mismatch {
        probe: name.to_string(),
        expected: format!("{expect} [{source}]"),
        got,
    }
}

/// What the panic kernel's trap handler reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trap {
    /// The interrupt vector (0x700: program interrupt).
    pub vector: u64,
    /// SRR0: the address of the illegal word.
    pub srr0: u64,
    /// SRR1: MSR bits and the cause (bit 44, 0x8_0000: illegal instruction).
    pub srr1: u64,
}

/// SRR1 bit 44: the program interrupt was for an illegal instruction.
pub const SRR1_ILLEGAL: u64 = 1 << (63 - 44);

/// Judges the console of the [`Program::Panic`](crate::kernel::Program::Panic) kernel: it
/// must report a program interrupt (vector 0x700, SRR1 illegal-instruction bit) at the
/// illegal word (SRR0 = `panic.load-base` + [`panic_word_offset`]), with no
/// `panic.not-trapped` and no `probe-done`. Whether the VMM then printed
/// [`PANIC_TEXT`](crate::kernel::PANIC_TEXT) and exited non-zero is the caller's check.
///
/// [`panic_word_offset`]: crate::kernel::panic_word_offset
///
/// # Errors
/// Every [`Mismatch`].
pub fn judge_panic(console: &str) -> Result<Trap, Vec<Mismatch>> {
    let got = |name: &str| -> Option<u64> {
        console.split('\n').find_map(|l| match parse_line(l) {
            Parsed::Probe(p) if p.name == name => Some(p.value),
            _ => None,
        })
    };
    let base = got("panic.load-base");
    let (vector, srr0, srr1) = (got("trap.vector"), got("trap.srr0"), got("trap.srr1"));
    let mut bad = Vec::new();
    let mut need = |name: &str, v: Option<u64>, ok: bool, want: String| {
        if !ok {
            bad.push(Mismatch {
                probe: name.to_string(),
                expected: want,
                got: v.map_or("missing".to_string(), show),
            });
        }
    };
    let at = crate::kernel::panic_word_offset().ok();
    let want_srr0 = base.zip(at).map(|(b, o)| b + o);
    need(
        "panic.load-base",
        base,
        base.is_some(),
        "present".to_string(),
    );
    need(
        "trap.vector",
        vector,
        vector == Some(0x700),
        "0x700".to_string(),
    );
    let illegal = srr1.is_some_and(|s| s & SRR1_ILLEGAL != 0);
    need(
        "trap.srr1",
        srr1,
        illegal,
        format!("bit {SRR1_ILLEGAL:#x} set"),
    );
    let at_word = srr0.is_some() && srr0 == want_srr0;
    need("trap.srr0", srr0, at_word, format!("{want_srr0:#x?}"));
    if let Some(v) = got("panic.not-trapped") {
        need("panic.not-trapped", Some(v), false, "absent".to_string());
    }
    if console
        .split('\n')
        .any(|l| matches!(parse_line(l), Parsed::Done(_)))
    {
        need("probe-done", None, false, "absent".to_string());
    }
    match (vector, srr0, srr1) {
        (Some(vector), Some(srr0), Some(srr1)) if bad.is_empty() => Ok(Trap { vector, srr0, srr1 }),
        _ => Err(bad),
    }
}
