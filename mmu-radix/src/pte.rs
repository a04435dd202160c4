//! Leaf entries (PTEs) of the partition-scoped tree, and the page sizes a leaf can map.
//!
//! Bit numbers are `1 << n` (bit 63 most significant). In memory every entry is big-endian.

use core::ops::{BitOr, BitOrAssign};

use crate::addr::{GuestRealAddr, L1RealAddr};

/// Bit 63: the entry is valid (`_PAGE_PRESENT`).
pub const PTE_VALID: u64 = 1 << 63;
/// Bit 62: the entry is a leaf (`_PAGE_PTE`).
pub const PTE_LEAF: u64 = 1 << 62;
/// Bit 61: software bit 0 (Linux marks a temporarily invalidated entry with it).
pub const PTE_SW0: u64 = 1 << 61;
/// Bits 56..12 as QEMU reads them: the L1 real address of the page.
pub const PTE_RPN_MASK: u64 = 0x01FF_FFFF_FFFF_F000;
/// Bits 52..12: the RPN bits this crate writes (bits 60..53 stay zero, as Linux keeps them).
pub const PTE_RPN_WRITE_MASK: u64 = 0x001F_FFFF_FFFF_F000;
/// Bits 11..9: software bits 1..3.
pub const PTE_SW123: u64 = 0xE00;
/// Bit 8: reference (`_PAGE_ACCESSED`).
pub const PTE_R: u64 = 0x100;
/// Bit 7: change (`_PAGE_DIRTY`).
pub const PTE_C: u64 = 0x80;
/// Bits 5..4: storage attributes (ATT).
pub const PTE_ATT_MASK: u64 = 0x30;
/// Bit 3: EAA privileged; ignored in partition scope.
pub const PTE_EAA_PRIV: u64 = 0x8;
/// Bit 2: EAA read.
pub const PTE_EAA_READ: u64 = 0x4;
/// Bit 1: EAA read/write (alone it grants read and write).
pub const PTE_EAA_RW: u64 = 0x2;
/// Bit 0: EAA execute.
pub const PTE_EAA_EXEC: u64 = 0x1;
/// All three access bits this crate manages.
pub const PTE_PERM_MASK: u64 = PTE_EAA_READ | PTE_EAA_RW | PTE_EAA_EXEC;

/// Access rights of a leaf (the EAA bits 2..0).
///
/// ```
/// use papr_mmu_radix::Perms;
/// let p = Perms::READ | Perms::EXEC;
/// assert_eq!(p, Perms::RX);
/// assert!(p.can_read() && p.can_exec() && !p.can_write());
/// assert_eq!(Perms::RWX.bits(), 0x7);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Perms(u8);

impl Perms {
    /// No access: a valid leaf that faults on every access.
    pub const NONE: Self = Self(0);
    /// Read (0x4).
    pub const READ: Self = Self(0x4);
    /// Read/write (0x2).
    pub const WRITE: Self = Self(0x2);
    /// Execute (0x1).
    pub const EXEC: Self = Self(0x1);
    /// Read only.
    pub const R: Self = Self(0x4);
    /// Read and write.
    pub const RW: Self = Self(0x6);
    /// Read and execute.
    pub const RX: Self = Self(0x5);
    /// Read, write and execute (guest RAM).
    pub const RWX: Self = Self(0x7);

    /// The rights in the EAA bits of `entry` (other bits ignored).
    #[must_use]
    pub const fn from_entry(entry: u64) -> Self {
        // The mask keeps the value below 8, so the cast is lossless.
        #[allow(clippy::cast_possible_truncation)]
        Self((entry & PTE_PERM_MASK) as u8)
    }

    /// The EAA bits as they sit in an entry.
    #[must_use]
    pub const fn bits(self) -> u64 {
        self.0 as u64
    }

    /// Whether a load is allowed (read, or read/write alone, as QEMU decides).
    #[must_use]
    pub const fn can_read(self) -> bool {
        self.0 & 0x6 != 0
    }

    /// Whether a store is allowed.
    #[must_use]
    pub const fn can_write(self) -> bool {
        self.0 & 0x2 != 0
    }

    /// Whether an instruction fetch is allowed (ATT permitting).
    #[must_use]
    pub const fn can_exec(self) -> bool {
        self.0 & 0x1 != 0
    }

    /// Whether every right in `other` is also in `self`.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl BitOr for Perms {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl BitOrAssign for Perms {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// Storage attributes of a leaf (ATT, bits 5..4).
///
/// ```
/// use papr_mmu_radix::Attr;
/// assert_eq!(Attr::TolerantIo.bits(), 0x30);
/// assert_eq!(Attr::from_entry(0x20), Attr::NonIdempotentIo);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum Attr {
    /// 0b00: normal cacheable memory (guest RAM).
    #[default]
    Normal,
    /// 0b01: strong access ordering.
    StrongOrder,
    /// 0b10: non-idempotent I/O (guarded; never executable).
    NonIdempotentIo,
    /// 0b11: tolerant I/O (cache-inhibited).
    TolerantIo,
}

impl Attr {
    /// The ATT bits as they sit in an entry.
    #[must_use]
    pub const fn bits(self) -> u64 {
        match self {
            Self::Normal => 0x00,
            Self::StrongOrder => 0x10,
            Self::NonIdempotentIo => 0x20,
            Self::TolerantIo => 0x30,
        }
    }

    /// The attribute in the ATT bits of `entry` (other bits ignored).
    #[must_use]
    pub const fn from_entry(entry: u64) -> Self {
        match entry & PTE_ATT_MASK {
            0x00 => Self::Normal,
            0x10 => Self::StrongOrder,
            0x20 => Self::NonIdempotentIo,
            _ => Self::TolerantIo,
        }
    }
}

/// The page sizes a partition-scoped leaf written by this crate maps.
///
/// ```
/// use papr_mmu_radix::PageSize;
/// assert_eq!(PageSize::Size2M.bytes(), 2 << 20);
/// assert_eq!(PageSize::Size1G.level(), 1);
/// assert_eq!(PageSize::largest_for(0x4000_0000, 0x8000_0000, 1 << 30), PageSize::Size1G);
/// assert_eq!(PageSize::largest_for(0x4000_0000, 0x8020_0000, 1 << 30), PageSize::Size2M);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum PageSize {
    /// 4 KiB base page: a leaf at level 3 (PTE table).
    Size4K,
    /// 2 MiB page: a leaf at level 2 (PMD).
    Size2M,
    /// 1 GiB page: a leaf at level 1 (PUD).
    Size1G,
}

impl PageSize {
    /// All sizes, largest first.
    pub const LARGEST_FIRST: [Self; 3] = [Self::Size1G, Self::Size2M, Self::Size4K];

    /// log2 of the size in bytes.
    #[must_use]
    pub const fn shift(self) -> u32 {
        match self {
            Self::Size4K => 12,
            Self::Size2M => 21,
            Self::Size1G => 30,
        }
    }

    /// Size in bytes.
    #[must_use]
    pub const fn bytes(self) -> u64 {
        1 << self.shift()
    }

    /// Tree level (0 = root) whose entries are leaves of this size.
    #[must_use]
    pub const fn level(self) -> usize {
        match self {
            Self::Size4K => 3,
            Self::Size2M => 2,
            Self::Size1G => 1,
        }
    }

    /// The size of a leaf at `level`, if a leaf may sit there.
    #[must_use]
    pub const fn at_level(level: usize) -> Option<Self> {
        match level {
            1 => Some(Self::Size1G),
            2 => Some(Self::Size2M),
            3 => Some(Self::Size4K),
            _ => None,
        }
    }

    /// The largest size such that both addresses are aligned to it and it fits in `len`
    /// (4 KiB when nothing larger fits; the caller checks 4 KiB alignment).
    #[must_use]
    pub const fn largest_for(gpa: u64, l1_ra: u64, len: u64) -> Self {
        let both = gpa | l1_ra;
        if both & (Self::Size1G.bytes() - 1) == 0 && len >= Self::Size1G.bytes() {
            Self::Size1G
        } else if both & (Self::Size2M.bytes() - 1) == 0 && len >= Self::Size2M.bytes() {
            Self::Size2M
        } else {
            Self::Size4K
        }
    }
}

/// A partition-scoped leaf entry, as a native `u64` (stored big-endian).
///
/// Layout: V (63) | L (62) | SW0 (61) | reserved 60..57 | RPN 56..12 | SW 11..9 | R (8) |
/// C (7) | reserved (6) | ATT (5..4) | EAA privileged (3), read (2), read/write (1), exec (0).
///
/// ```
/// use papr_mmu_radix::{Attr, L1RealAddr, Perms, Pte};
/// // Linux's common RAM leaf: V L R C read write exec.
/// let pte = Pte::new(L1RealAddr(0x200_1000), Perms::RWX, Attr::Normal).with_rc(true, true);
/// assert_eq!(pte.raw(), 0xC000_0000_0200_1187);
/// assert_eq!(pte.to_be_bytes(), [0xC0, 0, 0, 0, 0x02, 0x00, 0x11, 0x87]);
/// assert_eq!(pte.rpn(), L1RealAddr(0x200_1000));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Pte(pub u64);

impl Pte {
    /// A valid leaf mapping `rpn` (masked to bits 52..12) with `perms` and `attr`, R and C
    /// clear.
    #[must_use]
    pub const fn new(rpn: L1RealAddr, perms: Perms, attr: Attr) -> Self {
        Self(PTE_VALID | PTE_LEAF | (rpn.0 & PTE_RPN_WRITE_MASK) | attr.bits() | perms.bits())
    }

    /// A valid leaf of a **process-scoped** tree (the L2's own tables): the same encoding,
    /// but `rpn` is an L2 guest real address. Add [`with_privileged`](Self::with_privileged)
    /// for a kernel-only page.
    ///
    /// ```
    /// use papr_mmu_radix::{Attr, GuestRealAddr, Perms, Pte};
    /// // Linux's kernel RAM leaf: V L R C privileged read write exec.
    /// let pte = Pte::new_process(GuestRealAddr(0x20_0000), Perms::RWX, Attr::Normal)
    ///     .with_rc(true, true)
    ///     .with_privileged(true);
    /// assert_eq!(pte.raw(), 0xC000_0000_0020_018F);
    /// assert!(pte.is_privileged());
    /// ```
    #[must_use]
    pub const fn new_process(rpn: GuestRealAddr, perms: Perms, attr: Attr) -> Self {
        Self::new(L1RealAddr(rpn.0), perms, attr)
    }

    /// The same entry with EAA\[privileged\] (bit 3) set or clear: a privileged page is
    /// not accessible to problem state (process-scoped trees; partition-scoped leaves keep
    /// it clear).
    #[must_use]
    pub const fn with_privileged(self, privileged: bool) -> Self {
        if privileged {
            Self(self.0 | PTE_EAA_PRIV)
        } else {
            Self(self.0 & !PTE_EAA_PRIV)
        }
    }

    /// EAA\[privileged\]: the page is kernel-only.
    #[must_use]
    pub const fn is_privileged(self) -> bool {
        self.0 & PTE_EAA_PRIV != 0
    }

    /// The same entry with R and C set as given.
    #[must_use]
    pub const fn with_rc(self, referenced: bool, changed: bool) -> Self {
        let mut v = self.0 & !(PTE_R | PTE_C);
        if referenced {
            v |= PTE_R;
        }
        if changed {
            v |= PTE_C;
        }
        Self(v)
    }

    /// The same entry with other access rights.
    #[must_use]
    pub const fn with_perms(self, perms: Perms) -> Self {
        Self((self.0 & !PTE_PERM_MASK) | perms.bits())
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

    /// The raw value.
    #[must_use]
    pub const fn raw(self) -> u64 {
        self.0
    }

    /// V: the entry is valid.
    #[must_use]
    pub const fn is_valid(self) -> bool {
        self.0 & PTE_VALID != 0
    }

    /// V and L: a valid leaf.
    #[must_use]
    pub const fn is_leaf(self) -> bool {
        self.0 & (PTE_VALID | PTE_LEAF) == PTE_VALID | PTE_LEAF
    }

    /// The L1 real address of the page (RPN field as QEMU masks it).
    #[must_use]
    pub const fn rpn(self) -> L1RealAddr {
        L1RealAddr(self.0 & PTE_RPN_MASK)
    }

    /// R: referenced.
    #[must_use]
    pub const fn referenced(self) -> bool {
        self.0 & PTE_R != 0
    }

    /// C: changed (dirty).
    #[must_use]
    pub const fn changed(self) -> bool {
        self.0 & PTE_C != 0
    }

    /// The access rights.
    #[must_use]
    pub const fn perms(self) -> Perms {
        Perms::from_entry(self.0)
    }

    /// The storage attributes.
    #[must_use]
    pub const fn attr(self) -> Attr {
        Attr::from_entry(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        let ra = L1RealAddr(0x0000_1234_5678_9000);
        let rw = Pte::new(ra, Perms::RWX, Attr::Normal).with_rc(true, true);
        assert_eq!(rw.raw(), 0xC000_0000_0000_0187 | ra.0);
        let ro = Pte::new(ra, Perms::RX, Attr::Normal).with_rc(true, false);
        assert_eq!(ro.raw(), 0xC000_0000_0000_0105 | ra.0);
        assert!(rw.is_leaf() && rw.referenced() && rw.changed());
        assert!(!ro.changed());
        assert_eq!(ro.perms(), Perms::RX);
        assert_eq!(Pte::from_be_bytes(rw.to_be_bytes()), rw);
    }

    #[test]
    fn rpn_is_masked_on_write() {
        let p = Pte::new(L1RealAddr(u64::MAX), Perms::NONE, Attr::Normal);
        assert_eq!(p.raw(), PTE_VALID | PTE_LEAF | PTE_RPN_WRITE_MASK);
        assert_eq!(p.raw() & 0x1FE0_0000_0000_0000, 0);
    }

    #[test]
    fn attrs_round_trip() {
        for a in [
            Attr::Normal,
            Attr::StrongOrder,
            Attr::NonIdempotentIo,
            Attr::TolerantIo,
        ] {
            assert_eq!(Attr::from_entry(a.bits()), a);
            assert_eq!(Pte::new(L1RealAddr(0), Perms::R, a).attr(), a);
        }
    }

    #[test]
    fn perms_semantics() {
        assert!(Perms::WRITE.can_read());
        assert!(!Perms::EXEC.can_read());
        assert!(Perms::RWX.contains(Perms::RX));
        assert!(!Perms::RX.contains(Perms::RW));
        let mut p = Perms::NONE;
        p |= Perms::READ;
        assert_eq!(p, Perms::R);
        assert_eq!(
            Pte::new(L1RealAddr(0), Perms::RWX, Attr::Normal)
                .with_perms(Perms::R)
                .perms(),
            Perms::R
        );
    }

    #[test]
    fn page_sizes() {
        assert_eq!(PageSize::at_level(0), None);
        for s in PageSize::LARGEST_FIRST {
            assert_eq!(PageSize::at_level(s.level()), Some(s));
        }
        assert_eq!(PageSize::largest_for(0x1000, 0, 1 << 30), PageSize::Size4K);
        assert_eq!(
            PageSize::largest_for(0x20_0000, 0x40_0000, 0x1F_F000),
            PageSize::Size4K
        );
        assert_eq!(
            PageSize::largest_for(0x20_0000, 0x40_0000, 0x20_0000),
            PageSize::Size2M
        );
    }
}
