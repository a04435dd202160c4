//! Property tests: build → parse round trips, and parsing arbitrary bytes never panics.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // test code

use papr_gsb::{
    Gsb, GsbBuilder, GsidSet, GuestStateId, Policy, Request, Scope, Value, ValueKind, TABLE,
};
use proptest::prelude::*;

fn value_for(kind: ValueKind, seed: u128) -> Value {
    let s = seed as u64;
    match kind {
        ValueKind::Empty => Value::Empty,
        ValueKind::U32 => Value::U32(s as u32),
        ValueKind::U64 => Value::U64(s),
        ValueKind::Vector => Value::Vector(seed),
        ValueKind::PartitionTable => Value::PartitionTable(papr_gsb::PartitionTable {
            root: s,
            ea_bits: s.rotate_left(7),
            root_size: s ^ 0x5555,
        }),
        ValueKind::ProcessTable => Value::ProcessTable(papr_gsb::ProcessTable {
            base: s,
            size: s >> 3,
        }),
        ValueKind::Buffer => Value::Buffer(papr_gsb::BufferDescriptor {
            address: s,
            size: !s,
        }),
    }
}

fn element() -> impl Strategy<Value = (GuestStateId, Value)> {
    (0..TABLE.len(), any::<u128>()).prop_map(|(i, seed)| {
        let row = &TABLE[i];
        (row.id, value_for(row.kind, seed))
    })
}

proptest! {
    #[test]
    fn build_then_parse_round_trips(elems in proptest::collection::vec(element(), 0..64)) {
        let mut mem = vec![0u8; 4096];
        let mut b = GsbBuilder::new(&mut mem).unwrap();
        for (id, v) in &elems {
            b.put(*id, *v).unwrap();
        }
        let n = b.len();
        let gsb = Gsb::parse(&mem[..n], &Policy::EXACT).unwrap();
        prop_assert_eq!(gsb.len(), elems.len());
        prop_assert_eq!(gsb.used_bytes(), n);
        for (e, (id, v)) in gsb.iter().zip(&elems) {
            prop_assert_eq!(e.id, *id);
            prop_assert_eq!(e.value(), *v);
        }
        let ids: GsidSet = elems.iter().map(|(id, _)| *id).filter(|id| *id != GuestStateId::BLANK).collect();
        prop_assert_eq!(gsb.ids(), ids);
    }

    #[test]
    fn builder_never_overflows(elems in proptest::collection::vec(element(), 0..64), cap in 0usize..600) {
        let mut mem = vec![0xCCu8; cap];
        if let Ok(mut b) = GsbBuilder::new(&mut mem) {
            let mut accepted = 0;
            for (id, v) in &elems {
                if b.put(*id, *v).is_ok() { accepted += 1; }
            }
            let n = b.len();
            prop_assert!(n <= cap);
            let gsb = Gsb::parse(&mem[..n], &Policy::EXACT).unwrap();
            prop_assert_eq!(gsb.len(), accepted);
            prop_assert!(mem[n..].iter().all(|&x| x == 0xCC), "bytes past the used length untouched");
        }
    }

    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        for p in [Policy::EXACT, Policy::STRUCTURE, Policy::L1_RUN_OUTPUT,
                  Policy::l0_request(Request::Set, Scope::Guest), Policy::l0_request(Request::Get, Scope::Host)] {
            if let Ok(g) = Gsb::parse(&bytes, &p) {
                prop_assert!(g.used_bytes() <= bytes.len());
                prop_assert_eq!(g.iter().count(), g.len());
                for e in &g { let _ = e.value(); }
            }
        }
    }

    #[test]
    fn parse_of_plausible_headers_never_panics(count in 0u32..8, body in proptest::collection::vec((0u16..0x40, prop_oneof![Just(0x1000u16), Just(0x2000), Just(0x3000), Just(0xF000), Just(0)], 0u16..32), 0..8)) {
        let mut v = count.to_be_bytes().to_vec();
        for (lo, hi, len) in body {
            v.extend_from_slice(&(hi | lo).to_be_bytes());
            v.extend_from_slice(&len.to_be_bytes());
            v.extend(std::iter::repeat_n(0xAB, usize::from(len)));
        }
        let _ = Gsb::parse(&v, &Policy::STRUCTURE);
        let _ = Gsb::parse(&v, &Policy::L1_RUN_OUTPUT);
    }
}
