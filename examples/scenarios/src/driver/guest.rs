//! A guest's side of the L1: its slot, RAM, radix table and L2 program.

use super::{
    entry, err, Driver, GuestSt, L1Memory, L2Backend, StepResult, Table, VcpuSt, DEFAULT_RAM,
    ENTRY, L2_MSR, PAGE, TABLE_POOL,
};
use crate::scenario::{GuestRef, L2Op, Scope};
use alloc::format;
use alloc::string::String;
use papr_gsb::{GsbBuilder, GuestStateId, PartitionTable, Value};
use papr_hcall::{GuestId, Hcall, L1RealAddr, RealMemory, Target, VcpuId};
use papr_mmu_radix::bits::PTE_RPN_MASK;
use papr_mmu_radix::{GuestRealAddr, Perms, PoolAlloc, RadixTable};

impl<'a, H: Hcall, M: L1Memory, B: L2Backend> Driver<'a, H, M, B> {
    pub(super) fn guest_id(&self, g: GuestRef) -> Result<u64, String> {
        match g {
            GuestRef::Id(id) => Ok(id),
            GuestRef::Slot(s) => self
                .guests
                .get(&s)
                .map(|g| g.id)
                .ok_or_else(|| format!("no guest in slot {s}")),
        }
    }

    pub(super) fn guest(&mut self, slot: u8) -> Result<&mut GuestSt<M>, String> {
        self.guests
            .get_mut(&slot)
            .ok_or_else(|| format!("no guest in slot {slot}"))
    }

    pub(super) fn vcpu(&mut self, slot: u8, vcpu: u64) -> Result<&mut VcpuSt, String> {
        self.guest(slot)?
            .vcpus
            .get_mut(&vcpu)
            .ok_or_else(|| format!("no vcpu {vcpu} in slot {slot}"))
    }

    pub(super) fn target(
        &self,
        scope: Scope,
        guest: GuestRef,
        vcpu: u64,
    ) -> Result<Target, String> {
        let guest = GuestId(self.guest_id(guest)?);
        let scope = match scope {
            Scope::Thread => papr_gsb::Scope::Thread,
            Scope::Guest => papr_gsb::Scope::Guest,
            Scope::Host => papr_gsb::Scope::Host,
        };
        Ok(Target {
            scope,
            guest,
            vcpu: VcpuId(vcpu),
        })
    }

    pub(super) fn backing(&self, slot: u8, gpa: u64) -> Option<u64> {
        self.guests
            .get(&slot)?
            .ram
            .iter()
            .find_map(|&(g, l1, len)| (gpa >= g && gpa - g < len).then(|| l1 + (gpa - g)))
    }

    pub(super) fn table(&mut self, slot: u8) -> Result<&mut Table<M>, String> {
        self.guest(slot)?
            .table
            .as_mut()
            .ok_or_else(|| format!("slot {slot} has no table (SetupGuest first)"))
    }

    pub(super) fn map(&mut self, slot: u8, gpa: u64, len: u64, p: Perms) -> Result<(), String> {
        let l1 = self
            .backing(slot, gpa)
            .filter(|_| self.backing(slot, gpa + len - 1).is_some())
            .ok_or_else(|| format!("{gpa:#x}+{len:#x} is not RAM of slot {slot}"))?;
        self.table(slot)?
            .map(GuestRealAddr(gpa), papr_mmu_radix::L1RealAddr(l1), len, p)
            .map_err(err("map"))
    }

    pub(super) fn add_ram(&mut self, slot: u8, gpa: u64, len: u64) -> StepResult {
        let l1 = self.alloc(len, PAGE)?;
        self.guest(slot)?.ram.push((gpa, l1, len));
        Ok(())
    }

    pub(super) fn mark_deleted(&mut self, g: GuestRef) {
        let id = match g {
            GuestRef::Slot(s) => self.guests.get(&s).map(|g| g.id),
            GuestRef::Id(id) => Some(id),
        };
        for g in self.guests.values_mut() {
            if Some(g.id) == id && !g.deleted {
                g.deleted = true;
                break;
            }
        }
    }

    pub(super) fn setup_guest(&mut self, slot: u8, ea_bits: u64) -> StepResult {
        let pool = self.alloc(TABLE_POOL, 0x1_0000)?;
        let alloc = PoolAlloc::<4>::new(papr_mmu_radix::L1RealAddr(pool), TABLE_POOL)
            .map_err(err("table pool"))?;
        let table = RadixTable::new(self.mem.clone(), alloc).map_err(err("radix table"))?;
        let [root, _, root_size] = table.pagetable_value().to_u64s();
        let id = {
            let g = self.guest(slot)?;
            g.table = Some(table);
            g.id
        };
        self.add_ram(slot, 0, DEFAULT_RAM)?;
        self.map(slot, ENTRY, PAGE, Perms::RWX)?;
        let mut buf = [0u8; 64];
        let mut b = GsbBuilder::new(&mut buf).map_err(err("gsb"))?;
        b.put(
            GuestStateId::PARTITION_TABLE,
            Value::PartitionTable(PartitionTable {
                root,
                ea_bits,
                root_size,
            }),
        )
        .map_err(err("gsb"))?;
        let n = b.finish();
        let at = L1RealAddr(self.scratch);
        if let Err(e) =
            self.hv
                .set_state(Target::guest(GuestId(id)), buf.get(..n).unwrap_or(&[]), at)
        {
            self.note(&e);
        }
        Ok(())
    }

    pub(super) fn load(&mut self, slot: u8, vcpu: u64, program: &[L2Op]) -> StepResult {
        let id = self.guest(slot)?.id;
        let start = entry(vcpu);
        let image = self.backend.load(id, vcpu, start, program)?;
        for s in &image.segments {
            let bytes = s.to_le_bytes();
            let len = bytes.len() as u64;
            let l1 = self
                .backing(slot, s.gpa)
                .filter(|_| len == 0 || self.backing(slot, s.gpa + len - 1).is_some())
                .ok_or_else(|| format!("code at {:#x} is not in RAM", s.gpa))?;
            self.mem
                .write(L1RealAddr(l1), &bytes)
                .map_err(err("code copy"))?;
        }
        let v = self.vcpu(slot, vcpu)?;
        v.layout = image.layout;
        v.state.set_nia(start);
        v.state.set_msr(L2_MSR);
        Ok(())
    }

    pub(super) fn set_pte(&mut self, slot: u8, gpa: u64, bits: u64) -> StepResult {
        let page = gpa & !(PAGE - 1);
        let mapped = self
            .table(slot)?
            .translate(GuestRealAddr(page))
            .map_err(err("translate"))?;
        if mapped.is_none() {
            self.map(slot, page, PAGE, Perms::RWX)?;
        }
        let t = self
            .table(slot)?
            .translate(GuestRealAddr(page))
            .map_err(err("translate"))?
            .ok_or("page not mapped after map")?;
        let raw = (t.pte.raw() & PTE_RPN_MASK) | (bits & !PTE_RPN_MASK);
        RealMemory::write_u64(self.mem, t.entry_addr, raw).map_err(err("pte write"))
    }

    pub(super) fn is_mapped(&mut self, slot: u8, gpa: u64) -> Result<bool, String> {
        Ok(self
            .table(slot)?
            .translate(GuestRealAddr(gpa))
            .map_err(err("translate"))?
            .is_some())
    }
}
