//! L1 real memory as the L0 sees it.
//!
//! The vocabulary ([`L1RealAddr`], [`MemoryError`], the `TableMemory` seam) is
//! papr-mmu-radix's, re-exported: one address type and one error from the radix tree up to
//! the hcalls. The concrete memories live here, once: [`IdentityMemory`] and `VmRealMemory`
//! implement both [`RealMemory`] and `papr_mmu_radix::TableMemory`, the latter through the
//! former's doubleword methods (one atomic compare-exchange implementation per backend).

use core::sync::atomic::{AtomicU64, Ordering};

pub use papr_mmu_radix::{L1RealAddr, MemoryError};

/// The atomic compare-exchange of a big-endian doubleword shared with the L0 (`ldarx`/
/// `stdcx.` on POWER): every backend another agent writes ends here.
fn exchange_be(word: &AtomicU64, current: u64, new: u64) -> Result<u64, u64> {
    word.compare_exchange(
        current.to_be(),
        new.to_be(),
        Ordering::AcqRel,
        Ordering::Acquire,
    )
    .map(u64::from_be)
    .map_err(u64::from_be)
}

/// Reads and writes bytes at L1 real addresses: how buffers reach the L0.
///
/// Backends: [`IdentityMemory`] (bare metal, where real = effective address), the
/// vm-memory one (feature `vm-memory`: the hosted L1 and the software L0 share a
/// `GuestMemory`), and `MockRealMemory` (feature `mock`). Each of them (and a shared
/// reference to each) is also a `papr_mmu_radix::TableMemory`, so a radix table lives in
/// the same memory the L0 reads, through the same accesses.
///
/// # Ranges handed to the L0
/// [`NestedHv`](crate::NestedHv) hands the L0 only L1 ranges this backend accepts
/// ([`check_range`](Self::check_range)): state buffers, run buffers, the VPA and the
/// partition-table root. A backend used with the real `sc 1` backend must therefore accept
/// only memory the L0 may write (the contract of `Sc1::new`).
///
/// # Doublewords shared with the L0
/// Radix table entries are shared with an L0 that may set R and C in them while the L1
/// changes them (PowerVM does; QEMU does not). [`read_u64`](Self::read_u64),
/// [`write_u64`](Self::write_u64) and [`compare_exchange_u64`](Self::compare_exchange_u64)
/// are therefore single 8-byte accesses, and the compare-exchange is atomic, in every
/// backend another agent can write: [`IdentityMemory`] (`AtomicU64`, `ldarx`/`stdcx.` on
/// POWER) and `VmRealMemory` (vm-memory's atomic accessors). The defaults (byte copies;
/// a read, then a write) are for backends nothing else writes concurrently.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait RealMemory {
    /// Copies `buf.len()` bytes at `addr` into `buf`.
    ///
    /// # Errors
    /// [`MemoryError::OutOfRange`] when the range is not wholly in this memory.
    fn read(&self, addr: L1RealAddr, buf: &mut [u8]) -> Result<(), MemoryError>;

    /// Copies `data` to `addr`.
    ///
    /// # Errors
    /// [`MemoryError::OutOfRange`] when the range is not wholly in this memory.
    fn write(&self, addr: L1RealAddr, data: &[u8]) -> Result<(), MemoryError>;

    /// Whether `addr..addr + len` is wholly in this memory, without touching it: what
    /// [`NestedHv`](crate::NestedHv) checks before it hands the L0 an address. The default
    /// reads the first and the last byte (exact for a contiguous backend); backends with
    /// holes or with reads that have effects override it.
    ///
    /// # Errors
    /// [`MemoryError::OutOfRange`] naming the range.
    fn check_range(&self, addr: L1RealAddr, len: u64) -> Result<(), MemoryError> {
        let out = MemoryError::OutOfRange { addr: addr.0, len };
        let last = len
            .checked_sub(1)
            .and_then(|n| addr.checked_add(n))
            .ok_or(out)?;
        let mut b = [0u8; 1];
        self.read(addr, &mut b).map_err(|_| out)?;
        self.read(last, &mut b).map_err(|_| out)
    }

    /// Reads the big-endian doubleword at `addr` (8-byte aligned) with one 8-byte access
    /// (the default copies bytes).
    ///
    /// # Errors
    /// [`MemoryError::Misaligned`], [`MemoryError::OutOfRange`].
    fn read_u64(&self, addr: L1RealAddr) -> Result<u64, MemoryError> {
        MemoryError::check_doubleword(addr)?;
        let mut b = [0u8; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_be_bytes(b))
    }

    /// Writes `value` big-endian at `addr` (8-byte aligned) with one 8-byte store (the
    /// default copies bytes).
    ///
    /// # Errors
    /// [`MemoryError::Misaligned`], [`MemoryError::OutOfRange`].
    fn write_u64(&self, addr: L1RealAddr, value: u64) -> Result<(), MemoryError> {
        MemoryError::check_doubleword(addr)?;
        self.write(addr, &value.to_be_bytes())
    }

    /// Replaces the big-endian doubleword `current` at `addr` with `new` if it is still
    /// there: `Ok(Ok(current))` on success, `Ok(Err(actual))` otherwise — **atomically**
    /// in every backend another agent (an L0 setting R/C) can write. The default is a read
    /// then a write: correct only when nothing else writes the doubleword meanwhile.
    ///
    /// # Errors
    /// [`MemoryError::Misaligned`], [`MemoryError::OutOfRange`].
    fn compare_exchange_u64(
        &self,
        addr: L1RealAddr,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemoryError> {
        papr_mmu_radix::exchange_unshared(self.read_u64(addr)?, current, || {
            self.write_u64(addr, new)
        })
    }
}

impl<T: RealMemory + ?Sized> RealMemory for &T {
    fn read(&self, addr: L1RealAddr, buf: &mut [u8]) -> Result<(), MemoryError> {
        (**self).read(addr, buf)
    }
    fn write(&self, addr: L1RealAddr, data: &[u8]) -> Result<(), MemoryError> {
        (**self).write(addr, data)
    }
    fn check_range(&self, addr: L1RealAddr, len: u64) -> Result<(), MemoryError> {
        (**self).check_range(addr, len)
    }
    fn read_u64(&self, addr: L1RealAddr) -> Result<u64, MemoryError> {
        (**self).read_u64(addr)
    }
    fn write_u64(&self, addr: L1RealAddr, value: u64) -> Result<(), MemoryError> {
        (**self).write_u64(addr, value)
    }
    fn compare_exchange_u64(
        &self,
        addr: L1RealAddr,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemoryError> {
        (**self).compare_exchange_u64(addr, current, new)
    }
}

/// L1 memory identity-mapped in the running L1 (bare metal, MMU off or 1:1): the byte at
/// real address `a` is at pointer `a`.
///
/// Doublewords are accessed as `AtomicU64` (`ld`/`std`, and `ldarx`/`stdcx.` for
/// [`RealMemory::compare_exchange_u64`] on POWER), so an R/C bit the L0 sets in a radix
/// entry while the L1 updates it is never lost.
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
    /// shared with the L0 anyway). The range is what [`NestedHv`](crate::NestedHv) lets
    /// the L0 write (see [`RealMemory`]): it must hold no Rust object.
    pub const unsafe fn new(start: u64, end: u64) -> Self {
        Self { start, end }
    }

    #[inline]
    fn check(&self, addr: L1RealAddr, len: u64) -> Result<(), MemoryError> {
        let ok = addr.0 >= self.start && addr.0.checked_add(len).is_some_and(|e| e <= self.end);
        if ok {
            Ok(())
        } else {
            Err(MemoryError::OutOfRange { addr: addr.0, len })
        }
    }

    /// The doubleword at `addr` as an atomic (8-byte aligned, inside the range).
    fn atomic(&self, addr: L1RealAddr) -> Result<&AtomicU64, MemoryError> {
        MemoryError::check_doubleword(addr)?;
        self.check(addr, 8)?;
        let p = addr.0 as usize as *mut u64;
        // SAFETY: `check` put `addr..addr + 8` inside `start..end`, which `new`'s contract makes readable and writable at this pointer value for as long as `self` is used (the borrow of `self` bounds the reference); `MemoryError::check_doubleword` made it 8-byte aligned; every access this backend makes to a doubleword it hands out is atomic, and the L0 is hardware to us.
        Ok(unsafe { AtomicU64::from_ptr(p) })
    }
}

impl RealMemory for IdentityMemory {
    #[inline]
    fn read(&self, addr: L1RealAddr, buf: &mut [u8]) -> Result<(), MemoryError> {
        self.check(addr, buf.len() as u64)?;
        let src = addr.0 as usize as *const u8;
        if core::ptr::eq(src, buf.as_ptr()) {
            return Ok(());
        }
        // SAFETY: `new`'s contract makes the range (checked above to lie in `start..end`) readable at the same pointer value; `ptr::copy` allows overlap.
        unsafe { core::ptr::copy(src, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    #[inline]
    fn write(&self, addr: L1RealAddr, data: &[u8]) -> Result<(), MemoryError> {
        self.check(addr, data.len() as u64)?;
        let dst = addr.0 as usize as *mut u8;
        if core::ptr::eq(dst, data.as_ptr()) {
            return Ok(());
        }
        // SAFETY: `new`'s contract makes the range (checked above) writable at the same pointer value with no live reference over it; `ptr::copy` allows overlap.
        unsafe { core::ptr::copy(data.as_ptr(), dst, data.len()) };
        Ok(())
    }

    fn check_range(&self, addr: L1RealAddr, len: u64) -> Result<(), MemoryError> {
        self.check(addr, len)
    }

    fn read_u64(&self, addr: L1RealAddr) -> Result<u64, MemoryError> {
        Ok(u64::from_be(self.atomic(addr)?.load(Ordering::Acquire)))
    }

    fn write_u64(&self, addr: L1RealAddr, value: u64) -> Result<(), MemoryError> {
        self.atomic(addr)?.store(value.to_be(), Ordering::Release);
        Ok(())
    }

    fn compare_exchange_u64(
        &self,
        addr: L1RealAddr,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemoryError> {
        Ok(exchange_be(self.atomic(addr)?, current, new))
    }
}

/// [`RealMemory`] over a vm-memory `GuestMemory` whose guest addresses are L1 real
/// addresses: how a hosted L1 and the software L0 share memory without `unsafe`.
/// Doublewords go through vm-memory's atomic accessors (`load`, `store`, and an
/// `AtomicU64` from `get_atomic_ref` for the compare-exchange).
#[cfg(feature = "vm-memory")]
#[derive(Debug, Clone)]
pub struct VmRealMemory<M>(pub M);

#[cfg(feature = "vm-memory")]
impl<M: vm_memory::GuestMemory> VmRealMemory<M> {
    fn out(addr: L1RealAddr, len: u64) -> MemoryError {
        MemoryError::OutOfRange { addr: addr.0, len }
    }
}

#[cfg(feature = "vm-memory")]
impl<M: vm_memory::GuestMemory> RealMemory for VmRealMemory<M> {
    fn read(&self, addr: L1RealAddr, buf: &mut [u8]) -> Result<(), MemoryError> {
        use vm_memory::Bytes;
        self.0
            .read_slice(buf, vm_memory::GuestAddress(addr.0))
            .map_err(|_| Self::out(addr, buf.len() as u64))
    }
    fn write(&self, addr: L1RealAddr, data: &[u8]) -> Result<(), MemoryError> {
        use vm_memory::Bytes;
        self.0
            .write_slice(data, vm_memory::GuestAddress(addr.0))
            .map_err(|_| Self::out(addr, data.len() as u64))
    }
    fn check_range(&self, addr: L1RealAddr, len: u64) -> Result<(), MemoryError> {
        let n = usize::try_from(len).map_err(|_| Self::out(addr, len))?;
        if addr.checked_add(len).is_some()
            && self.0.check_range(
                vm_memory::GuestAddress(addr.0),
                n,
                vm_memory::Permissions::ReadWrite,
            )
        {
            Ok(())
        } else {
            Err(Self::out(addr, len))
        }
    }
    fn read_u64(&self, addr: L1RealAddr) -> Result<u64, MemoryError> {
        use vm_memory::Bytes;
        MemoryError::check_doubleword(addr)?;
        self.0
            .load::<u64>(vm_memory::GuestAddress(addr.0), Ordering::Acquire)
            .map(u64::from_be)
            .map_err(|_| Self::out(addr, 8))
    }
    fn write_u64(&self, addr: L1RealAddr, value: u64) -> Result<(), MemoryError> {
        use vm_memory::Bytes;
        MemoryError::check_doubleword(addr)?;
        self.0
            .store(
                value.to_be(),
                vm_memory::GuestAddress(addr.0),
                Ordering::Release,
            )
            .map_err(|_| Self::out(addr, 8))
    }
    fn compare_exchange_u64(
        &self,
        addr: L1RealAddr,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemoryError> {
        use vm_memory::VolatileMemory;
        MemoryError::check_doubleword(addr)?;
        let out = Self::out(addr, 8);
        let slice = self
            .0
            .get_slices(
                vm_memory::GuestAddress(addr.0),
                8,
                vm_memory::Permissions::ReadWrite,
            )
            .map_err(|_| out)?
            .next()
            .and_then(Result::ok)
            .ok_or(out)?;
        let word = slice.get_atomic_ref::<AtomicU64>(0).map_err(|_| out)?;
        Ok(exchange_be(word, current, new))
    }
}

/// `papr_mmu_radix::TableMemory` for a [`RealMemory`] backend: entries go through
/// [`RealMemory::read_u64`], [`RealMemory::write_u64`] and
/// [`RealMemory::compare_exchange_u64`] (single 8-byte accesses, an atomic compare-exchange in
/// every backend another agent writes), zeroing through [`RealMemory::write`].
macro_rules! table_memory_via_real_memory {
    (impl $([$($generics:tt)*])? for $ty:ty) => {
        impl$(<$($generics)*>)? papr_mmu_radix::TableMemory for $ty {
            fn read_u64(&self, addr: L1RealAddr) -> Result<u64, MemoryError> {
                RealMemory::read_u64(self, addr)
            }
            fn write_u64(&mut self, addr: L1RealAddr, value: u64) -> Result<(), MemoryError> {
                RealMemory::write_u64(self, addr, value)
            }
            fn compare_exchange_u64(
                &mut self,
                addr: L1RealAddr,
                current: u64,
                new: u64,
            ) -> Result<Result<u64, u64>, MemoryError> {
                RealMemory::compare_exchange_u64(self, addr, current, new)
            }
            fn zero(&mut self, addr: L1RealAddr, len: u64) -> Result<(), MemoryError> {
                zero_real(&*self, addr, len)
            }
        }
    };
}

/// Zeroes `len` bytes (a multiple of 8) at the 8-byte aligned `addr` with byte writes of up
/// to 512 bytes (table pages are zeroed before they are linked: nothing else accesses them).
fn zero_real<M: RealMemory + ?Sized>(
    mem: &M,
    addr: L1RealAddr,
    len: u64,
) -> Result<(), MemoryError> {
    const ZEROES: [u8; 512] = [0; 512];
    MemoryError::check_doubleword(addr)?;
    if !len.is_multiple_of(8) {
        return Err(MemoryError::Misaligned {
            addr: addr.raw().wrapping_add(len),
            align: 8,
        });
    }
    mem.check_range(addr, len)?;
    let mut off = 0u64;
    while off < len {
        let n = (len - off).min(ZEROES.len() as u64);
        let at = addr.wrapping_add(off);
        // `n` is at most 512.
        #[allow(clippy::cast_possible_truncation)]
        let chunk = ZEROES.get(..n as usize).ok_or(MemoryError::OutOfRange {
            addr: at.raw(),
            len: n,
        })?;
        mem.write(at, chunk)?;
        off += n;
    }
    Ok(())
}

table_memory_via_real_memory!(impl for IdentityMemory);
table_memory_via_real_memory!(impl ['a] for &'a IdentityMemory);
#[cfg(feature = "vm-memory")]
table_memory_via_real_memory!(impl [M: vm_memory::GuestMemory] for VmRealMemory<M>);
#[cfg(feature = "vm-memory")]
table_memory_via_real_memory!(impl ['a, M: vm_memory::GuestMemory] for &'a VmRealMemory<M>);
#[cfg(any(test, feature = "mock"))]
table_memory_via_real_memory!(impl for MockRealMemory);
#[cfg(any(test, feature = "mock"))]
table_memory_via_real_memory!(impl ['a] for &'a MockRealMemory);

#[cfg(test)]
#[path = "memory_tests.rs"]
mod tests;
