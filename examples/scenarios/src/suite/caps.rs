//! Capabilities scenarios (`caps-*`): they must run on a fresh L0, before any other.

use super::*;

/// The `caps-*` scenarios, in session order.
pub(super) fn scenarios() -> Vec<Scenario> {
    vec![
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
    ]
}
