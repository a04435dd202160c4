//! The L1's exit policy for the example L2s: the hcall console, a tiny MMIO device, demand
//! paging of RAM on HDSI/HISI, and a loop that runs a payload until it reports.

use crate::l2payload::{BENCH, MMIO_BASE, REPORT};
use crate::l2run::{Exit, Hv, L2Error, L2};
use crate::println;
use papr_gsb::GuestStateId as Id;

/// MSR of the L2 payloads: SF | RI | LE, real mode.
pub const MSR: u64 = 0x8000_0000_0000_0003;
/// The value the device's read-only id register (offset 16) answers.
pub const DEVICE_ID: u64 = 0x4543_4956_4544_324C; // "L2DEVICE" read little-endian
/// HDEC slice per run: 10 ms of the 512 MHz timebase.
pub const SLICE: u64 = 5_120_000;
const H_SUCCESS: u64 = 0;
const H_FUNCTION: u64 = (-2i64) as u64;
const H_PUT_TERM_CHAR: u64 = 0x58;

/// One emulated MMIO access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// Store (else load).
    pub store: bool,
    /// Bytes.
    pub size: u8,
    /// Value stored or loaded.
    pub value: u64,
}

/// What the L1 keeps for the example guest between exits.
#[derive(Debug, Default)]
pub struct Env {
    /// Bytes the L2 printed (first 32).
    pub console: [u8; 32],
    /// How many of `console` are used.
    pub console_len: usize,
    /// Device registers: 16 bytes of scratch, then the id register.
    pub dev: [u8; 16],
    /// MMIO accesses emulated (first 16).
    pub log: [Option<Access>; 16],
    /// MMIO accesses emulated in total.
    pub mmio: usize,
    /// Store accesses whose HDSISR lacked the store bit, or loads that had it.
    pub direction_mismatch: usize,
    /// RAM pages mapped on an HDSI / on an HISI.
    pub paged: (u32, u32),
    /// Return from [`Env::drive`] on an HDEC exit (else keep running).
    pub stop_on_hdec: bool,
}

/// How [`Env::drive`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The payload made its [`REPORT`] hcall: GPR3…GPR12.
    Report([u64; 10]),
    /// An exit this policy does not handle.
    Unhandled(Exit),
    /// Too many exits.
    Runaway,
}

/// Decodes a D/DS-form integer load or store: (store, size, RT/RS).
fn decode_access(insn: u32) -> Option<(bool, u8, u8)> {
    let reg = ((insn >> 21) & 31) as u8;
    let (store, size) = match (insn >> 26, insn & 3) {
        (34, _) => (false, 1),
        (40, _) => (false, 2),
        (32, _) => (false, 4),
        (58, 0) => (false, 8),
        (38, _) => (true, 1),
        (44, _) => (true, 2),
        (36, _) => (true, 4),
        (62, 0) => (true, 8),
        _ => return None,
    };
    Some((store, size, reg))
}

impl Env {
    /// The L2's console output so far.
    pub fn console(&self) -> &[u8] {
        &self.console[..self.console_len]
    }

    fn hcall(&mut self, l2: &mut L2, gpr: &[u64; 10]) -> Option<Outcome> {
        match gpr[0] {
            REPORT => return Some(Outcome::Report(*gpr)),
            BENCH => {}
            H_PUT_TERM_CHAR => {
                let n = (gpr[2] as usize).min(16);
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&gpr[3].to_be_bytes());
                bytes[8..].copy_from_slice(&gpr[4].to_be_bytes());
                for &b in &bytes[..n] {
                    if let Some(c) = self.console.get_mut(self.console_len) {
                        *c = b;
                        self.console_len += 1;
                    }
                }
                let text = core::str::from_utf8(&bytes[..n]).unwrap_or("?");
                println!("  L2> {text}");
                l2.set(Id::GPR3, H_SUCCESS);
            }
            _ => l2.set(Id::GPR3, H_FUNCTION),
        }
        None
    }

    /// Emulates the load/store at `nia` to device offset `off`.
    fn mmio(&mut self, l2: &mut L2, hv: &mut Hv, nia: u64, off: u64, hdsisr: u32) -> bool {
        let Some(word) = l2.read::<4>(nia) else {
            return false;
        };
        let Some((store, size, reg)) = decode_access(u32::from_le_bytes(word)) else {
            return false;
        };
        let Some(id) = Id::gpr(reg) else {
            return false;
        };
        if store != (hdsisr & 0x0200_0000 != 0) {
            self.direction_mismatch += 1;
        }
        let n = usize::from(size);
        let at = off as usize;
        let value = if store {
            let Ok(v) = l2.get(hv, id) else {
                return false;
            };
            if let Some(d) = self.dev.get_mut(at..at + n) {
                d.copy_from_slice(&v.to_le_bytes()[..n]);
            }
            v & (u64::MAX >> (64 - 8 * n))
        } else {
            let mut b = [0u8; 8];
            match self.dev.get(at..at + n) {
                Some(d) => b[..n].copy_from_slice(d),
                None if at == 16 => b = DEVICE_ID.to_le_bytes(),
                None => {}
            }
            let v = u64::from_le_bytes(b) & (u64::MAX >> (64 - 8 * n));
            l2.set(id, v);
            v
        };
        if let Some(slot) = self.log.get_mut(self.mmio) {
            *slot = Some(Access { store, size, value });
        }
        self.mmio += 1;
        l2.set(Id::NIA, nia + 4);
        true
    }

    /// Handles one exit; `Some` ends the drive.
    fn handle(&mut self, l2: &mut L2, hv: &mut Hv, exit: Exit) -> Result<Option<Outcome>, L2Error> {
        Ok(match exit {
            Exit::Hcall(gpr) => self.hcall(l2, &gpr),
            Exit::Hdsi {
                asdr, nia, hdsisr, ..
            } if l2.is_ram(asdr) => {
                let _ = (nia, hdsisr);
                l2.map(asdr & !0xFFF, 0x1000)?;
                self.paged.0 += 1;
                None
            }
            Exit::Hdsi {
                asdr, nia, hdsisr, ..
            } if asdr >= MMIO_BASE => {
                let ok = self.mmio(l2, hv, nia, asdr - MMIO_BASE, hdsisr);
                (!ok).then_some(Outcome::Unhandled(exit))
            }
            Exit::Hisi { asdr, .. } if l2.is_ram(asdr) => {
                l2.map(asdr & !0xFFF, 0x1000)?;
                self.paged.1 += 1;
                None
            }
            Exit::Hdec if !self.stop_on_hdec => None,
            e => Some(Outcome::Unhandled(e)),
        })
    }

    /// Runs the vCPU (from `start`, in real mode, when given) until the payload reports, an
    /// exit needs the caller, or `max_exits` exits went by.
    pub fn drive(
        &mut self,
        l2: &mut L2,
        hv: &mut Hv,
        start: Option<u64>,
        max_exits: u32,
    ) -> Result<Outcome, L2Error> {
        l2.idle();
        if let Some(nia) = start {
            l2.set(Id::NIA, nia);
            l2.set(Id::MSR, MSR);
        }
        for _ in 0..max_exits {
            let exit = l2.run(hv, SLICE)?;
            if let Some(done) = self.handle(l2, hv, exit)? {
                return Ok(done);
            }
        }
        Ok(Outcome::Runaway)
    }
}
