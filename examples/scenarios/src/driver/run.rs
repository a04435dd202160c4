//! `H_GUEST_RUN_VCPU`: the run input (pending registers, HDEC expiry), the run, the exit.

use super::record::kv;
use super::{err, Driver, L2Backend, StepResult};
use crate::scenario::{Handle, Hdec};
use alloc::vec;
use papr_gsb::{GsbBuilder, GuestStateId};
use papr_hcall::{GuestId, Hcall, L1RealAddr, RealMemory, VcpuId};

impl<'a, H: Hcall, M: RealMemory, B: L2Backend> Driver<'a, H, M, B> {
    pub(super) fn run_vcpu(
        &mut self,
        slot: u8,
        vcpu: u64,
        hdec: Hdec,
        handle: Handle,
    ) -> StepResult {
        let gid = self.guest(slot)?.id;
        let now = self.backend.timebase();
        let expiry = match hdec {
            Hdec::Future(t) => now.wrapping_add(t),
            Hdec::Past(t) => now.wrapping_sub(t),
            Hdec::Absolute(v) => v,
        };
        let (input, output, pending) = {
            let v = self.vcpu(slot, vcpu)?;
            (v.input, v.output, v.pending.clone())
        };
        let mut buf = [0u8; 1024];
        let mut b = GsbBuilder::new(&mut buf).map_err(err("gsb"))?;
        for (&id, &value) in &pending {
            b.put_u64(GuestStateId(id), value).map_err(err("gsb"))?;
        }
        b.put_u64(GuestStateId::HDEC_EXPIRY_TB, expiry)
            .map_err(err("gsb"))?;
        let n = b.finish();
        self.mem
            .write(L1RealAddr(input), buf.get(..n).unwrap_or(&[]))
            .map_err(err("run input"))?;
        let trap = match self.hv.run_vcpu(GuestId(gid), VcpuId(vcpu)) {
            Ok(t) => t,
            Err(e) => {
                self.note(&e);
                return Ok(());
            }
        };
        self.vcpu(slot, vcpu)?.pending.clear();
        let mut out = [0u8; 256];
        self.mem
            .read(L1RealAddr(output), &mut out)
            .map_err(err("run output"))?;
        let exit = self.trace_exit(slot, vcpu, trap, &out)?;
        match handle {
            Handle::Nothing => self.rec.push(
                "view",
                vec![kv("g", slot), kv("v", vcpu), kv("act", "none")],
            ),
            Handle::Auto => self.handle(slot, vcpu, trap, exit)?,
        }
        Ok(())
    }
}
