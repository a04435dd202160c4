//! Hcall opcodes (the value placed in r3), per Linux `hvcall.h` and QEMU `spapr.h`.

/// `H_PUT_TERM_CHAR`: write up to 16 bytes to a virtual terminal.
pub const H_PUT_TERM_CHAR: u64 = 0x58;
/// `H_SET_MODE`: set a partition-wide mode (e.g. interrupt endianness).
pub const H_SET_MODE: u64 = 0x31C;
/// `H_RPT_INVALIDATE`: invalidate radix translations (nested partition-scoped too).
pub const H_RPT_INVALIDATE: u64 = 0x448;
/// `H_GUEST_GET_CAPABILITIES`: capabilities the L0 offers.
pub const H_GUEST_GET_CAPABILITIES: u64 = 0x460;
/// `H_GUEST_SET_CAPABILITIES`: capabilities the L1 will use (once per machine reset).
pub const H_GUEST_SET_CAPABILITIES: u64 = 0x464;
/// `H_GUEST_CREATE`: create an L2 guest; the L0 returns its id.
pub const H_GUEST_CREATE: u64 = 0x470;
/// `H_GUEST_CREATE_VCPU`: create a vCPU of a guest.
pub const H_GUEST_CREATE_VCPU: u64 = 0x474;
/// `H_GUEST_GET_STATE`: read guest, vCPU or host-wide state through a guest state buffer.
pub const H_GUEST_GET_STATE: u64 = 0x478;
/// `H_GUEST_SET_STATE`: write guest or vCPU state through a guest state buffer.
pub const H_GUEST_SET_STATE: u64 = 0x47C;
/// `H_GUEST_RUN_VCPU`: run a vCPU until it exits.
pub const H_GUEST_RUN_VCPU: u64 = 0x480;
/// `H_GUEST_COPY_MEMORY`: defined, but not used by Linux nor implemented by QEMU.
pub const H_GUEST_COPY_MEMORY: u64 = 0x484;
/// `H_GUEST_DELETE`: delete a guest (and all its vCPUs).
pub const H_GUEST_DELETE: u64 = 0x488;
/// `H_RTAS`: the QEMU/SLOF-free RTAS entry (`r4` = real address of the RTAS argument block).
pub const H_RTAS: u64 = 0xF000;

/// `H_SET_MODE` resource: interrupt endianness (`mflags` 0 = big, 1 = little endian).
pub const H_SET_MODE_RESOURCE_LE: u64 = 4;
/// `H_SET_MODE` mflags for [`H_SET_MODE_RESOURCE_LE`]: take interrupts little-endian.
pub const H_SET_MODE_MFLAGS_LE: u64 = 1;

/// The name of an opcode, for messages (`"H_GUEST_RUN_VCPU"`), or `None` when unknown.
///
/// ```
/// assert_eq!(papr_hcall::opcode::name(0x480), Some("H_GUEST_RUN_VCPU"));
/// assert_eq!(papr_hcall::opcode::name(0x1), None);
/// ```
pub const fn name(opcode: u64) -> Option<&'static str> {
    Some(match opcode {
        H_PUT_TERM_CHAR => "H_PUT_TERM_CHAR",
        H_SET_MODE => "H_SET_MODE",
        H_RPT_INVALIDATE => "H_RPT_INVALIDATE",
        H_GUEST_GET_CAPABILITIES => "H_GUEST_GET_CAPABILITIES",
        H_GUEST_SET_CAPABILITIES => "H_GUEST_SET_CAPABILITIES",
        H_GUEST_CREATE => "H_GUEST_CREATE",
        H_GUEST_CREATE_VCPU => "H_GUEST_CREATE_VCPU",
        H_GUEST_GET_STATE => "H_GUEST_GET_STATE",
        H_GUEST_SET_STATE => "H_GUEST_SET_STATE",
        H_GUEST_RUN_VCPU => "H_GUEST_RUN_VCPU",
        H_GUEST_COPY_MEMORY => "H_GUEST_COPY_MEMORY",
        H_GUEST_DELETE => "H_GUEST_DELETE",
        H_RTAS => "H_RTAS",
        _ => return None,
    })
}
