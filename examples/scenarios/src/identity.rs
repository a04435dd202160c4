//! The identity of a trace: which suite, in which trace format, on which L0 made it.
//!
//! Every trace starts with one header line (issue 17: a stale or foreign reference trace is
//! refused, never diffed):
//!
//! ```text
//! H papr-scenarios format=<n> suite=<hash> scenarios=<count> l0=<qemu|softl0>
//! ```
//!
//! `format` is [`FORMAT`], bumped whenever the driver or the line format changes what a
//! scenario traces; `suite` is a hash of the whole suite description (every step, program,
//! limitation, and the known-difference table), so a trace made before any scenario changed is stale.
//!
//! ```
//! use papr_scenarios::trace::{Identity, IdentityError};
//! use papr_scenarios::suite;
//! let all = suite::all();
//! let q = Identity::of(&all, "qemu");
//! let text = format!("SLOF noise\n{q}\nT a 0 hcall op=X rc=0\n");
//! assert_eq!(Identity::find(&text), Ok(q.clone()));
//! assert_eq!(q.check(&all, "qemu"), Ok(()));
//! assert!(matches!(q.check(&all, "softl0"), Err(IdentityError::Foreign { .. })));
//! assert!(matches!(q.check(&all[1..], "qemu"), Err(IdentityError::Stale { .. })));
//! assert_eq!(Identity::find("T a 0 hcall op=X rc=0"), Err(IdentityError::Missing));
//! ```

use crate::scenario::Scenario;
use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;

/// The trace format version: bump it when the driver or the line format changes what a
/// scenario traces (2: MMIO data, exits decoded by `papr-nestedv2`, this header).
pub const FORMAT: u32 = 2;

/// The tool word of the header.
pub const TOOL: &str = "papr-scenarios";

/// A trace's identity (its header line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Trace format version ([`FORMAT`] when made by this build).
    pub format: u32,
    /// Hash of the suite description ([`suite_hash`]).
    pub suite: u64,
    /// Number of scenarios in that suite.
    pub scenarios: usize,
    /// The L0 that made it (`qemu`, `softl0`).
    pub l0: String,
}

/// Why a trace is refused as the reference (or candidate) of a diff.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// No `H papr-scenarios …` line: not a trace of this tool, or one made before traces
    /// carried an identity.
    #[error("foreign trace: no `H {TOOL} …` identity header (made by another tool or an older papr-scenarios)")]
    Missing,
    /// A header line that does not parse.
    #[error("foreign trace: malformed identity header {0:?}")]
    Malformed(String),
    /// More than one header: two sessions concatenated.
    #[error("foreign trace: {0} identity headers (two sessions in one file?)")]
    Several(usize),
    /// Made on another L0 than the one expected.
    #[error("foreign trace: made on l0={found}, expected l0={expected}")]
    Foreign {
        /// The L0 in the header.
        found: String,
        /// The L0 expected.
        expected: String,
    },
    /// Made by another trace format or another suite.
    #[error(
        "stale trace: made with format {found_format} and suite {found_suite:#018x} \
         ({found_scenarios} scenarios); this build has format {format} and suite \
         {suite:#018x} ({scenarios} scenarios): make it again"
    )]
    Stale {
        /// Its format.
        found_format: u32,
        /// Its suite hash.
        found_suite: u64,
        /// Its scenario count.
        found_scenarios: usize,
        /// This build's format.
        format: u32,
        /// This build's suite hash.
        suite: u64,
        /// This build's scenario count.
        scenarios: usize,
    },
}

/// FNV-1a (64 bits) of the suite's `Debug` text (every field of every scenario) and of
/// the known-difference table ([`crate::known::KNOWN`]).
pub fn suite_hash(scenarios: &[Scenario]) -> u64 {
    let text = format!("{scenarios:?}{:?}", crate::known::KNOWN);
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl Identity {
    /// The identity of a trace of `scenarios` made by this build on `l0`.
    pub fn of(scenarios: &[Scenario], l0: &str) -> Self {
        Self {
            format: FORMAT,
            suite: suite_hash(scenarios),
            scenarios: scenarios.len(),
            l0: l0.to_string(),
        }
    }

    /// The one identity header of a trace text (console noise allowed around it).
    ///
    /// # Errors
    /// [`IdentityError::Missing`], [`IdentityError::Malformed`] or
    /// [`IdentityError::Several`].
    pub fn find(text: &str) -> Result<Self, IdentityError> {
        let prefix = format!("H {TOOL} ");
        let mut found = None;
        let mut n = 0;
        for line in text.lines() {
            let line = line.trim_start_matches('\r').trim_end_matches('\r');
            if let Some(rest) = line.strip_prefix(&prefix) {
                n += 1;
                found = Some(
                    Self::parse_fields(rest)
                        .ok_or_else(|| IdentityError::Malformed(line.to_string()))?,
                );
            }
        }
        match (found, n) {
            (Some(id), 1) => Ok(id),
            (None, _) => Err(IdentityError::Missing),
            (Some(_), n) => Err(IdentityError::Several(n)),
        }
    }

    fn parse_fields(rest: &str) -> Option<Self> {
        let mut format = None;
        let mut suite = None;
        let mut scenarios = None;
        let mut l0 = None;
        for w in rest.split_ascii_whitespace() {
            let (k, v) = w.split_once('=')?;
            match k {
                "format" => format = v.parse().ok(),
                "suite" => suite = u64::from_str_radix(v.strip_prefix("0x")?, 16).ok(),
                "scenarios" => scenarios = v.parse().ok(),
                "l0" => l0 = Some(v.to_string()),
                _ => return None,
            }
        }
        Some(Self {
            format: format?,
            suite: suite?,
            scenarios: scenarios?,
            l0: l0?,
        })
    }

    /// Checks that this identity is that of a trace of `scenarios` made by this build on
    /// `l0`.
    ///
    /// # Errors
    /// [`IdentityError::Foreign`] for another L0; [`IdentityError::Stale`] for another
    /// format or suite.
    pub fn check(&self, scenarios: &[Scenario], l0: &str) -> Result<(), IdentityError> {
        if self.l0 != l0 {
            return Err(IdentityError::Foreign {
                found: self.l0.clone(),
                expected: l0.to_string(),
            });
        }
        let now = Self::of(scenarios, l0);
        if self.format != now.format || self.suite != now.suite || self.scenarios != now.scenarios {
            return Err(IdentityError::Stale {
                found_format: self.format,
                found_suite: self.suite,
                found_scenarios: self.scenarios,
                format: now.format,
                suite: now.suite,
                scenarios: now.scenarios,
            });
        }
        Ok(())
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "H {TOOL} format={} suite={:#018x} scenarios={} l0={}",
            self.format, self.suite, self.scenarios, self.l0
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite;

    #[test]
    fn header_round_trip_and_refusals() {
        let all = suite::all();
        let id = Identity::of(&all, "softl0");
        assert_eq!(Identity::find(&format!("{id}\r\n")), Ok(id.clone()));
        assert_eq!(id.check(&all, "softl0"), Ok(()));
        // Another format: stale.
        let old = Identity {
            format: FORMAT - 1,
            ..id.clone()
        };
        assert!(matches!(
            old.check(&all, "softl0"),
            Err(IdentityError::Stale { .. })
        ));
        // One changed scenario changes the hash: stale.
        let mut changed = all.clone();
        if let Some(s) = changed.first_mut() {
            s.about = "changed";
        }
        assert_ne!(suite_hash(&changed), suite_hash(&all));
        let e = Identity::of(&changed, "softl0")
            .check(&all, "softl0")
            .unwrap_err();
        assert!(e.to_string().starts_with("stale trace"), "{e}");
        // Another L0, no header, two headers, a broken header: foreign.
        let e = id.check(&all, "qemu").unwrap_err();
        assert_eq!(
            e.to_string(),
            "foreign trace: made on l0=softl0, expected l0=qemu"
        );
        assert_eq!(Identity::find("T a 0 x\n"), Err(IdentityError::Missing));
        assert_eq!(
            Identity::find(&format!("{id}\n{id}\n")),
            Err(IdentityError::Several(2))
        );
        assert!(matches!(
            Identity::find("H papr-scenarios format=x"),
            Err(IdentityError::Malformed(_))
        ));
    }
}
