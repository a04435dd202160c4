//! The guest's radix table (`RealTableMemory` over `RealMemory`) updates entries with one
//! atomic compare-exchange, so an R/C bit an L0 sets while the L1 protects or harvests is
//! never lost: a deterministic interleaving (the L0 sets C between the L1's read of an
//! entry and its update) and a real race between threads. Memory errors keep the address.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // test code

use papr_hcall::{IdentityMemory, L1RealAddr as Ra, MemoryError as HcallMemoryError, RealMemory};
use papr_mmu_radix::bits::PTE_C;
use papr_mmu_radix::{
    GuestRealAddr, L1RealAddr, MemoryError, NoInvalidate, Perms, PoolAlloc, RadixTable, TableMemory,
};
use papr_nestedv2::RealTableMemory;
use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};

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
    let mut t = RadixTable::new(RealTableMemory(&mem), alloc).unwrap();
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
fn harvest_never_misses_a_page_an_l0_thread_dirties() {
    let rounds: u64 = if cfg!(miri) { 6 } else { 50_000 };
    const PAGES: u64 = 4;
    let words = usize::try_from((POOL + 0x1_0000) / 8).unwrap();
    let backing: Arc<Vec<AtomicU64>> = Arc::new((0..words).map(|_| AtomicU64::new(0)).collect());
    let start = backing.as_ptr() as u64;
    let base = (start + 0xFFFF) & !0xFFFF;
    // SAFETY: the window lies inside `backing`, which lives (in the Arc) until both threads are joined; the table and the L0 thread access its doublewords only atomically.
    let mem = unsafe { IdentityMemory::new(base, base + POOL) };
    let alloc = PoolAlloc::<1>::new(L1RealAddr(base), POOL).unwrap();
    let mut t = RadixTable::new(RealTableMemory(mem), alloc).unwrap();
    t.map(
        GuestRealAddr(0),
        L1RealAddr(0x4000_0000),
        PAGES * PAGE,
        Perms::R,
    )
    .unwrap();
    let entries: Vec<usize> = (0..PAGES)
        .map(|p| {
            let e = t
                .translate(GuestRealAddr(p * PAGE))
                .unwrap()
                .unwrap()
                .entry_addr;
            usize::try_from((e.0 - start) / 8).unwrap()
        })
        .collect();

    let done = Arc::new(AtomicBool::new(false));
    let go = Arc::new(Barrier::new(2));
    let l0 = {
        let (backing, done, go, entries) = (
            Arc::clone(&backing),
            Arc::clone(&done),
            Arc::clone(&go),
            entries.clone(),
        );
        std::thread::spawn(move || {
            go.wait();
            let mut sets = vec![0u64; entries.len()];
            for _ in 0..rounds {
                for (i, &e) in entries.iter().enumerate() {
                    let before = backing[e].fetch_or(PTE_C.to_be(), Ordering::AcqRel);
                    sets[i] += u64::from(before & PTE_C.to_be() == 0);
                }
            }
            done.store(true, Ordering::Release);
            sets
        })
    };
    let mut harvested = vec![0u64; entries.len()];
    let mut bitmap = [0u64; 1];
    go.wait();
    loop {
        let finished = done.load(Ordering::Acquire);
        t.protect(GuestRealAddr(0), PAGES * PAGE, Perms::RX, &mut NoInvalidate)
            .unwrap();
        t.protect(GuestRealAddr(0), PAGES * PAGE, Perms::R, &mut NoInvalidate)
            .unwrap();
        t.harvest_dirty(
            GuestRealAddr(0),
            PAGES * PAGE,
            &mut bitmap,
            true,
            &mut NoInvalidate,
        )
        .unwrap();
        for (i, h) in harvested.iter_mut().enumerate() {
            *h += (bitmap[0] >> i) & 1;
        }
        if finished {
            break;
        }
    }
    let sets = l0.join().unwrap();
    assert_eq!(
        harvested, sets,
        "every C the L0 set was harvested exactly once"
    );
}

#[test]
fn table_memory_errors_keep_the_address() {
    let mem = Bytes(RefCell::new(vec![0; 64]));
    let mut t = RealTableMemory(&mem);
    for addr in [L1RealAddr(64), L1RealAddr(12), L1RealAddr(u64::MAX - 7)] {
        assert_eq!(t.read_u64(addr), Err(MemoryError { addr }));
        assert_eq!(t.write_u64(addr, 1), Err(MemoryError { addr }));
        assert_eq!(
            t.compare_exchange_u64(addr, 0, 1),
            Err(MemoryError { addr })
        );
    }
}
