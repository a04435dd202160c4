//! Completion through the `VcpuState` cache, with a state source counting GETs: 0 for a
//! load, 1 for a store (also from user space), never more than 1 per exit.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod mmio_common;

use mmio_common::*;
use papr_gsb::{GsbBuilder, GsidSet, GuestStateId, Scope};
use papr_hcall::HcallError;
use papr_nestedv2::mmio::{
    begin, prepare, Insn, MmioError, MmioOptions, UnsupportedReason, UpdateEa, MSR_IR, MSR_LE,
    MSR_PR, MSR_SF,
};
use papr_nestedv2::GuestRealAddr;
use papr_vcpu_state::{StateSource, VcpuState};
use std::collections::HashMap;

/// The L0's copy of the registers; counts `H_GUEST_GET_STATE`s and the ids each asked.
#[derive(Debug, Default)]
struct CountingL0 {
    regs: HashMap<GuestStateId, u64>,
    gets: usize,
    asked: Vec<GsidSet>,
}

impl CountingL0 {
    fn with_gprs(gprs: &[(u8, u64)]) -> Self {
        let mut s = Self::default();
        for &(n, v) in gprs {
            s.regs.insert(GuestStateId::gpr(n).unwrap(), v);
        }
        s
    }
}

impl StateSource for CountingL0 {
    fn get_state(&mut self, _scope: Scope, gsb: &mut [u8]) -> Result<(), HcallError> {
        self.gets += 1;
        let mut asked = GsidSet::EMPTY;
        let regs = &self.regs;
        papr_vcpu_state::testing::answer(gsb, |id| {
            asked = asked.with(id);
            u128::from(regs.get(&id).copied().unwrap_or(0))
        });
        self.asked.push(asked);
        Ok(())
    }
    fn set_state(&mut self, _scope: Scope, _gsb: &[u8]) -> Result<(), HcallError> {
        panic!("no SET expected");
    }
}

const KMSR: u64 = MSR_SF | MSR_IR | 0x10;
const KERNEL_EA: u64 = 0xC000_0000_0000_4000;
const USER_EA: u64 = 0x1000_0000;
const MMIO: GuestRealAddr = GuestRealAddr(0x2000_0000);

/// The cache right after an HDSI exit: HDAR, HDSISR, ASDR, NIA, MSR valid, nothing else.
fn after_hdsi(nia: u64, msr: u64, hdar: u64) -> VcpuState {
    let mut s = VcpuState::new();
    let mut out = [0u8; 256];
    let mut b = GsbBuilder::new(&mut out).unwrap();
    b.put_u64(GuestStateId::HDAR, hdar).unwrap();
    b.put_reg(GuestStateId::HDSISR, 0x4000_0000).unwrap();
    b.put_u64(GuestStateId::ASDR, MMIO.0).unwrap();
    b.put_u64(GuestStateId::NIA, nia).unwrap();
    b.put_u64(GuestStateId::MSR, msr).unwrap();
    let n = b.finish();
    s.apply_exit(&out[..n]).unwrap();
    s
}

/// A world with the kernel page at `KERNEL_EA` (gpa 0x50_0000) and the user page at
/// `USER_EA` (gpa 0x60_0000), holding `words` at offset 0 of both.
fn world(words: &[u32], le: bool) -> World {
    let w = World::new();
    w.map_l2(ROOT_PID0, KERNEL_EA, 0x50_0000, 3, 9, PRIV | READ | EXEC);
    w.map_l2(ROOT_USER, USER_EA, 0x60_0000, 3, 9, READ | EXEC);
    w.write_insns(0x50_0000, words, le);
    w.write_insns(0x60_0000, words, le);
    w
}

fn gpr(s: &mut VcpuState, n: u8) -> u64 {
    s.gpr(n, &mut papr_vcpu_state::Detached).unwrap()
}

#[test]
fn mmio_kernel_load_needs_no_get() {
    // lwz r3, 8(r4)
    let w = world(&[d_form(32, 3, 4, 8)], false);
    let mut s = after_hdsi(KERNEL_EA, KMSR, 0xC000_0000_2000_0008);
    let mut l0 = CountingL0::default();
    let op = begin(
        &mut s,
        &mut l0,
        w.mem,
        &w.mmu(),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap();
    assert_eq!(
        (op.size(), op.is_write(), op.store_data()),
        (4, false, None)
    );
    assert_eq!(
        op.complete_load(&mut s, &[0xDE, 0xAD, 0xBE, 0xEF]).unwrap(),
        0xDEAD_BEEF
    );
    assert_eq!(l0.gets, 0, "a load costs the RUN only");
    assert_eq!(gpr(&mut s, 3), 0xDEAD_BEEF);
    assert_eq!(
        s.nia(&mut papr_vcpu_state::Detached).unwrap(),
        KERNEL_EA + 4
    );
    // Both writes ride in the next run input.
    assert!(s.is_dirty(GuestStateId::GPR3) && s.is_dirty(GuestStateId::NIA));
    assert_eq!(s.dirty().len(), 2);
}

#[test]
fn mmio_kernel_store_one_get() {
    // stw r5, 0(r4)
    let w = world(&[d_form(36, 5, 4, 0)], false);
    let mut s = after_hdsi(KERNEL_EA, KMSR, 0);
    let mut l0 = CountingL0::with_gprs(&[(5, 0xAAAA_BBBB_1122_3344)]);
    let op = begin(
        &mut s,
        &mut l0,
        w.mem,
        &w.mmu(),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap();
    assert_eq!(op.store_data(), Some(&[0x11, 0x22, 0x33, 0x44][..]));
    op.complete_store(&mut s).unwrap();
    assert_eq!(l0.gets, 1, "a store costs RUN + one GET");
    assert!(l0.asked[0].contains(GuestStateId::GPR5));
    assert_eq!(
        s.nia(&mut papr_vcpu_state::Detached).unwrap(),
        KERNEL_EA + 4
    );
    assert_eq!(s.dirty().len(), 1);
}

#[test]
fn mmio_little_endian_kernel_store_and_byte_reversed() {
    // LE L2: sth r5,0(r4) then sthbrx r5,0,r4 (instructions stored little-endian).
    for (word, want) in [
        (d_form(44, 5, 4, 0), [0x44, 0x33]),
        (x_form(918, 5, 0, 4), [0x33, 0x44]),
    ] {
        let w = world(&[word], true);
        let mut s = after_hdsi(KERNEL_EA, KMSR | MSR_LE, 0);
        let mut l0 = CountingL0::with_gprs(&[(5, 0x3344), (4, 0x99)]);
        let op = begin(
            &mut s,
            &mut l0,
            w.mem,
            &w.mmu(),
            MMIO,
            MmioOptions::default(),
        )
        .unwrap();
        assert_eq!(op.store_data(), Some(&want[..]));
        assert_eq!(l0.gets, 1);
    }
}

#[test]
fn mmio_user_store_and_load_one_get_with_pidr() {
    // std r7, 16(r8) from user space: PIDR and the source GPR in one GET.
    let w = world(&[ds_form(62, 7, 8, 16, 0)], false);
    let umsr = KMSR | MSR_PR;
    let mut s = after_hdsi(USER_EA, umsr, 0);
    let mut l0 = CountingL0::with_gprs(&[(7, 0x0102_0304_0506_0708)]);
    l0.regs.insert(GuestStateId::PIDR, u64::from(USER_PID));
    let op = begin(
        &mut s,
        &mut l0,
        w.mem,
        &w.mmu(),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap();
    assert_eq!(op.store_data(), Some(&[1, 2, 3, 4, 5, 6, 7, 8][..]));
    op.complete_store(&mut s).unwrap();
    assert_eq!(
        l0.gets, 1,
        "Linux needs RUN + GET PIDR + GET GPR; here RUN + 1"
    );
    assert!(l0.asked[0].contains(GuestStateId::PIDR) && l0.asked[0].contains(GuestStateId::GPR7));

    // lhz r3, 0(r8) from user space: PIDR is unavoidable (not in the HDSI output).
    let w = world(&[d_form(40, 3, 8, 0)], false);
    let mut s = after_hdsi(USER_EA, umsr, 0);
    let mut l0 = CountingL0::default();
    l0.regs.insert(GuestStateId::PIDR, u64::from(USER_PID));
    let op = begin(
        &mut s,
        &mut l0,
        w.mem,
        &w.mmu(),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap();
    op.complete_load(&mut s, &[0xBE, 0xEF]).unwrap();
    assert_eq!((l0.gets, gpr(&mut s, 3)), (1, 0xBEEF));
}

#[test]
fn mmio_real_mode_store() {
    let w = World::new();
    w.write_insns(0x8000, &[d_form(38, 9, 1, -1)], false); // stb r9,-1(r1)
    let mut s = after_hdsi(0x8000, MSR_SF, 0);
    let mut l0 = CountingL0::with_gprs(&[(9, 0x1FF)]);
    let op = begin(
        &mut s,
        &mut l0,
        w.mem,
        &w.mmu(),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap();
    assert_eq!((op.store_data(), l0.gets), (Some(&[0xFF][..]), 1));
}

#[test]
fn mmio_update_forms() {
    // lwzu r3, -4(r9): RA from the registers (one GET) or from HDAR (none).
    let w = world(&[d_form(33, 3, 9, -4)], false);
    for (opts, gets) in [
        (
            MmioOptions {
                update_ea: UpdateEa::Registers,
            },
            1,
        ),
        (
            MmioOptions {
                update_ea: UpdateEa::Hdar,
            },
            0,
        ),
    ] {
        let mut s = after_hdsi(KERNEL_EA, KMSR, 0xC000_0000_2000_0FFC);
        let mut l0 = CountingL0::with_gprs(&[(9, 0xC000_0000_2000_1000)]);
        let op = begin(&mut s, &mut l0, w.mem, &w.mmu(), MMIO, opts).unwrap();
        assert_eq!(op.update_ea, Some(0xC000_0000_2000_0FFC));
        op.complete_load(&mut s, &[0, 0, 0, 7]).unwrap();
        assert_eq!((gpr(&mut s, 3), gpr(&mut s, 9)), (7, 0xC000_0000_2000_0FFC));
        assert_eq!(l0.gets, gets, "{opts:?}");
    }
    // stdux r5, r9, r10: RS, RA and RB in one GET.
    let w = world(&[x_form(181, 5, 9, 10)], false);
    let mut s = after_hdsi(KERNEL_EA, KMSR, 0);
    let mut l0 = CountingL0::with_gprs(&[(5, 42), (9, 0x1000), (10, 0x20)]);
    let op = begin(
        &mut s,
        &mut l0,
        w.mem,
        &w.mmu(),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap();
    op.complete_store(&mut s).unwrap();
    assert_eq!((l0.gets, gpr(&mut s, 9)), (1, 0x1020));
    let asked = l0.asked[0];
    for n in [5, 9, 10] {
        assert!(asked.contains(GuestStateId::gpr(n).unwrap()));
    }
    // stwu r1, -16(r1): RS = RA, data is the old value.
    let w = world(&[d_form(37, 1, 1, -16)], false);
    let mut s = after_hdsi(KERNEL_EA, KMSR, 0);
    let mut l0 = CountingL0::with_gprs(&[(1, 0x1_0000_0100)]);
    let op = begin(
        &mut s,
        &mut l0,
        w.mem,
        &w.mmu(),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap();
    assert_eq!(op.store_data(), Some(&[0, 0, 1, 0][..]));
    op.complete_store(&mut s).unwrap();
    assert_eq!(gpr(&mut s, 1), 0x1_0000_00F0);
}

#[test]
fn mmio_sign_extension_and_prefixed() {
    // plha r4, 0x12345(r0) — MLS, big-endian: NIA += 8, sign-extended.
    let (p, sfx) = prefixed(2, false, 42, 4, 0, 0x1_2345);
    let w = world(&[p, sfx], false);
    let mut s = after_hdsi(KERNEL_EA, KMSR, 0);
    let mut l0 = CountingL0::default();
    let op = begin(
        &mut s,
        &mut l0,
        w.mem,
        &w.mmu(),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap();
    assert_eq!(op.insn, Insn::new(p, Some(sfx)));
    assert_eq!(
        op.complete_load(&mut s, &[0xFF, 0xFE]).unwrap(),
        0xFFFF_FFFF_FFFF_FFFE
    );
    assert_eq!(
        s.nia(&mut papr_vcpu_state::Detached).unwrap(),
        KERNEL_EA + 8
    );
    assert_eq!(l0.gets, 0);
    // pstd r6, PC-relative, little-endian L2.
    let (p, sfx) = prefixed(0, true, 61, 6, 0, -0x100);
    let w = world(&[p, sfx], true);
    let mut s = after_hdsi(KERNEL_EA, KMSR | MSR_LE, 0);
    let mut l0 = CountingL0::with_gprs(&[(6, 0x0807_0605_0403_0201)]);
    let op = begin(
        &mut s,
        &mut l0,
        w.mem,
        &w.mmu(),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap();
    assert_eq!(op.store_data(), Some(&[1, 2, 3, 4, 5, 6, 7, 8][..]));
    op.complete_store(&mut s).unwrap();
    assert_eq!(
        (l0.gets, s.nia(&mut papr_vcpu_state::Detached).unwrap()),
        (1, KERNEL_EA + 8)
    );
    // lwa r3 / lwaux.
    let w = world(&[ds_form(58, 3, 4, 0, 2)], false);
    let mut s = after_hdsi(KERNEL_EA, KMSR, 0);
    let op = begin(
        &mut s,
        &mut CountingL0::default(),
        w.mem,
        &w.mmu(),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap();
    assert_eq!(
        op.complete_load(&mut s, &[0x80, 0, 0, 1]).unwrap(),
        0xFFFF_FFFF_8000_0001
    );
}

#[test]
fn mmio_unsupported_and_fetch_faults_cost_nothing() {
    // lwarx r3,0,r4
    let w = world(&[x_form(20, 3, 0, 4)], false);
    let mut s = after_hdsi(KERNEL_EA, KMSR, 0);
    let mut l0 = CountingL0::default();
    let e = begin(
        &mut s,
        &mut l0,
        w.mem,
        &w.mmu(),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(e, MmioError::Unsupported(u) if u.reason == UnsupportedReason::Atomic),
        "{e:?}"
    );
    // NIA in an unmapped kernel page.
    let mut s = after_hdsi(KERNEL_EA + 0x10_0000, KMSR, 0);
    let e = begin(
        &mut s,
        &mut l0,
        w.mem,
        &w.mmu(),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap_err();
    assert!(
        matches!(e, MmioError::Fetch(f) if f.l2_interrupt().is_some()),
        "{e:?}"
    );
    assert_eq!(l0.gets, 0);
    assert!(s.dirty().is_empty());
    // A short completion is refused and changes nothing.
    let w = world(&[d_form(32, 3, 4, 0)], false);
    let mut s = after_hdsi(KERNEL_EA, KMSR, 0);
    let op = begin(
        &mut s,
        &mut l0,
        w.mem,
        &w.mmu(),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap();
    assert_eq!(
        op.complete_load(&mut s, &[1, 2]).unwrap_err(),
        MmioError::DataLength { needed: 4, got: 2 }
    );
    assert_eq!(
        op.complete_load(&mut s, &[1, 2, 3, 4, 5]).unwrap_err(),
        MmioError::DataLength { needed: 4, got: 5 }
    );
    assert!(s.dirty().is_empty());
}

#[test]
fn mmio_missing_nia_and_msr_one_get_in_all() {
    // A cache that lost everything: NIA, MSR, PIDR and all GPRs in a single GET.
    let w = world(&[x_form(151, 5, 4, 6)], false); // stwx r5,r4,r6
    let mut s = VcpuState::new();
    let mut l0 = CountingL0::with_gprs(&[(5, 0x0A0B_0C0D)]);
    l0.regs.insert(GuestStateId::NIA, USER_EA);
    l0.regs.insert(GuestStateId::MSR, KMSR | MSR_PR);
    l0.regs.insert(GuestStateId::PIDR, u64::from(USER_PID));
    let op = begin(
        &mut s,
        &mut l0,
        w.mem,
        &w.mmu(),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap();
    assert_eq!(op.store_data(), Some(&[0x0A, 0x0B, 0x0C, 0x0D][..]));
    assert_eq!(l0.gets, 1);
}

#[test]
fn mmio_prepare_with_known_instruction() {
    // The VMM already has the word (e.g. from HEIR): no fetch at all.
    let mut s = after_hdsi(0x100, MSR_SF, 0);
    let mut l0 = CountingL0::default();
    let op = prepare(
        &mut s,
        &mut l0,
        Insn::word(d_form(34, 3, 4, 0)),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap();
    assert_eq!(op.complete_load(&mut s, &[0x80]).unwrap(), 0x80);
    assert_eq!((l0.gets, gpr(&mut s, 3)), (0, 0x80));
    // 32-bit mode: NIA wraps at 4 GiB.
    let mut s = after_hdsi(0xFFFF_FFFC, 0, 0);
    let op = prepare(
        &mut s,
        &mut l0,
        Insn::word(d_form(34, 3, 4, 0)),
        MMIO,
        MmioOptions::default(),
    )
    .unwrap();
    assert_eq!(op.next_nia(), 0);
}
