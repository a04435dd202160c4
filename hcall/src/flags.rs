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

/// The flags of `H_GUEST_RUN_VCPU` the PAPR defines (bits 0–2): what
/// [`NestedHv::run_vcpu_with`](crate::NestedHv::run_vcpu_with) sends. Reserved bits cannot
/// be expressed. QEMU accepts no flag (`H_PARAMETER`); Linux always passes none.
///
/// ```
/// use papr_hcall::flags::{RunFlags, H_GUEST_RUN_EXTERNAL_INTERRUPT};
/// let f = RunFlags::EXTERNAL_INTERRUPT.union(RunFlags::SYSTEM_RESET);
/// assert_eq!(f.bits(), H_GUEST_RUN_EXTERNAL_INTERRUPT | (1 << 61));
/// assert_eq!(RunFlags::from_bits(f.bits()), Some(f));
/// assert_eq!(RunFlags::from_bits(1), None); // bit 63: reserved
/// assert!(RunFlags::NONE.is_empty());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RunFlags(u64);

impl RunFlags {
    /// No flag: a plain run.
    pub const NONE: Self = Self(0);
    /// The L0 synthesises an external interrupt in the L2.
    pub const EXTERNAL_INTERRUPT: Self = Self(H_GUEST_RUN_EXTERNAL_INTERRUPT);
    /// The L0 synthesises a privileged doorbell.
    pub const PRIV_DOORBELL: Self = Self(H_GUEST_RUN_PRIV_DOORBELL);
    /// The L0 synthesises a system reset.
    pub const SYSTEM_RESET: Self = Self(H_GUEST_RUN_SYSTEM_RESET);
    /// Every defined flag.
    pub const ALL: Self =
        Self(H_GUEST_RUN_EXTERNAL_INTERRUPT | H_GUEST_RUN_PRIV_DOORBELL | H_GUEST_RUN_SYSTEM_RESET);

    /// The flag word.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// The flags of `bits`, or `None` when a reserved bit is set.
    #[must_use]
    pub const fn from_bits(bits: u64) -> Option<Self> {
        if bits & !Self::ALL.0 == 0 {
            Some(Self(bits))
        } else {
            None
        }
    }

    /// The defined flags of `bits`; reserved bits are dropped.
    #[must_use]
    pub const fn from_bits_truncate(bits: u64) -> Self {
        Self(bits & Self::ALL.0)
    }

    /// Both sets.
    #[must_use]
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether no flag is set.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}
