//! `NestedHv::get_regs` (prebuilt request, fixed-layout answer check) against
//! `NestedHv::get_state` (the general path) on the same L0 behaviour: the same values or
//! the same error, whatever the L0 writes back.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use papr_gsb::{GsbBuilder, GuestStateId};
use papr_hcall::*;
use proptest::prelude::*;
use std::sync::Mutex;

mod common;
use common::VecMemory;

/// Where the requests go.
const AT: u64 = 0x1000;
/// Bytes of that memory.
const LEN: usize = 0x1000;

/// What the L0 does with a GET request: per element, write a value or leave the request's
/// bytes; then xor one byte of the buffer (a corrupt answer); or fail with `rc`.
#[derive(Debug, Clone)]
struct Behaviour {
    values: Vec<Option<u64>>,
    flip: Option<(usize, u8)>,
    rc: i64,
    /// On the second GET of a call (the re-ask of a poisoned value): write these instead.
    again: Vec<Option<u64>>,
}

/// An L0 that answers GETs as told, over one page of memory.
struct L0 {
    mem: VecMemory,
    how: Behaviour,
    gets: Mutex<u32>,
}

struct Calls<'a>(&'a L0);

impl Hcall for Calls<'_> {
    fn hcall(&self, op: u64, a: [u64; 9]) -> HcallOutput {
        match op {
            opcode::H_GUEST_CREATE => HcallOutput::ok(1),
            opcode::H_GUEST_CREATE_VCPU => HcallOutput::ok(0),
            opcode::H_GUEST_GET_STATE => {
                let how = &self.0.how;
                if how.rc != 0 {
                    return HcallOutput::rc(how.rc);
                }
                let mut gets = self.0.gets.lock().unwrap();
                *gets += 1;
                let values = if *gets == 1 { &how.values } else { &how.again };
                let mut m = self.0.mem.0.lock().unwrap();
                let off = a[3] as usize;
                let len = a[4] as usize;
                let buf = &mut m[off..off + len];
                let count = u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize;
                for (i, v) in values.iter().enumerate().take(count) {
                    let at = 4 + 12 * i + 4;
                    if let (Some(v), Some(dst)) = (v, buf.get_mut(at..at + 8)) {
                        dst.copy_from_slice(&v.to_be_bytes());
                    }
                }
                if let Some((i, x)) = how.flip {
                    let i = i % len;
                    buf[i] ^= x;
                }
                HcallOutput::ok(0)
            }
            _ => HcallOutput::rc(-2),
        }
    }
}

/// The ids asked, in order.
fn ids(n: usize) -> Vec<GuestStateId> {
    [
        GuestStateId::DEC_EXPIRY_TB,
        GuestStateId::MSR,
        GuestStateId::NIA,
        GuestStateId::GPR3,
    ][..n]
        .to_vec()
}

/// One call through `get`, on a fresh L0 behaving as `how`.
fn with_l0<R>(
    how: &Behaviour,
    get: impl FnOnce(&NestedHv<Calls<'_>, VecMemory, NoDelay>, GuestId) -> R,
) -> R {
    let l0 = L0 {
        mem: VecMemory::new(AT as usize + LEN),
        how: how.clone(),
        gets: Mutex::new(0),
    };
    let hv = NestedHv::new(Calls(&l0), l0.mem.clone(), NoDelay);
    let g = hv.create_guest().unwrap();
    hv.create_vcpu(g, VcpuId(0)).unwrap();
    get(&hv, g)
}

fn fast(how: &Behaviour, n: usize) -> Result<Vec<u64>, HcallError> {
    with_l0(how, |hv, g| {
        let req = hv.reg_request(&ids(n))?;
        let t = hv.vcpu_ticket(g, VcpuId(0))?;
        let v = hv.get_regs(&t, &req, L1RealAddr(AT))?;
        Ok(v[..n].to_vec())
    })
}

fn general(how: &Behaviour, n: usize) -> Result<Vec<u64>, HcallError> {
    with_l0(how, |hv, g| {
        let mut buf = [0u8; 64];
        let mut b = GsbBuilder::new(&mut buf).unwrap();
        for id in ids(n) {
            b.put_request(id).unwrap();
        }
        let len = b.finish();
        let answer = hv.get_state(
            Target::thread(g, VcpuId(0)),
            &mut buf[..len],
            L1RealAddr(AT),
        )?;
        Ok(ids(n)
            .iter()
            .map(|&id| answer.get(id).unwrap().value().as_u64().unwrap())
            .collect())
    })
}

/// A value: mostly arbitrary, sometimes the GET poison pattern.
fn value() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![
        6 => any::<u64>().prop_map(Some),
        2 => Just(Some(0x5A5A_5A5A_5A5A_5A5A)),
        1 => Just(Some(0xA5A5_A5A5_A5A5_A5A5)),
        1 => Just(None),
    ]
}

fn behaviour() -> impl Strategy<Value = Behaviour> {
    (
        prop::collection::vec(value(), 4),
        prop::option::weighted(0.3, (0usize..64, 1u8..=255)),
        prop_oneof![8 => Just(0i64), 1 => Just(-4i64), 1 => Just(-3i64)],
        prop::collection::vec(value(), 4),
    )
        .prop_map(|(values, flip, rc, again)| Behaviour {
            values,
            flip,
            rc,
            again,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The same values or the same error as the general path, for any L0 answer.
    #[test]
    fn get_regs_is_get_state(how in behaviour(), n in 1usize..=4) {
        prop_assert_eq!(fast(&how, n), general(&how, n));
    }
}

#[test]
fn a_well_formed_answer_takes_one_hcall() {
    let how = Behaviour {
        values: vec![Some(7), Some(1 << 63), None, None],
        flip: None,
        rc: 0,
        again: vec![],
    };
    assert_eq!(fast(&how, 2), Ok(vec![7, 1 << 63]));
}

#[test]
fn requests_are_checked_once() {
    let hv = NestedHv::new(MockHcall::new(), MockRealMemory::new(), NoDelay);
    assert!(hv.reg_request(&[]).is_err());
    assert!(hv.reg_request(&[GuestStateId::CR]).is_err()); // 4 bytes
    assert!(hv
        .reg_request(&[GuestStateId::MSR, GuestStateId::MSR])
        .is_err());
    assert!(hv.reg_request(&ids(4)).is_ok());
    let five = [ids(4), vec![GuestStateId::GPR4]].concat();
    assert!(hv.reg_request(&five).is_err());
    // Guest-wide: not a thread-wide register.
    assert!(hv.reg_request(&[GuestStateId::TB_OFFSET]).is_err());
}
