//! The judge on synthetic console text and on the consoles of real runs on QEMU 10.0.2
//! (`tests/data/*.console`, captured with `cargo run -p papr-l2-probe --example
//! qemu`).
// Test helpers: a panic is the failure report (clippy.toml allows it in #[test] fns only).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use papr_l2_probe::judge::{judge_panic, parse_line, Parsed, SRR1_ILLEGAL};
use papr_l2_probe::probes::DEC_DELAY_TICKS;
use papr_l2_probe::{judge, judge_for, Mismatch, Target, PROBES};

const QEMU_DIRECT: &str = include_str!("data/qemu-10.0.2-direct.console");
const QEMU_DIRECT_PANIC: &str = include_str!("data/qemu-10.0.2-direct-panic.console");

/// A console where every probe prints `value(name)` (default: the expectation's sample).
fn console(target: Target, value: impl Fn(&str) -> Option<u64>) -> String {
    let mut s = String::new();
    for p in PROBES {
        let v = value(p.name).unwrap_or(p.expect_for(target).sample());
        s += &format!("probe {} rc={v:016x}\n", p.name);
    }
    s + &format!("probe-done {}\n", PROBES.len())
}

fn perfect() -> String {
    console(Target::Platform, |_| None)
}

fn names(bad: &[Mismatch]) -> Vec<&str> {
    bad.iter().map(|m| m.probe.as_str()).collect()
}

#[test]
fn a_perfect_run_passes_with_a_summary() {
    let s = judge(&perfect()).unwrap();
    assert_eq!(s.probes, PROBES.len());
    assert_eq!(s.cede_ticks, DEC_DELAY_TICKS);
    assert_eq!(s.year, 2024);
}

#[test]
fn other_output_prefixes_and_crlf_are_ignored() {
    let mut s = String::from("pseries-vmm: booting L2\r\n");
    for line in perfect().lines() {
        s += &format!("[l2] {line}\r\nvmm: exit 0xc00\r\n");
    }
    s += "vmm: L2 powered off\n";
    assert!(judge(&s).is_ok(), "{:?}", judge(&s));
}

#[test]
fn a_wrong_value_names_the_probe_the_expectation_and_what_came() {
    let s = console(Target::Platform, |n| (n == "proc-tbl-size-8m").then_some(0));
    let bad = judge(&s).unwrap_err();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].probe, "proc-tbl-size-8m");
    assert!(
        bad[0].expected.starts_with("H_P4 (-57) ["),
        "{}",
        bad[0].expected
    );
    assert!(bad[0].expected.contains("copy_state_proctbl"));
    assert_eq!(bad[0].got, "0x0000000000000000 (H_SUCCESS)");
    assert!(bad[0]
        .to_string()
        .starts_with("proc-tbl-size-8m: expected H_P4"));
}

#[test]
fn a_busy_cede_and_a_1970_clock_fail() {
    let s = console(Target::Platform, |n| match n {
        "cede.ticks" => Some(DEC_DELAY_TICKS - 1),
        "cede.dispatch" => Some(3),
        "rtas-tod.year" => Some(1970),
        _ => None,
    });
    let bad = judge(&s).unwrap_err();
    assert_eq!(
        names(&bad),
        ["cede.ticks", "cede.dispatch", "rtas-tod.year"]
    );
    // Values that are not return codes show as hex and decimal, not as H_* names.
    assert_eq!(bad[2].got, "0x00000000000007b2 (1970)");
}

#[test]
fn missing_duplicate_unknown_and_malformed_lines_are_reported() {
    let full = perfect();
    let without: String = full
        .lines()
        .filter(|l| !l.starts_with("probe vpa-ok "))
        .map(|l| format!("{l}\n"))
        .collect();
    let bad = judge(&without).unwrap_err();
    assert_eq!(names(&bad), ["vpa-ok"]);
    assert_eq!(bad[0].got, "missing");

    let twice = format!("{full}probe cede rc=0000000000000000\n");
    assert_eq!(names(&judge(&twice).unwrap_err()), ["cede"]);

    let trap = format!("{full}probe trap.vector rc=0000000000000700\n");
    let bad = judge(&trap).unwrap_err();
    assert_eq!(names(&bad), ["trap.vector"]);
    assert_eq!(bad[0].expected, "no such probe");

    let short = format!("{full}probe cede rc=000000000000000\n");
    assert_eq!(judge(&short).unwrap_err()[0].got, "a malformed line");
}

#[test]
fn probe_done_is_required_with_the_right_count() {
    let full = perfect();
    let cut = full.replace(&format!("probe-done {}", PROBES.len()), "");
    let bad = judge(&cut).unwrap_err();
    assert_eq!(names(&bad), ["probe-done"]);
    assert_eq!(bad[0].got, "missing");
    let wrong = full.replace(&format!("probe-done {}", PROBES.len()), "probe-done 3");
    assert_eq!(judge(&wrong).unwrap_err()[0].got, "probe-done 3");
    let all_missing = judge("").unwrap_err();
    assert_eq!(all_missing.len(), PROBES.len() + 1);
}

#[test]
fn parse_line_reads_values_and_refuses_near_misses() {
    let p = parse_line("probe rtas-tod.year rc=00000000000007ea");
    assert!(matches!(p, Parsed::Probe(l) if l.name == "rtas-tod.year" && l.value == 2026));
    assert!(matches!(
        parse_line("probe x rc=zzzzzzzzzzzzzzzz"),
        Parsed::Malformed(_)
    ));
    assert!(matches!(
        parse_line("probe x rc=0 extra"),
        Parsed::Malformed(_)
    ));
    assert!(matches!(parse_line("probe-done x"), Parsed::Malformed(_)));
    assert_eq!(parse_line("probes are nice"), Parsed::Other);
    assert_eq!(parse_line("vmm: probe kernel loaded"), Parsed::Other);
    assert!(matches!(parse_line("probe a b rc=0"), Parsed::Malformed(_)));
}

#[test]
fn the_real_qemu_run_passes_as_qemu_and_differs_from_the_platform_where_documented() {
    let s = judge_for(QEMU_DIRECT, Target::QemuDirect).unwrap();
    assert!(s.cede_ticks >= DEC_DELAY_TICKS);
    assert!(s.year >= 2024);
    // Plain QEMU accepts what the platform must refuse.
    let bad = judge(QEMU_DIRECT).unwrap_err();
    let differing: Vec<&str> = PROBES
        .iter()
        .filter(|p| p.on_qemu.is_some())
        .map(|p| p.name)
        .collect();
    assert_eq!(names(&bad), differing);
    assert_eq!(
        differing,
        ["proc-tbl-size-8m", "proc-tbl-hash", "rtas-nargs-off-ram"]
    );
}

#[test]
fn the_panic_kernel_run_on_qemu_is_a_program_interrupt_at_the_illegal_word() {
    let t = judge_panic(QEMU_DIRECT_PANIC).unwrap();
    assert_eq!(t.vector, 0x700);
    assert_ne!(t.srr1 & SRR1_ILLEGAL, 0);

    let no_srr0: String = QEMU_DIRECT_PANIC
        .lines()
        .filter(|l| !l.contains("trap.srr0"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(names(&judge_panic(&no_srr0).unwrap_err()), ["trap.srr0"]);
    let moved = QEMU_DIRECT_PANIC.replace(
        "panic.load-base rc=0000000000400000",
        "panic.load-base rc=0000000000000000",
    );
    assert_eq!(names(&judge_panic(&moved).unwrap_err()), ["trap.srr0"]);
    let went_on = format!("{QEMU_DIRECT_PANIC}probe panic.not-trapped rc=0000000000400000\n");
    assert_eq!(
        names(&judge_panic(&went_on).unwrap_err()),
        ["panic.not-trapped"]
    );
    assert!(judge_panic(&perfect()).is_err());
}

#[test]
fn the_readme_table_lists_every_probe() {
    let readme = include_str!("../README.md");
    for p in PROBES {
        assert!(readme.contains(&format!("\n| {} |", p.name)), "{}", p.name);
    }
    assert!(readme.contains(&format!("probe-done {}", PROBES.len())));
}
