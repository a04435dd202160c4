//! Partition-table entries (PATE), process-table entries (PRTE) and the Nested APIv2 values
//! that carry them (GSIDs 0x0005 and 0x0006).

use crate::addr::{GuestRealAddr, L1RealAddr, GPA_BITS};

/// PATE dw0 bit 63: the host (partition scope) uses radix.
pub const PATE0_HR: u64 = 1 << 63;
/// Bits 62..61 of a root pointer: the top two bits of RTS.
pub const RTS1_MASK: u64 = 0x6000_0000_0000_0000;
/// Bits 7..5 of a root pointer: the low three bits of RTS.
pub const RTS2_MASK: u64 = 0xE0;
/// Bits 59..8 of a root pointer: the root directory base (RPDB).
pub const RPDB_MASK: u64 = 0x0FFF_FFFF_FFFF_FF00;
/// Bits 4..0 of a root pointer: log2 of the root entry count (RPDS).
pub const RPDS_MASK: u64 = 0x1F;
/// RTS for a 52-bit tree (52 − 31 = 21 = 0b10101).
pub const RTS_52: u64 = 21;
/// RTS1 | RTS2 for a 52-bit tree.
pub const RTS_52_BITS: u64 = 0x4000_0000_0000_00A0;
/// RPDS of the root: 2^13 entries.
pub const ROOT_RPDS: u64 = 13;
/// Bytes in the root directory (2^(13+3)).
pub const ROOT_BYTES: u64 = 1 << (ROOT_RPDS + 3);
/// PATE dw1 bit 63: the guest (process scope) uses radix.
pub const PATE1_GR: u64 = 1 << 63;
/// PATE dw1 bits 59..12: the process-table base (PRTB), an L2 real address.
pub const PRTB_MASK: u64 = 0x0FFF_FFFF_FFFF_F000;
/// PATE dw1 bits 4..0: process table size, 2^(PRTS+12) bytes.
pub const PRTS_MASK: u64 = 0x1F;
/// Largest PRTS Linux accepts.
pub const PRTS_MAX: u32 = 24;

/// A radix root pointer (RTS1 | RPDB | RTS2 | RPDS) for a 52-bit tree with a 13-bit root.
const fn root_pointer(base: u64) -> u64 {
    RTS_52_BITS | (base & RPDB_MASK) | ROOT_RPDS
}

/// RTS decoded from the split fields of a root pointer.
const fn decode_rts(dw: u64) -> u64 {
    (((dw & RTS1_MASK) >> 61) << 3) | ((dw & RTS2_MASK) >> 5)
}

/// GSID 0x0005 (partition-scoped page table): what an L1 sends instead of a PATE dw0.
///
/// QEMU rebuilds the PATE from these three values and aborts unless `ea_bits` is 52; it
/// wants `root_size` in bytes (65536), not entries.
///
/// ```
/// use papr_mmu_radix::{L1RealAddr, PagetableValue};
/// let v = PagetableValue::for_root(L1RealAddr(0x0100_0000));
/// assert_eq!((v.root, v.ea_bits, v.root_size), (L1RealAddr(0x0100_0000), 52, 65536));
/// assert_eq!(v.to_u64s(), [0x0100_0000, 52, 0x1_0000]);
/// assert_eq!(&v.to_be_bytes()[..8], &[0, 0, 0, 0, 1, 0, 0, 0]);
/// assert_eq!(v.pate_dw0(), 0xC000_0000_0100_00AD);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct PagetableValue {
    /// L1 real address of the 64 KiB root directory.
    pub root: L1RealAddr,
    /// Address bits the tree translates: always 52.
    pub ea_bits: u64,
    /// Root directory size in bytes: always 65536.
    pub root_size: u64,
}

impl PagetableValue {
    /// Size of the GSID 0x0005 element value in bytes.
    pub const LEN: usize = 0x18;

    /// The value for a 52-bit tree whose 64 KiB root is at `root`.
    #[must_use]
    pub const fn for_root(root: L1RealAddr) -> Self {
        Self {
            root,
            ea_bits: GPA_BITS as u64,
            root_size: ROOT_BYTES,
        }
    }

    /// The three doublewords in order: root, address bits, root size.
    #[must_use]
    pub const fn to_u64s(self) -> [u64; 3] {
        [self.root.0, self.ea_bits, self.root_size]
    }

    /// The big-endian wire form of the element value (24 bytes).
    #[must_use]
    pub fn to_be_bytes(self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        for (chunk, v) in out.chunks_exact_mut(8).zip(self.to_u64s()) {
            chunk.copy_from_slice(&v.to_be_bytes());
        }
        out
    }

    /// The PATE doubleword 0 QEMU rebuilds from this value:
    /// HR | RTS | root | log2(root_size) − 3.
    #[must_use]
    pub const fn pate_dw0(self) -> u64 {
        PATE0_HR | root_pointer(self.root.0)
    }
}

/// GSID 0x0006 (process table): base (an L2 real address) and size in bytes.
///
/// ```
/// use papr_mmu_radix::{GuestRealAddr, ProcessTableValue};
/// let v = ProcessTableValue { base: GuestRealAddr(0x10_0000), size: 4096 };
/// assert!(v.qemu_accepts());
/// assert_eq!(v.to_be_bytes()[15], 0x00);
/// assert_eq!(v.to_u64s(), [0x10_0000, 0x1000]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ProcessTableValue {
    /// L2 real address of the process table.
    pub base: GuestRealAddr,
    /// Table size in bytes (2^(PRTS+12)).
    pub size: u64,
}

impl ProcessTableValue {
    /// Size of the GSID 0x0006 element value in bytes.
    pub const LEN: usize = 0x10;

    /// The two doublewords in order: base, size.
    #[must_use]
    pub const fn to_u64s(self) -> [u64; 2] {
        [self.base.0, self.size]
    }

    /// The big-endian wire form of the element value (16 bytes).
    #[must_use]
    pub fn to_be_bytes(self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        for (chunk, v) in out.chunks_exact_mut(8).zip(self.to_u64s()) {
            chunk.copy_from_slice(&v.to_be_bytes());
        }
        out
    }

    /// Whether QEMU's nested-PAPR L0 accepts the size without aborting (4 KiB or 16 MiB).
    #[must_use]
    pub const fn qemu_accepts(self) -> bool {
        self.size == 1 << 12 || self.size == 1 << 24
    }
}

/// A partition-table entry: two doublewords (each big-endian in memory).
///
/// Under Nested APIv2 no partition table exists in L1 memory; the L1 sends
/// [`Pate::pagetable_value`] and [`Pate::process_table_value`] instead.
///
/// ```
/// use papr_mmu_radix::{GuestRealAddr, L1RealAddr, Pate};
/// let pate = Pate::new(L1RealAddr(0x0100_0000))
///     .with_process_table(GuestRealAddr(0x20_0000), 0)
///     .unwrap();
/// assert_eq!(pate.dw0, 0xC000_0000_0100_00AD);
/// assert_eq!(pate.dw1, 0x8000_0000_0020_0000);
/// let v = pate.pagetable_value();
/// assert_eq!((v.ea_bits, v.root_size), (52, 65536));
/// assert_eq!(pate.process_table_value().unwrap().size, 4096);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Pate {
    /// HR | RTS1 | RPDB | RTS2 | RPDS.
    pub dw0: u64,
    /// GR | PRTB | PRTS (0 while the L2 has registered no process table).
    pub dw1: u64,
}

impl Pate {
    /// A radix PATE for a 52-bit tree rooted at `root` (64 KiB aligned), no process table.
    #[must_use]
    pub const fn new(root: L1RealAddr) -> Self {
        Self {
            dw0: PATE0_HR | root_pointer(root.0),
            dw1: 0,
        }
    }

    /// The same entry with a radix process table at `base` of 2^(`prts`+12) bytes.
    ///
    /// # Errors
    /// [`crate::RadixError::InvalidProcessTable`] if `prts` > 24 or `base` is not aligned to
    /// the table size or has bits outside the PRTB field.
    pub const fn with_process_table(
        self,
        base: GuestRealAddr,
        prts: u32,
    ) -> Result<Self, crate::RadixError> {
        if prts > PRTS_MAX || base.0 & !PRTB_MASK != 0 || base.0 & ((1 << (prts + 12)) - 1) != 0 {
            return Err(crate::RadixError::InvalidProcessTable { base: base.0, prts });
        }
        Ok(Self {
            dw0: self.dw0,
            dw1: PATE1_GR | base.0 | prts as u64,
        })
    }

    /// The value for GSID 0x0005 decoded from dw0 (root, RTS + 31, 2^(RPDS+3)).
    #[must_use]
    pub const fn pagetable_value(self) -> PagetableValue {
        PagetableValue {
            root: L1RealAddr(self.dw0 & RPDB_MASK),
            ea_bits: decode_rts(self.dw0) + 31,
            root_size: 1 << ((self.dw0 & RPDS_MASK) + 3),
        }
    }

    /// The value for GSID 0x0006 decoded from dw1 (GR dropped), if a table is set.
    #[must_use]
    pub const fn process_table_value(self) -> Option<ProcessTableValue> {
        if self.dw1 == 0 {
            return None;
        }
        Some(ProcessTableValue {
            base: GuestRealAddr(self.dw1 & PRTB_MASK),
            size: 1 << ((self.dw1 & PRTS_MASK) + 12),
        })
    }

    /// The 16-byte big-endian in-memory form.
    #[must_use]
    pub fn to_be_bytes(self) -> [u8; 16] {
        let mut out = [0u8; 16];
        let (a, b) = out.split_at_mut(8);
        a.copy_from_slice(&self.dw0.to_be_bytes());
        b.copy_from_slice(&self.dw1.to_be_bytes());
        out
    }
}

/// A process-table entry: the L2's own process-scoped root pointer (an **L2** real address;
/// the L1 never builds that tree) and an unused second doubleword.
///
/// ```
/// use papr_mmu_radix::{GuestRealAddr, Prte};
/// let e = Prte::new(GuestRealAddr(0x3_0000));
/// assert_eq!(e.dw0, 0x4000_0000_0003_00AD);
/// assert_eq!(e.root(), GuestRealAddr(0x3_0000));
/// assert_eq!(e.ea_bits(), 52);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct Prte {
    /// RTS1 | RPDB | RTS2 | RPDS (no HR).
    pub dw0: u64,
    /// Unused by Linux radix.
    pub dw1: u64,
}

impl Prte {
    /// A PRTE for a 52-bit process-scoped tree with a 64 KiB root at `root`.
    #[must_use]
    pub const fn new(root: GuestRealAddr) -> Self {
        Self {
            dw0: root_pointer(root.0),
            dw1: 0,
        }
    }

    /// The root directory base.
    #[must_use]
    pub const fn root(self) -> GuestRealAddr {
        GuestRealAddr(self.dw0 & RPDB_MASK)
    }

    /// Address bits of the tree (RTS + 31).
    #[must_use]
    pub const fn ea_bits(self) -> u64 {
        decode_rts(self.dw0) + 31
    }

    /// log2 of the root entry count (RPDS).
    #[must_use]
    pub const fn rpds(self) -> u64 {
        self.dw0 & RPDS_MASK
    }

    /// The 16-byte big-endian in-memory form.
    #[must_use]
    pub fn to_be_bytes(self) -> [u8; 16] {
        Pate {
            dw0: self.dw0,
            dw1: self.dw1,
        }
        .to_be_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rts_split() {
        assert_eq!(decode_rts(RTS_52_BITS), RTS_52);
        assert_eq!(RTS_52 + 31, 52);
        assert_eq!(ROOT_BYTES, 65536);
    }

    #[test]
    fn pate_round_trips_through_gsid_values() {
        let root = L1RealAddr(0x0123_4567_0000);
        let pate = Pate::new(root);
        assert_eq!(pate.dw0, 0xC000_0000_0000_00AD | root.0);
        assert_eq!(pate.pagetable_value(), PagetableValue::for_root(root));
        assert_eq!(pate.pagetable_value().pate_dw0(), pate.dw0);
        assert_eq!(pate.process_table_value(), None);
        let b = pate.to_be_bytes();
        assert_eq!(b[0], 0xC0);
        assert_eq!(b[7], 0xAD);
    }

    #[test]
    fn process_table_checks() {
        let p = Pate::new(L1RealAddr(0));
        assert!(p.with_process_table(GuestRealAddr(0x1000), 1).is_err());
        assert!(p.with_process_table(GuestRealAddr(0), 25).is_err());
        assert!(p.with_process_table(GuestRealAddr(1 << 62), 0).is_err());
        let big = p.with_process_table(GuestRealAddr(0x100_0000), 12).unwrap();
        let v = big.process_table_value().unwrap();
        assert_eq!(
            v,
            ProcessTableValue {
                base: GuestRealAddr(0x100_0000),
                size: 1 << 24
            }
        );
        assert!(v.qemu_accepts());
        let odd = p.with_process_table(GuestRealAddr(0), 1).unwrap();
        assert!(!odd.process_table_value().unwrap().qemu_accepts());
    }

    #[test]
    fn gsid_bytes() {
        let v = PagetableValue::for_root(L1RealAddr(0x1_0000));
        let b = v.to_be_bytes();
        assert_eq!(b[5], 1);
        assert_eq!(b[15], 52);
        assert_eq!(b[21], 1);
        let prte = Prte::new(GuestRealAddr(0x1_0000));
        assert_eq!(prte.rpds(), 13);
        assert_eq!(prte.to_be_bytes()[0], 0x40);
    }
}
