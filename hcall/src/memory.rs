//! L1 real memory as the L0 sees it.

use core::fmt;

/// An L1 real address: what the L1 passes to the L0 in an hcall (`__pa()` in Linux).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct L1RealAddr(pub u64);

impl L1RealAddr {
    /// The raw address.
    pub const fn raw(self) -> u64 {
        self.0
    }
    /// `self + off`, or `None` on overflow.
    pub const fn checked_add(self, off: u64) -> Option<Self> {
        match self.0.checked_add(off) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }
}

impl fmt::Debug for L1RealAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "L1RealAddr({:#x})", self.0)
    }
}

/// Why L1 real memory could not be accessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// The range is not (wholly) L1 memory.
    #[error("L1 real range {addr:#x}+{len:#x} is outside L1 memory")]
    OutOfRange {
        /// Start of the access.
        addr: u64,
        /// Its length.
        len: u64,
    },
}

/// Reads and writes bytes at L1 real addresses: how buffers reach the L0.
///
/// Backends: [`IdentityMemory`] (bare metal, where real = effective address), the
/// vm-memory one (feature `vm-memory`: the hosted L1 and the software L0 share a
/// `GuestMemory`), and `MockRealMemory` (feature `mock`).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait RealMemory {
    /// Copies `buf.len()` bytes at `addr` into `buf`.
    fn read(&self, addr: L1RealAddr, buf: &mut [u8]) -> Result<(), MemoryError>;
    /// Copies `data` to `addr`.
    fn write(&self, addr: L1RealAddr, data: &[u8]) -> Result<(), MemoryError>;
}

impl<T: RealMemory + ?Sized> RealMemory for &T {
    fn read(&self, addr: L1RealAddr, buf: &mut [u8]) -> Result<(), MemoryError> {
        (**self).read(addr, buf)
    }
    fn write(&self, addr: L1RealAddr, data: &[u8]) -> Result<(), MemoryError> {
        (**self).write(addr, data)
    }
}

/// L1 memory identity-mapped in the running L1 (bare metal, MMU off or 1:1): the byte at
/// real address `a` is at pointer `a`.
#[derive(Debug, Clone, Copy)]
pub struct IdentityMemory {
    start: u64,
    end: u64,
}

impl IdentityMemory {
    /// Memory `start..end` (real addresses).
    ///
    /// # Safety
    /// Every address in `start..end` must be readable and writable at the same numeric
    /// pointer value for as long as this value is used, and no Rust reference may be live
    /// over bytes written through it while a write happens (buffers handed to the L0 are
    /// shared with the L0 anyway).
    pub const unsafe fn new(start: u64, end: u64) -> Self {
        Self { start, end }
    }

    fn check(&self, addr: L1RealAddr, len: usize) -> Result<(), MemoryError> {
        let len = len as u64;
        let ok = addr.0 >= self.start && addr.0.checked_add(len).is_some_and(|e| e <= self.end);
        if ok {
            Ok(())
        } else {
            Err(MemoryError::OutOfRange { addr: addr.0, len })
        }
    }
}

impl RealMemory for IdentityMemory {
    fn read(&self, addr: L1RealAddr, buf: &mut [u8]) -> Result<(), MemoryError> {
        self.check(addr, buf.len())?;
        let src = addr.0 as usize as *const u8;
        if core::ptr::eq(src, buf.as_ptr()) {
            return Ok(());
        }
        // SAFETY: `new`'s contract makes the range (checked above to lie in `start..end`) readable at the same pointer value; `ptr::copy` allows overlap.
        unsafe { core::ptr::copy(src, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    fn write(&self, addr: L1RealAddr, data: &[u8]) -> Result<(), MemoryError> {
        self.check(addr, data.len())?;
        let dst = addr.0 as usize as *mut u8;
        if core::ptr::eq(dst, data.as_ptr()) {
            return Ok(());
        }
        // SAFETY: `new`'s contract makes the range (checked above) writable at the same pointer value with no live reference over it; `ptr::copy` allows overlap.
        unsafe { core::ptr::copy(data.as_ptr(), dst, data.len()) };
        Ok(())
    }
}

/// [`RealMemory`] over a vm-memory `GuestMemory` whose guest addresses are L1 real
/// addresses: how a hosted L1 and the software L0 share memory without `unsafe`.
#[cfg(feature = "vm-memory")]
#[derive(Debug, Clone)]
pub struct VmRealMemory<M>(pub M);

#[cfg(feature = "vm-memory")]
impl<M: vm_memory::GuestMemory> RealMemory for VmRealMemory<M> {
    fn read(&self, addr: L1RealAddr, buf: &mut [u8]) -> Result<(), MemoryError> {
        use vm_memory::Bytes;
        self.0
            .read_slice(buf, vm_memory::GuestAddress(addr.0))
            .map_err(|_| MemoryError::OutOfRange {
                addr: addr.0,
                len: buf.len() as u64,
            })
    }
    fn write(&self, addr: L1RealAddr, data: &[u8]) -> Result<(), MemoryError> {
        use vm_memory::Bytes;
        self.0
            .write_slice(data, vm_memory::GuestAddress(addr.0))
            .map_err(|_| MemoryError::OutOfRange {
                addr: addr.0,
                len: data.len() as u64,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_memory_bounds_and_copies() {
        let mut backing = [0u8; 64];
        let base = backing.as_mut_ptr() as u64;
        // SAFETY: `backing` is live and writable for the whole test; no reference to it is used while `m` accesses it.
        let m = unsafe { IdentityMemory::new(base, base + 64) };
        m.write(L1RealAddr(base + 8), &[1, 2, 3]).unwrap();
        let mut out = [0u8; 4];
        m.read(L1RealAddr(base + 7), &mut out).unwrap();
        assert_eq!(out, [0, 1, 2, 3]);
        assert_eq!(
            m.read(L1RealAddr(base + 62), &mut out),
            Err(MemoryError::OutOfRange {
                addr: base + 62,
                len: 4
            })
        );
        assert!(m.write(L1RealAddr(base - 1), &[0]).is_err());
        assert!(m.write(L1RealAddr(u64::MAX), &[0, 0]).is_err());
        assert_eq!(backing[8..11], [1, 2, 3]);
    }
}
