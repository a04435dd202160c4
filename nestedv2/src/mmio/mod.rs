//! MMIO emulation for an L2: fetch the faulting instruction, decode it, complete it.
//!
//! On an HDSI (0xE00) whose guest real address is not L2 RAM, the L1 must find out what
//! the L2 was doing (`spec/run-loop.md` §5.2). This module does it with the fewest hcalls
//! (§7): the run output of an HDSI carries HDAR, HDSISR, ASDR, NIA and MSR, and nothing
//! else is needed for a load.
//!
//! 1. **Fetch** ([`fetch()`]): with MSR\[IR\] = 0 NIA is a guest real address; with MSR\[IR\] = 1
//!    the L2's process-scoped radix tables (process table from GSID 0x0006, PID from PIDR
//!    in quadrant 0, PID 0 in quadrant 3) give a guest real address, and the L1's own
//!    partition-scoped tree ([`papr_mmu_radix::translate_at`]) an L1 real address. Every
//!    read goes through [`papr_hcall::RealMemory`]; no `H_COPY_TOFROM_GUEST`, no hcall.
//!    A prefixed instruction brings its suffix too. Faults are [`FetchError`]s, which
//!    name the level and address and say which [`L2Interrupt`] the L2 should get.
//! 2. **Decode** ([`decode()`]): every integer load/store of Power ISA 3.1 that can reach
//!    MMIO — byte, half, word, doubleword; zero and algebraic; D, DS, X; update; byte
//!    reversed; prefixed 8LS/MLS — into an [`MmioAccess`]; anything else is a typed
//!    [`Unsupported`], never a panic.
//! 3. **Complete** ([`begin`] / [`prepare`], then [`MmioOp::complete_load`] or
//!    [`MmioOp::complete_store`]): the register reads a store needs come in one batched
//!    GET; the load result, the update-form EA and the new NIA are written through the
//!    [`VcpuState`](papr_vcpu_state::VcpuState) cache and ride in the next run input.
//!    [`begin_fast`] is the shortcut `Vcpu::run` takes first for the common exit (a
//!    real-mode D-form load from a cached code page), with exactly `begin_cached`'s result.
//!
//! | MMIO exit | hcalls (RUN included) |
//! |---|---|
//! | load, kernel space (quadrant 3) or real mode | 1 |
//! | store, kernel space or real mode | 2 (one GET: RS, and RA/RB of an update form) |
//! | any access from user space (quadrant 0) | 2 (one GET: PIDR + GPR0–31) |
//! | update-form load, kernel space | 2 with [`UpdateEa::Registers`], 1 with [`UpdateEa::Hdar`] (what `Vcpu::run` uses) |
//!
//! ```
//! use papr_gsb::{GsbBuilder, GuestStateId};
//! use papr_nestedv2::mmio::{prepare, Insn, MmioOptions};
//! use papr_nestedv2::GuestRealAddr;
//! use papr_vcpu_state::{Detached, VcpuState};
//! // The state after an HDSI exit: NIA and MSR (64-bit, big-endian) came in the output.
//! let mut s = VcpuState::new();
//! let mut out = [0u8; 64];
//! let mut b = GsbBuilder::new(&mut out)?;
//! b.put_u64(GuestStateId::NIA, 0x100)?;
//! b.put_u64(GuestStateId::MSR, 1 << 63)?;
//! s.apply_exit(&out)?;
//! // lhz r3, 2(r4): a load needs no register read (Detached would fail any GET).
//! let op = prepare(&mut s, &mut Detached, Insn::word(0xA064_0002), GuestRealAddr(0x1000_0002),
//!                  MmioOptions::default())?;
//! assert_eq!(op.complete_load(&mut s, &[0x12, 0x34])?, 0x1234);
//! assert_eq!(s.gpr3(&mut Detached)?, 0x1234);
//! assert_eq!(s.nia(&mut Detached)?, 0x104);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cache;
mod complete;
mod data;
mod decode;
#[cfg(test)]
mod decode_fast_test;
mod fast;
mod fetch;

pub use cache::FetchCache;
pub use complete::{
    begin, begin_cached, prepare, registers_needed, MmioError, MmioOp, MmioOptions, UpdateEa,
};
pub use data::MmioData;
pub use decode::{decode, is_prefix, EaForm, Insn, MmioAccess, Unsupported, UnsupportedReason};
pub use fast::begin_fast;
pub use fetch::{
    fetch, needs_pid, srr1, translate_fetch, walk_process_scoped, FetchError, Fetched, GuestMmu,
    L2Interrupt, ProcessTranslation, PROCESS_EA_BITS, REAL_MODE_MASK,
};

/// MSR bits under the names this module has always used; the values are
/// [`msr`](crate::msr)'s (papr-hcall's).
pub use papr_hcall::msr::{DR as MSR_DR, IR as MSR_IR, LE as MSR_LE, PR as MSR_PR, SF as MSR_SF};
