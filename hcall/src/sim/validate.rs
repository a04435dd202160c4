//! GET/SET_STATE (and run input) requests: QEMU's validation order, its would-abort
//! checks, and how a validated request is applied or answered.

use super::fault::WouldAbort;
use super::state::{Guest, RunBuf, Vcpu, OUT_BUF_MIN, RUN_BUF_MAX};
use super::walk::pate0;
use crate::flags::{H_GUEST_FLAGS_HOST_WIDE, H_GUEST_FLAGS_WIDE};
use crate::rc::ReturnCode;
use alloc::vec::Vec;
use papr_gsb::{Gsb, GuestStateId, Policy, Request, Scope, Value};

/// Ids Linux defines but QEMU's table lacks: any buffer naming them is invalid.
const ABSENT: [u16; 2] = [0x0001, 0x0C02];
/// Ids QEMU accepts but ignores (SET discards, GET leaves the L1's bytes).
const NOOP: [u16; 4] = [0x103E, 0x1041, 0x1042, 0x200D];
/// Ids QEMU can only set (a GET asserts).
const SET_ONLY: [u16; 4] = [0x0005, 0x0006, 0x0C00, 0x0C01];

/// The request scope from GET/SET flags, or `H_PARAMETER` as QEMU answers.
pub(crate) fn scope_of(set: bool, flags: u64) -> Result<Scope, i64> {
    let bad = ReturnCode::Parameter.raw();
    if set {
        return match flags {
            0 => Ok(Scope::Thread),
            H_GUEST_FLAGS_WIDE => Ok(Scope::Guest),
            _ => Err(bad),
        };
    }
    match flags {
        0 => Ok(Scope::Thread),
        H_GUEST_FLAGS_WIDE => Ok(Scope::Guest),
        H_GUEST_FLAGS_HOST_WIDE => Ok(Scope::Host),
        _ => Err(bad),
    }
}

/// QEMU's structural validation (`guest_state_request_check`): every element known (to
/// QEMU's table), of the right size, writable in a SET, of the request's scope.
pub(crate) fn parse(bytes: &[u8], set: bool, scope: Scope) -> Option<Gsb<'_>> {
    let req = if set { Request::Set } else { Request::Get };
    let gsb = Gsb::parse(bytes, &Policy::l0_request(req, scope)).ok()?;
    if gsb.iter().any(|e| ABSENT.contains(&e.id.0)) {
        return None;
    }
    Some(gsb)
}

/// What QEMU would abort on while applying a validated request, checked before anything
/// is applied.
pub(crate) fn abort_check(
    gsb: &Gsb<'_>,
    set: bool,
    scope: Scope,
    (opcode, guest, vcpu): (u64, u64, u64),
    nr_vcpus: u64,
) -> Option<WouldAbort> {
    for e in gsb.iter().filter(|e| e.id != GuestStateId::BLANK) {
        if !set && SET_ONLY.contains(&e.id.0) {
            return Some(WouldAbort::GetOfSetOnlyId { guest, id: e.id });
        }
        let per_vcpu = scope == Scope::Thread || e.id == GuestStateId::RUN_OUTPUT_MIN_SIZE;
        if per_vcpu && vcpu >= nr_vcpus {
            return Some(WouldAbort::NoSuchVcpu {
                opcode,
                guest,
                vcpu,
            });
        }
        if !set {
            continue;
        }
        match e.value() {
            Value::PartitionTable(p) if p.ea_bits != 52 => {
                return Some(WouldAbort::PartitionTableEaBits {
                    guest,
                    ea_bits: p.ea_bits,
                })
            }
            Value::ProcessTable(p) if p.size != 1 << 12 && p.size != 1 << 24 => {
                return Some(WouldAbort::ProcessTableSize {
                    guest,
                    size: p.size,
                })
            }
            Value::Buffer(b) if b.address == 0 || b.size < OUT_BUF_MIN || b.size > RUN_BUF_MAX => {
                return Some(WouldAbort::RunBuffer {
                    guest,
                    vcpu,
                    id: e.id,
                    address: b.address,
                    size: b.size,
                })
            }
            _ => {}
        }
    }
    None
}

fn vcpu_of(guest: &mut Guest, vcpu: u64) -> Option<&mut Vcpu> {
    guest.vcpus.get_mut(usize::try_from(vcpu).ok()?)
}

/// Applies a validated, abort-checked SET, element by element (the last duplicate wins).
pub(crate) fn apply_set(guest: &mut Guest, vcpu: u64, gsb: &Gsb<'_>, scope: Scope) {
    for e in gsb.iter() {
        let bytes = e.value_bytes();
        match (scope, e.id) {
            (_, GuestStateId::BLANK) => {}
            (Scope::Guest, GuestStateId::LOGICAL_PVR) => {
                if let Ok(b) = <[u8; 4]>::try_from(bytes) {
                    guest.lpvr = b;
                }
            }
            // QEMU copies the offset into every existing vCPU, never into the guest.
            (Scope::Guest, GuestStateId::TB_OFFSET) => {
                for v in &mut guest.vcpus {
                    v.regs.insert(e.id.0, bytes.to_vec());
                }
            }
            (Scope::Guest, GuestStateId::PARTITION_TABLE) => {
                if let Value::PartitionTable(p) = e.value() {
                    guest.pate0 = pate0(p.root, p.ea_bits, p.root_size);
                }
                guest.partition_table = Some(bytes.to_vec());
            }
            (Scope::Guest, GuestStateId::PROCESS_TABLE) => {
                guest.process_table = Some(bytes.to_vec());
            }
            (Scope::Thread, id) if NOOP.contains(&id.0) => {}
            (Scope::Thread, id) => {
                let Some(v) = vcpu_of(guest, vcpu) else {
                    continue;
                };
                if let Value::Buffer(b) = e.value() {
                    let rb = Some(RunBuf {
                        addr: b.address,
                        size: b.size,
                    });
                    if id == GuestStateId::RUN_INPUT {
                        v.run_in = rb;
                    } else {
                        v.run_out = rb;
                    }
                }
                v.regs.insert(id.0, bytes.to_vec());
            }
            _ => {}
        }
    }
}

/// Fills in the values of a validated, abort-checked GET in `out` (a copy of the request
/// bytes), as QEMU answers: host-wide counters 0, 0x0002 = 0x80, TB_OFFSET 0, the
/// logical PVR, thread-wide registers as stored (0 if never written), no-op ids untouched.
pub(crate) fn answer_get(
    guest: Option<&Guest>,
    vcpu: u64,
    gsb: &Gsb<'_>,
    scope: Scope,
    out: &mut [u8],
) {
    let slots: Vec<(GuestStateId, usize, usize)> = gsb
        .iter()
        .map(|e| (e.id, e.offset + 4, e.value_bytes().len()))
        .collect();
    let v = guest.and_then(|g| g.vcpus.get(usize::try_from(vcpu).ok()?));
    for (id, at, len) in slots {
        let Some(dst) = out.get_mut(at..at + len) else {
            continue;
        };
        let mut value = alloc::vec![0u8; len];
        match (scope, id) {
            (_, GuestStateId::BLANK) => continue,
            (Scope::Thread, id) if NOOP.contains(&id.0) => continue,
            (Scope::Guest, GuestStateId::RUN_OUTPUT_MIN_SIZE) => {
                value = OUT_BUF_MIN.to_be_bytes().to_vec();
            }
            (Scope::Guest, GuestStateId::LOGICAL_PVR) => {
                if let Some(g) = guest {
                    value = g.lpvr.to_vec();
                }
            }
            (Scope::Thread, id) => {
                if let Some(stored) = v.and_then(|v| v.regs.get(&id.0)) {
                    value.clone_from(stored);
                }
            }
            _ => {}
        }
        if value.len() == dst.len() {
            dst.copy_from_slice(&value);
        }
    }
}
