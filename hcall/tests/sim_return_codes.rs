//! Every return-code path of every call of the software L0, raw, in QEMU's check order.
#![cfg(feature = "sim")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // test code

mod sim_common;
use papr_gsb::GuestStateId as Id;
use papr_hcall::flags::*;
use papr_hcall::opcode::*;
use papr_hcall::sim::{L2Action, SoftL0, WouldAbort, WOULD_ABORT_RC};
use papr_hcall::*;
use sim_common::*;

const PARAMETER: i64 = -4;
const P2: i64 = -55;
const P3: i64 = -56;
const STATE: i64 = -75;

fn with_caps() -> (L0, vm_memory::GuestMemoryMmap<()>) {
    let (l0, mem) = new_l0();
    assert_eq!(
        l0.hcall(H_GUEST_SET_CAPABILITIES, args(&[0, 1 << 61])).rc,
        0
    );
    (l0, mem)
}

#[test]
fn get_capabilities_codes() {
    let (l0, _m) = new_l0();
    assert_eq!(l0.hcall(H_GUEST_GET_CAPABILITIES, args(&[0])).rc, 0);
    assert_eq!(
        l0.hcall(H_GUEST_GET_CAPABILITIES, args(&[1 << 63])).rc,
        PARAMETER
    );
}

#[test]
fn set_capabilities_codes() {
    let (l0, _m) = new_l0();
    let p2 = |caps: u64, l0: &L0| {
        let o = l0.hcall(H_GUEST_SET_CAPABILITIES, args(&[0, caps]));
        (o.rc, o.ret[0], o.ret[1])
    };
    assert_eq!(
        l0.hcall(H_GUEST_SET_CAPABILITIES, args(&[1, 1 << 61])).rc,
        PARAMETER
    );
    assert_eq!(p2(1 << 63 | 1 << 61, &l0), (P2, 1, 1 << 63 | 1 << 61));
    assert_eq!(p2(0, &l0), (P2, 1, 2));
    assert_eq!(p2(1, &l0), (P2, 1, 63));
    assert_eq!(p2(1 << 59 | 1 << 61, &l0), (P2, 1, 4));
    for (offered, first) in [(0x7000_0000_0000_0000u64, 3), (0x4000_0000_0000_0000, 1)] {
        let l0 = SoftL0::new(VmRealMemory(memory())).with_capabilities(offered);
        assert_eq!(p2(0, &l0), (P2, 1, first));
    }
    assert!(!l0.capabilities_set());
    assert_eq!(
        l0.hcall(H_GUEST_SET_CAPABILITIES, args(&[0, 1 << 61])).rc,
        0
    );
    assert_eq!(
        l0.hcall(H_GUEST_SET_CAPABILITIES, args(&[0, 1 << 61])).rc,
        STATE
    );
}

#[test]
fn create_codes() {
    let (l0, _m) = new_l0();
    assert_eq!(
        l0.hcall(H_GUEST_CREATE, args(&[1, u64::MAX])).rc,
        H_UNSUPPORTED_FLAG
    );
    assert_eq!(l0.hcall(H_GUEST_CREATE, args(&[0, 5])).rc, P2);
    assert_eq!(l0.hcall(H_GUEST_CREATE, args(&[0, u64::MAX])).rc, STATE);
    assert_eq!(
        l0.hcall(H_GUEST_SET_CAPABILITIES, args(&[0, 1 << 61])).rc,
        0
    );
    for id in 1..4096 {
        assert_eq!(
            l0.hcall(H_GUEST_CREATE, args(&[0, u64::MAX])),
            HcallOutput::ok(id)
        );
    }
    assert_eq!(l0.hcall(H_GUEST_CREATE, args(&[0, u64::MAX])).rc, -9);
    assert_eq!(l0.hcall(H_GUEST_DELETE, args(&[0, 77])).rc, 0);
    assert_eq!(
        l0.hcall(H_GUEST_CREATE, args(&[0, u64::MAX])),
        HcallOutput::ok(77)
    );
    assert!(l0.would_abort().is_empty());
}

#[test]
fn create_vcpu_codes() {
    let (l0, _m) = with_caps();
    assert_eq!(l0.hcall(H_GUEST_CREATE, args(&[0, u64::MAX])).ret[0], 1);
    assert_eq!(
        l0.hcall(H_GUEST_CREATE_VCPU, args(&[1, 1, 0])).rc,
        H_UNSUPPORTED_FLAG
    );
    assert_eq!(l0.hcall(H_GUEST_CREATE_VCPU, args(&[0, 2, 0])).rc, P2);
    for v in 0..2048 {
        assert_eq!(l0.hcall(H_GUEST_CREATE_VCPU, args(&[0, 1, v])).rc, 0);
    }
    assert_eq!(l0.hcall(H_GUEST_CREATE_VCPU, args(&[0, 1, 7])).rc, -77);
    assert_eq!(l0.hcall(H_GUEST_CREATE_VCPU, args(&[0, 1, 2048])).rc, P3);
    assert!(l0.would_abort().is_empty());
    assert_eq!(
        l0.hcall(H_GUEST_CREATE_VCPU, args(&[0, 1, 2050])).rc,
        WOULD_ABORT_RC
    );
    assert_eq!(l0.vcpus(1), Some(2048));
}

#[test]
fn get_state_codes() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1).0;
    let req = gsb(|b| b.put_request(Id::NIA).unwrap());
    let n = req.len() as u64;
    let call = |flags: u64, guest: u64, at: u64, len: u64| {
        l0.hcall(H_GUEST_GET_STATE, args(&[flags, guest, 0, at, len]))
            .rc
    };
    write(&l0, SCRATCH, &req);
    assert_eq!(call(0, g, SCRATCH, n), 0);
    assert_eq!(call(1, g, SCRATCH, n), PARAMETER);
    assert_eq!(
        call(H_GUEST_FLAGS_WIDE | H_GUEST_FLAGS_HOST_WIDE, g, SCRATCH, n),
        PARAMETER
    );
    assert_eq!(call(0, 9, SCRATCH, n), P2);
    assert_eq!(call(0, g, MEM_SIZE - 4, n), P3); // not all mappable
    assert_eq!(call(H_GUEST_FLAGS_WIDE, g, SCRATCH, n), P3); // scope
    assert!(l0.would_abort().is_empty());
    assert_eq!(call(0, g, SCRATCH, 2), WOULD_ABORT_RC);
    assert_eq!(call(0, g, SCRATCH, (1 << 20) + 1), WOULD_ABORT_RC);
    assert_eq!(l0.would_abort().len(), 2);
}

#[test]
fn set_state_codes() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1).0;
    let nia = gsb(|b| b.put_u64(Id::NIA, 0x80).unwrap());
    assert_eq!(
        raw_set(&l0, H_GUEST_FLAGS_HOST_WIDE, g, 0, &nia).rc,
        PARAMETER
    );
    assert_eq!(raw_set(&l0, 1, g, 0, &nia).rc, PARAMETER);
    assert_eq!(raw_set(&l0, 0, 4, 0, &nia).rc, P2);
    assert_eq!(raw_set(&l0, H_GUEST_FLAGS_WIDE, g, 0, &nia).rc, P3);
    let ro = raw_gsb(1, &[(0x0002, &[0; 8])]);
    assert_eq!(raw_set(&l0, H_GUEST_FLAGS_WIDE, g, 0, &ro).rc, P3);
    let o = l0.hcall(H_GUEST_SET_STATE, args(&[0, g, 0, MEM_SIZE - 8, 16]));
    assert_eq!(o.rc, P3);
    assert_eq!(l0.state(g, 0, Id::NIA), None);
    assert_eq!(raw_set(&l0, 0, g, 0, &nia).rc, 0);
    assert_eq!(
        l0.state(g, 0, Id::NIA),
        Some(0x80u64.to_be_bytes().to_vec())
    );
    // BLANK with any length is skipped; no-op ids are accepted and discarded.
    let blank = raw_gsb(2, &[(0x0000, &[1, 2, 3]), (0x103E, &[0xFF; 8])]);
    assert_eq!(raw_set(&l0, 0, g, 0, &blank).rc, 0);
    assert_eq!(l0.state(g, 0, Id(0x103E)), None);
    assert!(l0.would_abort().is_empty());
}

#[test]
fn run_codes() {
    let (l0, mem) = new_l0();
    let hv = hv(&l0, &mem);
    hv.negotiate(Capabilities::MODES).unwrap();
    let g = hv.create_guest().unwrap().0;
    hv.create_vcpu(GuestId(g), VcpuId(0)).unwrap();
    let run =
        |flags: u64, guest: u64, vcpu: u64| l0.hcall(H_GUEST_RUN_VCPU, args(&[flags, guest, vcpu]));
    assert_eq!(run(1, g, 0).rc, PARAMETER);
    assert_eq!(run(0, 5, 0).rc, P2);
    assert_eq!(run(0, g, 1).rc, P3); // no such vCPU: H_P3, not an abort
    assert_eq!(run(0, g, 0).rc, P3); // no buffers
    let out_only = gsb(|b| {
        b.put(
            Id::RUN_OUTPUT,
            papr_gsb::Value::Buffer(papr_gsb::BufferDescriptor {
                address: RUN_OUT,
                size: 4096,
            }),
        )
        .unwrap()
    });
    assert_eq!(raw_set(&l0, 0, g, 0, &out_only).rc, 0);
    assert_eq!(run(0, g, 0).rc, P3); // input buffer missing
    let both = gsb(|b| {
        b.put(
            Id::RUN_INPUT,
            papr_gsb::Value::Buffer(papr_gsb::BufferDescriptor {
                address: RUN_IN,
                size: 4096,
            }),
        )
        .unwrap()
    });
    assert_eq!(raw_set(&l0, 0, g, 0, &both).rc, 0);
    assert_eq!(run(0, g, 0).rc, 3); // no partition table: H_NOT_AVAILABLE
    let pt = gsb(|b| {
        b.put(
            Id::PARTITION_TABLE,
            papr_gsb::Value::PartitionTable(papr_gsb::PartitionTable {
                root: ROOT,
                ea_bits: 52,
                root_size: 65536,
            }),
        )
        .unwrap()
    });
    assert_eq!(raw_set(&l0, H_GUEST_FLAGS_WIDE, g, 0, &pt).rc, 0);
    // A bad run input (read-only HDAR after a valid NIA): H_P3, nothing applied.
    write(
        &l0,
        RUN_IN,
        &raw_gsb(
            2,
            &[(0x1021, &[0, 0, 0, 0, 0, 0, 0x10, 0]), (0xF000, &[0; 8])],
        ),
    );
    assert_eq!(run(0, g, 0).rc, P3);
    assert_eq!(l0.state(g, 0, Id::NIA), None);
    // A run input re-registering the output buffer with a bad size would kill QEMU.
    write(
        &l0,
        RUN_IN,
        &raw_gsb(
            1,
            &[(0x0C01, &[&RUN_OUT.to_be_bytes()[..], &[0; 8]].concat())],
        ),
    );
    assert_eq!(run(0, g, 0).rc, WOULD_ABORT_RC);
    assert!(matches!(
        l0.would_abort()[..],
        [WouldAbort::RunBuffer { size: 0, .. }]
    ));
    l0.set_program(
        g,
        0,
        vec![L2Action::Hcall {
            nr: 3,
            args: [0; 9],
        }],
    )
    .unwrap();
    run_input(&l0, g, 0, &[]);
    let o = run(0, g, 0);
    // run_input() wrote at run_in(1, 0) = RUN_IN.
    assert_eq!((o.rc, o.ret[0]), (0, 0xC00));
}

#[test]
fn delete_codes() {
    let (l0, _m) = with_caps();
    assert_eq!(l0.hcall(H_GUEST_CREATE, args(&[0, u64::MAX])).ret[0], 1);
    assert_eq!(
        l0.hcall(H_GUEST_DELETE, args(&[1, 1])).rc,
        H_UNSUPPORTED_FLAG
    );
    assert_eq!(l0.hcall(H_GUEST_DELETE, args(&[0, 2])).rc, P2);
    assert_eq!(l0.hcall(H_GUEST_DELETE, args(&[0, 1])).rc, 0);
    assert_eq!(
        l0.hcall(H_GUEST_DELETE, args(&[H_GUEST_DELETE_ALL, 0])).rc,
        0
    );
    assert!(l0.would_abort().is_empty());
}

#[test]
fn unimplemented_calls_are_h_function_and_counted() {
    let (l0, _m) = new_l0();
    assert_eq!(l0.hcall(H_GUEST_COPY_MEMORY, [0; 9]).rc, -2);
    assert_eq!(l0.hcall(H_RPT_INVALIDATE, [0; 9]).rc, -2);
    assert_eq!(l0.hcall(0xF808, [0; 9]).rc, -2);
    let counts = l0.hcall_counts();
    assert_eq!(counts.get(&H_GUEST_COPY_MEMORY), Some(&1));
    assert_eq!(counts.len(), 3);
}

#[test]
fn set_program_validates() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1).0;
    assert!(l0
        .set_program(g, 0, vec![L2Action::Load { gpa: 3, size: 4 }])
        .is_err());
    assert!(l0
        .set_program(
            g,
            0,
            vec![L2Action::Store {
                gpa: 0,
                size: 3,
                value: 0
            }]
        )
        .is_err());
    assert!(l0.set_program(g, 1, vec![]).is_err());
    assert!(l0.set_program(g, 0, vec![L2Action::WaitHdec]).is_ok());
}
