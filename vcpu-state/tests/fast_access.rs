//! The exit path's fast accessors against the general ones, on arbitrary caches: the same
//! values, the same errors and the same cache afterwards.
//!
//! * `cached_gprs` (by register number) is `cached_many` of the same GPR ids;
//! * `set_gpr` (slot and set from tables) is `set` of the GPR id;
//! * the one-pass `flush` (each element's room checked as it is written) gives the bytes
//!   a `GsbBuilder` gives for the dirty set, or, when they do not fit, the
//!   `InputTooSmall` error of the whole size and an unchanged cache.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use papr_gsb::{GsbBuilder, GsidSet, GuestStateId};
use papr_vcpu_state::{sets, StateError, VcpuState};
use proptest::prelude::*;

/// A cache after `ops` (index into the writable registers, value, flushed after?), over
/// a start that knows nothing (`zeroed` = false) or everything.
fn cache(zeroed: bool, ops: &[(usize, u64, bool)]) -> VcpuState {
    let ids: Vec<GuestStateId> = sets::WRITABLE.iter().collect();
    let mut s = if zeroed {
        VcpuState::new_zeroed()
    } else {
        VcpuState::new()
    };
    let mut input = vec![0u8; sets::MAX_RUN_INPUT];
    for &(i, v, flush) in ops {
        let id = ids[i % ids.len()];
        let v = match id.size() {
            Some(4) => u128::from(v as u32),
            _ => u128::from(v),
        };
        s.set(id, v).unwrap();
        if flush {
            s.flush(&mut input).unwrap();
        }
    }
    s
}

fn ops() -> impl Strategy<Value = Vec<(usize, u64, bool)>> {
    proptest::collection::vec((0usize..400, any::<u64>(), any::<bool>()), 0..24)
}

/// `cached_gprs::<N>(first)` against `cached_many` of GPR`first`.. (None past GPR31).
fn gprs_agree<const N: usize>(s: &VcpuState, first: u8) {
    let fast = s.cached_gprs::<N>(first);
    let ids: Option<Vec<GuestStateId>> = (0..N)
        .map(|k| GuestStateId::gpr(first.checked_add(k as u8)?))
        .collect();
    let slow = ids.and_then(|ids| {
        let ids: [GuestStateId; N] = ids.try_into().unwrap();
        s.cached_many(&ids).map(|v| v.map(|r| r as u64))
    });
    assert_eq!(fast, slow, "GPR{first} x {N} of {s:?}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn cached_gprs_is_cached_many(zeroed: bool, ops in ops(), first in 0u8..40) {
        let s = cache(zeroed, &ops);
        gprs_agree::<1>(&s, first);
        gprs_agree::<2>(&s, first);
        gprs_agree::<10>(&s, first);
        gprs_agree::<32>(&s, first);
    }

    #[test]
    fn set_gpr_is_set(zeroed: bool, ops in ops(), n in 0u8..40, v: u64) {
        let mut fast = cache(zeroed, &ops);
        let mut slow = fast.clone();
        let r = fast.set_gpr(n, v);
        match GuestStateId::gpr(n) {
            Some(id) => {
                prop_assert_eq!(r, Ok(()));
                slow.set(id, u128::from(v)).unwrap();
            }
            None => prop_assert_eq!(r, Err(StateError::NoSuchRegister { class: "GPR", n })),
        }
        prop_assert!(fast == slow, "{:?} != {:?}", fast, slow);
    }

    #[test]
    fn one_pass_flush_is_the_builder(zeroed: bool, ops in ops(), capacity in 0usize..600) {
        let mut s = cache(zeroed, &ops);
        let before = s.clone();
        let set = s.dirty().intersection(sets::THREAD_REGS);
        // The reference: the dirty thread-wide registers through the gsb builder.
        let mut reference = vec![0u8; sets::MAX_RUN_INPUT];
        let n = {
            let mut b = GsbBuilder::new(&mut reference).unwrap();
            for id in &set {
                b.put_raw(id, &before.cached(id).unwrap().to_be_bytes()[16 - usize::from(id.size().unwrap())..])
                    .unwrap();
            }
            b.finish()
        };
        let mut input = vec![0x5Au8; capacity];
        match s.flush(&mut input) {
            Ok(len) => {
                prop_assert_eq!(len, n);
                prop_assert_eq!(&input[..len], &reference[..n]);
                prop_assert_eq!(s.dirty(), before.dirty().difference(set));
                prop_assert_eq!(s.in_flight(), before.in_flight().union(set));
                prop_assert_eq!(s.valid(), before.valid());
            }
            Err(e) => {
                prop_assert!(capacity < n, "{} bytes fit {}", n, capacity);
                prop_assert_eq!(
                    e,
                    StateError::InputTooSmall {
                        id: set.iter().next().unwrap_or_default(),
                        needed: n,
                        capacity,
                    }
                );
                prop_assert!(s == before);
            }
        }
    }
}

#[test]
fn cached_gprs_needs_every_one_valid() {
    let mut s = VcpuState::new();
    for n in 3..=12 {
        s.set_gpr(n, u64::from(n)).unwrap();
    }
    assert_eq!(
        s.cached_gprs::<10>(3),
        Some([3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    );
    s.invalidate(GsidSet::EMPTY.with(GuestStateId::GPR12));
    assert_eq!(s.cached_gprs::<10>(3), None);
    assert_eq!(s.cached_gprs::<9>(3), Some([3, 4, 5, 6, 7, 8, 9, 10, 11]));
    assert_eq!(s.cached_gprs::<0>(32), Some([]));
    assert_eq!(s.cached_gprs::<1>(32), None);
    assert_eq!(s.cached_gprs::<1>(255), None);
}

#[test]
fn cached_many_of_an_undefined_id_is_none() {
    let s = VcpuState::new_zeroed();
    assert_eq!(s.cached_many(&[GuestStateId::GPR3]), Some([0]));
    // 0x0007 is no id of the table: never valid, even in a cache where all ids are.
    assert_eq!(s.cached_many(&[GuestStateId(0x0007)]), None);
    assert_eq!(
        s.cached_many(&[GuestStateId::GPR3, GuestStateId(0x0007)]),
        None
    );
    assert_eq!(s.cached(GuestStateId(0x0007)), None);
}

proptest! {
    /// An output that carries nothing (count 0, whatever follows: the poison, zeros, any
    /// bytes), taken without the one-pass check, is what the full validator makes of it.
    #[test]
    fn an_empty_exit_is_the_full_validator(
        zeroed: bool,
        ops in ops(),
        tail in proptest::collection::vec(any::<u8>(), 0..130),
        poison: bool,
    ) {
        let mut out = vec![0u8, 0, 0, 0];
        if poison {
            out.extend(std::iter::repeat_n(0xFF, tail.len()));
        } else {
            out.extend(&tail);
        }
        let mut fast = cache(zeroed, &ops);
        let mut full = fast.clone();
        prop_assert_eq!(fast.apply_exit(&out), full.apply_exit_full(&out));
        prop_assert!(fast == full, "{:?} != {:?}", fast, full);
    }
}
