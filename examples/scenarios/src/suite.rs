//! The scenarios, in session order (see [`crate::driver`]): the `caps-*` scenarios need an
//! L0 on which no capabilities were set yet, and must come first.
//!
//! Expected behaviour is QEMU's, from `../shared/qemu-pseries.md` and
//! `../shared/qemu-verified.md` (§ numbers below refer to the latter).

use crate::scenario::{GuestRef, Handle, Hdec, L2Op, Scenario, Scope, Step, MILLISECOND, SECOND};
use alloc::vec;
use alloc::vec::Vec;
use papr_gsb::GuestStateId as G;

/// The private hcall by which a program reports (as the pseries payloads do).
pub const REPORT: u64 = 0x7F00;
/// Guest real address of the emulated device (no RAM there).
pub const MMIO: u64 = 0x1000_0000;
/// Capabilities QEMU offers on power10 (P9 | P10).
pub const CAPS: u64 = 0x6000_0000_0000_0000;
/// Guest-wide GET/SET flag.
pub const GUEST_WIDE: u64 = 0x8000_0000_0000_0000;
/// Host-wide GET flag.
pub const HOST_WIDE: u64 = 0x4000_0000_0000_0000;

/// Leaf bits: V | L.
const VL: u64 = 0xC000_0000_0000_0000;

fn report(x: u64) -> L2Op {
    L2Op::Hcall {
        nr: REPORT,
        args: [x, 0, 0, 0, 0, 0, 0, 0, 0],
    }
}

fn load(gpa: u64, size: u8) -> L2Op {
    L2Op::Load { gpa, size }
}

fn store(gpa: u64, size: u8, value: u64) -> L2Op {
    L2Op::Store { gpa, size, value }
}

/// Guest in `slot` with vCPU 0 ready to run: create, partition table, RAM 0..64 KiB with
/// the code page mapped, vCPU 0, run buffers.
fn boot(slot: u8) -> Vec<Step> {
    vec![
        Step::CreateGuest { slot },
        Step::SetupGuest { slot, ea_bits: 52 },
        Step::CreateVcpu {
            guest: GuestRef::Slot(slot),
            vcpu: 0,
        },
        Step::SetRunBuffers {
            slot,
            vcpu: 0,
            size: 0x1000,
        },
    ]
}

fn prog(slot: u8, program: Vec<L2Op>) -> Step {
    Step::Load {
        slot,
        vcpu: 0,
        program,
    }
}

fn run(slot: u8) -> Step {
    run_with(slot, Hdec::Future(SECOND), Handle::Auto)
}

fn run_with(slot: u8, hdec: Hdec, handle: Handle) -> Step {
    Step::Run {
        slot,
        vcpu: 0,
        hdec,
        handle,
    }
}

fn get(scope: Scope, guest: GuestRef, ids: &[G]) -> Step {
    Step::GetState {
        scope,
        guest,
        vcpu: 0,
        ids: ids.iter().map(|i| i.0).collect(),
    }
}

fn nia(slot: u8) -> Step {
    get(Scope::Thread, GuestRef::Slot(slot), &[G::NIA])
}

fn resume(slot: u8, action: usize) -> Step {
    Step::Resume {
        slot,
        vcpu: 0,
        action,
    }
}

fn pte(slot: u8, gpa: u64) -> Step {
    Step::ReadPte { slot, gpa }
}

fn mem(slot: u8, gpa: u64) -> Step {
    Step::ReadMem { slot, gpa }
}

fn set_pte(slot: u8, gpa: u64, low: u64) -> Step {
    Step::SetPte {
        slot,
        gpa,
        bits: VL | low,
    }
}

/// A raw guest state buffer: count, then (id, value) elements.
pub fn gsb(elements: &[(u16, &[u8])]) -> Vec<u8> {
    gsb_counted(elements.len() as u32, elements)
}

/// A raw guest state buffer whose header claims `count` elements (malformed when it
/// differs from `elements.len()`).
pub fn gsb_counted(count: u32, elements: &[(u16, &[u8])]) -> Vec<u8> {
    let mut b = count.to_be_bytes().to_vec();
    for (id, v) in elements {
        b.extend(id.to_be_bytes());
        b.extend((v.len() as u16).to_be_bytes());
        b.extend_from_slice(v);
    }
    b
}

fn raw_state(set: bool, flags: u64, guest: GuestRef, bytes: Vec<u8>) -> Step {
    Step::RawState {
        set,
        flags,
        guest,
        vcpu: 0,
        bytes,
    }
}

fn with(mut steps: Vec<Step>, more: impl IntoIterator<Item = Step>) -> Vec<Step> {
    steps.extend(more);
    steps
}

const Z8: &[u8] = &[0; 8];

/// The limitation of scenarios with MMIO stores (their data lines are in
/// [`crate::known::KNOWN`]).
const STORE_DATA: &str = "a scripted store does not hold its value in GPR5 (asm.rs's register \
     convention), so the software L0 answers the L1's GET of the source register with 0: the \
     data of each MMIO store is a known difference, tied to its line";

/// Every scenario, in session order.
pub fn all() -> Vec<Scenario> {
    let s0 = GuestRef::Slot(0);
    let mut v = vec![
        // ---- capabilities (must run on a fresh L0) ----
        Scenario::new(
            "caps-get",
            "GET_CAPABILITIES: non-zero flags → H_PARAMETER; flags 0 → P9|P10 on power10",
            vec![Step::GetCaps { flags: 1 }, Step::GetCaps { flags: 0 }],
        ),
        Scenario::new(
            "caps-create-before-set",
            "H_GUEST_CREATE before capabilities are set → H_STATE",
            vec![Step::CreateGuest { slot: 0 }],
        ),
        Scenario::new(
            "caps-set-zero",
            "SET_CAPABILITIES(0) → H_P2",
            vec![Step::SetCaps { caps: 0 }],
        ),
        Scenario::new(
            "caps-set-twice",
            "SET_CAPABILITIES(P9|P10) → H_SUCCESS; a second time → H_STATE",
            vec![Step::SetCaps { caps: CAPS }, Step::SetCaps { caps: CAPS }],
        ),
        // ---- guest and vCPU lifecycle ----
        Scenario::new(
            "guest-create-delete",
            "CREATE → id 1; DELETE → 0; DELETE of the deleted guest → H_P2 (§4)",
            vec![
                Step::CreateGuest { slot: 0 },
                Step::Delete { guest: s0 },
                Step::DeleteRaw {
                    flags: 0,
                    guest: s0,
                },
            ],
        ),
        Scenario::new(
            "guest-delete-errors",
            "DELETE with unsupported flags → H_UNSUPPORTED_FLAG (−256); DELETE of id 0 → H_P2; \
             delete-all refused client-side (it kills QEMU, §4)",
            vec![
                Step::CreateGuest { slot: 0 },
                Step::DeleteRaw {
                    flags: HOST_WIDE,
                    guest: s0,
                },
                Step::DeleteRaw {
                    flags: 0,
                    guest: GuestRef::Id(0),
                },
                Step::DeleteAll,
            ],
        ),
        Scenario::new(
            "vcpu-create-order",
            "CREATE_VCPU in order; a duplicate → H_IN_USE; out of order and unknown guests \
             refused client-side; CREATE_VCPU on a guest that does not exist → H_P2",
            vec![
                Step::CreateGuest { slot: 0 },
                Step::CreateVcpu { guest: s0, vcpu: 0 },
                Step::CreateVcpu { guest: s0, vcpu: 0 },
                Step::CreateVcpu { guest: s0, vcpu: 2 },
                Step::CreateVcpu { guest: s0, vcpu: 1 },
                Step::CreateVcpu {
                    guest: GuestRef::Id(77),
                    vcpu: 0,
                },
                Step::CreateVcpuRaw {
                    guest: GuestRef::Id(77),
                    vcpu: 0,
                },
            ],
        ),
        Scenario::new(
            "run-before-buffers",
            "RUN_VCPU before the run buffers are set → H_P3",
            vec![
                Step::CreateGuest { slot: 0 },
                Step::SetupGuest {
                    slot: 0,
                    ea_bits: 52,
                },
                Step::CreateVcpu { guest: s0, vcpu: 0 },
                Step::RunRaw {
                    guest: s0,
                    vcpu: 0,
                    flags: 0,
                },
            ],
        ),
        Scenario::new(
            "run-before-partition-table",
            "RUN_VCPU with run buffers but no partition table → H_NOT_AVAILABLE (3)",
            vec![
                Step::CreateGuest { slot: 0 },
                Step::CreateVcpu { guest: s0, vcpu: 0 },
                Step::SetRunBuffers {
                    slot: 0,
                    vcpu: 0,
                    size: 0x1000,
                },
                run(0),
            ],
        ),
        Scenario::new(
            "run-flags",
            "RUN_VCPU with non-zero flags → H_PARAMETER",
            with(
                boot(0),
                [Step::RunRaw {
                    guest: s0,
                    vcpu: 0,
                    flags: 1,
                }],
            ),
        ),
        // ---- GET/SET_STATE ----
        Scenario::new(
            "state-guest-wide-get",
            "guest-wide GET: run output minimum 0x80, logical PVR 0x00801200 (power10)",
            with(
                boot(0),
                [get(
                    Scope::Guest,
                    s0,
                    &[G::RUN_OUTPUT_MIN_SIZE, G::LOGICAL_PVR],
                )],
            ),
        ),
        Scenario::new(
            "state-set-get",
            "thread-wide SET then GET: values come back; MSR and LPCR are not masked; \
             guest-wide TB_OFFSET reads back 0 (§3)",
            with(
                boot(0),
                [
                    Step::SetState {
                        scope: Scope::Thread,
                        guest: s0,
                        vcpu: 0,
                        values: vec![
                            (G::GPR3.0, 0x0123_4567_89ab_cdef),
                            (G::CTR.0, 0x2000),
                            (G::LR.0, 0x3000),
                        ],
                    },
                    get(Scope::Thread, s0, &[G::GPR3, G::CTR, G::LR]),
                    Step::SetState {
                        scope: Scope::Thread,
                        guest: s0,
                        vcpu: 0,
                        values: vec![(G::MSR.0, u64::MAX), (G::LPCR.0, u64::MAX)],
                    },
                    get(Scope::Thread, s0, &[G::MSR, G::LPCR]),
                    Step::SetState {
                        scope: Scope::Guest,
                        guest: s0,
                        vcpu: 0,
                        values: vec![(G::TB_OFFSET.0, 0x100_0000)],
                    },
                    get(Scope::Guest, s0, &[G::TB_OFFSET]),
                ],
            ),
        ),
        Scenario::new(
            "state-malformed",
            "a malformed GSB in SET or GET → H_P3 (QEMU never answers H_INVALID_ELEMENT_*): \
             a count two past the elements present, a GPR with a 4-byte value",
            with(
                boot(0),
                [
                    // count 3, one element present (QEMU: H_P3 once it has walked two
                    // headers past the end; see `state-count-one-past-end`)
                    raw_state(true, 0, s0, gsb_counted(3, &[(G::GPR3.0, Z8)])),
                    raw_state(false, 0, s0, gsb_counted(3, &[(G::GPR3.0, Z8)])),
                    // GPR3 with a 4-byte value
                    raw_state(true, 0, s0, gsb(&[(G::GPR3.0, &[0; 4])])),
                ],
            ),
        ),
        Scenario::new(
            "state-count-one-past-end",
            "a GSB whose count is one more than the elements present (followed by zeroes) \
             → H_P3 by PAPR; then a well-formed SET still works",
            with(
                boot(0),
                [
                    raw_state(true, 0, s0, gsb_counted(2, &[(G::GPR3.0, Z8)])),
                    raw_state(false, 0, s0, gsb_counted(2, &[(G::GPR3.0, Z8)])),
                    raw_state(true, 0, s0, gsb(&[(G::GPR3.0, Z8)])),
                ],
            ),
        ),
        Scenario::new(
            "state-process-table",
            "guest-wide SET of PROCESS_TABLE {base, 4 KiB} → H_SUCCESS; 8 KiB refused \
             client-side (kills QEMU)",
            with(
                boot(0),
                [
                    Step::SetProcessTable {
                        slot: 0,
                        base: 0x8000,
                        size: 0x1000,
                    },
                    Step::SetProcessTable {
                        slot: 0,
                        base: 0x8000,
                        size: 0x2000,
                    },
                ],
            ),
        ),
        Scenario::new(
            "state-host-wide",
            "host-wide GET (flag 0x4000…) → H_SUCCESS, counters 0, whatever the guest id (§5)",
            vec![
                get(
                    Scope::Host,
                    GuestRef::Id(0),
                    &[G(0x800), G(0x801), G(0x802), G(0x803), G(0x804)],
                ),
                get(Scope::Host, GuestRef::Id(77), &[G(0x800), G(0x804)]),
            ],
        ),
        Scenario::new(
            "state-host-wide-errors",
            "flags 0xC000… → H_PARAMETER; host ids guest-wide or thread-wide → H_P3; host \
             ids mixed with 0x0002 → H_P3; host-wide SET → H_PARAMETER; guest-wide SET of \
             0x0800 → H_P3 (§5)",
            with(
                boot(0),
                [
                    raw_state(false, GUEST_WIDE | HOST_WIDE, s0, gsb(&[(0x800, Z8)])),
                    raw_state(false, GUEST_WIDE, s0, gsb(&[(0x800, Z8)])),
                    raw_state(false, 0, s0, gsb(&[(0x800, Z8)])),
                    raw_state(false, HOST_WIDE, s0, gsb(&[(0x800, Z8), (0x0002, Z8)])),
                    raw_state(true, HOST_WIDE, s0, gsb(&[(0x800, Z8)])),
                    raw_state(true, GUEST_WIDE, s0, gsb(&[(0x800, Z8)])),
                ],
            ),
        ),
        Scenario::new(
            "qemu-killers-refused",
            "requests that kill QEMU are refused before the hcall: GET of the partition \
             table, partition table RTS ≠ 52, thread-wide GET on a missing vCPU, run buffers \
             out of 0x80..=16384",
            with(
                boot(0),
                [
                    get(Scope::Guest, s0, &[G::PARTITION_TABLE]),
                    Step::GetState {
                        scope: Scope::Thread,
                        guest: s0,
                        vcpu: 5,
                        ids: vec![G::GPR3.0],
                    },
                    Step::SetRunBuffers {
                        slot: 0,
                        vcpu: 0,
                        size: 0x8000,
                    },
                    Step::CreateGuest { slot: 1 },
                    Step::SetupGuest {
                        slot: 1,
                        ea_bits: 48,
                    },
                ],
            ),
        ),
    ];

    // ---- exits ----
    v.extend([
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
        // ---- HDEC ----
        Scenario::new(
            "hdec-spin",
            "`b .` with the expiry 1 ms ahead: 0x980 with an empty output, NIA at the spin; \
             the L1 moves NIA past it (§1)",
            with(
                boot(0),
                [
                    prog(0, vec![L2Op::WaitHdec, report(1)]),
                    run_with(0, Hdec::Future(MILLISECOND), Handle::Auto),
                    nia(0),
                    resume(0, 1),
                    run(0),
                ],
            ),
        ),
        Scenario::new(
            "hdec-past-after-positive",
            "an expiry in the past exits at once (NIA unchanged) when the previous run \
             ended before its own expiry (§1 HDEC detail)",
            with(
                boot(0),
                [
                    prog(0, vec![report(1), report(2)]),
                    run(0),
                    run_with(0, Hdec::Past(1), Handle::Auto),
                    nia(0),
                    run(0),
                ],
            ),
        ),
        Scenario::new(
            "hdec-past-after-hdec",
            "after an HDEC exit an expiry in the past gives no HDEC exit: the L2 runs on to \
             its hcall (§1 HDEC detail)",
            with(
                boot(0),
                [
                    prog(0, vec![L2Op::WaitHdec, report(2)]),
                    run_with(0, Hdec::Future(MILLISECOND), Handle::Auto),
                    resume(0, 1),
                    run_with(0, Hdec::Past(1), Handle::Auto),
                ],
            ),
        ),
        Scenario::new(
            "hdec-zero-and-max",
            "expiry 0 and u64::MAX are 'past': an immediate 0x980 after a run that left the \
             HDEC positive, no HDEC exit otherwise (§1 HDEC detail)",
            with(
                boot(0),
                [
                    prog(0, vec![report(1), report(2), report(3), report(4)]),
                    run(0),
                    run_with(0, Hdec::Absolute(0), Handle::Auto),
                    run(0),
                    run_with(0, Hdec::Absolute(u64::MAX), Handle::Auto),
                    run_with(0, Hdec::Absolute(u64::MAX), Handle::Auto),
                    run(0),
                ],
            ),
        ),
        Scenario::new(
            "hdec-far-future",
            "now + 2^55 − 1 is a future expiry: the L2 runs to its hcall",
            with(
                boot(0),
                [
                    prog(0, vec![report(1)]),
                    run_with(0, Hdec::Future((1 << 55) - 1), Handle::Auto),
                ],
            ),
        ),
    ]);

    // ---- R/C and protection (§2: page 0x1000, the L2 in real mode) ----
    let rc = |name, about, low: u64, program: Vec<L2Op>, tail: Vec<Step>| {
        let mut s = boot(0);
        s.push(set_pte(0, 0x1000, low));
        s.push(prog(0, program));
        s.extend(tail);
        Scenario::new(name, about, s)
    };
    v.extend([
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
    ]);

    // ---- two guests, two vCPUs, deletion (§4) ----
    let two = {
        let mut s = boot(0);
        s.extend(boot(1));
        s.push(prog(0, vec![L2Op::hcall(1); 4]));
        s.push(prog(1, vec![L2Op::hcall(2); 4]));
        s
    };
    v.extend([
        Scenario::new(
            "guests-two-alternate",
            "two guests (ids 1 and 2) run alternately, each exit with its own GPR3",
            with(two.clone(), [run(0), run(1), run(0), run(1)]),
        ),
        Scenario::new(
            "guests-delete-one-of-two",
            "after deleting guest 1 its RUN, SET_STATE, CREATE_VCPU and DELETE answer H_P2; \
             guest 2 runs on; CREATE reuses id 1, then gives 3",
            with(
                two,
                [
                    run(0),
                    run(1),
                    Step::Delete { guest: s0 },
                    Step::RunRaw {
                        guest: s0,
                        vcpu: 0,
                        flags: 0,
                    },
                    raw_state(true, 0, s0, gsb(&[(G::GPR3.0, Z8)])),
                    Step::CreateVcpuRaw { guest: s0, vcpu: 1 },
                    Step::DeleteRaw {
                        flags: 0,
                        guest: s0,
                    },
                    run(1),
                    Step::CreateGuest { slot: 2 },
                    Step::CreateGuest { slot: 3 },
                ],
            ),
        ),
        Scenario::new(
            "vcpus-two",
            "two vCPUs of one guest, each with its own buffers and program",
            with(
                boot(0),
                [
                    Step::CreateVcpu { guest: s0, vcpu: 1 },
                    Step::SetRunBuffers {
                        slot: 0,
                        vcpu: 1,
                        size: 0x1000,
                    },
                    prog(0, vec![report(0x10), report(0x11)]),
                    Step::Load {
                        slot: 0,
                        vcpu: 1,
                        program: vec![report(0x20), report(0x21)],
                    },
                    run(0),
                    Step::Run {
                        slot: 0,
                        vcpu: 1,
                        hdec: Hdec::Future(SECOND),
                        handle: Handle::Auto,
                    },
                    run(0),
                    Step::Run {
                        slot: 0,
                        vcpu: 1,
                        hdec: Hdec::Future(SECOND),
                        handle: Handle::Auto,
                    },
                ],
            ),
        ),
    ]);
    v
}

/// The scenario called `name`.
pub fn by_name(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::{assemble, B_SELF, SC1};
    use crate::driver::{entry, DEFAULT_RAM, VCPU_CODE};

    #[test]
    fn at_least_30_unique_names_without_spaces() {
        let all = all();
        assert!(all.len() >= 30, "{} scenarios", all.len());
        for (i, s) in all.iter().enumerate() {
            assert!(!s.name.is_empty() && !s.name.contains(char::is_whitespace));
            assert!(
                all.iter().skip(i + 1).all(|t| t.name != s.name),
                "{}",
                s.name
            );
        }
        assert!(by_name("hdec-spin").is_some());
    }

    #[test]
    fn every_program_assembles_into_well_formed_code() {
        for s in all() {
            for (slot, vcpu, p) in s.programs() {
                let img = assemble(entry(vcpu), p)
                    .unwrap_or_else(|e| panic!("{} {slot}/{vcpu}: {e:?}", s.name));
                // The entry segment fits in the vCPU's part of the code page the driver
                // maps (the vCPUs of a guest share its RAM).
                let first = &img.segments[0];
                assert_eq!(first.gpa, entry(vcpu));
                assert!(
                    first.end() <= entry(vcpu) + VCPU_CODE,
                    "{}: entry code too long",
                    s.name
                );
                assert!(
                    first.end() <= 0x1000,
                    "{}: entry code off the code page",
                    s.name
                );
                for seg in &img.segments {
                    assert_eq!(seg.gpa % 4, 0);
                    assert!(!seg.words.is_empty());
                    // Code outside the default RAM must be added by the scenario.
                    if seg.end() > DEFAULT_RAM {
                        assert!(
                            s.steps
                                .iter()
                                .any(|st| matches!(st, Step::AddRam { gpa, len, .. }
                                if *gpa <= seg.gpa && seg.end() <= gpa + len)),
                            "{}: code at {:#x} not in RAM",
                            s.name,
                            seg.gpa
                        );
                    }
                }
                // Each action's exiting instruction is what the action says.
                for (k, slot) in img.layout.slots.iter().enumerate() {
                    let word = img.segments.iter().find_map(|seg| {
                        let off = slot.exit.checked_sub(seg.gpa)? / 4;
                        seg.words.get(off as usize).copied()
                    });
                    match slot.op {
                        L2Op::Hcall { .. } => assert_eq!(word, Some(SC1), "{} a{k}", s.name),
                        L2Op::WaitHdec => assert_eq!(word, Some(B_SELF)),
                        L2Op::EmulationAssist { heir: w, prefix } => {
                            assert_eq!(word, Some(prefix.unwrap_or(w)));
                        }
                        L2Op::Load { .. } | L2Op::Store { .. } => {
                            let op = word.map(|w| w >> 26);
                            assert!(matches!(op, Some(32 | 34 | 36 | 38 | 40 | 44 | 58 | 62)));
                        }
                        L2Op::Fetch { gpa } => assert_eq!(slot.exit, gpa),
                    }
                }
                // The program ends spinning.
                let last = img.segments.last().and_then(|s| s.words.last()).copied();
                assert_eq!(last, Some(B_SELF));
            }
        }
    }

    #[test]
    fn raw_gsb_layout() {
        assert_eq!(
            gsb(&[(0x1003, &[1, 2])]),
            vec![0, 0, 0, 1, 0x10, 0x03, 0, 2, 1, 2]
        );
    }
}
