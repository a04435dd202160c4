//! `TableMemory` over rust-vmm's `vm-memory` (feature `vm-memory`, std).

use core::ops::Deref;
use core::sync::atomic::{AtomicU64, Ordering};

use vm_memory::{Bytes, GuestAddress, GuestMemory, Permissions, VolatileMemory};

use crate::addr::L1RealAddr;
use crate::memory::{MemoryError, TableMemory};

/// Table memory inside a vm-memory [`GuestMemory`] (for example `GuestMemoryMmap`, held by
/// reference or `Arc`) whose
/// guest addresses stand for L1 real addresses — how a hosted VMM and a software L0 share
/// the tree without `unsafe`.
///
/// Entries are accessed with 8-byte atomic loads and stores, and `compare_exchange_u64` is
/// an `AtomicU64` compare-exchange on the entry (vm-memory's `get_atomic_ref`), so an R/C
/// bit another agent sets concurrently is never lost.
///
/// ```
/// use papr_mmu_radix::{L1RealAddr, TableMemory, VmMemory};
/// use vm_memory::{GuestAddress, GuestMemoryMmap};
/// let gm = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0x10_0000), 0x1_0000)]).unwrap();
/// let mut mem = VmMemory::new(&gm);
/// mem.write_u64(L1RealAddr(0x10_0008), 0xC000_0000_0000_0187).unwrap();
/// assert_eq!(mem.read_u64(L1RealAddr(0x10_0008)).unwrap(), 0xC000_0000_0000_0187);
/// assert!(mem.read_u64(L1RealAddr(0x20_0000)).is_err());
/// ```
#[derive(Debug)]
pub struct VmMemory<M> {
    mem: M,
}

impl<M> VmMemory<M>
where
    M: Deref,
    M::Target: GuestMemory,
{
    /// Wraps `mem`: a reference, `Box`, `Arc` or `GuestMemoryAtomic` guard of a
    /// [`GuestMemory`].
    pub const fn new(mem: M) -> Self {
        Self { mem }
    }

    /// The wrapped memory.
    pub const fn inner(&self) -> &M {
        &self.mem
    }

    /// Unwraps the memory.
    pub fn into_inner(self) -> M {
        self.mem
    }
}

static ZEROES: [u8; 4096] = [0; 4096];

impl<M> TableMemory for VmMemory<M>
where
    M: Deref,
    M::Target: GuestMemory,
{
    fn read_u64(&self, addr: L1RealAddr) -> Result<u64, MemoryError> {
        if !addr.is_aligned(8) {
            return Err(MemoryError { addr });
        }
        self.mem
            .load::<u64>(GuestAddress(addr.0), Ordering::Acquire)
            .map(u64::from_be)
            .map_err(|_| MemoryError { addr })
    }

    fn write_u64(&mut self, addr: L1RealAddr, value: u64) -> Result<(), MemoryError> {
        if !addr.is_aligned(8) {
            return Err(MemoryError { addr });
        }
        self.mem
            .store(value.to_be(), GuestAddress(addr.0), Ordering::Release)
            .map_err(|_| MemoryError { addr })
    }

    fn compare_exchange_u64(
        &mut self,
        addr: L1RealAddr,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemoryError> {
        let err = MemoryError { addr };
        if !addr.is_aligned(8) {
            return Err(err);
        }
        let slice = self
            .mem
            .get_slices(GuestAddress(addr.0), 8, Permissions::ReadWrite)
            .map_err(|_| err)?
            .next()
            .and_then(Result::ok)
            .ok_or(err)?;
        let word = slice.get_atomic_ref::<AtomicU64>(0).map_err(|_| err)?;
        Ok(word
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
        let mut off = 0u64;
        while off < len {
            let n = (len - off).min(ZEROES.len() as u64);
            let at = addr.checked_add(off).ok_or(MemoryError { addr })?;
            // `n` is at most 4096.
            #[allow(clippy::cast_possible_truncation)]
            let chunk = ZEROES.get(..n as usize).ok_or(MemoryError { addr: at })?;
            self.mem
                .write_slice(chunk, GuestAddress(at.0))
                .map_err(|_| MemoryError { addr: at })?;
            off += n;
        }
        Ok(())
    }
}
