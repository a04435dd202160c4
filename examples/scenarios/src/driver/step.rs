//! The step machine: carries out one [`Step`] of a scenario.

use super::record::{hex, kv};
use super::{err, perms, Driver, GuestSt, L1Memory, L2Backend, StepResult, PAGE};
use crate::scenario::Step;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;
use papr_gsb::{GsbBuilder, GuestStateId, ProcessTable, Value};
use papr_hcall::{opcode, GuestId, Hcall, HcallOutput, L1RealAddr, Target, VcpuId, HCALL_ARGS};
use papr_mmu_radix::bits::PTE_RPN_MASK;
use papr_mmu_radix::{GuestRealAddr, NoInvalidate};

impl<'a, H: Hcall, M: L1Memory, B: L2Backend> Driver<'a, H, M, B> {
    pub(super) fn step(&mut self, step: &Step) -> StepResult {
        match step {
            Step::GetCaps { flags } => {
                self.raw(opcode::H_GUEST_GET_CAPABILITIES, [*flags, 0, 0]);
            }
            Step::SetCaps { caps } => {
                self.raw(opcode::H_GUEST_SET_CAPABILITIES, [0, *caps, 0]);
            }
            Step::CreateGuest { slot } => match self.hv.create_guest() {
                Ok(id) => {
                    self.guests.insert(
                        *slot,
                        GuestSt {
                            id: id.0,
                            deleted: false,
                            table: None,
                            ram: Vec::new(),
                            vcpus: BTreeMap::new(),
                        },
                    );
                }
                Err(e) => self.note(&e),
            },
            Step::SetupGuest { slot, ea_bits } => self.setup_guest(*slot, *ea_bits)?,
            Step::SetProcessTable { slot, base, size } => {
                let id = self.guest(*slot)?.id;
                let mut buf = [0u8; 64];
                let mut b = GsbBuilder::new(&mut buf).map_err(err("gsb"))?;
                b.put(
                    GuestStateId::PROCESS_TABLE,
                    Value::ProcessTable(ProcessTable {
                        base: *base,
                        size: *size,
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
            }
            Step::AddRam { slot, gpa, len } => self.add_ram(*slot, *gpa, *len)?,
            Step::CreateVcpu { guest, vcpu } => {
                let id = self.guest_id(*guest)?;
                match self.hv.create_vcpu(GuestId(id), VcpuId(*vcpu)) {
                    Ok(()) => {}
                    Err(e) => self.note(&e),
                }
            }
            Step::SetRunBuffers { slot, vcpu, size } => {
                self.set_run_buffers(*slot, *vcpu, *size)?;
            }
            Step::Load {
                slot,
                vcpu,
                program,
            } => self.load(*slot, *vcpu, program)?,
            Step::Run {
                slot,
                vcpu,
                hdec,
                handle,
            } => self.run_vcpu(*slot, *vcpu, *hdec, *handle)?,
            Step::RunRaw { guest, vcpu, flags } => {
                let g = self.guest_id(*guest)?;
                self.raw(opcode::H_GUEST_RUN_VCPU, [*flags, g, *vcpu]);
            }
            Step::SetReg {
                slot,
                vcpu,
                id,
                value,
            } => {
                let r = self
                    .vcpu(*slot, *vcpu)?
                    .state
                    .set(GuestStateId(*id), u128::from(*value));
                if let Err(e) = r {
                    self.refused("vcpu-state", &e);
                }
            }
            Step::Resume { slot, vcpu, action } => {
                let v = self.vcpu(*slot, *vcpu)?;
                let nia = v.layout.start(*action);
                v.state.set_nia(nia);
            }
            Step::SetState {
                scope,
                guest,
                vcpu,
                values,
            } => {
                let target = self.target(*scope, *guest, *vcpu)?;
                let mut buf = [0u8; 512];
                let mut b = GsbBuilder::new(&mut buf).map_err(err("gsb"))?;
                for &(id, v) in values {
                    let id = GuestStateId(id);
                    let r = match id.size() {
                        Some(4) => b.put_u32(id, v as u32),
                        _ => b.put_u64(id, v),
                    };
                    r.map_err(err("gsb"))?;
                }
                let n = b.finish();
                let at = L1RealAddr(self.scratch);
                if let Err(e) = self.hv.set_state(target, buf.get(..n).unwrap_or(&[]), at) {
                    self.note(&e);
                }
            }
            Step::GetState {
                scope,
                guest,
                vcpu,
                ids,
            } => self.get_state(*scope, *guest, *vcpu, ids)?,
            Step::RawState {
                set,
                flags,
                guest,
                vcpu,
                bytes,
            } => {
                let g = self.guest_id(*guest)?;
                // Zero the page first: what lies past the buffer must not depend on earlier
                // steps (QEMU reads one element header past a buffer whose count is too high).
                let zero = [0u8; PAGE as usize];
                self.mem
                    .write(L1RealAddr(self.scratch), &zero)
                    .map_err(err("scratch"))?;
                self.mem
                    .write(L1RealAddr(self.scratch), bytes)
                    .map_err(err("scratch"))?;
                let op = if *set {
                    opcode::H_GUEST_SET_STATE
                } else {
                    opcode::H_GUEST_GET_STATE
                };
                let len = bytes.len() as u64;
                // SAFETY: the only address passed is `self.scratch`, the driver's page of L1 memory just written through `self.mem` (so inside it); the L0 reads and writes at most `len` bytes of it.
                unsafe { self.hv.hcall_unchecked() }
                    .hcall(op, [*flags, g, *vcpu, self.scratch, len, 0, 0, 0, 0]);
            }
            Step::DeleteRaw { flags, guest } => {
                let g = self.guest_id(*guest)?;
                let out = self.raw(opcode::H_GUEST_DELETE, [*flags, g, 0]);
                if out.rc == 0 {
                    self.mark_deleted(*guest);
                }
            }
            Step::CreateVcpuRaw { guest, vcpu } => {
                let g = self.guest_id(*guest)?;
                self.raw(opcode::H_GUEST_CREATE_VCPU, [0, g, *vcpu]);
            }
            Step::Delete { guest } => {
                let g = self.guest_id(*guest)?;
                match self.hv.delete_guest(GuestId(g)) {
                    Ok(()) => self.mark_deleted(*guest),
                    Err(e) => self.note(&e),
                }
            }
            Step::DeleteAll => {
                if let Err(e) = self.hv.delete_all_guests() {
                    self.note(&e);
                }
            }
            Step::Map {
                slot,
                gpa,
                len,
                perms: p,
            } => self.map(*slot, *gpa, *len, perms(*p))?,
            Step::Unmap { slot, gpa, len } => {
                self.table(*slot)?
                    .unmap(GuestRealAddr(*gpa), *len, &mut NoInvalidate)
                    .map_err(err("unmap"))?;
            }
            Step::Protect {
                slot,
                gpa,
                len,
                perms: p,
            } => {
                self.table(*slot)?
                    .protect(GuestRealAddr(*gpa), *len, perms(*p), &mut NoInvalidate)
                    .map_err(err("protect"))?;
            }
            Step::SetPte { slot, gpa, bits } => self.set_pte(*slot, *gpa, *bits)?,
            Step::ReadPte { slot, gpa } => {
                let t = self
                    .table(*slot)?
                    .translate(GuestRealAddr(*gpa))
                    .map_err(err("translate"))?;
                let bits =
                    t.map_or_else(|| "none".to_string(), |t| hex(t.pte.raw() & !PTE_RPN_MASK));
                self.rec.push(
                    "pte",
                    vec![kv("g", slot), kv("gpa", hex(*gpa)), kv("bits", bits)],
                );
            }
            Step::ReadMem { slot, gpa } => {
                let l1 = self
                    .backing(*slot, *gpa)
                    .ok_or_else(|| format!("{gpa:#x} is not RAM"))?;
                let mut b = [0u8; 8];
                self.mem.read(L1RealAddr(l1), &mut b).map_err(err("read"))?;
                self.rec.push(
                    "mem",
                    vec![
                        kv("g", slot),
                        kv("gpa", hex(*gpa)),
                        kv("value", hex(u64::from_be_bytes(b))),
                    ],
                );
            }
        }
        Ok(())
    }

    pub(super) fn raw(&self, op: u64, first: [u64; 3]) -> HcallOutput {
        let mut a = [0u64; HCALL_ARGS];
        a[..3].copy_from_slice(&first);
        // SAFETY: no caller of `raw` passes an address (flags, ids and capabilities only; a RUN writes the run buffers registered through the typed API, which checked them).
        unsafe { self.hv.hcall_unchecked() }.hcall(op, a)
    }
}
