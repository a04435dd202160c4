//! The tree through this crate's `TableMemory` backend, checked by the independent walker,
//! and invalidation as a VMM's H_RPT_INVALIDATE wrapper would see it. (The L1 memories,
//! `IdentityMemory` and `VmRealMemory`, live in papr-hcall and are tested there, including
//! the R/C race against `harvest_dirty`.)

// Test code: helpers outside #[test] fns may unwrap, index and panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{enumerate, pate_from_gsid, walk, Image};
use papr_mmu_radix::*;

const K4: u64 = 1 << 12;
const M2: u64 = 1 << 21;

/// What an H_RPT_INVALIDATE-backed `Invalidate` would send: (type, page-size mask, start, end).
#[derive(Default)]
struct Rpt(Vec<(u64, u64, u64, u64)>);

impl Invalidate for Rpt {
    fn invalidate_range(&mut self, start: GuestRealAddr, len: u64, size: PageSize) {
        let psize = match size {
            PageSize::Size4K => 0x1,
            PageSize::Size2M => 0x4,
            PageSize::Size1G => 0x8,
        };
        self.0.push((0x3, psize, start.raw(), start.raw() + len));
    }
    fn invalidate_page_walk_cache(&mut self) {
        self.0.push((0x5, u64::MAX, 0, u64::MAX));
    }
}

fn exercise<M: TableMemory, A: TableAlloc>(t: &mut RadixTable<M, A>) -> Rpt {
    t.map(GuestRealAddr(0), L1RealAddr(0x10_0000), 8 * K4, Perms::RWX)
        .unwrap();
    t.map(GuestRealAddr(M2), L1RealAddr(0x20_0000), M2, Perms::RW)
        .unwrap();
    let mut rpt = Rpt::default();
    t.protect(GuestRealAddr(0), 2 * K4, Perms::RX, &mut rpt)
        .unwrap();
    t.unmap(GuestRealAddr(4 * K4), 4 * K4, &mut rpt).unwrap();
    t.unmap(GuestRealAddr(M2), M2, &mut rpt).unwrap();
    rpt
}

const EXPECTED: [(u64, u64, u64, u64); 4] = [
    (0x3, 0x1, 0, 2 * K4),
    (0x3, 0x1, 4 * K4, 8 * K4),
    (0x3, 0x4, M2, 2 * M2),
    // The 2M leaf left its PMD holding only the PTE table: nothing freed yet.
    (0, 0, 0, 0),
];

fn check_image(bytes: &[u8], base: u64, root: u64) {
    let img = Image { base, bytes };
    let dw0 = pate_from_gsid(PagetableValue::for_root(L1RealAddr(root)).to_u64s());
    let h = walk(&img, dw0, 0x1008).unwrap();
    assert_eq!((h.raddr, h.pte), (0x10_1008, 0xC000_0000_0010_1185));
    assert!(walk(&img, dw0, 4 * K4).is_err());
    assert!(walk(&img, dw0, M2).is_err());
    let (leaves, tables) = enumerate(&img, root);
    assert_eq!((leaves.len(), tables.len()), (4, 3));
}

#[test]
fn slice_backend() {
    let mut buf = vec![0u8; 0x4_0000];
    let pool = PoolAlloc::<1>::new(L1RealAddr(0x100_0000), 0x4_0000).unwrap();
    let mut t = RadixTable::new(SliceMemory::new(L1RealAddr(0x100_0000), &mut buf), pool).unwrap();
    let rpt = exercise(&mut t);
    assert_eq!(rpt.0[..], EXPECTED[..3]);
    check_image(t.memory().bytes(), 0x100_0000, t.root().raw());
    // Unmapping the rest frees PTE, PMD and PUD tables behind one page-walk-cache flush.
    let mut rpt = Rpt::default();
    t.unmap(GuestRealAddr(0), 1 << 30, &mut rpt).unwrap();
    assert_eq!(rpt.0, [(0x3, 0x1, 0, 4 * K4), (0x5, u64::MAX, 0, u64::MAX)]);
}
