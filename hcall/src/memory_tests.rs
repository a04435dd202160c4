//! Tests of the memory backends: bounds, doublewords, and the atomic compare-exchange
//! raced against a concurrent writer (run under Miri too).

use super::*;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Barrier};
use std::vec::Vec;

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
    assert_eq!(m.check_range(L1RealAddr(base), 64), Ok(()));
    assert_eq!(
        m.check_range(L1RealAddr(base + 1), 64),
        Err(MemoryError::OutOfRange {
            addr: base + 1,
            len: 64
        })
    );
    assert_eq!(backing[8..11], [1, 2, 3]);
}

#[test]
fn identity_doublewords_are_big_endian_aligned_and_compare_exchanged() {
    let mut backing = [0u64; 4];
    let base = backing.as_mut_ptr() as u64;
    {
        // SAFETY: `backing` outlives `m` and is touched only through `m` until `m` is dropped.
        let m = unsafe { IdentityMemory::new(base, base + 32) };
        let a = L1RealAddr(base + 8);
        m.write_u64(a, 0x0102_0304_0506_0708).unwrap();
        assert_eq!(m.read_u64(a), Ok(0x0102_0304_0506_0708));
        assert_eq!(
            m.compare_exchange_u64(a, 1, 2),
            Ok(Err(0x0102_0304_0506_0708))
        );
        assert_eq!(
            m.compare_exchange_u64(a, 0x0102_0304_0506_0708, 9),
            Ok(Ok(0x0102_0304_0506_0708))
        );
        assert_eq!(
            m.read_u64(L1RealAddr(base + 4)),
            Err(MemoryError::Misaligned {
                addr: base + 4,
                align: 8
            })
        );
        assert_eq!(
            m.compare_exchange_u64(L1RealAddr(base + 32), 0, 1),
            Err(MemoryError::OutOfRange {
                addr: base + 32,
                len: 8
            })
        );
    }
    assert_eq!(backing[1], 9u64.to_be());
}

/// The default `check_range` and doubleword methods of a plain byte backend.
#[test]
fn defaults_copy_bytes_and_probe_both_ends() {
    struct Bytes(std::cell::RefCell<Vec<u8>>);
    impl RealMemory for Bytes {
        fn read(&self, a: L1RealAddr, b: &mut [u8]) -> Result<(), MemoryError> {
            let m = self.0.borrow();
            let s = usize::try_from(a.0)
                .ok()
                .and_then(|a| m.get(a..a.checked_add(b.len())?))
                .ok_or(MemoryError::OutOfRange {
                    addr: a.0,
                    len: b.len() as u64,
                })?;
            b.copy_from_slice(s);
            Ok(())
        }
        fn write(&self, a: L1RealAddr, d: &[u8]) -> Result<(), MemoryError> {
            let mut m = self.0.borrow_mut();
            let s = usize::try_from(a.0)
                .ok()
                .and_then(|a| m.get_mut(a..a.checked_add(d.len())?))
                .ok_or(MemoryError::OutOfRange {
                    addr: a.0,
                    len: d.len() as u64,
                })?;
            s.copy_from_slice(d);
            Ok(())
        }
    }
    let m = Bytes(std::cell::RefCell::new(std::vec![0; 32]));
    m.write_u64(L1RealAddr(8), 0xAA00_0000_0000_00BB).unwrap();
    assert_eq!(m.0.borrow()[8], 0xAA);
    assert_eq!(
        m.compare_exchange_u64(L1RealAddr(8), 0, 1),
        Ok(Err(0xAA00_0000_0000_00BB))
    );
    assert_eq!(
        m.compare_exchange_u64(L1RealAddr(8), 0xAA00_0000_0000_00BB, 1),
        Ok(Ok(0xAA00_0000_0000_00BB))
    );
    assert_eq!(m.read_u64(L1RealAddr(8)), Ok(1));
    assert_eq!(m.check_range(L1RealAddr(0), 32), Ok(()));
    assert_eq!(
        m.check_range(L1RealAddr(1), 32),
        Err(MemoryError::OutOfRange { addr: 1, len: 32 })
    );
    assert!(m.check_range(L1RealAddr(0), 0).is_err());
    assert!(m.write_u64(L1RealAddr(12), 0).is_err());
}

/// What an L0 that maintains R/C does to a radix entry: sets a bit with one atomic OR.
const C_BIT: u64 = 0x80;

/// Races an "L0" thread that sets bit `C_BIT` in a shared doubleword (atomic OR, as the
/// hardware does) against the L1 clearing it with `compare_exchange_u64` loops and counting
/// how often it saw it set. Every set must be seen exactly once: a compare-exchange that
/// is a read then a write would overwrite a set made between the two (and Miri reports
/// the non-atomic access as a data race).
#[test]
fn compare_exchange_never_loses_a_concurrent_set() {
    let rounds: u64 = if cfg!(miri) { 40 } else { 100_000 };
    let word = Arc::new(AtomicU64::new(0));
    let base = word.as_ptr() as u64;
    // SAFETY: `word` lives (in the Arc) until both threads are joined; every access to it, here and in the other thread, is atomic.
    let m = unsafe { IdentityMemory::new(base, base + 8) };
    let done = Arc::new(AtomicBool::new(false));
    let go = Arc::new(Barrier::new(2));
    let l0 = {
        let (word, done, go) = (Arc::clone(&word), Arc::clone(&done), Arc::clone(&go));
        std::thread::spawn(move || {
            go.wait();
            let mut sets = 0u64;
            for _ in 0..rounds {
                // Set C (big-endian in memory) when it is clear, as a store would.
                let before = word.fetch_or(C_BIT.to_be(), Ordering::AcqRel);
                if before & C_BIT.to_be() == 0 {
                    sets += 1;
                }
            }
            done.store(true, Ordering::Release);
            sets
        })
    };
    let a = L1RealAddr(base);
    let mut seen = 0u64;
    let mut flips = 0u64;
    go.wait();
    loop {
        let finished = done.load(Ordering::Acquire);
        let mut cur = m.read_u64(a).unwrap();
        loop {
            // The L1 clears C and toggles a software bit, so that every exchange writes.
            let new = (cur & !C_BIT) ^ 1;
            match m.compare_exchange_u64(a, cur, new).unwrap() {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        if cur & C_BIT != 0 {
            seen += 1;
        }
        flips += 1;
        if finished {
            break;
        }
    }
    let sets = l0.join().unwrap();
    assert!(flips > 0);
    assert_eq!(seen, sets, "every C bit the L0 set was seen exactly once");
}

/// The radix table lives in `IdentityMemory` through `TableMemory`: entries are big-endian
/// in memory, and a table page outside the window is refused with its address.
#[test]
fn identity_memory_holds_a_radix_table() {
    use papr_mmu_radix::{GuestRealAddr, Perms, PoolAlloc, RadixError, RadixTable, TableMemory};
    const POOL: u64 = 0x1_0000 + 4 * 0x1000;
    let backing: Vec<AtomicU64> = (0..(POOL + 0x1_0000) / 8)
        .map(|_| AtomicU64::new(0))
        .collect();
    let start = backing.as_ptr() as u64;
    let base = (start + 0xFFFF) & !0xFFFF;
    // SAFETY: the window lies inside `backing`, which outlives `mem` and the table and is accessed only atomically (through `mem`) while they live.
    let mem = unsafe { IdentityMemory::new(base, base + POOL) };
    let alloc = PoolAlloc::<1>::new(L1RealAddr(base), POOL).unwrap();
    let mut t = RadixTable::new(&mem, alloc).unwrap();
    t.map(
        GuestRealAddr(0),
        L1RealAddr(0x4000_0000),
        0x1000,
        Perms::RWX,
    )
    .unwrap();
    let tr = t.translate(GuestRealAddr(0x10)).unwrap().unwrap();
    assert_eq!(tr.l1_ra, L1RealAddr(0x4000_0010));
    let mut b = [0u8; 8];
    RealMemory::read(&mem, tr.entry_addr, &mut b).unwrap();
    assert_eq!(u64::from_be_bytes(b), tr.pte.raw());
    // Errors keep the address, whichever trait reports them.
    let mut m = mem;
    assert_eq!(
        TableMemory::zero(&mut m, L1RealAddr(base + 4), 8),
        Err(MemoryError::Misaligned {
            addr: base + 4,
            align: 8
        })
    );
    assert_eq!(
        TableMemory::zero(&mut m, L1RealAddr(base + POOL - 8), 16),
        Err(MemoryError::OutOfRange {
            addr: base + POOL - 8,
            len: 16
        })
    );
    // A pool outside the window: the root cannot be zeroed.
    let far = PoolAlloc::<1>::new(L1RealAddr(base + 0x2_0000), 0x1_0000).unwrap();
    assert!(matches!(
        RadixTable::new(&mem, far),
        Err(RadixError::Memory(MemoryError::OutOfRange { .. }))
    ));
}

/// The same through vm-memory (not under Miri: `GuestMemoryMmap` maps memory).
#[cfg(all(feature = "vm-memory", not(miri)))]
#[test]
fn vm_real_memory_holds_a_radix_table() {
    use papr_mmu_radix::{GuestRealAddr, Perms, PoolAlloc, RadixError, RadixTable, TableMemory};
    use vm_memory::{GuestAddress, GuestMemoryMmap};
    let gm = GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0x200_0000), 0x4_0000)]).unwrap();
    let mem = VmRealMemory(gm);
    let pool = PoolAlloc::<1>::new(L1RealAddr(0x200_0000), 0x4_0000).unwrap();
    let mut t = RadixTable::new(mem.clone(), pool).unwrap();
    t.map(
        GuestRealAddr(0x20_0000),
        L1RealAddr(0x4000_0000),
        0x20_0000,
        Perms::RW,
    )
    .unwrap();
    let tr = t.translate(GuestRealAddr(0x20_0008)).unwrap().unwrap();
    assert_eq!(RealMemory::read_u64(&mem, tr.entry_addr), Ok(tr.pte.raw()));
    let mut m = mem.clone();
    assert_eq!(
        TableMemory::compare_exchange_u64(&mut m, tr.entry_addr, 1, 2),
        Ok(Err(tr.pte.raw()))
    );
    // Table pages outside the guest memory: refused, with the address.
    let far = PoolAlloc::<1>::new(L1RealAddr(0x300_0000), 0x2_0000).unwrap();
    assert!(matches!(
        RadixTable::new(&mem, far),
        Err(RadixError::Memory(MemoryError::OutOfRange {
            addr: 0x300_0000,
            ..
        }))
    ));
}

/// R/C updates are atomic through the table: an "L0" thread sets C in live leaves (one
/// atomic OR, as PowerVM's hardware walk does) while the L1 protects pages and harvests
/// the dirty log through `IdentityMemory`. Every C the L0 sets must be harvested exactly
/// once (moved from papr-mmu-radix's `tests/rc_race.rs` with the backend; runs under Miri).
#[test]
fn harvest_and_protect_never_lose_a_c_bit_set_concurrently() {
    use papr_mmu_radix::{GuestRealAddr, NoInvalidate, Perms, PoolAlloc, RadixTable};
    const PAGE: u64 = 0x1000;
    const PAGES: u64 = 4;
    const POOL: u64 = 0x1_0000 + 4 * PAGE;
    let rounds: u64 = if cfg!(miri) { 6 } else { 50_000 };
    let words = usize::try_from((POOL + 0x1_0000) / 8).unwrap();
    let backing: Arc<Vec<AtomicU64>> = Arc::new((0..words).map(|_| AtomicU64::new(0)).collect());
    let start = backing.as_ptr() as u64;
    let base = (start + 0xFFFF) & !0xFFFF;
    // SAFETY: the window lies inside `backing`, which lives (in the Arc) until both threads are joined; every access to it while the L0 thread runs, by the table here and by that thread, is atomic.
    let mem = unsafe { IdentityMemory::new(base, base + POOL) };
    let alloc = PoolAlloc::<1>::new(L1RealAddr(base), POOL).unwrap();
    let mut t = RadixTable::new(mem, alloc).unwrap();
    t.map(
        GuestRealAddr(0),
        L1RealAddr(0x4000_0000),
        PAGES * PAGE,
        Perms::R,
    )
    .unwrap();
    let entries: Vec<u64> = (0..PAGES)
        .map(|p| {
            t.translate(GuestRealAddr(p * PAGE))
                .unwrap()
                .unwrap()
                .entry_addr
                .0
        })
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let go = Arc::new(Barrier::new(2));
    let l0 = {
        let (backing, done, go) = (Arc::clone(&backing), Arc::clone(&done), Arc::clone(&go));
        let entries = entries.clone();
        std::thread::spawn(move || {
            go.wait();
            let mut sets = std::vec![0u64; entries.len()];
            for _ in 0..rounds {
                for (i, &e) in entries.iter().enumerate() {
                    let index = usize::try_from((e - backing.as_ptr() as u64) / 8).unwrap();
                    let before = backing[index].fetch_or(C_BIT.to_be(), Ordering::AcqRel);
                    if before & C_BIT.to_be() == 0 {
                        sets[i] += 1;
                    }
                }
                std::thread::yield_now();
            }
            done.store(true, Ordering::Release);
            sets
        })
    };
    let mut harvested = std::vec![0u64; entries.len()];
    let mut bitmap = [0u64; 1];
    go.wait();
    loop {
        let finished = done.load(Ordering::Acquire);
        // Rewrites every leaf (R <-> RX): a compare-exchange per entry.
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
    assert!(sets.iter().all(|&n| n > 0));
}
