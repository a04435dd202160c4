//! The scenarios that keep raw hcalls, and why: each tests the ABI edge itself — a call
//! the typed API would not make (wrong flags, malformed buffers, a call out of order) or
//! refuses client-side. Every other step goes through the crates (see the crate docs).
//!
//! [`RAW`] is checked against the suite: a scenario with a raw step that is not listed
//! here, or a listed one without, fails `cargo test -p papr-scenarios`.
//!
//! ```
//! use papr_scenarios::raw::{raw_steps, RAW};
//! use papr_scenarios::suite;
//! let all = suite::all();
//! let with_raw: Vec<&str> = all.iter().filter(|s| raw_steps(s) > 0).map(|s| s.name).collect();
//! let listed: Vec<&str> = RAW.iter().map(|(n, _)| *n).collect();
//! assert_eq!(with_raw, listed);
//! ```

use crate::scenario::{Scenario, Step};

/// Whether `step` is a raw hcall (no typed API in between).
pub const fn is_raw(step: &Step) -> bool {
    matches!(
        step,
        Step::GetCaps { .. }
            | Step::SetCaps { .. }
            | Step::RunRaw { .. }
            | Step::RawState { .. }
            | Step::DeleteRaw { .. }
            | Step::CreateVcpuRaw { .. }
    )
}

/// How many raw steps `scenario` has.
pub fn raw_steps(scenario: &Scenario) -> usize {
    scenario.steps.iter().filter(|s| is_raw(s)).count()
}

/// Every scenario with raw steps, in suite order, with why they stay raw.
pub const RAW: &[(&str, &str)] = &[
    (
        "caps-get",
        "GET_CAPABILITIES with non-zero flags: NestedHv::get_capabilities always sends 0",
    ),
    (
        "caps-set-zero",
        "SET_CAPABILITIES(0): NestedHv::negotiate stops with NoCommonMode instead",
    ),
    (
        "caps-set-twice",
        "a second SET_CAPABILITIES: an L1 on the crates negotiates once per L0 reset",
    ),
    (
        "guest-create-delete",
        "DELETE of a deleted guest: Guest::delete consumes the handle, so only a raw call can",
    ),
    (
        "guest-delete-errors",
        "DELETE with unsupported flags and of id 0: not expressible through NestedHv",
    ),
    (
        "vcpu-create-order",
        "CREATE_VCPU of a guest that does not exist: refused client-side by NestedHv",
    ),
    (
        "run-before-buffers",
        "RUN_VCPU before the run buffers: Guest::create_vcpu registers them with the vCPU",
    ),
    (
        "run-flags",
        "RUN_VCPU with non-zero flags: NestedHv sends 0 or PAPR-defined RunFlags only",
    ),
    (
        "state-malformed",
        "malformed guest state buffers: GsbBuilder cannot build them",
    ),
    (
        "state-count-one-past-end",
        "a GSB whose count exceeds its elements: GsbBuilder cannot build it",
    ),
    (
        "state-host-wide-errors",
        "bad scope flags, ids in the wrong scope: Target cannot say them; NestedHv refuses them",
    ),
    (
        "guests-delete-one-of-two",
        "RUN, SET_STATE, CREATE_VCPU, DELETE on a deleted guest: NestedHv refuses unknown guests",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn the_raw_list_is_the_suite_s() {
        let all = crate::suite::all();
        let with_raw: Vec<&str> = all
            .iter()
            .filter(|s| raw_steps(s) > 0)
            .map(|s| s.name)
            .collect();
        let listed: Vec<&str> = RAW.iter().map(|(n, _)| *n).collect();
        assert_eq!(with_raw, listed);
        assert!(RAW.iter().all(|(_, why)| !why.is_empty()));
    }
}
