//! Exit decode over hostile input: a trap value and a run output buffer from the L0 go
//! through `VcpuState::apply_exit` and `Exit::decode`; the faulting instruction words of an
//! MMIO exit go through `mmio::decode`. Nothing may panic; a decoded exit must be
//! consistent with the trap it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use papr_mmu_radix::GuestRealAddr;
use papr_nestedv2::mmio::{decode, Insn};
use papr_nestedv2::{Exit, ExitKind};
use papr_vcpu_state::VcpuState;

fuzz_target!(|data: &[u8]| {
    let Some((head, out)) = data.split_first_chunk::<17>() else {
        return;
    };
    let [t0, t1, ram_bits, rest @ ..] = *head;
    // Mostly real vectors, sometimes anything.
    let trap = match t0 % 4 {
        0 => u64::from(u16::from_le_bytes([t1, ram_bits])),
        _ => [0x980u64, 0xC00, 0xE00, 0xE20, 0xE40, 0xF80, 0xE80, 0xEA0, 0x500, 0x100]
            [usize::from(t1) % 10],
    };
    let mut state = if t0 & 0x80 != 0 { VcpuState::new_zeroed() } else { VcpuState::new() };
    let before = state.clone();
    if state.apply_exit(out).is_err() {
        assert!(state == before, "a rejected output buffer changed the cache");
    }
    let ram_end = u64::from(ram_bits) << 20;
    if let Ok(exit) = Exit::decode(trap, &state, |gpa: GuestRealAddr| gpa.0 < ram_end) {
        let kind = exit.kind();
        match trap {
            0xC00 => assert_eq!(kind, ExitKind::Hcall),
            0xE00 => assert!(kind == ExitKind::PageFault || kind == ExitKind::Mmio),
            0xE20 => assert_eq!(kind, ExitKind::InstructionFault),
            0xE40 => assert_eq!(kind, ExitKind::EmulationAssist),
            0x980 => assert_eq!(kind, ExitKind::Hdec),
            _ => {}
        }
    }
    let [a, b, c, d, e, f, g, h, ..] = rest;
    let word = u32::from_be_bytes([a, b, c, d]);
    let suffix = u32::from_be_bytes([e, f, g, h]);
    if let Ok(access) = decode(Insn::new(word, Some(suffix))) {
        assert!(matches!(access.size, 1 | 2 | 4 | 8));
        assert!(access.len == 4 || access.len == 8);
    }
});
