//! The cache against a fake L0 reached through the real `NestedHv` typed API, with every
//! hcall counted by `CountingHcall`.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use papr_gsb::{
    Gsb, GsbBuilder, GsbError, GsidSet, GuestStateId, Policy, Request, Scope, GSID_COUNT,
};
use papr_hcall::{
    opcode, CountingHcall, GuestId, Hcall, HcallError, HcallOutput, L1RealAddr, MemoryError,
    NestedHv, NoDelay, RealMemory, ReturnCode, VcpuId,
};
use papr_vcpu_state::{sets, HvSource, MockStateSource, StateError, VcpuState};
use std::sync::{Arc, Mutex};

const SCRATCH: L1RealAddr = L1RealAddr(0x1000);
const INPUT: u64 = 0x2000;
const OUTPUT: u64 = 0x3000;
const BUF: usize = 4096;

/// L1 memory `0..len` as a shared byte vector.
#[derive(Clone, Debug)]
struct VecMemory(Arc<Mutex<Vec<u8>>>);

impl RealMemory for VecMemory {
    fn read(&self, addr: L1RealAddr, buf: &mut [u8]) -> Result<(), MemoryError> {
        let m = self.0.lock().unwrap();
        let a = addr.0 as usize;
        buf.copy_from_slice(m.get(a..a + buf.len()).ok_or(MemoryError::OutOfRange {
            addr: addr.0,
            len: buf.len() as u64,
        })?);
        Ok(())
    }
    fn write(&self, addr: L1RealAddr, data: &[u8]) -> Result<(), MemoryError> {
        let mut m = self.0.lock().unwrap();
        let a = addr.0 as usize;
        m.get_mut(a..a + data.len())
            .ok_or(MemoryError::OutOfRange {
                addr: addr.0,
                len: data.len() as u64,
            })?
            .copy_from_slice(data);
        Ok(())
    }
}

/// A small L0: one guest, one vCPU, register values by dense index; GET/SET through L1
/// memory; RUN applies the run input at `INPUT` and writes `exit_output` at `OUTPUT`.
#[derive(Debug)]
struct FakeL0 {
    mem: VecMemory,
    regs: Mutex<[u128; GSID_COUNT]>,
    last_input: Mutex<Vec<GuestStateId>>,
    exit_output: Mutex<Vec<u8>>,
}

fn scope_of(flags: u64) -> Scope {
    match flags {
        0 => Scope::Thread,
        f if f == 1 << 63 => Scope::Guest,
        _ => Scope::Host,
    }
}

impl FakeL0 {
    fn apply(&self, bytes: &[u8], scope: Scope) {
        let g = Gsb::parse(bytes, &Policy::l0_request(Request::Set, scope)).unwrap();
        let mut regs = self.regs.lock().unwrap();
        for e in &g {
            let v = match e.value_bytes().len() {
                4 => u128::from(u32::from_be_bytes(e.value_bytes().try_into().unwrap())),
                8 => u128::from(u64::from_be_bytes(e.value_bytes().try_into().unwrap())),
                _ => u128::from_be_bytes(e.value_bytes().try_into().unwrap()),
            };
            regs[e.id.index().unwrap()] = v;
        }
    }
}

impl Hcall for FakeL0 {
    fn hcall(&self, op: u64, a: [u64; 9]) -> HcallOutput {
        match op {
            opcode::H_GUEST_CREATE => HcallOutput::ok(1),
            opcode::H_GUEST_CREATE_VCPU => HcallOutput::ok(0),
            opcode::H_GUEST_GET_STATE => {
                let mut buf = vec![0u8; a[4] as usize];
                self.mem.read(L1RealAddr(a[3]), &mut buf).unwrap();
                Gsb::parse(&buf, &Policy::l0_request(Request::Get, scope_of(a[0]))).unwrap();
                let regs = *self.regs.lock().unwrap();
                papr_vcpu_state::testing::answer(&mut buf, |id| regs[id.index().unwrap()]);
                self.mem.write(L1RealAddr(a[3]), &buf).unwrap();
                HcallOutput::ok(0)
            }
            opcode::H_GUEST_SET_STATE => {
                let mut buf = vec![0u8; a[4] as usize];
                self.mem.read(L1RealAddr(a[3]), &mut buf).unwrap();
                self.apply(&buf, scope_of(a[0]));
                HcallOutput::ok(0)
            }
            opcode::H_GUEST_RUN_VCPU => {
                let mut buf = vec![0u8; BUF];
                self.mem.read(L1RealAddr(INPUT), &mut buf).unwrap();
                let ids = Gsb::parse(&buf, &Policy::l0_request(Request::Set, Scope::Thread))
                    .unwrap()
                    .iter()
                    .map(|e| e.id)
                    .collect();
                *self.last_input.lock().unwrap() = ids;
                self.apply(&buf, Scope::Thread);
                let out = self.exit_output.lock().unwrap().clone();
                self.mem.write(L1RealAddr(OUTPUT), &out).unwrap();
                HcallOutput::ok(0xC00)
            }
            _ => HcallOutput::rc(-2),
        }
    }
}

// SAFETY: the fake L0 reaches memory only through its safe `VecMemory`.
unsafe impl papr_hcall::ContainedHcall for FakeL0 {}

type Hv = NestedHv<CountingHcall<FakeL0>, VecMemory, NoDelay>;

/// A guest with vCPU 0 created; counts reset; GPRn = 0x100 + n in the L0.
fn setup() -> (Hv, GuestId) {
    let mem = VecMemory(Arc::new(Mutex::new(vec![0; 0x4000])));
    let l0 = FakeL0 {
        mem: mem.clone(),
        regs: Mutex::new([0; GSID_COUNT]),
        last_input: Mutex::new(Vec::new()),
        exit_output: Mutex::new(vec![0, 0, 0, 0]),
    };
    {
        let mut r = l0.regs.lock().unwrap();
        for n in 0..32u8 {
            r[GuestStateId::gpr(n).unwrap().index().unwrap()] = 0x100 + u128::from(n);
        }
        r[GuestStateId::MSR.index().unwrap()] = 0x8000_0000_0000_1033;
    }
    let hv = NestedHv::new(CountingHcall::new(l0), mem, NoDelay);
    let g = hv.create_guest().unwrap();
    hv.create_vcpu(g, VcpuId(0)).unwrap();
    hv.hcall().reset();
    (hv, g)
}

fn hcall_exit_output() -> Vec<u8> {
    let mut out = vec![0u8; 128];
    let mut b = GsbBuilder::new(&mut out).unwrap();
    for n in 3..=12u8 {
        b.put_u64(GuestStateId::gpr(n).unwrap(), 0xC0 + u64::from(n))
            .unwrap();
    }
    out
}

#[test]
fn all_32_gprs_after_an_invalidation_cost_one_get() {
    let (hv, g) = setup();
    let mut s = VcpuState::new_zeroed();
    s.apply_exit(&[0, 0, 0, 0]).unwrap(); // an HDEC exit: every register stale
    let mut src = HvSource::new(&hv, g, VcpuId(0), SCRATCH);
    let mut got = Vec::new();
    for n in 0..32 {
        got.push(s.gpr(n, &mut src).unwrap());
    }
    // typed getters hit the cache too
    assert_eq!(s.gpr17(&mut src).unwrap(), 0x111);
    assert_eq!(s.msr(&mut src).unwrap(), 0x8000_0000_0000_1033); // same group
    assert_eq!(got, (0..32).map(|n| 0x100 + n).collect::<Vec<u64>>());
    assert_eq!(hv.hcall().count(opcode::H_GUEST_GET_STATE), 1);
    assert_eq!(hv.hcall().total(), 1);
}

#[test]
fn a_run_after_ten_sets_carries_exactly_those_ten_and_no_set_state() {
    let (hv, g) = setup();
    let mut s = VcpuState::new_zeroed();
    let ten = [
        GuestStateId::GPR3,
        GuestStateId::GPR4,
        GuestStateId::GPR5,
        GuestStateId::NIA,
        GuestStateId::MSR,
        GuestStateId::SRR0,
        GuestStateId::SRR1,
        GuestStateId::CR,
        GuestStateId::VSR33,
        GuestStateId::HDEC_EXPIRY_TB,
    ];
    for (i, id) in ten.iter().enumerate() {
        s.set(*id, i as u128 + 1).unwrap();
    }
    *hv.hcall().inner().exit_output.lock().unwrap() = hcall_exit_output();
    let mut src = HvSource::new(&hv, g, VcpuId(0), SCRATCH);
    assert!(!s.flush_guest_wide(&mut src).unwrap());
    let mut input = [0u8; BUF];
    let n = s.flush(&mut input).unwrap();
    hv.memory().write(L1RealAddr(INPUT), &input[..n]).unwrap();
    let trap = hv.run_vcpu(g, VcpuId(0)).unwrap();
    assert_eq!(trap, 0xC00);

    let mut sent = hv.hcall().inner().last_input.lock().unwrap().clone();
    sent.sort();
    let mut want = ten.to_vec();
    want.sort();
    assert_eq!(sent, want);
    assert_eq!(hv.hcall().count(opcode::H_GUEST_SET_STATE), 0);
    assert_eq!(hv.hcall().count(opcode::H_GUEST_GET_STATE), 0);
    assert_eq!(hv.hcall().count(opcode::H_GUEST_RUN_VCPU), 1);
    // the L0 applied the ten
    let regs = *hv.hcall().inner().regs.lock().unwrap();
    assert_eq!(regs[GuestStateId::VSR33.index().unwrap()], 9);

    // Exit: GPR3..12 come back valid, the rest is stale, nothing dirty.
    let mut out = vec![0u8; 128];
    hv.memory().read(L1RealAddr(OUTPUT), &mut out).unwrap();
    let ids = s.apply_exit(&out).unwrap();
    assert_eq!(ids.len(), 10);
    assert_eq!(s.valid(), ids.union(sets::L1_OWNED)); // the HDEC expiry sent stays known
    assert!(s.dirty().is_empty() && s.in_flight().is_empty());
    let mut det = papr_vcpu_state::Detached;
    assert_eq!(s.gpr12(&mut det).unwrap(), 0xCC);
    // nothing dirty: the next run input is empty
    assert_eq!(s.flush(&mut input).unwrap(), 4);
}

#[test]
fn guest_wide_ids_go_through_one_set_state_never_the_run_input() {
    let (hv, g) = setup();
    let mut s = VcpuState::new_zeroed();
    s.set_tb_offset(5 << 24);
    s.set_logical_pvr(0x0F00_0006);
    s.set_gpr3(7);
    let mut src = HvSource::new(&hv, g, VcpuId(0), SCRATCH);
    assert!(s.flush_guest_wide(&mut src).unwrap());
    assert!(!s.flush_guest_wide(&mut src).unwrap());
    let mut input = [0u8; 64];
    let n = s.flush(&mut input).unwrap();
    let ids = Gsb::parse(&input[..n], &Policy::EXACT).unwrap().ids();
    assert_eq!(ids, GsidSet::new().with(GuestStateId::GPR3));
    assert_eq!(hv.hcall().count(opcode::H_GUEST_SET_STATE), 1);
    let regs = *hv.hcall().inner().regs.lock().unwrap();
    assert_eq!(regs[GuestStateId::TB_OFFSET.index().unwrap()], 5 << 24);
    assert_eq!(
        regs[GuestStateId::LOGICAL_PVR.index().unwrap()],
        0x0F00_0006
    );
    // an exit leaves them valid: the L1 is their only writer
    s.apply_exit(&[0, 0, 0, 0]).unwrap();
    assert!(s.is_valid(GuestStateId::TB_OFFSET));
}

#[test]
fn a_load_of_mixed_scopes_is_one_get_per_scope() {
    let (hv, g) = setup();
    let mut s = VcpuState::new();
    let mut src = HvSource::new(&hv, g, VcpuId(0), SCRATCH);
    let need = sets::PTREGS
        .union(sets::FP_VECTOR)
        .with(GuestStateId::PIDR)
        .with(GuestStateId::LOGICAL_PVR);
    s.load(need, &mut src).unwrap();
    s.load(need, &mut src).unwrap();
    assert_eq!(s.valid(), need);
    assert_eq!(hv.hcall().count(opcode::H_GUEST_GET_STATE), 2);
}

fn element(id: u16, value: &[u8]) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend((value.len() as u16).to_be_bytes());
    v.extend(value);
    v
}

fn buffer(count: u32, elements: &[Vec<u8>]) -> Vec<u8> {
    let mut v = count.to_be_bytes().to_vec();
    for e in elements {
        v.extend(e);
    }
    v
}

#[test]
fn a_malformed_output_buffer_changes_nothing() {
    let gpr3 = element(0x1003, &[0; 8]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "unknown id",
            buffer(2, &[gpr3.clone(), element(0x1054, &[0; 8])]),
        ),
        (
            "wrong size",
            buffer(2, &[gpr3.clone(), element(0x1021, &[0; 4])]),
        ),
        ("duplicate", buffer(2, &[gpr3.clone(), gpr3.clone()])),
        (
            "count too big",
            buffer(3, &[gpr3.clone(), element(0x1004, &[0; 8])]),
        ),
        ("truncated header", vec![0, 0, 1]),
        (
            "truncated value",
            buffer(1, &[element(0x1003, &[0; 8])[..9].to_vec()]),
        ),
        ("guest-wide id", buffer(1, &[element(0x0004, &[0; 8])])),
        ("meta id", buffer(1, &[element(0x0C02, &[0; 8])])),
        ("run buffer id", buffer(1, &[element(0x0C01, &[0; 16])])),
    ];
    // A state with every kind of bookkeeping in use.
    let mut s = VcpuState::new();
    s.set_nia(0x700);
    s.set_gpr3(1);
    s.flush(&mut [0u8; 64]).unwrap();
    s.set_msr(0x8000_0000_0000_0001);
    s.set_tb_offset(1 << 24);
    s.invalidate(GsidSet::new().with(GuestStateId::GPR3));
    for (what, bytes) in cases {
        let before = s.clone();
        let err = s.apply_exit(&bytes).expect_err(what);
        assert!(s == before, "{what}: state changed");
        match (what, err) {
            (
                "unknown id",
                StateError::Output(GsbError::UnknownId {
                    index: 1,
                    offset: 16,
                    id: 0x1054,
                }),
            ) => {}
            (
                "wrong size",
                StateError::Output(GsbError::SizeMismatch {
                    index: 1,
                    offset: 16,
                    ..
                }),
            ) => {}
            ("duplicate", StateError::Output(GsbError::Duplicate { index: 1, .. })) => {}
            (
                "count too big",
                StateError::Output(GsbError::CountExceedsBuffer {
                    count: 3, found: 2, ..
                }),
            ) => {}
            ("truncated header", StateError::Output(GsbError::TruncatedHeader { len: 3 })) => {}
            ("truncated value", StateError::Output(GsbError::TruncatedValue { .. })) => {}
            ("guest-wide id", StateError::Output(GsbError::ScopeMismatch { index: 0, .. })) => {}
            (
                "meta id" | "run buffer id",
                StateError::UnexpectedOutputId {
                    index: 0,
                    offset: 4,
                    ..
                },
            ) => {}
            (w, e) => panic!("{w}: unexpected error {e:?}"),
        }
        // the error names the element
        assert!(!format!("{err}").is_empty());
    }
}

#[test]
fn a_failed_reload_changes_nothing() {
    let mut s = VcpuState::new();
    s.set_gpr0(1);
    let before = s.clone();

    let mut fails = MockStateSource::new();
    fails.expect_get_state().times(1).returning(|_, _| {
        Err(HcallError::Failed {
            call: "H_GUEST_GET_STATE",
            code: ReturnCode::Parameter,
        })
    });
    assert!(matches!(s.gpr1(&mut fails), Err(StateError::Hcall(_))));
    assert!(s == before);

    // An answer lacking what was asked (count cut to 1).
    let mut short = MockStateSource::new();
    short.expect_get_state().times(1).returning(|_, gsb| {
        papr_vcpu_state::testing::answer(gsb, |_| 5);
        gsb[..4].copy_from_slice(&1u32.to_be_bytes());
        Ok(())
    });
    assert!(matches!(
        s.gpr1(&mut short),
        Err(StateError::AnswerMismatch {
            problem: "lacks",
            ..
        })
    ));
    assert!(s == before);

    // An answer with an id that was not asked for.
    let mut other = MockStateSource::new();
    other.expect_get_state().times(1).returning(|_, gsb| {
        gsb[4..6].copy_from_slice(&0x2002u16.to_be_bytes()); // PIDR -> DSISR
        Ok(())
    });
    assert!(s.pidr(&mut other).is_err());
    assert!(s == before);

    // Thread part fine, guest part fails: nothing stored.
    let mut half = MockStateSource::new();
    half.expect_get_state().returning(|scope, gsb| {
        if scope == Scope::Guest {
            return Err(HcallError::Failed {
                call: "H_GUEST_GET_STATE",
                code: ReturnCode::Parameter,
            });
        }
        papr_vcpu_state::testing::answer(gsb, |_| 1);
        Ok(())
    });
    let need = GsidSet::new()
        .with(GuestStateId::CTR)
        .with(GuestStateId::TB_OFFSET);
    assert!(s.load(need, &mut half).is_err());
    assert!(s == before);
}

#[test]
fn a_failed_run_keeps_the_writes_for_the_next_one() {
    let mut s = VcpuState::new_zeroed();
    s.set_gpr3(0);
    s.set_nia(0x100);
    let mut input = [0u8; 128];
    let n1 = s.flush(&mut input).unwrap();
    s.set_lr(0x200); // after the flush: not in this run input
    s.run_failed();
    let n2 = s.flush(&mut input).unwrap();
    assert_eq!(n2, n1 + 12);
    // exit: LR was in flight, GPR3 comes back from the L0
    let mut out = [0u8; 32];
    let mut b = GsbBuilder::new(&mut out).unwrap();
    b.put_u64(GuestStateId::GPR3, 9).unwrap();
    s.set_ctr(1); // set after the flush: stays dirty across the exit
    s.apply_exit(&out).unwrap();
    assert_eq!(s.dirty(), GsidSet::new().with(GuestStateId::CTR));
    assert_eq!(s.cached(GuestStateId::GPR3), Some(9));
    assert_eq!(s.cached(GuestStateId::LR), None);
}

#[test]
fn a_too_small_input_buffer_flushes_nothing() {
    let mut s = VcpuState::new();
    s.set_vsr0(1);
    let before = s.clone();
    assert!(matches!(
        s.flush(&mut [0u8; 20]),
        Err(StateError::InputTooSmall {
            needed: 24,
            capacity: 20,
            ..
        })
    ));
    assert!(s == before);
    let mut all = VcpuState::new_zeroed();
    for id in &GsidSet::RUN_INPUT {
        all.set(id, 0).unwrap();
    }
    let mut input = [0u8; sets::MAX_RUN_INPUT];
    assert_eq!(all.flush(&mut input).unwrap(), sets::MAX_RUN_INPUT);
}
