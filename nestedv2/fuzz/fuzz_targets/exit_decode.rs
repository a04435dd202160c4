//! Exit decode over hostile input: a trap value and a run output buffer from the L0 go
//! through `VcpuState::apply_exit` and `Exit::decode`; the faulting instruction words of an
//! MMIO exit go through `mmio::decode`; the instruction fetch through a hostile L1 memory
//! (its partition-scoped tree and the L2's tables made of the input) gives the same with the
//! one-entry `FetchCache` as without, missed and hit. Nothing may panic; a decoded exit must
//! be consistent with the trap it came from.
#![no_main]

use libfuzzer_sys::fuzz_target;
use papr_hcall::RealMemory;
use papr_mmu_radix::{GuestRealAddr, L1RealAddr, MemoryError, ProcessTableValue, TableMemory};
use papr_nestedv2::mmio::{decode, fetch, FetchCache, GuestMmu, Insn};
use std::cell::RefCell;

/// L1 memory of 128 KiB made of the input, repeated (the tree's 64 KiB root at 0).
struct Hostile(RefCell<Vec<u8>>);

impl RealMemory for Hostile {
    fn read(&self, addr: L1RealAddr, buf: &mut [u8]) -> Result<(), MemoryError> {
        let m = self.0.borrow();
        let out = MemoryError::OutOfRange {
            addr: addr.0,
            len: buf.len() as u64,
        };
        let a = usize::try_from(addr.0).map_err(|_| out)?;
        let src = a
            .checked_add(buf.len())
            .and_then(|e| m.get(a..e))
            .ok_or(out)?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write(&self, addr: L1RealAddr, data: &[u8]) -> Result<(), MemoryError> {
        let mut m = self.0.borrow_mut();
        let out = MemoryError::OutOfRange {
            addr: addr.0,
            len: data.len() as u64,
        };
        let a = usize::try_from(addr.0).map_err(|_| out)?;
        let dst = a
            .checked_add(data.len())
            .and_then(|e| m.get_mut(a..e))
            .ok_or(out)?;
        dst.copy_from_slice(data);
        Ok(())
    }
}

impl TableMemory for Hostile {
    fn read_u64(&self, addr: L1RealAddr) -> Result<u64, MemoryError> {
        RealMemory::read_u64(self, addr)
    }
    fn write_u64(&mut self, addr: L1RealAddr, value: u64) -> Result<(), MemoryError> {
        RealMemory::write_u64(self, addr, value)
    }
}

/// Cached and uncached fetches of a few NIAs agree (the tree never changes here, so one
/// generation serves all).
fn fetch_agrees(data: &[u8], nia: u64, msr: u64) {
    if data.is_empty() {
        return;
    }
    let mem = Hostile(RefCell::new(
        data.iter().copied().cycle().take(0x2_0000).collect(),
    ));
    let mmu = GuestMmu {
        partition_root: L1RealAddr(0),
        process_table: Some(ProcessTableValue {
            base: GuestRealAddr(nia & 0xF_F000),
            size: 4096,
        }),
    };
    let mut cache = FetchCache::new();
    for n in [nia, nia.wrapping_add(4), nia, nia ^ 0x1000] {
        let want = fetch(&mem, &mmu, msr, n, 0);
        assert_eq!(cache.fetch(&mem, &mmu, 7, msr, n, 0), want, "nia {n:#x}");
    }
}
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
        _ => [
            0x980u64, 0xC00, 0xE00, 0xE20, 0xE40, 0xF80, 0xE80, 0xEA0, 0x500, 0x100,
        ][usize::from(t1) % 10],
    };
    let mut state = if t0 & 0x80 != 0 {
        VcpuState::new_zeroed()
    } else {
        VcpuState::new()
    };
    let before = state.clone();
    if state.apply_exit(out).is_err() {
        assert!(
            state == before,
            "a rejected output buffer changed the cache"
        );
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
    // NIA and MSR from the instruction bytes; real mode (IR = 0) half of the time.
    let nia = u64::from_be_bytes([a, b, c, d, e, f, g, h]) & 0xC000_0000_000F_FFFC;
    let msr = ((u64::from(t1) << 56) | (u64::from(ram_bits) << 8) | u64::from(ram_bits))
        & 0x8000_0000_0000_4031;
    fetch_agrees(out, nia, msr);
});
