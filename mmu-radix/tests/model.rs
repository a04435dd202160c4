//! Random map/unmap/protect sequences against a `BTreeMap` model of the leaves: the tree the
//! L0 would walk (enumerated by an independent walker) equals the model after every step,
//! `translate` agrees with it, no leaf points outside the L1 range its map was given, no
//! table page leaks, and every refused operation leaves the memory byte-for-byte unchanged.
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

mod common;

use std::collections::BTreeMap;

use common::{enumerate, Image};
use papr_mmu_radix::*;
use proptest::prelude::*;

const K4: u64 = 1 << 12;
const M2: u64 = 1 << 21;
const G1: u64 = 1 << 30;
const BASE: u64 = 0x4000_0000;
const POOL: u64 = 4 << 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Leaf {
    bits: u32,
    ra: u64,
    perms: Perms,
    c: bool,
    /// The map call it came from: (gpa, ra, len).
    origin: (u64, u64, u64),
}

#[derive(Clone, Debug)]
enum Op {
    Map {
        gpa: u64,
        ra: u64,
        len: u64,
        perms: Perms,
    },
    Unmap {
        gpa: u64,
        len: u64,
    },
    Protect {
        gpa: u64,
        len: u64,
        perms: Perms,
    },
}

fn perms() -> impl Strategy<Value = Perms> {
    prop_oneof![
        Just(Perms::R),
        Just(Perms::RW),
        Just(Perms::RX),
        Just(Perms::RWX),
        Just(Perms::NONE)
    ]
}

fn range() -> impl Strategy<Value = (u64, u64)> {
    let align = prop_oneof![5 => Just(K4), 4 => Just(M2), 1 => Just(G1)];
    let unit = prop_oneof![6 => Just(K4), 3 => Just(M2), 1 => Just(G1)];
    let region = prop_oneof![
        4 => Just(0u64),
        3 => Just(G1 - 2 * M2),
        2 => Just(3 * G1),
        1 => Just(GPA_LIMIT - 2 * G1),
    ];
    (region, align, 0..16u64, unit, 1..=3u64).prop_map(|(r, a, i, u, n)| (r + i * a, n * u))
}

fn op() -> impl Strategy<Value = Op> {
    let delta = prop_oneof![Just(0u64), Just(K4), Just(5 * K4), Just(M2), Just(3 * G1)];
    prop_oneof![
        5 => (range(), delta, perms()).prop_map(|((gpa, len), d, perms)| {
            // Keep 1 GiB-sized maps out of 4 KiB leaves (slow in debug builds).
            let d = if len >= G1 && d % M2 != 0 { M2 } else { d };
            Op::Map { gpa, ra: gpa % (1 << 45) + d, len, perms }
        }),
        3 => range().prop_map(|(gpa, len)| Op::Unmap { gpa, len }),
        2 => (range(), perms()).prop_map(|((gpa, len), perms)| Op::Protect { gpa, len, perms }),
    ]
}

/// The model's own leaf decomposition: largest of 1G/2M/4K both addresses allow.
fn decompose(gpa: u64, ra: u64, len: u64) -> Vec<(u64, u64, u32)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < len {
        let bits = [30, 21, 12]
            .into_iter()
            .find(|&b| {
                (gpa + pos).is_multiple_of(1 << b)
                    && (ra + pos).is_multiple_of(1 << b)
                    && len - pos >= 1 << b
            })
            .unwrap();
        out.push((gpa + pos, ra + pos, bits));
        pos += 1 << bits;
    }
    out
}

struct Model {
    leaves: BTreeMap<u64, Leaf>,
}

impl Model {
    fn intersecting(&self, lo: u64, hi: u64) -> Vec<u64> {
        let start = self
            .leaves
            .range(..lo)
            .next_back()
            .filter(|(g, l)| **g + (1 << l.bits) > lo)
            .map(|(g, _)| *g);
        start
            .into_iter()
            .chain(self.leaves.range(lo..hi).map(|(g, _)| *g))
            .collect()
    }

    fn cut(&self, lo: u64, hi: u64) -> bool {
        self.intersecting(lo, hi).iter().any(|g| {
            let l = self.leaves[g];
            *g < lo || *g + (1 << l.bits) > hi
        })
    }

    fn lookup(&self, gpa: u64) -> Option<(u64, Leaf)> {
        self.leaves
            .range(..=gpa)
            .next_back()
            .filter(|(g, l)| gpa < **g + (1 << l.bits))
            .map(|(g, l)| (*g, *l))
    }
}

fn in_range(gpa: u64, len: u64) -> bool {
    gpa.checked_add(len).is_some_and(|e| e <= GPA_LIMIT)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if cfg!(miri) { 2 } else { 48 }, ..ProptestConfig::default() })]

    #[test]
    fn tree_matches_model(ops in proptest::collection::vec(op(), 1..40)) {
        let mut buf = vec![0u8; POOL as usize];
        let pool = PoolAlloc::<16>::new(L1RealAddr(BASE), POOL).unwrap();
        let mut t = RadixTable::new(SliceMemory::new(L1RealAddr(BASE), &mut buf), pool).unwrap();
        let mut m = Model { leaves: BTreeMap::new() };
        for op in ops {
            let before = t.memory().bytes().to_vec();
            let (lo, hi, res): (u64, u64, Result<u64, RadixError>) = match op {
                Op::Map { gpa, ra, len, perms } => {
                    let r = t.map(GuestRealAddr(gpa), L1RealAddr(ra), len, perms);
                    let want_err = !in_range(gpa, len) || !m.intersecting(gpa, gpa + len).is_empty();
                    match &r {
                        Ok(()) => {
                            prop_assert!(!want_err, "map {gpa:#x}+{len:#x} should fail");
                            for (g, a, bits) in decompose(gpa, ra, len) {
                                let leaf = Leaf { bits, ra: a, perms, c: perms.can_write(), origin: (gpa, ra, len) };
                                m.leaves.insert(g, leaf);
                            }
                        }
                        Err(RadixError::OutOfTableMemory { .. }) if !want_err => {}
                        Err(RadixError::GpaOutOfRange { .. }) => prop_assert!(!in_range(gpa, len)),
                        Err(RadixError::Overlap { gpa: at, .. }) => {
                            prop_assert!(in_range(gpa, len));
                            prop_assert!(*at >= gpa && *at < gpa + len);
                            prop_assert!(!m.intersecting(gpa, gpa + len).is_empty());
                        }
                        Err(e) => prop_assert!(false, "unexpected {e}"),
                    }
                    (gpa, gpa.saturating_add(len), r.map(|()| 0))
                }
                Op::Unmap { gpa, len } => {
                    let r = t.unmap(GuestRealAddr(gpa), len, &mut NoInvalidate);
                    (gpa, gpa.saturating_add(len), r)
                }
                Op::Protect { gpa, len, perms } => {
                    let r = t.protect(GuestRealAddr(gpa), len, perms, &mut NoInvalidate);
                    if r.is_ok() {
                        for g in m.intersecting(gpa, gpa + len) {
                            let l = m.leaves.get_mut(&g).unwrap();
                            l.perms = perms;
                            l.c |= perms.can_write();
                        }
                    }
                    (gpa, gpa.saturating_add(len), r)
                }
            };
            if let Op::Unmap { gpa, len } = op {
                match res {
                    Ok(bytes) => {
                        prop_assert!(in_range(gpa, len) && !m.cut(gpa, gpa + len));
                        let gone = m.intersecting(gpa, gpa + len);
                        let want: u64 = gone.iter().map(|g| 1u64 << m.leaves[g].bits).sum();
                        prop_assert_eq!(bytes, want);
                        for g in gone {
                            m.leaves.remove(&g);
                        }
                    }
                    Err(RadixError::GpaOutOfRange { .. }) => prop_assert!(!in_range(gpa, len)),
                    Err(RadixError::SplitsLeaf { .. }) => prop_assert!(m.cut(gpa, gpa + len)),
                    Err(e) => prop_assert!(false, "unexpected {e}"),
                }
            }
            if let (Op::Protect { gpa, len, .. }, Err(e)) = (&op, &res) {
                let ok = match e {
                    RadixError::GpaOutOfRange { .. } => !in_range(*gpa, *len),
                    RadixError::SplitsLeaf { .. } => m.cut(*gpa, gpa + len),
                    _ => false,
                };
                prop_assert!(ok, "unexpected {e}");
            }
            if res.is_err() {
                prop_assert!(t.memory().bytes() == before.as_slice(), "a refused op changed memory");
            }
            check(&t, &m, lo, hi)?;
        }
        // Everything unmapped: every table page is back.
        t.unmap(GuestRealAddr(0), GPA_LIMIT, &mut NoInvalidate).unwrap();
        prop_assert_eq!(t.dir_pages(), 0);
        prop_assert_eq!(t.allocator().available(TableSize::Dir), (POOL / K4 - 16) as usize);
    }
}

fn check(
    t: &RadixTable<SliceMemory<'_>, PoolAlloc<16>>,
    m: &Model,
    lo: u64,
    hi: u64,
) -> Result<(), TestCaseError> {
    let img = Image {
        base: BASE,
        bytes: t.memory().bytes(),
    };
    let (leaves, tables) = enumerate(&img, t.root().raw());
    // No leaked or foreign table pages.
    prop_assert_eq!(tables.len(), t.dir_pages());
    prop_assert_eq!(
        t.allocator().available(TableSize::Dir),
        (POOL / K4 - 16) as usize - tables.len()
    );
    for tb in &tables {
        prop_assert!(*tb >= BASE && *tb < BASE + POOL);
    }
    // The L0's view equals the model, leaf for leaf and bit for bit.
    prop_assert_eq!(leaves.len(), m.leaves.len());
    for (gpa, bits, pte) in leaves {
        let l = m.leaves.get(&gpa).copied();
        prop_assert!(l.is_some(), "unexpected leaf at {gpa:#x}");
        let l = l.unwrap();
        prop_assert_eq!(u64::from(l.bits), bits);
        let want = 0xC000_0000_0000_0100 | l.ra | (u64::from(l.c) << 7) | l.perms.bits();
        prop_assert_eq!(pte, want, "leaf at {:#x}", gpa);
        // Never outside the memory its map was given.
        let (og, ora, olen) = l.origin;
        prop_assert_eq!(l.ra - ora, gpa - og);
        prop_assert!(l.ra >= ora && l.ra + (1 << bits) <= ora + olen);
    }
    // translate agrees with the model at leaf edges, around the last op, and in gaps.
    let mut probes: Vec<u64> = vec![
        lo.min(GPA_LIMIT - 1),
        hi.min(GPA_LIMIT) - 1,
        hi.min(GPA_LIMIT - 1),
    ];
    for (g, l) in &m.leaves {
        probes.extend([
            *g,
            g + (1 << l.bits) - 1,
            (g + (1 << l.bits)).min(GPA_LIMIT - 1),
            g.saturating_sub(1),
        ]);
    }
    for gpa in probes {
        let got = t.translate(GuestRealAddr(gpa)).unwrap();
        match m.lookup(gpa) {
            None => prop_assert_eq!(got, None, "gpa {:#x}", gpa),
            Some((g, l)) => {
                let got = got.unwrap();
                prop_assert_eq!(got.l1_ra.raw(), l.ra + (gpa - g));
                prop_assert_eq!(got.size.shift(), l.bits);
                prop_assert_eq!(got.page.raw(), g);
            }
        }
    }
    Ok(())
}
