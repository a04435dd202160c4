//! The one table of bench targets (`design.md` §Targets): every figure a bench prints, its
//! target, unit and the reason for that target.
//!
//! Shared by the benches (through `support/mod.rs`, a `#[path]` module: they print each
//! figure as a machine-readable `bench-figure:` line) and by `cargo xtask bench` (a
//! `#[path]` module of `xtask/src/bench.rs`: it reads those lines and judges each figure
//! against this table, never against a label). Dependency-free on purpose.

/// What a figure must be to meet its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// At least this much.
    AtLeast(f64),
    /// At most this much.
    AtMost(f64),
    /// Exactly this (counts: hcalls, allocations).
    Exactly(f64),
    /// A figure shown for information, without a target.
    Info,
}

impl Goal {
    /// Whether `value` meets the goal; `None` for [`Goal::Info`]. NaN never meets one.
    pub fn met(self, value: f64) -> Option<bool> {
        match self {
            Goal::AtLeast(t) => Some(value >= t),
            Goal::AtMost(t) => Some(value <= t),
            Goal::Exactly(t) => Some((value - t).abs() < 1e-9),
            Goal::Info => None,
        }
    }

    /// The goal as text, e.g. `>= 10 M ops/s`.
    pub fn describe(self, unit: &str) -> String {
        let with = |op: &str, t: f64| {
            if unit.is_empty() {
                format!("{op} {t}")
            } else {
                format!("{op} {t} {unit}")
            }
        };
        match self {
            Goal::AtLeast(t) => with(">=", t),
            Goal::AtMost(t) => with("<=", t),
            Goal::Exactly(t) => with("=", t),
            Goal::Info => "-".to_string(),
        }
    }
}

/// One row of [`TARGETS`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// Machine-readable id, `<crate folder>.<figure>`; the bench prints it.
    pub figure: &'static str,
    /// The crate folder whose bench measures it.
    pub bench: &'static str,
    /// What is measured, for people.
    pub what: &'static str,
    /// The target.
    pub goal: Goal,
    /// Unit of the figure.
    pub unit: &'static str,
    /// Why this target (and where it comes from).
    pub reason: &'static str,
}

const NS_REASON: &str = "design.md Targets: L1 software time per exit natively <= 100 ns";
const HC1: &str = "design.md Targets: 1 hcall per steady-state exit (RUN only; Linux nestedv2: 1)";
const HC2: &str = "design.md Targets: 2 for an MMIO store (RUN + one GET of the source \
                   register; Linux nestedv2: 2)";
const NO_ALLOC: &str = "design.md: allocation-free hot path (build run input, run, parse output)";
const GSB_BW: &str = "design.md Targets: GSB encode/parse >= 0.25x memcpy bandwidth, same bytes";

/// Every figure of every bench, with its target. The benches print only ids listed here;
/// `cargo xtask bench` shows every row, measured or not.
pub const TARGETS: &[Target] = &[
    Target {
        figure: "gsb.build_vs_memcpy",
        bench: "gsb",
        what: "GSB build of a full vCPU state (GsbLayout::build_from_slots), bandwidth / memcpy",
        goal: Goal::AtLeast(0.25),
        unit: "x memcpy",
        reason: GSB_BW,
    },
    Target {
        figure: "gsb.parse_vs_memcpy",
        bench: "gsb",
        what: "GSB parse of a full vCPU state (GsbLayout::parse + copy_to_slots), bw / memcpy",
        goal: Goal::AtLeast(0.25),
        unit: "x memcpy",
        reason: GSB_BW,
    },
    Target {
        figure: "gsb.per_element_build_vs_memcpy",
        bench: "gsb",
        what: "the same build per element (GsbBuilder::put: any id set, the fallback)",
        goal: Goal::Info,
        unit: "x memcpy",
        reason: "the general path; the target is the layout path above",
    },
    Target {
        figure: "gsb.per_element_parse_vs_memcpy",
        bench: "gsb",
        what: "the same parse per element (Gsb::parse + Element::value: the validator fallback)",
        goal: Goal::Info,
        unit: "x memcpy",
        reason: "the general path; the target is the layout path above",
    },
    Target {
        figure: "gsb.allocs",
        bench: "gsb",
        what: "heap allocations in the timed build + parse loops",
        goal: Goal::Exactly(0.0),
        unit: "",
        reason: "design.md Targets: GSB encode/parse, 0 heap allocations",
    },
    Target {
        figure: "vcpu-state.ns_per_exit",
        bench: "vcpu-state",
        what: "vcpu-state cache work per exit (flush 5, guest-wide, parse 0xC00, read r3-r12)",
        goal: Goal::AtMost(100.0),
        unit: "ns",
        reason: NS_REASON,
    },
    Target {
        figure: "vcpu-state.allocs_per_exit",
        bench: "vcpu-state",
        what: "heap allocations per exit in the timed loop (vcpu-state cache)",
        goal: Goal::Exactly(0.0),
        unit: "",
        reason: NO_ALLOC,
    },
    Target {
        figure: "vcpu-state.hcalls_per_exit",
        bench: "vcpu-state",
        what: "hcalls besides RUN per exit (cache over the software L0)",
        goal: Goal::Exactly(0.0),
        unit: "",
        reason: "design.md Targets: the RUN is the only hcall of an hcall exit; the exit \
                 reads come with the run output",
    },
    Target {
        figure: "nestedv2.hcall.ns_per_exit",
        bench: "nestedv2",
        what: "nestedv2 hcall exit (0xC00), L1 time per exit",
        goal: Goal::AtMost(100.0),
        unit: "ns",
        reason: NS_REASON,
    },
    Target {
        figure: "nestedv2.hdec.ns_per_exit",
        bench: "nestedv2",
        what: "nestedv2 HDEC exit (0x980), L1 time per exit",
        goal: Goal::AtMost(100.0),
        unit: "ns",
        reason: NS_REASON,
    },
    Target {
        figure: "nestedv2.mmio_load.ns_per_exit",
        bench: "nestedv2",
        what: "nestedv2 MMIO load exit (0xE00), L1 time per exit",
        goal: Goal::AtMost(100.0),
        unit: "ns",
        reason: NS_REASON,
    },
    Target {
        figure: "nestedv2.mmio_store.ns_per_exit",
        bench: "nestedv2",
        what: "nestedv2 MMIO store exit (0xE00), L1 time per exit (its GET answered at once)",
        goal: Goal::Info,
        unit: "ns",
        reason: "design.md sets no time target for the MMIO store (it waits for a GET)",
    },
    Target {
        figure: "nestedv2.hcall.hcalls_per_exit",
        bench: "nestedv2",
        what: "nestedv2 hcall exit, hcalls per exit (software L0)",
        goal: Goal::Exactly(1.0),
        unit: "",
        reason: HC1,
    },
    Target {
        figure: "nestedv2.hdec.hcalls_per_exit",
        bench: "nestedv2",
        what: "nestedv2 HDEC exit, hcalls per exit (software L0)",
        goal: Goal::Exactly(1.0),
        unit: "",
        reason: HC1,
    },
    Target {
        figure: "nestedv2.mmio_load.hcalls_per_exit",
        bench: "nestedv2",
        what: "nestedv2 MMIO load exit, hcalls per exit (software L0)",
        goal: Goal::Exactly(1.0),
        unit: "",
        reason: HC1,
    },
    Target {
        figure: "nestedv2.mmio_store.hcalls_per_exit",
        bench: "nestedv2",
        what: "nestedv2 MMIO store exit, hcalls per exit (software L0)",
        goal: Goal::Exactly(2.0),
        unit: "",
        reason: HC2,
    },
    Target {
        figure: "nestedv2.allocs_per_exit",
        bench: "nestedv2",
        what: "nestedv2 heap allocations per exit in the timed loops (all four kinds)",
        goal: Goal::Exactly(0.0),
        unit: "",
        reason: NO_ALLOC,
    },
    Target {
        figure: "mmu-radix.map_unmap_4k",
        bench: "mmu-radix",
        what: "radix map + unmap of 4K pages",
        goal: Goal::AtLeast(10.0),
        unit: "M ops/s",
        reason: "design.md Targets: radix map + unmap of 4K pages >= 10 M ops/s",
    },
    Target {
        figure: "mmu-radix.table_kib_per_gib_4k",
        bench: "mmu-radix",
        what: "table memory per GiB mapped as 4K leaves (+64 KiB root)",
        goal: Goal::Info,
        unit: "KiB",
        reason: "shown to size the table pool; design.md sets no target",
    },
    Target {
        figure: "mmu-radix.table_kib_per_gib_2m",
        bench: "mmu-radix",
        what: "table memory per GiB mapped as 2M leaves (+64 KiB root)",
        goal: Goal::Info,
        unit: "KiB",
        reason: "shown to size the table pool; design.md sets no target",
    },
    Target {
        figure: "mmu-radix.table_kib_per_gib_1g",
        bench: "mmu-radix",
        what: "table memory per GiB mapped as 1G leaves (+64 KiB root)",
        goal: Goal::Info,
        unit: "KiB",
        reason: "shown to size the table pool; design.md sets no target",
    },
];

/// The prefix of a machine-readable figure line: `bench-figure: <id> = <value>`.
pub const FIGURE_PREFIX: &str = "bench-figure: ";

/// The row of `figure`, if [`TARGETS`] has one.
pub fn target(figure: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.figure == figure)
}

/// The machine-readable line of `figure` = `value` (no newline).
pub fn figure_line(figure: &str, value: f64) -> String {
    format!("{FIGURE_PREFIX}{figure} = {value:e}")
}

/// Parses a line made by [`figure_line`]: `Some(Ok((id, value)))`, `Some(Err(line))` when
/// it starts with [`FIGURE_PREFIX`] but is garbled, `None` for any other line.
pub fn parse_figure_line(line: &str) -> Option<Result<(&str, f64), &str>> {
    let rest = line.trim_start().strip_prefix(FIGURE_PREFIX)?;
    let parsed = rest.split_once(" = ").and_then(|(id, v)| {
        let v: f64 = v.trim().parse().ok()?;
        (!id.is_empty() && !id.contains(' ') && v.is_finite()).then_some((id, v))
    });
    Some(parsed.ok_or(line))
}
