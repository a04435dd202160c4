//! `MmioData`: the bytes of one MMIO access, in the order they sit in storage.

use core::fmt;

/// The bytes of one MMIO access (1 to 8 of them), in **storage order**: the first byte is
/// the one at the access's guest real address, whatever the L2's byte order or the
/// instruction's byte-reverse form. A device model reads and writes its registers in
/// exactly this order, so no VMM re-derives endianness from MSR\[LE\] and the opcode.
///
/// * In [`Exit::Mmio`](crate::Exit::Mmio)'s `data`: the bytes a decoded store sends to the
///   device.
/// * In [`Action::MmioComplete`](crate::Action::MmioComplete): the bytes the device returns
///   for a load (exactly the access's size), or [`MmioData::NONE`] for a store.
///
/// ```
/// use papr_nestedv2::mmio::MmioData;
/// // A little-endian L2 stored the 16-bit value 0x1234: storage holds 34 12.
/// let d = MmioData::new(&[0x34, 0x12]).unwrap();
/// assert_eq!(d.as_bytes(), &[0x34, 0x12]);
/// assert_eq!(d.len(), 2);
/// assert_eq!(d.to_le_value(), 0x1234);
/// assert_eq!(d.to_be_value(), 0x3412);
/// // A device answering a 4-byte load with the big-endian register value 0xCAFE_F00D.
/// let r = MmioData::from_be_value(0xCAFE_F00D, 4).unwrap();
/// assert_eq!(r.as_bytes(), &[0xCA, 0xFE, 0xF0, 0x0D]);
/// assert_eq!(format!("{r:?}"), "MmioData[ca fe f0 0d]");
/// assert_eq!(MmioData::new(&[0; 9]), None); // more than a doubleword
/// ```
// Invariant: the bytes past `len` are zero, so the derived comparisons compare the data.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MmioData {
    bytes: [u8; 8],
    len: u8,
}

impl MmioData {
    /// No bytes: what a store's completion carries.
    pub const NONE: Self = Self {
        bytes: [0; 8],
        len: 0,
    };

    /// The bytes of `data` (at most 8), or `None` when there are more.
    #[must_use]
    pub fn new(data: &[u8]) -> Option<Self> {
        let mut bytes = [0u8; 8];
        bytes.get_mut(..data.len())?.copy_from_slice(data);
        Some(Self {
            bytes,
            len: data.len() as u8,
        })
    }

    /// `size` copies of `byte` (e.g. all ones for a load from no device), or `None` when
    /// `size` exceeds 8.
    ///
    /// ```
    /// # use papr_nestedv2::mmio::MmioData;
    /// assert_eq!(MmioData::filled(0xFF, 2).unwrap().as_bytes(), &[0xFF, 0xFF]);
    /// ```
    #[must_use]
    pub fn filled(byte: u8, size: u8) -> Option<Self> {
        Self::new([byte; 8].get(..usize::from(size))?)
    }

    /// The low `size` bytes of `value`, most significant first (a big-endian device
    /// register), or `None` when `size` exceeds 8.
    #[must_use]
    #[inline]
    pub fn from_be_value(value: u64, size: u8) -> Option<Self> {
        // The low `size` bytes shifted to the top: first in big-endian order, zeros after
        // (no copy of a slice of variable length).
        let bytes = match size {
            0 => [0; 8],
            1..=8 => (value << (64 - 8 * u32::from(size))).to_be_bytes(),
            _ => return None,
        };
        Some(Self { bytes, len: size })
    }

    /// The low `size` bytes of `value`, least significant first (a little-endian device
    /// register), or `None` when `size` exceeds 8.
    ///
    /// ```
    /// # use papr_nestedv2::mmio::MmioData;
    /// assert_eq!(MmioData::from_le_value(0x1234, 2).unwrap().as_bytes(), &[0x34, 0x12]);
    /// ```
    #[must_use]
    #[inline]
    pub fn from_le_value(value: u64, size: u8) -> Option<Self> {
        // The high bytes masked off: the low `size` bytes first, zeros after.
        let bytes = match size {
            0 => [0; 8],
            1..=8 => (value & (u64::MAX >> (64 - 8 * u32::from(size)))).to_le_bytes(),
            _ => return None,
        };
        Some(Self { bytes, len: size })
    }

    /// The bytes, in storage order.
    #[must_use]
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// How many bytes.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// No bytes ([`MmioData::NONE`]).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes read as a big-endian number (first byte most significant).
    #[must_use]
    pub fn to_be_value(&self) -> u64 {
        self.as_bytes()
            .iter()
            .fold(0, |v, &b| (v << 8) | u64::from(b))
    }

    /// The bytes read as a little-endian number (first byte least significant).
    #[must_use]
    pub fn to_le_value(&self) -> u64 {
        self.as_bytes()
            .iter()
            .rev()
            .fold(0, |v, &b| (v << 8) | u64::from(b))
    }
}

impl fmt::Debug for MmioData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MmioData[")?;
        for (i, b) in self.as_bytes().iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{b:02x}")?;
        }
        f.write_str("]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_in_both_orders() {
        for size in 1..=8u8 {
            let v = 0x0102_0304_0506_0708u64 >> (64 - 8 * u32::from(size));
            let be = MmioData::from_be_value(v, size).unwrap();
            let le = MmioData::from_le_value(v, size).unwrap();
            assert_eq!(be.len(), usize::from(size));
            assert_eq!(be.to_be_value(), v);
            assert_eq!(le.to_le_value(), v);
            let mut rev = le.as_bytes().to_vec();
            rev.reverse();
            assert_eq!(be.as_bytes(), &rev[..]);
        }
    }

    proptest::proptest! {
        /// The shifts and masks give what copying the value's bytes gives.
        #[test]
        fn values_are_their_bytes(value: u64, size in 0u8..12) {
            let be = value.to_be_bytes();
            let le = value.to_le_bytes();
            let n = usize::from(size);
            proptest::prop_assert_eq!(
                MmioData::from_be_value(value, size),
                be.get(8usize.saturating_sub(n)..).filter(|_| n <= 8).and_then(MmioData::new)
            );
            proptest::prop_assert_eq!(
                MmioData::from_le_value(value, size),
                le.get(..n).and_then(MmioData::new)
            );
        }
    }

    #[test]
    fn sizes_past_a_doubleword_are_refused() {
        assert_eq!(MmioData::from_be_value(1, 9), None);
        assert_eq!(MmioData::from_le_value(1, 9), None);
        assert_eq!(MmioData::filled(0, 9), None);
        assert!(MmioData::new(&[]).unwrap().is_empty());
        assert_eq!(MmioData::new(&[]).unwrap(), MmioData::NONE);
        // Equal data compare equal however they were made.
        assert_eq!(MmioData::filled(0xFF, 2), MmioData::new(&[0xFF, 0xFF]));
        assert_eq!(
            MmioData::filled(0xFF, 2),
            MmioData::from_be_value(0xFFFF, 2)
        );
    }
}
