//! Unit tests of `RadixTable`.

use std::vec;
use std::vec::Vec;

use mockall::predicate::{always, eq};
use mockall::Sequence;

use super::*;
use crate::alloc::{MockTableAlloc, PoolAlloc};
use crate::backends::slice::SliceMemory;
use crate::invalidate::MockInvalidate;

const BASE: u64 = 0x100_0000;
const POOL: u64 = 1 << 20;
const K4: u64 = 1 << 12;
const M2: u64 = 1 << 21;
const G1: u64 = 1 << 30;

type Tree<'a> = RadixTable<SliceMemory<'a>, PoolAlloc<4>>;

fn tree(buf: &mut [u8]) -> Tree<'_> {
    let pool = PoolAlloc::new(L1RealAddr(BASE), POOL).unwrap();
    RadixTable::new(SliceMemory::new(L1RealAddr(BASE), buf), pool).unwrap()
}

fn tr(t: &Tree<'_>, gpa: u64) -> Option<(u64, PageSize)> {
    t.translate(GuestRealAddr(gpa))
        .unwrap()
        .map(|x| (x.l1_ra.0, x.size))
}

fn snap(t: &Tree<'_>) -> (Vec<u8>, usize, usize) {
    (
        t.memory().bytes().to_vec(),
        t.dir_pages(),
        t.allocator().available(TableSize::Dir),
    )
}

#[test]
fn picks_largest_leaves() {
    let mut buf = vec![0; POOL as usize];
    let mut t = tree(&mut buf);
    // gpa 1G - 4K .. 3G + 2M + 4K, ra congruent mod 1G.
    let gpa = G1 - K4;
    let ra = 0x40_0000_0000 - K4;
    let len = K4 + 2 * G1 + M2 + K4;
    t.map(GuestRealAddr(gpa), L1RealAddr(ra), len, Perms::RWX)
        .unwrap();
    assert_eq!(tr(&t, gpa), Some((ra, PageSize::Size4K)));
    assert_eq!(tr(&t, G1), Some((ra + K4, PageSize::Size1G)));
    assert_eq!(
        tr(&t, 2 * G1 + 5),
        Some((ra + K4 + G1 + 5, PageSize::Size1G))
    );
    assert_eq!(tr(&t, 3 * G1), Some((ra + K4 + 2 * G1, PageSize::Size2M)));
    assert_eq!(
        tr(&t, 3 * G1 + M2),
        Some((ra + K4 + 2 * G1 + M2, PageSize::Size4K))
    );
    assert_eq!(tr(&t, 3 * G1 + M2 + K4), None);
    assert_eq!(tr(&t, gpa - 1), None);
    // Tables: PUD, PMD+PTE at 1G-4K; PMD+PTE at 3G (PUD shared).
    assert_eq!(t.dir_pages(), 5);
    let e = t.translate(GuestRealAddr(G1)).unwrap().unwrap();
    assert_eq!(e.pte.raw(), 0xC000_0000_0000_0187 | (ra + K4));
}

#[test]
fn misaligned_ra_forces_small_leaves() {
    let mut buf = vec![0; POOL as usize];
    let mut t = tree(&mut buf);
    t.map(GuestRealAddr(0), L1RealAddr(M2 + K4), 2 * M2, Perms::R)
        .unwrap();
    assert_eq!(tr(&t, 0), Some((M2 + K4, PageSize::Size4K)));
    assert_eq!(tr(&t, 2 * M2 - K4), Some((3 * M2, PageSize::Size4K)));
    assert_eq!(t.dir_pages(), 4, "PUD, PMD and two PTE tables");
    let e = t.translate(GuestRealAddr(0)).unwrap().unwrap();
    assert_eq!(e.pte.raw() & 0xFFF, 0x104, "R set, C clear for read-only");
}

#[test]
fn errors_leave_tree_unchanged() {
    let mut buf = vec![0; POOL as usize];
    let mut t = tree(&mut buf);
    t.map(GuestRealAddr(M2), L1RealAddr(0), M2, Perms::RWX)
        .unwrap();
    t.map(GuestRealAddr(G1 + K4), L1RealAddr(0), K4, Perms::RWX)
        .unwrap();
    let before = snap(&t);
    let cases: [(u64, u64, u64, RadixError); 9] = [
        (
            1,
            0,
            K4,
            RadixError::Misaligned {
                what: "gpa",
                value: 1,
                align: K4,
            },
        ),
        (
            0,
            8,
            K4,
            RadixError::Misaligned {
                what: "l1_ra",
                value: 8,
                align: K4,
            },
        ),
        (
            0,
            0,
            10,
            RadixError::Misaligned {
                what: "len",
                value: 10,
                align: K4,
            },
        ),
        (
            GPA_LIMIT - K4,
            0,
            2 * K4,
            RadixError::GpaOutOfRange {
                gpa: GPA_LIMIT - K4,
                len: 2 * K4,
            },
        ),
        (
            0,
            L1_RA_LIMIT - K4,
            2 * K4,
            RadixError::L1OutOfRange {
                l1_ra: L1_RA_LIMIT - K4,
                len: 2 * K4,
            },
        ),
        // 4K inside the 2M leaf.
        (
            M2 + 3 * K4,
            0,
            K4,
            RadixError::Overlap {
                gpa: M2 + 3 * K4,
                mapped_at: M2,
                size: M2,
            },
        ),
        // A range that only reaches the leaf at its end.
        (
            0,
            0,
            M2 + K4,
            RadixError::Overlap {
                gpa: M2,
                mapped_at: M2,
                size: M2,
            },
        ),
        // A 1G leaf where a table already exists.
        (
            G1,
            0,
            G1,
            RadixError::Overlap {
                gpa: G1,
                mapped_at: G1,
                size: G1,
            },
        ),
        // The 4K leaf itself.
        (
            G1,
            0,
            2 * K4,
            RadixError::Overlap {
                gpa: G1 + K4,
                mapped_at: G1 + K4,
                size: K4,
            },
        ),
    ];
    for (gpa, ra, len, want) in cases {
        let got = t.map(GuestRealAddr(gpa), L1RealAddr(ra), len, Perms::RWX);
        assert_eq!(got, Err(want), "map({gpa:#x}, {ra:#x}, {len:#x})");
        assert!(snap(&t) == before);
    }
    let mut inv = MockInvalidate::new();
    let cut = RadixError::SplitsLeaf {
        gpa: M2 + K4,
        leaf: M2,
        size: M2,
    };
    assert_eq!(t.unmap(GuestRealAddr(M2 + K4), K4, &mut inv), Err(cut));
    assert_eq!(
        t.protect(GuestRealAddr(0), M2 + K4, Perms::R, &mut inv),
        Err(RadixError::SplitsLeaf {
            gpa: M2 + K4,
            leaf: M2,
            size: M2
        })
    );
    assert_eq!(
        t.unmap(GuestRealAddr(GPA_LIMIT), K4, &mut inv),
        Err(RadixError::GpaOutOfRange {
            gpa: GPA_LIMIT,
            len: K4
        })
    );
    let mut small = [0u64; 1];
    assert_eq!(
        t.harvest_dirty(GuestRealAddr(0), 65 * K4, &mut small, false, &mut inv),
        Err(RadixError::BitmapTooSmall { needed: 2, got: 1 })
    );
    assert_eq!(
        t.harvest_dirty(GuestRealAddr(M2 + K4), K4, &mut small, true, &mut inv),
        Err(RadixError::SplitsLeaf {
            gpa: M2 + K4,
            leaf: M2,
            size: M2
        })
    );
    assert!(snap(&t) == before);
    assert_eq!(
        t.translate(GuestRealAddr(GPA_LIMIT)),
        Err(RadixError::GpaOutOfRange {
            gpa: GPA_LIMIT,
            len: 1
        })
    );
}

#[test]
fn exhaustion_is_checked_before_writing() {
    let mut buf = vec![0; 0x1_3000];
    let pool = PoolAlloc::<1>::new(L1RealAddr(BASE), 0x1_3000).unwrap();
    let mut t = RadixTable::new(SliceMemory::new(L1RealAddr(BASE), &mut buf), pool).unwrap();
    // Three directory pages left: a 4K map needs three, a second one far away three more.
    t.map(GuestRealAddr(0), L1RealAddr(0), K4, Perms::RWX)
        .unwrap();
    let before = t.memory().bytes().to_vec();
    let err = t.map(GuestRealAddr(G1 * 600), L1RealAddr(0), K4, Perms::RWX);
    assert_eq!(
        err,
        Err(RadixError::OutOfTableMemory {
            needed: 3,
            available: 0
        })
    );
    assert!(t.memory().bytes() == before);
    // A neighbour needs nothing new.
    t.map(GuestRealAddr(K4), L1RealAddr(K4), K4, Perms::RWX)
        .unwrap();
    t.unmap(GuestRealAddr(0), 2 * K4, &mut NoInvalidate)
        .unwrap();
    assert_eq!(t.allocator().available(TableSize::Dir), 3);
}

#[test]
fn allocator_failure_rolls_back() {
    let mut buf = vec![0; POOL as usize];
    let mut alloc = MockTableAlloc::new();
    let mut seq = Sequence::new();
    alloc
        .expect_alloc()
        .with(eq(TableSize::Root))
        .times(1)
        .in_sequence(&mut seq)
        .return_const(Some(L1RealAddr(BASE)));
    alloc.expect_available().return_const(100usize);
    for page in [0x10_000, 0x11_000] {
        alloc
            .expect_alloc()
            .with(eq(TableSize::Dir))
            .times(1)
            .in_sequence(&mut seq)
            .return_const(Some(L1RealAddr(BASE + page)));
    }
    alloc
        .expect_alloc()
        .with(eq(TableSize::Dir))
        .times(1)
        .in_sequence(&mut seq)
        .return_const(None);
    alloc
        .expect_free()
        .with(eq(L1RealAddr(BASE + 0x11_000)), eq(TableSize::Dir))
        .times(1)
        .return_const(());
    alloc
        .expect_free()
        .with(eq(L1RealAddr(BASE + 0x10_000)), eq(TableSize::Dir))
        .times(1)
        .return_const(());
    let mut t = RadixTable::new(SliceMemory::new(L1RealAddr(BASE), &mut buf), alloc).unwrap();
    let before = t.memory().bytes().to_vec();
    let err = t.map(GuestRealAddr(0), L1RealAddr(0), K4, Perms::RWX);
    assert_eq!(err, Err(RadixError::AllocFailed { size: K4 }));
    assert!(t.memory().bytes() == before);
    assert_eq!(t.dir_pages(), 0);
}

#[test]
fn misaligned_root_or_table_page_is_refused() {
    let mut buf = vec![0; POOL as usize];
    let mut alloc = MockTableAlloc::new();
    alloc
        .expect_alloc()
        .return_const(Some(L1RealAddr(BASE + K4)));
    alloc.expect_free().times(1).return_const(());
    let r = RadixTable::new(SliceMemory::new(L1RealAddr(BASE), &mut buf), alloc);
    assert_eq!(
        r.err(),
        Some(RadixError::Misaligned {
            what: "root table",
            value: BASE + K4,
            align: 0x1_0000
        })
    );

    let mut alloc = MockTableAlloc::new();
    alloc
        .expect_alloc()
        .with(eq(TableSize::Root))
        .return_const(Some(L1RealAddr(BASE)));
    alloc
        .expect_alloc()
        .with(eq(TableSize::Dir))
        .return_const(Some(L1RealAddr(BASE + 0x10_800)));
    alloc.expect_available().return_const(usize::MAX);
    alloc.expect_free().times(1).return_const(());
    let mut t = RadixTable::new(SliceMemory::new(L1RealAddr(BASE), &mut buf), alloc).unwrap();
    let before = t.memory().bytes().to_vec();
    assert!(matches!(
        t.map(GuestRealAddr(0), L1RealAddr(0), K4, Perms::R),
        Err(RadixError::Misaligned {
            what: "table page",
            ..
        })
    ));
    assert!(t.memory().bytes() == before);

    let mut alloc = MockTableAlloc::new();
    alloc.expect_alloc().return_const(None);
    alloc.expect_available().return_const(0usize);
    let r = RadixTable::new(SliceMemory::new(L1RealAddr(BASE), &mut buf), alloc);
    assert_eq!(
        r.err(),
        Some(RadixError::OutOfTableMemory {
            needed: 1,
            available: 0
        })
    );
}

/// Table memory where one write fails (a transient fault).
struct Flaky<'a> {
    inner: SliceMemory<'a>,
    writes_left: usize,
}

impl TableMemory for Flaky<'_> {
    fn read_u64(&self, addr: L1RealAddr) -> Result<u64, crate::MemoryError> {
        self.inner.read_u64(addr)
    }
    fn write_u64(&mut self, addr: L1RealAddr, value: u64) -> Result<(), crate::MemoryError> {
        self.writes_left = self.writes_left.wrapping_sub(1);
        if self.writes_left == 0 {
            return Err(crate::MemoryError::OutOfRange {
                addr: addr.raw(),
                len: 8,
            });
        }
        self.inner.write_u64(addr, value)
    }
}

#[test]
fn memory_failure_mid_map_rolls_back() {
    let mut buf = vec![0; POOL as usize];
    let pool = PoolAlloc::<4>::new(L1RealAddr(BASE), POOL).unwrap();
    let mem = Flaky {
        inner: SliceMemory::new(L1RealAddr(BASE), &mut buf),
        writes_left: usize::MAX,
    };
    let mut t = RadixTable::new(mem, pool).unwrap();
    let before = t.memory().inner.bytes().to_vec();
    // zero() of the 3 tables = 3 * 512 writes, 3 PDEs, then 10 leaves; fail on leaf 6.
    t.mem.writes_left = 3 * 513 + 6;
    let err = t.map(GuestRealAddr(0), L1RealAddr(0), 10 * K4, Perms::RWX);
    assert!(matches!(err, Err(RadixError::Memory(_))));
    assert!(t.memory().inner.bytes() == before);
    assert_eq!(t.dir_pages(), 0);
    assert_eq!(t.allocator().available(TableSize::Dir), 256 - 16);
}

#[test]
fn unmap_frees_emptied_tables_and_invalidates_exact_ranges() {
    let mut buf = vec![0; POOL as usize];
    let mut t = tree(&mut buf);
    let free_before = t.allocator().available(TableSize::Dir);
    t.map(GuestRealAddr(0), L1RealAddr(0), 3 * K4, Perms::RWX)
        .unwrap();
    t.map(GuestRealAddr(M2), L1RealAddr(M2), M2, Perms::RWX)
        .unwrap();
    t.map(GuestRealAddr(G1), L1RealAddr(G1), G1, Perms::RWX)
        .unwrap();
    t.map(GuestRealAddr(5 * K4), L1RealAddr(0x9000), K4, Perms::RWX)
        .unwrap();
    assert_eq!(t.dir_pages(), 3);

    let mut inv = MockInvalidate::new();
    let mut seq = Sequence::new();
    // 0..0x3000 coalesced; 0x5000 is not contiguous; then the 2M leaf; then the 1G leaf.
    for (start, len, size) in [
        (0, 3 * K4, PageSize::Size4K),
        (5 * K4, K4, PageSize::Size4K),
        (M2, M2, PageSize::Size2M),
        (G1, G1, PageSize::Size1G),
    ] {
        inv.expect_invalidate_range()
            .with(eq(GuestRealAddr(start)), eq(len), eq(size))
            .times(1)
            .in_sequence(&mut seq)
            .return_const(());
    }
    inv.expect_invalidate_page_walk_cache()
        .times(1)
        .in_sequence(&mut seq)
        .return_const(());
    let n = t.unmap(GuestRealAddr(0), 2 * G1, &mut inv).unwrap();
    assert_eq!(n, 4 * K4 + M2 + G1);
    assert_eq!(t.dir_pages(), 0);
    assert_eq!(t.allocator().available(TableSize::Dir), free_before);
    assert!(
        t.memory().bytes().iter().take(0x1_0000).all(|&b| b == 0),
        "root is empty again"
    );
}

#[test]
fn unmap_keeps_tables_still_in_use() {
    let mut buf = vec![0; POOL as usize];
    let mut t = tree(&mut buf);
    t.map(GuestRealAddr(0), L1RealAddr(0), 4 * K4, Perms::RWX)
        .unwrap();
    let mut inv = MockInvalidate::new();
    inv.expect_invalidate_range()
        .with(eq(GuestRealAddr(K4)), eq(2 * K4), eq(PageSize::Size4K))
        .times(1)
        .return_const(());
    inv.expect_invalidate_page_walk_cache().never();
    // Unmapping a hole too is fine.
    assert_eq!(
        t.unmap(GuestRealAddr(K4), 2 * K4, &mut inv).unwrap(),
        2 * K4
    );
    assert_eq!(
        t.unmap(GuestRealAddr(K4), 2 * K4, &mut NoInvalidate)
            .unwrap(),
        0
    );
    assert_eq!(t.dir_pages(), 3);
    assert!(tr(&t, 0).is_some() && tr(&t, 3 * K4).is_some());
    // Descending order frees at the last one.
    t.unmap(GuestRealAddr(3 * K4), K4, &mut NoInvalidate)
        .unwrap();
    assert_eq!(t.dir_pages(), 3);
    t.unmap(GuestRealAddr(0), K4, &mut NoInvalidate).unwrap();
    assert_eq!(t.dir_pages(), 0);
}

#[test]
fn many_freed_tables_are_batched_behind_pwc_flushes() {
    let mut buf = vec![0; POOL as usize];
    let mut t = tree(&mut buf);
    // 40 PTE tables (one page per 2M region) + 1 PMD + 1 PUD.
    for i in 0..40 {
        t.map(GuestRealAddr(i * M2), L1RealAddr(0), K4, Perms::R)
            .unwrap();
    }
    assert_eq!(t.dir_pages(), 42);
    let mut inv = MockInvalidate::new();
    inv.expect_invalidate_range().times(40).return_const(());
    // 42 frees in batches of 16: 3 flushes.
    inv.expect_invalidate_page_walk_cache()
        .times(3)
        .return_const(());
    t.unmap(GuestRealAddr(0), G1, &mut inv).unwrap();
    assert_eq!(t.dir_pages(), 0);
}

#[test]
fn protect_changes_rights_and_reports_changes() {
    let mut buf = vec![0; POOL as usize];
    let mut t = tree(&mut buf);
    t.map(GuestRealAddr(0), L1RealAddr(0), M2 + 2 * K4, Perms::RWX)
        .unwrap();
    let mut inv = MockInvalidate::new();
    let mut seq = Sequence::new();
    inv.expect_invalidate_range()
        .with(eq(GuestRealAddr(0)), eq(M2), eq(PageSize::Size2M))
        .times(1)
        .in_sequence(&mut seq)
        .return_const(());
    inv.expect_invalidate_range()
        .with(eq(GuestRealAddr(M2)), eq(2 * K4), eq(PageSize::Size4K))
        .times(1)
        .in_sequence(&mut seq)
        .return_const(());
    assert_eq!(
        t.protect(GuestRealAddr(0), M2 + 2 * K4, Perms::RX, &mut inv)
            .unwrap(),
        M2 + 2 * K4
    );
    let e = t.translate(GuestRealAddr(M2)).unwrap().unwrap();
    assert_eq!(e.pte.perms(), Perms::RX);
    assert!(e.pte.changed(), "C is kept when write is removed");
    // Same rights again: nothing changes, nothing is invalidated.
    let mut quiet = MockInvalidate::new();
    quiet.expect_invalidate_range().never();
    assert_eq!(
        t.protect(GuestRealAddr(0), M2 + 2 * K4, Perms::RX, &mut quiet)
            .unwrap(),
        0
    );
    // Holes are skipped.
    assert_eq!(
        t.protect(GuestRealAddr(G1), M2, Perms::R, &mut quiet)
            .unwrap(),
        0
    );
}

#[test]
fn protect_grants_write_with_c() {
    let mut buf = vec![0; POOL as usize];
    let mut t = tree(&mut buf);
    t.map(GuestRealAddr(0), L1RealAddr(0x5000), K4, Perms::R)
        .unwrap();
    let mut inv = MockInvalidate::new();
    inv.expect_invalidate_range()
        .with(eq(GuestRealAddr(0)), eq(K4), always())
        .times(1)
        .return_const(());
    t.protect(GuestRealAddr(0), K4, Perms::RWX, &mut inv)
        .unwrap();
    let e = t.translate(GuestRealAddr(0)).unwrap().unwrap();
    assert_eq!(e.pte.raw(), 0xC000_0000_0000_5187);
}

#[test]
fn harvest_reports_and_clears_c() {
    let mut buf = vec![0; POOL as usize];
    let mut t = tree(&mut buf);
    t.map(GuestRealAddr(0), L1RealAddr(0), 4 * K4, Perms::RW)
        .unwrap();
    t.map(GuestRealAddr(4 * K4), L1RealAddr(0), 4 * K4, Perms::R)
        .unwrap();
    t.map(GuestRealAddr(M2), L1RealAddr(0), M2, Perms::RW)
        .unwrap();
    let mut bm = [u64::MAX; 17];
    let n = t
        .harvest_dirty(GuestRealAddr(0), 8 * K4, &mut bm, false, &mut NoInvalidate)
        .unwrap();
    assert_eq!((n, bm[0]), (4, 0b1111));
    assert_eq!(bm[1], u64::MAX, "words past the range are untouched");
    // A range ending inside the 2M leaf reports the covered part.
    let n = t
        .harvest_dirty(
            GuestRealAddr(M2 - 64 * K4),
            128 * K4,
            &mut bm,
            false,
            &mut NoInvalidate,
        )
        .unwrap();
    assert_eq!((n, bm[0], bm[1]), (64, 0, u64::MAX));

    let mut inv = MockInvalidate::new();
    let mut seq = Sequence::new();
    inv.expect_invalidate_range()
        .with(eq(GuestRealAddr(0)), eq(4 * K4), eq(PageSize::Size4K))
        .times(1)
        .in_sequence(&mut seq)
        .return_const(());
    inv.expect_invalidate_range()
        .with(eq(GuestRealAddr(M2)), eq(M2), eq(PageSize::Size2M))
        .times(1)
        .in_sequence(&mut seq)
        .return_const(());
    let n = t
        .harvest_dirty(GuestRealAddr(0), 2 * M2, &mut bm, true, &mut inv)
        .unwrap();
    assert_eq!(n, 4 + 512);
    assert_eq!(bm[0], 0b1111);
    assert!(bm[1..8].iter().all(|&w| w == 0) && bm[8..16].iter().all(|&w| w == u64::MAX));
    assert_eq!(bm[16], u64::MAX, "untouched");
    let n = t
        .harvest_dirty(GuestRealAddr(0), 2 * M2, &mut bm, true, &mut NoInvalidate)
        .unwrap();
    assert_eq!((n, bm[0], bm[8], bm[16]), (0, 0, 0, u64::MAX));
    // A store fault sets C again.
    assert!(t.set_rc(GuestRealAddr(M2 + 8), true).unwrap());
    let n = t
        .harvest_dirty(GuestRealAddr(0), 2 * M2, &mut bm, false, &mut NoInvalidate)
        .unwrap();
    assert_eq!(n, 512);
    assert_eq!(
        t.harvest_dirty(GuestRealAddr(0), 0, &mut [], true, &mut NoInvalidate),
        Ok(0)
    );
}

#[test]
fn set_rc_follows_linux_rules() {
    let mut buf = vec![0; POOL as usize];
    let mut t = tree(&mut buf);
    t.map(GuestRealAddr(0), L1RealAddr(0x7000), K4, Perms::RW)
        .unwrap();
    let slot = t.translate(GuestRealAddr(0)).unwrap().unwrap().entry_addr;
    // Clear R and C behind the tree's back, as an aging pass would.
    t.mem.write_u64(slot, 0xC000_0000_0000_7006).unwrap();
    assert!(t.set_rc(GuestRealAddr(0x10), false).unwrap());
    assert_eq!(t.mem.read_u64(slot).unwrap(), 0xC000_0000_0000_7106);
    assert!(t.set_rc(GuestRealAddr(0x10), true).unwrap());
    assert_eq!(t.mem.read_u64(slot).unwrap(), 0xC000_0000_0000_7186);
    assert_eq!(
        t.set_rc(GuestRealAddr(GPA_LIMIT), true),
        Err(RadixError::GpaOutOfRange {
            gpa: GPA_LIMIT,
            len: 1
        })
    );
}

#[test]
fn corrupt_entries_are_reported() {
    let mut buf = vec![0; POOL as usize];
    let mut t = tree(&mut buf);
    let root = t.root();
    // A leaf in the root.
    t.mem.write_u64(root, 0xC000_0000_0000_0007).unwrap();
    assert_eq!(
        t.translate(GuestRealAddr(0)),
        Err(RadixError::CorruptEntry {
            level: 0,
            addr: root.0,
            entry: 0xC000_0000_0000_0007
        })
    );
    // A PDE with NLS 5 (a 64K last level this crate never writes).
    t.mem
        .write_u64(root, Pde::new(L1RealAddr(BASE + 0x1_0000), 5).raw())
        .unwrap();
    assert!(matches!(
        t.translate(GuestRealAddr(0)),
        Err(RadixError::CorruptEntry { level: 0, .. })
    ));
    assert!(matches!(
        t.map(GuestRealAddr(0), L1RealAddr(0), K4, Perms::R),
        Err(RadixError::CorruptEntry { .. })
    ));
    // V = 0 entries with junk are empty to the L0 and to us.
    t.mem.write_u64(root, 0x0000_0000_0000_0187).unwrap();
    assert_eq!(t.translate(GuestRealAddr(0)).unwrap(), None);
}

#[test]
fn into_parts_returns_every_page() {
    let mut buf = vec![0; POOL as usize];
    let mut t = tree(&mut buf);
    let all = t.allocator().available(TableSize::Dir) + 16;
    t.map(
        GuestRealAddr(0x1234_5000),
        L1RealAddr(0),
        5 * M2,
        Perms::RWX,
    )
    .unwrap();
    assert_eq!(t.table_bytes(), 0x1_0000 + t.dir_pages() as u64 * K4);
    let (_mem, pool) = t.into_parts(&mut NoInvalidate).unwrap();
    assert_eq!(pool.available(TableSize::Dir), all);
}

#[test]
fn gsid_value_and_pate() {
    let mut buf = vec![0; POOL as usize];
    let t = tree(&mut buf);
    assert_eq!(t.pagetable_value().to_u64s(), [BASE, 52, 65536]);
    assert_eq!(t.pate().dw0, 0xC000_0000_0000_00AD | BASE);
}

#[test]
fn zero_length_is_a_no_op() {
    let mut buf = vec![0; POOL as usize];
    let mut t = tree(&mut buf);
    let before = snap(&t);
    assert_eq!(t.map(GuestRealAddr(1), L1RealAddr(3), 0, Perms::R), Ok(()));
    assert_eq!(t.unmap(GuestRealAddr(1), 0, &mut NoInvalidate), Ok(0));
    assert_eq!(
        t.protect(GuestRealAddr(1), 0, Perms::R, &mut NoInvalidate),
        Ok(0)
    );
    assert!(snap(&t) == before);
}
