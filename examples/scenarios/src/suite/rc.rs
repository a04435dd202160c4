//! R/C and protection scenarios (§2: page 0x1000, the L2 in real mode), and the L1 changing
//! the partition-scoped PTEs between runs.

use super::*;

/// The `rc-*` and `mmu-*` scenarios, in session order.
pub(super) fn scenarios() -> Vec<Scenario> {
    let rc = |name, about, low: u64, program: Vec<L2Op>, tail: Vec<Step>| {
        let mut s = boot(0);
        s.push(set_pte(0, 0x1000, low));
        s.push(prog(0, program));
        s.extend(tail);
        Scenario::new(name, about, s)
    };
    vec![
        rc(
            "rc-load-r0",
            "R = C = 0 RWX, load: HDSISR 0x00040000, repeated on rerun, PTE untouched; the \
             L1 sets R and the load completes",
            0x007,
            vec![load(0x1000, 8), report(1)],
            vec![
                run_with(0, Hdec::Future(SECOND), Handle::Nothing),
                run_with(0, Hdec::Future(SECOND), Handle::Nothing),
                pte(0, 0x1000),
                run(0),
                pte(0, 0x1000),
                run(0),
            ],
        ),
        rc(
            "rc-r0-c1-load",
            "R = 0, C = 1, load: HDSISR 0x00040000",
            0x087,
            vec![load(0x1000, 8), report(1)],
            vec![run(0), run(0), pte(0, 0x1000)],
        ),
        rc(
            "rc-store-c0-first",
            "R = 1, C = 0, a store as the first access of the run: HDSISR 0x02040000, \
             HDAR = ASDR = 0x1010; the L1 sets C and the store lands",
            0x107,
            vec![store(0x1010, 8, 0x55), report(1)],
            vec![
                run(0),
                mem(0, 0x1010),
                run(0),
                mem(0, 0x1010),
                pte(0, 0x1000),
            ],
        ),
        rc(
            "rc-load-then-store-same-run",
            "R = 1, C = 0, a load then a store to the page in one run: no exit, the store \
             lands and C stays 0 (QEMU's TLB quirk, §2)",
            0x107,
            vec![load(0x1000, 8), store(0x1008, 8, 0x66), report(1)],
            vec![run(0), mem(0, 0x1008), pte(0, 0x1000)],
        ),
        rc(
            "rc-load-run1-store-run2",
            "R = 1, C = 0, load in run 1, store in run 2: 0x02040000 in run 2, the store not \
             done until the L1 sets C",
            0x107,
            vec![
                load(0x1000, 8),
                report(1),
                store(0x1008, 8, 0x77),
                report(2),
            ],
            vec![run(0), run(0), mem(0, 0x1008), run(0), mem(0, 0x1008)],
        ),
        rc(
            "rc-fetch-then-store",
            "code on an R = 1, C = 0 page stores into its own page: no exit, the store \
             lands, C stays 0 (§2)",
            0x107,
            vec![
                L2Op::Fetch { gpa: 0x1000 },
                store(0x1800, 8, 0x88),
                report(1),
            ],
            vec![run(0), mem(0, 0x1800), pte(0, 0x1000)],
        ),
        rc(
            "rc-readonly-store",
            "R = C = 1, read+exec only, store: HDSISR 0x0A000000 (protection)",
            0x185,
            vec![store(0x1000, 8, 1), report(1)],
            vec![run(0), resume(0, 1), run(0)],
        ),
        rc(
            "rc-noperm-r0-store",
            "R = C = 0, no write, store: 0x0A000000 (protection checked before R/C)",
            0x005,
            vec![store(0x1000, 8, 1), report(1)],
            vec![run(0), resume(0, 1), run(0), pte(0, 0x1000)],
        ),
        rc(
            "rc-eaa-rw-only-load",
            "EAA 0x2 only (R = C = 1): a load succeeds",
            0x182,
            vec![load(0x1000, 8), report(1)],
            vec![run(0)],
        ),
        rc(
            "rc-code-r0-fetch",
            "a branch to a code page with R = 0: 0xE20, the cause invisible; the L1 sets R \
             and the code runs",
            0x007,
            vec![load(MMIO, 8), L2Op::Fetch { gpa: 0x1000 }, report(1)],
            vec![run(0), run(0), set_pte(0, 0x1000, 0x187), run(0)],
        ),
        rc(
            "rc-noexec-fetch",
            "a branch to a page without execute (R|C|RW): 0xE20; with exec the code runs",
            0x186,
            vec![load(MMIO, 8), L2Op::Fetch { gpa: 0x1000 }, report(1)],
            vec![run(0), run(0), set_pte(0, 0x1000, 0x187), run(0)],
        ),
        Scenario::new(
            "mmu-write-protect",
            "dirty tracking by write protection: a store to a write-protected page faults \
             0x0A000000; unprotected, it lands",
            with(
                boot(0),
                [
                    Step::Map {
                        slot: 0,
                        gpa: 0x4000,
                        len: 0x1000,
                        perms: 7,
                    },
                    prog(
                        0,
                        vec![
                            store(0x4000, 8, 1),
                            report(1),
                            store(0x4008, 8, 2),
                            report(2),
                        ],
                    ),
                    run(0),
                    Step::Protect {
                        slot: 0,
                        gpa: 0x4000,
                        len: 0x1000,
                        perms: 5,
                    },
                    run(0),
                    pte(0, 0x4000),
                    Step::Protect {
                        slot: 0,
                        gpa: 0x4000,
                        len: 0x1000,
                        perms: 7,
                    },
                    run(0),
                    mem(0, 0x4008),
                ],
            ),
        ),
        Scenario::new(
            "mmu-unmap-remap",
            "after an unmap the next load faults 0x40000000; the L1 maps it again",
            with(
                boot(0),
                [
                    Step::Map {
                        slot: 0,
                        gpa: 0x5000,
                        len: 0x1000,
                        perms: 7,
                    },
                    prog(
                        0,
                        vec![load(0x5000, 8), report(1), load(0x5000, 8), report(2)],
                    ),
                    run(0),
                    Step::Unmap {
                        slot: 0,
                        gpa: 0x5000,
                        len: 0x1000,
                    },
                    pte(0, 0x5000),
                    run(0),
                    run(0),
                    pte(0, 0x5000),
                ],
            ),
        ),
    ]
}
