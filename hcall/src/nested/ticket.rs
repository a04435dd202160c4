//! [`VcpuTicket`]: the registry check of a vCPU made once, then one atomic load per call.

use super::*;

/// Proof that a vCPU was in the registry of a [`NestedHv`] ([`NestedHv::vcpu_ticket`]):
/// thread-wide calls made with it ([`NestedHv::run_vcpu_ticket`], [`NestedHv::get_regs`])
/// check the registry's delete count instead of looking the vCPU up, and look it up again
/// only when a guest was deleted since the ticket was issued. The same refusals as the
/// calls by id, for less work on every exit.
///
/// ```
/// use papr_hcall::*;
/// let mut h = MockHcall::new();
/// h.expect_hcall().withf(|&op, _| op == opcode::H_GUEST_CREATE).return_const(HcallOutput::ok(1));
/// h.expect_hcall().withf(|&op, _| op == opcode::H_GUEST_CREATE_VCPU).return_const(HcallOutput::ok(0));
/// h.expect_hcall().withf(|&op, _| op == opcode::H_GUEST_DELETE).return_const(HcallOutput::ok(0));
/// let hv = NestedHv::new(h, MockRealMemory::new(), NoDelay);
/// let g = hv.create_guest()?;
/// hv.create_vcpu(g, VcpuId(0))?;
/// let t = hv.vcpu_ticket(g, VcpuId(0))?;
/// assert_eq!((t.guest(), t.vcpu()), (g, VcpuId(0)));
/// assert!(hv.vcpu_ticket(g, VcpuId(1)).is_err()); // never created
/// hv.delete_guest(g)?;
/// // The ticket is looked up again, and the guest is gone: refused, no hcall.
/// assert!(matches!(hv.run_vcpu_ticket(&t), Err(HcallError::Refused { .. })));
/// # Ok::<(), HcallError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VcpuTicket {
    guest: GuestId,
    vcpu: VcpuId,
    deletes: u64,
}

impl VcpuTicket {
    /// The guest.
    pub fn guest(&self) -> GuestId {
        self.guest
    }

    /// The vCPU.
    pub fn vcpu(&self) -> VcpuId {
        self.vcpu
    }
}

impl<H: Hcall, M: RealMemory, D: Delay> NestedHv<H, M, D> {
    /// A [`VcpuTicket`] for vCPU `vcpu` of `guest`, if the registry knows it (under
    /// [`Profile::known_vcpus_only`]; any vCPU otherwise).
    ///
    /// # Errors
    /// [`HcallError::Refused`] (`UnknownGuest`, `NoSuchVcpu`).
    pub fn vcpu_ticket(&self, guest: GuestId, vcpu: VcpuId) -> Result<VcpuTicket, HcallError> {
        let deletes = self.deletes.load(Ordering::Acquire);
        self.check_vcpu("H_GUEST_RUN_VCPU", guest, vcpu)?;
        Ok(VcpuTicket {
            guest,
            vcpu,
            deletes,
        })
    }

    /// Whether `ticket`'s vCPU may be named in `call`: no guest deleted since it was
    /// issued, or the registry still knows it.
    #[inline]
    pub(super) fn check_ticket(
        &self,
        call: &'static str,
        ticket: &VcpuTicket,
    ) -> Result<(), HcallError> {
        // Relaxed is enough: a delete that happens-before this call is seen (coherence), and
        // a changed count only sends the check to the registry, under its lock. (An
        // acquire load costs a fence on POWER, and under QEMU a translation-block end.)
        if ticket.deletes == self.deletes.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.check_ticket_again(call, ticket)
    }

    /// A ticket issued before a guest was deleted: the registry is asked (out of line and
    /// cold, away from the run path's code).
    #[cold]
    #[inline(never)]
    fn check_ticket_again(
        &self,
        call: &'static str,
        ticket: &VcpuTicket,
    ) -> Result<(), HcallError> {
        self.check_vcpu(call, ticket.guest, ticket.vcpu)
    }

    /// [`run_vcpu`](Self::run_vcpu) of `ticket`'s vCPU, checked through the ticket.
    ///
    /// # Errors
    /// As [`run_vcpu`](Self::run_vcpu).
    #[inline]
    pub fn run_vcpu_ticket(&self, ticket: &VcpuTicket) -> Result<u64, HcallError> {
        self.check_ticket("H_GUEST_RUN_VCPU", ticket)?;
        self.run_checked(ticket.guest, ticket.vcpu, RunFlags::NONE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HcallOutput, MockHcall, MockRealMemory, NoDelay};

    fn hv(deletes: usize) -> NestedHv<MockHcall, MockRealMemory, NoDelay> {
        let mut h = MockHcall::new();
        h.expect_hcall()
            .withf(|&op, _| op == opcode::H_GUEST_CREATE)
            .return_const(HcallOutput::ok(1));
        h.expect_hcall()
            .withf(|&op, _| op == opcode::H_GUEST_CREATE_VCPU)
            .return_const(HcallOutput::ok(0));
        h.expect_hcall()
            .withf(|&op, _| op == opcode::H_GUEST_DELETE)
            .times(deletes)
            .return_const(HcallOutput::ok(0));
        h.expect_hcall()
            .withf(|&op, _| op == opcode::H_GUEST_RUN_VCPU)
            .times(1)
            .return_const(HcallOutput::ok(0xC00));
        let relaxed = Profile {
            refuse_delete_all: false,
            ..Profile::QEMU
        };
        NestedHv::new(h, MockRealMemory::new(), NoDelay).with_profile(relaxed)
    }

    #[test]
    fn a_ticket_runs_until_a_delete_and_is_looked_up_after_it() {
        let hv = hv(1);
        let g = hv.create_guest().unwrap();
        hv.create_vcpu(g, VcpuId(0)).unwrap();
        let t = hv.vcpu_ticket(g, VcpuId(0)).unwrap();
        assert_eq!(hv.run_vcpu_ticket(&t), Ok(0xC00));
        hv.delete_all_guests().unwrap();
        assert!(matches!(
            hv.run_vcpu_ticket(&t),
            Err(HcallError::Refused {
                reason: Refusal::UnknownGuest { guest: 1 },
                ..
            })
        ));
    }

    #[test]
    fn a_delete_of_another_guest_only_costs_a_lookup() {
        let hv = hv(1);
        let g = hv.create_guest().unwrap();
        hv.create_vcpu(g, VcpuId(0)).unwrap();
        let t = hv.vcpu_ticket(g, VcpuId(0)).unwrap();
        hv.delete_guest(GuestId(7)).unwrap();
        // Looked up again, still known: runs.
        assert_eq!(hv.run_vcpu_ticket(&t), Ok(0xC00));
    }
}
