//! Running a vCPU: `H_GUEST_RUN_VCPU`.

use super::*;

impl<H: Hcall, M: RealMemory, D: Delay> NestedHv<H, M, D> {
    /// `H_GUEST_RUN_VCPU` with no flags: runs the vCPU until it exits; returns the exit
    /// trap (r4: 0x980 HDEC, 0xC00 hcall, 0xE00 HDSI, …). Never retried.
    pub fn run_vcpu(&self, guest: GuestId, vcpu: VcpuId) -> Result<u64, HcallError> {
        self.run_vcpu_with(guest, vcpu, RunFlags::NONE)
    }

    /// `H_GUEST_RUN_VCPU` with the PAPR-defined `flags` (QEMU accepts none:
    /// `H_PARAMETER`). Never retried.
    pub fn run_vcpu_with(
        &self,
        guest: GuestId,
        vcpu: VcpuId,
        flags: RunFlags,
    ) -> Result<u64, HcallError> {
        self.check_vcpu("H_GUEST_RUN_VCPU", guest, vcpu)?;
        self.run_checked(guest, vcpu, flags)
    }

    /// `H_GUEST_RUN_VCPU` of a vCPU already checked against the registry.
    #[inline]
    pub(super) fn run_checked(
        &self,
        guest: GuestId,
        vcpu: VcpuId,
        flags: RunFlags,
    ) -> Result<u64, HcallError> {
        let out = self.call(
            opcode::H_GUEST_RUN_VCPU,
            [flags.bits(), guest.0, vcpu.0, 0, 0, 0, 0, 0, 0],
            Retry::Never,
        )?;
        let trap = out.ret[0];
        // Vectors are small; QEMU puts an error code (H_P2) into r4 with r3 = H_SUCCESS when
        // it cannot map the output buffer.
        if trap > MAX_TRAP {
            return Err(HcallError::BadAnswer {
                call: "H_GUEST_RUN_VCPU",
                what: "exit trap (r4)",
                value: trap,
            });
        }
        Ok(trap)
    }
}
