//! GET/SET_STATE scenarios: guest-wide, thread-wide and host-wide elements, malformed buffers,
//! and the requests refused client-side because they kill QEMU.

use super::*;

/// The GET/SET_STATE scenarios, in session order.
pub(super) fn scenarios() -> Vec<Scenario> {
    let s0 = GuestRef::Slot(0);
    vec![
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
    ]
}
