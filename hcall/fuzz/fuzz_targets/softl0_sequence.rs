//! Random hcall sequences straight into the software L0 (`papr_hcall::sim::SoftL0`): any
//! `H_GUEST_*` opcode or garbage, arguments and guest state buffers from the input (the
//! buffers written into the L0's vm-memory `GuestMemoryMmap`), L2 programs, injected
//! faults, raw memory writes and time passing in between.
//!
//! Input: up to 64 steps, each an op byte (% 14) and its arguments (see `Input` in
//! `src/lib.rs` for the encodings):
//!  0 GET_CAPABILITIES flags      1 SET_CAPABILITIES flags caps
//!  2 CREATE flags token(b%3: FIRST, last busy token, u64)
//!  3 CREATE_VCPU flags guest vcpu
//!  4 SET_STATE state_flags guest vcpu addr gsb len(b: <0x80 built length, else u64)
//!  5 GET_STATE (same)            6 RUN_VCPU flags guest vcpu
//!  7 DELETE flags guest          8 garbage opcode u64 and 9 raw u64 args
//!  9 guest opcode with 9 raw u64 args
//! 10 set_program guest vcpu program     11 inject guest_opcode nth(u8 % 4 + 1 ahead) injection
//! 12 advance timebase u32        13 raw memory write addr len(u8) bytes
//!
//! Checks: never a panic; a call recorded as would-abort changes neither the guests nor
//! their vCPU counts; afterwards every live guest id is unique and in 1..4096 with at most
//! 2048 vCPUs, and the L0's per-opcode counts equal the calls made.
#![no_main]

use libfuzzer_sys::fuzz_target;
use papr_hcall::sim::SoftL0;
use papr_hcall::{opcode, Hcall, L1RealAddr, RealMemory, VmRealMemory};
use papr_hcall_fuzz::{memory, Input};
use std::collections::BTreeMap;

type L0 = SoftL0<VmRealMemory<vm_memory::GuestMemoryMmap<()>>>;

/// Live guests and their vCPU counts, as the L0 reports them.
fn snapshot(l0: &L0) -> Vec<(u64, Option<u64>)> {
    l0.guests().into_iter().map(|g| (g, l0.vcpus(g))).collect()
}

fuzz_target!(|data: &[u8]| {
    let mem = memory();
    let l0 = SoftL0::new(VmRealMemory(mem.clone()));
    let l1 = VmRealMemory(mem);
    let mut input = Input::new(data);
    let mut made: BTreeMap<u64, u64> = BTreeMap::new();
    let mut token = u64::MAX;

    for _ in 0..64 {
        if input.is_empty() {
            break;
        }
        let op = input.u8() % 14;
        let call: Option<(u64, [u64; 9])> = match op {
            0 => Some((opcode::H_GUEST_GET_CAPABILITIES, pad(&[input.flags()]))),
            1 => Some((
                opcode::H_GUEST_SET_CAPABILITIES,
                pad(&[input.flags(), input.caps()]),
            )),
            2 => {
                let flags = input.flags();
                let t = match input.u8() % 3 {
                    0 => u64::MAX,
                    1 => token,
                    _ => input.u64(),
                };
                Some((opcode::H_GUEST_CREATE, pad(&[flags, t])))
            }
            3 => Some((
                opcode::H_GUEST_CREATE_VCPU,
                pad(&[input.flags(), input.guest(), input.vcpu()]),
            )),
            4 | 5 => {
                let op = if op == 4 {
                    opcode::H_GUEST_SET_STATE
                } else {
                    opcode::H_GUEST_GET_STATE
                };
                let flags = input.state_flags();
                let (guest, vcpu, addr) = (input.guest(), input.vcpu(), input.addr());
                let gsb = input.gsb();
                let len = match input.u8() {
                    0..=0x7F => gsb.len() as u64,
                    _ => input.u64(),
                };
                let _ = l1.write(L1RealAddr(addr), &gsb);
                Some((op, pad(&[flags, guest, vcpu, addr, len])))
            }
            6 => Some((
                opcode::H_GUEST_RUN_VCPU,
                pad(&[input.flags(), input.guest(), input.vcpu()]),
            )),
            7 => Some((opcode::H_GUEST_DELETE, pad(&[input.flags(), input.guest()]))),
            8 | 9 => {
                let op = if op == 8 {
                    input.u64()
                } else {
                    input.guest_opcode()
                };
                let mut a = [0u64; 9];
                for x in &mut a {
                    *x = input.u64();
                }
                Some((op, a))
            }
            10 => {
                let (g, v) = (input.guest(), input.vcpu());
                let p = input.program();
                let _ = l0.set_program(g, v, p);
                None
            }
            11 => {
                let op = input.guest_opcode();
                let ahead = u64::from(input.u8() % 4) + 1;
                let inj = input.injection(false);
                l0.inject(op, l0.hcall_count(op) + ahead, inj);
                None
            }
            12 => {
                l0.advance_timebase(u64::from(input.u32()));
                None
            }
            _ => {
                let addr = input.addr();
                let n = usize::from(input.u8());
                let _ = l1.write(L1RealAddr(addr), input.bytes(n));
                None
            }
        };
        let Some((op, a)) = call else { continue };
        let before = snapshot(&l0);
        let aborts = l0.would_abort().len();
        let o = l0.hcall(op, a);
        *made.entry(op).or_insert(0) += 1;
        if l0.would_abort().len() > aborts {
            assert_eq!(
                before,
                snapshot(&l0),
                "op {op:#x}: a would-abort call changed the guests"
            );
        }
        if op == opcode::H_GUEST_CREATE && o.rc > 0 {
            token = o.ret[0];
        }
    }

    let guests = l0.guests();
    let mut unique = guests.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        guests.len(),
        "duplicate guest ids: {guests:?}"
    );
    for &g in &guests {
        assert!((1..4096).contains(&g), "guest id {g} out of 1..4096");
        let n = l0.vcpus(g).expect("a live guest has a vCPU count");
        assert!(n <= 2048, "guest {g} has {n} vCPUs");
    }
    let counts = l0.hcall_counts();
    assert_eq!(counts, made, "per-opcode counts differ from the calls made");
    assert_eq!(
        counts.values().sum::<u64>(),
        made.values().sum::<u64>(),
        "total count differs from the calls made"
    );
});

fn pad(a: &[u64]) -> [u64; 9] {
    let mut r = [0; 9];
    for (d, s) in r.iter_mut().zip(a) {
        *d = *s;
    }
    r
}
