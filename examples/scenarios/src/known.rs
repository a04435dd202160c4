//! The known differences between QEMU and the software L0: one table, each entry tied to
//! one exact trace line (scenario, sequence number, and the whole event body on each L0).
//!
//! [`judge`] compares one scenario's traces: a line that differs is accepted only when an
//! entry of [`KNOWN`] names that scenario and sequence number with exactly the QEMU body
//! and the software-L0 body seen; any other difference in the scenario fails, and so does
//! an entry whose difference did not occur (the table must say what is true today).
//!
//! ```
//! use papr_scenarios::known::{judge, Verdict, KNOWN};
//! use papr_scenarios::TraceLine;
//! let k = &KNOWN[0];
//! let line = |body: &str| -> TraceLine { format!("T {} {} {body}", k.scenario, k.seq).parse().unwrap() };
//! let q = [line(k.qemu)];
//! let s = [line(k.softl0)];
//! assert!(matches!(judge(&q, &s, k.scenario, &KNOWN[..1]), Verdict::Known { .. }));
//! // The same difference on another line is not the known one.
//! let other = [line("hcall op=H_GUEST_SET_STATE rc=-4")];
//! assert!(judge(&q, &other, k.scenario, &KNOWN[..1]).fails());
//! ```

use crate::trace::{compare, events_of, Comparison, TraceLine};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// One accepted difference: scenario, the line's sequence number, its body on each L0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownDifference {
    /// Scenario name.
    pub scenario: &'static str,
    /// Sequence number of the line.
    pub seq: u32,
    /// The line's body on QEMU (the reference).
    pub qemu: &'static str,
    /// The line's body on the software L0.
    pub softl0: &'static str,
    /// Why the L0s differ there, with the source.
    pub reason: &'static str,
}

const COUNT_ONE_PAST_END: &str =
    "QEMU wrong by PAPR (measured): guest_state_request_check() stops only when the length \
     left is < 0, so with the length exactly used up it reads one more element header past \
     the buffer the L1 gave; the zeroes there read as id 0 (GSB_HV_VCPU_IGNORED_ID, size 0), \
     which it skips, and it answers H_SUCCESS. The count is wrong and the bytes are outside \
     the buffer: the software L0 answers H_P3 (-56) as guest-state-buffer.md and hcalls.md say";

/// Every known difference of the suite.
pub const KNOWN: &[KnownDifference] = &[
    KnownDifference {
        scenario: "state-count-one-past-end",
        seq: 6,
        qemu: "hcall op=H_GUEST_SET_STATE rc=0",
        softl0: "hcall op=H_GUEST_SET_STATE rc=-56",
        reason: COUNT_ONE_PAST_END,
    },
    KnownDifference {
        scenario: "state-count-one-past-end",
        seq: 7,
        qemu: "hcall op=H_GUEST_GET_STATE rc=0",
        softl0: "hcall op=H_GUEST_GET_STATE rc=-56",
        reason: COUNT_ONE_PAST_END,
    },
];

/// The verdict on one scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Identical traces, and no entry of the table names the scenario.
    Same {
        /// Events.
        events: usize,
    },
    /// Identical but for the listed lines, each exactly as its entry says.
    Known {
        /// Events.
        events: usize,
        /// The entries that matched.
        lines: Vec<KnownDifference>,
    },
    /// A difference no entry explains (the first one).
    Differs(Comparison),
    /// Entries of the table whose difference did not occur (their lines are now the same).
    Gone(Vec<KnownDifference>),
}

impl Verdict {
    /// Whether the scenario fails the comparison.
    pub fn fails(&self) -> bool {
        matches!(self, Verdict::Differs(_) | Verdict::Gone(_))
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Same { .. } => f.write_str("same"),
            Verdict::Known { lines, .. } => {
                let seqs: Vec<String> = lines.iter().map(|k| format!("{}", k.seq)).collect();
                write!(f, "known difference at event(s) {}", seqs.join(","))?;
                if let Some(k) = lines.first() {
                    write!(f, " ({})", k.reason)?;
                }
                Ok(())
            }
            Verdict::Differs(c) => write!(f, "{c}"),
            Verdict::Gone(g) => {
                let seqs: Vec<String> = g.iter().map(|k| format!("{}", k.seq)).collect();
                write!(
                    f,
                    "listed known difference(s) at event(s) {} did not occur: the lines are \
                     the same on both L0s now; remove them from known::KNOWN",
                    seqs.join(",")
                )
            }
        }
    }
}

/// Judges `scenario`: reference (QEMU) against candidate (software L0), with the table
/// `known` (normally [`KNOWN`]).
pub fn judge(
    reference: &[TraceLine],
    candidate: &[TraceLine],
    scenario: &str,
    known: &[KnownDifference],
) -> Verdict {
    let listed: Vec<&KnownDifference> = known.iter().filter(|k| k.scenario == scenario).collect();
    let c = compare(reference, candidate, scenario);
    if !matches!(c, Comparison::Differs { .. }) {
        return match c {
            Comparison::Same { events } if listed.is_empty() => Verdict::Same { events },
            Comparison::Same { .. } => Verdict::Gone(listed.into_iter().copied().collect()),
            other => Verdict::Differs(other),
        };
    }
    let r = events_of(reference, scenario);
    let s = events_of(candidate, scenario);
    let mut matched = Vec::new();
    for i in 0..r.len().max(s.len()) {
        let (a, b) = (r.get(i), s.get(i));
        let (Some(a), Some(b)) = (a, b) else {
            return Verdict::Differs(first_difference(a, b, i));
        };
        let (ab, bb) = (a.body(), b.body());
        if a.seq == b.seq && ab == bb {
            continue;
        }
        let hit = listed
            .iter()
            .find(|k| k.seq == a.seq && k.seq == b.seq && k.qemu == ab && k.softl0 == bb);
        match hit {
            Some(k) => matched.push(**k),
            None => return Verdict::Differs(first_difference(Some(a), Some(b), i)),
        }
    }
    let gone: Vec<KnownDifference> = listed
        .iter()
        .filter(|k| !matched.contains(k))
        .map(|k| **k)
        .collect();
    if !gone.is_empty() {
        return Verdict::Gone(gone);
    }
    Verdict::Known {
        events: r.len(),
        lines: matched,
    }
}

fn first_difference(a: Option<&&TraceLine>, b: Option<&&TraceLine>, i: usize) -> Comparison {
    Comparison::Differs {
        seq: a.or(b).map_or(i as u32, |t| t.seq),
        reference: a.map(|t| t.body()),
        candidate: b.map(|t| t.body()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn t(s: &str) -> TraceLine {
        s.parse().unwrap()
    }

    const K: KnownDifference = KnownDifference {
        scenario: "a",
        seq: 1,
        qemu: "hcall op=X rc=0",
        softl0: "hcall op=X rc=-56",
        reason: "test",
    };

    #[test]
    fn only_the_listed_line_may_differ() {
        let q = vec![
            t("T a 0 hcall op=C rc=0"),
            t("T a 1 hcall op=X rc=0"),
            t("T a 2 view act=none"),
        ];
        let s = vec![
            t("T a 0 hcall op=C rc=0"),
            t("T a 1 hcall op=X rc=-56"),
            t("T a 2 view act=none"),
        ];
        assert_eq!(
            judge(&q, &s, "a", &[K]),
            Verdict::Known {
                events: 3,
                lines: vec![K]
            }
        );
        // Without the table entry it fails.
        assert!(judge(&q, &s, "a", &[]).fails());
        // Another difference in the same scenario fails, even with the listed one present.
        let mut s2 = s.clone();
        s2[2] = t("T a 2 view act=skip");
        let v = judge(&q, &s2, "a", &[K]);
        assert!(v.fails());
        assert!(matches!(
            v,
            Verdict::Differs(Comparison::Differs { seq: 2, .. })
        ));
        // The listed body but on another line fails.
        let q3 = vec![t("T a 0 hcall op=X rc=0")];
        let s3 = vec![t("T a 0 hcall op=X rc=-56")];
        assert!(judge(&q3, &s3, "a", &[K]).fails());
        // A different value on the listed line fails.
        let mut s4 = s.clone();
        s4[1] = t("T a 1 hcall op=X rc=-4");
        assert!(judge(&q, &s4, "a", &[K]).fails());
        // A truncated candidate fails.
        assert!(judge(&q, &s[..2], "a", &[K]).fails());
    }

    #[test]
    fn a_listed_difference_that_is_gone_fails() {
        let q = vec![t("T a 0 hcall op=C rc=0"), t("T a 1 hcall op=X rc=0")];
        let v = judge(&q, &q, "a", &[K]);
        assert_eq!(v, Verdict::Gone(vec![K]));
        assert!(v.fails());
        assert!(v.to_string().contains("did not occur"));
        assert_eq!(judge(&q, &q, "b", &[K]), Verdict::Same { events: 0 });
    }

    #[test]
    fn the_table_names_suite_scenarios() {
        let all = crate::suite::all();
        for k in KNOWN {
            assert!(all.iter().any(|s| s.name == k.scenario), "{}", k.scenario);
            assert_ne!(k.qemu, k.softl0);
        }
    }
}
