//! Address newtypes: an L2 guest real address and an L1 real address are never mixed.

use core::fmt;

/// Number of address bits the partition-scoped tree translates (RTS + 31 with RTS = 21).
pub const GPA_BITS: u32 = 52;

/// First guest real address a 52-bit tree cannot map (2^52).
pub const GPA_LIMIT: u64 = 1 << GPA_BITS;

/// First L1 real address a leaf may not point at (2^53).
///
/// QEMU takes the RPN with mask `0x01FF_FFFF_FFFF_F000`, but Linux caps physical addresses at
/// 53 bits and reuses bits 60..53, so this crate keeps them zero.
pub const L1_RA_LIMIT: u64 = 1 << 53;

macro_rules! address {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[repr(transparent)]
        pub struct $name(pub u64);

        impl $name {
            /// Wraps a raw address.
            #[must_use]
            pub const fn new(raw: u64) -> Self {
                Self(raw)
            }

            /// The raw address.
            #[must_use]
            pub const fn raw(self) -> u64 {
                self.0
            }

            /// `self + offset`, or `None` on overflow.
            #[must_use]
            pub const fn checked_add(self, offset: u64) -> Option<Self> {
                match self.0.checked_add(offset) {
                    Some(v) => Some(Self(v)),
                    None => None,
                }
            }

            /// `self + offset`, wrapping (for arithmetic already proven in range).
            #[must_use]
            pub const fn wrapping_add(self, offset: u64) -> Self {
                Self(self.0.wrapping_add(offset))
            }

            /// Whether the address is a multiple of `align` (a power of two).
            #[must_use]
            pub const fn is_aligned(self, align: u64) -> bool {
                self.0 & align.wrapping_sub(1) == 0
            }

            /// The address rounded down to a multiple of `align` (a power of two).
            #[must_use]
            pub const fn align_down(self, align: u64) -> Self {
                Self(self.0 & !align.wrapping_sub(1))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:#x})"), self.0)
            }
        }

        impl fmt::LowerHex for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::LowerHex::fmt(&self.0, f)
            }
        }
    };
}

address!(
    /// An L2 guest real address ("gpa"): what the partition-scoped tree translates and what the
    /// ASDR reports on an HDSI/HISI.
    ///
    /// ```
    /// use papr_mmu_radix::GuestRealAddr;
    /// let gpa = GuestRealAddr::new(0x20_1234);
    /// assert_eq!(gpa.align_down(0x1000), GuestRealAddr(0x20_1000));
    /// assert!(!gpa.is_aligned(0x1000));
    /// ```
    GuestRealAddr
);

address!(
    /// An L1 real address: what the L0 sees as L1 memory. Every base inside the tree (root,
    /// next-level base, RPN) is one.
    ///
    /// ```
    /// use papr_mmu_radix::L1RealAddr;
    /// let ra = L1RealAddr::new(0x100_0000);
    /// assert_eq!(ra.checked_add(0x10), Some(L1RealAddr(0x100_0010)));
    /// assert_eq!(format!("{ra:?}"), "L1RealAddr(0x1000000)");
    /// ```
    L1RealAddr
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_helpers() {
        let a = GuestRealAddr(0x4020_0000);
        assert!(a.is_aligned(0x20_0000));
        assert!(!a.is_aligned(0x4000_0000));
        assert_eq!(a.align_down(0x4000_0000), GuestRealAddr(0x4000_0000));
        assert_eq!(L1RealAddr(u64::MAX).checked_add(1), None);
        assert_eq!(L1RealAddr(1).wrapping_add(2).raw(), 3);
    }

    #[test]
    fn limits() {
        assert_eq!(GPA_LIMIT, 0x10_0000_0000_0000);
        assert_eq!(L1_RA_LIMIT, 0x20_0000_0000_0000);
    }
}
