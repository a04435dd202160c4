//! PAPR numbers the probes use: hcall opcodes, return codes, flags and RTAS tokens, named as
//! in Linux `arch/powerpc/include/asm/hvcall.h` and QEMU `include/hw/ppc/spapr.h`.

/// hcall opcodes (r3 at `sc 1`).
pub mod nr {
    /// `H_SET_SPRG0`.
    pub const H_SET_SPRG0: u64 = 0x24;
    /// `H_SET_DABR`.
    pub const H_SET_DABR: u64 = 0x28;
    /// `H_PAGE_INIT`.
    pub const H_PAGE_INIT: u64 = 0x2C;
    /// `H_GET_TERM_CHAR`.
    pub const H_GET_TERM_CHAR: u64 = 0x54;
    /// `H_PUT_TERM_CHAR`.
    pub const H_PUT_TERM_CHAR: u64 = 0x58;
    /// `H_REGISTER_VPA`.
    pub const H_REGISTER_VPA: u64 = 0xDC;
    /// `H_CEDE`.
    pub const H_CEDE: u64 = 0xE0;
    /// `H_SET_XDABR`.
    pub const H_SET_XDABR: u64 = 0x134;
    /// `H_SET_MODE`.
    pub const H_SET_MODE: u64 = 0x31C;
    /// `H_REGISTER_PROC_TBL`.
    pub const H_REGISTER_PROC_TBL: u64 = 0x37C;
    /// `H_GUEST_CREATE` (Nested APIv2; an L2 must not reach the L0 with it).
    pub const H_GUEST_CREATE: u64 = 0x470;
    /// `KVMPPC_H_RTAS`: QEMU's RTAS entry hcall.
    pub const H_RTAS: u64 = 0xF000;
}

/// hcall return codes (r3 after `sc 1`), as the 64-bit register holds them.
pub mod rc {
    /// `H_SUCCESS`.
    pub const H_SUCCESS: i64 = 0;
    /// `H_BUSY`.
    pub const H_BUSY: i64 = 1;
    /// `H_HARDWARE`.
    pub const H_HARDWARE: i64 = -1;
    /// `H_FUNCTION`.
    pub const H_FUNCTION: i64 = -2;
    /// `H_PARAMETER`.
    pub const H_PARAMETER: i64 = -4;
    /// `H_P2`.
    pub const H_P2: i64 = -55;
    /// `H_P3`.
    pub const H_P3: i64 = -56;
    /// `H_P4`.
    pub const H_P4: i64 = -57;
    /// `H_UNSUPPORTED_FLAG` (QEMU's single value for `H_UNSUPPORTED_FLAG_START`…).
    pub const H_UNSUPPORTED_FLAG: i64 = -256;

    /// The PAPR name of a return code the probes expect, else `None`.
    ///
    /// ```
    /// use papr_l2_probe::papr::rc;
    /// assert_eq!(rc::name(-4), Some("H_PARAMETER"));
    /// assert_eq!(rc::name(-5), None);
    /// ```
    pub const fn name(rc: i64) -> Option<&'static str> {
        Some(match rc {
            H_SUCCESS => "H_SUCCESS",
            H_BUSY => "H_BUSY",
            H_HARDWARE => "H_HARDWARE",
            H_FUNCTION => "H_FUNCTION",
            H_PARAMETER => "H_PARAMETER",
            H_P2 => "H_P2",
            H_P3 => "H_P3",
            H_P4 => "H_P4",
            H_UNSUPPORTED_FLAG => "H_UNSUPPORTED_FLAG",
            _ => return None,
        })
    }
}

/// `H_REGISTER_PROC_TBL` flags (Linux `PROC_TABLE_*`, QEMU `FLAG_*`).
pub mod proc_tbl {
    /// `PROC_TABLE_NEW` (MODIFY | REGISTER).
    pub const NEW: u64 = 0x18;
    /// `PROC_TABLE_RADIX`.
    pub const RADIX: u64 = 0x04;
    /// `PROC_TABLE_GTSE`.
    pub const GTSE: u64 = 0x01;
    /// What Linux passes: NEW | RADIX | GTSE.
    pub const LINUX: u64 = NEW | RADIX | GTSE;
}

/// `H_REGISTER_VPA` sub-functions (r4; QEMU `FLAGS_*`).
pub mod vpa {
    /// Register a VPA.
    pub const REGISTER: u64 = 1 << 45;
    /// Sub-function 4: not defined.
    pub const UNDEFINED: u64 = 4 << 45;
    /// Smallest VPA QEMU accepts (`VPA_MIN_SIZE`).
    pub const MIN_SIZE: u16 = 640;
    /// Offset of the VPA's big-endian u16 size field.
    pub const SIZE_OFFSET: i16 = 4;
    /// Offset of the VPA's big-endian u32 dispatch counter (`VPA_DISPATCH_COUNTER`).
    pub const DISPATCH_COUNTER: i16 = 0x100;
}

/// `H_PAGE_INIT` flags (Linux `hvcall.h`).
pub mod page_init {
    /// `H_ZERO_PAGE`.
    pub const ZERO: u64 = 1 << (63 - 48);
    /// `H_COPY_PAGE`.
    pub const COPY: u64 = 1 << (63 - 49);
}

/// `H_SET_MODE` resources.
pub mod set_mode {
    /// `H_SET_MODE_RESOURCE_ADDR_TRANS_MODE` (LPCR\[AIL\]).
    pub const ADDR_TRANS_MODE: u64 = 3;
    /// `H_SET_MODE_RESOURCE_LE` (LPCR\[ILE\]).
    pub const LE: u64 = 4;
}

/// RTAS tokens (QEMU's numbers, `RTAS_TOKEN_BASE` 0x2000 + index) and statuses.
pub mod rtas {
    /// `get-time-of-day`.
    pub const GET_TIME_OF_DAY: u32 = 0x2001;
    /// `power-off`.
    pub const POWER_OFF: u32 = 0x2003;
    /// `ibm,os-term`.
    pub const IBM_OS_TERM: u32 = 0x201F;
    /// A token nobody defines (past QEMU's `RTAS_TOKEN_MAX`).
    pub const UNKNOWN: u32 = 0x2FFF;
    /// Status "parameter error" (`RTAS_OUT_PARAM_ERROR`).
    pub const PARAM_ERROR: i32 = -3;
}

/// MSR bits.
pub mod msr {
    /// 64-bit mode.
    pub const SF: u64 = 1 << 63;
    /// External interrupts enabled.
    pub const EE: u64 = 1 << 15;
    /// Problem state.
    pub const PR: u64 = 1 << 14;
    /// Instruction relocation.
    pub const IR: u64 = 1 << 5;
    /// Data relocation.
    pub const DR: u64 = 1 << 4;
    /// Little-endian.
    pub const LE: u64 = 1;
}
