//! Safe code cannot make the L0 write memory outside the `RealMemory` backend: every
//! element of a SET that hands the L0 an L1 address (run buffers, VPA, partition-table
//! root) is checked against it before any hcall, and the safe accessor of the backend hands
//! out only contained backends.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // test code

mod common;
use common::{args, scripted, VecMemory};
use papr_gsb::{BufferDescriptor, GsbBuilder, GuestStateId, PartitionTable, Value};
use papr_hcall::opcode::*;
use papr_hcall::*;

/// L1 memory: 64 KiB at 0.
const MEM: u64 = 0x1_0000;
/// Where request buffers are written.
const SCRATCH: u64 = 0x100;
const G: GuestId = GuestId(1);

fn one(id: GuestStateId, v: Value) -> Vec<u8> {
    let mut buf = vec![0u8; 64];
    let mut b = GsbBuilder::new(&mut buf).unwrap();
    b.put(id, v).unwrap();
    let n = b.len();
    buf.truncate(n);
    buf
}

/// A NestedHv with guest 1 and vCPU 0 created, that then expects `rest`.
fn hv_with(rest: Vec<(u64, [u64; 9], HcallOutput)>) -> NestedHv<MockHcall, VecMemory, NoDelay> {
    let mut script = vec![
        (H_GUEST_CREATE, args(&[0, u64::MAX]), HcallOutput::ok(1)),
        (H_GUEST_CREATE_VCPU, args(&[0, 1, 0]), HcallOutput::ok(0)),
    ];
    script.extend(rest);
    let hv = NestedHv::new(scripted(script), VecMemory::new(MEM as usize), NoDelay);
    let g = hv.create_guest().unwrap();
    hv.create_vcpu(g, VcpuId(0)).unwrap();
    hv
}

fn run_buffer(id: GuestStateId, address: u64, size: u64) -> Vec<u8> {
    one(id, Value::Buffer(BufferDescriptor { address, size }))
}

#[test]
fn run_buffers_outside_memory_are_refused_without_an_hcall() {
    // The mock expects no SET: an hcall would fail the test.
    let hv = hv_with(vec![]);
    for (id, address) in [
        (GuestStateId::RUN_OUTPUT, MEM - 0x40),
        (GuestStateId::RUN_INPUT, MEM),
        (GuestStateId::RUN_OUTPUT, u64::MAX - 0x7F),
        (GuestStateId::RUN_INPUT, 0xdead_0000),
    ] {
        let buf = run_buffer(id, address, 0x80);
        assert_eq!(
            hv.set_state(Target::thread(G, VcpuId(0)), &buf, L1RealAddr(SCRATCH)),
            Err(HcallError::OutsideMemory {
                call: "H_GUEST_SET_STATE",
                id,
                addr: address,
                len: 0x80
            }),
            "{id} at {address:#x}"
        );
    }
}

#[test]
fn run_buffers_inside_memory_are_passed_on() {
    let buf = run_buffer(GuestStateId::RUN_OUTPUT, MEM - 0x80, 0x80);
    let len = buf.len() as u64;
    let hv = hv_with(vec![(
        H_GUEST_SET_STATE,
        args(&[0, 1, 0, SCRATCH, len]),
        HcallOutput::ok(0),
    )]);
    hv.set_state(Target::thread(G, VcpuId(0)), &buf, L1RealAddr(SCRATCH))
        .unwrap();
}

#[test]
fn vpa_and_partition_table_outside_memory_are_refused() {
    let hv = hv_with(vec![]);
    // A VPA the L0 would write 1 KiB of, 0x200 bytes before the end of memory.
    let vpa = one(GuestStateId::VPA, Value::U64(MEM - 0x200));
    assert_eq!(
        hv.set_state(Target::thread(G, VcpuId(0)), &vpa, L1RealAddr(SCRATCH)),
        Err(HcallError::OutsideMemory {
            call: "H_GUEST_SET_STATE",
            id: GuestStateId::VPA,
            addr: MEM - 0x200,
            len: VPA_BYTES
        })
    );
    // A partition-table root (64 KiB) that starts inside memory but ends past it.
    let pt = one(
        GuestStateId::PARTITION_TABLE,
        Value::PartitionTable(PartitionTable {
            root: 0x8000,
            ea_bits: 52,
            root_size: 0x1_0000,
        }),
    );
    assert_eq!(
        hv.set_state(Target::guest(G), &pt, L1RealAddr(SCRATCH)),
        Err(HcallError::OutsideMemory {
            call: "H_GUEST_SET_STATE",
            id: GuestStateId::PARTITION_TABLE,
            addr: 0x8000,
            len: 0x1_0000
        })
    );
}

#[test]
fn vpa_zero_unregisters_and_a_root_inside_memory_is_sent() {
    let vpa = one(GuestStateId::VPA, Value::U64(0));
    let pt = one(
        GuestStateId::PARTITION_TABLE,
        Value::PartitionTable(PartitionTable {
            root: 0,
            ea_bits: 52,
            root_size: 0x1_0000,
        }),
    );
    let hv = hv_with(vec![
        (
            H_GUEST_SET_STATE,
            args(&[0, 1, 0, SCRATCH, vpa.len() as u64]),
            HcallOutput::ok(0),
        ),
        (
            H_GUEST_SET_STATE,
            args(&[1 << 63, 1, 0, SCRATCH, pt.len() as u64]),
            HcallOutput::ok(0),
        ),
    ]);
    hv.set_state(Target::thread(G, VcpuId(0)), &vpa, L1RealAddr(SCRATCH))
        .unwrap();
    hv.set_state(Target::guest(G), &pt, L1RealAddr(SCRATCH))
        .unwrap();
}

#[test]
fn the_request_buffer_itself_must_be_in_memory() {
    let hv = hv_with(vec![]);
    let buf = run_buffer(GuestStateId::RUN_OUTPUT, 0x1000, 0x80);
    let e = hv
        .set_state(Target::thread(G, VcpuId(0)), &buf, L1RealAddr(MEM - 8))
        .unwrap_err();
    assert!(
        matches!(
            e,
            HcallError::Memory {
                source: MemoryError::OutOfRange { addr, .. },
                ..
            } if addr == MEM - 8
        ),
        "{e:?}"
    );
}

#[test]
fn counts_come_out_without_the_backend() {
    struct Raw; // stands for `Sc1`: not a `ContainedHcall`
    impl Hcall for Raw {
        fn hcall(&self, _: u64, _: [u64; 9]) -> HcallOutput {
            HcallOutput::ok(0)
        }
    }
    let hv = NestedHv::new(CountingHcall::new(Raw), VecMemory::new(16), NoDelay);
    hv.create_guest().unwrap();
    assert_eq!(hv.counts().count(H_GUEST_CREATE), 1);
    assert_eq!(hv.counts().total(), 1);
    // SAFETY: only the wrapper's counters are read; no hcall is made.
    let raw = unsafe { hv.hcall_unchecked() };
    assert_eq!(raw.total(), 1);
}

#[test]
fn run_flags_are_the_papr_ones() {
    let hv = hv_with(vec![(
        H_GUEST_RUN_VCPU,
        args(&[(1 << 63) | (1 << 61), 1, 0]),
        HcallOutput::rc(-4),
    )]);
    let flags = RunFlags::EXTERNAL_INTERRUPT.union(RunFlags::SYSTEM_RESET);
    assert!(hv.run_vcpu_with(G, VcpuId(0), flags).is_err());
    assert_eq!(RunFlags::from_bits(1), None);
    assert_eq!(RunFlags::from_bits_truncate(u64::MAX), RunFlags::ALL);
}
