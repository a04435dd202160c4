//! The `TableMemory` seam: where table entries live.

use crate::addr::L1RealAddr;

/// Why L1 real memory could not be accessed: the one memory error of the papr crates
/// ([`TableMemory`] here, `papr_hcall::RealMemory` above re-exports it). Every variant keeps
/// the address.
///
/// ```
/// use papr_mmu_radix::MemoryError;
/// let e = MemoryError::OutOfRange { addr: 0x4000, len: 8 };
/// assert_eq!(e.addr(), 0x4000);
/// assert_eq!(e.to_string(), "L1 real range 0x4000+0x8 is outside L1 memory");
/// let e = MemoryError::Misaligned { addr: 0x4004, align: 8 };
/// assert_eq!(e.to_string(), "L1 real address 0x4004 is not aligned to 8 bytes");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// The range is not (wholly) memory of the backend.
    #[error("L1 real range {addr:#x}+{len:#x} is outside L1 memory")]
    OutOfRange {
        /// Start of the access.
        addr: u64,
        /// Its length.
        len: u64,
    },
    /// A doubleword access (or a zeroing) at an address that is not aligned as it must be.
    #[error("L1 real address {addr:#x} is not aligned to {align} bytes")]
    Misaligned {
        /// The address.
        addr: u64,
        /// The alignment required.
        align: u64,
    },
}

impl MemoryError {
    /// The L1 real address of the failed access.
    #[must_use]
    pub const fn addr(&self) -> u64 {
        match *self {
            Self::OutOfRange { addr, .. } | Self::Misaligned { addr, .. } => addr,
        }
    }

    /// `Ok` when `addr` is 8-byte aligned, else [`MemoryError::Misaligned`]: the check every
    /// doubleword access makes first.
    ///
    /// # Errors
    /// [`MemoryError::Misaligned`] naming `addr`.
    pub const fn check_doubleword(addr: L1RealAddr) -> Result<(), Self> {
        if addr.is_aligned(8) {
            Ok(())
        } else {
            Err(Self::Misaligned {
                addr: addr.raw(),
                align: 8,
            })
        }
    }
}

/// The compare-exchange of memory nothing else writes, given the doubleword just read
/// (`actual`): calls `write` (which stores the new value) only if `actual == current`.
/// `Ok(Ok(current))` after the write, `Ok(Err(actual))` without it. The default of
/// [`TableMemory::compare_exchange_u64`] and of `papr_hcall::RealMemory`'s.
///
/// ```
/// let mut word = 5u64;
/// let r = papr_mmu_radix::exchange_unshared(word, 5, || { word = 6; Ok(()) });
/// assert_eq!((r, word), (Ok(Ok(5)), 6));
/// ```
///
/// # Errors
/// What `write` returns.
pub fn exchange_unshared(
    actual: u64,
    current: u64,
    write: impl FnOnce() -> Result<(), MemoryError>,
) -> Result<Result<u64, u64>, MemoryError> {
    if actual != current {
        return Ok(Err(actual));
    }
    write()?;
    Ok(Ok(actual))
}

/// L1 memory holding the tree, addressed by L1 real address, one 8-byte entry at a time.
///
/// Values cross this seam as native `u64`; implementations store them **big-endian** (the
/// L0 walks the tree with big-endian loads). Addresses are 8-byte aligned.
///
/// Backends: [`SliceMemory`](crate::SliceMemory) here (safe, for tests and docs); the
/// concrete L1 memories live once, in `papr-hcall`, and implement both this trait and
/// `papr_hcall::RealMemory` with one atomic implementation: `IdentityMemory` (bare metal)
/// and `VmRealMemory` (vm-memory).
///
/// ```
/// use papr_mmu_radix::{L1RealAddr, SliceMemory, TableMemory};
/// let mut buf = [0u8; 16];
/// let mut mem = SliceMemory::new(L1RealAddr(0x1000), &mut buf);
/// mem.write_u64(L1RealAddr(0x1008), 0xC000_0000_0000_0187).unwrap();
/// assert_eq!(mem.read_u64(L1RealAddr(0x1008)).unwrap(), 0xC000_0000_0000_0187);
/// assert_eq!(buf[8], 0xC0); // big-endian in memory
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait TableMemory {
    /// Reads the big-endian doubleword at `addr`.
    ///
    /// # Errors
    /// [`MemoryError::Misaligned`], [`MemoryError::OutOfRange`].
    fn read_u64(&self, addr: L1RealAddr) -> Result<u64, MemoryError>;

    /// Writes `value` big-endian at `addr` with a single 8-byte store.
    ///
    /// # Errors
    /// [`MemoryError::Misaligned`], [`MemoryError::OutOfRange`].
    fn write_u64(&mut self, addr: L1RealAddr, value: u64) -> Result<(), MemoryError>;

    /// Replaces `current` with `new` at `addr` if it is still there: `Ok(Ok(current))` on
    /// success, `Ok(Err(actual))` otherwise. Backends where another agent may change entries
    /// (an L0 setting R/C) make this atomic; the default is a read then a write.
    ///
    /// # Errors
    /// [`MemoryError::Misaligned`], [`MemoryError::OutOfRange`].
    fn compare_exchange_u64(
        &mut self,
        addr: L1RealAddr,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemoryError> {
        exchange_unshared(self.read_u64(addr)?, current, || self.write_u64(addr, new))
    }

    /// Zeroes `len` bytes (a multiple of 8) from `addr`. The default writes doublewords.
    ///
    /// # Errors
    /// [`MemoryError::Misaligned`], [`MemoryError::OutOfRange`] (of the doubleword that
    /// failed).
    fn zero(&mut self, addr: L1RealAddr, len: u64) -> Result<(), MemoryError> {
        let mut off = 0;
        while off < len {
            self.write_u64(addr.wrapping_add(off), 0)?;
            off += 8;
        }
        Ok(())
    }
}

impl<T: TableMemory + ?Sized> TableMemory for &mut T {
    fn read_u64(&self, addr: L1RealAddr) -> Result<u64, MemoryError> {
        (**self).read_u64(addr)
    }
    fn write_u64(&mut self, addr: L1RealAddr, value: u64) -> Result<(), MemoryError> {
        (**self).write_u64(addr, value)
    }
    fn compare_exchange_u64(
        &mut self,
        addr: L1RealAddr,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemoryError> {
        (**self).compare_exchange_u64(addr, current, new)
    }
    fn zero(&mut self, addr: L1RealAddr, len: u64) -> Result<(), MemoryError> {
        (**self).zero(addr, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mockall::predicate::eq;

    #[test]
    fn default_compare_exchange_and_zero() {
        let mut m = MockTableMemory::new();
        m.expect_read_u64()
            .with(eq(L1RealAddr(8)))
            .return_const(Ok(5));
        m.expect_write_u64()
            .with(eq(L1RealAddr(8)), eq(6))
            .times(1)
            .return_const(Ok(()));
        // The mock replaces default methods too, so drive the default through a wrapper.
        struct Wrap(MockTableMemory);
        impl TableMemory for Wrap {
            fn read_u64(&self, a: L1RealAddr) -> Result<u64, MemoryError> {
                self.0.read_u64(a)
            }
            fn write_u64(&mut self, a: L1RealAddr, v: u64) -> Result<(), MemoryError> {
                self.0.write_u64(a, v)
            }
        }
        let mut w = Wrap(m);
        assert_eq!(w.compare_exchange_u64(L1RealAddr(8), 5, 6), Ok(Ok(5)));
        assert_eq!(w.compare_exchange_u64(L1RealAddr(8), 4, 6), Ok(Err(5)));

        let mut z = MockTableMemory::new();
        z.expect_write_u64()
            .with(mockall::predicate::always(), eq(0))
            .times(4)
            .return_const(Ok(()));
        let mut w = Wrap(z);
        assert_eq!(w.zero(L1RealAddr(0x100), 32), Ok(()));
    }
}
