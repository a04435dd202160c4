//! The `TableMemory` seam: where table entries live.

use crate::addr::L1RealAddr;

/// A table-memory access at an address the backend cannot reach.
#[derive(Clone, Copy, PartialEq, Eq, Debug, thiserror::Error)]
#[error("table memory access at L1 real address {addr:#x} failed")]
pub struct MemoryError {
    /// The L1 real address of the failed access.
    pub addr: L1RealAddr,
}

/// L1 memory holding the tree, addressed by L1 real address, one 8-byte entry at a time.
///
/// Values cross this seam as native `u64`; implementations store them **big-endian** (the
/// L0 walks the tree with big-endian loads). Addresses are 8-byte aligned.
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
    /// [`MemoryError`] if `addr` is outside the memory the backend covers.
    fn read_u64(&self, addr: L1RealAddr) -> Result<u64, MemoryError>;

    /// Writes `value` big-endian at `addr` with a single 8-byte store.
    ///
    /// # Errors
    /// [`MemoryError`] if `addr` is outside the memory the backend covers.
    fn write_u64(&mut self, addr: L1RealAddr, value: u64) -> Result<(), MemoryError>;

    /// Replaces `current` with `new` at `addr` if it is still there: `Ok(Ok(current))` on
    /// success, `Ok(Err(actual))` otherwise. Backends where another agent may change entries
    /// (an L0 setting R/C) make this atomic; the default is a read then a write.
    ///
    /// # Errors
    /// [`MemoryError`] if `addr` is outside the memory the backend covers.
    fn compare_exchange_u64(
        &mut self,
        addr: L1RealAddr,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemoryError> {
        let actual = self.read_u64(addr)?;
        if actual != current {
            return Ok(Err(actual));
        }
        self.write_u64(addr, new)?;
        Ok(Ok(actual))
    }

    /// Zeroes `len` bytes (a multiple of 8) from `addr`. The default writes doublewords.
    ///
    /// # Errors
    /// [`MemoryError`] if any part is outside the memory the backend covers.
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
