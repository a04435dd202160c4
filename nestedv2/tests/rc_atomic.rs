//! The guest's radix table (`GuestRadixTable`: a `RadixTable` over the host's memory
//! backend, which is both `RealMemory` and `TableMemory`) updates entries with one
//! compare-exchange, so an R/C bit an L0 sets while the L1 protects or harvests is never
//! lost: a deterministic interleaving (the L0 sets C between the L1's read of an entry and
//! its update). The race between real threads through `IdentityMemory` is papr-hcall's
//! unit test `harvest_and_protect_never_lose_a_c_bit_set_concurrently` (run under Miri).
//! Memory errors keep the address.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // test code

use papr_hcall::{IdentityMemory, L1RealAddr, MemoryError, MockHcall, RealMemory};
use papr_mmu_radix::bits::PTE_C;
use papr_mmu_radix::{GuestRealAddr, NoInvalidate, Perms, PoolAlloc, TableMemory};
use papr_nestedv2::{GuestRadixTable, ManualClock};
use std::cell::{Cell, RefCell};
use std::sync::atomic::AtomicU64;

/// The backend tuple a host over `Interloper` would have: its guests' table type is the
/// one under test.
type Host<'m> = (
    MockHcall,
    &'m Interloper,
    papr_hcall::NoDelay,
    ManualClock,
    PoolAlloc<1>,
);

type Ra = L1RealAddr;
type HcallMemoryError = MemoryError;

const PAGE: u64 = 0x1000;

/// L1 memory `0..len` as bytes, with the trait's default doubleword methods.
struct Bytes(RefCell<Vec<u8>>);

impl RealMemory for Bytes {
    fn read(&self, a: Ra, b: &mut [u8]) -> Result<(), HcallMemoryError> {
        let m = self.0.borrow();
        let s = usize::try_from(a.0)
            .ok()
            .and_then(|a| m.get(a..a.checked_add(b.len())?))
            .ok_or(HcallMemoryError::OutOfRange {
                addr: a.0,
                len: b.len() as u64,
            })?;
        b.copy_from_slice(s);
        Ok(())
    }
    fn write(&self, a: Ra, d: &[u8]) -> Result<(), HcallMemoryError> {
        let mut m = self.0.borrow_mut();
        let s = usize::try_from(a.0)
            .ok()
            .and_then(|a| m.get_mut(a..a.checked_add(d.len())?))
            .ok_or(HcallMemoryError::OutOfRange {
                addr: a.0,
                len: d.len() as u64,
            })?;
        s.copy_from_slice(d);
        Ok(())
    }
}

/// An L0 that sets C in the entry at `armed` at the L1's second access to it (after the
/// walk has read it, before the update lands): right before a compare-exchange, or right
/// after the read half of a read-then-write.
struct Interloper {
    inner: Bytes,
    armed: Cell<Option<u64>>,
    accesses: Cell<u32>,
}

impl Interloper {
    fn set_c_once(&self, a: Ra) {
        if self.armed.get() == Some(a.0) && self.accesses.get() == 2 {
            self.armed.set(None);
            let v = self.inner.read_u64(a).unwrap();
            self.inner.write_u64(a, v | PTE_C).unwrap();
        }
    }
    fn touch(&self, a: Ra) {
        if self.armed.get() == Some(a.0) {
            self.accesses.set(self.accesses.get() + 1);
        }
    }
}

impl RealMemory for Interloper {
    fn read(&self, a: Ra, b: &mut [u8]) -> Result<(), HcallMemoryError> {
        self.inner.read(a, b)
    }
    fn write(&self, a: Ra, d: &[u8]) -> Result<(), HcallMemoryError> {
        self.inner.write(a, d)
    }
    fn read_u64(&self, a: Ra) -> Result<u64, HcallMemoryError> {
        self.touch(a);
        let v = self.inner.read_u64(a);
        self.set_c_once(a);
        v
    }
    fn write_u64(&self, a: Ra, v: u64) -> Result<(), HcallMemoryError> {
        self.inner.write_u64(a, v)
    }
    fn compare_exchange_u64(
        &self,
        a: Ra,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, HcallMemoryError> {
        self.touch(a);
        self.set_c_once(a);
        self.inner.compare_exchange_u64(a, current, new)
    }
}

/// Like every backend in papr-hcall, the table's accesses are the `RealMemory` doubleword
/// methods.
impl TableMemory for &Interloper {
    fn read_u64(&self, a: Ra) -> Result<u64, MemoryError> {
        RealMemory::read_u64(*self, a)
    }
    fn write_u64(&mut self, a: Ra, v: u64) -> Result<(), MemoryError> {
        RealMemory::write_u64(*self, a, v)
    }
    fn compare_exchange_u64(
        &mut self,
        a: Ra,
        current: u64,
        new: u64,
    ) -> Result<Result<u64, u64>, MemoryError> {
        RealMemory::compare_exchange_u64(*self, a, current, new)
    }
}

/// 64 KiB root + 3 directory pages at 0; leaves point at 1 GiB (never touched).
const POOL: u64 = 0x1_0000 + 3 * PAGE;

#[test]
fn a_c_bit_set_between_read_and_update_survives_protect_and_is_harvested() {
    let mem = Interloper {
        inner: Bytes(RefCell::new(vec![0; POOL as usize])),
        armed: Cell::new(None),
        accesses: Cell::new(0),
    };
    let alloc = PoolAlloc::<1>::new(L1RealAddr(0), POOL).unwrap();
    let mut t = GuestRadixTable::<Host<'_>, PoolAlloc<1>>::new(&mem, alloc).unwrap();
    t.map(GuestRealAddr(0), L1RealAddr(0x4000_0000), PAGE, Perms::R)
        .unwrap();
    let entry = t.translate(GuestRealAddr(0)).unwrap().unwrap().entry_addr;
    assert!(!t
        .translate(GuestRealAddr(0))
        .unwrap()
        .unwrap()
        .pte
        .changed());
    mem.armed.set(Some(entry.0));
    // Dirty logging write-protects the page; the L0 sets C meanwhile (an L2 store that
    // reached the page before the protection did).
    t.protect(GuestRealAddr(0), PAGE, Perms::RX, &mut NoInvalidate)
        .unwrap();
    assert_eq!(mem.armed.get(), None, "the L0 set C during the update");
    let pte = t.translate(GuestRealAddr(0)).unwrap().unwrap().pte;
    assert!(pte.changed(), "C survived the protect: {:#x}", pte.raw());
    assert_eq!(pte.perms(), Perms::RX);
    let mut bitmap = [0u64; 1];
    let dirty = t
        .harvest_dirty(GuestRealAddr(0), PAGE, &mut bitmap, true, &mut NoInvalidate)
        .unwrap();
    assert_eq!((dirty, bitmap[0]), (1, 1));
}

#[test]
fn table_memory_errors_keep_the_address() {
    let backing: Vec<AtomicU64> = (0..8).map(|_| AtomicU64::new(0)).collect();
    let base = backing.as_ptr() as u64;
    // SAFETY: the 64 bytes lie inside `backing`, which outlives `t` and is accessed only through it.
    let mut t = unsafe { IdentityMemory::new(base, base + 64) };
    for addr in [base + 64, u64::MAX - 7] {
        let out = Err(MemoryError::OutOfRange { addr, len: 8 });
        let addr = L1RealAddr(addr);
        assert_eq!(TableMemory::read_u64(&t, addr), out);
        assert_eq!(TableMemory::write_u64(&mut t, addr, 1), out.map(|_| ()));
        assert_eq!(t.compare_exchange_u64(addr, 0, 1), out.map(Ok));
    }
    let addr = base + 12;
    let mis = Err(MemoryError::Misaligned { addr, align: 8 });
    assert_eq!(TableMemory::read_u64(&t, L1RealAddr(addr)), mis);
    assert_eq!(
        TableMemory::zero(&mut t, L1RealAddr(addr), 8),
        mis.map(|_| ())
    );
}
