//! Two guests, two vCPUs, deletion (§4).

use super::*;

/// The two-guest and two-vCPU scenarios, in session order.
pub(super) fn scenarios() -> Vec<Scenario> {
    let s0 = GuestRef::Slot(0);
    let two = {
        let mut s = boot(0);
        s.extend(boot(1));
        s.push(prog(0, vec![L2Op::hcall(1); 4]));
        s.push(prog(1, vec![L2Op::hcall(2); 4]));
        s
    };
    vec![
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
    ]
}
