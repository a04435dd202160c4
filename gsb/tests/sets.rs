//! Predefined id sets and set algebra.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // test code

use papr_gsb::{Access, GsidSet, GuestStateId, Scope, TABLE};

#[test]
fn predefined_sets_follow_the_table() {
    assert_eq!(GsidSet::ALL.len(), 181);
    assert!(!GsidSet::ALL.contains(GuestStateId::BLANK));
    assert_eq!(GsidSet::GUEST_WIDE.len(), 6);
    assert_eq!(GsidSet::HOST_WIDE.len(), 5);
    assert_eq!(GsidSet::VSRS.len(), 64);
    for row in TABLE.iter().skip(1) {
        let in_run = GsidSet::RUN_INPUT.contains(row.id);
        let expect =
            row.scope == Scope::Thread && row.access == Access::ReadWrite && !row.is_meta();
        assert_eq!(in_run, expect, "{}", row.name);
    }
    // Linux's run input = "all ids" message minus 0x0000-0x0002, 0x0005, 0x0006, 0x0C00, 0x0C01,
    // host-wide: it still carries 0x0003/0x0004 (guest-wide, sent apart) and VPA. Our run-input
    // set is the thread-wide writable registers: 0x1000-0x1053, 0x2000-0x200E, 0x3000-0x303F.
    assert_eq!(GsidSet::RUN_INPUT.len(), 84 + 15 + 64);
    assert_eq!(GsidSet::RUN_INPUT.wire_size(), 84 * 12 + 15 * 8 + 64 * 20);
}

#[test]
fn algebra() {
    let a = GsidSet::GPRS.with(GuestStateId::NIA);
    let b = GsidSet::new()
        .with(GuestStateId::NIA)
        .with(GuestStateId::MSR);
    assert_eq!(
        a.intersection(b).iter().collect::<Vec<_>>(),
        [GuestStateId::NIA]
    );
    assert_eq!(a.union(b).len(), 34);
    assert_eq!(a.difference(b), GsidSet::GPRS);
    assert!(GsidSet::GPRS.is_subset(&a));
    assert!(!a.is_subset(&GsidSet::GPRS));
    let mut c = a;
    c.clear();
    assert!(c.is_empty());
    assert!(!c.remove(GuestStateId::NIA));
    assert_eq!(format!("{:?}", b), "{NIA(0x1021), MSR(0x1022)}");
}

proptest::proptest! {
    /// `is_empty` (the words or-ed) is `len() == 0`, and `for_each_index` walks what
    /// `indices` yields, in the same order, for any set of defined ids.
    #[test]
    fn empty_and_index_walk_agree_with_len_and_indices(
        picks in proptest::collection::vec(0usize..TABLE.len(), 0..12)
    ) {
        let s: GsidSet = picks.iter().map(|&i| TABLE[i].id).collect();
        #[allow(clippy::len_zero)] // `is_empty` is what is tested, against `len`
        let by_len = s.len() == 0;
        proptest::prop_assert_eq!(s.is_empty(), by_len);
        let mut walked = Vec::new();
        s.for_each_index(|i| walked.push(i));
        proptest::prop_assert_eq!(walked, s.indices().collect::<Vec<_>>());
    }
}
