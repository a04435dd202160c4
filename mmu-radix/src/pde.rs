//! Directory entries (PDEs) and the tree geometry: root 13 index bits, then 9, 9, 9.

use crate::addr::{GuestRealAddr, L1RealAddr};
use crate::pte::{PTE_LEAF, PTE_VALID};

/// Bits 59..8: the next-level base (NLB), an L1 real address.
pub const PDE_NLB_MASK: u64 = 0x0FFF_FFFF_FFFF_FF00;
/// Bits 4..0: log2 of the number of entries in the next table (NLS).
pub const PDE_NLS_MASK: u64 = 0x1F;
/// Bits Linux treats as "bad" in a PDE: 62 (leaf), 61, 7..5.
pub const PDE_BAD_BITS: u64 = 0x6000_0000_0000_00E0;

/// Number of levels: root (0), PUD (1), PMD (2), PTE (3).
pub const LEVELS: usize = 4;
/// Index bits (NLS) of each level's table.
pub const LEVEL_NLS: [u32; LEVELS] = [13, 9, 9, 9];
/// Lowest address bit of each level's index: a level-`n` entry covers `1 << LEVEL_SHIFT[n]`
/// bytes.
pub const LEVEL_SHIFT: [u32; LEVELS] = [39, 30, 21, 12];

/// The bytes of guest real address space one entry at `level` covers.
#[must_use]
pub const fn entry_span(level: usize) -> u64 {
    match level {
        0 => 1 << 39,
        1 => 1 << 30,
        2 => 1 << 21,
        _ => 1 << 12,
    }
}

/// Entries in a table at `level`: 8192 for the root, 512 below.
#[must_use]
pub const fn table_entries(level: usize) -> u64 {
    if level == 0 {
        1 << 13
    } else {
        1 << 9
    }
}

/// The index of `gpa` in a table at `level` (bits 51..39, 38..30, 29..21 or 20..12).
#[must_use]
pub const fn level_index(gpa: GuestRealAddr, level: usize) -> u64 {
    match level {
        0 => (gpa.0 >> 39) & 0x1FFF,
        1 => (gpa.0 >> 30) & 0x1FF,
        2 => (gpa.0 >> 21) & 0x1FF,
        _ => (gpa.0 >> 12) & 0x1FF,
    }
}

/// A non-leaf entry pointing at the next table, as a native `u64` (stored big-endian).
///
/// Layout: V (63) = 1 | L (62) = 0 | reserved 61..60 | NLB 59..8 | 0 (7..5) | NLS (4..0).
///
/// ```
/// use papr_mmu_radix::{L1RealAddr, Pde};
/// let pde = Pde::new(L1RealAddr(0x0100_3000), 9);
/// assert_eq!(pde.raw(), 0x8000_0000_0100_3009);
/// assert_eq!(pde.next_base(), L1RealAddr(0x0100_3000));
/// assert_eq!(pde.nls(), 9);
/// assert!(pde.is_valid() && !pde.is_leaf());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Pde(pub u64);

impl Pde {
    /// A valid PDE for a table at `next` (masked to bits 59..8) with `nls` index bits
    /// (masked to 5 bits).
    #[must_use]
    pub const fn new(next: L1RealAddr, nls: u32) -> Self {
        Self(PTE_VALID | (next.0 & PDE_NLB_MASK) | (nls as u64 & PDE_NLS_MASK))
    }

    /// A valid PDE of a **process-scoped** tree (the L2's own tables, which an L1 may build
    /// in L2 RAM): the same encoding, but `next` is an L2 guest real address.
    ///
    /// ```
    /// use papr_mmu_radix::{GuestRealAddr, L1RealAddr, Pde};
    /// let pde = Pde::new_process(GuestRealAddr(0x3000), 9);
    /// assert_eq!(pde, Pde::new(L1RealAddr(0x3000), 9));
    /// ```
    #[must_use]
    pub const fn new_process(next: GuestRealAddr, nls: u32) -> Self {
        Self::new(L1RealAddr(next.0), nls)
    }

    /// The raw value.
    #[must_use]
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// Decodes a big-endian in-memory entry.
    #[must_use]
    pub const fn from_be_bytes(bytes: [u8; 8]) -> Self {
        Self(u64::from_be_bytes(bytes))
    }

    /// The big-endian in-memory form.
    #[must_use]
    pub const fn to_be_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// V: the entry is valid.
    #[must_use]
    pub const fn is_valid(self) -> bool {
        self.0 & PTE_VALID != 0
    }

    /// L: the entry is a leaf (then it is a [`crate::Pte`], not a PDE).
    #[must_use]
    pub const fn is_leaf(self) -> bool {
        self.0 & PTE_LEAF != 0
    }

    /// The next table's L1 real address (NLB).
    #[must_use]
    pub const fn next_base(self) -> L1RealAddr {
        L1RealAddr(self.0 & PDE_NLB_MASK)
    }

    /// log2 of the next table's entry count (NLS).
    #[must_use]
    pub const fn nls(self) -> u32 {
        // Masked to 5 bits: lossless.
        #[allow(clippy::cast_possible_truncation)]
        let nls = (self.0 & PDE_NLS_MASK) as u32;
        nls
    }

    /// Whether Linux would call this entry bad (any of bits 62, 61, 7..5 set).
    #[must_use]
    pub const fn is_bad(self) -> bool {
        self.0 & PDE_BAD_BITS != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_covers_52_bits() {
        let mut bits = 12;
        for l in (0..LEVELS).rev() {
            assert_eq!(LEVEL_SHIFT[l], bits);
            assert_eq!(entry_span(l), 1 << bits);
            bits += LEVEL_NLS[l];
        }
        assert_eq!(bits, 52);
    }

    #[test]
    fn indices() {
        let gpa = GuestRealAddr(0x000F_FFFF_FFFF_FFFF);
        assert_eq!(level_index(gpa, 0), 0x1FFF);
        for l in 1..LEVELS {
            assert_eq!(level_index(gpa, l), 0x1FF);
        }
        let gpa = GuestRealAddr((5 << 39) | (6 << 30) | (7 << 21) | (8 << 12) | 0xABC);
        assert_eq!([0, 1, 2, 3].map(|l| level_index(gpa, l)), [5, 6, 7, 8]);
    }

    #[test]
    fn encoding() {
        let p = Pde::new(L1RealAddr(u64::MAX), 0xFF);
        assert_eq!(p.raw(), 0x8FFF_FFFF_FFFF_FF1F);
        assert!(!p.is_bad());
        assert!(Pde(0xC000_0000_0000_0000).is_bad());
        assert_eq!(Pde::from_be_bytes(p.to_be_bytes()), p);
    }
}
