//! PAPR return codes (r3), per Linux `hvcall.h` (QEMU's `spapr.h` agrees).

use core::fmt;

/// A PAPR hcall return code, decoded. Keeps the raw value ([`raw`](Self::raw)); codes this
/// crate does not know stay representable as [`Unknown`](Self::Unknown).
///
/// ```
/// use papr_hcall::ReturnCode;
/// assert_eq!(ReturnCode::from_raw(-75), ReturnCode::State);
/// assert_eq!(ReturnCode::State.raw(), -75);
/// assert_eq!(ReturnCode::from_raw(9902).long_busy_ms(), Some(100));
/// assert_eq!(ReturnCode::from_raw(-300), ReturnCode::UnsupportedFlag(-300));
/// assert_eq!(ReturnCode::from_raw(-1000), ReturnCode::Unknown(-1000));
/// assert_eq!(ReturnCode::P3.to_string(), "H_P3 (-56)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReturnCode {
    /// 0 `H_SUCCESS`.
    Success,
    /// 1 `H_BUSY`: retry the identical call soon.
    Busy,
    /// 2 `H_CLOSED`.
    Closed,
    /// 3 `H_NOT_AVAILABLE` (QEMU: RUN_VCPU before a partition table is set).
    NotAvailable,
    /// 4 `H_CONSTRAINED`.
    Constrained,
    /// 5 `H_PARTIAL`.
    Partial,
    /// 14 `H_IN_PROGRESS`.
    InProgress,
    /// 15 `H_PAGE_REGISTERED`.
    PageRegistered,
    /// 16 `H_PARTIAL_STORE`.
    PartialStore,
    /// 17 `H_PENDING`.
    Pending,
    /// 18 `H_CONTINUE`.
    Continue,
    /// 9900–9905 `H_LONG_BUSY_ORDER_*`: retry after 10^order milliseconds (order 0–5).
    LongBusy(u8),
    /// −1 `H_HARDWARE`.
    Hardware,
    /// −2 `H_FUNCTION`: hcall not implemented.
    Function,
    /// −3 `H_PRIVILEGE`.
    Privilege,
    /// −4 `H_PARAMETER`.
    Parameter,
    /// −5 `H_BAD_MODE`.
    BadMode,
    /// −7 `H_NOT_FOUND`.
    NotFound,
    /// −9 `H_NO_MEM`.
    NoMem,
    /// −10 `H_AUTHORITY`.
    Authority,
    /// −11 `H_PERMISSION`.
    Permission,
    /// −16 `H_RESOURCE`.
    Resource,
    /// −44 `H_NOT_ENOUGH_RESOURCES`.
    NotEnoughResources,
    /// −45 `H_R_STATE`.
    RState,
    /// −54 `H_ABORTED`.
    Aborted,
    /// −55 `H_P2`: second parameter (r5) bad — for most `H_GUEST_*` calls, the guest id.
    P2,
    /// −56 `H_P3`.
    P3,
    /// −57 `H_P4`.
    P4,
    /// −58 `H_P5`.
    P5,
    /// −59 `H_P6`.
    P6,
    /// −60 `H_P7`.
    P7,
    /// −61 `H_P8`.
    P8,
    /// −62 `H_P9`.
    P9,
    /// −63 `H_NOOP`.
    Noop,
    /// −64 `H_TOO_BIG`.
    TooBig,
    /// −67 `H_UNSUPPORTED`.
    Unsupported,
    /// −68 `H_OVERLAP`.
    Overlap,
    /// −75 `H_STATE`: call out of order (e.g. CREATE before SET_CAPABILITIES).
    State,
    /// −77 `H_IN_USE`: e.g. a vCPU id already created.
    InUse,
    /// −79 `H_INVALID_ELEMENT_ID`.
    InvalidElementId,
    /// −80 `H_INVALID_ELEMENT_SIZE`.
    InvalidElementSize,
    /// −81 `H_INVALID_ELEMENT_VALUE`.
    InvalidElementValue,
    /// −82 `H_INPUT_BUFFER_NOT_DEFINED`.
    InputBufferNotDefined,
    /// −83 `H_INPUT_BUFFER_TOO_SMALL`.
    InputBufferTooSmall,
    /// −84 `H_OUTPUT_BUFFER_NOT_DEFINED`.
    OutputBufferNotDefined,
    /// −85 `H_OUTPUT_BUFFER_TOO_SMALL`.
    OutputBufferTooSmall,
    /// −86 `H_PARTITION_PAGE_TABLE_NOT_DEFINED`.
    PartitionPageTableNotDefined,
    /// −87 `H_GUEST_VCPU_STATE_NOT_HV_OWNED`.
    GuestVcpuStateNotHvOwned,
    /// −256 … −511 `H_UNSUPPORTED_FLAG_*` (QEMU answers −256 for any reserved flag).
    UnsupportedFlag(i64),
    /// A value not listed above.
    Unknown(i64),
}

/// (code, raw value, name) for every fixed code.
const CODES: [(ReturnCode, i64, &str); 47] = [
    (ReturnCode::Success, 0, "H_SUCCESS"),
    (ReturnCode::Busy, 1, "H_BUSY"),
    (ReturnCode::Closed, 2, "H_CLOSED"),
    (ReturnCode::NotAvailable, 3, "H_NOT_AVAILABLE"),
    (ReturnCode::Constrained, 4, "H_CONSTRAINED"),
    (ReturnCode::Partial, 5, "H_PARTIAL"),
    (ReturnCode::InProgress, 14, "H_IN_PROGRESS"),
    (ReturnCode::PageRegistered, 15, "H_PAGE_REGISTERED"),
    (ReturnCode::PartialStore, 16, "H_PARTIAL_STORE"),
    (ReturnCode::Pending, 17, "H_PENDING"),
    (ReturnCode::Continue, 18, "H_CONTINUE"),
    (ReturnCode::Hardware, -1, "H_HARDWARE"),
    (ReturnCode::Function, -2, "H_FUNCTION"),
    (ReturnCode::Privilege, -3, "H_PRIVILEGE"),
    (ReturnCode::Parameter, -4, "H_PARAMETER"),
    (ReturnCode::BadMode, -5, "H_BAD_MODE"),
    (ReturnCode::NotFound, -7, "H_NOT_FOUND"),
    (ReturnCode::NoMem, -9, "H_NO_MEM"),
    (ReturnCode::Authority, -10, "H_AUTHORITY"),
    (ReturnCode::Permission, -11, "H_PERMISSION"),
    (ReturnCode::Resource, -16, "H_RESOURCE"),
    (
        ReturnCode::NotEnoughResources,
        -44,
        "H_NOT_ENOUGH_RESOURCES",
    ),
    (ReturnCode::RState, -45, "H_R_STATE"),
    (ReturnCode::Aborted, -54, "H_ABORTED"),
    (ReturnCode::P2, -55, "H_P2"),
    (ReturnCode::P3, -56, "H_P3"),
    (ReturnCode::P4, -57, "H_P4"),
    (ReturnCode::P5, -58, "H_P5"),
    (ReturnCode::P6, -59, "H_P6"),
    (ReturnCode::P7, -60, "H_P7"),
    (ReturnCode::P8, -61, "H_P8"),
    (ReturnCode::P9, -62, "H_P9"),
    (ReturnCode::Noop, -63, "H_NOOP"),
    (ReturnCode::TooBig, -64, "H_TOO_BIG"),
    (ReturnCode::Unsupported, -67, "H_UNSUPPORTED"),
    (ReturnCode::Overlap, -68, "H_OVERLAP"),
    (ReturnCode::State, -75, "H_STATE"),
    (ReturnCode::InUse, -77, "H_IN_USE"),
    (ReturnCode::InvalidElementId, -79, "H_INVALID_ELEMENT_ID"),
    (
        ReturnCode::InvalidElementSize,
        -80,
        "H_INVALID_ELEMENT_SIZE",
    ),
    (
        ReturnCode::InvalidElementValue,
        -81,
        "H_INVALID_ELEMENT_VALUE",
    ),
    (
        ReturnCode::InputBufferNotDefined,
        -82,
        "H_INPUT_BUFFER_NOT_DEFINED",
    ),
    (
        ReturnCode::InputBufferTooSmall,
        -83,
        "H_INPUT_BUFFER_TOO_SMALL",
    ),
    (
        ReturnCode::OutputBufferNotDefined,
        -84,
        "H_OUTPUT_BUFFER_NOT_DEFINED",
    ),
    (
        ReturnCode::OutputBufferTooSmall,
        -85,
        "H_OUTPUT_BUFFER_TOO_SMALL",
    ),
    (
        ReturnCode::PartitionPageTableNotDefined,
        -86,
        "H_PARTITION_PAGE_TABLE_NOT_DEFINED",
    ),
    (
        ReturnCode::GuestVcpuStateNotHvOwned,
        -87,
        "H_GUEST_VCPU_STATE_NOT_HV_OWNED",
    ),
];

/// First `H_LONG_BUSY_ORDER_*` value (1 ms).
pub const H_LONG_BUSY_START: i64 = 9900;
/// Last `H_LONG_BUSY_ORDER_*` value (100 s).
pub const H_LONG_BUSY_END: i64 = 9905;
/// `H_UNSUPPORTED_FLAG_START` (also the single value QEMU returns).
pub const H_UNSUPPORTED_FLAG: i64 = -256;

impl ReturnCode {
    /// Decodes r3.
    pub fn from_raw(raw: i64) -> Self {
        if (H_LONG_BUSY_START..=H_LONG_BUSY_END).contains(&raw) {
            return ReturnCode::LongBusy((raw - H_LONG_BUSY_START) as u8);
        }
        if (-511..=-256).contains(&raw) {
            return ReturnCode::UnsupportedFlag(raw);
        }
        CODES
            .iter()
            .find(|(_, r, _)| *r == raw)
            .map(|(c, _, _)| *c)
            .unwrap_or(ReturnCode::Unknown(raw))
    }

    /// The raw r3 value.
    pub fn raw(self) -> i64 {
        match self {
            ReturnCode::LongBusy(order) => H_LONG_BUSY_START + i64::from(order),
            ReturnCode::UnsupportedFlag(r) | ReturnCode::Unknown(r) => r,
            c => CODES
                .iter()
                .find(|(k, _, _)| *k == c)
                .map(|(_, r, _)| *r)
                .unwrap_or(0),
        }
    }

    /// The PAPR name (`"H_STATE"`); `"H_LONG_BUSY"`, `"H_UNSUPPORTED_FLAG"`, `"unknown"` for the ranges.
    pub fn name(self) -> &'static str {
        match self {
            ReturnCode::LongBusy(_) => "H_LONG_BUSY",
            ReturnCode::UnsupportedFlag(_) => "H_UNSUPPORTED_FLAG",
            ReturnCode::Unknown(_) => "unknown return code",
            c => CODES
                .iter()
                .find(|(k, _, _)| *k == c)
                .map(|(_, _, n)| *n)
                .unwrap_or("unknown return code"),
        }
    }

    /// Milliseconds to wait for a long-busy code (Linux `get_longbusy_msecs`).
    pub fn long_busy_ms(self) -> Option<u64> {
        match self {
            ReturnCode::LongBusy(order) => Some(10u64.pow(u32::from(order))),
            _ => None,
        }
    }

    /// Whether the call should be retried (`H_BUSY` or long busy).
    pub fn is_busy(self) -> bool {
        matches!(self, ReturnCode::Busy | ReturnCode::LongBusy(_))
    }

    /// For `H_INVALID_ELEMENT_*`: the L0 put the element's position in r4.
    pub fn carries_element_position(self) -> bool {
        matches!(
            self,
            ReturnCode::InvalidElementId
                | ReturnCode::InvalidElementSize
                | ReturnCode::InvalidElementValue
        )
    }
}

impl fmt::Display for ReturnCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReturnCode::LongBusy(o) => {
                write!(
                    f,
                    "H_LONG_BUSY ({}, retry after {} ms)",
                    self.raw(),
                    10u64.pow(u32::from(*o))
                )
            }
            _ => write!(f, "{} ({})", self.name(), self.raw()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn every_fixed_code_round_trips() {
        for (code, raw, name) in CODES {
            assert_eq!(ReturnCode::from_raw(raw), code, "{name}");
            assert_eq!(code.raw(), raw, "{name}");
            assert_eq!(code.name(), name);
        }
    }

    #[test]
    fn ranges_round_trip() {
        for raw in H_LONG_BUSY_START..=H_LONG_BUSY_END {
            let c = ReturnCode::from_raw(raw);
            assert!(c.is_busy());
            assert_eq!(c.raw(), raw);
        }
        for raw in -511..=-256 {
            assert_eq!(ReturnCode::from_raw(raw), ReturnCode::UnsupportedFlag(raw));
            assert_eq!(ReturnCode::from_raw(raw).raw(), raw);
        }
        for raw in [-6, -8, -100, -512, 6, 19, 9906, i64::MIN, i64::MAX] {
            assert_eq!(ReturnCode::from_raw(raw), ReturnCode::Unknown(raw));
            assert_eq!(ReturnCode::Unknown(raw).raw(), raw);
        }
    }

    #[test]
    fn display() {
        assert_eq!(
            ReturnCode::LongBusy(1).to_string(),
            "H_LONG_BUSY (9901, retry after 10 ms)"
        );
        assert_eq!(
            ReturnCode::UnsupportedFlag(-256).to_string(),
            "H_UNSUPPORTED_FLAG (-256)"
        );
        assert_eq!(
            ReturnCode::Unknown(-999).to_string(),
            "unknown return code (-999)"
        );
    }
}
