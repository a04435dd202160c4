//! `H_GUEST_RUN_VCPU` as the L1 does it: the run input flushed from the vCPU's
//! `VcpuState`, the run, the output applied back to it and the exit decoded by
//! `papr-nestedv2` ([`Exit::decode`]).

use super::record::kv;
use super::{err, Driver, L1Memory, L2Backend, StepResult, PAGE};
use crate::scenario::{Handle, Hdec};
use alloc::vec;
use papr_hcall::{GuestId, Hcall, L1RealAddr, VcpuId};
use papr_mmu_radix::GuestRealAddr;
use papr_nestedv2::Exit;

impl<'a, H: Hcall, M: L1Memory, B: L2Backend> Driver<'a, H, M, B> {
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
        let mut buf = [0u8; 1024];
        let (input, output, n) = {
            let v = self.vcpu(slot, vcpu)?;
            v.state.set_hdec_expiry_tb(expiry);
            let n = v.state.flush(&mut buf).map_err(err("run input"))?;
            (v.input, v.output, n)
        };
        self.mem
            .write(L1RealAddr(input), buf.get(..n).unwrap_or(&[]))
            .map_err(err("run input"))?;
        let trap = match self.hv.run_vcpu(GuestId(gid), VcpuId(vcpu)) {
            Ok(t) => t,
            Err(e) => {
                self.vcpu(slot, vcpu)?.state.run_failed();
                self.note(&e);
                return Ok(());
            }
        };
        let mut out = [0u8; PAGE as usize];
        self.mem
            .read(L1RealAddr(output), &mut out)
            .map_err(err("run output"))?;
        // What the L0 wrote, traced raw: the observation the two L0s are compared on.
        self.trace_exit(slot, vcpu, trap, &out)?;
        let exit = self.decode_exit(slot, vcpu, trap, &out)?;
        match (handle, exit) {
            (Handle::Nothing, _) => self.rec.push(
                "view",
                vec![kv("g", slot), kv("v", vcpu), kv("act", "none")],
            ),
            (Handle::Auto, Ok(exit)) => self.handle(slot, vcpu, exit)?,
            (Handle::Auto, Err(why)) => self.rec.push(
                "view",
                vec![
                    kv("g", slot),
                    kv("v", vcpu),
                    kv("act", "none"),
                    kv("why", why),
                ],
            ),
        }
        Ok(())
    }

    /// The run output into the vCPU's cache ([`papr_vcpu_state::VcpuState::apply_exit`]),
    /// then [`Exit::decode`] with the guest's RAM telling page faults from MMIO. `Err` (the
    /// inner one) names why the exit could not be decoded, for the `view` event.
    fn decode_exit(
        &mut self,
        slot: u8,
        vcpu: u64,
        trap: u64,
        out: &[u8],
    ) -> Result<Result<Exit, alloc::string::String>, alloc::string::String> {
        let ram = self.guest(slot)?.ram.clone();
        let is_ram =
            |gpa: GuestRealAddr| ram.iter().any(|&(g, _, len)| gpa.0 >= g && gpa.0 - g < len);
        let v = self.vcpu(slot, vcpu)?;
        if let Err(e) = v.state.apply_exit(out) {
            let r = alloc::format!("{e:?}");
            return Ok(Err(alloc::format!("output:{}", super::first_word(&r))));
        }
        Ok(Exit::decode(trap, &v.state, is_ram).map_err(|e| {
            let r = alloc::format!("{e:?}");
            super::first_word(&r).into()
        }))
    }
}
