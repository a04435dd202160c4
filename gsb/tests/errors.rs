//! Every malformed-buffer error kind, each from a minimal buffer.

#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)] // test code

use papr_gsb::{Gsb, GsbBuilder, GsbError, GuestStateId, Policy, Request, Scope, Value, ValueKind};

fn elem(id: u16, value: &[u8]) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend_from_slice(&(value.len() as u16).to_be_bytes());
    v.extend_from_slice(value);
    v
}

fn buf(count: u32, elems: &[Vec<u8>]) -> Vec<u8> {
    let mut v = count.to_be_bytes().to_vec();
    for e in elems {
        v.extend_from_slice(e);
    }
    v
}

#[test]
fn truncated_header() {
    for len in 0..4 {
        let b = vec![0u8; len];
        assert_eq!(
            Gsb::parse(&b, &Policy::EXACT).unwrap_err(),
            GsbError::TruncatedHeader { len }
        );
    }
    assert!(matches!(
        GsbBuilder::new(&mut [0u8; 3]),
        Err(GsbError::TruncatedHeader { len: 3 })
    ));
}

#[test]
fn count_larger_than_bytes() {
    let b = buf(3, &[elem(0x1021, &[0; 8])]);
    assert_eq!(
        Gsb::parse(&b, &Policy::EXACT).unwrap_err(),
        GsbError::CountExceedsBuffer {
            count: 3,
            found: 1,
            offset: 16
        }
    );
    let huge = buf(u32::MAX, &[]);
    assert!(matches!(
        Gsb::parse(&huge, &Policy::STRUCTURE),
        Err(GsbError::CountExceedsBuffer {
            count: u32::MAX,
            found: 0,
            offset: 4
        })
    ));
}

#[test]
fn truncated_element_header() {
    let mut b = buf(2, &[elem(0x1021, &[0; 8])]);
    b.extend_from_slice(&[0x10, 0x22]);
    assert_eq!(
        Gsb::parse(&b, &Policy::EXACT).unwrap_err(),
        GsbError::TruncatedElementHeader {
            index: 1,
            offset: 16,
            available: 2
        }
    );
}

#[test]
fn truncated_value() {
    let mut b = buf(1, &[]);
    b.extend_from_slice(&[0x10, 0x21, 0, 8, 1, 2, 3]);
    assert_eq!(
        Gsb::parse(&b, &Policy::EXACT).unwrap_err(),
        GsbError::TruncatedValue {
            index: 0,
            offset: 4,
            id: GuestStateId::NIA,
            len: 8,
            available: 3
        }
    );
}

#[test]
fn unknown_id() {
    let b = buf(2, &[elem(0x1021, &[0; 8]), elem(0x0007, &[])]);
    assert_eq!(
        Gsb::parse(&b, &Policy::EXACT).unwrap_err(),
        GsbError::UnknownId {
            index: 1,
            offset: 16,
            id: 0x0007
        }
    );
    let mut m = [0u8; 16];
    let mut bld = GsbBuilder::new(&mut m).unwrap();
    assert_eq!(
        bld.put_request(GuestStateId(0xF004)).unwrap_err(),
        GsbError::UnknownId {
            index: 0,
            offset: 4,
            id: 0xF004
        }
    );
}

#[test]
fn size_mismatch() {
    let b = buf(1, &[elem(0x2000, &[0; 8])]);
    assert_eq!(
        Gsb::parse(&b, &Policy::EXACT).unwrap_err(),
        GsbError::SizeMismatch {
            index: 0,
            offset: 4,
            id: GuestStateId::CR,
            expected: 4,
            found: 8
        }
    );
    // BLANK with a value: refused by Linux's rule, skipped by QEMU's.
    let blank = buf(1, &[elem(0x0000, &[1, 2])]);
    assert!(matches!(
        Gsb::parse(&blank, &Policy::EXACT),
        Err(GsbError::SizeMismatch {
            expected: 0,
            found: 2,
            ..
        })
    ));
    let l0 = Policy::l0_request(Request::Set, Scope::Thread);
    assert_eq!(Gsb::parse(&blank, &l0).unwrap().len(), 1);
    // HEIR: 4 bytes (PAPR/QEMU) or 8 (Linux) from an L0; an L0 itself wants 4.
    let heir8 = buf(1, &[elem(0xF002, &0x1234u64.to_be_bytes())]);
    let g = Gsb::parse(&heir8, &Policy::L1_RUN_OUTPUT).unwrap();
    assert_eq!(
        g.get(GuestStateId::HEIR).unwrap().value(),
        Value::U64(0x1234)
    );
    assert!(Gsb::parse(&heir8, &Policy::l0_request(Request::Get, Scope::Thread)).is_err());
    // Builder: raw bytes of the wrong size.
    let mut m = [0u8; 64];
    let mut bld = GsbBuilder::new(&mut m).unwrap();
    assert!(matches!(
        bld.put_raw(GuestStateId::NIA, &[0; 4]),
        Err(GsbError::SizeMismatch {
            expected: 8,
            found: 4,
            ..
        })
    ));
}

#[test]
fn trailing_garbage() {
    let mut b = buf(1, &[elem(0x1021, &[0; 8])]);
    b.extend_from_slice(&[0xEE; 5]);
    assert_eq!(
        Gsb::parse(&b, &Policy::EXACT).unwrap_err(),
        GsbError::TrailingBytes { offset: 16, len: 5 }
    );
    // Buffers passed by capacity ignore the tail.
    assert_eq!(
        Gsb::parse(&b, &Policy::L1_RUN_OUTPUT).unwrap().used_bytes(),
        16
    );
}

#[test]
fn scope_mismatch_both_sides() {
    // A guest-wide id in a thread-wide request (L0 side).
    let b = buf(1, &[elem(0x0003, &[0; 4])]);
    assert_eq!(
        Gsb::parse(&b, &Policy::l0_request(Request::Set, Scope::Thread)).unwrap_err(),
        GsbError::ScopeMismatch {
            index: 0,
            id: GuestStateId::LOGICAL_PVR,
            expected: Scope::Thread,
            found: Scope::Guest
        }
    );
    // A thread-wide id in a run output buffer is fine; a host-wide one is not (L1 side).
    let h = buf(1, &[elem(0x0800, &[0; 8])]);
    assert!(matches!(
        Gsb::parse(&h, &Policy::L1_RUN_OUTPUT),
        Err(GsbError::ScopeMismatch {
            found: Scope::Host,
            ..
        })
    ));
}

#[test]
fn read_only_in_set() {
    let b = buf(2, &[elem(0x1021, &[0; 8]), elem(0xF000, &[0; 8])]);
    assert_eq!(
        Gsb::parse(&b, &Policy::l0_request(Request::Set, Scope::Thread)).unwrap_err(),
        GsbError::ReadOnly {
            index: 1,
            id: GuestStateId::HDAR
        }
    );
    // The same ids are a valid GET.
    assert!(Gsb::parse(&b, &Policy::l0_request(Request::Get, Scope::Thread)).is_ok());
}

#[test]
fn duplicates() {
    let b = buf(
        2,
        &[
            elem(0x1021, &[0; 8]),
            elem(0x1021, &[0, 0, 0, 0, 0, 0, 0, 1]),
        ],
    );
    assert_eq!(
        Gsb::parse(&b, &Policy::L1_RUN_OUTPUT).unwrap_err(),
        GsbError::Duplicate {
            index: 1,
            id: GuestStateId::NIA
        }
    );
    // An L0 takes the last one, as QEMU does.
    let g = Gsb::parse(&b, &Policy::l0_request(Request::Set, Scope::Thread)).unwrap();
    assert_eq!(g.get(GuestStateId::NIA).unwrap().value().as_u64(), Some(1));
}

#[test]
fn builder_full_writes_nothing() {
    let mut m = [0u8; 4 + 12 + 6];
    let mut b = GsbBuilder::new(&mut m).unwrap();
    b.put_u64(GuestStateId::NIA, 1).unwrap();
    let before = b.as_bytes().to_vec();
    assert_eq!(
        b.put_u64(GuestStateId::MSR, 2).unwrap_err(),
        GsbError::BufferFull {
            id: GuestStateId::MSR,
            needed: 12,
            available: 6,
            capacity: 22
        }
    );
    assert_eq!(b.as_bytes(), &before[..]);
    assert_eq!(b.count(), 1);
    assert_eq!(m[16..], [0; 6]);
}

#[test]
fn builder_kind_and_width() {
    let mut m = [0u8; 64];
    let mut b = GsbBuilder::new(&mut m).unwrap();
    assert_eq!(
        b.put(GuestStateId::CR, Value::U64(1)).unwrap_err(),
        GsbError::WrongKind {
            id: GuestStateId::CR,
            expected: ValueKind::U32,
            given: ValueKind::U64
        }
    );
    assert_eq!(
        b.put_reg(GuestStateId::CR, 1 << 32).unwrap_err(),
        GsbError::ValueTooWide {
            id: GuestStateId::CR,
            value: 1 << 32
        }
    );
    b.put_reg(GuestStateId::CR, 0x8000_0000).unwrap();
    b.put_reg(GuestStateId::LR, 1 << 40).unwrap();
    assert_eq!(b.count(), 2);
}

#[test]
fn errors_name_what_was_wrong() {
    let e = GsbError::SizeMismatch {
        index: 2,
        offset: 40,
        id: GuestStateId::CR,
        expected: 4,
        found: 8,
    };
    assert_eq!(
        e.to_string(),
        "element 2 (CR (0x2000)) at offset 40: length 8, but the id's value is 4 bytes"
    );
    let u = GsbError::UnknownId {
        index: 0,
        offset: 4,
        id: 0x0007,
    };
    assert_eq!(
        u.to_string(),
        "element 0 at offset 4: unknown guest state id 0x0007"
    );
}
