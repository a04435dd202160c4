//! Hostile trees (what `fuzz/radix_walk` explores, run here as a property test on stable):
//! random mixtures of valid PDEs, leaves and junk, including cycles and pointers outside
//! memory. Every operation returns a value or a typed error; none panics or loops.
// Thousands of table operations per case: far too slow under Miri. The unit tests and
// tests/l0_walk.rs run the same code under Miri.
#![cfg(not(miri))]
// Test code: helpers outside #[test] fns may unwrap, index and panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use papr_mmu_radix::*;
use proptest::prelude::*;

const BASE: u64 = 0x10_0000;
const IMAGE: u64 = 0x8_0000;
const POOL_OFF: u64 = 0x6_0000;

fn entry() -> impl Strategy<Value = u64> {
    let page = (0..IMAGE / 0x1000 + 4).prop_map(|p| BASE + p * 0x1000);
    prop_oneof![
        2 => Just(0u64),
        2 => any::<u64>(),
        4 => (page.clone(), prop_oneof![Just(9u64), Just(5), Just(13), 0..32u64])
            .prop_map(|(p, nls)| 0x8000_0000_0000_0000 | p | nls),
        2 => (page, 0..0x1000u64).prop_map(|(p, low)| 0xC000_0000_0000_0000 | p | low),
    ]
}

fn slot() -> impl Strategy<Value = u64> {
    prop_oneof![0..0x2000u64, (0x2000..IMAGE / 8)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 4 } else { 256 }, ..ProptestConfig::default() })]

    #[test]
    fn hostile_trees_never_panic(
        entries in proptest::collection::vec((slot(), entry()), 1..300),
        gpas in proptest::collection::vec(0..(1u64 << 53), 1..8),
        lens in proptest::collection::vec(1..0x400u64, 8),
    ) {
        let mut image = vec![0u8; IMAGE as usize];
        for (s, e) in entries {
            let off = (s * 8) as usize;
            image[off..off + 8].copy_from_slice(&e.to_be_bytes());
        }
        let root = L1RealAddr(BASE);
        {
            let mem = SliceMemory::new(L1RealAddr(BASE), &mut image);
            for &g in &gpas {
                let _ = translate_at(&mem, root, GuestRealAddr(g));
            }
        }
        let mem = SliceMemory::new(L1RealAddr(BASE), &mut image);
        let pool = PoolAlloc::<1>::new(L1RealAddr(BASE + POOL_OFF), IMAGE - POOL_OFF).unwrap();
        let mut t = RadixTable::adopt(mem, pool, root).unwrap();
        let mut bitmap = [0u64; 8];
        for (i, &g) in gpas.iter().enumerate() {
            let gpa = GuestRealAddr(g & !0xFFF);
            let len = lens[i] * 0x1000;
            let _ = t.translate(GuestRealAddr(g));
            let _ = t.map(gpa, L1RealAddr(g & 0xFFFF_F000), len, Perms::RWX);
            let _ = t.protect(gpa, len, Perms::R, &mut NoInvalidate);
            let _ = t.harvest_dirty(gpa, 512 * 0x1000, &mut bitmap, true, &mut NoInvalidate);
            let _ = t.set_rc(GuestRealAddr(g), true);
            let _ = t.unmap(gpa, len, &mut NoInvalidate);
        }
        let _ = t.unmap(GuestRealAddr(0), GPA_LIMIT, &mut NoInvalidate);
    }
}
