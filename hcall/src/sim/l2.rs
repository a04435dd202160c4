//! The scripted L2: what each vCPU does when run, and the exit (trap and run output
//! buffer) QEMU produces for it (`spec/run-loop.md` §4.4, `qemu-verified.md` §1–2).

use super::fault::WouldAbort;
use super::state::{Machine, Vcpu};
use super::walk::{self, AccessKind, Translation};
use crate::memory::{L1RealAddr, RealMemory};
use alloc::vec::Vec;
use papr_gsb::{GsbBuilder, GuestStateId};

/// Exit vectors under the names this module has always used; the values are
/// [`crate::trap`]'s.
pub use crate::trap::{
    HCALL as TRAP_HCALL, HDEC as TRAP_HDEC, HDSI as TRAP_HDSI, HEAI as TRAP_HEAI, HISI as TRAP_HISI,
};

pub use crate::script::L2Action;

/// An L2 memory access that completed without an exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L2Event {
    /// A load: the value read (`size` bytes, in the L2's byte order: MSR\[LE\]) from L1
    /// address `l1`.
    Loaded {
        /// L2 real address.
        gpa: u64,
        /// Where it landed in L1 memory.
        l1: L1RealAddr,
        /// Value read.
        value: u64,
    },
    /// A store of `value` to L1 address `l1`.
    Stored {
        /// L2 real address.
        gpa: u64,
        /// Where it landed in L1 memory.
        l1: L1RealAddr,
        /// Value written.
        value: u64,
    },
    /// A fetch from `gpa` translated to `l1`.
    Fetched {
        /// L2 real address.
        gpa: u64,
        /// Where it landed in L1 memory.
        l1: L1RealAddr,
    },
}

impl L2Action {
    /// Whether the action is well formed (sizes 1/2/4/8, naturally aligned).
    pub(crate) fn is_valid(&self) -> bool {
        match *self {
            L2Action::Load { gpa, size } | L2Action::Store { gpa, size, .. } => {
                matches!(size, 1 | 2 | 4 | 8) && gpa % u64::from(size) == 0
            }
            _ => true,
        }
    }
}

fn hdec_future(expiry: u64, now: u64) -> bool {
    (expiry.wrapping_sub(now) as i64) > 0
}

/// Outcome of running a vCPU's program: the exit trap, or a would-abort.
pub(crate) enum Outcome {
    Exit(u64),
    Hang(WouldAbort),
}

/// Runs `vcpu` (its input already applied) until its next exit. `pate0` is the guest's
/// partition table; `hdec_positive` is QEMU's per-L1-CPU HDEC edge state.
pub(crate) fn run<M: RealMemory + ?Sized>(
    mem: &M,
    m: &mut Machine,
    ids: (u64, u64),
    pate0: u64,
) -> Outcome {
    let now = m.timebase;
    let positive = m.hdec_positive;
    let Some(v) = m.vcpu_mut(ids.0, ids.1) else {
        return Outcome::Exit(0);
    };
    let expiry = v.reg(GuestStateId::HDEC_EXPIRY_TB);
    let nia = v.reg(GuestStateId::NIA);
    if v.pending.take().is_some_and(|at| at != nia) {
        v.pc += 1; // the L1 emulated or skipped the faulting instruction
    }
    v.tlb.clear();
    let future = hdec_future(expiry, now);
    let trap = if !future && positive {
        Some(TRAP_HDEC) // HDEC already negative on entry: exit at once
    } else {
        step(mem, v, pate0, future)
    };
    match trap {
        Some(trap) => {
            if trap == TRAP_HDEC && future {
                m.timebase = expiry;
            }
            m.hdec_positive = trap != TRAP_HDEC && hdec_future(expiry, m.timebase);
            if m.qemu_dec_sign {
                let now = m.timebase;
                if let Some(v) = m.vcpu_mut(ids.0, ids.1) {
                    let e = v.reg(GuestStateId::DEC_EXPIRY_TB);
                    // QEMU reads the DEC (`e − now`) zero-extended from 32 bits unless
                    // LPCR[LD] (0x2_0000) is set, and saves `now − DEC`.
                    let dec = e.wrapping_sub(now);
                    let read = if v.reg(GuestStateId::LPCR) & 0x2_0000 == 0 {
                        dec & 0xFFFF_FFFF
                    } else {
                        dec
                    };
                    v.set_reg(GuestStateId::DEC_EXPIRY_TB, now.wrapping_sub(read));
                }
            }
            Outcome::Exit(trap)
        }
        None => Outcome::Hang(WouldAbort::L2NeverExits {
            guest: ids.0,
            vcpu: ids.1,
            hdec_expiry: expiry,
            timebase: now,
        }),
    }
}

/// Executes actions until one exits; `None` if the L2 would spin forever.
fn step<M: RealMemory + ?Sized>(mem: &M, v: &mut Vcpu, pate0: u64, future: bool) -> Option<u64> {
    loop {
        let nia = v.reg(GuestStateId::NIA);
        let Some(action) = v.program.get(v.pc).copied() else {
            return future.then_some(TRAP_HDEC);
        };
        match action {
            L2Action::WaitHdec => {
                if !future {
                    return None;
                }
                v.pc += 1;
                return Some(TRAP_HDEC);
            }
            L2Action::Hcall { nr, args } => {
                v.set_reg(GuestStateId::GPR3, nr);
                for (n, a) in (4u8..).zip(args) {
                    if let Some(id) = GuestStateId::gpr(n) {
                        v.set_reg(id, a);
                    }
                }
                v.set_reg(GuestStateId::NIA, nia.wrapping_add(4));
                v.pc += 1;
                return Some(TRAP_HCALL);
            }
            L2Action::EmulationAssist { heir, .. } => {
                v.regs
                    .insert(GuestStateId::HEIR.0, heir.to_be_bytes().to_vec());
                v.pending = Some(nia);
                return Some(TRAP_HEAI);
            }
            L2Action::Fetch { gpa } => {
                v.set_reg(GuestStateId::NIA, gpa);
                match walk::translate(mem, pate0, gpa, AccessKind::Fetch) {
                    Ok(t) => {
                        v.tlb.insert(gpa >> 12);
                        v.events.push(L2Event::Fetched { gpa, l1: t.l1 });
                        v.pc += 1;
                    }
                    Err(_) => {
                        // The cause is lost in the v2 exit; HDAR and HDSISR stay stale.
                        v.set_reg(GuestStateId::ASDR, gpa);
                        v.pending = Some(gpa);
                        return Some(TRAP_HISI);
                    }
                }
            }
            L2Action::Load { gpa, size } => {
                match walk::translate(mem, pate0, gpa, AccessKind::Load) {
                    Ok(t) => {
                        let mut b = [0u8; 8];
                        let n = usize::from(size);
                        let le = little_endian(v);
                        // Big-endian: the bytes fill the end of the array; little-endian
                        // (QEMU with MSR[LE] = 1): its start, read as a little-endian value.
                        let at = if le { 0 } else { 8usize.saturating_sub(n) };
                        if let Some(dst) = b.get_mut(at..at + n) {
                            // Unbacked L1 memory reads as 0.
                            let _ = mem.read(t.l1, dst);
                        }
                        let value = if le {
                            u64::from_le_bytes(b)
                        } else {
                            u64::from_be_bytes(b)
                        };
                        v.set_reg(GuestStateId::GPR5, value);
                        v.tlb.insert(gpa >> 12);
                        v.events.push(L2Event::Loaded {
                            gpa,
                            l1: t.l1,
                            value,
                        });
                        v.set_reg(GuestStateId::NIA, nia.wrapping_add(4));
                        v.pc += 1;
                    }
                    Err(cause) => return Some(hdsi(v, gpa, cause, nia)),
                }
            }
            L2Action::Store { gpa, size, value } => {
                // The data register (what the L1 reads to emulate an MMIO store).
                v.set_reg(GuestStateId::GPR5, value);
                match store_translation(mem, v, pate0, gpa) {
                    Ok(t) => {
                        let n = usize::from(size);
                        let (bytes, at) = if little_endian(v) {
                            (value.to_le_bytes(), 0)
                        } else {
                            (value.to_be_bytes(), 8usize.saturating_sub(n))
                        };
                        if let Some(src) = bytes.get(at..at + n) {
                            // A store to unbacked L1 memory is dropped.
                            let _ = mem.write(t.l1, src);
                        }
                        v.events.push(L2Event::Stored {
                            gpa,
                            l1: t.l1,
                            value,
                        });
                        v.set_reg(GuestStateId::NIA, nia.wrapping_add(4));
                        v.pc += 1;
                    }
                    Err(cause) => return Some(hdsi(v, gpa, cause, nia)),
                }
            }
        }
    }
}

/// Whether the L2 accesses memory little-endian (MSR\[LE\], bit 63 in IBM numbering):
/// QEMU stores the low byte of an `std` first for an L2 with MSR = SF|RI|LE.
fn little_endian(v: &Vcpu) -> bool {
    v.reg(GuestStateId::MSR) & crate::msr::LE != 0
}

/// QEMU's store path: a page with a TLB entry from an earlier load or fetch in this run
/// takes a store if the leaf is writable, without re-checking C.
fn store_translation<M: RealMemory + ?Sized>(
    mem: &M,
    v: &Vcpu,
    pate0: u64,
    gpa: u64,
) -> Result<Translation, u32> {
    if v.tlb.contains(&(gpa >> 12)) {
        if let Ok(t) = walk::translate(mem, pate0, gpa, AccessKind::Load) {
            if walk::writable(t.pte) {
                return Ok(t);
            }
        }
    }
    walk::translate(mem, pate0, gpa, AccessKind::Store)
}

fn hdsi(v: &mut Vcpu, gpa: u64, cause: u32, nia: u64) -> u64 {
    v.set_reg(GuestStateId::HDAR, gpa); // real mode: EA = gpa
    v.regs
        .insert(GuestStateId::HDSISR.0, cause.to_be_bytes().to_vec());
    v.set_reg(GuestStateId::ASDR, gpa);
    v.pending = Some(nia);
    TRAP_HDSI
}

/// The ids QEMU writes to the run output buffer for `trap`, in order (`get_exit_ids`).
pub(crate) fn exit_ids(trap: u64) -> &'static [GuestStateId] {
    use GuestStateId as G;
    const HCALL: [G; 10] = [
        G::GPR3,
        G::GPR4,
        G::GPR5,
        G::GPR6,
        G::GPR7,
        G::GPR8,
        G::GPR9,
        G::GPR10,
        G::GPR11,
        G::GPR12,
    ];
    const HDSI: [G; 5] = [G::HDAR, G::HDSISR, G::ASDR, G::NIA, G::MSR];
    const HISI: [G; 4] = [G::HDAR, G::ASDR, G::NIA, G::MSR];
    const HEAI: [G; 3] = [G::HEIR, G::NIA, G::MSR];
    match trap {
        TRAP_HCALL => &HCALL,
        TRAP_HDSI => &HDSI,
        TRAP_HISI => &HISI,
        TRAP_HEAI => &HEAI,
        _ => &[],
    }
}

/// The run output buffer for `trap`: a thread-wide GET of [`exit_ids`] (values as
/// stored, 0 if never written).
pub(crate) fn output(v: &Vcpu, trap: u64) -> Vec<u8> {
    let mut buf = alloc::vec![0u8; super::state::OUT_BUF_MIN as usize];
    let Ok(mut b) = GsbBuilder::new(&mut buf) else {
        return Vec::new();
    };
    for &id in exit_ids(trap) {
        let size = usize::from(id.size().unwrap_or(8));
        let zero = alloc::vec![0u8; size];
        let value = v.regs.get(&id.0).unwrap_or(&zero);
        if b.put_raw(id, value).is_err() {
            break;
        }
    }
    let len = b.len();
    buf.truncate(len);
    buf
}
