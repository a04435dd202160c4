//! Guest state buffers the driver builds itself: the run buffers, `H_GUEST_GET_STATE`.

use super::record::{be_hex, be_u64, hex, kv};
use super::{err, Driver, L1Memory, L2Backend, StepResult, VcpuSt, PAGE};
use crate::layout::{Layout, NiaKind};
use crate::scenario::{GuestRef, Scope};
use alloc::vec;
use alloc::vec::Vec;
use papr_gsb::{BufferDescriptor, GsbBuilder, GuestStateId, Value};
use papr_hcall::{GuestId, Hcall, L1RealAddr, Target, VcpuId};
use papr_vcpu_state::VcpuState;

impl<'a, H: Hcall, M: L1Memory, B: L2Backend> Driver<'a, H, M, B> {
    pub(super) fn set_run_buffers(&mut self, slot: u8, vcpu: u64, size: u64) -> StepResult {
        let id = self.guest(slot)?.id;
        let input = self.alloc(PAGE, PAGE)?;
        let output = self.alloc(PAGE, PAGE)?;
        self.get_state(
            Scope::Guest,
            GuestRef::Slot(slot),
            vcpu,
            &[GuestStateId::RUN_OUTPUT_MIN_SIZE.0],
        )?;
        let mut buf = [0u8; 64];
        let mut b = GsbBuilder::new(&mut buf).map_err(err("gsb"))?;
        for (gsid, address) in [
            (GuestStateId::RUN_OUTPUT, output),
            (GuestStateId::RUN_INPUT, input),
        ] {
            b.put(gsid, Value::Buffer(BufferDescriptor { address, size }))
                .map_err(err("gsb"))?;
        }
        let n = b.finish();
        let at = L1RealAddr(self.scratch);
        let target = Target::thread(GuestId(id), VcpuId(vcpu));
        if let Err(e) = self.hv.set_state(target, buf.get(..n).unwrap_or(&[]), at) {
            self.note(&e);
        }
        self.guest(slot)?.vcpus.insert(
            vcpu,
            VcpuSt {
                input,
                output,
                state: VcpuState::new_zeroed(),
                layout: Layout::default(),
            },
        );
        Ok(())
    }

    pub(super) fn get_state(
        &mut self,
        scope: Scope,
        guest: GuestRef,
        vcpu: u64,
        ids: &[u16],
    ) -> StepResult {
        let target = self.target(scope, guest, vcpu)?;
        let mut buf = [0u8; 512];
        let mut b = GsbBuilder::new(&mut buf).map_err(err("gsb"))?;
        for &id in ids {
            b.put_request(GuestStateId(id)).map_err(err("gsb"))?;
        }
        let n = b.finish();
        let at = L1RealAddr(self.scratch);
        let answer = match self
            .hv
            .get_state(target, buf.get_mut(..n).unwrap_or(&mut []), at)
        {
            Ok(a) => a,
            Err(e) => {
                self.note(&e);
                return Ok(());
            }
        };
        let layout = match (scope, guest) {
            (Scope::Thread, GuestRef::Slot(s)) => self
                .guests
                .get(&s)
                .and_then(|g| g.vcpus.get(&vcpu))
                .map(|v| &v.layout),
            _ => None,
        };
        let mut events = Vec::new();
        for e in answer.iter() {
            let value = match layout {
                // Instruction addresses differ between L0s: traced by action.
                Some(l) if e.id == GuestStateId::NIA => {
                    l.symbol(be_u64(e.value_bytes()), NiaKind::Resume)
                }
                _ => be_hex(e.value_bytes()),
            };
            events.push(vec![kv("id", hex(u64::from(e.id.0))), kv("value", value)]);
        }
        for f in events {
            self.rec.push("state", f);
        }
        Ok(())
    }
}
