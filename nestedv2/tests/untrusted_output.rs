//! Issue 17 over the software L0: what the L0 did not write for this exit is never read as
//! this exit's (run output poisoned before each run; GET values poisoned and confirmed),
//! and the HDEC expiry the L0 holds is not sent again while it is ahead (issue 18).
#![cfg(feature = "sim")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use papr_gsb::{Gsb, GsbError, GuestStateId, Policy};
use papr_hcall::sim::{Injection, L2Action, SoftL0};
use papr_hcall::{
    opcode, Capabilities, CountingHcall, NestedHv, NoDelay, RealMemory, VmRealMemory,
};
use papr_mmu_radix::PoolAlloc;
use papr_nestedv2::*;
use papr_vcpu_state::StateError;
use vm_memory::{GuestAddress, GuestMemoryMmap};

type Mem = VmRealMemory<GuestMemoryMmap<()>>;
type L0 = SoftL0<Mem>;

struct SimClock<'a>(&'a L0);
impl Clock for SimClock<'_> {
    fn now(&self) -> u64 {
        self.0.timebase()
    }
}

type Host<'a> = NestedHost<(
    CountingHcall<&'a L0>,
    Mem,
    NoDelay,
    SimClock<'a>,
    PoolAlloc<4>,
)>;

const RAM_L1: u64 = 0x100_0000;
const MSR0: u64 = 0x8000_0000_0000_0003;
/// A register value equal to the poison of a GET request's values.
const POISON_LIKE: u64 = 0x5A5A_5A5A_5A5A_5A5A;

fn l0() -> L0 {
    SoftL0::new(VmRealMemory(
        GuestMemoryMmap::<()>::from_ranges(&[(GuestAddress(0), 0x200_0000)]).unwrap(),
    ))
}

fn host(l0: &L0) -> Host<'_> {
    let pages = PoolAlloc::<4>::new(papr_mmu_radix::L1RealAddr(0x10_0000), 0x10_0000).unwrap();
    NestedHost::negotiate(
        NestedHv::new(CountingHcall::new(l0), l0.memory().clone(), NoDelay),
        SimClock(l0),
        pages,
        Capabilities::MODES,
    )
    .unwrap()
}

fn guest<'h>(
    host: &'h Host<'h>,
) -> Guest<
    'h,
    (
        CountingHcall<&'h L0>,
        Mem,
        NoDelay,
        SimClock<'h>,
        PoolAlloc<4>,
    ),
    PoolAlloc<8>,
> {
    let tables = PoolAlloc::<8>::new(papr_mmu_radix::L1RealAddr(0x20_0000), 0x20_0000).unwrap();
    let mut g = Guest::create(host, tables).unwrap();
    g.add_ram(GuestRealAddr(0), L1RealAddr(RAM_L1), 0x100_0000)
        .unwrap();
    g.fault_in(GuestRealAddr(0)).unwrap();
    g
}

fn hcall(nr: u64) -> L2Action {
    L2Action::Hcall {
        nr,
        args: [1, 2, 3, 4, 5, 6, 7, 8, 9],
    }
}

fn count(host: &Host<'_>, op: u64) -> u64 {
    host.with_hv(|hv| hv.hcall().count(op))
}

#[test]
fn a_run_output_truncated_after_its_header_is_not_the_previous_exit() {
    // Two hcall exits in a row; the L0 writes only the second one's count (10). Without the
    // poison the L1 read the first exit's GPR3..GPR12 as the second exit's.
    let l0 = l0();
    let host = host(&l0);
    let g = guest(&host);
    let mut vcpu = g.create_vcpu(0, MSR0).unwrap();
    l0.set_program(g.id().0, 0, vec![hcall(0x58), hcall(0x5C)])
        .unwrap();
    let first = vcpu.run().unwrap();
    assert!(matches!(first, Exit::Hcall { nr: 0x58, .. }), "{first:?}");
    vcpu.complete_hcall(HcallReturn::status(0));
    l0.inject(
        opcode::H_GUEST_RUN_VCPU,
        2,
        Injection::TruncateOutput { keep: 4 },
    );
    let e = vcpu.run().unwrap_err();
    assert!(
        matches!(
            e,
            Error::State(StateError::Output(GsbError::TruncatedValue {
                index: 0,
                offset: 4,
                id: GuestStateId(0xFFFF),
                len: 0xFFFF,
                ..
            }))
        ),
        "{e:?}"
    );
    // Nothing of the first exit passes for the second's: its registers are forgotten; GPR3
    // holds the L1's own return value, dirty again for the next run.
    for n in 4..=12 {
        assert_eq!(vcpu.state().cached(GuestStateId::gpr(n).unwrap()), None);
    }
    assert_eq!(vcpu.state().cached(GuestStateId::GPR3), Some(0));
    assert!(vcpu.state().is_dirty(GuestStateId::GPR3));
}

#[test]
fn a_run_output_count_past_what_the_l0_wrote_is_an_error() {
    // An hcall exit whose count grew by 2 (10 -> 12): the two extra elements are the
    // L1's poison, not BLANK elements of a zeroed page.
    let l0 = l0();
    let host = host(&l0);
    let g = guest(&host);
    let mut vcpu = g.create_vcpu(0, MSR0).unwrap();
    l0.set_program(g.id().0, 0, vec![hcall(0x58)]).unwrap();
    l0.inject(
        opcode::H_GUEST_RUN_VCPU,
        1,
        Injection::CorruptOutput {
            offset: 3,
            xor: 10 ^ 12,
        },
    );
    let before = vcpu.state().clone();
    let e = vcpu.run().unwrap_err();
    assert!(
        matches!(
            e,
            Error::State(StateError::Output(GsbError::TruncatedValue {
                index: 10,
                offset: 124,
                ..
            }))
        ),
        "{e:?}"
    );
    // Registers the L1 set and flushed are dirty again for the next run; no GPR was
    // taken from the buffer.
    assert_eq!(vcpu.state().cached(GuestStateId::GPR4), None);
    assert!(vcpu.state().dirty().is_subset(&before.valid()));
}

#[test]
fn a_register_holding_the_get_poison_is_read_with_one_more_get() {
    let l0 = l0();
    let host = host(&l0);
    let g = guest(&host);
    let mut vcpu = g.create_vcpu(0, MSR0).unwrap();
    l0.set_program(g.id().0, 0, vec![hcall(0x58), hcall(0x5C)])
        .unwrap();
    vcpu.state_mut().set_gpr20(POISON_LIKE);
    vcpu.state_mut().set_gpr21(7);
    vcpu.run().unwrap(); // GPR20 and GPR21 reach the L0 in the run input
    let gets = count(&host, opcode::H_GUEST_GET_STATE);
    // One GET of the problem-state group (GPR0..31, CR, ...); GPR20 reads as the poison,
    // so it is asked again with the other poison, and confirmed.
    assert_eq!(vcpu.reg(GuestStateId::GPR21).unwrap(), 7);
    assert_eq!(count(&host, opcode::H_GUEST_GET_STATE), gets + 2);
    assert_eq!(
        vcpu.reg(GuestStateId::GPR20).unwrap(),
        u128::from(POISON_LIKE)
    );
    assert_eq!(vcpu.reg(GuestStateId::GPR22).unwrap(), 0);
    assert_eq!(count(&host, opcode::H_GUEST_GET_STATE), gets + 2);
}

#[test]
fn a_get_answer_the_l0_did_not_write_is_an_error_and_the_cache_is_unchanged() {
    let l0 = l0();
    let host = host(&l0);
    let g = guest(&host);
    let mut vcpu = g.create_vcpu(0, MSR0).unwrap();
    l0.set_program(g.id().0, 0, vec![hcall(0x58), hcall(0x5C)])
        .unwrap();
    vcpu.state_mut().set_gpr21(7);
    vcpu.run().unwrap();
    let before = vcpu.state().clone();
    let nth = count(&host, opcode::H_GUEST_GET_STATE) + 1;
    l0.inject(
        opcode::H_GUEST_GET_STATE,
        nth,
        Injection::TruncateOutput { keep: 2 },
    );
    let e = vcpu.reg(GuestStateId::GPR21).unwrap_err();
    assert!(
        matches!(
            e,
            Error::State(StateError::Hcall(papr_hcall::HcallError::BadAnswer {
                value: 0x1000, // GPR0: the first of the group asked
                ..
            }))
        ),
        "{e:?}"
    );
    assert_eq!(*vcpu.state(), before);
    // Asked again (the L0 behaves now), the register reads as it is.
    assert_eq!(vcpu.reg(GuestStateId::GPR21).unwrap(), 7);
}

/// The ids of the run input the L1 wrote for the last run.
fn last_input(
    l0: &L0,
    vcpu: &Vcpu<
        '_,
        '_,
        (CountingHcall<&L0>, Mem, NoDelay, SimClock<'_>, PoolAlloc<4>),
        PoolAlloc<8>,
    >,
) -> Vec<GuestStateId> {
    let mut buf = vec![0u8; 4096];
    l0.memory().read(vcpu.buffers().0, &mut buf).unwrap();
    let n = Gsb::parse(&buf, &Policy::L1_RUN_OUTPUT).unwrap();
    n.iter().map(|e| e.id).collect()
}

#[test]
fn the_hdec_expiry_is_sent_only_when_it_changes() {
    let l0 = l0();
    let host = host(&l0);
    let g = guest(&host);
    let mut vcpu = g.create_vcpu(0, MSR0).unwrap();
    l0.set_program(g.id().0, 0, vec![hcall(0x58), hcall(0x5C)])
        .unwrap();
    vcpu.run().unwrap();
    assert!(last_input(&l0, &vcpu).contains(&GuestStateId::HDEC_EXPIRY_TB));
    vcpu.complete_hcall(HcallReturn::status(0));
    // No time passed: the expiry the L0 holds is a whole slice ahead.
    vcpu.run().unwrap();
    assert_eq!(last_input(&l0, &vcpu), [GuestStateId::GPR3]);
    // The program ended: the L2 spins until the HDEC expires, and the run after that
    // sends a fresh expiry.
    assert_eq!(vcpu.run().unwrap(), Exit::Hdec);
    assert_eq!(last_input(&l0, &vcpu), [] as [GuestStateId; 0]);
    let expired = vcpu.state().cached(GuestStateId::HDEC_EXPIRY_TB).unwrap();
    assert!(u128::from(l0.timebase()) >= expired);
    let _ = vcpu.run();
    assert!(last_input(&l0, &vcpu).contains(&GuestStateId::HDEC_EXPIRY_TB));
    // A deadline before the held expiry makes it go out again.
    let now = l0.timebase();
    vcpu.set_deadline(Some(now + 100));
    let _ = vcpu.run();
    assert!(last_input(&l0, &vcpu).contains(&GuestStateId::HDEC_EXPIRY_TB));
    assert_eq!(
        vcpu.state().cached(GuestStateId::HDEC_EXPIRY_TB),
        Some(u128::from(now + 100))
    );
}
