//! The trace: one text line per event, identical from every L0 that behaves alike.
//!
//! ```text
//! T <scenario> <seq> <kind> key=value key=value …
//! ```
//!
//! * `<scenario>`: the scenario name (no spaces); `<seq>`: 0, 1, 2… within the scenario;
//! * `<kind>`: `hcall` (one per hcall the L1 made: `op=` name, `rc=` decimal, `ret=` r4
//!   where it is deterministic), `refused` (refused client-side, no hcall), `exit` (trap,
//!   output element ids and lengths, deterministic values), `view` (what the L1 did with
//!   the exit; for MMIO `act=mmio-load|mmio-store gpa= size= write= data=` with the bytes
//!   at `gpa` in storage order, and `rt=` for a load), `state` (a value read back), `pte`,
//!   `mem`, `error` (the driver stopped);
//! * values are decimal for return codes, hex (`0x…`) for numbers, symbols (`a3`, `s4`,
//!   `end`) for instruction addresses, never containing spaces.
//!
//! A trace starts with its identity header (`H papr-scenarios format=… suite=… scenarios=…
//! l0=…`, see [`Identity`]). Lines that do not start with `T ` are not trace lines (the
//! header, console noise) and are skipped by [`parse_trace`].

pub use crate::identity::{suite_hash, Identity, IdentityError, FORMAT, TOOL};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// One trace event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine {
    /// Scenario name.
    pub scenario: String,
    /// Position in the scenario.
    pub seq: u32,
    /// Event kind.
    pub kind: String,
    /// `key=value` fields, in order.
    pub fields: Vec<(String, String)>,
}

impl TraceLine {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The event without the scenario and sequence number (what is compared).
    pub fn body(&self) -> String {
        let mut s = self.kind.clone();
        for (k, v) in &self.fields {
            s.push(' ');
            s.push_str(k);
            s.push('=');
            s.push_str(v);
        }
        s
    }
}

impl fmt::Display for TraceLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T {} {} {}", self.scenario, self.seq, self.body())
    }
}

/// Why a line is not a trace line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// It does not start with `T `.
    NotTrace,
    /// Scenario, sequence number or kind missing.
    Truncated,
    /// The sequence number is not a decimal number.
    BadSeq(String),
    /// A field without `=`, or with an empty key.
    BadField(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::NotTrace => f.write_str("not a trace line"),
            ParseError::Truncated => f.write_str("truncated trace line"),
            ParseError::BadSeq(s) => write!(f, "bad sequence number {s:?}"),
            ParseError::BadField(s) => write!(f, "bad field {s:?}"),
        }
    }
}

impl core::str::FromStr for TraceLine {
    type Err = ParseError;

    fn from_str(line: &str) -> Result<Self, ParseError> {
        let line = line.trim_end_matches(['\r', '\n']);
        let rest = line.strip_prefix("T ").ok_or(ParseError::NotTrace)?;
        let mut words = rest.split_ascii_whitespace();
        let scenario = words.next().ok_or(ParseError::Truncated)?.to_string();
        let seq = words.next().ok_or(ParseError::Truncated)?;
        let seq = seq
            .parse()
            .map_err(|_| ParseError::BadSeq(seq.to_string()))?;
        let kind = words.next().ok_or(ParseError::Truncated)?.to_string();
        let mut fields = Vec::new();
        for w in words {
            match w.split_once('=') {
                Some((k, v)) if !k.is_empty() => fields.push((k.to_string(), v.to_string())),
                _ => return Err(ParseError::BadField(w.to_string())),
            }
        }
        Ok(TraceLine {
            scenario,
            seq,
            kind,
            fields,
        })
    }
}

/// Parses every trace line of `text` (a console log), skipping other lines; the error
/// names the 1-based line number of a malformed `T ` line.
///
/// # Errors
/// `(line number, error)` for a line that starts with `T ` but does not parse.
pub fn parse_trace(text: &str) -> Result<Vec<TraceLine>, (usize, ParseError)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        // Console output may carry a carriage return or a prefix before the marker.
        let line = line.trim_start_matches('\r');
        match line.parse::<TraceLine>() {
            Ok(t) => out.push(t),
            Err(ParseError::NotTrace) => {}
            Err(e) => return Err((n + 1, e)),
        }
    }
    Ok(out)
}

/// The result of comparing one scenario's traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// Identical event sequences.
    Same {
        /// Events.
        events: usize,
    },
    /// The first event that differs (`None`: that trace ended earlier).
    Differs {
        /// Sequence number of the first difference.
        seq: u32,
        /// The reference event (QEMU).
        reference: Option<String>,
        /// The candidate event (software L0).
        candidate: Option<String>,
    },
    /// The reference trace has no events for this scenario.
    MissingInReference,
    /// The candidate trace has no events for this scenario.
    MissingInCandidate,
}

impl Comparison {
    /// Whether the traces agree.
    pub fn is_same(&self) -> bool {
        matches!(self, Comparison::Same { .. })
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Comparison::Same { .. } => f.write_str("same"),
            Comparison::Differs {
                seq,
                reference,
                candidate,
            } => write!(
                f,
                "differs at event {seq}: qemu `{}` vs softl0 `{}`",
                reference.as_deref().unwrap_or("<end of trace>"),
                candidate.as_deref().unwrap_or("<end of trace>")
            ),
            Comparison::MissingInReference => f.write_str("not in the qemu trace"),
            Comparison::MissingInCandidate => f.write_str("not in the softl0 trace"),
        }
    }
}

/// The events of `scenario`, in order.
pub fn events_of<'a>(trace: &'a [TraceLine], scenario: &str) -> Vec<&'a TraceLine> {
    trace.iter().filter(|t| t.scenario == scenario).collect()
}

/// Compares the events of `scenario` in a reference trace (QEMU) and a candidate trace
/// (software L0): sequence numbers and bodies, up to the first difference.
pub fn compare(reference: &[TraceLine], candidate: &[TraceLine], scenario: &str) -> Comparison {
    let r = events_of(reference, scenario);
    let c = events_of(candidate, scenario);
    if r.is_empty() && !c.is_empty() {
        return Comparison::MissingInReference;
    }
    if c.is_empty() && !r.is_empty() {
        return Comparison::MissingInCandidate;
    }
    let n = r.len().max(c.len());
    for i in 0..n {
        let a = r.get(i);
        let b = c.get(i);
        let same = match (a, b) {
            (Some(a), Some(b)) => a.seq == b.seq && a.body() == b.body(),
            _ => false,
        };
        if !same {
            let seq = a.or(b).map_or(i as u32, |t| t.seq);
            return Comparison::Differs {
                seq,
                reference: a.map(|t| t.body()),
                candidate: b.map(|t| t.body()),
            };
        }
    }
    Comparison::Same { events: n }
}

/// Scenario names in order of first appearance.
pub fn scenario_names(trace: &[TraceLine]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for t in trace {
        if !names.contains(&t.scenario.as_str()) {
            names.push(&t.scenario);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn t(s: &str) -> TraceLine {
        s.parse().unwrap()
    }

    #[test]
    fn line_round_trip() {
        let l = "T hdsi-load 3 exit g=0 v=0 trap=0xe00 out=f000:8,f001:4 hdsisr=0x40000000";
        let p = t(l);
        assert_eq!(p.scenario, "hdsi-load");
        assert_eq!(p.seq, 3);
        assert_eq!(p.kind, "exit");
        assert_eq!(p.get("trap"), Some("0xe00"));
        assert_eq!(p.get("nope"), None);
        assert_eq!(alloc::format!("{p}"), l);
    }

    #[test]
    fn bad_lines() {
        assert_eq!("hello".parse::<TraceLine>(), Err(ParseError::NotTrace));
        assert_eq!("T a".parse::<TraceLine>(), Err(ParseError::Truncated));
        assert_eq!(
            "T a x hcall".parse::<TraceLine>(),
            Err(ParseError::BadSeq("x".into()))
        );
        assert_eq!(
            "T a 1 hcall op".parse::<TraceLine>(),
            Err(ParseError::BadField("op".into()))
        );
        assert_eq!(
            "T a 1 hcall =3".parse::<TraceLine>(),
            Err(ParseError::BadField("=3".into()))
        );
    }

    #[test]
    fn console_noise_is_skipped_and_errors_located() {
        let log = "SLOF\r\nT a 0 hcall op=X rc=0\r\nboot\nT a 1 view act=none\n";
        let tr = parse_trace(log).unwrap();
        assert_eq!(tr.len(), 2);
        assert_eq!(tr[1].kind, "view");
        assert_eq!(parse_trace("x\nT a q k\n").unwrap_err().0, 2);
    }

    #[test]
    fn diff_same_first_difference_and_missing() {
        let q = vec![
            t("T a 0 hcall op=X rc=0"),
            t("T a 1 exit trap=0xc00"),
            t("T b 0 hcall op=Y rc=-55"),
            t("T c 0 hcall op=Z rc=0"),
        ];
        let s = vec![
            t("T a 0 hcall op=X rc=0"),
            t("T a 1 exit trap=0xc00"),
            t("T b 0 hcall op=Y rc=-56"),
            t("T d 0 hcall op=Z rc=0"),
        ];
        assert_eq!(compare(&q, &s, "a"), Comparison::Same { events: 2 });
        assert!(compare(&q, &s, "a").is_same());
        let d = compare(&q, &s, "b");
        assert_eq!(
            d,
            Comparison::Differs {
                seq: 0,
                reference: Some("hcall op=Y rc=-55".into()),
                candidate: Some("hcall op=Y rc=-56".into()),
            }
        );
        assert_eq!(
            alloc::format!("{d}"),
            "differs at event 0: qemu `hcall op=Y rc=-55` vs softl0 `hcall op=Y rc=-56`"
        );
        assert_eq!(compare(&q, &s, "c"), Comparison::MissingInCandidate);
        assert_eq!(compare(&q, &s, "d"), Comparison::MissingInReference);
        assert_eq!(compare(&q, &s, "e"), Comparison::Same { events: 0 });
        assert_eq!(scenario_names(&q), vec!["a", "b", "c"]);
    }

    #[test]
    fn diff_catches_truncation_and_extra_events() {
        let q = vec![t("T a 0 hcall op=X rc=0"), t("T a 1 exit trap=0x980")];
        let s = vec![t("T a 0 hcall op=X rc=0")];
        let d = compare(&q, &s, "a");
        assert_eq!(
            d,
            Comparison::Differs {
                seq: 1,
                reference: Some("exit trap=0x980".into()),
                candidate: None,
            }
        );
        assert!(alloc::format!("{d}").contains("<end of trace>"));
        let d = compare(&s, &q, "a");
        assert!(matches!(
            d,
            Comparison::Differs {
                seq: 1,
                reference: None,
                ..
            }
        ));
        // A renumbered event differs even with the same body.
        let r = vec![t("T a 0 hcall op=X rc=0"), t("T a 2 exit trap=0x980")];
        assert!(!compare(&q, &r, "a").is_same());
    }
}
