//! Equivalents of every case of Linux's `arch/powerpc/kvm/test-guest-state-buffer.c`
//! (its KUnit suite `guest_state_buffer_test`), one `#[test]` each.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // test code

use papr_gsb::{
    BufferDescriptor, Gsb, GsbBuilder, GsidSet, GuestStateId, HostCounters, PartitionTable, Policy,
    ProcessTable, Scope, Value, HEADER_SIZE,
};

/// test_creating_buffer: a new buffer holds only the header (len 4, 0 elements). Linux
/// rounds the capacity to a power of two; our capacity is the caller's slice.
#[test]
fn test_creating_buffer() {
    let mut mem = [0xAAu8; 0x100];
    let b = GsbBuilder::new(&mut mem).unwrap();
    assert_eq!(b.capacity(), 0x100);
    assert_eq!(b.len(), HEADER_SIZE);
    assert_eq!(b.count(), 0);
    assert_eq!(b.as_bytes(), &[0, 0, 0, 0]);
}

/// test_adding_element: raw put, u64 put, vector128 put, iterate, reset.
#[test]
fn test_adding_element() {
    let mut mem = [0u8; 0x1000];
    let mut b = GsbBuilder::new(&mut mem).unwrap();
    b.put_raw(GuestStateId::GPR0, &0xdead_beef_u64.to_be_bytes())
        .unwrap();
    {
        let gsb = Gsb::parse(b.as_bytes(), &Policy::EXACT).unwrap();
        let head = gsb.iter().next().unwrap();
        assert_eq!(head.id, GuestStateId::gpr(0).unwrap());
        assert_eq!(head.value_bytes().len(), 8);
        assert_eq!(head.value(), Value::U64(0xdead_beef));
    }
    b.put_u64(GuestStateId::GPR1, 0xcafe_f00d).unwrap();
    // Linux's union: dw[0] = 1 is the FPR half (most significant on the wire), dw[1] = 2.
    b.put_vector(GuestStateId::VSR0, (1u128 << 64) | 2).unwrap();

    let gsb = Gsb::parse(b.as_bytes(), &Policy::EXACT).unwrap();
    let mut i = 0;
    for e in &gsb {
        match i {
            0 => {
                assert_eq!(e.id, GuestStateId::GPR0);
                assert_eq!(e.value_bytes(), &0xdead_beef_u64.to_be_bytes());
            }
            1 => {
                assert_eq!(e.id, GuestStateId::GPR1);
                assert_eq!(e.value().as_u64(), Some(0xcafe_f00d));
            }
            2 => {
                assert_eq!(e.id, GuestStateId::vsr(0).unwrap());
                assert_eq!(e.value_bytes().len(), 16);
                let Value::Vector(v) = e.value() else {
                    panic!("not a vector")
                };
                assert_eq!(((v >> 64) as u64, v as u64), (1, 2));
            }
            _ => unreachable!(),
        }
        i += 1;
    }
    assert_eq!(i, 3);

    b.reset().unwrap();
    assert_eq!(b.count(), 0);
    assert_eq!(b.len(), HEADER_SIZE);
}

/// test_gs_parsing: put GPR0, parse, look it up.
#[test]
fn test_gs_parsing() {
    let mut mem = [0u8; 0x1000];
    let mut b = GsbBuilder::new(&mut mem).unwrap();
    b.put_u64(GuestStateId::GPR0, 0xdead_beef).unwrap();
    // Linux parses up to the capacity: the zeroed tail is not an error.
    let gsb = Gsb::parse(&mem, &Policy::STRUCTURE).unwrap();
    let e = gsb.get(GuestStateId::GPR0).unwrap();
    assert_eq!(e.value().as_u64(), Some(0xdead_beef));
}

/// test_gs_bitmap: set/test/clear every id of every class, then for_each over the union
/// visits exactly the ids set, in order.
#[test]
fn test_gs_bitmap() {
    let mut gsbm = GsidSet::new();
    let mut gsbm1 = GsidSet::new();
    let classes: [(u16, u16); 7] = [
        (
            GuestStateId::HOST_STATE_SIZE.0,
            GuestStateId::PROCESS_TABLE.0,
        ),
        (
            GuestStateId::L0_GUEST_HEAP.0,
            GuestStateId::L0_GUEST_PGTABLE_RECLAIM.0,
        ),
        (GuestStateId::RUN_INPUT.0, GuestStateId::VPA.0),
        (GuestStateId::GPR0.0, GuestStateId::DPDES.0),
        (GuestStateId::CR.0, GuestStateId::PSPB.0),
        (GuestStateId::VSR0.0, GuestStateId::VSR63.0),
        (GuestStateId::HDAR.0, GuestStateId::ASDR.0),
    ];
    let mut i = 0;
    for (first, last) in classes {
        for raw in first..=last {
            let id = GuestStateId(raw);
            assert!(gsbm.insert(id));
            assert!(gsbm1.insert(id));
            assert!(gsbm.contains(id));
            assert!(gsbm.remove(id));
            assert!(!gsbm.contains(id));
            i += 1;
        }
    }
    let mut gsbm2 = GsidSet::new();
    let mut j = 0;
    let mut prev = None;
    for id in &gsbm1 {
        assert!(prev < Some(id), "ascending order");
        prev = Some(id);
        gsbm2.insert(id);
        j += 1;
    }
    assert_eq!(i, j);
    assert_eq!(i, 181); // every id but BLANK
    assert_eq!(gsbm1, gsbm2);
    assert_eq!(gsbm1, GsidSet::ALL);
}

/// test_gs_msg: a message of PARTITION_TABLE, PROCESS_TABLE, RUN_INPUT, GPR0 and CR is
/// sized from the table, filled, and refreshed back.
#[test]
fn test_gs_msg() {
    let ids = GsidSet::new()
        .with(GuestStateId::PARTITION_TABLE)
        .with(GuestStateId::PROCESS_TABLE)
        .with(GuestStateId::RUN_INPUT)
        .with(GuestStateId::GPR0)
        .with(GuestStateId::CR);
    assert_eq!(ids.wire_size(), 28 + 20 + 20 + 12 + 8);
    let mut mem = [0u8; 128];
    let mut b = GsbBuilder::new(&mut mem).unwrap();
    for id in &ids {
        let v = match id {
            GuestStateId::GPR0 => Value::U64(0xdead_beef),
            GuestStateId::CR => Value::U32(1),
            GuestStateId::PARTITION_TABLE => Value::PartitionTable(PartitionTable::default()),
            GuestStateId::PROCESS_TABLE => Value::ProcessTable(ProcessTable::default()),
            _ => Value::Buffer(BufferDescriptor::default()),
        };
        b.put(id, v).unwrap();
    }
    let n = b.len();
    assert_eq!(n, HEADER_SIZE + ids.wire_size());
    let gsb = Gsb::parse(&mem[..n], &Policy::EXACT).unwrap();
    let (mut a, mut c) = (0, 0);
    for e in &gsb {
        match e.id {
            GuestStateId::GPR0 => a = e.value().as_u64().unwrap(),
            GuestStateId::CR => c = e.value().as_u64().unwrap(),
            _ => {}
        }
    }
    assert_eq!((a, c), (0xdead_beef, 1));
    assert_eq!(gsb.ids(), ids);
}

/// test_gs_hostwide_msg: the five host-wide counters encode and decode.
#[test]
fn test_gs_hostwide_msg() {
    let data = [0xdead_beef, u64::MAX, 0xff, 0xff_ffff, 0xdead_beef];
    let mut mem = [0u8; 64];
    let mut b = GsbBuilder::new(&mut mem).unwrap();
    for (id, v) in HostCounters::IDS.iter().zip(data) {
        b.put_u64(id, v).unwrap();
    }
    let n = b.len();
    assert_eq!(n, HEADER_SIZE + 5 * 12);
    let gsb = Gsb::parse(&mem[..n], &Policy::l1_answer(Scope::Host)).unwrap();
    let c = HostCounters::from_gsb(&gsb).unwrap();
    assert_eq!(
        c,
        HostCounters {
            guest_heap: 0xdead_beef,
            guest_heap_max: u64::MAX,
            guest_pgtable_size: 0xff,
            guest_pgtable_size_max: 0xff_ffff,
            guest_pgtable_reclaim: 0xdead_beef,
        }
    );
}

/// test_gs_hostwide_counters: the GET request for the counters (ids and sizes, values
/// zero) is what an L0 answers in place; here the answer is simulated by writing values
/// over the request, then every counter must be found. (Linux skips this case off
/// pseries; the real-L0 half runs in the pseries example.)
#[test]
fn test_gs_hostwide_counters() {
    let mut mem = [0u8; 64];
    let mut b = GsbBuilder::new(&mut mem).unwrap();
    b.put_requests(&HostCounters::IDS).unwrap();
    let n = b.len();
    // The L0 overwrites each value in place.
    for (k, v) in [7u64, 8, 9, 10, 11].iter().enumerate() {
        let off = HEADER_SIZE + k * 12 + 4;
        mem[off..off + 8].copy_from_slice(&v.to_be_bytes());
    }
    let gsb = Gsb::parse(&mem[..n], &Policy::l1_answer(Scope::Host)).unwrap();
    for id in &HostCounters::IDS {
        assert!(gsb.get(id).is_some(), "{id} missing");
    }
    let c = HostCounters::from_gsb(&gsb).unwrap();
    assert_eq!(c.guest_heap, 7);
    assert_eq!(c.guest_pgtable_reclaim, 11);
}
