//! R/C updates are atomic: an "L0" thread sets C in live leaves (one atomic OR, as
//! PowerVM's hardware walk does) while the L1 protects pages and harvests the dirty log
//! through `IdentityMemory`. Every C the L0 sets must be harvested exactly once; a
//! compare-exchange made of a read and a write would overwrite C sets that land between
//! the two (and Miri reports the mixed accesses as a data race). Runs under Miri.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // test code

use papr_mmu_radix::bits::PTE_C;
use papr_mmu_radix::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};

const PAGE: u64 = 0x1000;
const PAGES: u64 = 4;
/// The root and three directory pages, plus room to align the pool to 64 KiB.
const POOL: u64 = 0x1_0000 + 4 * PAGE;

#[test]
fn harvest_and_protect_never_lose_a_c_bit_set_concurrently() {
    let rounds: u64 = if cfg!(miri) { 6 } else { 50_000 };
    let words = usize::try_from((POOL + 0x1_0000) / 8).unwrap();
    let backing: Arc<Vec<AtomicU64>> = Arc::new((0..words).map(|_| AtomicU64::new(0)).collect());
    let start = backing.as_ptr() as u64;
    let base = L1RealAddr((start + 0xFFFF) & !0xFFFF);
    // SAFETY: the window lies inside `backing`, which lives (in the Arc) until both threads are joined; every access to it, by the table here and the L0 thread, is atomic.
    let mem = unsafe { IdentityMemory::new(base, POOL) };
    let alloc = PoolAlloc::<1>::new(base, POOL).unwrap();
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
            let tr = t.translate(GuestRealAddr(p * PAGE)).unwrap().unwrap();
            tr.entry_addr.0
        })
        .collect();
    for &e in &entries {
        assert!(e >= start && e + 8 <= start + (words as u64) * 8);
    }

    let done = Arc::new(AtomicBool::new(false));
    let go = Arc::new(Barrier::new(2));
    let l0 = {
        let (backing, done, entries) = (Arc::clone(&backing), Arc::clone(&done), entries.clone());
        let go = Arc::clone(&go);
        std::thread::spawn(move || {
            go.wait();
            let mut sets = vec![0u64; entries.len()];
            for _ in 0..rounds {
                for (i, &e) in entries.iter().enumerate() {
                    let index = usize::try_from((e - backing.as_ptr() as u64) / 8).unwrap();
                    let before = backing[index].fetch_or(PTE_C.to_be(), Ordering::AcqRel);
                    if before & PTE_C.to_be() == 0 {
                        sets[i] += 1;
                    }
                }
                std::thread::yield_now();
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
