//! Shared fixtures of the `mmio_*` tests: instruction encoders built from the Power ISA 3.1
//! field layouts, an L1 memory, the L1's partition-scoped tree (mmu-radix) and an L2 with
//! its own process table and process-scoped radix tables in L2 memory.
#![allow(
    dead_code,
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use papr_hcall::RealMemory;
use papr_mmu_radix::{
    GuestRealAddr, L1RealAddr, MemoryError, Perms, PoolAlloc, ProcessTableValue, RadixTable,
    TableMemory,
};

/// `TableMemory` through the `RealMemory` doubleword methods, as papr-hcall's backends do.
macro_rules! table_memory_via_real_memory {
    ($ty:ty) => {
        impl TableMemory for $ty {
            fn read_u64(&self, addr: L1RealAddr) -> Result<u64, MemoryError> {
                RealMemory::read_u64(self, addr)
            }
            fn write_u64(&mut self, addr: L1RealAddr, value: u64) -> Result<(), MemoryError> {
                RealMemory::write_u64(self, addr, value)
            }
        }
    };
}
use papr_nestedv2::mmio::GuestMmu;
use std::cell::RefCell;

// ---- Instruction encoders (IBM bit i = 1 << (31 - i)) ----

/// Places `value` in IBM bits `first..=last` of a word.
pub fn field(value: u32, first: u32, last: u32) -> u32 {
    let width = last - first + 1;
    let mask = if width == 32 {
        u32::MAX
    } else {
        (1 << width) - 1
    };
    (value & mask) << (31 - last)
}

/// D form: PO(0..5) RT(6..10) RA(11..15) D(16..31).
pub fn d_form(po: u32, rt: u32, ra: u32, d: i32) -> u32 {
    field(po, 0, 5) | field(rt, 6, 10) | field(ra, 11, 15) | field(d as u32, 16, 31)
}

/// DS form: PO RT RA DS(16..29) XO(30..31); `d` is the byte displacement (multiple of 4).
pub fn ds_form(po: u32, rt: u32, ra: u32, d: i32, xo: u32) -> u32 {
    field(po, 0, 5)
        | field(rt, 6, 10)
        | field(ra, 11, 15)
        | field((d >> 2) as u32, 16, 29)
        | field(xo, 30, 31)
}

/// X form: PO=31 RT RA RB(16..20) XO(21..30) /(31).
pub fn x_form(xo: u32, rt: u32, ra: u32, rb: u32) -> u32 {
    field(31, 0, 5) | field(rt, 6, 10) | field(ra, 11, 15) | field(rb, 16, 20) | field(xo, 21, 30)
}

/// Prefix of an 8LS (`ptype` 0) or MLS (`ptype` 2) instruction: PO=1(0..5) type(6..7)
/// ST(8)=0 R(11) d0(14..31).
pub fn prefix(ptype: u32, r: bool, d0: u32) -> u32 {
    field(1, 0, 5) | field(ptype, 6, 7) | field(u32::from(r), 11, 11) | field(d0, 14, 31)
}

/// A prefixed D-form instruction with a 34-bit displacement `d`: (prefix, suffix).
pub fn prefixed(ptype: u32, r: bool, spo: u32, rt: u32, ra: u32, d: i64) -> (u32, u32) {
    let d = d as u64;
    let d0 = ((d >> 16) & 0x3_FFFF) as u32;
    let d1 = (d & 0xFFFF) as i32;
    (prefix(ptype, r, d0), d_form(spo, rt, ra, d1))
}

// ---- L1 memory ----

/// L1 real memory [0, len) in a vector.
#[derive(Debug)]
pub struct Mem(pub RefCell<Vec<u8>>);

impl Mem {
    pub fn new(len: usize) -> Self {
        Self(RefCell::new(vec![0u8; len]))
    }
    pub fn write_bytes(&self, addr: u64, data: &[u8]) {
        let a = addr as usize;
        self.0.borrow_mut()[a..a + data.len()].copy_from_slice(data);
    }
}

impl RealMemory for Mem {
    fn read(&self, addr: L1RealAddr, buf: &mut [u8]) -> Result<(), MemoryError> {
        let m = self.0.borrow();
        let a = addr.0 as usize;
        let src = a
            .checked_add(buf.len())
            .and_then(|end| m.get(a..end))
            .ok_or(MemoryError::OutOfRange {
                addr: addr.0,
                len: buf.len() as u64,
            })?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write(&self, addr: L1RealAddr, data: &[u8]) -> Result<(), MemoryError> {
        let mut m = self.0.borrow_mut();
        let a = addr.0 as usize;
        let dst = a
            .checked_add(data.len())
            .and_then(|end| m.get_mut(a..end))
            .ok_or(MemoryError::OutOfRange {
                addr: addr.0,
                len: data.len() as u64,
            })?;
        dst.copy_from_slice(data);
        Ok(())
    }
}

table_memory_via_real_memory!(Mem);
table_memory_via_real_memory!(&Mem);

// ---- The world: L1 layout ----

/// L1 memory size.
pub const L1_SIZE: u64 = 0x200_0000;
/// Pool of the L1's partition-scoped tables: [0, 1 MiB).
pub const POOL: u64 = 0;
/// L2 RAM gpa [0, 16 MiB) lives at L1 [16 MiB, 32 MiB).
pub const RAM_L1: u64 = 0x100_0000;
/// A hole in the partition-scoped mapping: gpa [8 MiB, 12 MiB) is not mapped.
pub const HOLE: u64 = 0x80_0000;
/// Size of the hole.
pub const HOLE_LEN: u64 = 0x40_0000;

/// L2 layout: process table (4 KiB, 256 PIDs).
pub const PRTB: u64 = 0x10_0000;
/// Roots of the process-scoped trees of PID 0 and of the user PID.
pub const ROOT_PID0: u64 = 0x20_0000;
/// Root of the user process's tree.
pub const ROOT_USER: u64 = 0x21_0000;
/// The user process's PID.
pub const USER_PID: u32 = 5;
/// Where lower-level L2 tables are allocated from.
pub const L2_TABLES: u64 = 0x30_0000;

/// Process-scoped PTE bits (same layout as the partition-scoped leaf).
pub const V: u64 = 1 << 63;
pub const L: u64 = 1 << 62;
pub const R: u64 = 0x100;
pub const C: u64 = 0x80;
pub const PRIV: u64 = 0x8;
pub const READ: u64 = 0x4;
pub const RW: u64 = 0x2;
pub const EXEC: u64 = 0x1;

/// The L1 memory with the partition-scoped tree of an L2, and the L2's own tables.
#[derive(Debug)]
pub struct World {
    pub mem: &'static Mem,
    pub root: L1RealAddr,
    next_table: RefCell<u64>,
}

impl World {
    /// Builds L1 memory, maps L2 RAM except the hole, writes an empty process table and
    /// PRTEs for PID 0 and [`USER_PID`].
    pub fn new() -> Self {
        let mem: &'static Mem = Box::leak(Box::new(Mem::new(L1_SIZE as usize)));
        let alloc = PoolAlloc::<4>::new(L1RealAddr(POOL), 0x10_0000).unwrap();
        let mut tree = RadixTable::new(mem, alloc).unwrap();
        tree.map(GuestRealAddr(0), L1RealAddr(RAM_L1), HOLE, Perms::RWX)
            .unwrap();
        let after = HOLE + HOLE_LEN;
        tree.map(
            GuestRealAddr(after),
            L1RealAddr(RAM_L1 + after),
            0x100_0000 - after,
            Perms::RWX,
        )
        .unwrap();
        let root = tree.root();

        let w = Self {
            mem,
            root,
            next_table: RefCell::new(L2_TABLES),
        };
        w.set_prte(0, ROOT_PID0);
        w.set_prte(USER_PID, ROOT_USER);
        w
    }

    /// The MMU description with the process table registered (4 KiB).
    pub fn mmu(&self) -> GuestMmu {
        GuestMmu {
            partition_root: self.root,
            process_table: Some(ProcessTableValue {
                base: GuestRealAddr(PRTB),
                size: 4096,
            }),
        }
    }

    /// Writes the big-endian doubleword `v` at L2 real address `gpa`.
    pub fn write_gpa_u64(&self, gpa: u64, v: u64) {
        self.mem.write_bytes(RAM_L1 + gpa, &v.to_be_bytes());
    }

    /// Reads the big-endian doubleword at L2 real address `gpa`.
    pub fn read_gpa_u64(&self, gpa: u64) -> u64 {
        let a = (RAM_L1 + gpa) as usize;
        u64::from_be_bytes(self.mem.0.borrow()[a..a + 8].try_into().unwrap())
    }

    /// Writes bytes at L2 real address `gpa`.
    pub fn write_gpa(&self, gpa: u64, data: &[u8]) {
        self.mem.write_bytes(RAM_L1 + gpa, data);
    }

    /// Writes instruction words at `gpa` in the byte order of `le`.
    pub fn write_insns(&self, gpa: u64, words: &[u32], le: bool) {
        for (i, w) in words.iter().enumerate() {
            let b = if le { w.to_le_bytes() } else { w.to_be_bytes() };
            self.write_gpa(gpa + 4 * i as u64, &b);
        }
    }

    /// Sets the PRTE of `pid` to a 52-bit tree rooted at `root` (RTS 21, RPDS 13).
    pub fn set_prte(&self, pid: u32, root: u64) {
        let dw0 = 0x4000_0000_0000_00A0 | root | 13;
        self.write_gpa_u64(PRTB + 16 * u64::from(pid), dw0);
    }

    fn alloc_table(&self, bytes: u64) -> u64 {
        let mut n = self.next_table.borrow_mut();
        let t = (*n + bytes - 1) & !(bytes - 1);
        *n = t + bytes;
        t
    }

    /// Index of `ea` at a level whose index field ends at bit `shift` and is `nls` wide.
    fn index(ea: u64, shift: u32, nls: u32) -> u64 {
        (ea >> shift) & ((1 << nls) - 1)
    }

    /// Maps `ea` in the process-scoped tree at `root` to `gpa` with a leaf at `leaf_level`
    /// (1 = 1 GiB, 2 = 2 MiB, 3 = 4 KiB, or 3 with `last_nls` 5 = 64 KiB) and `flags`
    /// (permission bits; V, L, R are added). Returns the L2 real address of each entry
    /// used, level 0 first.
    pub fn map_l2(
        &self,
        root: u64,
        ea: u64,
        gpa: u64,
        leaf_level: u32,
        last_nls: u32,
        flags: u64,
    ) -> Vec<u64> {
        let nls = [13u32, 9, 9, last_nls];
        let mut shift = 52u32;
        let mut table = root;
        let mut entries = Vec::new();
        for level in 0..=leaf_level {
            let n = nls[level as usize];
            shift -= n;
            let entry_gpa = table + 8 * Self::index(ea, shift, n);
            entries.push(entry_gpa);
            if level == leaf_level {
                let mask = (1u64 << shift) - 1;
                self.write_gpa_u64(entry_gpa, V | L | R | (gpa & !mask) | flags);
            } else {
                let existing = self.read_gpa_u64(entry_gpa);
                let next_nls = u64::from(nls[level as usize + 1]);
                if existing & V != 0 {
                    table = existing & 0x0FFF_FFFF_FFFF_FF00;
                } else {
                    let next = self.alloc_table(8 << next_nls);
                    self.write_gpa_u64(entry_gpa, V | next | next_nls);
                    table = next;
                }
            }
        }
        entries
    }
}
