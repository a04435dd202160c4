//! The sequences of `softl0_sequence`, but through the typed API: `NestedHv` with
//! `Profile::QEMU` over a `CountingHcall` over the software L0. Whatever the VMM above asks,
//! the typed API must refuse every request that would kill QEMU, so `SoftL0::would_abort()`
//! must stay empty.
//!
//! The harness plays the run loop's part the typed API does not own: before each run it
//! writes a run input buffer (a future HDEC_EXPIRY_TB plus a few registers from the
//! input) at the address the vCPU registered, as `papr-vcpu-state` and `papr-nestedv2` do.
//!
//! Input: up to 64 steps, each an op byte (% 16) and its arguments (encodings: `Input` in
//! `src/lib.rs`):
//!  0 get_capabilities            1 set_capabilities caps     2 negotiate caps
//!  3 create_guest                4 create_vcpu guest vcpu
//!  5 set_state scope(b%3) guest vcpu gsb addr                6 get_state (same)
//!  7 run flags(b<0xF0: 0, else u64) guest vcpu hdec_delta(u32) n(b%4) × {reg(b%8), u64}
//!  8 delete_guest guest          9 delete_all_guests
//! 10 set_program guest vcpu program     11 inject guest_opcode nth(u8 % 4 + 1 ahead) injection
//! 12 advance timebase u32        13 raw memory write addr len(u8) bytes
//! 14 vcpu_ticket guest vcpu (kept, at most 4)
//! 15 with a kept ticket (nth b%4): run_vcpu_ticket (b even) or get_regs of DEC_EXPIRY_TB
//!    and MSR at addr — a ticket taken before a delete must be refused like an id
//!
//! Checks: never a panic; `would_abort()` empty after every step; the guests the L0 holds
//! are exactly those created and not deleted through the API, with the vCPU counts the
//! API believes; the counting wrapper saw exactly the calls the L0 counted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use papr_gsb::{BufferDescriptor, GsbBuilder, GuestStateId, Scope};
use papr_hcall::sim::SoftL0;
use papr_hcall::{
    Capabilities, CountingHcall, GuestId, L1RealAddr, NestedHv, NoDelay, Profile, RealMemory,
    RunFlags, Target, VcpuId, VmRealMemory,
};
use papr_hcall_fuzz::{memory, Input};
use std::collections::BTreeSet;

/// Registers a run input may carry besides HDEC_EXPIRY_TB.
const RUN_REGS: [GuestStateId; 8] = [
    GuestStateId::NIA,
    GuestStateId::MSR,
    GuestStateId::GPR3,
    GuestStateId::GPR4,
    GuestStateId::LR,
    GuestStateId::CTR,
    GuestStateId::SRR0,
    GuestStateId::SRR1,
];

fn target(input: &mut Input<'_>) -> Target {
    let scope = match input.u8() % 3 {
        0 => Scope::Thread,
        1 => Scope::Guest,
        _ => Scope::Host,
    };
    Target {
        scope,
        guest: GuestId(input.guest()),
        vcpu: VcpuId(input.vcpu()),
    }
}

/// The run loop's part before a run: a run input with a future HDEC_EXPIRY_TB and a few
/// registers from the input, at the address vCPU `v` of guest `g` registered (if any).
fn write_run_input<M: RealMemory>(
    l0: &SoftL0<M>,
    l1: &impl RealMemory,
    g: u64,
    v: u64,
    input: &mut Input<'_>,
) {
    let expiry = l0.timebase() + 1 + u64::from(input.u32());
    let mut buf = [0u8; 0x80];
    let mut b = GsbBuilder::new(&mut buf).expect("header fits");
    b.put_u64(GuestStateId::HDEC_EXPIRY_TB, expiry)
        .expect("fits");
    for _ in 0..input.u8() % 4 {
        let id = RUN_REGS[usize::from(input.u8()) % RUN_REGS.len()];
        let _ = b.put_u64(id, input.u64());
    }
    let n = b.len();
    let registered = l0
        .state(g, v, GuestStateId::RUN_INPUT)
        .and_then(|bytes| BufferDescriptor::from_bytes(&bytes));
    if let Some(d) = registered {
        let _ = l1.write(L1RealAddr(d.address), &buf[..n]);
    }
}

fuzz_target!(|data: &[u8]| {
    let mem = memory();
    let l0 = SoftL0::new(VmRealMemory(mem.clone()));
    let l1 = VmRealMemory(mem.clone());
    let hv = NestedHv::new(CountingHcall::new(&l0), VmRealMemory(mem), NoDelay)
        .with_profile(Profile::QEMU);
    let mut input = Input::new(data);
    let mut live: BTreeSet<u64> = BTreeSet::new();
    let mut tickets = Vec::new();
    let dec = hv
        .reg_request(&[GuestStateId::DEC_EXPIRY_TB, GuestStateId::MSR])
        .expect("a valid request");

    for step in 0..64 {
        if input.is_empty() {
            break;
        }
        let op = input.u8() % 16;
        match op {
            0 => {
                let _ = hv.get_capabilities();
            }
            1 => {
                let _ = hv.set_capabilities(Capabilities(input.caps()));
            }
            2 => {
                let _ = hv.negotiate(Capabilities(input.caps()));
            }
            3 => {
                if let Ok(g) = hv.create_guest() {
                    assert!(live.insert(g.0), "guest {} handed out twice", g.0);
                }
            }
            4 => {
                let (g, v) = (input.guest(), input.vcpu());
                let _ = hv.create_vcpu(GuestId(g), VcpuId(v));
            }
            5 | 6 => {
                let t = target(&mut input);
                let mut gsb = input.gsb();
                let at = L1RealAddr(input.addr());
                if op == 5 {
                    let _ = hv.set_state(t, &gsb, at);
                } else {
                    let _ = hv.get_state(t, &mut gsb, at);
                }
            }
            7 => {
                let flags = match input.u8() {
                    0..=0xEF => RunFlags::NONE,
                    _ => RunFlags::from_bits_truncate(input.u64()),
                };
                let (g, v) = (input.guest(), input.vcpu());
                write_run_input(&l0, &l1, g, v, &mut input);
                let _ = hv.run_vcpu_with(GuestId(g), VcpuId(v), flags);
            }
            8 => {
                let g = input.guest();
                if hv.delete_guest(GuestId(g)).is_ok() {
                    live.remove(&g);
                }
            }
            9 => {
                if hv.delete_all_guests().is_ok() {
                    live.clear();
                }
            }
            10 => {
                let (g, v) = (input.guest(), input.vcpu());
                let p = input.program();
                let _ = l0.set_program(g, v, p);
            }
            11 => {
                let op = input.guest_opcode();
                let ahead = u64::from(input.u8() % 4) + 1;
                let inj = input.injection(true);
                l0.inject(op, l0.hcall_count(op) + ahead, inj);
            }
            12 => l0.advance_timebase(u64::from(input.u32())),
            14 => {
                let (g, v) = (input.guest(), input.vcpu());
                if let Ok(t) = hv.vcpu_ticket(GuestId(g), VcpuId(v)) {
                    if tickets.len() < 4 {
                        tickets.push(t);
                    }
                }
            }
            15 => {
                let b = input.u8();
                let addr = L1RealAddr(input.addr());
                if let Some(t) = tickets.get(usize::from(b % 4)) {
                    if b % 2 == 0 {
                        write_run_input(&l0, &l1, t.guest().0, t.vcpu().0, &mut input);
                        let _ = hv.run_vcpu_ticket(t);
                    } else {
                        let _ = hv.get_regs(t, &dec, addr);
                    }
                }
            }
            _ => {
                let addr = input.addr();
                let n = usize::from(input.u8());
                let _ = l1.write(L1RealAddr(addr), input.bytes(n));
            }
        }
        let aborts = l0.would_abort();
        assert!(
            aborts.is_empty(),
            "step {step} (op {op}): the typed API let through {aborts:?}"
        );
    }

    let guests: BTreeSet<u64> = l0.guests().into_iter().collect();
    assert_eq!(guests, live, "the L0's guests differ from the API's");
    for &g in &guests {
        assert_eq!(
            l0.vcpus(g),
            hv.vcpus(GuestId(g)),
            "guest {g}: vCPU counts of the L0 and the API differ"
        );
    }
    let counted: u64 = l0.hcall_counts().values().sum();
    assert_eq!(
        hv.hcall().total(),
        counted,
        "CountingHcall and the L0 disagree"
    );
});
