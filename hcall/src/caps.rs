//! Capability bitmap 1 of `H_GUEST_GET/SET_CAPABILITIES` (PAPR bit 0 = most significant).

use core::fmt;

/// Capability bitmap 1.
///
/// ```
/// use papr_hcall::{Capabilities, Mode};
/// let offered = Capabilities(0x6000_0000_0000_0000); // QEMU on a POWER10 L1
/// assert!(offered.contains(Capabilities::POWER10));
/// assert_eq!(offered.highest_mode(), Some(Mode::Power10));
/// assert_eq!(offered.to_string(), "POWER9|POWER10");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Capabilities(pub u64);

/// A processor compatibility mode an L2 may run in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// ISA 3.0.
    Power9,
    /// ISA 3.1.
    Power10,
    /// ISA 3.1 + Power11.
    Power11,
}

impl Mode {
    /// The capability bit of the mode.
    pub const fn capability(self) -> Capabilities {
        match self {
            Mode::Power9 => Capabilities::POWER9,
            Mode::Power10 => Capabilities::POWER10,
            Mode::Power11 => Capabilities::POWER11,
        }
    }
    /// The logical PVR of the mode (`PVR_ARCH_300`, `PVR_ARCH_31`, `PVR_ARCH_31_P11`).
    pub const fn logical_pvr(self) -> papr_gsb::LogicalPvr {
        match self {
            Mode::Power9 => papr_gsb::LogicalPvr::ARCH_300,
            Mode::Power10 => papr_gsb::LogicalPvr::ARCH_31,
            Mode::Power11 => papr_gsb::LogicalPvr::ARCH_31_P11,
        }
    }
}

impl Capabilities {
    /// The L0 implements `H_GUEST_COPY_MEMORY` (bit 0).
    pub const COPY_MEM: Self = Self(1 << 63);
    /// L2s may run in Power9 mode (bit 1).
    pub const POWER9: Self = Self(1 << 62);
    /// L2s may run in Power10 mode (bit 2).
    pub const POWER10: Self = Self(1 << 61);
    /// L2s may run in Power11 mode (bit 3).
    pub const POWER11: Self = Self(1 << 60);
    /// A second capability bitmap exists (bit 63; unused by Linux and QEMU).
    pub const BITMAP2: Self = Self(1);
    /// Every mode bit.
    pub const MODES: Self = Self(Self::POWER9.0 | Self::POWER10.0 | Self::POWER11.0);

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
    /// Bits set in both.
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }
    /// Bits set in either.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
    /// The highest mode bit set.
    pub const fn highest_mode(self) -> Option<Mode> {
        if self.contains(Self::POWER11) {
            Some(Mode::Power11)
        } else if self.contains(Self::POWER10) {
            Some(Mode::Power10)
        } else if self.contains(Self::POWER9) {
            Some(Mode::Power9)
        } else {
            None
        }
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Capabilities({:#018x} = {})", self.0, self)
    }
}

impl fmt::Display for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Self::COPY_MEM, "COPY_MEM"),
            (Self::POWER9, "POWER9"),
            (Self::POWER10, "POWER10"),
            (Self::POWER11, "POWER11"),
            (Self::BITMAP2, "BITMAP2"),
        ];
        let mut rest = self.0;
        let mut first = true;
        for (c, n) in names {
            if self.contains(c) {
                write!(f, "{}{n}", if first { "" } else { "|" })?;
                first = false;
                rest &= !c.0;
            }
        }
        if rest != 0 {
            write!(f, "{}{rest:#x}", if first { "" } else { "|" })?;
            first = false;
        }
        if first {
            write!(f, "none")?;
        }
        Ok(())
    }
}
