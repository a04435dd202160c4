//! Properties of flush and exit parsing.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use papr_gsb::{Gsb, GsidSet, GuestStateId, Policy};
use papr_vcpu_state::{sets, VcpuState};
use proptest::prelude::*;

fn writable() -> Vec<GuestStateId> {
    sets::WRITABLE.iter().collect()
}

/// A write: (index into the writable ids, raw value masked to the register width).
fn op() -> impl Strategy<Value = (usize, u128)> {
    (0..sets::WRITABLE.len(), any::<u128>())
}

fn fit(id: GuestStateId, v: u128) -> u128 {
    match id.size() {
        Some(4) => v & u128::from(u32::MAX),
        Some(8) => v & u128::from(u64::MAX),
        _ => v,
    }
}

proptest! {
    /// After a flush the input buffer holds exactly the dirty thread-wide ids, once each,
    /// with their cached values; nothing is dirty afterwards but the guest-wide ids.
    #[test]
    fn flush_carries_exactly_the_dirty_ids(
        first in proptest::collection::vec(op(), 0..40),
        second in proptest::collection::vec(op(), 0..40),
        fail in any::<bool>(),
    ) {
        let ids = writable();
        let mut s = VcpuState::new();
        for (i, v) in first {
            let id = ids[i];
            s.set(id, fit(id, v)).unwrap();
        }
        let mut input = vec![0u8; sets::MAX_RUN_INPUT];
        s.flush(&mut input).unwrap();
        if fail { s.run_failed() } else { s.apply_exit(&[0, 0, 0, 0]).unwrap(); }
        for (i, v) in second {
            let id = ids[i];
            s.set(id, fit(id, v)).unwrap();
        }
        let dirty = s.dirty();
        let n = s.flush(&mut input).unwrap();
        let g = Gsb::parse(&input[..n], &Policy::EXACT).unwrap();
        let mut seen = GsidSet::EMPTY;
        for e in &g {
            prop_assert!(seen.insert(e.id), "{:?} twice", e.id);
            let v = match e.value_bytes().len() {
                4 => u128::from(u32::from_be_bytes(e.value_bytes().try_into().unwrap())),
                8 => u128::from(u64::from_be_bytes(e.value_bytes().try_into().unwrap())),
                _ => u128::from_be_bytes(e.value_bytes().try_into().unwrap()),
            };
            prop_assert_eq!(Some(v), s.cached(e.id));
        }
        prop_assert_eq!(seen, dirty.intersection(sets::THREAD_REGS));
        prop_assert_eq!(s.dirty(), dirty.intersection(sets::GUEST_REGS));
        prop_assert!(s.in_flight().is_subset(&s.valid()));
    }

    /// Any output buffer: either accepted, or refused with the state untouched. Never a panic.
    #[test]
    fn arbitrary_output_is_applied_whole_or_not_at_all(
        bytes in proptest::collection::vec(any::<u8>(), 0..96),
        ops in proptest::collection::vec(op(), 0..10),
    ) {
        let ids = writable();
        let mut s = VcpuState::new_zeroed();
        for (i, v) in ops {
            let id = ids[i];
            s.set(id, fit(id, v)).unwrap();
        }
        let before = s.clone();
        match s.apply_exit(&bytes) {
            Ok(got) => {
                prop_assert!(got.is_subset(&s.valid()));
                prop_assert!(s.valid().is_subset(&got.union(sets::L1_OWNED).union(before.dirty())));
            }
            Err(_) => prop_assert!(s == before),
        }
    }
}
