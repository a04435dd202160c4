//! Trap vectors: what `H_GUEST_RUN_VCPU` returns in `r4` (the interrupt that ended the L2's
//! run), as QEMU's `pseries` L0 and Linux (`BOOK3S_INTERRUPT_*`) number them.
//!
//! ```
//! use papr_hcall::trap;
//! assert_eq!((trap::HDEC, trap::HCALL, trap::HDSI), (0x980, 0xC00, 0xE00));
//! ```

/// External interrupt (QEMU promotes it to 0xEA0; Linux still accepts it).
pub const EXTERNAL: u64 = 0x500;
/// Hypervisor decrementer: the run's HDEC_EXPIRY_TB was reached.
pub const HDEC: u64 = 0x980;
/// The L2 executed `sc 1` (an hcall); GPR3–12 are in the output.
pub const HCALL: u64 = 0xC00;
/// Hypervisor data storage interrupt: partition-scoped data fault.
pub const HDSI: u64 = 0xE00;
/// Hypervisor instruction storage interrupt: partition-scoped fetch fault.
pub const HISI: u64 = 0xE20;
/// Hypervisor emulation assistance (illegal or unsupported instruction).
pub const HEAI: u64 = 0xE40;
/// Hypervisor doorbell.
pub const DOORBELL: u64 = 0xE80;
/// Hypervisor virtualization interrupt (an external interrupt while in the L2).
pub const HVIRT: u64 = 0xEA0;
/// Hypervisor facility unavailable.
pub const HFAC: u64 = 0xF80;
