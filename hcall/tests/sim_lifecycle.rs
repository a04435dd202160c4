//! A full lifecycle against the software L0 with a scripted L2 touching every exit kind,
//! through a partition-scoped radix table written by hand (64 KiB root, RTS = 52,
//! 13/9/9/9), and the R/C table of `qemu-verified.md` §2.
#![cfg(feature = "sim")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // test code

mod sim_common;
use papr_gsb::GuestStateId as Id;
use papr_hcall::sim::{L2Action, L2Event, WouldAbort, WOULD_ABORT_RC};
use papr_hcall::*;
use sim_common::*;

const G: u64 = 1;

fn ids(out: &[(u16, Vec<u8>)]) -> Vec<(u16, usize)> {
    out.iter().map(|(i, v)| (*i, v.len())).collect()
}

fn val(out: &[(u16, Vec<u8>)], id: u16) -> u64 {
    let v = &out.iter().find(|(i, _)| *i == id).unwrap().1;
    let mut b = [0u8; 8];
    b[8 - v.len()..].copy_from_slice(v);
    u64::from_be_bytes(b)
}

#[test]
fn lifecycle_every_exit_kind() {
    let (l0, mem) = new_l0();
    let mut hv = sim_common::hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    let v0 = VcpuId(0);
    let mut rx = Radix::new(&l0, ROOT, TABLES);
    rx.map(0x0, 0x187); // code
    rx.map(0x1000, 0x187); // data
    let ro = rx.map(0x5000, 0x185); // read + exec, no write
    write(
        &l0,
        BACKING + 0x1008,
        // The L2 runs little-endian (MSR[LE]): its `ld` reads the bytes as QEMU does.
        &0x1122_3344_5566_7788u64.to_le_bytes(),
    );
    let gprs: [u64; 9] = core::array::from_fn(|i| 0x1100_0000_0000_0004 + i as u64);
    l0.set_program(
        G,
        0,
        vec![
            L2Action::Hcall {
                nr: 0x1100_0000_0000_0003,
                args: gprs,
            },
            L2Action::Load {
                gpa: 0x1008,
                size: 8,
            },
            L2Action::Store {
                gpa: 0x1010,
                size: 4,
                value: 0xCAFE_F00D,
            },
            L2Action::Load {
                gpa: 0x10_0000,
                size: 8,
            }, // unmapped: HDSI, MMIO for the L1
            L2Action::Store {
                gpa: 0x5008,
                size: 8,
                value: 1,
            }, // read-only: HDSI protection
            L2Action::Fetch { gpa: 0x20_0000 }, // no PMD entry: HISI
            L2Action::illegal(0x7c00_07fe),
            L2Action::WaitHdec,
        ],
    )
    .unwrap();

    // 0xC00: GPR3..GPR12, NIA past the sc.
    run_input(&l0, G, 0, &[(Id::NIA, 0x0)]);
    assert_eq!(hv.run_vcpu(g, v0).unwrap(), 0xC00);
    let out = run_output(&l0, G, 0);
    assert_eq!(
        ids(&out),
        (0x1003..=0x100C).map(|i| (i, 8)).collect::<Vec<_>>()
    );
    assert_eq!(val(&out, 0x1003), 0x1100_0000_0000_0003);
    assert_eq!(val(&out, 0x100C), 0x1100_0000_0000_000C);
    assert_eq!(be64(&l0.state(G, 0, Id::NIA).unwrap()), 0x4);

    // Load and store land without an exit; then the unmapped load exits 0xE00.
    run_input(&l0, G, 0, &[]);
    assert_eq!(hv.run_vcpu(g, v0).unwrap(), 0xE00);
    let out = run_output(&l0, G, 0);
    assert_eq!(
        ids(&out),
        vec![
            (0xF000, 8),
            (0xF001, 4),
            (0xF003, 8),
            (0x1021, 8),
            (0x1022, 8)
        ]
    );
    assert_eq!(
        (val(&out, 0xF000), val(&out, 0xF001), val(&out, 0xF003)),
        (0x10_0000, 0x4000_0000, 0x10_0000)
    );
    assert_eq!((val(&out, 0x1021), val(&out, 0x1022)), (0xC, MSR));
    assert_eq!(
        l0.l2_events(G, 0),
        vec![
            L2Event::Loaded {
                gpa: 0x1008,
                l1: L1RealAddr(BACKING + 0x1008),
                value: 0x1122_3344_5566_7788
            },
            L2Event::Stored {
                gpa: 0x1010,
                l1: L1RealAddr(BACKING + 0x1010),
                value: 0xCAFE_F00D
            },
        ]
    );
    assert_eq!(read(&l0, BACKING + 0x1010, 4), 0xCAFE_F00Du32.to_le_bytes());

    // Rerun without moving NIA: the same load faults again.
    run_input(&l0, G, 0, &[]);
    assert_eq!(hv.run_vcpu(g, v0).unwrap(), 0xE00);
    // The L1 emulates the MMIO load and advances NIA: the store to the read-only page.
    run_input(&l0, G, 0, &[(Id::NIA, 0x10)]);
    assert_eq!(hv.run_vcpu(g, v0).unwrap(), 0xE00);
    let out = run_output(&l0, G, 0);
    assert_eq!(
        (val(&out, 0xF000), val(&out, 0xF001)),
        (0x5008, 0x0A00_0000)
    );
    assert_eq!(rx.leaf(ro), 0xC000_0000_0000_0185 | (BACKING + 0x5000)); // R/C never written

    // Skip it: the fetch from an unmapped page exits 0xE20 with a stale HDAR.
    run_input(&l0, G, 0, &[(Id::NIA, 0x14)]);
    assert_eq!(hv.run_vcpu(g, v0).unwrap(), 0xE20);
    let out = run_output(&l0, G, 0);
    assert_eq!(
        ids(&out),
        vec![(0xF000, 8), (0xF003, 8), (0x1021, 8), (0x1022, 8)]
    );
    assert_eq!(
        (val(&out, 0xF000), val(&out, 0xF003), val(&out, 0x1021)),
        (0x5008, 0x20_0000, 0x20_0000)
    );

    // The L1 maps the page; rerun: the fetch succeeds and the next instruction needs
    // emulation assist: 0xE40 with a 4-byte HEIR.
    rx.map(0x20_0000, 0x187);
    run_input(&l0, G, 0, &[]);
    assert_eq!(hv.run_vcpu(g, v0).unwrap(), 0xE40);
    let out = run_output(&l0, G, 0);
    assert_eq!(ids(&out), vec![(0xF002, 4), (0x1021, 8), (0x1022, 8)]);
    assert_eq!(
        (val(&out, 0xF002), val(&out, 0x1021)),
        (0x7c00_07fe, 0x20_0000)
    );

    // The L1 emulates it; the L2 then waits for the HDEC: 0x980, empty output, time moves.
    let expiry = l0.timebase() + 512_000;
    write(
        &l0,
        run_in(G, 0),
        &gsb(|b| {
            b.put_u64(Id::HDEC_EXPIRY_TB, expiry).unwrap();
            b.put_u64(Id::NIA, 0x20_0004).unwrap();
        }),
    );
    assert_eq!(hv.run_vcpu(g, v0).unwrap(), 0x980);
    assert!(run_output(&l0, G, 0).is_empty());
    assert_eq!(l0.timebase(), expiry);

    // Program over: the L2 spins until the next HDEC.
    run_input(&l0, G, 0, &[]);
    assert_eq!(hv.run_vcpu(g, v0).unwrap(), 0x980);

    // Teardown.
    hv.delete_guest(g).unwrap();
    assert!(l0.guests().is_empty());
    assert_eq!(l0.hcall_count(opcode::H_GUEST_RUN_VCPU), 8);
    assert!(l0.would_abort().is_empty());
}

/// One run of `program` on a fresh guest whose page 0x1000 has leaf flags `flags`.
fn rc_case(flags: u64, program: Vec<L2Action>) -> (u64, u64, Vec<L2Event>) {
    let (l0, mem) = new_l0();
    let mut hv = sim_common::hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    let mut rx = Radix::new(&l0, ROOT, TABLES);
    let slot = rx.map(0x1000, flags);
    l0.set_program(G, 0, program).unwrap();
    run_input(&l0, G, 0, &[]);
    let trap = hv.run_vcpu(g, VcpuId(0)).unwrap();
    let hdsisr = if trap == 0xE00 {
        val(&run_output(&l0, G, 0), 0xF001)
    } else {
        0
    };
    assert_eq!(rx.leaf(slot) & 0x1FF, flags, "QEMU never writes R/C");
    assert!(l0.would_abort().is_empty());
    (trap, hdsisr, l0.l2_events(G, 0))
}

#[test]
fn rc_and_protection_table_of_qemu_verified() {
    use L2Action::{Fetch, Load, Store, WaitHdec};
    let ld = Load {
        gpa: 0x1000,
        size: 8,
    };
    let st = Store {
        gpa: 0x1010,
        size: 8,
        value: 9,
    };
    assert_eq!(rc_case(0x007, vec![ld]).0, 0xE00);
    assert_eq!(rc_case(0x007, vec![ld]).1, 0x0004_0000); // R=0 load
    assert_eq!(rc_case(0x087, vec![ld]).1, 0x0004_0000); // R=0 C=1 load
    assert_eq!(rc_case(0x107, vec![st]).1, 0x0204_0000); // C=0 store first in the run
    assert_eq!(rc_case(0x185, vec![st]).1, 0x0A00_0000); // store to read-only
    assert_eq!(rc_case(0x005, vec![st]).1, 0x0A00_0000); // protection before R/C
    assert_eq!(rc_case(0x107, vec![ld, WaitHdec]).0, 0x980); // R=1 C=0 load fine
    assert_eq!(rc_case(0x182, vec![ld, WaitHdec]).0, 0x980); // EAA 0x2 grants reads
                                                             // Load then store in the same run: the store lands, no exit, C stays 0.
    let (trap, _, ev) = rc_case(0x107, vec![ld, st, WaitHdec]);
    assert_eq!((trap, ev.len()), (0x980, 2));
    // Fetch then store into the same page: lands too.
    let (trap, _, ev) = rc_case(0x107, vec![Fetch { gpa: 0x1000 }, st, WaitHdec]);
    assert_eq!((trap, ev.len()), (0x980, 2));
    // Fetch from an R=0 page: HISI.
    assert_eq!(rc_case(0x007, vec![Fetch { gpa: 0x1000 }]).0, 0xE20);
    // Fetch from a no-execute page: HISI.
    assert_eq!(rc_case(0x186, vec![Fetch { gpa: 0x1000 }]).0, 0xE20);
}

#[test]
fn store_after_load_across_runs_still_faults() {
    let (l0, mem) = new_l0();
    let mut hv = sim_common::hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    let mut rx = Radix::new(&l0, ROOT, TABLES);
    rx.map(0x1000, 0x107);
    l0.set_program(
        G,
        0,
        vec![
            L2Action::Load {
                gpa: 0x1000,
                size: 8,
            },
            L2Action::Hcall {
                nr: 1,
                args: [0; 9],
            },
            L2Action::Store {
                gpa: 0x1000,
                size: 8,
                value: 1,
            },
        ],
    )
    .unwrap();
    run_input(&l0, G, 0, &[]);
    assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap(), 0xC00);
    run_input(&l0, G, 0, &[]);
    assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap(), 0xE00);
    assert_eq!(val(&run_output(&l0, G, 0), 0xF001), 0x0204_0000);
    // The L1 sets C and reruns at the same NIA: the store is retried and lands.
    let slot = rx.pte_slot(0x1000);
    rx.set_leaf(slot, rx.leaf(slot) | 0x80);
    run_input(&l0, G, 0, &[]);
    assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap(), 0x980);
    assert_eq!(read(&l0, BACKING + 0x1000, 8), 1u64.to_le_bytes());
}

#[test]
fn bad_root_shape_is_badconfig_not_abort() {
    // 8192 (entries) sent instead of 65536 (bytes): RPDS 10, every access fails the
    // root-shape check (0x00080000), no abort.
    let (l0, mem) = new_l0();
    let mut hv = sim_common::hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    let pt = gsb(|b| {
        b.put(
            Id::PARTITION_TABLE,
            papr_gsb::Value::PartitionTable(papr_gsb::PartitionTable {
                root: ROOT,
                ea_bits: 52,
                root_size: 8192,
            }),
        )
        .unwrap()
    });
    hv.set_state(Target::guest(g), &pt, L1RealAddr(SCRATCH))
        .unwrap();
    l0.set_program(
        G,
        0,
        vec![L2Action::Store {
            gpa: 0,
            size: 1,
            value: 0,
        }],
    )
    .unwrap();
    run_input(&l0, G, 0, &[]);
    assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap(), 0xE00);
    assert_eq!(val(&run_output(&l0, G, 0), 0xF001), 0x0208_0000);
}

#[test]
fn hdec_is_edge_triggered() {
    let (l0, mem) = new_l0();
    let mut hv = sim_common::hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    l0.set_program(
        G,
        0,
        vec![
            L2Action::Hcall {
                nr: 1,
                args: [0; 9],
            },
            L2Action::WaitHdec,
        ],
    )
    .unwrap();
    // First run of the machine, expiry never set: the hcall still exits.
    assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap(), 0xC00);
    // Then a wait with no future expiry and no positive HDEC left: the L2 never exits.
    write(&l0, run_in(G, 0), &[0, 0, 0, 0]);
    assert_eq!(
        l0.hcall(opcode::H_GUEST_RUN_VCPU, [0, G, 0, 0, 0, 0, 0, 0, 0])
            .rc,
        WOULD_ABORT_RC
    );
    assert!(matches!(
        l0.would_abort()[..],
        [WouldAbort::L2NeverExits { hdec_expiry: 0, .. }]
    ));

    // A run that ends before its expiry leaves the HDEC positive; when time then passes
    // the expiry, the next run exits at once with 0x980 and NIA unchanged.
    let (l0, mem) = new_l0();
    let mut hv = sim_common::hv(&l0, &mem);
    let g = ready_guest(&mut hv, 1);
    l0.set_program(
        G,
        0,
        vec![
            L2Action::Hcall {
                nr: 1,
                args: [0; 9]
            };
            2
        ],
    )
    .unwrap();
    run_input(&l0, G, 0, &[]);
    assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap(), 0xC00);
    l0.advance_timebase(1_000_000_000);
    write(&l0, run_in(G, 0), &[0, 0, 0, 0]);
    assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap(), 0x980);
    assert_eq!(be64(&l0.state(G, 0, Id::NIA).unwrap()), 4);
    // The HDEC is negative now: the pending hcall runs even with the expiry past.
    assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap(), 0xC00);
    assert!(l0.would_abort().is_empty());
}

#[test]
fn two_vcpus_keep_their_own_state() {
    let (l0, mem) = new_l0();
    let mut hv = sim_common::hv(&l0, &mem);
    let g = ready_guest(&mut hv, 2);
    for v in 0..2 {
        l0.set_program(
            G,
            v,
            vec![L2Action::Hcall {
                nr: 0x10 + v,
                args: [v; 9],
            }],
        )
        .unwrap();
        run_input(&l0, G, v, &[(Id::NIA, 0x100 * v)]);
    }
    for v in 0..2 {
        assert_eq!(hv.run_vcpu(g, VcpuId(v)).unwrap(), 0xC00);
        let out = run_output(&l0, G, v);
        assert_eq!((val(&out, 0x1003), val(&out, 0x1004)), (0x10 + v, v));
        assert_eq!(be64(&l0.state(G, v, Id::NIA).unwrap()), 0x100 * v + 4);
    }
    assert!(l0.would_abort().is_empty());
}

/// The data register of a scripted load/store is GPR5, as in the code a real L0 runs: a
/// store's value is there when it exits (the L1 reads it to emulate an MMIO store), and a
/// load that completes in RAM leaves its value there.
#[test]
fn scripted_loads_and_stores_use_gpr5_as_data_register() {
    // Runs `program` to its first exit (an HDSI at the unmapped 0x10_0000); GPR5 then.
    let gpr5_at_exit = |program: Vec<L2Action>| {
        let (l0, mem) = new_l0();
        let mut hv = sim_common::hv(&l0, &mem);
        let g = ready_guest(&mut hv, 1);
        let mut rx = Radix::new(&l0, ROOT, TABLES);
        rx.map(0x0, 0x187);
        rx.map(0x1000, 0x187);
        write(
            &l0,
            BACKING + 0x1008,
            &0x1122_3344_5566_7788u64.to_le_bytes(),
        );
        l0.set_program(G, 0, program).unwrap();
        run_input(&l0, G, 0, &[]);
        assert_eq!(hv.run_vcpu(g, VcpuId(0)).unwrap(), 0xE00);
        let v = l0.state(G, 0, Id::GPR5).unwrap();
        u64::from_be_bytes(v[..8].try_into().unwrap())
    };
    let unmapped_load = L2Action::Load {
        gpa: 0x10_0000,
        size: 8,
    };
    let ram_load = L2Action::Load {
        gpa: 0x1008,
        size: 8,
    };
    assert_eq!(
        gpr5_at_exit(vec![ram_load, unmapped_load]),
        0x1122_3344_5566_7788,
        "the RAM load's value"
    );
    let store = L2Action::Store {
        gpa: 0x10_0000,
        size: 4,
        value: 0xCAFE_F00D,
    };
    assert_eq!(gpr5_at_exit(vec![store]), 0xCAFE_F00D, "the store's source");
}
