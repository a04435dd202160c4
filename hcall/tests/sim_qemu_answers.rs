//! Every QEMU answer listed in `qemu-pseries.md` / `qemu-verified.md`, reproduced one by one
//! against the software L0 — through `NestedHv` where it lets the request through, raw
//! `Hcall` where it refuses client-side.
#![cfg(feature = "sim")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // test code

mod sim_common;
use papr_gsb::{
    BufferDescriptor, GsbBuilder, GuestStateId as Id, PartitionTable, ProcessTable, Value,
};
use papr_hcall::flags::*;
use papr_hcall::opcode::*;
use papr_hcall::sim::{L2Action, SoftL0, WouldAbort, WOULD_ABORT_RC};
use papr_hcall::*;
use sim_common::*;

const P2: i64 = -55;
const P3: i64 = -56;
const PARAMETER: i64 = -4;

fn code(e: HcallError) -> ReturnCode {
    e.return_code().unwrap()
}

#[test]
fn get_capabilities_answers_per_cpu_model_and_refuses_flags() {
    let (l0, mem) = new_l0();
    assert_eq!(
        hv(&l0, &mem).get_capabilities().unwrap(),
        Capabilities(0x6000_0000_0000_0000)
    );
    for caps in [0x4000_0000_0000_0000u64, 0x7000_0000_0000_0000] {
        let l0 = SoftL0::new(VmRealMemory(memory())).with_capabilities(caps);
        assert_eq!(
            l0.hcall(H_GUEST_GET_CAPABILITIES, [0; 9]),
            HcallOutput::ok(caps)
        );
    }
    assert_eq!(l0.hcall(H_GUEST_GET_CAPABILITIES, args(&[1])).rc, PARAMETER);
}

#[test]
fn create_before_set_capabilities_is_h_state() {
    let (l0, mem) = new_l0();
    assert_eq!(
        code(hv(&l0, &mem).create_guest().unwrap_err()),
        ReturnCode::State
    );
}

#[test]
fn set_capabilities_zero_p2_then_once_only() {
    let (l0, mem) = new_l0();
    let o = l0.hcall(H_GUEST_SET_CAPABILITIES, args(&[0, 0]));
    // r4 = 1 invalid bitmap, r5 = index of the first supported mode (P10 = 2).
    assert_eq!((o.rc, o.ret[0], o.ret[1]), (P2, 1, 2));
    let hv = hv(&l0, &mem);
    hv.set_capabilities(Capabilities::POWER10).unwrap();
    assert_eq!(
        code(hv.set_capabilities(Capabilities::POWER10).unwrap_err()),
        ReturnCode::State
    );
}

#[test]
fn create_returns_guest_id_one_in_r4() {
    let (l0, mem) = new_l0();
    hv(&l0, &mem).negotiate(Capabilities::MODES).unwrap();
    assert_eq!(
        l0.hcall(H_GUEST_CREATE, args(&[0, u64::MAX])),
        HcallOutput::ok(1)
    );
}

#[test]
fn create_vcpu_in_order_and_duplicate_is_in_use() {
    let (l0, mem) = new_l0();
    let hv = hv(&l0, &mem);
    hv.negotiate(Capabilities::MODES).unwrap();
    let g = hv.create_guest().unwrap();
    for v in 0..3 {
        hv.create_vcpu(g, VcpuId(v)).unwrap();
    }
    assert_eq!(
        code(hv.create_vcpu(g, VcpuId(1)).unwrap_err()),
        ReturnCode::InUse
    );
    assert_eq!(l0.vcpus(g.0), Some(3));
}

#[test]
fn run_needs_buffers_then_partition_table_and_no_flags() {
    let (l0, mem) = new_l0();
    let hv = hv(&l0, &mem);
    hv.negotiate(Capabilities::MODES).unwrap();
    let g = hv.create_guest().unwrap();
    hv.create_vcpu(g, VcpuId(0)).unwrap();
    assert_eq!(code(hv.run_vcpu(g, VcpuId(0)).unwrap_err()), ReturnCode::P3);
    let bufs = gsb(|b| {
        for (id, a) in [(Id::RUN_OUTPUT, RUN_OUT), (Id::RUN_INPUT, RUN_IN)] {
            b.put(
                id,
                Value::Buffer(BufferDescriptor {
                    address: a,
                    size: 4096,
                }),
            )
            .unwrap();
        }
    });
    hv.set_state(Target::thread(g, VcpuId(0)), &bufs, L1RealAddr(SCRATCH))
        .unwrap();
    assert_eq!(
        code(hv.run_vcpu(g, VcpuId(0)).unwrap_err()),
        ReturnCode::NotAvailable
    );
    assert_eq!(
        code(
            hv.run_vcpu_with(g, VcpuId(0), RunFlags::EXTERNAL_INTERRUPT)
                .unwrap_err()
        ),
        ReturnCode::Parameter
    );
    assert!(l0.would_abort().is_empty());
}

#[test]
fn malformed_gsb_in_get_or_set_is_p3_and_applies_nothing() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1).0;
    // NIA then a truncated element: nothing applied.
    let bad = raw_gsb(
        2,
        &[(0x1021, &[0, 0, 0, 0, 0, 0, 0x20, 0]), (0x1022, &[1, 2])],
    );
    assert_eq!(raw_set(&l0, 0, g, 0, &bad).rc, P3);
    assert_eq!(l0.state(g, 0, Id::NIA), None);
    // Unknown id, size mismatch, count beyond the buffer, read-only id, wrong scope.
    let cases: [Vec<u8>; 5] = [
        raw_gsb(1, &[(0x0007, &[0; 8])]),
        raw_gsb(1, &[(0x1021, &[0; 4])]),
        raw_gsb(3, &[(0x1021, &[0; 8])]),
        raw_gsb(1, &[(0xF000, &[0; 8])]),
        raw_gsb(1, &[(0x0003, &[0; 4])]),
    ];
    for c in &cases {
        assert_eq!(raw_set(&l0, 0, g, 0, c).rc, P3, "{c:x?}");
    }
    assert_eq!(raw_get(&l0, 0, g, 0, &cases[0]).0.rc, P3);
    assert_eq!(raw_get(&l0, H_GUEST_FLAGS_WIDE, g, 0, &cases[1]).0.rc, P3);
    assert!(l0.would_abort().is_empty());
}

#[test]
fn delete_of_deleted_guest_is_p2() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 0);
    hv.delete_guest(g).unwrap();
    assert_eq!(code(hv.delete_guest(g).unwrap_err()), ReturnCode::P2);
}

#[test]
fn guest_wide_get_answers_run_output_minimum_and_lpvr() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    let mut req = gsb(|b| {
        b.put_request(Id::RUN_OUTPUT_MIN_SIZE).unwrap();
        b.put_request(Id::LOGICAL_PVR).unwrap();
    });
    let ans = hv
        .get_state(Target::guest(g), &mut req, L1RealAddr(SCRATCH))
        .unwrap();
    assert_eq!(
        ans.get(Id::RUN_OUTPUT_MIN_SIZE).unwrap().value().as_u64(),
        Some(0x80)
    );
    assert_eq!(
        ans.get(Id::LOGICAL_PVR).unwrap().value_bytes(),
        &0x0080_1200u32.to_be_bytes()
    );
    // An LPVR set is read back.
    let set = gsb(|b| b.put_u32(Id::LOGICAL_PVR, 0x0F00_0006).unwrap());
    hv.set_state(Target::guest(g), &set, L1RealAddr(SCRATCH))
        .unwrap();
    let mut req = gsb(|b| b.put_request(Id::LOGICAL_PVR).unwrap());
    let ans = hv
        .get_state(Target::guest(g), &mut req, L1RealAddr(SCRATCH))
        .unwrap();
    assert_eq!(
        ans.get(Id::LOGICAL_PVR).unwrap().value_bytes(),
        &0x0F00_0006u32.to_be_bytes()
    );
}

fn host_request() -> Vec<u8> {
    gsb(|b| {
        for id in 0x0800..=0x0804 {
            b.put_request(Id(id)).unwrap();
        }
    })
}

#[test]
fn host_wide_get_is_zeros_whatever_the_guest_id() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    ready_guest(&mut hv, 1);
    for guest in [0, 1, 77] {
        let mut req = host_request();
        // A dirty value in the request: the L0 must overwrite it with 0.
        let n = req.len();
        req[n - 1] = 0xAA;
        let (o, ans) = raw_get(&l0, H_GUEST_FLAGS_HOST_WIDE, guest, 0, &req);
        assert_eq!(o.rc, 0);
        let p = papr_gsb::Gsb::parse(&ans, &papr_gsb::Policy::l1_answer(papr_gsb::Scope::Host))
            .unwrap();
        assert_eq!(p.len(), 5);
        assert!(p.iter().all(|e| e.value().as_u64() == Some(0)));
    }
    let mut req = host_request();
    let ans = hv
        .get_state(Target::host(), &mut req, L1RealAddr(SCRATCH))
        .unwrap();
    assert_eq!(ans.len(), 5);
}

#[test]
fn host_wide_error_cases() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1).0;
    let req = host_request();
    // Both flags: H_PARAMETER, buffer untouched.
    let mut marked = req.clone();
    let n = marked.len();
    marked[n - 1] = 0x5A;
    let (o, ans) = raw_get(
        &l0,
        H_GUEST_FLAGS_WIDE | H_GUEST_FLAGS_HOST_WIDE,
        g,
        0,
        &marked,
    );
    assert_eq!((o.rc, ans), (PARAMETER, marked));
    assert_eq!(raw_get(&l0, H_GUEST_FLAGS_WIDE, g, 0, &req).0.rc, P3);
    assert_eq!(raw_get(&l0, 0, g, 0, &req).0.rc, P3);
    let mixed = gsb(|b| {
        b.put_request(Id(0x0800)).unwrap();
        b.put_request(Id::RUN_OUTPUT_MIN_SIZE).unwrap();
    });
    assert_eq!(raw_get(&l0, H_GUEST_FLAGS_HOST_WIDE, g, 0, &mixed).0.rc, P3);
    assert_eq!(
        raw_set(&l0, H_GUEST_FLAGS_HOST_WIDE, g, 0, &req).rc,
        PARAMETER
    );
    let counter = raw_gsb(1, &[(0x0800, &[0; 8])]);
    assert_eq!(raw_set(&l0, H_GUEST_FLAGS_WIDE, g, 0, &counter).rc, P3);
    assert!(l0.would_abort().is_empty());
}

#[test]
fn vpa_host_state_size_and_copy_memory_are_unsupported() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    let vpa = gsb(|b| b.put_u64(Id(0x0C02), 0x10_0000).unwrap());
    assert_eq!(
        code(
            hv.set_state(Target::thread(g, VcpuId(0)), &vpa, L1RealAddr(SCRATCH))
                .unwrap_err()
        ),
        ReturnCode::P3
    );
    let mut hss = gsb(|b| b.put_request(Id(0x0001)).unwrap());
    assert_eq!(
        code(
            hv.get_state(Target::guest(g), &mut hss, L1RealAddr(SCRATCH))
                .unwrap_err()
        ),
        ReturnCode::P3
    );
    assert_eq!(l0.hcall(H_GUEST_COPY_MEMORY, [0; 9]).rc, -2);
    // COPY_MEM capability refused: H_P2 with r4 = 1.
    let o = l0.hcall(H_GUEST_SET_CAPABILITIES, args(&[0, 1 << 63]));
    assert_eq!((o.rc, o.ret[0]), (P2, 1));
}

#[test]
fn tb_offset_reads_back_zero_but_reaches_existing_vcpus() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    let set = gsb(|b| b.put_u64(Id::TB_OFFSET, 0x100_0000).unwrap());
    hv.set_state(Target::guest(g), &set, L1RealAddr(SCRATCH))
        .unwrap();
    let mut req = gsb(|b| b.put_request(Id::TB_OFFSET).unwrap());
    let ans = hv
        .get_state(Target::guest(g), &mut req, L1RealAddr(SCRATCH))
        .unwrap();
    assert_eq!(ans.get(Id::TB_OFFSET).unwrap().value().as_u64(), Some(0));
    assert_eq!(
        l0.state(g.0, 0, Id::TB_OFFSET),
        Some(0x100_0000u64.to_be_bytes().to_vec())
    );
    // A vCPU created after the SET starts with offset 0 (never written).
    hv.create_vcpu(g, VcpuId(1)).unwrap();
    assert_eq!(l0.state(g.0, 1, Id::TB_OFFSET), None);
}

#[test]
fn msr_and_lpcr_are_not_masked() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    let t = Target::thread(g, VcpuId(0));
    let set = gsb(|b| {
        b.put_u64(Id::MSR, u64::MAX).unwrap();
        b.put_u64(Id::LPCR, u64::MAX).unwrap();
    });
    hv.set_state(t, &set, L1RealAddr(SCRATCH)).unwrap();
    let mut req = gsb(|b| {
        b.put_request(Id::MSR).unwrap();
        b.put_request(Id::LPCR).unwrap();
    });
    let ans = hv.get_state(t, &mut req, L1RealAddr(SCRATCH)).unwrap();
    assert!(ans.iter().all(|e| e.value().as_u64() == Some(u64::MAX)));
}

#[test]
fn run_input_is_applied_at_run_time_last_duplicate_wins_empty_accepted() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    let hc = L2Action::Hcall {
        nr: 0x222,
        args: [0; 9],
    };
    l0.set_program(g.0, 0, vec![hc, hc, hc]).unwrap();
    // SET_STATE NIA = 0, run input NIA = 0x2000: the input wins.
    let set = gsb(|b| b.put_u64(Id::NIA, 0).unwrap());
    hv.set_state(Target::thread(g, VcpuId(0)), &set, L1RealAddr(SCRATCH))
        .unwrap();
    run_input(&l0, g.0, 0, &[(Id::NIA, 0x2000)]);
    assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap(), 0xC00);
    assert_eq!(be64(&l0.state(g.0, 0, Id::NIA).unwrap()), 0x2004);
    // Two NIAs in one input: the last wins.
    run_input(&l0, g.0, 0, &[(Id::NIA, 0x0), (Id::NIA, 0x3000)]);
    hv.run_vcpu(g, VcpuId(0)).unwrap();
    assert_eq!(be64(&l0.state(g.0, 0, Id::NIA).unwrap()), 0x3004);
    // An empty input continues from the saved NIA.
    write(&l0, run_in(g.0, 0), &[0, 0, 0, 0]);
    hv.run_vcpu(g, VcpuId(0)).unwrap();
    assert_eq!(be64(&l0.state(g.0, 0, Id::NIA).unwrap()), 0x3008);
}

#[test]
fn two_guests_single_delete_and_id_reuse() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g1 = ready_guest(&mut hv, 1);
    let g2 = ready_guest(&mut hv, 1);
    assert_eq!((g1.0, g2.0), (1, 2));
    for (g, gpr3) in [(g1, 1), (g2, 2)] {
        l0.set_program(
            g.0,
            0,
            vec![
                L2Action::Hcall {
                    nr: gpr3,
                    args: [0; 9]
                };
                4
            ],
        )
        .unwrap();
    }
    for _ in 0..2 {
        for (g, gpr3) in [(g1, 1u64), (g2, 2)] {
            run_input(&l0, g.0, 0, &[]);
            assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap(), 0xC00);
            assert_eq!(
                run_output(&l0, g.0, 0)[0],
                (0x1003, gpr3.to_be_bytes().to_vec())
            );
        }
    }
    assert_eq!(
        l0.hcall(H_GUEST_DELETE, args(&[1 << 62, 1])).rc,
        H_UNSUPPORTED_FLAG
    );
    hv.delete_guest(g1).unwrap();
    // Every call on the deleted guest: H_P2 (raw: NestedHv refuses some client-side).
    assert_eq!(l0.hcall(H_GUEST_RUN_VCPU, args(&[0, 1, 0])).rc, P2);
    assert_eq!(
        raw_set(&l0, 0, 1, 0, &gsb(|b| b.put_u64(Id::NIA, 0).unwrap())).rc,
        P2
    );
    assert_eq!(l0.hcall(H_GUEST_CREATE_VCPU, args(&[0, 1, 0])).rc, P2);
    assert_eq!(l0.hcall(H_GUEST_DELETE, args(&[0, 1])).rc, P2);
    run_input(&l0, g2.0, 0, &[]);
    assert_eq!(hv.run_vcpu(g2, VcpuId(0)).unwrap(), 0xC00);
    assert_eq!(hv.create_guest().unwrap(), GuestId(1));
    assert_eq!(hv.create_guest().unwrap(), GuestId(3));
    assert_eq!(l0.hcall(H_GUEST_DELETE, args(&[0, 0])).rc, P2);
    assert_eq!(l0.guests(), vec![1, 2, 3]);
    assert!(l0.would_abort().is_empty());
}

/// A guest-wide SET of a partition/process table, sent raw.
fn table_set(root: u64, ea_bits: u64) -> Vec<u8> {
    gsb(|b| {
        b.put(
            Id::PARTITION_TABLE,
            Value::PartitionTable(PartitionTable {
                root,
                ea_bits,
                root_size: 65536,
            }),
        )
        .unwrap()
    })
}

#[test]
fn requests_that_kill_qemu_are_refused_by_nested_hv_and_recorded_raw() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    let before = l0.hcall_counts();
    // Client side: every one refused without an hcall.
    let proc = gsb(|b| {
        b.put(
            Id::PROCESS_TABLE,
            Value::ProcessTable(ProcessTable {
                base: 0,
                size: 8192,
            }),
        )
        .unwrap()
    });
    let bigbuf = gsb(|b| {
        b.put(
            Id::RUN_INPUT,
            Value::Buffer(BufferDescriptor {
                address: RUN_IN,
                size: 16385,
            }),
        )
        .unwrap()
    });
    let refused = [
        hv.set_state(Target::guest(g), &table_set(ROOT, 48), L1RealAddr(SCRATCH)),
        hv.set_state(Target::guest(g), &proc, L1RealAddr(SCRATCH)),
        hv.set_state(Target::thread(g, VcpuId(0)), &bigbuf, L1RealAddr(SCRATCH)),
        hv.set_state(
            Target::thread(g, VcpuId(5)),
            &gsb(|b| b.put_u64(Id::NIA, 0).unwrap()),
            L1RealAddr(SCRATCH),
        ),
        hv.create_vcpu(g, VcpuId(3)),
        hv.delete_all_guests(),
    ];
    for r in refused {
        assert!(matches!(r, Err(HcallError::Refused { .. })), "{r:?}");
    }
    for id in [Id::PARTITION_TABLE, Id::PROCESS_TABLE] {
        let mut req = gsb(|b| b.put_request(id).unwrap());
        assert!(matches!(
            hv.get_state(Target::guest(g), &mut req, L1RealAddr(SCRATCH)),
            Err(HcallError::Refused { .. })
        ));
    }
    assert_eq!(l0.hcall_counts(), before);
    assert!(l0.would_abort().is_empty());

    // Raw: each one answers WOULD_ABORT_RC, applies nothing, and is recorded.
    let g = g.0;
    assert_eq!(
        raw_set(&l0, H_GUEST_FLAGS_WIDE, g, 0, &table_set(0x5_0000, 48)).rc,
        WOULD_ABORT_RC
    );
    assert_eq!(
        l0.guest_state(g, Id::PARTITION_TABLE)
            .map(|v| be64(&v[..8])),
        Some(ROOT)
    );
    assert_eq!(
        raw_set(&l0, H_GUEST_FLAGS_WIDE, g, 0, &proc).rc,
        WOULD_ABORT_RC
    );
    for id in [Id::PARTITION_TABLE, Id::PROCESS_TABLE] {
        let req = gsb(|b| b.put_request(id).unwrap());
        assert_eq!(
            raw_get(&l0, H_GUEST_FLAGS_WIDE, g, 0, &req).0.rc,
            WOULD_ABORT_RC
        );
    }
    for id in [Id::RUN_INPUT, Id::RUN_OUTPUT] {
        let req = gsb(|b| b.put_request(id).unwrap());
        assert_eq!(raw_get(&l0, 0, g, 0, &req).0.rc, WOULD_ABORT_RC);
    }
    assert_eq!(
        l0.hcall(H_GUEST_CREATE_VCPU, args(&[0, g, 3])).rc,
        WOULD_ABORT_RC
    );
    let nia = gsb(|b| b.put_u64(Id::NIA, 0).unwrap());
    assert_eq!(raw_set(&l0, 0, g, 5, &nia).rc, WOULD_ABORT_RC);
    assert_eq!(
        raw_get(&l0, 0, g, 5, &gsb(|b| b.put_request(Id::NIA).unwrap()))
            .0
            .rc,
        WOULD_ABORT_RC
    );
    let min = gsb(|b| b.put_request(Id::RUN_OUTPUT_MIN_SIZE).unwrap());
    assert_eq!(
        raw_get(&l0, H_GUEST_FLAGS_WIDE, g, 9, &min).0.rc,
        WOULD_ABORT_RC
    );
    for (address, size) in [(RUN_IN, 16385), (RUN_IN, 0x7F), (0, 4096)] {
        let b = gsb(|b| {
            b.put(
                Id::RUN_INPUT,
                Value::Buffer(BufferDescriptor { address, size }),
            )
            .unwrap()
        });
        assert_eq!(raw_set(&l0, 0, g, 0, &b).rc, WOULD_ABORT_RC);
    }
    let o = l0.hcall(H_GUEST_SET_STATE, args(&[0, g, 0, SCRATCH, (1 << 20) + 1]));
    assert_eq!(o.rc, WOULD_ABORT_RC);
    let o = l0.hcall(H_GUEST_GET_STATE, args(&[0, g, 0, SCRATCH, 3]));
    assert_eq!(o.rc, WOULD_ABORT_RC);
    let aborts = l0.would_abort();
    assert_eq!(aborts.len(), 15);
    assert_eq!(
        aborts[0],
        WouldAbort::PartitionTableEaBits {
            guest: g,
            ea_bits: 48
        }
    );
    assert_eq!(
        aborts[1],
        WouldAbort::ProcessTableSize {
            guest: g,
            size: 8192
        }
    );
    assert_eq!(
        aborts[6],
        WouldAbort::VcpuOutOfOrder {
            guest: g,
            vcpu: 3,
            next: 1
        }
    );
    assert!(matches!(
        aborts[14],
        WouldAbort::StateBufferSize { len: 3, .. }
    ));
    assert_eq!(l0.vcpus(g), Some(1));
    assert_eq!(l0.state(g, 0, Id::NIA), None);
}

#[test]
fn empty_thread_wide_set_on_a_missing_vcpu_touches_nothing() {
    // QEMU asserts only when an element is looked up: an empty buffer passes.
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1).0;
    assert_eq!(raw_set(&l0, 0, g, 7, &[0, 0, 0, 0]).rc, 0);
    assert!(l0.would_abort().is_empty());
}

#[test]
fn delete_all_then_any_guest_lookup_would_kill_qemu() {
    for op in [
        H_GUEST_RUN_VCPU,
        H_GUEST_GET_STATE,
        H_GUEST_DELETE,
        H_GUEST_CREATE,
        H_GUEST_CREATE_VCPU,
    ] {
        let (l0, mem) = new_l0();
        let mut hv = hv(&l0, &mem).with_profile(Profile {
            refuse_delete_all: false,
            ..Profile::QEMU
        });
        ready_guest(&mut hv, 1);
        hv.delete_all_guests().unwrap();
        assert!(l0.guests().is_empty());
        // Still fine: GET_CAPABILITIES, host-wide GET, a second delete-all.
        assert_eq!(l0.hcall(H_GUEST_GET_CAPABILITIES, [0; 9]).rc, 0);
        assert_eq!(
            raw_get(&l0, H_GUEST_FLAGS_HOST_WIDE, 0, 0, &host_request())
                .0
                .rc,
            0
        );
        assert_eq!(l0.hcall(H_GUEST_DELETE, args(&[H_GUEST_DELETE_ALL])).rc, 0);
        assert!(l0.would_abort().is_empty());
        let a = match op {
            H_GUEST_GET_STATE => args(&[0, 1, 0, SCRATCH, 4]),
            H_GUEST_CREATE => args(&[0, u64::MAX]),
            _ => args(&[0, 1, 0]),
        };
        assert_eq!(l0.hcall(op, a).rc, WOULD_ABORT_RC);
        assert_eq!(
            l0.would_abort(),
            vec![WouldAbort::LookupAfterDeleteAll { opcode: op }]
        );
    }
}

#[test]
fn delete_all_before_any_guest_then_create_works() {
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    hv.negotiate(Capabilities::MODES).unwrap();
    assert_eq!(l0.hcall(H_GUEST_DELETE, args(&[H_GUEST_DELETE_ALL])).rc, 0);
    let g = ready_guest(&mut hv, 1);
    assert_eq!(g, GuestId(1));
    l0.set_program(
        1,
        0,
        vec![L2Action::Hcall {
            nr: 1,
            args: [0; 9],
        }],
    )
    .unwrap();
    run_input(&l0, 1, 0, &[]);
    assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap(), 0xC00);
    assert!(l0.would_abort().is_empty());
}

#[test]
fn delete_all_flag_wins_over_reserved_bits() {
    // QEMU tests the delete-all bit before the reserved ones.
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    ready_guest(&mut hv, 0);
    assert_eq!(
        l0.hcall(H_GUEST_DELETE, args(&[H_GUEST_DELETE_ALL | 1, 1]))
            .rc,
        0
    );
    assert!(l0.guests().is_empty());
}

#[test]
fn gsb_builder_requests_survive_a_get_round_trip() {
    // A thread-wide GET of never-written registers answers zeros.
    let (l0, mem) = new_l0();
    let mut hv = hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    let mut buf = vec![0u8; 64];
    let mut b = GsbBuilder::new(&mut buf).unwrap();
    b.put_u64(Id::GPR3, 0xDEAD).unwrap();
    b.put_u32(Id::CR, 0xBEEF).unwrap();
    let n = b.len();
    let ans = hv
        .get_state(
            Target::thread(g, VcpuId(0)),
            &mut buf[..n],
            L1RealAddr(SCRATCH),
        )
        .unwrap();
    assert!(ans.iter().all(|e| e.value_bytes().iter().all(|&x| x == 0)));
}
