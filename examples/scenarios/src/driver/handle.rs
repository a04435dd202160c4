//! What the L1 does about an exit: complete an hcall, map a page, set R/C, skip an action.

use super::exit::ExitRegs;
use super::record::{hex, kv};
use super::{err, Driver, L2Backend, StepResult, PAGE};
use crate::layout::NiaKind;
use alloc::string::String;
use alloc::vec;
use papr_gsb::GuestStateId;
use papr_hcall::{Hcall, RealMemory};
use papr_mmu_radix::{GuestRealAddr, Perms};
use papr_nestedv2::{hdsisr, trap};

impl<'a, H: Hcall, M: RealMemory, B: L2Backend> Driver<'a, H, M, B> {
    pub(super) fn skip(
        &mut self,
        slot: u8,
        vcpu: u64,
        nia: Option<u64>,
        kind: NiaKind,
    ) -> Result<Option<usize>, String> {
        let v = self.vcpu(slot, vcpu)?;
        let Some(k) = nia.and_then(|n| v.layout.action_at(n, kind)) else {
            return Ok(None);
        };
        let next = v.layout.start(k + 1);
        v.pending.insert(GuestStateId::NIA.0, next);
        Ok(Some(k))
    }

    pub(super) fn handle(&mut self, slot: u8, vcpu: u64, trap_: u64, x: ExitRegs) -> StepResult {
        let mut f = vec![kv("g", slot), kv("v", vcpu)];
        match trap_ {
            trap::HCALL => {
                self.vcpu(slot, vcpu)?
                    .pending
                    .insert(GuestStateId::GPR3.0, 0);
                f.push(kv("act", "complete"));
                f.push(kv("r3", "0x0"));
            }
            trap::HDSI => {
                let gpa = x.asdr.unwrap_or(0);
                let h = x.hdsisr.unwrap_or(0);
                let page = gpa & !(PAGE - 1);
                if self.backing(slot, gpa).is_none() {
                    let k = self.skip(slot, vcpu, x.nia, NiaKind::DataAccess)?;
                    f.push(kv("act", if k.is_some() { "mmio-skip" } else { "none" }));
                    f.push(kv("gpa", hex(gpa)));
                    f.push(kv("write", u8::from(h & hdsisr::ISSTORE != 0)));
                } else if h & hdsisr::PROTFAULT != 0 {
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
                        .set_rc(GuestRealAddr(gpa), store)
                        .map_err(err("set_rc"))?;
                    f.push(kv("act", if store { "set-rc" } else { "set-r" }));
                    f.push(kv("gpa", hex(page)));
                    f.push(kv("ok", u8::from(ok)));
                } else {
                    f.push(kv("act", "none"));
                }
            }
            trap::HISI => {
                let gpa = x.asdr.unwrap_or(0);
                let page = gpa & !(PAGE - 1);
                if self.backing(slot, gpa).is_some() && !self.is_mapped(slot, page)? {
                    self.map(slot, page, PAGE, Perms::RWX)?;
                    f.push(kv("act", "map"));
                    f.push(kv("gpa", hex(page)));
                } else {
                    f.push(kv("act", "none"));
                }
            }
            trap::HEAI => {
                let k = self.skip(slot, vcpu, x.nia, NiaKind::Illegal)?;
                f.push(kv("act", if k.is_some() { "skip" } else { "none" }));
            }
            _ => f.push(kv("act", "none")),
        }
        self.rec.push("view", f);
        Ok(())
    }
}
