//! The scenarios, in session order (see [`crate::driver`]): the `caps-*` scenarios need an
//! L0 on which no capabilities were set yet, and must come first.
//!
//! Expected behaviour is QEMU's, from `../shared/qemu-pseries.md` and
//! `../shared/qemu-verified.md` (§ numbers below refer to the latter).
//!
//! This file holds the step helpers shared by every theme and [`all`], which chains the
//! themes' submodules in session order.

use crate::scenario::{GuestRef, Handle, Hdec, L2Op, Scenario, Scope, Step, MILLISECOND, SECOND};
use alloc::vec;
use alloc::vec::Vec;
use papr_gsb::GuestStateId as G;

mod caps;
mod exits;
mod guests;
mod hdec;
mod lifecycle;
mod rc;
mod state;

/// The private hcall by which a program reports (as the pseries payloads do).
pub const REPORT: u64 = 0x7F00;
/// Guest real address of the emulated device (no RAM there).
pub const MMIO: u64 = 0x1000_0000;
/// Capabilities QEMU offers on power10 (P9 | P10).
pub const CAPS: u64 = 0x6000_0000_0000_0000;
/// Guest-wide GET/SET flag.
pub const GUEST_WIDE: u64 = 0x8000_0000_0000_0000;
/// Host-wide GET flag.
pub const HOST_WIDE: u64 = 0x4000_0000_0000_0000;

/// Leaf bits: V | L.
const VL: u64 = 0xC000_0000_0000_0000;

fn report(x: u64) -> L2Op {
    L2Op::Hcall {
        nr: REPORT,
        args: [x, 0, 0, 0, 0, 0, 0, 0, 0],
    }
}

fn load(gpa: u64, size: u8) -> L2Op {
    L2Op::Load { gpa, size }
}

fn store(gpa: u64, size: u8, value: u64) -> L2Op {
    L2Op::Store { gpa, size, value }
}

/// Guest in `slot` with vCPU 0 ready to run: create, partition table, RAM 0..64 KiB with
/// the code page mapped, vCPU 0, run buffers.
fn boot(slot: u8) -> Vec<Step> {
    vec![
        Step::CreateGuest { slot },
        Step::SetupGuest { slot, ea_bits: 52 },
        Step::CreateVcpu {
            guest: GuestRef::Slot(slot),
            vcpu: 0,
        },
        Step::SetRunBuffers {
            slot,
            vcpu: 0,
            size: 0x1000,
        },
    ]
}

fn prog(slot: u8, program: Vec<L2Op>) -> Step {
    Step::Load {
        slot,
        vcpu: 0,
        program,
    }
}

fn run(slot: u8) -> Step {
    run_with(slot, Hdec::Future(SECOND), Handle::Auto)
}

fn run_with(slot: u8, hdec: Hdec, handle: Handle) -> Step {
    Step::Run {
        slot,
        vcpu: 0,
        hdec,
        handle,
    }
}

fn get(scope: Scope, guest: GuestRef, ids: &[G]) -> Step {
    Step::GetState {
        scope,
        guest,
        vcpu: 0,
        ids: ids.iter().map(|i| i.0).collect(),
    }
}

fn nia(slot: u8) -> Step {
    get(Scope::Thread, GuestRef::Slot(slot), &[G::NIA])
}

fn resume(slot: u8, action: usize) -> Step {
    Step::Resume {
        slot,
        vcpu: 0,
        action,
    }
}

fn pte(slot: u8, gpa: u64) -> Step {
    Step::ReadPte { slot, gpa }
}

fn mem(slot: u8, gpa: u64) -> Step {
    Step::ReadMem { slot, gpa }
}

fn set_pte(slot: u8, gpa: u64, low: u64) -> Step {
    Step::SetPte {
        slot,
        gpa,
        bits: VL | low,
    }
}

/// A raw guest state buffer: count, then (id, value) elements.
pub fn gsb(elements: &[(u16, &[u8])]) -> Vec<u8> {
    gsb_counted(elements.len() as u32, elements)
}

/// A raw guest state buffer whose header claims `count` elements (malformed when it
/// differs from `elements.len()`).
pub fn gsb_counted(count: u32, elements: &[(u16, &[u8])]) -> Vec<u8> {
    let mut b = count.to_be_bytes().to_vec();
    for (id, v) in elements {
        b.extend(id.to_be_bytes());
        b.extend((v.len() as u16).to_be_bytes());
        b.extend_from_slice(v);
    }
    b
}

fn raw_state(set: bool, flags: u64, guest: GuestRef, bytes: Vec<u8>) -> Step {
    Step::RawState {
        set,
        flags,
        guest,
        vcpu: 0,
        bytes,
    }
}

fn with(mut steps: Vec<Step>, more: impl IntoIterator<Item = Step>) -> Vec<Step> {
    steps.extend(more);
    steps
}

const Z8: &[u8] = &[0; 8];

/// The limitation of scenarios with MMIO stores (their data lines are in
/// [`crate::known::KNOWN`]).
const STORE_DATA: &str = "a scripted store does not hold its value in GPR5 (asm.rs's register \
     convention), so the software L0 answers the L1's GET of the source register with 0: the \
     data of each MMIO store is a known difference, tied to its line";

/// Every scenario, in session order.
pub fn all() -> Vec<Scenario> {
    let mut v = caps::scenarios();
    v.extend(lifecycle::scenarios());
    v.extend(state::scenarios());
    v.extend(exits::scenarios());
    v.extend(hdec::scenarios());
    v.extend(rc::scenarios());
    v.extend(guests::scenarios());
    v
}

/// The scenario called `name`.
pub fn by_name(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::{assemble, B_SELF, SC1};
    use crate::driver::{entry, DEFAULT_RAM, VCPU_CODE};

    #[test]
    fn at_least_30_unique_names_without_spaces() {
        let all = all();
        assert!(all.len() >= 30, "{} scenarios", all.len());
        for (i, s) in all.iter().enumerate() {
            assert!(!s.name.is_empty() && !s.name.contains(char::is_whitespace));
            assert!(
                all.iter().skip(i + 1).all(|t| t.name != s.name),
                "{}",
                s.name
            );
        }
        assert!(by_name("hdec-spin").is_some());
    }

    #[test]
    fn every_program_assembles_into_well_formed_code() {
        for s in all() {
            for (slot, vcpu, p) in s.programs() {
                let img = assemble(entry(vcpu), p)
                    .unwrap_or_else(|e| panic!("{} {slot}/{vcpu}: {e:?}", s.name));
                // The entry segment fits in the vCPU's part of the code page the driver
                // maps (the vCPUs of a guest share its RAM).
                let first = &img.segments[0];
                assert_eq!(first.gpa, entry(vcpu));
                assert!(
                    first.end() <= entry(vcpu) + VCPU_CODE,
                    "{}: entry code too long",
                    s.name
                );
                assert!(
                    first.end() <= 0x1000,
                    "{}: entry code off the code page",
                    s.name
                );
                for seg in &img.segments {
                    assert_eq!(seg.gpa % 4, 0);
                    assert!(!seg.words.is_empty());
                    // Code outside the default RAM must be added by the scenario.
                    if seg.end() > DEFAULT_RAM {
                        assert!(
                            s.steps
                                .iter()
                                .any(|st| matches!(st, Step::AddRam { gpa, len, .. }
                                if *gpa <= seg.gpa && seg.end() <= gpa + len)),
                            "{}: code at {:#x} not in RAM",
                            s.name,
                            seg.gpa
                        );
                    }
                }
                // Each action's exiting instruction is what the action says.
                for (k, slot) in img.layout.slots.iter().enumerate() {
                    let word = img.segments.iter().find_map(|seg| {
                        let off = slot.exit.checked_sub(seg.gpa)? / 4;
                        seg.words.get(off as usize).copied()
                    });
                    match slot.op {
                        L2Op::Hcall { .. } => assert_eq!(word, Some(SC1), "{} a{k}", s.name),
                        L2Op::WaitHdec => assert_eq!(word, Some(B_SELF)),
                        L2Op::EmulationAssist { heir: w, prefix } => {
                            assert_eq!(word, Some(prefix.unwrap_or(w)));
                        }
                        L2Op::Load { .. } | L2Op::Store { .. } => {
                            let op = word.map(|w| w >> 26);
                            assert!(matches!(op, Some(32 | 34 | 36 | 38 | 40 | 44 | 58 | 62)));
                        }
                        L2Op::Fetch { gpa } => assert_eq!(slot.exit, gpa),
                    }
                }
                // The program ends spinning.
                let last = img.segments.last().and_then(|s| s.words.last()).copied();
                assert_eq!(last, Some(B_SELF));
            }
        }
    }

    #[test]
    fn raw_gsb_layout() {
        assert_eq!(
            gsb(&[(0x1003, &[1, 2])]),
            vec![0, 0, 0, 1, 0x10, 0x03, 0, 2, 1, 2]
        );
    }
}
