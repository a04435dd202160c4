//! Flag words of the `H_GUEST_*` calls (PAPR bit 0 = most significant).

/// `H_GUEST_GET/SET_STATE` bit 0: a guest-wide request.
pub const H_GUEST_FLAGS_WIDE: u64 = 1 << 63;
/// `H_GUEST_GET_STATE` bit 1: a host-wide request (guest and vCPU ids ignored).
pub const H_GUEST_FLAGS_HOST_WIDE: u64 = 1 << 62;
/// `H_GUEST_DELETE` bit 0: delete every guest (refused by the QEMU profile).
pub const H_GUEST_DELETE_ALL: u64 = 1 << 63;
/// `H_GUEST_RUN_VCPU` bit 0: the L0 synthesises an external interrupt in the L2.
pub const H_GUEST_RUN_EXTERNAL_INTERRUPT: u64 = 1 << 63;
/// `H_GUEST_RUN_VCPU` bit 1: the L0 synthesises a privileged doorbell.
pub const H_GUEST_RUN_PRIV_DOORBELL: u64 = 1 << 62;
/// `H_GUEST_RUN_VCPU` bit 2: the L0 synthesises a system reset.
pub const H_GUEST_RUN_SYSTEM_RESET: u64 = 1 << 61;
/// The continue token of a first `H_GUEST_CREATE` (all ones).
pub const H_GUEST_CREATE_FIRST_TOKEN: u64 = u64::MAX;
