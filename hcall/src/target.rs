//! Who a GET/SET/RUN names: guest and vCPU ids, and the scope of a state request.

use crate::flags::{H_GUEST_FLAGS_HOST_WIDE, H_GUEST_FLAGS_WIDE};
use papr_gsb::Scope;

/// A guest id, chosen by the L0 at `H_GUEST_CREATE` (QEMU: 1…4095).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GuestId(pub u64);

/// A vCPU id, chosen by the L1 (0…2047; QEMU wants them created in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VcpuId(pub u64);

/// Whose state a GET/SET names: one vCPU, one guest, or the L0 itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// Scope of the request (sets the flag word).
    pub scope: Scope,
    /// Guest id (ignored by the L0 for host-wide requests).
    pub guest: GuestId,
    /// vCPU id (ignored for host-wide; for guest-wide, only 0x0002 uses it).
    pub vcpu: VcpuId,
}

impl Target {
    /// Thread-wide state of one vCPU.
    pub const fn thread(guest: GuestId, vcpu: VcpuId) -> Self {
        Self {
            scope: Scope::Thread,
            guest,
            vcpu,
        }
    }
    /// Guest-wide state (vCPU 0 named, as Linux does).
    pub const fn guest(guest: GuestId) -> Self {
        Self {
            scope: Scope::Guest,
            guest,
            vcpu: VcpuId(0),
        }
    }
    /// Host-wide counters.
    pub const fn host() -> Self {
        Self {
            scope: Scope::Host,
            guest: GuestId(0),
            vcpu: VcpuId(0),
        }
    }
    /// The GET/SET flag word.
    pub const fn flags(&self) -> u64 {
        match self.scope {
            Scope::Thread => 0,
            Scope::Guest => H_GUEST_FLAGS_WIDE,
            Scope::Host => H_GUEST_FLAGS_HOST_WIDE,
        }
    }
}
