//! Guest and vCPU lifecycle scenarios: create, delete, vCPU creation order, run preconditions.

use super::*;

/// The guest and vCPU lifecycle scenarios, in session order.
pub(super) fn scenarios() -> Vec<Scenario> {
    let s0 = GuestRef::Slot(0);
    vec![
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
    ]
}
