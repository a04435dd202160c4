//! Exit scenarios: hcall, HDSI, HISI, page faults, MMIO and HEAI exits of the L2.

use super::*;

/// The `exit-*` scenarios, in session order.
pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "exit-hcall",
            "0xC00: GPR3–12 in the output (10 × 8 bytes); NIA after the sc; then 0x980 (§1)",
            with(
                boot(0),
                [
                    prog(
                        0,
                        vec![
                            L2Op::Hcall {
                                nr: 0x1234,
                                args: [
                                    0x1100_0000_0000_0004,
                                    5,
                                    6,
                                    7,
                                    8,
                                    9,
                                    10,
                                    0xFFFF_FFFF_FFFF_FFFF,
                                    0x8000_0000,
                                ],
                            },
                            L2Op::WaitHdec,
                        ],
                    ),
                    run(0),
                    nia(0),
                    run_with(0, Hdec::Future(MILLISECOND), Handle::Auto),
                ],
            ),
        ),
        Scenario::new(
            "exit-hcall-sequence",
            "three hcalls in three runs; the L1's r3 = 0 rides in each next run input",
            with(
                boot(0),
                [
                    prog(0, vec![report(1), report(2), report(3)]),
                    run(0),
                    run(0),
                    nia(0),
                    run(0),
                ],
            ),
        ),
        Scenario::new(
            "exit-hdsi-load-unmapped",
            "0xE00 for a load outside RAM: HDSISR 0x40000000, HDAR = ASDR = gpa, NIA at the \
             load; the L1 emulates it as MMIO (§1)",
            with(
                boot(0),
                [prog(0, vec![load(0x10_0000, 8), report(1)]), run(0), run(0)],
            ),
        ),
        Scenario::new(
            "exit-hdsi-store-unmapped",
            "0xE00 for std at 0x100008 and stw at 0x100124: HDSISR 0x42000000 (§1)",
            with(
                boot(0),
                [
                    prog(
                        0,
                        vec![
                            store(0x10_0008, 8, 0x1122_3344_5566_7788),
                            store(0x10_0124, 4, 0x789a_bcde),
                            report(1),
                        ],
                    ),
                    run(0),
                    run(0),
                    run(0),
                ],
            ),
        )
        .limitation(STORE_DATA),
        Scenario::new(
            "exit-hdsi-no-pud",
            "a load at 0x40000010 (no level-1 entry): HDSISR 0x40000000, ASDR with the low \
             12 bits (§1)",
            with(
                boot(0),
                [
                    prog(0, vec![load(0x4000_0010, 8), report(1)]),
                    run(0),
                    run(0),
                ],
            ),
        ),
        Scenario::new(
            "exit-mmio-sizes",
            "stores and loads of 1, 2, 4, 8 bytes to the MMIO page: 8 × 0xE00, store bit \
             in HDSISR for the stores",
            with(
                boot(0),
                [
                    prog(
                        0,
                        vec![
                            store(MMIO, 1, 0x5a),
                            store(MMIO + 2, 2, 0x1234),
                            store(MMIO + 4, 4, 0x789a_bcde),
                            store(MMIO + 8, 8, 0x1122_3344_5566_7788),
                            load(MMIO, 1),
                            load(MMIO + 2, 2),
                            load(MMIO + 4, 4),
                            load(MMIO + 8, 8),
                            report(1),
                        ],
                    ),
                    run(0),
                    run(0),
                    run(0),
                    run(0),
                    run(0),
                    run(0),
                    run(0),
                    run(0),
                    run(0),
                ],
            ),
        )
        .limitation(STORE_DATA),
        Scenario::new(
            "exit-hdsi-retry",
            "an unhandled HDSI repeats on the next run with the same NIA; moving NIA past \
             it goes on",
            with(
                boot(0),
                [
                    prog(0, vec![load(MMIO, 4), report(1)]),
                    run_with(0, Hdec::Future(SECOND), Handle::Nothing),
                    run_with(0, Hdec::Future(SECOND), Handle::Nothing),
                    resume(0, 1),
                    run(0),
                ],
            ),
        ),
        Scenario::new(
            "exit-page-fault-ram",
            "a load from unmapped RAM faults (0x40000000); the L1 maps the page with R and C \
             set; the load and a store then complete with no exit",
            with(
                boot(0),
                [
                    prog(
                        0,
                        vec![load(0x2000, 8), store(0x2008, 8, 0xabcd), report(1)],
                    ),
                    run(0),
                    run(0),
                    mem(0, 0x2008),
                    pte(0, 0x2000),
                ],
            ),
        ),
        Scenario::new(
            "exit-hisi-no-pmd",
            "0xE20 for a branch to 0x200000 (no level-2 entry): ASDR = NIA = target, HDAR \
             stale from the last HDSI; the L1 maps the page and the code there runs (§1)",
            with(
                boot(0),
                [
                    Step::AddRam {
                        slot: 0,
                        gpa: 0x20_0000,
                        len: 0x1000,
                    },
                    prog(
                        0,
                        vec![
                            load(0x10_0124, 4),
                            L2Op::Fetch { gpa: 0x20_0000 },
                            report(0x1515),
                        ],
                    ),
                    run(0),
                    run(0),
                    run(0),
                ],
            ),
        ),
        Scenario::new(
            "exit-hisi-empty-pte",
            "0xE20 for a branch to 0x1000 (level-3 table present, entry empty) (§1)",
            with(
                boot(0),
                [
                    prog(
                        0,
                        vec![load(MMIO, 8), L2Op::Fetch { gpa: 0x1000 }, report(2)],
                    ),
                    run(0),
                    run(0),
                    run(0),
                    pte(0, 0x1000),
                ],
            ),
        ),
        Scenario::new(
            "exit-hisi-stale-hdar-other-guest",
            "a HISI in guest 2 right after an HDSI in guest 1: HDAR is kept per vCPU \
             (QEMU saves and restores it with the vCPU's state, measured: 0 here, not guest \
             1's 0x100124)",
            {
                let mut s = boot(0);
                s.extend(boot(1));
                s.extend([
                    prog(0, vec![load(0x10_0124, 4), report(1)]),
                    prog(1, vec![L2Op::Fetch { gpa: 0x3000 }, report(2)]),
                    run(0),
                    run(1),
                ]);
                s
            },
        ),
        Scenario::new(
            "exit-heai-illegal",
            "0xE40: HEIR is 4 bytes holding the word (0x1234, 0x7c0007fe, 0); the L1 skips \
             each (§1)",
            with(
                boot(0),
                [
                    prog(
                        0,
                        vec![
                            L2Op::illegal(0x1234),
                            L2Op::illegal(0x7c00_07fe),
                            L2Op::illegal(0),
                            report(1),
                        ],
                    ),
                    run(0),
                    run(0),
                    run(0),
                    run(0),
                ],
            ),
        ),
        Scenario::new(
            "exit-heai-prefixed",
            "a prefixed illegal instruction: HEIR = the suffix only, NIA = the prefix (§1)",
            with(
                boot(0),
                [
                    prog(
                        0,
                        vec![
                            L2Op::EmulationAssist {
                                heir: 0x1234,
                                prefix: Some(0x0400_0000),
                            },
                            report(1),
                        ],
                    ),
                    run(0),
                    run(0),
                ],
            ),
        )
        .limitation(
            "the scripted L2 has no instruction memory: the prefix word is not modelled, \
             only the HEIR QEMU reports",
        ),
    ]
}
