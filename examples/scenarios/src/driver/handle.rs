//! What the L1 does about an exit `papr-nestedv2` decoded ([`Exit`]): complete an hcall,
//! map a page, set R/C, emulate MMIO, skip an illegal instruction.

use super::record::{hex, kv};
use super::{err, Driver, L1Memory, L2Backend, StepResult, PAGE};
use crate::layout::NiaKind;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use papr_hcall::Hcall;
use papr_mmu_radix::{GuestRealAddr, Perms};
use papr_nestedv2::{hdsisr, Exit};

impl<'a, H: Hcall, M: L1Memory, B: L2Backend> Driver<'a, H, M, B> {
    /// Moves NIA past the action whose exiting instruction is `nia` (an exit of `kind`);
    /// returns the action, or `None` when `nia` is no such action (NIA is left alone).
    pub(super) fn skip(
        &mut self,
        slot: u8,
        vcpu: u64,
        nia: u64,
        kind: NiaKind,
    ) -> Result<Option<usize>, String> {
        let v = self.vcpu(slot, vcpu)?;
        let Some(k) = v.layout.action_at(nia, kind) else {
            return Ok(None);
        };
        let next = v.layout.start(k + 1);
        v.state.set_nia(next);
        Ok(Some(k))
    }

    pub(super) fn handle(&mut self, slot: u8, vcpu: u64, exit: Exit) -> StepResult {
        let mut f = vec![kv("g", slot), kv("v", vcpu)];
        match exit {
            Exit::Hcall { .. } => {
                self.vcpu(slot, vcpu)?
                    .state
                    .set_gpr(3, 0)
                    .map_err(err("complete hcall"))?;
                f.push(kv("act", "complete"));
                f.push(kv("r3", "0x0"));
            }
            Exit::PageFault { gpa, hdsisr, .. } => self.page_fault(slot, gpa, hdsisr, &mut f)?,
            Exit::Mmio {
                gpa, is_write, nia, ..
            } => self.mmio(slot, vcpu, gpa, is_write, nia, &mut f)?,
            Exit::InstructionFault { gpa, .. } => {
                let page = gpa.0 & !(PAGE - 1);
                if self.backing(slot, gpa.0).is_some() && !self.is_mapped(slot, page)? {
                    self.map(slot, page, PAGE, Perms::RWX)?;
                    f.push(kv("act", "map"));
                    f.push(kv("gpa", hex(page)));
                } else {
                    f.push(kv("act", "none"));
                }
            }
            Exit::EmulationAssist { nia, .. } => {
                let k = self.skip(slot, vcpu, nia, NiaKind::Illegal)?;
                f.push(kv("act", if k.is_some() { "skip" } else { "none" }));
            }
            _ => f.push(kv("act", "none")),
        }
        self.rec.push("view", f);
        Ok(())
    }

    /// An HDSI inside the guest's RAM: map the page, set R/C, or nothing (protection).
    fn page_fault(
        &mut self,
        slot: u8,
        gpa: GuestRealAddr,
        h: u32,
        f: &mut Vec<(String, String)>,
    ) -> StepResult {
        let page = gpa.0 & !(PAGE - 1);
        if h & hdsisr::PROTFAULT != 0 {
            f.push(kv("act", "none"));
            f.push(kv("why", "protection"));
        } else if h & hdsisr::NOPTE != 0 && !self.is_mapped(slot, page)? {
            self.map(slot, page, PAGE, Perms::RWX)?;
            f.push(kv("act", "map"));
            f.push(kv("gpa", hex(page)));
        } else if h & hdsisr::RC != 0 {
            let store = h & hdsisr::ISSTORE != 0;
            let ok = self
                .table(slot)?
                .set_rc(gpa, store)
                .map_err(err("set_rc"))?;
            f.push(kv("act", if store { "set-rc" } else { "set-r" }));
            f.push(kv("gpa", hex(page)));
            f.push(kv("ok", u8::from(ok)));
        } else {
            f.push(kv("act", "none"));
        }
        Ok(())
    }
}
