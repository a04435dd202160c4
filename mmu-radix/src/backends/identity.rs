//! `TableMemory` for an identity-mapped bare-metal L1 (real address == pointer).

use core::sync::atomic::{AtomicU64, Ordering};

use crate::addr::L1RealAddr;
use crate::memory::{MemoryError, TableMemory};

/// Table memory reached by dereferencing the L1 real address itself, as a bare-metal L1
/// running with relocation off (or with an identity map) does. Entries are read and written
/// with 8-byte atomic accesses, and [`TableMemory::compare_exchange_u64`] is a real atomic
/// (`ldarx`/`stdcx.` on POWER), so R/C bits an L0 sets concurrently are never lost.
///
/// Every access is checked against the window given to [`IdentityMemory::new`].
///
/// ```
/// use papr_mmu_radix::{IdentityMemory, L1RealAddr, TableMemory};
/// let mut buf = [0u64; 4];
/// let base = L1RealAddr(buf.as_mut_ptr() as u64);
/// // SAFETY: `buf` is live, 8-byte aligned, and touched only through `mem` below.
/// let mut mem = unsafe { IdentityMemory::new(base, 32) };
/// mem.write_u64(base.wrapping_add(8), 0x8000_0000_0000_1009).unwrap();
/// assert_eq!(mem.read_u64(base.wrapping_add(8)).unwrap(), 0x8000_0000_0000_1009);
/// assert!(mem.read_u64(base.wrapping_add(32)).is_err());
/// drop(mem);
/// assert_eq!(buf[1], 0x8000_0000_0000_1009u64.to_be());
/// ```
#[derive(Debug)]
pub struct IdentityMemory {
    base: u64,
    len: u64,
}

impl IdentityMemory {
    /// Table memory over the window `[base, base + len)`.
    ///
    /// # Safety
    /// For as long as the value lives, every address in the window must be mapped for
    /// reading and writing at the virtual address equal to its value, and nothing else may
    /// hold a Rust reference into the window (the L0 walking it is fine: it is hardware to
    /// us). Accesses are 8-byte aligned (checked).
    #[must_use]
    pub const unsafe fn new(base: L1RealAddr, len: u64) -> Self {
        Self { base: base.0, len }
    }

    fn cell(&self, addr: L1RealAddr, len: u64) -> Result<*mut u8, MemoryError> {
        let err = MemoryError { addr };
        let off = addr.0.checked_sub(self.base).ok_or(err)?;
        let end = off.checked_add(len).ok_or(err)?;
        if !addr.is_aligned(8) || end > self.len {
            return Err(err);
        }
        Ok(addr.0 as usize as *mut u8)
    }

    fn atomic(&self, addr: L1RealAddr) -> Result<&AtomicU64, MemoryError> {
        let p = self.cell(addr, 8)?;
        // `cell` checked that `addr..addr + 8` is inside the window and 8-byte aligned.
        // SAFETY: `new`'s contract makes the window mapped, writable and free of Rust references; aligned for `AtomicU64`.
        Ok(unsafe { &*p.cast::<AtomicU64>() })
    }
}

impl TableMemory for IdentityMemory {
    fn read_u64(&self, addr: L1RealAddr) -> Result<u64, MemoryError> {
        Ok(u64::from_be(self.atomic(addr)?.load(Ordering::Acquire)))
    }

    fn write_u64(&mut self, addr: L1RealAddr, value: u64) -> Result<(), MemoryError> {
        self.atomic(addr)?.store(value.to_be(), Ordering::Release);
        Ok(())
    }

    fn compare_exchange_u64(
        &mut self,
        addr: L1RealAddr,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemoryError> {
        Ok(self
            .atomic(addr)?
            .compare_exchange(
                current.to_be(),
                new.to_be(),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map(u64::from_be)
            .map_err(u64::from_be))
    }

    fn zero(&mut self, addr: L1RealAddr, len: u64) -> Result<(), MemoryError> {
        let p = self.cell(addr, len)?;
        // `len` is at most the window length, which is mapped memory, so it fits in usize.
        #[allow(clippy::cast_possible_truncation)]
        let n = len as usize;
        // SAFETY: `cell` checked the range is inside the window, which `new`'s contract makes mapped, writable and unaliased.
        unsafe { core::ptr::write_bytes(p, 0, n) };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_ops_are_big_endian() {
        let mut buf = [0u64; 8];
        let base = L1RealAddr(buf.as_mut_ptr() as u64);
        {
            // SAFETY: `buf` outlives `mem` and is only accessed through it until `mem` is dropped.
            let mut mem = unsafe { IdentityMemory::new(base, 64) };
            let a = base.wrapping_add(16);
            mem.write_u64(a, 0x0102_0304_0506_0708).unwrap();
            assert_eq!(
                mem.compare_exchange_u64(a, 1, 2),
                Ok(Err(0x0102_0304_0506_0708))
            );
            assert_eq!(
                mem.compare_exchange_u64(a, 0x0102_0304_0506_0708, 9),
                Ok(Ok(0x0102_0304_0506_0708))
            );
            assert_eq!(mem.read_u64(a), Ok(9));
            mem.write_u64(base, u64::MAX).unwrap();
            mem.zero(base, 8).unwrap();
            assert_eq!(mem.read_u64(base), Ok(0));
            assert!(mem.zero(base, 72).is_err());
            assert!(mem.read_u64(base.wrapping_add(4)).is_err());
            assert!(mem.read_u64(L1RealAddr(base.0 - 8)).is_err());
        }
        assert_eq!(buf[2], 9u64.to_be());
    }
}
