//! The run output fast path against the full validator: on the same input and the same
//! cache, `apply_exit` and `apply_exit_full` give the same result (ids or error) and leave
//! the same cache. And the untrusted-output rules of issue 17: a count past what the L0
//! wrote, BLANK elements over a zeroed tail, a header the L0 did not write.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use papr_gsb::{GsbError, GuestStateId};
use papr_vcpu_state::{sets, StateError, VcpuState, FAST_ELEMENTS, MAX_OUTPUT_ELEMENTS};
use proptest::prelude::*;

fn thread_regs() -> Vec<GuestStateId> {
    sets::THREAD_REGS.iter().collect()
}

/// A cache with some registers set and flushed, some set after the flush.
fn cache(ops: &[(usize, u64, bool)]) -> VcpuState {
    let ids: Vec<GuestStateId> = sets::WRITABLE.iter().collect();
    let mut s = VcpuState::new_zeroed();
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

/// A well-formed run output of `regs` (index into the thread-wide registers, value), each
/// id once, encoded by hand (HEIR as 4 bytes if `heir4`, as PAPR and QEMU send it).
fn output(regs: &[(usize, u128)], heir4: bool) -> Vec<u8> {
    let ids = thread_regs();
    let mut seen = papr_gsb::GsidSet::EMPTY;
    let mut buf = vec![0u8; 4];
    let mut count = 0u32;
    for &(i, v) in regs {
        let id = ids[i % ids.len()];
        if !seen.insert(id) {
            continue;
        }
        let size = match id.size().unwrap() {
            8 if id == GuestStateId::HEIR && heir4 => 4,
            n => usize::from(n),
        };
        buf.extend_from_slice(&id.0.to_be_bytes());
        buf.extend_from_slice(&(size as u16).to_be_bytes());
        buf.extend_from_slice(&v.to_be_bytes()[16 - size..]);
        count += 1;
    }
    buf[..4].copy_from_slice(&count.to_be_bytes());
    buf
}

/// Both paths from the same cache on the same bytes: the same result, the same cache.
fn same(ops: &[(usize, u64, bool)], bytes: &[u8]) -> Result<(), TestCaseError> {
    let (mut fast, mut full) = (cache(ops), cache(ops));
    let before = fast.clone();
    let a = fast.apply_exit(bytes);
    let b = full.apply_exit_full(bytes);
    prop_assert_eq!(a, b, "results differ on {:02x?}", bytes);
    prop_assert!(fast == full, "caches differ on {:02x?}", bytes);
    if a.is_err() {
        prop_assert!(fast == before, "an error changed the cache");
    }
    Ok(())
}

/// QEMU's exit layouts (run-loop.md §4.4): (id, value length) in order.
fn qemu_layouts() -> Vec<Vec<(GuestStateId, usize)>> {
    use GuestStateId as G;
    let gprs = (3..=12).map(|n| (G::gpr(n).unwrap(), 8)).collect();
    vec![
        gprs,
        vec![
            (G::HDAR, 8),
            (G::HDSISR, 4),
            (G::ASDR, 8),
            (G::NIA, 8),
            (G::MSR, 8),
        ],
        vec![(G::HDAR, 8), (G::ASDR, 8), (G::NIA, 8), (G::MSR, 8)],
        vec![(G::HEIR, 4), (G::NIA, 8), (G::MSR, 8)],
        vec![(G::HFSCR, 8), (G::NIA, 8), (G::MSR, 8)],
        vec![],
    ]
}

/// The output QEMU writes for layout `which` with `values`.
fn qemu_output(which: usize, values: &[u64]) -> Vec<u8> {
    let layouts = qemu_layouts();
    let layout = &layouts[which % layouts.len()];
    let mut buf = (layout.len() as u32).to_be_bytes().to_vec();
    for (&(id, len), v) in layout.iter().zip(values.iter().cycle()) {
        buf.extend_from_slice(&id.0.to_be_bytes());
        buf.extend_from_slice(&(len as u16).to_be_bytes());
        buf.extend_from_slice(&v.to_be_bytes()[8 - len..]);
    }
    buf
}

fn ops() -> impl Strategy<Value = Vec<(usize, u64, bool)>> {
    proptest::collection::vec((any::<usize>(), any::<u64>(), any::<bool>()), 0..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Well-formed exits of 0..=20 registers (both sides of FAST_ELEMENTS).
    #[test]
    fn fast_equals_full_on_valid_exits(
        ops in ops(),
        regs in proptest::collection::vec((any::<usize>(), any::<u128>()), 0..=20),
        heir4 in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut bytes = output(&regs, heir4);
        bytes.extend_from_slice(&tail);
        same(&ops, &bytes)?;
    }

    /// Valid exits with one byte changed: every error the full validator finds, the fast
    /// path gives too (it declines and the full validator answers).
    #[test]
    fn fast_equals_full_on_corrupted_exits(
        ops in ops(),
        regs in proptest::collection::vec((any::<usize>(), any::<u128>()), 0..=12),
        at in any::<usize>(),
        xor in 1..=255u8,
        cut in any::<usize>(),
    ) {
        let mut bytes = output(&regs, false);
        let i = at % bytes.len();
        bytes[i] ^= xor;
        same(&ops, &bytes)?;
        bytes.truncate(cut % (bytes.len() + 1));
        same(&ops, &bytes)?;
    }

    /// QEMU's exit layouts (the fixed-layout path), whole, with one byte changed, cut
    /// short, or followed by the poison or other bytes.
    #[test]
    fn fast_equals_full_on_qemu_layouts(
        ops in ops(),
        which in 0..6usize,
        values in proptest::collection::vec(any::<u64>(), 1..10),
        at in any::<usize>(),
        xor in 0..=255u8,
        cut in any::<usize>(),
        tail in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut bytes = qemu_output(which, &values);
        same(&ops, &bytes)?;
        let i = at % bytes.len();
        bytes[i] ^= xor;
        same(&ops, &bytes)?;
        let mut poisoned = bytes.clone();
        poisoned.extend_from_slice(&[0xFF; 16]);
        same(&ops, &poisoned)?;
        bytes.extend_from_slice(&tail);
        same(&ops, &bytes)?;
        bytes.truncate(cut % (bytes.len() + 1));
        same(&ops, &bytes)?;
    }

    /// Arbitrary bytes.
    #[test]
    fn fast_equals_full_on_arbitrary_bytes(
        ops in ops(),
        bytes in proptest::collection::vec(any::<u8>(), 0..160),
    ) {
        same(&ops, &bytes)?;
    }
}

#[test]
fn the_register_bound_is_the_thread_wide_register_count() {
    assert_eq!(MAX_OUTPUT_ELEMENTS as usize, sets::THREAD_REGS.len());
    assert!(FAST_ELEMENTS < sets::THREAD_REGS.len());
}

#[test]
fn a_corrupt_count_over_a_zeroed_tail_is_an_error() {
    // An hcall exit's 10 GPRs with its count's low byte corrupted (10 ^ 0xFF = 245) in a
    // zeroed page: 235 BLANK elements after the registers. Before the fix, accepted.
    let mut page = vec![0u8; 4096];
    let out = output(&(3..=12).map(|n| (n, n as u128)).collect::<Vec<_>>(), false);
    page[..out.len()].copy_from_slice(&out);
    page[3] ^= 0xFF;
    let mut s = VcpuState::new_zeroed();
    let before = s.clone();
    assert_eq!(
        s.apply_exit(&page),
        Err(StateError::OutputCount {
            count: 245,
            max: 167
        })
    );
    // A count that fits the register count but still runs into the zeroed tail.
    page[3] = 12;
    assert_eq!(
        s.apply_exit(&page),
        Err(StateError::UnexpectedOutputId {
            index: 10,
            offset: out.len(),
            id: GuestStateId::BLANK
        })
    );
    assert!(s == before);
}

#[test]
fn a_header_the_l0_did_not_write_is_an_error() {
    // The L1 poisons the output with 0xFF before the run; the L0 wrote nothing, or only
    // the first two bytes of the count, or the count but no element.
    let mut s = VcpuState::new_zeroed();
    let before = s.clone();
    let mut page = [0xFFu8; 128];
    assert_eq!(
        s.apply_exit(&page),
        Err(StateError::OutputCount {
            count: u32::MAX,
            max: 167
        })
    );
    page[..2].fill(0);
    assert_eq!(
        s.apply_exit(&page),
        Err(StateError::OutputCount {
            count: 0xFFFF,
            max: 167
        })
    );
    page[..4].copy_from_slice(&10u32.to_be_bytes());
    assert_eq!(
        s.apply_exit(&page),
        Err(StateError::Output(GsbError::TruncatedValue {
            index: 0,
            offset: 4,
            id: GuestStateId(0xFFFF),
            len: 0xFFFF,
            available: 120
        }))
    );
    assert!(s == before);
}

/// A [`papr_vcpu_state::StateSource`] answering every GET with `value(id)`.
struct Answers(fn(GuestStateId) -> u128);

impl papr_vcpu_state::StateSource for Answers {
    fn get_state(
        &mut self,
        _: papr_gsb::Scope,
        gsb: &mut [u8],
    ) -> Result<(), papr_hcall::HcallError> {
        papr_vcpu_state::testing::answer(gsb, self.0);
        Ok(())
    }
    fn set_state(&mut self, _: papr_gsb::Scope, _: &[u8]) -> Result<(), papr_hcall::HcallError> {
        Ok(())
    }
}

fn answer_of(id: GuestStateId) -> u128 {
    u128::from(id.0) * 0x0101_0101 + 7
}

proptest! {
    /// `fill` of the values a GET answered (the exit path's DEC quirk read) leaves the
    /// cache `load` leaves, whatever was valid or dirty before.
    #[test]
    fn fill_is_load(
        ops in prop::collection::vec((0usize..400, any::<u64>(), any::<bool>()), 0..12),
        forget in prop::collection::vec(0usize..400, 0..6),
    ) {
        let mut a = cache(&ops);
        let ids: Vec<GuestStateId> = sets::WRITABLE.iter().collect();
        for i in forget {
            a.invalidate(papr_gsb::GsidSet::EMPTY.with(ids[i % ids.len()]));
        }
        let mut b = a.clone();
        let want = [GuestStateId::DEC_EXPIRY_TB, GuestStateId::MSR];
        for id in want {
            a.fill(id, answer_of(id)).unwrap();
        }
        let set = want.iter().fold(papr_gsb::GsidSet::EMPTY, |s, &id| s.with(id));
        b.load(set, &mut Answers(answer_of)).unwrap();
        prop_assert!(a == b, "{a:?} != {b:?}");
    }
}
