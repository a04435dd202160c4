//! Feeds arbitrary bytes to `VcpuState::apply_exit` as a run output buffer, from a cache
//! state the first bytes choose (fresh or zeroed, some registers set, some flushed).
//!
//! Input: byte 0 = `z kkk xxxx` (bit 7: start from `new_zeroed`; bits 4–6: k set/flush
//! steps); then k steps of 10 bytes `{op, idx, be64 value}`; the rest is the output buffer.
//! A seed of `00` followed by a GSB tests the buffer from an empty cache.
//!
//! Checks: never a panic; the fast path (`apply_exit`) and the full validator
//! (`apply_exit_full`) give the same result and leave the same cache; on `Err` the cache
//! (values, valid, dirty, in-flight) is exactly as before; on `Ok` every element id is a
//! register (no BLANK), valid with the value the buffer carried, is not dirty, nothing is
//! in flight, the returned set is exactly the buffer's ids, the L1's own registers
//! (guest-wide, HDEC expiry) are as before, and no other thread-wide register stays valid
//! unless dirty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use papr_gsb::{GsidSet, GuestStateId};
use papr_vcpu_state::{sets, VcpuState};

const STEP: usize = 10;

/// The `n`-th id (modulo) of `set`.
fn nth(set: GsidSet, n: u8) -> Option<GuestStateId> {
    let len = set.len();
    if len == 0 {
        return None;
    }
    set.iter().nth(usize::from(n) % len)
}

/// The state the prefix describes, and the rest of the input.
fn prepare(data: &[u8]) -> (VcpuState, &[u8]) {
    let Some((&head, mut rest)) = data.split_first() else {
        return (VcpuState::new(), data);
    };
    let mut s = if head & 0x80 != 0 {
        VcpuState::new_zeroed()
    } else {
        VcpuState::new()
    };
    let steps = usize::from((head >> 4) & 7);
    let mut scratch = [0u8; sets::MAX_RUN_INPUT];
    for _ in 0..steps {
        let Some((step, tail)) = rest.split_first_chunk::<STEP>() else {
            break;
        };
        rest = tail;
        let [op, idx, v @ ..] = *step;
        let value = u64::from_be_bytes(v);
        match op % 5 {
            // Writable registers, truncated to their width (a too-wide value is an Err).
            0 | 1 => {
                if let Some(id) = nth(sets::WRITABLE, idx) {
                    let wide = u128::from(value) << (u32::from(op >> 4) * 8);
                    let _ = s.set(id, wide);
                }
            }
            2 => {
                let _ = s.flush(&mut scratch);
            }
            3 => {
                if let Some(id) = nth(sets::CACHED, idx) {
                    s.invalidate(sets::reload_group(id));
                }
            }
            _ => s.run_failed(),
        }
    }
    (s, rest)
}

/// Big-endian integer of `bytes` (any length up to 16), independent of the crate's decode.
fn be(bytes: &[u8]) -> Option<u128> {
    (bytes.len() <= 16).then(|| bytes.iter().fold(0u128, |a, &b| (a << 8) | u128::from(b)))
}

/// (id, value bytes) of every element of a buffer `apply_exit` accepted, parsed by hand.
fn elements(buf: &[u8]) -> Vec<(GuestStateId, &[u8])> {
    let count = u32::from_be_bytes(buf[..4].try_into().unwrap());
    let mut at = 4;
    let mut out = Vec::new();
    for _ in 0..count {
        let id = u16::from_be_bytes([buf[at], buf[at + 1]]);
        let len = usize::from(u16::from_be_bytes([buf[at + 2], buf[at + 3]]));
        out.push((GuestStateId(id), &buf[at + 4..at + 4 + len]));
        at += 4 + len;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let (mut s, output) = prepare(data);
    let before = s.clone();
    let mut full = s.clone();
    let result = s.apply_exit(output);
    assert_eq!(
        result,
        full.apply_exit_full(output),
        "fast path and full validator differ"
    );
    assert!(
        s == full,
        "fast path and full validator left different caches"
    );
    match result {
        Err(_) => assert!(s == before, "apply_exit changed the cache on error"),
        Ok(ids) => {
            let mut seen = GsidSet::EMPTY;
            for (id, bytes) in elements(output) {
                assert!(id != GuestStateId::BLANK, "a BLANK element was accepted");
                assert!(sets::THREAD_REGS.contains(id), "{id:?} is not a register");
                assert!(seen.insert(id), "{id:?} accepted twice");
                let want = be(bytes).unwrap_or_else(|| panic!("{id:?}: {} bytes", bytes.len()));
                assert_eq!(s.cached(id), Some(want), "{id:?} not stored as sent");
                assert!(!s.is_dirty(id), "{id:?} still dirty after the L0 sent it");
            }
            assert_eq!(ids, seen, "returned ids differ from the buffer's");
            assert!(s.in_flight().is_empty(), "in-flight registers left");
            for id in &sets::L1_OWNED.difference(seen) {
                assert_eq!(s.cached(id), before.cached(id), "the L1's {id:?} changed");
                assert_eq!(s.is_dirty(id), before.is_dirty(id));
            }
            let stale = sets::THREAD_REGS
                .difference(seen)
                .difference(before.dirty())
                .difference(sets::L1_OWNED);
            assert!(
                s.valid().intersection(stale).is_empty(),
                "registers the exit did not carry stayed valid"
            );
            assert_eq!(s.dirty(), before.dirty().difference(seen));
        }
    }
});
