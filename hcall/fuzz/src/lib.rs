//! Input decoding shared by the `softl0_sequence` and `nested_hv` targets: a byte reader
//! that yields zeros once the input is exhausted, L1 memory with a hole, and builders for
//! the pieces of an hcall sequence (flags, ids, addresses, guest state buffers, L2
//! programs, fault injections), biased towards values the software L0 accepts so that a
//! short input gets deep, with an escape to raw values for everything.
//!
//! Every step starts with one op byte; its arguments follow (see each target). The
//! encodings below are stable so that the seeds under `seeds/<target>/` stay meaningful.

use papr_gsb::{GsidInfo, ValueKind, TABLE};
use papr_hcall::flags::{H_GUEST_DELETE_ALL, H_GUEST_FLAGS_HOST_WIDE, H_GUEST_FLAGS_WIDE};
use papr_hcall::opcode;
use papr_hcall::sim::{Injection, L2Action};
use vm_memory::{GuestAddress, GuestMemoryMmap};

/// L1 memory: two 64 KiB regions, [0, 0x10000) and [0x20000, 0x30000), with a hole between.
pub const REGIONS: [(u64, usize); 2] = [(0, 0x1_0000), (0x2_0000, 0x1_0000)];

/// Fresh zeroed L1 memory.
pub fn memory() -> GuestMemoryMmap<()> {
    let ranges: Vec<(GuestAddress, usize)> =
        REGIONS.iter().map(|&(a, l)| (GuestAddress(a), l)).collect();
    GuestMemoryMmap::from_ranges(&ranges).expect("two fixed regions map")
}

/// The `H_GUEST_*` opcodes (and `H_GUEST_COPY_MEMORY`, which QEMU does not implement).
pub const GUEST_OPCODES: [u64; 9] = [
    opcode::H_GUEST_GET_CAPABILITIES,
    opcode::H_GUEST_SET_CAPABILITIES,
    opcode::H_GUEST_CREATE,
    opcode::H_GUEST_CREATE_VCPU,
    opcode::H_GUEST_GET_STATE,
    opcode::H_GUEST_SET_STATE,
    opcode::H_GUEST_RUN_VCPU,
    opcode::H_GUEST_DELETE,
    opcode::H_GUEST_COPY_MEMORY,
];

/// A cursor over the fuzz input; reads past the end yield zeros.
#[derive(Debug)]
pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    /// Reads `data` from the start.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Up to `n` bytes (fewer at the end).
    pub fn bytes(&mut self, n: usize) -> &'a [u8] {
        let (head, tail) = self.data.split_at(n.min(self.data.len()));
        self.data = tail;
        head
    }

    /// One byte.
    pub fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }

    /// A big-endian u16.
    pub fn u16(&mut self) -> u16 {
        (u16::from(self.u8()) << 8) | u16::from(self.u8())
    }

    /// A big-endian u32.
    pub fn u32(&mut self) -> u32 {
        (u32::from(self.u16()) << 16) | u32::from(self.u16())
    }

    /// A big-endian u64.
    pub fn u64(&mut self) -> u64 {
        (u64::from(self.u32()) << 32) | u64::from(self.u32())
    }

    /// A guest id: byte `b` < 0xF0 → `b % 4` (0 is never a guest; 1–3 are the first ones
    /// the L0 hands out), otherwise a raw u64 follows.
    pub fn guest(&mut self) -> u64 {
        match self.u8() {
            b @ 0..=0xEF => u64::from(b % 4),
            _ => self.u64(),
        }
    }

    /// A vCPU id: byte `b` < 0xF0 → `b % 4`, otherwise a raw u64 follows.
    pub fn vcpu(&mut self) -> u64 {
        match self.u8() {
            b @ 0..=0xEF => u64::from(b % 4),
            _ => self.u64(),
        }
    }

    /// An L1 real address: byte `b` < 0x80 → `b * 0x600` (both regions and the hole
    /// between them), otherwise a raw u64 follows.
    pub fn addr(&mut self) -> u64 {
        match self.u8() {
            b @ 0..=0x7F => u64::from(b) * 0x600,
            _ => self.u64(),
        }
    }

    /// GET/SET flags: byte % 8 → 0, 0, 0, WIDE, HOST_WIDE, WIDE|HOST_WIDE, 1, raw u64.
    pub fn state_flags(&mut self) -> u64 {
        match self.u8() % 8 {
            0..=2 => 0,
            3 => H_GUEST_FLAGS_WIDE,
            4 => H_GUEST_FLAGS_HOST_WIDE,
            5 => H_GUEST_FLAGS_WIDE | H_GUEST_FLAGS_HOST_WIDE,
            6 => 1,
            _ => self.u64(),
        }
    }

    /// Flags of the other calls: byte % 4 → 0, 0, DELETE_ALL (bit 63), raw u64.
    pub fn flags(&mut self) -> u64 {
        match self.u8() % 4 {
            0 | 1 => 0,
            2 => H_GUEST_DELETE_ALL,
            _ => self.u64(),
        }
    }

    /// A capability word: byte % 6 → P9|P10, P10, P9, P9|P10|P11, 0, raw u64.
    pub fn caps(&mut self) -> u64 {
        match self.u8() % 6 {
            0 => 0x6000_0000_0000_0000,
            1 => 0x2000_0000_0000_0000,
            2 => 0x4000_0000_0000_0000,
            3 => 0x7000_0000_0000_0000,
            4 => 0,
            _ => self.u64(),
        }
    }

    /// A row of the GSID table (byte modulo the table size).
    pub fn row(&mut self) -> &'static GsidInfo {
        let n = usize::from(self.u8()) % TABLE.len();
        TABLE.get(n).unwrap_or(&TABLE[0])
    }

    /// A guest state buffer (at most 64 elements).
    ///
    /// Mode byte `m`: `m >= 0xC0` → `m - 0xC0` raw bytes follow, taken as they are.
    /// Otherwise `m & 0x3F` elements (and with bit 0x40 a raw be32 count follows, which may
    /// lie). Each element: byte `s`; `s < 0xF0` → table row `s % rows`, value of its own
    /// size; `s >= 0xF0` → raw be16 id and be16 length, then that many bytes (at most 64).
    /// Structured values: plain registers take their bytes from the input; a partition
    /// table is {addr(), 52, 64 KiB} unless a flag byte asks for raw fields; a process
    /// table {u64, 4 KiB or 16 MiB}; a run buffer {addr(), 0x80 + u16 % 0x3F81}.
    pub fn gsb(&mut self) -> Vec<u8> {
        let m = self.u8();
        if m >= 0xC0 {
            return self.bytes(usize::from(m - 0xC0)).to_vec();
        }
        let n = usize::from(m & 0x3F);
        let count = if m & 0x40 != 0 { self.u32() } else { n as u32 };
        let mut out = count.to_be_bytes().to_vec();
        for _ in 0..n {
            let s = self.u8();
            if s >= 0xF0 {
                let id = self.u16();
                let len = self.u16();
                out.extend_from_slice(&id.to_be_bytes());
                out.extend_from_slice(&len.to_be_bytes());
                let take = usize::from(len).min(64);
                out.extend_from_slice(self.bytes(take));
                continue;
            }
            let row = TABLE.get(usize::from(s) % TABLE.len()).unwrap_or(&TABLE[0]);
            out.extend_from_slice(&row.id.0.to_be_bytes());
            out.extend_from_slice(&row.size().to_be_bytes());
            self.value(row.kind, &mut out);
        }
        out
    }

    fn value(&mut self, kind: ValueKind, out: &mut Vec<u8>) {
        match kind {
            ValueKind::Empty => {}
            ValueKind::U32 => out.extend_from_slice(&self.u32().to_be_bytes()),
            ValueKind::U64 => out.extend_from_slice(&self.u64().to_be_bytes()),
            ValueKind::Vector => {
                out.extend_from_slice(&self.u64().to_be_bytes());
                out.extend_from_slice(&self.u64().to_be_bytes());
            }
            ValueKind::PartitionTable => {
                let f = self.u8();
                let root = self.addr();
                let ea = if f & 1 != 0 { self.u64() } else { 52 };
                let size = if f & 2 != 0 { self.u64() } else { 1 << 16 };
                for w in [root, ea, size] {
                    out.extend_from_slice(&w.to_be_bytes());
                }
            }
            ValueKind::ProcessTable => {
                let f = self.u8();
                let base = self.u64();
                let size = match f % 3 {
                    0 => 1 << 12,
                    1 => 1 << 24,
                    _ => self.u64(),
                };
                out.extend_from_slice(&base.to_be_bytes());
                out.extend_from_slice(&size.to_be_bytes());
            }
            ValueKind::Buffer => {
                let f = self.u8();
                let addr = self.addr();
                let size = if f & 1 != 0 {
                    self.u64()
                } else {
                    0x80 + u64::from(self.u16()) % 0x3F81
                };
                out.extend_from_slice(&addr.to_be_bytes());
                out.extend_from_slice(&size.to_be_bytes());
            }
        }
    }

    /// An L2 program of up to 7 actions: byte `n % 8` actions, each a kind byte % 6 →
    /// hcall {u16 nr, GPR4 = u64}, load {gpa, size}, store {gpa, size, u64}, fetch {gpa},
    /// emulation assist {u32}, wait for HDEC. `gpa` = u16 << 12 | u8 << 3 (raw u64 when
    /// the size byte has bit 7); size = 1 << (byte % 4), kept aligned.
    pub fn program(&mut self) -> Vec<L2Action> {
        let n = self.u8() % 8;
        (0..n)
            .map(|_| match self.u8() % 6 {
                0 => {
                    let nr = u64::from(self.u16());
                    let mut args = [0; 9];
                    args[0] = self.u64();
                    L2Action::Hcall { nr, args }
                }
                1 => {
                    let (gpa, size) = self.access();
                    L2Action::Load { gpa, size }
                }
                2 => {
                    let (gpa, size) = self.access();
                    let value = self.u64();
                    L2Action::Store { gpa, size, value }
                }
                3 => {
                    let (gpa, _) = self.access();
                    L2Action::Fetch { gpa }
                }
                4 => L2Action::illegal(self.u32()),
                _ => L2Action::WaitHdec,
            })
            .collect()
    }

    fn access(&mut self) -> (u64, u8) {
        let s = self.u8();
        let size = 1u8 << (s % 4);
        let gpa = if s & 0x80 != 0 {
            self.u64()
        } else {
            (u64::from(self.u16()) << 12) | (u64::from(self.u8()) << 3)
        };
        (gpa & !(u64::from(size) - 1), size)
    }

    /// An injection: kind byte % 4 → fail {rc, u64 r4}, busy {rc 1 or 9900–9905, count
    /// byte % 8}, truncate {u16 keep % 256}, corrupt {u8 offset, u8 xor}. `rc` is an error
    /// code from [`Input::error_rc`] when `errors_only`, else a raw i64.
    pub fn injection(&mut self, errors_only: bool) -> Injection {
        match self.u8() % 4 {
            0 => {
                let rc = if errors_only {
                    self.error_rc()
                } else {
                    self.u64() as i64
                };
                Injection::Fail { rc, r4: self.u64() }
            }
            1 => {
                let b = self.u8();
                let rc = if b % 7 == 0 {
                    1
                } else {
                    9899 + i64::from(b % 7)
                };
                Injection::Busy {
                    rc,
                    count: u64::from(self.u8() % 8),
                }
            }
            2 => Injection::TruncateOutput {
                keep: usize::from(self.u8()),
            },
            _ => Injection::CorruptOutput {
                offset: usize::from(self.u8()),
                xor: self.u8(),
            },
        }
    }

    /// A PAPR error return code (never 0 nor busy): the ones the Nested APIv2 uses, or any
    /// negative value.
    pub fn error_rc(&mut self) -> i64 {
        const CODES: [i64; 12] = [-1, -2, -3, -4, -5, -9, -16, -55, -56, -57, -68, -69];
        let b = self.u8();
        match CODES.get(usize::from(b) % 13) {
            Some(&c) => c,
            None => -(i64::from(self.u16()) + 1),
        }
    }

    /// An opcode for an injection: one of [`GUEST_OPCODES`].
    pub fn guest_opcode(&mut self) -> u64 {
        let i = usize::from(self.u8()) % GUEST_OPCODES.len();
        GUEST_OPCODES.get(i).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use papr_gsb::{Gsb, Policy};

    #[test]
    fn exhausted_input_reads_zeros() {
        let mut i = Input::new(&[1]);
        assert_eq!(i.u16(), 0x0100);
        assert_eq!(i.u64(), 0);
        assert!(i.is_empty());
    }

    #[test]
    fn structured_gsb_parses() {
        // 2 elements: row 0x10 and row 0x40, values from the bytes that follow.
        let mut data = vec![0x02, 0x10];
        data.extend_from_slice(&[0xAB; 16]);
        data.push(0x40);
        data.extend_from_slice(&[0xCD; 16]);
        let g = Input::new(&data).gsb();
        let parsed = Gsb::parse(&g, &Policy::STRUCTURE).unwrap();
        assert_eq!(parsed.len(), 2);
    }

    #[test]
    fn memory_has_a_hole() {
        use vm_memory::{Bytes, GuestAddress};
        let m = memory();
        assert!(m.write_slice(&[1], GuestAddress(0xFFFF)).is_ok());
        assert!(m.write_slice(&[1], GuestAddress(0x1_0000)).is_err());
        assert!(m.write_slice(&[1], GuestAddress(0x2_FFFF)).is_ok());
    }
}
