//! Shared helpers of the `sim_*` tests: L1 memory, a SoftL0 over it, raw GET/SET, and a
//! hand-written partition-scoped radix table (64 KiB root, RTS = 52, 13/9/9/9).
#![allow(dead_code)]

use papr_gsb::{BufferDescriptor, GsbBuilder, GuestStateId, PartitionTable, Value};
use papr_hcall::opcode::*;
use papr_hcall::sim::SoftL0;
use papr_hcall::*;
use vm_memory::{GuestAddress, GuestMemoryMmap};

pub type Mem = VmRealMemory<GuestMemoryMmap<()>>;
pub type L0 = SoftL0<Mem>;
pub type Hv<'a> = NestedHv<&'a L0, Mem, NoDelay>;

/// 64 MiB of L1 memory.
pub const MEM_SIZE: u64 = 0x400_0000;
/// Scratch buffer for GET/SET requests.
pub const SCRATCH: u64 = 0x1_0000;
/// Run input / output buffers of vCPU v: RUN_IN + v * 0x2000, RUN_OUT + v * 0x2000.
pub const RUN_IN: u64 = 0x4_0000;
pub const RUN_OUT: u64 = 0x4_1000;
/// Partition-scoped root (64 KiB aligned) and the pool for lower tables.
pub const ROOT: u64 = 0x100_0000;
pub const TABLES: u64 = 0x110_0000;
/// L2 real address g is backed at BACKING + g.
pub const BACKING: u64 = 0x200_0000;
/// The L2 MSR of the measurements (SF | ME | RI... real mode).
pub const MSR: u64 = 0x8000_0000_0000_0003;

pub fn memory() -> GuestMemoryMmap<()> {
    GuestMemoryMmap::from_ranges(&[(GuestAddress(0), MEM_SIZE as usize)]).unwrap()
}

pub fn new_l0() -> (L0, GuestMemoryMmap<()>) {
    let mem = memory();
    (SoftL0::new(VmRealMemory(mem.clone())), mem)
}

pub fn hv<'a>(l0: &'a L0, mem: &GuestMemoryMmap<()>) -> Hv<'a> {
    NestedHv::new(l0, VmRealMemory(mem.clone()), NoDelay)
}

pub fn args(a: &[u64]) -> [u64; 9] {
    let mut r = [0; 9];
    r[..a.len()].copy_from_slice(a);
    r
}

/// A GSB built by `f`.
pub fn gsb(f: impl FnOnce(&mut GsbBuilder)) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let mut b = GsbBuilder::new(&mut buf).unwrap();
    f(&mut b);
    let n = b.len();
    buf.truncate(n);
    buf
}

/// Raw bytes of a GSB whose elements are given as (id, value bytes), unchecked.
pub fn raw_gsb(count: u32, elems: &[(u16, &[u8])]) -> Vec<u8> {
    let mut v = count.to_be_bytes().to_vec();
    for (id, val) in elems {
        v.extend_from_slice(&id.to_be_bytes());
        v.extend_from_slice(&(val.len() as u16).to_be_bytes());
        v.extend_from_slice(val);
    }
    v
}

pub fn write(l0: &L0, at: u64, bytes: &[u8]) {
    l0.memory().write(L1RealAddr(at), bytes).unwrap();
}

pub fn read(l0: &L0, at: u64, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    l0.memory().read(L1RealAddr(at), &mut v).unwrap();
    v
}

/// Raw H_GUEST_SET_STATE of `bytes` placed at SCRATCH.
pub fn raw_set(l0: &L0, flags: u64, guest: u64, vcpu: u64, bytes: &[u8]) -> HcallOutput {
    write(l0, SCRATCH, bytes);
    l0.hcall(
        H_GUEST_SET_STATE,
        args(&[flags, guest, vcpu, SCRATCH, bytes.len() as u64]),
    )
}

/// Raw H_GUEST_GET_STATE of `bytes` placed at SCRATCH; returns the answer bytes too.
pub fn raw_get(l0: &L0, flags: u64, guest: u64, vcpu: u64, bytes: &[u8]) -> (HcallOutput, Vec<u8>) {
    write(l0, SCRATCH, bytes);
    let o = l0.hcall(
        H_GUEST_GET_STATE,
        args(&[flags, guest, vcpu, SCRATCH, bytes.len() as u64]),
    );
    (o, read(l0, SCRATCH, bytes.len()))
}

pub fn be64(v: &[u8]) -> u64 {
    u64::from_be_bytes(v.try_into().unwrap())
}

/// Caps negotiated, guest created (id returned), partition table {ROOT, 52, 64 KiB} set,
/// `vcpus` vCPUs with 4 KiB run buffers each.
pub fn ready_guest(hv: &mut Hv<'_>, vcpus: u64) -> GuestId {
    if !hv.hcall().capabilities_set() {
        hv.negotiate(Capabilities::MODES).unwrap();
    }
    let g = hv.create_guest().unwrap();
    let root = ROOT + (g.0 - 1) * 0x1_0000;
    let pt = gsb(|b| {
        b.put(
            GuestStateId::PARTITION_TABLE,
            Value::PartitionTable(PartitionTable {
                root,
                ea_bits: 52,
                root_size: 65536,
            }),
        )
        .unwrap()
    });
    hv.set_state(Target::guest(g), &pt, L1RealAddr(SCRATCH))
        .unwrap();
    for v in 0..vcpus {
        hv.create_vcpu(g, VcpuId(v)).unwrap();
        let base = (g.0 - 1) * 0x10_0000 + v * 0x2000;
        let bufs = gsb(|b| {
            b.put(
                GuestStateId::RUN_OUTPUT,
                Value::Buffer(BufferDescriptor {
                    address: RUN_OUT + base,
                    size: 4096,
                }),
            )
            .unwrap();
            b.put(
                GuestStateId::RUN_INPUT,
                Value::Buffer(BufferDescriptor {
                    address: RUN_IN + base,
                    size: 4096,
                }),
            )
            .unwrap();
        });
        hv.set_state(Target::thread(g, VcpuId(v)), &bufs, L1RealAddr(SCRATCH))
            .unwrap();
    }
    g
}

/// Run input address of (guest, vcpu) as laid out by `ready_guest`.
pub fn run_in(g: u64, v: u64) -> u64 {
    RUN_IN + (g - 1) * 0x10_0000 + v * 0x2000
}

/// Run output address of (guest, vcpu) as laid out by `ready_guest`.
pub fn run_out(g: u64, v: u64) -> u64 {
    RUN_OUT + (g - 1) * 0x10_0000 + v * 0x2000
}

/// Writes the run input of (guest, vcpu): a future HDEC expiry (now + 1 s at 512 MHz), MSR,
/// and `extra` elements.
pub fn run_input(l0: &L0, g: u64, v: u64, extra: &[(GuestStateId, u64)]) {
    let now = l0.timebase();
    let bytes = gsb(|b| {
        b.put_u64(GuestStateId::HDEC_EXPIRY_TB, now + 512_000_000)
            .unwrap();
        b.put_u64(GuestStateId::MSR, MSR).unwrap();
        for &(id, val) in extra {
            b.put_reg(id, val).unwrap();
        }
    });
    write(l0, run_in(g, v), &bytes);
}

/// The run output of (guest, vcpu) as (id, value bytes), in order.
pub fn run_output(l0: &L0, g: u64, v: u64) -> Vec<(u16, Vec<u8>)> {
    let bytes = read(l0, run_out(g, v), 4096);
    let parsed = papr_gsb::Gsb::parse(&bytes, &papr_gsb::Policy::L1_RUN_OUTPUT).unwrap();
    parsed
        .iter()
        .map(|e| (e.id.0, e.value_bytes().to_vec()))
        .collect()
}

/// A hand-written partition-scoped radix tree (QEMU's geometry: 64 KiB root of 8192
/// entries, then 9/9/9 with 4 KiB tables), built big-endian in L1 memory.
pub struct Radix<'a> {
    pub l0: &'a L0,
    pub root: u64,
    next: u64,
}

impl<'a> Radix<'a> {
    /// A zeroed root at `root`; lower tables from `pool`.
    pub fn new(l0: &'a L0, root: u64, pool: u64) -> Self {
        write(l0, root, &[0u8; 65536]);
        Self {
            l0,
            root,
            next: pool,
        }
    }

    fn entry(&self, at: u64) -> u64 {
        be64(&read(self.l0, at, 8))
    }

    fn set(&self, at: u64, v: u64) {
        write(self.l0, at, &v.to_be_bytes());
    }

    /// The table below the PDE at `at`, made (zeroed, 4 KiB, NLS 9) if missing.
    fn down(&mut self, at: u64) -> u64 {
        let e = self.entry(at);
        if e & (1 << 63) != 0 {
            return e & 0x0FFF_FFFF_FFFF_FF00;
        }
        let t = self.next;
        self.next += 0x1000;
        write(self.l0, t, &[0u8; 4096]);
        self.set(at, 0x8000_0000_0000_0000 | t | 9);
        t
    }

    /// Address of the level-3 (4 KiB leaf) slot for `gpa`, making the tables on the way.
    pub fn pte_slot(&mut self, gpa: u64) -> u64 {
        let pud = self.down(self.root + ((gpa >> 39) & 0x1FFF) * 8);
        let pmd = self.down(pud + ((gpa >> 30) & 0x1FF) * 8);
        let pte = self.down(pmd + ((gpa >> 21) & 0x1FF) * 8);
        pte + ((gpa >> 12) & 0x1FF) * 8
    }

    /// Maps the 4 KiB page of `gpa` to BACKING + gpa with leaf bits `flags`
    /// (0x187 = R C read write exec; V and L are added).
    pub fn map(&mut self, gpa: u64, flags: u64) -> u64 {
        let slot = self.pte_slot(gpa);
        self.set(
            slot,
            0xC000_0000_0000_0000 | ((BACKING + gpa) & !0xFFF) | flags,
        );
        slot
    }

    /// Rewrites the leaf at `slot`.
    pub fn set_leaf(&self, slot: u64, v: u64) {
        self.set(slot, v);
    }

    /// Reads the leaf at `slot`.
    pub fn leaf(&self, slot: u64) -> u64 {
        self.entry(slot)
    }
}
