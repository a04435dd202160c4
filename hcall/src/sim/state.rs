//! The L0's state, as the ABI defines it.

use super::fault::{Armed, WouldAbort};
use super::l2::{L2Action, L2Event};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use papr_gsb::GuestStateId;

/// QEMU's `PAPR_NESTED_GUEST_MAX`: guest ids are 1..4096.
pub(crate) const GUEST_MAX: u64 = 4096;
/// QEMU's `PAPR_NESTED_GUEST_VCPU_MAX`.
pub(crate) const VCPU_MAX: u64 = 2048;
/// QEMU's `VCPU_OUT_BUF_MIN_SZ`.
pub(crate) const OUT_BUF_MIN: u64 = 0x80;
/// Largest run buffer QEMU accepts.
pub(crate) const RUN_BUF_MAX: u64 = 16384;
/// QEMU's `GSB_MAX_BUF_SIZE`.
pub(crate) const GSB_MAX: u64 = 1 << 20;

/// QEMU's guest hash table: never created, live, or destroyed by delete-all (and then
/// used after free by every lookup).
#[derive(Debug)]
pub(crate) enum Table {
    Never,
    Live(BTreeMap<u64, Guest>),
    Destroyed,
}

/// One L2 guest.
#[derive(Debug, Default)]
pub(crate) struct Guest {
    pub vcpus: Vec<Vcpu>,
    /// Logical PVR (be32 bytes), from the L1's PVR at SET_CAPABILITIES unless set.
    pub lpvr: [u8; 4],
    /// PATE doubleword 0 rebuilt from 0x0005 (0 until set).
    pub pate0: u64,
    /// Raw 0x0005 / 0x0006 values as last set.
    pub partition_table: Option<Vec<u8>>,
    pub process_table: Option<Vec<u8>>,
}

/// A registered run buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunBuf {
    pub addr: u64,
    pub size: u64,
}

/// One vCPU: thread-wide state keyed by GSID (raw value bytes), run buffers, and the
/// scripted L2 program.
#[derive(Debug, Default)]
pub(crate) struct Vcpu {
    pub regs: BTreeMap<u16, Vec<u8>>,
    pub run_in: Option<RunBuf>,
    pub run_out: Option<RunBuf>,
    pub program: Vec<L2Action>,
    /// Index of the next action.
    pub pc: usize,
    /// NIA of the instruction that last exited and is retried unless the L1 moves NIA.
    pub pending: Option<u64>,
    pub events: Vec<L2Event>,
    /// Pages (gpa >> 12) with a QEMU TLB entry in the current run.
    pub tlb: BTreeSet<u64>,
}

impl Vcpu {
    /// A be64 register (0 if never written).
    pub fn reg(&self, id: GuestStateId) -> u64 {
        self.regs
            .get(&id.0)
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map_or(0, u64::from_be_bytes)
    }

    /// Writes a be64 register.
    pub fn set_reg(&mut self, id: GuestStateId, v: u64) {
        self.regs.insert(id.0, v.to_be_bytes().to_vec());
    }
}

/// Everything behind the [`SoftL0`](super::SoftL0) mutex.
#[derive(Debug)]
pub(crate) struct Machine {
    pub caps_offered: u64,
    pub caps_set: bool,
    pub l1_pvr: u32,
    pub pvr_base: u32,
    pub table: Table,
    pub timebase: u64,
    /// Whether the HDEC left by the last run was still ≥ 0 (QEMU's HDEC is edge-triggered).
    pub hdec_positive: bool,
    pub counts: BTreeMap<u64, u64>,
    pub aborts: Vec<WouldAbort>,
    pub armed: Vec<Armed>,
    /// The continue token of the last busy `H_GUEST_CREATE`.
    pub create_token: Option<u64>,
    /// Model QEMU's DEC_EXPIRY_TB sign bug: each exit saves `now − DEC`.
    pub qemu_dec_sign: bool,
}

impl Machine {
    pub fn new() -> Self {
        Self {
            caps_offered: 0x6000_0000_0000_0000,
            caps_set: false,
            l1_pvr: 0x0080_1200,
            pvr_base: 0,
            table: Table::Never,
            timebase: 0x1_0000_0000,
            hdec_positive: false,
            counts: BTreeMap::new(),
            aborts: Vec::new(),
            armed: Vec::new(),
            create_token: None,
            qemu_dec_sign: false,
        }
    }

    /// Records a would-abort fault.
    pub fn abort(&mut self, a: WouldAbort) -> i64 {
        self.aborts.push(a);
        super::fault::WOULD_ABORT_RC
    }

    /// QEMU's `spapr_get_nested_guest`: `Err(rc)` on a lookup in a destroyed table
    /// (recorded), `Ok(None)` for an unknown guest.
    pub fn lookup(&mut self, opcode: u64, guest: u64) -> Result<Option<&mut Guest>, i64> {
        if matches!(self.table, Table::Destroyed) {
            return Err(self.abort(WouldAbort::LookupAfterDeleteAll { opcode }));
        }
        match &mut self.table {
            Table::Live(g) => Ok(g.get_mut(&guest)),
            _ => Ok(None),
        }
    }

    /// A live guest, for introspection.
    pub fn guest(&self, guest: u64) -> Option<&Guest> {
        match &self.table {
            Table::Live(g) => g.get(&guest),
            _ => None,
        }
    }

    /// A live vCPU, for introspection and programs.
    pub fn vcpu_mut(&mut self, guest: u64, vcpu: u64) -> Option<&mut Vcpu> {
        match &mut self.table {
            Table::Live(g) => g
                .get_mut(&guest)?
                .vcpus
                .get_mut(usize::try_from(vcpu).ok()?),
            _ => None,
        }
    }
}
