//! The hosted VMM end to end: the binary's output and exit code, and the library's outcome
//! (L2 text, every exit kind counted, hcalls, device state, exit status).

use hosted::script::{
    default_script, ScriptBuilder, ScriptError, GREETING, PAGE_FAULTS, TIMER_WAITS,
};
use hosted::vmm::{DEV_ID, DEV_SCRATCH};
use hosted::{run, DEV_GPA};
use papr_hcall::sim::L2Action;
use papr_nestedv2::ExitKind;
use std::process::Command;

/// What the default script prints on its console.
const CONSOLE: &str = "Hello from an L2 guest under PAPR Nested APIv2!\n\
ram: touching 5 pages\n\
mmio: reading the device id\n\
mmio: scratch <- 0x2a, read back\n\
timer: idling for 3 ticks\n\
trying an optional instruction\n\
program check caught: bye!\n";

#[test]
fn binary_prints_the_greeting_and_statistics_and_exits_0() {
    let out = Command::new(env!("CARGO_BIN_EXE_hosted")).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(GREETING), "{stdout}");
    for line in [
        "[vmm] mmio read  dev+0x0 (id) -> 0x50415052",
        "[vmm] mmio write dev+0x8 (scratch) <- 0x2a",
        "[vmm] mmio read  dev+0x8 (scratch) -> 0x2a",
        "[vmm] L2 exited with status 0",
        "[vmm] guest deleted, the L0 holds no guests",
    ] {
        assert!(
            stdout.lines().any(|l| l == line),
            "missing {line:?} in\n{stdout}"
        );
    }
    // The statistics table: a row per kind that occurred, and the total.
    for (kind, n) in [
        ("hcall", 17),
        ("page-fault", 5),
        ("mmio", 3),
        ("instruction-fault", 1),
        ("emulation-assist", 1),
        ("hdec", 3),
        ("total", 30),
    ] {
        let row = stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(kind))
            .unwrap_or_else(|| panic!("no {kind} row in\n{stdout}"));
        assert_eq!(
            row.split_whitespace().nth(1),
            Some(n.to_string().as_str()),
            "{row}"
        );
    }
    assert!(stdout.contains("hcalls to the L0: "), "{stdout}");
}

#[test]
fn binary_exits_with_the_l2_status() {
    let out = Command::new(env!("CARGO_BIN_EXE_hosted"))
        .arg("3")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("[vmm] L2 exited with status 3"));
}

#[test]
fn default_script_every_exit_kind_counted() {
    let script = default_script(DEV_GPA, 0).unwrap();
    let hcalls = script
        .actions
        .iter()
        .filter(|a| matches!(a, L2Action::Hcall { .. }))
        .count() as u64;
    let o = run(&script, std::io::sink()).unwrap();
    assert_eq!(o.status, 0);
    assert_eq!(o.exit_code(), 0);
    assert_eq!(o.console, CONSOLE);
    let s = &o.report.stats;
    assert_eq!(s.count(ExitKind::Hcall), hcalls);
    assert_eq!(s.count(ExitKind::PageFault), PAGE_FAULTS);
    assert_eq!(s.count(ExitKind::Mmio), 3);
    assert_eq!(s.count(ExitKind::InstructionFault), 1);
    assert_eq!(s.count(ExitKind::EmulationAssist), 1);
    assert_eq!(s.count(ExitKind::Hdec), TIMER_WAITS as u64);
    assert_eq!(
        s.total(),
        hcalls + PAGE_FAULTS + 3 + 1 + 1 + TIMER_WAITS as u64
    );
    // One H_GUEST_RUN_VCPU per exit; the timer exits are the only ones that take time.
    assert_eq!(o.report.hcalls.run_vcpu, s.total());
    assert_eq!(
        s.run_ticks(ExitKind::Hdec),
        TIMER_WAITS as u64 * papr_nestedv2::DEFAULT_SLICE
    );
    // The device saw the L2's store (r12 = 0x2a, little-endian, 4 bytes).
    assert_eq!(o.report.scratch, 0x2a);
    // The transcript has the table, and is the same every time.
    assert!(o.transcript.contains("exit kind"));
    let again = run(&script, std::io::sink()).unwrap();
    assert_eq!(again.transcript, o.transcript);
}

#[test]
fn the_exit_status_is_the_l2s() {
    for (status, code) in [(7, 7), (255, 255), (300, 255)] {
        let o = run(&default_script(DEV_GPA, status).unwrap(), std::io::sink()).unwrap();
        assert_eq!((o.status, o.exit_code()), (status, code));
    }
}

#[test]
fn a_custom_script_unknown_hcall_and_unassigned_mmio() {
    let mut s = ScriptBuilder::new(0x2000);
    s.print("custom\n");
    s.mmio_load32(DEV_GPA + DEV_ID, DEV_ID as u16);
    s.mmio_load32(DEV_GPA + 0x40, 0x40); // unassigned register: reads 0
    s.exit(9);
    let mut script = s.build();
    // An hcall the VMM does not implement, just before the exit: H_FUNCTION, and on.
    let at = script.actions.len() - 1;
    script.actions.insert(
        at,
        L2Action::Hcall {
            nr: 0x1234,
            args: [0; 9],
        },
    );
    // The exit hcall moved by one instruction: its `sc 1` word is not needed (no MMIO after).
    let o = run(&script, std::io::sink()).unwrap();
    assert_eq!(o.status, 9);
    assert_eq!(o.console, "custom\n");
    assert!(o
        .transcript
        .contains("[vmm] hcall 0x1234 not implemented: H_FUNCTION"));
    assert!(o
        .transcript
        .contains("[vmm] mmio read  dev+0x40 (unassigned) -> 0x0"));
    assert_eq!(o.report.stats.count(ExitKind::Mmio), 2);
    assert_eq!(o.report.stats.count(ExitKind::Hcall), 3);
}

#[test]
fn a_store_needs_its_value_in_the_register() {
    let mut s = ScriptBuilder::new(0);
    s.set_r12(5);
    assert_eq!(
        s.mmio_store32(DEV_GPA + DEV_SCRATCH, DEV_SCRATCH as u16, 5),
        Err(ScriptError::StoreValueNotInRegister { want: 5, held: 0 })
    );
    s.print("x");
    assert_eq!(
        s.mmio_store32(DEV_GPA + DEV_SCRATCH, DEV_SCRATCH as u16, 5),
        Ok(())
    );
}
