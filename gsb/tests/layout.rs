//! Property tests of the bulk path (`GsbLayout`) against the per-element path (`GsbBuilder`,
//! `Gsb::parse`): the same bytes built, the same buffers accepted with the same elements,
//! the same errors on the same malformed input.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // test code

use papr_gsb::{
    Gsb, GsbBuilder, GsbError, GsbLayout, GsidSet, GuestStateId, Parsed, Policy, Request, Scope,
    ValueKind, GSID_COUNT, TABLE,
};
use proptest::prelude::*;

/// Every policy the crate defines, plus the strict one of the fuzz target.
const POLICIES: [Policy; 10] = [
    Policy::EXACT,
    Policy::STRUCTURE,
    Policy::L1_RUN_OUTPUT,
    Policy::l1_answer(Scope::Guest),
    Policy::l1_answer(Scope::Host),
    Policy::l0_request(Request::Set, Scope::Thread),
    Policy::l0_request(Request::Get, Scope::Thread),
    Policy::l0_request(Request::Set, Scope::Guest),
    Policy::l0_request(Request::Get, Scope::Host),
    Policy {
        heir_any_width: false,
        ..Policy::EXACT
    },
];

/// A random id set (BLANK included at times), biased to the sets vcpu-state uses; under
/// Miri (slow) mostly small sets.
fn id_set() -> BoxedStrategy<GsidSet> {
    let small = proptest::collection::vec(0..GSID_COUNT, 0..8).prop_map(|bits| {
        bits.into_iter()
            .filter_map(GuestStateId::from_index)
            .fold(GsidSet::EMPTY, GsidSet::with)
    });
    if cfg!(miri) {
        return prop_oneof![3 => small, 1 => Just(GsidSet::RUN_INPUT)].boxed();
    }
    prop_oneof![
        proptest::collection::vec(any::<bool>(), GSID_COUNT).prop_map(|bits| {
            bits.iter()
                .enumerate()
                .filter(|(_, &b)| b)
                .filter_map(|(i, _)| GuestStateId::from_index(i))
                .fold(GsidSet::EMPTY, GsidSet::with)
        }),
        small,
        Just(GsidSet::RUN_INPUT),
        Just(GsidSet::THREAD_WIDE),
        Just(GsidSet::GUEST_WIDE),
        Just(GsidSet::ALL),
    ]
    .boxed()
}

/// Value bytes of `id` made from `seed`.
fn value_of(id: GuestStateId, seed: u64) -> Vec<u8> {
    let len = usize::from(id.size().unwrap());
    (0..len)
        .map(|i| (seed.rotate_left(i as u32 * 7) as u8) ^ (i as u8))
        .collect()
}

/// The per-element build of `set` with `value_of` values, into `cap` bytes of 0xA5.
fn slow_build(set: &GsidSet, seed: u64, cap: usize) -> Vec<u8> {
    let mut mem = vec![0xA5u8; cap];
    let mut b = GsbBuilder::new(&mut mem).unwrap();
    for id in set {
        b.put_raw(id, &value_of(id, seed ^ u64::from(id.raw())))
            .unwrap();
    }
    mem
}

/// The policies `same_parse` tries: all of them, or under Miri (slow) one per kind of
/// check (trailing bytes, scope and duplicates, read-only ids and any-length BLANK).
fn policies() -> &'static [Policy] {
    const UNDER_MIRI: [Policy; 3] = [
        Policy::EXACT,
        Policy::L1_RUN_OUTPUT,
        Policy::l0_request(Request::Set, Scope::Thread),
    ];
    if cfg!(miri) {
        &UNDER_MIRI
    } else {
        &POLICIES
    }
}

/// Bulk parse and slow parse of `bytes` agree under every policy.
fn same_parse(layout: &GsbLayout, bytes: &[u8]) -> Result<(), TestCaseError> {
    for p in policies() {
        let slow = Gsb::parse(bytes, p);
        let bulk = layout.parse(bytes, p);
        prop_assert_eq!(bulk.map(|x| x.gsb()), slow, "policy {:?}", p);
        if let Ok(Parsed::Layout(g)) = bulk {
            let slow = slow.unwrap();
            prop_assert_eq!(g.len(), slow.len());
            for (i, e) in slow.iter().enumerate() {
                prop_assert_eq!(g.element(i), Some(e));
                prop_assert_eq!(g.value_bytes(i), Some(e.value_bytes()));
            }
            let mut regs = Vec::new();
            g.for_each_register(|e, v| regs.push((e.id(), v)));
            let expected: Vec<_> = slow
                .iter()
                .filter(|e| e.id != GuestStateId::BLANK)
                .filter(|e| {
                    matches!(
                        e.id.info().unwrap().kind,
                        ValueKind::U32 | ValueKind::U64 | ValueKind::Vector
                    )
                })
                .map(|e| {
                    let mut v = [0u8; 16];
                    v[16 - e.value_bytes().len()..].copy_from_slice(e.value_bytes());
                    (e.id, u128::from_be_bytes(v))
                })
                .collect();
            let mut slots = [SENTINEL; GSID_COUNT];
            g.copy_to_slots(&mut slots);
            let mut want = [SENTINEL; GSID_COUNT];
            for &(id, v) in &expected {
                want[id.index().unwrap()] = v;
            }
            prop_assert_eq!(slots, want);
            prop_assert_eq!(regs, expected);
        }
    }
    Ok(())
}

/// A register-file slot value no element decodes to in these tests' slot comparisons.
const SENTINEL: u128 = 0xDEAD_BEEF_u128 << 100;

/// The elements of a valid buffer, as (header offset, end) pairs.
fn elements(bytes: &[u8]) -> Vec<(usize, usize)> {
    Gsb::parse(bytes, &Policy::STRUCTURE)
        .unwrap()
        .iter()
        .map(|e| (e.offset, e.offset + 4 + e.value_bytes().len()))
        .collect()
}

proptest! {
    #[test]
    fn bulk_build_is_the_slow_build(set in id_set(), seed in any::<u64>(), extra in 0usize..16) {
        let layout = GsbLayout::new(set);
        let cap = layout.size() + extra;
        let slow = slow_build(&set, seed, cap);
        let mut bulk = vec![0xA5u8; cap];
        let n = layout
            .build(&mut bulk, |e, v| v.copy_from_slice(&value_of(e.id(), seed ^ u64::from(e.id().raw()))))
            .unwrap();
        prop_assert_eq!(n, layout.size());
        prop_assert_eq!(&bulk, &slow);
        prop_assert_eq!(n, 4 + set.wire_size());
        prop_assert_eq!(layout.len(), set.len());
        prop_assert_eq!(layout.ids(), set);
    }

    #[test]
    fn bulk_register_build_is_the_slow_build(set in id_set(), seed in any::<u128>()) {
        let layout = GsbLayout::new(set);
        let value = |id: GuestStateId| seed.rotate_left(u32::from(id.raw()));
        let mut slow = vec![0x5Au8; 4096];
        let mut b = GsbBuilder::new(&mut slow).unwrap();
        let mut slow_err = None;
        for id in &set {
            let r = match id.info().unwrap().kind {
                ValueKind::Empty => b.put_raw(id, &[]),
                ValueKind::U32 => b.put_u32(id, value(id) as u32),
                ValueKind::U64 => b.put_u64(id, value(id) as u64),
                ValueKind::Vector => b.put_vector(id, value(id)),
                kind => Err(GsbError::WrongKind { id, expected: kind, given: ValueKind::Vector }),
            };
            if let Err(e) = r {
                slow_err = Some(e);
                break;
            }
        }
        let mut slots = [0u128; GSID_COUNT];
        for (bit, slot) in slots.iter_mut().enumerate() {
            *slot = value(GuestStateId::from_index(bit).unwrap());
        }
        for from_slots in [false, true] {
            let mut bulk = vec![0x5Au8; 4096];
            let r = if from_slots {
                layout.build_from_slots(&mut bulk, &slots)
            } else {
                layout.build_registers(&mut bulk, |e| value(e.id()))
            };
            match slow_err {
                Some(e) => {
                    prop_assert_eq!(r, Err(e));
                    prop_assert!(!layout.is_registers());
                    prop_assert!(bulk.iter().all(|&x| x == 0x5A), "nothing written on error");
                }
                None => {
                    prop_assert_eq!(r, Ok(layout.size()));
                    prop_assert_eq!(&bulk, &slow);
                }
            }
        }
    }

    #[test]
    fn bulk_request_is_put_requests(set in id_set(), cap in 0usize..3200) {
        let layout = GsbLayout::new(set);
        let mut slow = vec![0x33u8; cap];
        let slow_r = GsbBuilder::new(&mut slow).and_then(|mut b| {
            b.put_requests(&set)?;
            Ok(b.finish())
        });
        let mut bulk = vec![0x33u8; cap];
        let bulk_r = layout.build_request(&mut bulk);
        prop_assert_eq!(bulk_r, slow_r);
        if bulk_r.is_err() {
            prop_assert!(bulk.iter().all(|&x| x == 0x33), "nothing written on error");
        } else {
            prop_assert_eq!(&bulk, &slow);
        }
    }

    #[test]
    fn bulk_parse_of_valid_buffers_is_the_slow_parse(set in id_set(), seed in any::<u64>(), extra in 0usize..8) {
        let layout = GsbLayout::new(set);
        let mut bytes = slow_build(&set, seed, layout.size() + extra);
        // The layout's own buffer, exact and with a tail.
        prop_assert!(layout.matches(&bytes[..layout.size()], &Policy::EXACT));
        prop_assert!(layout.matches(&bytes, &Policy::STRUCTURE));
        same_parse(&layout, &bytes[..layout.size()])?;
        same_parse(&layout, &bytes)?;
        // A valid buffer of another set: the general parse.
        let other = GsbLayout::new(set.difference(GsidSet::GPRS).union(GsidSet::VSRS));
        same_parse(&other, &bytes)?;
        bytes.truncate(layout.size());
        prop_assert_eq!(
            other.parse(&bytes, &Policy::EXACT).map(|p| p.layout().is_some()),
            Ok(other == layout)
        );
    }

    #[test]
    fn bulk_parse_of_mutated_buffers_is_the_slow_parse(
        set in id_set(),
        seed in any::<u64>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let layout = GsbLayout::new(set);
        let mut bytes = slow_build(&set, seed, layout.size());
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        same_parse(&layout, &bytes)?;
    }

    #[test]
    fn bulk_parse_of_header_flips_is_the_slow_parse(
        set in id_set(),
        seed in any::<u64>(),
        which in any::<prop::sample::Index>(),
        byte in 0usize..4,
        x in 1u8..=255,
    ) {
        // Flips aimed at the count or an element header, where the fast path must notice.
        let layout = GsbLayout::new(set);
        let mut bytes = slow_build(&set, seed, layout.size());
        let mut headers = vec![0usize];
        headers.extend(elements(&bytes).iter().map(|&(at, _)| at));
        let at = headers[which.index(headers.len())] + byte;
        bytes[at] ^= x;
        prop_assert!(!layout.matches(&bytes, &Policy::STRUCTURE));
        same_parse(&layout, &bytes)?;
    }

    #[test]
    fn bulk_parse_of_truncated_or_extended_buffers_is_the_slow_parse(
        set in id_set(),
        seed in any::<u64>(),
        cut in any::<prop::sample::Index>(),
        tail in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let layout = GsbLayout::new(set);
        let bytes = slow_build(&set, seed, layout.size());
        let n = cut.index(bytes.len() + 1);
        same_parse(&layout, &bytes[..n])?;
        let mut longer = bytes.clone();
        longer.extend_from_slice(&tail);
        same_parse(&layout, &longer)?;
    }

    #[test]
    fn bulk_parse_of_reordered_elements_is_the_slow_parse(
        set in id_set(),
        seed in any::<u64>(),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
        dup in any::<bool>(),
    ) {
        let layout = GsbLayout::new(set);
        let bytes = slow_build(&set, seed, layout.size());
        let elems = elements(&bytes);
        prop_assume!(!elems.is_empty());
        let (i, j) = (a.index(elems.len()), b.index(elems.len()));
        let mut order: Vec<usize> = (0..elems.len()).collect();
        if dup {
            order[i] = j; // element j twice, element i missing
        } else {
            order.swap(i, j);
        }
        let mut out = bytes[..4].to_vec();
        for k in order {
            let (s, e) = elems[k];
            out.extend_from_slice(&bytes[s..e]);
        }
        let moved = i != j && bytes[elems[i].0..elems[i].0 + 4] != bytes[elems[j].0..elems[j].0 + 4];
        if moved {
            prop_assert!(!layout.matches(&out, &Policy::STRUCTURE));
        }
        same_parse(&layout, &out)?;
    }

    #[test]
    fn bulk_parse_of_random_bytes_is_the_slow_parse(
        set in id_set(),
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        same_parse(&GsbLayout::new(set), &bytes)?;
    }
}

#[test]
fn full_state_layouts_take_the_fast_path_under_their_policies() {
    static RUN_INPUT: GsbLayout = GsbLayout::new(GsidSet::RUN_INPUT);
    static THREAD: GsbLayout = GsbLayout::new(GsidSet::THREAD_WIDE);
    let mut buf = [0u8; 4096];
    let n = RUN_INPUT.build_request(&mut buf).unwrap();
    for p in [
        Policy::EXACT,
        Policy::L1_RUN_OUTPUT,
        Policy::l1_answer(Scope::Thread),
        Policy::l0_request(Request::Set, Scope::Thread),
    ] {
        assert!(RUN_INPUT.matches(&buf[..n], &p), "{p:?}");
    }
    assert!(!RUN_INPUT.matches(&buf[..n], &Policy::l1_answer(Scope::Guest)));
    // THREAD_WIDE holds read-only exit registers: a SET falls back, with the slow error.
    let n = THREAD.build_request(&mut buf).unwrap();
    let set = Policy::l0_request(Request::Set, Scope::Thread);
    assert!(!THREAD.matches(&buf[..n], &set));
    assert!(matches!(
        THREAD.parse(&buf[..n], &set),
        Err(GsbError::ReadOnly { .. })
    ));
    assert!(THREAD.matches(&buf[..n], &Policy::l0_request(Request::Get, Scope::Thread)));
}

#[test]
fn an_eight_byte_heir_falls_back_to_the_general_parse() {
    static L: GsbLayout = GsbLayout::new(GsidSet::EMPTY.with(GuestStateId::HEIR));
    let bytes = [0, 0, 0, 1, 0xF0, 0x02, 0, 8, 0, 0, 0, 0, 0, 0, 0, 9];
    let p = L.parse(&bytes, &Policy::EXACT).unwrap();
    assert!(matches!(p, Parsed::General(_)));
    assert_eq!(p.gsb().iter().next().unwrap().value().as_u64(), Some(9));
    let strict = Policy {
        heir_any_width: false,
        ..Policy::EXACT
    };
    assert_eq!(
        L.parse(&bytes, &strict).map(|p| p.gsb()),
        Gsb::parse(&bytes, &strict)
    );
    assert!(L.parse(&bytes, &strict).is_err());
}

#[test]
fn layouts_are_built_at_compile_time() {
    const ALL: GsbLayout = GsbLayout::new(GsidSet::ALL);
    assert_eq!(ALL.len(), TABLE.len() - 1);
    assert_eq!(ALL.size(), 4 + GsidSet::ALL.wire_size());
    assert!(!ALL.is_registers());
    for (k, e) in ALL.entries().iter().enumerate() {
        assert_eq!(ALL.position(e.id()), Some(k));
        assert_eq!(e.bit(), e.id().index().unwrap());
        assert_eq!(e.len(), usize::from(e.id().size().unwrap()));
    }
}
