//! Fault injection through `NestedHv`: busy storms retried, the retry budget, failures,
//! RUN never retried, truncated and corrupt answers.
#![cfg(feature = "sim")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // test code

mod sim_common;
use papr_gsb::GuestStateId as Id;
use papr_hcall::opcode::*;
use papr_hcall::sim::{Injection, L2Action};
use papr_hcall::*;
use sim_common::*;

#[test]
fn busy_storm_is_retried_by_nested_hv() {
    let (l0, mem) = new_l0();
    l0.inject(
        H_GUEST_GET_CAPABILITIES,
        1,
        Injection::Busy { rc: 1, count: 3 },
    );
    let delay = RecordingDelay::default();
    let hv = NestedHv::new(&l0, VmRealMemory(mem), &delay);
    assert_eq!(
        hv.get_capabilities().unwrap(),
        Capabilities(0x6000_0000_0000_0000)
    );
    assert_eq!(l0.hcall_count(H_GUEST_GET_CAPABILITIES), 4);
    assert_eq!(
        delay.events(),
        vec![DelayEvent::Relax { may_sleep: true }; 3]
    );
}

#[test]
fn long_busy_storm_waits_and_create_follows_the_continue_token() {
    let (l0, mem) = new_l0();
    let delay = RecordingDelay::default();
    let hv = NestedHv::new(&l0, VmRealMemory(mem), &delay);
    hv.negotiate(Capabilities::MODES).unwrap();
    l0.inject(H_GUEST_CREATE, 1, Injection::Busy { rc: 9901, count: 2 });
    assert_eq!(hv.create_guest().unwrap(), GuestId(1));
    assert_eq!(l0.hcall_count(H_GUEST_CREATE), 3);
    assert_eq!(
        delay.events(),
        vec![
            DelayEvent::Wait {
                micros: 10_000,
                may_sleep: true
            };
            2
        ]
    );
    // A stale token not issued by the L0 is refused.
    assert_eq!(l0.hcall(H_GUEST_CREATE, args(&[0, 0x1234])).rc, -55);
}

#[test]
fn state_calls_spin_through_busy() {
    let (l0, mem) = new_l0();
    let delay = RecordingDelay::default();
    let hv = NestedHv::new(&l0, VmRealMemory(mem.clone()), &delay);
    hv.negotiate(Capabilities::MODES).unwrap();
    let g = hv.create_guest().unwrap();
    hv.create_vcpu(g, VcpuId(0)).unwrap();
    l0.inject(H_GUEST_SET_STATE, 1, Injection::Busy { rc: 1, count: 2 });
    let set = gsb(|b| b.put_u64(Id::NIA, 0x40).unwrap());
    hv.set_state(Target::thread(g, VcpuId(0)), &set, L1RealAddr(SCRATCH))
        .unwrap();
    assert_eq!(
        l0.state(1, 0, Id::NIA),
        Some(0x40u64.to_be_bytes().to_vec())
    );
    assert_eq!(
        delay.events(),
        vec![DelayEvent::Relax { may_sleep: false }; 2]
    );
}

#[test]
fn storm_longer_than_the_budget_times_out() {
    let (l0, mem) = new_l0();
    l0.inject(
        H_GUEST_GET_CAPABILITIES,
        1,
        Injection::Busy { rc: 1, count: 1000 },
    );
    let hv = hv(&l0, &mem).with_budget(RetryBudget {
        max_attempts: 5,
        max_wait_us: 1000,
    });
    let e = hv.get_capabilities().unwrap_err();
    assert!(
        matches!(e, HcallError::Timeout { attempts: 5, .. }),
        "{e:?}"
    );
    // A long-busy wait beyond the time budget is not started.
    l0.inject(
        H_GUEST_SET_CAPABILITIES,
        1,
        Injection::Busy { rc: 9903, count: 1 },
    );
    let e = hv.set_capabilities(Capabilities::POWER10).unwrap_err();
    assert!(
        matches!(e, HcallError::Timeout { attempts: 1, .. }),
        "{e:?}"
    );
    assert!(!l0.capabilities_set());
}

#[test]
fn injected_failure_reaches_the_caller_with_r4() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    hv.negotiate(Capabilities::MODES).unwrap();
    l0.inject(H_GUEST_CREATE, 1, Injection::Fail { rc: -44, r4: 0 });
    assert_eq!(
        hv.create_guest().unwrap_err().return_code(),
        Some(ReturnCode::NotEnoughResources)
    );
    assert!(l0.guests().is_empty());
    let g = ready_guest(&mut hv, 1);
    l0.inject(
        H_GUEST_SET_STATE,
        l0.hcall_count(H_GUEST_SET_STATE) + 1,
        Injection::Fail { rc: -80, r4: 2 },
    );
    let set = gsb(|b| b.put_u64(Id::NIA, 0).unwrap());
    let e = hv
        .set_state(Target::thread(g, VcpuId(0)), &set, L1RealAddr(SCRATCH))
        .unwrap_err();
    assert!(
        matches!(e, HcallError::InvalidElement { position: 2, .. }),
        "{e:?}"
    );
}

#[test]
fn run_is_never_retried() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    l0.set_program(
        1,
        0,
        vec![L2Action::Hcall {
            nr: 1,
            args: [0; 9],
        }],
    )
    .unwrap();
    l0.inject(H_GUEST_RUN_VCPU, 1, Injection::Busy { rc: 1, count: 5 });
    run_input(&l0, 1, 0, &[]);
    assert_eq!(
        hv.run_vcpu(g, VcpuId(0)).unwrap_err().return_code(),
        Some(ReturnCode::Busy)
    );
    assert_eq!(l0.hcall_count(H_GUEST_RUN_VCPU), 1);
}

#[test]
fn truncated_and_corrupt_run_output() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    l0.set_program(
        1,
        0,
        vec![
            L2Action::Hcall {
                nr: 7,
                args: [0; 9]
            };
            3
        ],
    )
    .unwrap();
    // Fill the output buffer with a pattern so a short write is visible.
    write(&l0, run_out(1, 0), &[0xEE; 4096]);
    l0.inject(H_GUEST_RUN_VCPU, 1, Injection::TruncateOutput { keep: 10 });
    l0.inject(
        H_GUEST_RUN_VCPU,
        2,
        Injection::CorruptOutput {
            offset: 4,
            xor: 0xFF,
        },
    );
    run_input(&l0, 1, 0, &[]);
    assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap(), 0xC00);
    let out = read(&l0, run_out(1, 0), 128);
    assert_eq!(&out[..4], &[0, 0, 0, 10]);
    assert_eq!(out[10], 0xEE);
    assert!(papr_gsb::Gsb::parse(&out, &papr_gsb::Policy::L1_RUN_OUTPUT).is_err());
    run_input(&l0, 1, 0, &[]);
    assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap(), 0xC00);
    let out = read(&l0, run_out(1, 0), 128);
    assert_eq!(&out[4..6], &[0xEF, 0x03]); // id 0x1003 with its first byte flipped
    assert!(papr_gsb::Gsb::parse(&out, &papr_gsb::Policy::L1_RUN_OUTPUT).is_err());
    // The third run is clean again.
    run_input(&l0, 1, 0, &[]);
    hv.run_vcpu(g, VcpuId(0)).unwrap();
    assert_eq!(run_output(&l0, 1, 0)[0].0, 0x1003);
}

#[test]
fn truncated_get_answer_is_a_typed_error() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    l0.inject(
        H_GUEST_GET_STATE,
        1,
        Injection::CorruptOutput {
            offset: 5,
            xor: 0x01,
        },
    );
    let mut req = gsb(|b| b.put_request(Id::RUN_OUTPUT_MIN_SIZE).unwrap());
    let e = hv
        .get_state(Target::guest(g), &mut req, L1RealAddr(SCRATCH))
        .unwrap_err();
    assert!(matches!(e, HcallError::Buffer { .. }), "{e:?}");
    l0.inject(H_GUEST_GET_STATE, 2, Injection::TruncateOutput { keep: 8 });
    let mut req = gsb(|b| b.put_request(Id::RUN_OUTPUT_MIN_SIZE).unwrap());
    let e = hv
        .get_state(Target::guest(g), &mut req, L1RealAddr(SCRATCH))
        .unwrap_err();
    // Only the header and element header came back: the value is the request's poison,
    // not a value of 0 (asked again, the L0 answers 0x80: the first answer was unwritten).
    assert_eq!(
        e,
        HcallError::BadAnswer {
            call: "H_GUEST_GET_STATE",
            what: "an answer that left unwritten (its request read back) the value of id",
            value: 0x0002,
        }
    );
}

#[test]
fn unwritable_run_output_gives_qemus_p2_in_r4() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    // Re-register the output buffer at the very end of L1 memory, then shrink nothing:
    // the exit fits (0x80 bytes) only if memory is there, so point it past the end - 0x40.
    let bufs = gsb(|b| {
        b.put(
            Id::RUN_OUTPUT,
            papr_gsb::Value::Buffer(papr_gsb::BufferDescriptor {
                address: MEM_SIZE - 0x40,
                size: 0x80,
            }),
        )
        .unwrap()
    });
    // The typed API refuses to hand the L0 a range outside L1 memory…
    assert_eq!(
        hv.set_state(Target::thread(g, VcpuId(0)), &bufs, L1RealAddr(SCRATCH)),
        Err(HcallError::OutsideMemory {
            call: "H_GUEST_SET_STATE",
            id: Id::RUN_OUTPUT,
            addr: MEM_SIZE - 0x40,
            len: 0x80
        })
    );
    // …so register it raw, as a hostile L1 could on QEMU.
    VmRealMemory(mem.clone())
        .write(L1RealAddr(SCRATCH), &bufs)
        .unwrap();
    let len = bufs.len() as u64;
    let o = l0.hcall(H_GUEST_SET_STATE, args(&[0, 1, 0, SCRATCH, len]));
    assert_eq!(o.rc, 0);
    l0.set_program(
        1,
        0,
        vec![L2Action::Hcall {
            nr: 7,
            args: [0; 9],
        }],
    )
    .unwrap();
    run_input(&l0, 1, 0, &[]);
    let o = l0.hcall(H_GUEST_RUN_VCPU, args(&[0, 1, 0]));
    assert_eq!((o.rc, o.ret[0]), (0, (-55i64) as u64));
}
