//! The instruction-fetch cache (`FetchCache`) against the uncached `fetch`: the same
//! instruction, addresses and errors after arbitrary changes of the L1's partition-scoped
//! tree (map, unmap, protect, R/C), of L2 memory (instructions, the L2's own tables) and of
//! MSR, in real mode and through the L2's process-scoped tables; and a hit really skips the
//! partition-scoped walk.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod mmio_common;

use mmio_common::Mem;
use papr_mmu_radix::{
    GuestRealAddr, L1RealAddr, NoInvalidate, Perms, PoolAlloc, ProcessTableValue, RadixTable,
};
use papr_nestedv2::mmio::{fetch, FetchCache, FetchError, GuestMmu, MSR_IR, MSR_LE, MSR_SF};
use proptest::prelude::*;

/// L1 memory: partition-scoped tables in [0, 1 MiB), L2 RAM gpa [0, 2 MiB) at [2, 4 MiB).
const L1_SIZE: usize = 0x40_0000;
const RAM_L1: u64 = 0x20_0000;
const RAM_LEN: u64 = 0x20_0000;
/// L2 layout: process table, the root of PID 0's tree (64 KiB), three lower tables.
const PRTB: u64 = 0x1_0000;
const ROOT_PID0: u64 = 0x2_0000;
const L2_TABLES: u64 = 0x4_0000;
/// Kernel EA (quadrant 3) mapped by a 4 KiB leaf to `KERNEL_GPA`.
const KERNEL_EA: u64 = 0xC000_0000_0000_4000;
const KERNEL_GPA: u64 = 0x10_0000;

const LWZ: u32 = 0x8064_0000; // lwz r3,0(r4)
const PREFIX: u32 = 0x0400_0000; // pld/pstd-style 8LS prefix
const PLD_SUFFIX: u32 = 0xE460_0000;

/// Pages the tree operations and instruction writes pick from: the code pages, the pages
/// of the L2's own tables, and one spare.
const PAGES: [u64; 8] = [
    0x7000,
    0x8000,
    KERNEL_GPA,
    PRTB,
    ROOT_PID0 + 0xC000, // where the quadrant-3 root index lands
    L2_TABLES,
    L2_TABLES + 0x1000,
    0x9000,
];

struct Rig {
    mem: Box<Mem>,
}

type Tree<'m> = RadixTable<&'m Mem, PoolAlloc<4>>;

impl Rig {
    fn new() -> Self {
        Self {
            mem: Box::new(Mem::new(L1_SIZE)),
        }
    }

    fn tree(&self) -> Tree<'_> {
        let alloc = PoolAlloc::<4>::new(L1RealAddr(0), 0x10_0000).unwrap();
        let mut t = RadixTable::new(&*self.mem, alloc).unwrap();
        // 4 KiB leaves, so that single pages can be unmapped and protected.
        for off in (0..RAM_LEN).step_by(0x1000) {
            t.map(
                GuestRealAddr(off),
                L1RealAddr(RAM_L1 + off),
                0x1000,
                Perms::RWX,
            )
            .unwrap();
        }
        self.build_l2_tables();
        t
    }

    fn gpa_u64(&self, gpa: u64, v: u64) {
        self.mem.write_bytes(RAM_L1 + gpa, &v.to_be_bytes());
    }

    /// PID 0's 52-bit tree: root (13 bits), then 9, 9, 9; `KERNEL_EA` → `KERNEL_GPA`.
    fn build_l2_tables(&self) {
        const V: u64 = 1 << 63;
        const L: u64 = 1 << 62;
        self.gpa_u64(PRTB, 0x4000_0000_0000_00A0 | ROOT_PID0 | 13);
        let nls = [13u32, 9, 9, 9];
        let mut shift = 52u32;
        let mut table = ROOT_PID0;
        for (level, n) in nls.iter().enumerate() {
            shift -= n;
            let entry = table + 8 * ((KERNEL_EA >> shift) & ((1 << n) - 1));
            if level == 3 {
                // R, privileged, read, execute.
                self.gpa_u64(entry, V | L | 0x100 | KERNEL_GPA | 0x8 | 0x4 | 0x1);
            } else {
                let next = L2_TABLES + 0x1000 * level as u64;
                self.gpa_u64(entry, V | next | 9);
                table = next;
            }
        }
    }

    fn mmu(&self, tree: &Tree<'_>) -> GuestMmu {
        GuestMmu {
            partition_root: tree.root(),
            process_table: Some(ProcessTableValue {
                base: GuestRealAddr(PRTB),
                size: 4096,
            }),
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    Unmap(usize),
    /// Map page `PAGES[.0]` to the L1 page of `PAGES[.1]` (fails when it is mapped).
    Map(usize, usize),
    Protect(usize, u8),
    SetRc(usize, bool),
    /// Write a word at page `PAGES[.0]` + offset through L1 memory (where RAM sits).
    Word(usize, u16, u32),
    /// Fetch at one of the NIAs, with MSR[LE] or not.
    Fetch(usize, u16, bool),
}

fn op() -> impl Strategy<Value = Op> {
    let page = 0..PAGES.len();
    let word = prop_oneof![
        Just(LWZ),
        Just(PREFIX),
        Just(PLD_SUFFIX),
        Just(LWZ.swap_bytes()),
        Just(PREFIX.swap_bytes()),
        any::<u32>(),
    ];
    prop_oneof![
        page.clone().prop_map(Op::Unmap),
        (page.clone(), page.clone()).prop_map(|(a, b)| Op::Map(a, b)),
        (page.clone(), 0u8..8).prop_map(|(a, p)| Op::Protect(a, p)),
        (page.clone(), any::<bool>()).prop_map(|(a, s)| Op::SetRc(a, s)),
        (page.clone(), 0u16..0x400, word).prop_map(|(a, o, w)| Op::Word(a, o * 4, w)),
        (0usize..4, 0u16..0x400, any::<bool>()).prop_map(|(n, o, le)| Op::Fetch(n, o * 4, le)),
        (0usize..4, 0u16..4, any::<bool>()).prop_map(|(n, o, le)| Op::Fetch(n, o * 4, le)),
    ]
}

/// (MSR, NIA) of fetch target `n` at offset `off`: real mode in two pages, the last word of
/// a page (a prefix there has its suffix in the next page), and quadrant 3 with IR.
fn target(n: usize, off: u16, le: bool) -> (u64, u64) {
    let le = if le { MSR_LE } else { 0 };
    match n {
        0 => (MSR_SF | le, 0x7000 + u64::from(off)),
        1 => (MSR_SF | le, 0x8000 + u64::from(off)),
        2 => (MSR_SF | le, 0x7FFC),
        _ => (MSR_SF | MSR_IR | le, KERNEL_EA + u64::from(off)),
    }
}

fn perms(p: u8) -> Perms {
    [
        Perms::NONE,
        Perms::READ,
        Perms::WRITE,
        Perms::EXEC,
        Perms::RX,
        Perms::RWX,
        Perms::READ,
        Perms::RWX,
    ][usize::from(p & 7)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cached_fetch_equals_uncached_fetch(ops in proptest::collection::vec(op(), 1..40)) {
        let rig = Rig::new();
        let mut tree = rig.tree();
        let mmu = rig.mmu(&tree);
        let mut cache = FetchCache::new();
        for op in ops {
            match op {
                Op::Unmap(a) => {
                    let _ = tree.unmap(GuestRealAddr(PAGES[a]), 0x1000, &mut NoInvalidate);
                }
                Op::Map(a, b) => {
                    let l1 = L1RealAddr(RAM_L1 + PAGES[b]);
                    let _ = tree.map(GuestRealAddr(PAGES[a]), l1, 0x1000, Perms::RWX);
                }
                Op::Protect(a, p) => {
                    let _ = tree.protect(GuestRealAddr(PAGES[a]), 0x1000, perms(p), &mut NoInvalidate);
                }
                Op::SetRc(a, store) => {
                    let _ = tree.set_rc(GuestRealAddr(PAGES[a]), store);
                }
                Op::Word(a, off, w) => {
                    rig.mem.write_bytes(RAM_L1 + PAGES[a] + u64::from(off), &w.to_be_bytes());
                }
                Op::Fetch(n, off, le) => {
                    let (msr, nia) = target(n, off, le);
                    let want = fetch(&*rig.mem, &mmu, msr, nia, 0);
                    let got = cache.fetch(&*rig.mem, &mmu, tree.generation(), msr, nia, 0);
                    prop_assert_eq!(got, want, "msr {:#x} nia {:#x}", msr, nia);
                }
            }
        }
    }
}

/// A hit uses the cached translation (the tree is corrupted behind the table's back: the
/// walk fails, the hit does not), and any change made through the table ends it.
#[test]
fn a_hit_skips_the_walk_until_the_generation_changes() {
    let rig = Rig::new();
    let mut tree = rig.tree();
    let mmu = rig.mmu(&tree);
    rig.mem.write_bytes(RAM_L1 + 0x7000, &LWZ.to_be_bytes());
    let mut cache = FetchCache::new();
    let first = cache
        .fetch(&*rig.mem, &mmu, tree.generation(), MSR_SF, 0x7000, 0)
        .unwrap();
    assert!(cache.is_filled());
    assert_eq!(first.l1_ra, L1RealAddr(RAM_L1 + 0x7000));
    // The root entry for gpa 0x7000 (index 0) rewritten without the table knowing.
    rig.mem.write_bytes(tree.root().0, &[0xFF; 8]);
    assert!(matches!(
        fetch(&*rig.mem, &mmu, MSR_SF, 0x7000, 0),
        Err(FetchError::Radix(_))
    ));
    let hit = cache
        .fetch(&*rig.mem, &mmu, tree.generation(), MSR_SF, 0x7004, 0)
        .unwrap();
    assert_eq!(hit.l1_ra, L1RealAddr(RAM_L1 + 0x7004));
    // Any call through the table bumps the generation: the next fetch walks again.
    let _ = tree.set_rc(GuestRealAddr(0x1_0000_0000), false);
    assert!(matches!(
        cache.fetch(&*rig.mem, &mmu, tree.generation(), MSR_SF, 0x7000, 0),
        Err(FetchError::Radix(_))
    ));
    assert!(!cache.is_filled());
}

/// Unmapping the cached page is seen at once: the fetch reports the partition fault.
#[test]
fn an_unmapped_cached_page_faults() {
    let rig = Rig::new();
    let mut tree = rig.tree();
    let mmu = rig.mmu(&tree);
    let mut cache = FetchCache::new();
    cache
        .fetch(&*rig.mem, &mmu, tree.generation(), MSR_SF, 0x8000, 0)
        .unwrap();
    tree.unmap(GuestRealAddr(0x8000), 0x1000, &mut NoInvalidate)
        .unwrap();
    let e = cache
        .fetch(&*rig.mem, &mmu, tree.generation(), MSR_SF, 0x8000, 0)
        .unwrap_err();
    assert_eq!(
        e,
        FetchError::PartitionFault {
            ea: 0x8000,
            gpa: GuestRealAddr(0x8000),
            table: false
        }
    );
}
