//! `TableMemory` over a byte slice that stands for an L1 real range.

use crate::addr::L1RealAddr;
use crate::memory::{MemoryError, TableMemory};

/// Table memory held in a byte slice whose first byte is at L1 real address `base`.
///
/// Safe and `no_std`: for tests, for a software L0, or for a bare-metal L1 that owns its
/// table pool as a slice.
///
/// ```
/// use papr_mmu_radix::{L1RealAddr, SliceMemory, TableMemory};
/// let mut buf = [0xFFu8; 32];
/// let mut mem = SliceMemory::new(L1RealAddr(0x4000), &mut buf);
/// mem.zero(L1RealAddr(0x4008), 16).unwrap();
/// assert!(mem.read_u64(L1RealAddr(0x4020)).is_err()); // past the end
/// assert!(mem.read_u64(L1RealAddr(0x4004)).is_err()); // misaligned
/// assert_eq!(mem.bytes()[8..24], [0u8; 16]);
/// ```
#[derive(Debug)]
pub struct SliceMemory<'a> {
    base: L1RealAddr,
    bytes: &'a mut [u8],
}

impl<'a> SliceMemory<'a> {
    /// Memory whose byte `i` is at L1 real address `base + i`.
    #[must_use]
    pub fn new(base: L1RealAddr, bytes: &'a mut [u8]) -> Self {
        Self { base, bytes }
    }

    /// The L1 real address of the first byte.
    #[must_use]
    pub const fn base(&self) -> L1RealAddr {
        self.base
    }

    /// The memory as bytes (big-endian entries).
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        self.bytes
    }

    fn range(&self, addr: L1RealAddr, len: u64) -> Result<core::ops::Range<usize>, MemoryError> {
        MemoryError::check_doubleword(addr)?;
        let err = MemoryError::OutOfRange {
            addr: addr.raw(),
            len,
        };
        let off = addr.0.checked_sub(self.base.0).ok_or(err)?;
        let end = off.checked_add(len).ok_or(err)?;
        if end > self.bytes.len() as u64 {
            return Err(err);
        }
        // Both are at most the slice length, so they fit in usize.
        #[allow(clippy::cast_possible_truncation)]
        Ok(off as usize..end as usize)
    }
}

impl TableMemory for SliceMemory<'_> {
    fn read_u64(&self, addr: L1RealAddr) -> Result<u64, MemoryError> {
        let r = self.range(addr, 8)?;
        let b: [u8; 8] =
            self.bytes
                .get(r)
                .and_then(|s| s.try_into().ok())
                .ok_or(MemoryError::OutOfRange {
                    addr: addr.raw(),
                    len: 8,
                })?;
        Ok(u64::from_be_bytes(b))
    }

    fn write_u64(&mut self, addr: L1RealAddr, value: u64) -> Result<(), MemoryError> {
        let r = self.range(addr, 8)?;
        self.bytes
            .get_mut(r)
            .ok_or(MemoryError::OutOfRange {
                addr: addr.raw(),
                len: 8,
            })?
            .copy_from_slice(&value.to_be_bytes());
        Ok(())
    }

    fn zero(&mut self, addr: L1RealAddr, len: u64) -> Result<(), MemoryError> {
        let r = self.range(addr, len)?;
        self.bytes
            .get_mut(r)
            .ok_or(MemoryError::OutOfRange {
                addr: addr.raw(),
                len,
            })?
            .fill(0);
        Ok(())
    }
}
