//! Which ids the cache holds, which it may write, and the reload groups — all derived from
//! [`papr_gsb::TABLE`] at compile time.

use papr_gsb::{Access, GsidSet, GuestStateId, Scope, ValueKind, GSID_COUNT, TABLE};

/// Every defined id in `set` whose table row passes `keep`.
// `i < GSID_COUNT == TABLE.len()`; `const fn` cannot use `get()`.
#[allow(clippy::indexing_slicing)]
const fn filter(set: GsidSet, scope: Scope, writable_only: bool, words_only: bool) -> GsidSet {
    let mut out = GsidSet::EMPTY;
    let mut i = 0;
    while i < GSID_COUNT {
        let row = &TABLE[i];
        let scope_ok = matches!(
            (row.scope, scope),
            (Scope::Thread, Scope::Thread)
                | (Scope::Guest, Scope::Guest)
                | (Scope::Host, Scope::Host)
        );
        let access_ok = !writable_only || matches!(row.access, Access::ReadWrite);
        let kind_ok = !words_only || matches!(row.kind, ValueKind::U32 | ValueKind::U64);
        if scope_ok && access_ok && kind_ok && set.contains(row.id) {
            out = out.with(row.id);
        }
        i += 1;
    }
    out
}

/// Thread-wide registers: every thread-wide id of the table except the meta ids
/// (0x0C00 RUN_INPUT, 0x0C01 RUN_OUTPUT, 0x0C02 VPA), i.e. GPRs, SPRs, FPRs/VSRs/VRs,
/// HDEC_EXPIRY_TB and the read-only exit registers HDAR, HDSISR, HEIR, ASDR (167 ids).
pub const THREAD_REGS: GsidSet =
    GsidSet::THREAD_WIDE.difference(GsidSet::range(GuestStateId::RUN_INPUT, GuestStateId::VPA));

/// Guest-wide registers the cache holds: the writable guest-wide ids with an integer value
/// (LOGICAL_PVR, TB_OFFSET). They reach the L0 only through `H_GUEST_SET_STATE`
/// ([`VcpuState::flush_guest_wide`](crate::VcpuState::flush_guest_wide)); the L1 is their
/// source of truth, so an exit never invalidates them.
pub const GUEST_REGS: GsidSet = filter(GsidSet::GUEST_WIDE, Scope::Guest, true, true);

/// Registers only the L1 writes, which an exit therefore never makes stale: the
/// [`GUEST_REGS`] and HDEC_EXPIRY_TB (the L0 reads the expiry the L1 set; QEMU stores it
/// per vCPU and never changes it). A run loop can keep an expiry that is still ahead and
/// not send it again.
pub const L1_OWNED: GsidSet = GUEST_REGS.with(GuestStateId::HDEC_EXPIRY_TB);

/// Every id a [`VcpuState`](crate::VcpuState) holds: [`THREAD_REGS`] ∪ [`GUEST_REGS`].
pub const CACHED: GsidSet = THREAD_REGS.union(GUEST_REGS);

/// Ids the L1 may set: thread-wide registers a run input may carry
/// ([`GsidSet::RUN_INPUT`]) and [`GUEST_REGS`]. The exit registers are read-only.
pub const WRITABLE: GsidSet = GsidSet::RUN_INPUT.union(GUEST_REGS);

/// Reload group of the "problem-state" registers an exit handler usually needs together:
/// GPR0–31, CR, XER, CTR, LR, NIA and MSR (Linux's `ptregs` set plus MSR).
pub const PTREGS: GsidSet = GsidSet::GPRS
    .with(GuestStateId::CR)
    .with(GuestStateId::XER)
    .with(GuestStateId::CTR)
    .with(GuestStateId::LR)
    .with(GuestStateId::NIA)
    .with(GuestStateId::MSR);

/// Reload group of the floating-point and vector state: VSR0–63 (FPRs and VRs), FPSCR,
/// VSCR, VRSAVE.
pub const FP_VECTOR: GsidSet = GsidSet::VSRS
    .with(GuestStateId::FPSCR)
    .with(GuestStateId::VSCR)
    .with(GuestStateId::VRSAVE);

/// The group that is reloaded, in one `H_GUEST_GET_STATE`, when `id` is read while
/// invalid: [`PTREGS`] or [`FP_VECTOR`] for their members, the id alone otherwise.
/// (Only the members not already valid are fetched.)
///
/// ```
/// use papr_gsb::GuestStateId;
/// use papr_vcpu_state::sets;
/// assert_eq!(sets::reload_group(GuestStateId::GPR7), sets::PTREGS);
/// assert_eq!(sets::reload_group(GuestStateId::VSR40), sets::FP_VECTOR);
/// assert_eq!(sets::reload_group(GuestStateId::PIDR).len(), 1);
/// ```
pub const fn reload_group(id: GuestStateId) -> GsidSet {
    if PTREGS.contains(id) {
        PTREGS
    } else if FP_VECTOR.contains(id) {
        FP_VECTOR
    } else {
        GsidSet::EMPTY.with(id)
    }
}

/// Wire bytes (4-byte header included) of a buffer holding one element per member of
/// `set`, as a `const fn` (HEIR counted at its table size, 4 bytes).
// `i < GSID_COUNT == TABLE.len()`; `const fn` cannot use `get()`.
#[allow(clippy::indexing_slicing)]
pub const fn wire_size(set: &GsidSet) -> usize {
    let mut n = papr_gsb::HEADER_SIZE;
    let mut i = 0;
    while i < GSID_COUNT {
        let row = &TABLE[i];
        if set.contains(row.id) {
            n += papr_gsb::ELEMENT_HEADER_SIZE + row.kind.size() as usize;
        }
        i += 1;
    }
    n
}

/// Cached ids by value size, for [`wire_size_fast`].
const WORDS32: GsidSet = by_size(4);
const WORDS64: GsidSet = by_size(8);
const VECTORS: GsidSet = by_size(16);

// `i < GSID_COUNT == TABLE.len()`; `const fn` cannot use `get()`.
#[allow(clippy::indexing_slicing)]
const fn by_size(size: u16) -> GsidSet {
    let mut out = GsidSet::EMPTY;
    let mut i = 0;
    while i < GSID_COUNT {
        if TABLE[i].kind.size() == size && CACHED.contains(TABLE[i].id) {
            out = out.with(TABLE[i].id);
        }
        i += 1;
    }
    out
}

/// [`wire_size`] of a subset of [`CACHED`] by three popcounts (no walk over the table).
#[inline]
pub(crate) fn wire_size_fast(set: &GsidSet) -> usize {
    papr_gsb::HEADER_SIZE
        + 8 * set.intersection(WORDS32).len()
        + 12 * set.intersection(WORDS64).len()
        + 20 * set.intersection(VECTORS).len()
}

/// Size of a run input buffer that can carry every writable thread-wide register at once
/// (what a full flush needs; Linux's `gsm_size` for the run input).
pub const MAX_RUN_INPUT: usize = wire_size(&GsidSet::RUN_INPUT);

/// Largest GET request a reload builds (every cached id of one scope).
pub(crate) const MAX_REQUEST: usize = wire_size(&THREAD_REGS);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_what_the_table_says() {
        assert_eq!(THREAD_REGS.len(), 167);
        assert_eq!(
            GUEST_REGS.iter().collect::<std::vec::Vec<_>>(),
            [GuestStateId::LOGICAL_PVR, GuestStateId::TB_OFFSET]
        );
        assert_eq!(CACHED.len(), 169);
        assert!(WRITABLE.is_subset(&CACHED));
        for id in [
            GuestStateId::HDAR,
            GuestStateId::HDSISR,
            GuestStateId::HEIR,
            GuestStateId::ASDR,
        ] {
            assert!(CACHED.contains(id) && !WRITABLE.contains(id));
        }
        assert!(!CACHED.contains(GuestStateId::RUN_INPUT));
        assert!(!CACHED.contains(GuestStateId::PARTITION_TABLE));
        assert_eq!(PTREGS.len(), 38);
        assert_eq!(FP_VECTOR.len(), 67);
        assert!(PTREGS.is_subset(&WRITABLE) && FP_VECTOR.is_subset(&WRITABLE));
    }

    #[test]
    fn wire_sizes_match_gsb() {
        for s in [THREAD_REGS, GUEST_REGS, PTREGS, GsidSet::RUN_INPUT] {
            assert_eq!(wire_size(&s), 4 + s.wire_size());
            assert_eq!(wire_size_fast(&s), wire_size(&s));
        }
        const { assert!(MAX_RUN_INPUT <= MAX_REQUEST) };
    }
}
