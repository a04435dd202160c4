//! RTAS as the L2 sees it: the 20-byte entry blob (QEMU's VOF `hv_rtas`, spec §3.4) and the
//! tokens of the calls the platform implements.
//!
//! Linux enters RTAS 32-bit, big-endian, in real mode with r3 = the argument block's real
//! address; the blob moves it to r4 and makes hcall `0xF000` (`KVMPPC_H_RTAS`), which the
//! [`Platform`](crate::Platform) answers, then returns through LR.

/// The blob's five big-endian instructions: `mr r4,r3; lis r3,0; ori r3,r3,0xf000; sc 1; blr`.
///
/// ```
/// let b = papr_platform::rtas::BLOB;
/// assert_eq!(&b[12..16], &[0x44, 0x00, 0x00, 0x22]); // sc 1
/// ```
pub const BLOB: [u8; 20] = [
    0x7c, 0x64, 0x1b, 0x78, // mr   r4,r3
    0x3c, 0x60, 0x00, 0x00, // lis  r3,0
    0x60, 0x63, 0xf0, 0x00, // ori  r3,r3,0xf000
    0x44, 0x00, 0x00, 0x22, // sc   1
    0x4e, 0x80, 0x00, 0x20, // blr
];

/// Bytes the device tree gives RTAS (`rtas-size`, and the `/memreserve/` entry): one page.
pub const SIZE: u64 = 0x1000;

/// Most arguments (and most return values) a call may declare, as Linux's `rtas_args`;
/// a block declaring more gets status −3.
pub const MAX_ARGS: u32 = 16;

/// RTAS status values (`rets[0]`).
pub mod status {
    /// Success.
    pub const SUCCESS: i32 = 0;
    /// Hardware error (e.g. no clock).
    pub const HW_ERROR: i32 = -1;
    /// Parameter error (bad argument count, unknown token, bad value).
    pub const PARAM_ERROR: i32 = -3;
}

/// Token numbers: QEMU's own (`RTAS_TOKEN_BASE` 0x2000 + index, `spapr_rtas.h`), so one
/// device tree serves both this platform and QEMU.
pub mod token {
    /// `display-character` (not in the device tree: Linux would print its progress with it).
    pub const DISPLAY_CHARACTER: u32 = 0x2000;
    /// `get-time-of-day`.
    pub const GET_TIME_OF_DAY: u32 = 0x2001;
    /// `set-time-of-day`.
    pub const SET_TIME_OF_DAY: u32 = 0x2002;
    /// `power-off`.
    pub const POWER_OFF: u32 = 0x2003;
    /// `system-reboot`.
    pub const SYSTEM_REBOOT: u32 = 0x2004;
    /// `query-cpu-stopped-state`.
    pub const QUERY_CPU_STOPPED_STATE: u32 = 0x2005;
    /// `start-cpu`.
    pub const START_CPU: u32 = 0x2006;
    /// `stop-self`.
    pub const STOP_SELF: u32 = 0x2007;
    /// `ibm,os-term`.
    pub const IBM_OS_TERM: u32 = 0x201F;
    /// The token Linux's early debug code assumes for `display-character` (QEMU honours it).
    pub const LEGACY_DISPLAY_CHARACTER: u32 = 0xA;

    /// The name of a token this platform implements, else `None`.
    ///
    /// ```
    /// use papr_platform::rtas::token;
    /// assert_eq!(token::name(token::POWER_OFF), Some("power-off"));
    /// assert_eq!(token::name(token::START_CPU), Some("start-cpu"));
    /// assert_eq!(token::name(0x2008), None);
    /// ```
    pub const fn name(token: u32) -> Option<&'static str> {
        Some(match token {
            DISPLAY_CHARACTER | LEGACY_DISPLAY_CHARACTER => "display-character",
            GET_TIME_OF_DAY => "get-time-of-day",
            SET_TIME_OF_DAY => "set-time-of-day",
            POWER_OFF => "power-off",
            SYSTEM_REBOOT => "system-reboot",
            QUERY_CPU_STOPPED_STATE => "query-cpu-stopped-state",
            START_CPU => "start-cpu",
            STOP_SELF => "stop-self",
            IBM_OS_TERM => "ibm,os-term",
            _ => return None,
        })
    }
}
