//! The MMIO exit's fast path against the slow path, on arbitrary caches, instructions and
//! L0 answers: `begin_cached` (one validity check of NIA/MSR, the instruction's D form
//! decoded inline, no reload of NIA/MSR when the access needs no register, the real-mode
//! fetch inline) and `begin` give exactly what the reference gives — the instruction
//! fetched with `fetch`, then `prepare`, which reloads NIA, MSR and what the access needs
//! in one `load` — the same op or error, the same cache afterwards, the same GETs asking
//! the same ids, and the same fetch cache. And `begin_fast` (the run's shortcut for a
//! real-mode plain load from a cached page) answers exactly when it may, with exactly
//! `begin_cached`'s op, changing nothing — also after the tree changed under the cache.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod mmio_common;

use mmio_common::*;
use papr_gsb::{GsbBuilder, GsidSet, GuestStateId, Scope};
use papr_hcall::{HcallError, ReturnCode};
use papr_mmu_radix::{GuestRealAddr, L1RealAddr, NoInvalidate, Perms, PoolAlloc, RadixTable};
use papr_nestedv2::mmio::{
    begin, begin_cached, begin_fast, decode, fetch, needs_pid, prepare, FetchCache, GuestMmu, Insn,
    MmioError, MmioOp, MmioOptions, UpdateEa, MSR_IR, MSR_LE, MSR_SF,
};
use papr_vcpu_state::{sets::PTREGS, StateError, StateSource, VcpuState};
use proptest::prelude::*;

/// L1 memory: partition-scoped tables in [0, 1 MiB), L2 RAM gpa [0, 1 MiB) at [1, 2 MiB),
/// a spare page at 2 MiB.
const L1_SIZE: usize = 0x30_0000;
const RAM_L1: u64 = 0x10_0000;
const RAM_LEN: u64 = 0x10_0000;
/// Where the instruction is, in L2 RAM (and a NIA past RAM, which faults).
const CODE: u64 = 0x8000;
const MMIO_GPA: u64 = 0x1000_0000;

/// The L0: answers every GET with `value(id)` unless told to fail; records the ids asked.
#[derive(Debug, Default)]
struct L0 {
    fail: bool,
    asked: Vec<GsidSet>,
}

fn value(id: GuestStateId) -> u128 {
    match id {
        // Real mode, 64-bit, big- or little-endian per the id's bits: a state whose NIA
        // and MSR are reloaded fetches from RAM too.
        GuestStateId::MSR => u128::from(MSR_SF | MSR_LE),
        GuestStateId::NIA => u128::from(CODE),
        _ => u128::from(id.0) * 0x1_0001 + 0x10,
    }
}

impl StateSource for L0 {
    fn get_state(&mut self, _scope: Scope, gsb: &mut [u8]) -> Result<(), HcallError> {
        let mut asked = GsidSet::EMPTY;
        papr_vcpu_state::testing::answer(gsb, |id| {
            asked = asked.with(id);
            value(id)
        });
        self.asked.push(asked);
        if self.fail {
            return Err(HcallError::Failed {
                call: "H_GUEST_GET_STATE",
                code: ReturnCode::Parameter,
            });
        }
        Ok(())
    }
    fn set_state(&mut self, _scope: Scope, _gsb: &[u8]) -> Result<(), HcallError> {
        panic!("no SET expected");
    }
}

/// What the state holds before the exit is emulated.
#[derive(Debug, Clone)]
struct Start {
    /// NIA and MSR carried by the exit (else invalid), and that MSR.
    nia_msr: Option<(u64, u64)>,
    /// HDAR carried.
    hdar: Option<u64>,
    /// GPRs valid (bit n), with values.
    gprs: u32,
    /// PIDR valid.
    pidr: bool,
}

fn start() -> impl Strategy<Value = Start> {
    let msr = prop_oneof![
        Just(MSR_SF),
        Just(MSR_SF | MSR_LE),
        Just(MSR_LE),                   // 32-bit mode
        Just(MSR_SF | MSR_IR | MSR_LE), // relocated: no process table, a fetch fault
    ];
    let nia = prop_oneof![
        Just(CODE),
        Just(CODE | 0xF000_0000_0000_0000), // real mode drops bits 63..60
        Just(RAM_LEN + 0x100),              // past RAM: a partition fault
        Just(0x1000_0000_0000_0000u64 + CODE),
    ];
    (
        proptest::option::weighted(0.8, (nia, msr)),
        proptest::option::of(any::<u64>()),
        any::<u32>(),
        any::<bool>(),
    )
        .prop_map(|(nia_msr, hdar, gprs, pidr)| Start {
            nia_msr,
            hdar,
            gprs,
            pidr,
        })
}

/// The instruction at CODE: D forms (fast path), DS and X forms, update forms, invalid
/// forms, a prefix, anything.
fn word() -> impl Strategy<Value = u32> {
    prop_oneof![
        (32u32..=45, 0u32..32, 0u32..32, any::<u16>()).prop_map(|(po, rt, ra, d)| d_form(
            po,
            rt,
            ra,
            i32::from(d as i16)
        )),
        (0u32..32, 0u32..32, any::<u16>(), 0u32..3).prop_map(|(rt, ra, d, xo)| ds_form(
            58,
            rt,
            ra,
            i32::from(d as i16) & !3,
            xo
        )),
        (0u32..32, 0u32..32, any::<u16>(), 0u32..2).prop_map(|(rt, ra, d, xo)| ds_form(
            62,
            rt,
            ra,
            i32::from(d as i16) & !3,
            xo
        )),
        (
            prop_oneof![
                Just(23u32),
                Just(55),
                Just(151),
                Just(183),
                Just(534),
                Just(1014)
            ],
            0u32..32,
            0u32..32,
            0u32..32
        )
            .prop_map(|(xo, rt, ra, rb)| x_form(xo, rt, ra, rb)),
        Just(0x0400_0000u32),
        any::<u32>(),
    ]
}

fn state(s: &Start) -> VcpuState {
    let mut st = VcpuState::new();
    let mut out = [0u8; 64];
    let mut b = GsbBuilder::new(&mut out).unwrap();
    if let Some((nia, msr)) = s.nia_msr {
        b.put_u64(GuestStateId::NIA, nia).unwrap();
        b.put_u64(GuestStateId::MSR, msr).unwrap();
    }
    if let Some(hdar) = s.hdar {
        b.put_u64(GuestStateId::HDAR, hdar).unwrap();
    }
    let n = b.finish();
    st.apply_exit(&out[..n]).unwrap();
    for r in 0..32u8 {
        if s.gprs & (1 << r) != 0 {
            st.set_gpr(r, 0x100 + u64::from(r)).unwrap();
        }
    }
    if s.pidr {
        st.set_pidr(7);
    }
    st
}

struct Rig {
    mem: Box<Mem>,
}

impl Rig {
    fn new(word: u32) -> Self {
        let mem = Box::new(Mem::new(L1_SIZE));
        // Both byte orders' words at CODE: big-endian at CODE, and the MSR picks.
        mem.write_bytes(RAM_L1 + CODE, &word.to_be_bytes());
        mem.write_bytes(RAM_L1 + CODE + 4, &0xE460_0000u32.to_be_bytes());
        Self { mem }
    }

    fn tree(&self) -> RadixTable<&Mem, PoolAlloc<4>> {
        let alloc = PoolAlloc::<4>::new(L1RealAddr(0), 0x10_0000).unwrap();
        let mut t = RadixTable::new(&*self.mem, alloc).unwrap();
        // 4 KiB leaves, so that the code page can be moved.
        for off in (0..RAM_LEN).step_by(0x1000) {
            t.map(
                GuestRealAddr(off),
                L1RealAddr(RAM_L1 + off),
                0x1000,
                Perms::RWX,
            )
            .unwrap();
        }
        t
    }
}

/// The slow path: the registers as `begin` always read them (a validity test of each,
/// a reload of PTREGS + PIDR), the instruction through `fetch`, then `prepare`.
fn reference(
    state: &mut VcpuState,
    src: &mut L0,
    mem: &Mem,
    mmu: &GuestMmu,
    opts: MmioOptions,
) -> Result<MmioOp, MmioError> {
    let pidr = GsidSet::EMPTY.with(GuestStateId::PIDR);
    if !(state.is_valid(GuestStateId::NIA) && state.is_valid(GuestStateId::MSR)) {
        state.load(PTREGS.union(pidr), src)?;
    }
    let reg = |state: &VcpuState, id| {
        state
            .cached(id)
            .map(|v| v as u64)
            .ok_or(MmioError::State(StateError::NotCached { id }))
    };
    let nia = reg(state, GuestStateId::NIA)?;
    let msr = reg(state, GuestStateId::MSR)?;
    let pid = if needs_pid(msr, nia) {
        state.load(pidr.union(GsidSet::GPRS), src)?;
        state.cached(GuestStateId::PIDR).map_or(0, |v| v as u32)
    } else {
        0
    };
    let f = fetch(mem, mmu, msr, nia, pid)?;
    prepare(state, src, f.insn, GuestRealAddr(MMIO_GPA), opts)
}

fn opts(hdar: bool) -> MmioOptions {
    MmioOptions {
        update_ea: if hdar {
            UpdateEa::Hdar
        } else {
            UpdateEa::Registers
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn fast_begin_is_the_slow_path(s in start(), word in word(), hdar: bool, fail: bool, warm: bool) {
        let rig = Rig::new(word);
        let tree = rig.tree();
        let mmu = GuestMmu { partition_root: tree.root(), process_table: None };
        let opts = opts(hdar);

        let mut slow_state = state(&s);
        let mut slow_src = L0 { fail, ..L0::default() };
        let slow = reference(&mut slow_state, &mut slow_src, &rig.mem, &mmu, opts);

        // The cached fast path, from an empty cache or one warmed on this page.
        let mut cache = FetchCache::new();
        if warm {
            let _ = cache.fetch(&*rig.mem, &mmu, tree.generation(), MSR_SF, CODE, 0);
        }
        let mut fast_state = state(&s);
        // The shortcut first, on the state and cache as they are.
        let shortcut = begin_fast(
            &fast_state, &*rig.mem, tree.root(), tree.generation(), &cache,
            GuestRealAddr(MMIO_GPA),
        );
        let (state_before, cache_before) = (fast_state.clone(), cache);
        let mut fast_src = L0 { fail, ..L0::default() };
        let fast = begin_cached(
            &mut fast_state, &mut fast_src, &*rig.mem, &mmu, tree.generation(), &mut cache,
            GuestRealAddr(MMIO_GPA), opts,
        );
        prop_assert_eq!(&fast, &slow);
        prop_assert!(fast_state == slow_state, "{:?}\n!= {:?}", fast_state, slow_state);
        prop_assert_eq!(&fast_src.asked, &slow_src.asked);

        // The shortcut answers exactly for a real-mode plain load from the cached page,
        // with `begin_cached`'s op, when that changed nothing and asked nothing.
        let plain_load = s.nia_msr.is_some_and(|(nia, msr)| {
            msr & MSR_IR == 0
                && warm
                && (nia & !3) & 0x0FFF_FFFF_FFFF_FFFF & !0xFFF == CODE
                && slow.as_ref().is_ok_and(|op| {
                    // A D form (primary opcode 32–45), not a DS or X form.
                    (32..=45).contains(&(op.insn.word >> 26))
                        && decode(Insn::word(op.insn.word))
                            .is_ok_and(|a| !a.is_write && a.update.is_none())
                })
        }) && slow.is_ok();
        match shortcut {
            Some(op) => {
                prop_assert_eq!(Ok(op), fast);
                prop_assert!(fast_state == state_before);
                prop_assert_eq!(cache, cache_before);
                prop_assert!(fast_src.asked.is_empty());
            }
            None => prop_assert!(!plain_load, "no shortcut for {:?}", fast),
        }

        // The uncached `begin` too.
        let mut state2 = state(&s);
        let mut src2 = L0 { fail, ..L0::default() };
        let uncached = begin(&mut state2, &mut src2, &*rig.mem, &mmu, GuestRealAddr(MMIO_GPA), opts);
        prop_assert_eq!(&uncached, &slow);
        prop_assert!(state2 == slow_state);
        prop_assert_eq!(&src2.asked, &slow_src.asked);

        // And the cache ends as an uncached fetch through it would leave it.
        if let Some((nia, msr)) = s.nia_msr.filter(|&(_, msr)| msr & MSR_IR == 0) {
            let mut expect = FetchCache::new();
            if warm {
                let _ = expect.fetch(&*rig.mem, &mmu, tree.generation(), MSR_SF, CODE, 0);
            }
            let _ = expect.fetch(&*rig.mem, &mmu, tree.generation(), msr, nia, 0);
            prop_assert_eq!(cache, expect);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// The shortcut's own ground, densely: real mode, a warm cache, D-form words (loads,
    /// stores, update forms, invalid update forms).
    #[test]
    fn shortcut_is_begin_cached_on_d_forms(
        po in 32u32..=45, rt in 0u32..32, ra in 0u32..32, d: i16, le: bool, gprs: u32,
        hdar: bool,
    ) {
        let word = d_form(po, rt, ra, i32::from(d));
        // Stored so that the L2's byte order fetches `word`.
        let rig = Rig::new(if le { word.swap_bytes() } else { word });
        let tree = rig.tree();
        let mmu = GuestMmu { partition_root: tree.root(), process_table: None };
        let msr = MSR_SF | if le { MSR_LE } else { 0 };
        let s = Start { nia_msr: Some((CODE, msr)), hdar: Some(MMIO_GPA), gprs, pidr: false };
        let mut cache = FetchCache::new();
        let _ = cache.fetch(&*rig.mem, &mmu, tree.generation(), MSR_SF, CODE, 0);
        let mut st = state(&s);
        let shortcut = begin_fast(&st, &*rig.mem, tree.root(), tree.generation(), &cache,
                                  GuestRealAddr(MMIO_GPA));
        let before = (st.clone(), cache);
        let mut src = L0::default();
        let general = begin_cached(&mut st, &mut src, &*rig.mem, &mmu, tree.generation(),
                                   &mut cache, GuestRealAddr(MMIO_GPA), opts(hdar));
        let plain = general.as_ref().is_ok_and(|op| {
            op.insn.word == word && !op.access.is_write && op.access.update.is_none()
        });
        prop_assert_eq!(shortcut.is_some(), plain);
        if let Some(op) = shortcut {
            prop_assert_eq!(Ok(op), general);
            prop_assert!(st == before.0);
            prop_assert_eq!(cache, before.1);
            prop_assert!(src.asked.is_empty());
        }
    }
}

/// The usual exit: NIA and MSR came with it, a D-form load needs nothing more — no GET.
#[test]
fn a_d_form_load_with_nia_and_msr_makes_no_get() {
    let rig = Rig::new(d_form(32, 5, 4, 0)); // lwz r5,0(r4)
    let tree = rig.tree();
    let mmu = GuestMmu {
        partition_root: tree.root(),
        process_table: None,
    };
    let s = Start {
        nia_msr: Some((CODE, MSR_SF)),
        hdar: Some(MMIO_GPA),
        gprs: 0,
        pidr: false,
    };
    let mut st = state(&s);
    let mut src = L0::default();
    let mut cache = FetchCache::new();
    let op = begin_cached(
        &mut st,
        &mut src,
        &*rig.mem,
        &mmu,
        tree.generation(),
        &mut cache,
        GuestRealAddr(MMIO_GPA),
        opts(true),
    )
    .unwrap();
    assert!(src.asked.is_empty());
    assert_eq!(
        (op.access.size, op.access.reg, op.nia, op.msr),
        (4, 5, CODE, MSR_SF)
    );
    assert!(cache.is_filled());
}

/// A cached translation from an older tree is not used: after the code page moved, the
/// shortcut declines or reads the new page, as `begin_cached` does.
#[test]
fn the_shortcut_follows_the_tree() {
    let rig = Rig::new(d_form(32, 5, 4, 0)); // lwz r5,0(r4)
    let mut tree = rig.tree();
    let mmu = GuestMmu {
        partition_root: tree.root(),
        process_table: None,
    };
    let s = Start {
        nia_msr: Some((CODE, MSR_SF)),
        hdar: None,
        gprs: 0,
        pidr: false,
    };
    let st = state(&s);
    let mut cache = FetchCache::new();
    let gpa = GuestRealAddr(MMIO_GPA);
    let _ = cache.fetch(&*rig.mem, &mmu, tree.generation(), MSR_SF, CODE, 0);
    let op = begin_fast(&st, &*rig.mem, tree.root(), tree.generation(), &cache, gpa).unwrap();
    assert_eq!(op.access.reg, 5);
    // Move the code page to another L1 page holding lbz r7,0(r4).
    let moved = RAM_L1 + RAM_LEN;
    rig.mem
        .write_bytes(moved + (CODE & 0xFFF), &d_form(34, 7, 4, 0).to_be_bytes());
    tree.unmap(GuestRealAddr(CODE), 0x1000, &mut NoInvalidate)
        .unwrap();
    tree.map(GuestRealAddr(CODE), L1RealAddr(moved), 0x1000, Perms::RWX)
        .unwrap();
    let g = tree.generation();
    assert_eq!(
        begin_fast(&st, &*rig.mem, tree.root(), g, &cache, gpa),
        None
    );
    // Through the general path the cache learns the new page; then the shortcut reads it.
    let mut st2 = st.clone();
    let op = begin_cached(
        &mut st2,
        &mut L0::default(),
        &*rig.mem,
        &mmu,
        g,
        &mut cache,
        gpa,
        opts(true),
    )
    .unwrap();
    assert_eq!((op.access.reg, op.access.size), (7, 1));
    assert_eq!(
        begin_fast(&st, &*rig.mem, tree.root(), g, &cache, gpa),
        Some(op)
    );
}
