//! The XICS interrupt presentation controller (ICP) of each vCPU, through hcalls
//! (`hw/intc/xics.c`, `hw/intc/xics_spapr.c`). There is no interrupt source controller
//! (ICS): the vty is polled, so the only interrupt an ICP presents is the IPI (XISR 2).
//! An asserted ICP becomes LPCR\[MER\] on its vCPU (the L0 raises the external interrupt
//! when the L2 enables MSR\[EE\]).

use super::{ok, rc, Platform};
use crate::env::Environment;
use crate::hcall::{H_CPPR, H_EOI, H_IPI, H_IPOLL, H_XIRR, H_XIRR_X};
use papr_hcall::ReturnCode;
use papr_nestedv2::{HcallReturn, VcpuContext};

const CPPR_MASK: u32 = 0xFF00_0000;
const XISR_MASK: u32 = 0x00FF_FFFF;
/// The XISR of an inter-processor interrupt.
pub(crate) const XICS_IPI: u32 = 2;

/// One ICP: XIRR (CPPR << 24 | XISR), the pending priority, MFRR, and its output line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Icp {
    xirr: u32,
    pending_priority: u8,
    mfrr: u8,
    output: bool,
}

impl Default for Icp {
    /// As `icp_reset`: CPPR 0 (everything masked), nothing pending, MFRR 0xFF.
    fn default() -> Self {
        Self {
            xirr: 0,
            pending_priority: 0xFF,
            mfrr: 0xFF,
            output: false,
        }
    }
}

impl Icp {
    fn cppr(&self) -> u8 {
        (self.xirr >> 24) as u8
    }

    fn xisr(&self) -> u32 {
        self.xirr & XISR_MASK
    }

    /// Whether the ICP asserts its interrupt output.
    pub(crate) fn raised(&self) -> bool {
        self.output
    }

    fn check_ipi(&mut self) {
        if self.xisr() != 0 && self.pending_priority <= self.mfrr {
            return;
        }
        self.xirr = (self.xirr & !XISR_MASK) | XICS_IPI;
        self.pending_priority = self.mfrr;
        self.output = true;
    }

    fn resend(&mut self) {
        if self.mfrr < self.cppr() {
            self.check_ipi();
        }
    }

    pub(crate) fn set_cppr(&mut self, cppr: u8) {
        let old = self.cppr();
        self.xirr = (self.xirr & !CPPR_MASK) | (u32::from(cppr) << 24);
        if cppr < old {
            if self.xisr() != 0 && cppr <= self.pending_priority {
                self.xirr &= !XISR_MASK;
                self.pending_priority = 0xFF;
                self.output = false;
            }
        } else if self.xisr() == 0 {
            self.resend();
        }
    }

    pub(crate) fn set_mfrr(&mut self, mfrr: u8) {
        self.mfrr = mfrr;
        if mfrr < self.cppr() {
            self.check_ipi();
        }
    }

    pub(crate) fn accept(&mut self) -> u32 {
        let xirr = self.xirr;
        self.output = false;
        self.xirr = u32::from(self.pending_priority) << 24;
        self.pending_priority = 0xFF;
        xirr
    }

    pub(crate) fn eoi(&mut self, xirr: u32) {
        self.xirr = (self.xirr & !CPPR_MASK) | (xirr & CPPR_MASK);
        if self.xisr() == 0 {
            self.resend();
        }
    }

    pub(crate) fn poll(&self) -> (u32, u8) {
        (self.xirr, self.mfrr)
    }
}

impl<E: Environment> Platform<E> {
    /// `H_CPPR(cppr)`, `H_XIRR`, `H_XIRR_X`, `H_EOI(xirr)`, `H_IPI(server, mfrr)`,
    /// `H_IPOLL(server)`. A server is a vCPU id below `vcpus`; any other gets H_PARAMETER.
    pub(super) fn xics(
        &mut self,
        nr: u64,
        a0: u64,
        a1: u64,
        vcpu: &dyn VcpuContext,
    ) -> HcallReturn {
        let me = vcpu.vcpu_id().0;
        let server_ok = |s: u64| s < u64::from(self.cfg.vcpus);
        match nr {
            H_CPPR => {
                self.cpu(me).icp.set_cppr(a0 as u8);
                ok()
            }
            H_XIRR => ok().with(u64::from(self.cpu(me).icp.accept())),
            H_XIRR_X => {
                let xirr = self.cpu(me).icp.accept();
                ok().with(u64::from(xirr)).with(vcpu.now())
            }
            H_EOI => {
                self.cpu(me).icp.eoi(a0 as u32);
                ok()
            }
            H_IPI if server_ok(a0) => {
                let icp = &mut self.cpu(a0).icp;
                let was = icp.raised();
                icp.set_mfrr(a1 as u8);
                if a0 != me && !was && icp.raised() {
                    self.env.kick(a0);
                }
                ok()
            }
            H_IPOLL if server_ok(a0) => {
                let (xirr, mfrr) = self.cpu(a0).icp.poll();
                ok().with(u64::from(xirr)).with(u64::from(mfrr))
            }
            _ => rc(ReturnCode::Parameter),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reset_state_masks_everything() {
        let mut icp = Icp::default();
        assert_eq!(icp.poll(), (0, 0xFF));
        // An IPI at priority 5 while CPPR = 0: pending in MFRR only.
        icp.set_mfrr(5);
        assert!(!icp.raised());
        // Linux's xics_setup_cpu: CPPR 0xFF lets it through.
        icp.set_cppr(0xFF);
        assert!(icp.raised());
        assert_eq!(icp.poll(), (0xFF00_0002, 5));
    }

    #[test]
    fn ipi_accept_eoi_cycle() {
        let mut icp = Icp::default();
        icp.set_cppr(0xFF);
        assert!(!icp.raised());
        icp.set_mfrr(0);
        assert!(icp.raised());
        // Accept: XIRR returned, CPPR becomes the pending priority.
        assert_eq!(icp.accept(), 0xFF00_0002);
        assert!(!icp.raised());
        assert_eq!(icp.poll().0, 0);
        // The handler clears MFRR then EOIs with the old CPPR.
        icp.set_mfrr(0xFF);
        icp.eoi(0xFF00_0002);
        assert_eq!(icp.poll(), (0xFF00_0000, 0xFF));
        assert!(!icp.raised());
        // EOI while MFRR is still more favoured than CPPR re-presents the IPI.
        icp.set_mfrr(3);
        assert!(icp.raised());
        let x = icp.accept();
        icp.eoi(x);
        assert!(icp.raised(), "MFRR 3 < CPPR 0xFF: presented again");
    }

    #[test]
    fn cppr_raise_rejects_pending() {
        let mut icp = Icp::default();
        icp.set_cppr(0xFF);
        icp.set_mfrr(0x10);
        assert!(icp.raised());
        // More favoured CPPR than the pending priority: the IPI is withdrawn.
        icp.set_cppr(0x05);
        assert!(!icp.raised());
        assert_eq!(icp.poll().0, 0x0500_0000);
        // Lowering the priority again re-presents it from MFRR.
        icp.set_cppr(0xFF);
        assert!(icp.raised());
        // A less favoured MFRR does not replace a more favoured pending IPI.
        icp.set_mfrr(0x20);
        assert_eq!(icp.poll(), (0xFF00_0002, 0x20));
    }
}
