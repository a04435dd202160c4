//! The L1's exit policy for the example L2s, as a `papr-nestedv2` [`ExitHandler`]: the
//! hcall console, the payloads' report hcall, a tiny MMIO device, and "unassigned" guest
//! real space (loads answer all ones, stores are dropped; both logged). Page faults on RAM,
//! HISI and HDEC never get here: `Vcpu::run_loop` handles them.
//!
//! [`Exit::Mmio`] is read, and its completion value made, in one place only:
//! [`MmioRequest`]. The device works on the bytes in storage order.

use crate::l2payload::{BENCH, MMIO_BASE, REPORT};
use papr_baremetal::println;
use papr_nestedv2::{Action, Exit, ExitHandler, HcallReturn, MmioData, VcpuContext};

/// MSR of the L2 payloads: SF | RI | LE, real mode.
pub const MSR: u64 = 0x8000_0000_0000_0003;
/// The value the device's read-only id register (offset 16) answers.
pub const DEVICE_ID: u64 = 0x4543_4956_4544_324C; // "L2DEVICE" read little-endian
/// What a load from unassigned guest real space answers (every byte).
pub const UNASSIGNED: u8 = 0xFF;
const H_FUNCTION: u64 = (-2i64) as u64;
const H_PUT_TERM_CHAR: u64 = 0x58;

/// One emulated MMIO access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// Guest real address.
    pub gpa: u64,
    /// Store (else load).
    pub store: bool,
    /// Bytes.
    pub size: u8,
    /// Value stored or loaded: the bytes in storage order as a little-endian number (what
    /// a little-endian L2's register holds).
    pub value: u64,
}

/// An MMIO exit as this policy needs it: the glue between nestedv2's [`Exit::Mmio`] and
/// the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MmioRequest {
    /// Guest real address.
    pub gpa: u64,
    /// Store according to HDSISR.
    pub hdsisr_store: bool,
    /// Store according to the decoded instruction; `None`: nestedv2 could not fetch or
    /// decode it.
    pub decoded_store: Option<bool>,
    /// Bytes accessed (decoded).
    pub size: u8,
    /// A decoded store's bytes, in storage order.
    pub data: [u8; 8],
}

impl MmioRequest {
    /// The one place that reads [`Exit::Mmio`]'s fields (a store's data: its bytes in
    /// storage order).
    pub fn from_exit(exit: &Exit) -> Option<Self> {
        let Exit::Mmio {
            gpa,
            is_write,
            data,
            access,
            size,
            ..
        } = *exit
        else {
            return None;
        };
        let n = size.unwrap_or(0).min(8);
        let mut bytes = [0u8; 8];
        if let Some(d) = data {
            let d = d.as_bytes();
            bytes[..d.len()].copy_from_slice(d);
        }
        Some(Self {
            gpa: gpa.0,
            hdsisr_store: is_write,
            decoded_store: access.map(|a| a.is_write),
            size: n,
            data: bytes,
        })
    }

    /// The completion: for a load that read `bytes` (storage order), its first `size`; a
    /// store's completion carries no data.
    pub fn completion(&self, bytes: &[u8; 8]) -> Action {
        if self.decoded_store == Some(true) {
            return Action::MmioComplete {
                data: MmioData::NONE,
            };
        }
        let n = usize::from(self.size.min(8));
        match MmioData::new(&bytes[..n]) {
            Some(data) => Action::MmioComplete { data },
            None => Action::InjectProgram,
        }
    }
}

/// The device and the console: what the L1 keeps for one guest between exits.
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
    /// Accesses whose HDSISR store bit disagreed with the decoded instruction.
    pub direction_mismatch: usize,
    /// The payload's report (r3…r12), which ends a run loop.
    pub report: Option<[u64; 10]>,
    /// An exit this policy does not handle (ends the run loop).
    pub unhandled: Option<Exit>,
    /// An MMIO exit whose instruction nestedv2 could not fetch or decode (ends the run loop).
    pub undecoded: Option<MmioRequest>,
    /// `BENCH` hcalls seen.
    pub bench: u64,
    /// Stop after this many `BENCH` hcalls (0: never).
    pub bench_limit: u64,
}

impl Env {
    /// The L2's console output so far.
    pub fn console(&self) -> &[u8] {
        &self.console[..self.console_len]
    }

    fn hcall(&mut self, nr: u64, args: &[u64; 9]) -> Action {
        match nr {
            REPORT => {
                let mut r = [0u64; 10];
                r[0] = nr;
                r[1..].copy_from_slice(args);
                self.report = Some(r);
                Action::Stop
            }
            BENCH => {
                self.bench += 1;
                if self.bench == self.bench_limit {
                    Action::Stop
                } else {
                    Action::Resume
                }
            }
            H_PUT_TERM_CHAR => {
                let n = (args[1] as usize).min(16);
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&args[2].to_be_bytes());
                bytes[8..].copy_from_slice(&args[3].to_be_bytes());
                for &b in &bytes[..n] {
                    if let Some(c) = self.console.get_mut(self.console_len) {
                        *c = b;
                        self.console_len += 1;
                    }
                }
                let text = core::str::from_utf8(&bytes[..n]).unwrap_or("?");
                println!("  L2> {text}");
                Action::HcallReturn(HcallReturn::status(0))
            }
            _ => Action::HcallReturn(HcallReturn::status(H_FUNCTION)),
        }
    }

    /// The device: a `size`-byte access at `gpa` with `data` (storage order) for a store;
    /// returns the bytes loaded (or stored).
    pub fn device(&mut self, gpa: u64, store: bool, size: u8, data: [u8; 8]) -> [u8; 8] {
        let n = usize::from(size).clamp(1, 8);
        let mut bytes = [0u8; 8];
        match gpa.checked_sub(MMIO_BASE) {
            Some(off) if off < 0x1000 => {
                let at = off as usize;
                if store {
                    if let Some(d) = self.dev.get_mut(at..at + n) {
                        d.copy_from_slice(&data[..n]);
                    }
                    bytes = data;
                } else {
                    match self.dev.get(at..at + n) {
                        Some(d) => bytes[..n].copy_from_slice(d),
                        None if at == 16 => bytes = DEVICE_ID.to_le_bytes(),
                        None => {}
                    }
                }
            }
            // Unassigned: nothing answers a load; a store goes nowhere.
            _ if store => bytes = data,
            _ => bytes = [UNASSIGNED; 8],
        }
        bytes[n..].fill(0);
        if let Some(slot) = self.log.get_mut(self.mmio) {
            *slot = Some(Access {
                gpa,
                store,
                size,
                value: u64::from_le_bytes(bytes),
            });
        }
        self.mmio += 1;
        bytes
    }

    fn mmio(&mut self, req: MmioRequest, exit: &Exit) -> Action {
        let Some(store) = req.decoded_store else {
            self.undecoded = Some(req);
            self.unhandled = Some(*exit);
            return Action::Stop;
        };
        if store != req.hdsisr_store {
            self.direction_mismatch += 1;
        }
        let bytes = self.device(req.gpa, store, req.size, req.data);
        req.completion(&bytes)
    }
}

impl ExitHandler for Env {
    fn handle(&mut self, exit: &Exit, _vcpu: &mut dyn VcpuContext) -> Action {
        if let Some(req) = MmioRequest::from_exit(exit) {
            return self.mmio(req, exit);
        }
        match *exit {
            Exit::Hcall { nr, ref args } => self.hcall(nr, args),
            other => {
                self.unhandled = Some(other);
                Action::Stop
            }
        }
    }
}
