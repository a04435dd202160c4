//! HDEC scenarios: the hypervisor decrementer expiry in the past, present and far future.

use super::*;

/// The `hdec-*` scenarios, in session order.
pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
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
    ]
}
