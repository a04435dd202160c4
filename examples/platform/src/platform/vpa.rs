//! `H_REGISTER_VPA` (QEMU's `register_vpa`/`deregister_vpa`, SLB shadow and DTL) and
//! `H_CEDE`, which keeps the VPA's dispatch counter as QEMU does.
//!
//! Unlike QEMU, registering a VPA does not set its shared-processor byte (offset 9): the
//! L2's processors are dedicated, so Linux must not use its shared-processor paths
//! (spec §3.1).

use super::CpuState;
use super::{ok, rc, Platform};
use crate::env::Environment;
use crate::error::Error;
use crate::vcpu::DEC_MAX;
use papr_gsb::{GsidSet, GuestStateId};
use papr_hcall::ReturnCode;
use papr_nestedv2::{msr, Action, GuestRealAddr, HcallReturn, VcpuContext};

/// `H_REGISTER_VPA` sub-functions (r4).
mod flags {
    pub const REGISTER_VPA: u64 = 0x0000_2000_0000_0000;
    pub const REGISTER_DTL: u64 = 0x0000_4000_0000_0000;
    pub const REGISTER_SLBSHADOW: u64 = 0x0000_6000_0000_0000;
    pub const DEREGISTER_VPA: u64 = 0x0000_a000_0000_0000;
    pub const DEREGISTER_DTL: u64 = 0x0000_c000_0000_0000;
    pub const DEREGISTER_SLBSHADOW: u64 = 0x0000_e000_0000_0000;
}

/// Smallest VPA (QEMU `VPA_MIN_SIZE`).
pub const VPA_MIN_SIZE: u64 = 640;
/// Offset of the VPA's size field (be16).
const VPA_SIZE_OFFSET: u64 = 0x4;
/// Offset of the VPA's dispatch counter (be32).
pub const VPA_DISPATCH_COUNTER: u64 = 0x100;
/// The VPA's alignment: the data cache line (128 bytes on POWER).
const VPA_ALIGN: u64 = 128;
/// Smallest SLB shadow buffer.
const SLB_SHADOW_MIN_SIZE: u64 = 8;
/// Smallest dispatch trace log.
const DTL_MIN_SIZE: u64 = 48;

/// The areas one processor registered (GPA, 0 = none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Areas {
    pub vpa: u64,
    pub slb_shadow: u64,
    pub dtl: u64,
}

impl<E: Environment> Platform<E> {
    /// Reads the big-endian size field at `addr + 4` (`width` 2 or 4 bytes), `None` when it
    /// is not in RAM.
    fn area_size(
        &self,
        vcpu: &mut dyn VcpuContext,
        addr: u64,
        width: usize,
    ) -> Result<Option<u64>, Error> {
        let at = addr.wrapping_add(VPA_SIZE_OFFSET);
        if !self.is_ram(vcpu, at, width as u64) {
            return Ok(None);
        }
        let mut b = [0u8; 4];
        let field = b.get_mut(..width).unwrap_or(&mut []);
        vcpu.read_guest(GuestRealAddr(at), field)?;
        Ok(Some(
            field.iter().fold(0u64, |v, &x| (v << 8) | u64::from(x)),
        ))
    }

    /// `H_REGISTER_VPA(flags, procno, addr)`.
    pub(super) fn register_vpa(
        &mut self,
        sub: u64,
        procno: u64,
        addr: u64,
        vcpu: &mut dyn VcpuContext,
    ) -> Result<HcallReturn, Error> {
        use flags::*;
        if procno >= u64::from(self.cfg.vcpus) {
            return Ok(rc(ReturnCode::Parameter));
        }
        let areas = self.cpu(procno).vpa;
        let param = rc(ReturnCode::Parameter);
        let crosses_page = |size: u64| addr / 4096 != addr.saturating_add(size - 1) / 4096;
        let new = match sub {
            REGISTER_VPA | REGISTER_SLBSHADOW | REGISTER_DTL if addr == 0 => {
                return Ok(rc(ReturnCode::Hardware));
            }
            REGISTER_VPA => {
                if !addr.is_multiple_of(VPA_ALIGN) {
                    return Ok(param);
                }
                match self.area_size(vcpu, addr, 2)? {
                    Some(size)
                        if size >= VPA_MIN_SIZE
                            && !crosses_page(size)
                            && self.is_ram(vcpu, addr, size) =>
                    {
                        Areas { vpa: addr, ..areas }
                    }
                    _ => return Ok(param),
                }
            }
            DEREGISTER_VPA => {
                if areas.slb_shadow != 0 || areas.dtl != 0 {
                    return Ok(rc(ReturnCode::Resource));
                }
                Areas { vpa: 0, ..areas }
            }
            REGISTER_SLBSHADOW => match self.area_size(vcpu, addr, 4)? {
                Some(size)
                    if size >= SLB_SHADOW_MIN_SIZE
                        && !crosses_page(size)
                        && self.is_ram(vcpu, addr, size) =>
                {
                    if areas.vpa == 0 {
                        return Ok(rc(ReturnCode::Resource));
                    }
                    Areas {
                        slb_shadow: addr,
                        ..areas
                    }
                }
                _ => return Ok(param),
            },
            DEREGISTER_SLBSHADOW => Areas {
                slb_shadow: 0,
                ..areas
            },
            REGISTER_DTL => match self.area_size(vcpu, addr, 4)? {
                Some(size) if size >= DTL_MIN_SIZE && self.is_ram(vcpu, addr, size) => {
                    if areas.vpa == 0 {
                        return Ok(rc(ReturnCode::Resource));
                    }
                    Areas { dtl: addr, ..areas }
                }
                _ => return Ok(param),
            },
            DEREGISTER_DTL => Areas { dtl: 0, ..areas },
            _ => return Ok(param),
        };
        self.cpu(procno).vpa = new;
        Ok(ok())
    }

    /// Adds `by` to the dispatch counter of `vpa` (big-endian u32 at +0x100).
    pub(super) fn bump_dispatch(
        vcpu: &mut dyn VcpuContext,
        vpa: u64,
        by: u32,
    ) -> Result<(), Error> {
        let at = GuestRealAddr(vpa + VPA_DISPATCH_COUNTER);
        let mut b = [0u8; 4];
        vcpu.read_guest(at, &mut b)?;
        let n = u32::from_be_bytes(b).wrapping_add(by);
        vcpu.write_guest(at, &n.to_be_bytes())?;
        Ok(())
    }

    /// `H_CEDE`: MSR\[EE\] = 1, then, unless the vCPU has work (an `H_PROD` not yet
    /// consumed, console input kept for it, an interrupt its ICP presents, a decrementer
    /// already expired), wait for the decrementer expiry or one of those:
    /// * alone ([`Platform::new`]): idle here through [`Environment::idle_until`] until the
    ///   decrementer expiry or console input;
    /// * on a [`Board`](crate::Board): the vCPU becomes
    ///   [`CpuState::Ceded`](super::CpuState::Ceded), r3 = H_SUCCESS, and the handler
    ///   answers [`Action::Stop`] so the VMM runs another vCPU or waits
    ///   ([`Board::idle`](crate::Board::idle)).
    ///
    /// Around the wait the VPA's dispatch counter goes odd then even again (+2), as QEMU's
    /// exec exit/enter does.
    pub(super) fn cede(&mut self, vcpu: &mut dyn VcpuContext) -> Result<Action, Error> {
        let id = vcpu.vcpu_id().0;
        // One GET for both (none under the QEMU quirk, which loads them together).
        vcpu.load(
            GsidSet::EMPTY
                .with(GuestStateId::DEC_EXPIRY_TB)
                .with(GuestStateId::MSR),
        )?;
        let expiry = vcpu.dec_expiry()?;
        let m = vcpu.reg(GuestStateId::MSR)? as u64;
        vcpu.set_reg(GuestStateId::MSR, u128::from(m | msr::EE))?;
        let now = vcpu.now();
        let future = dec_ahead(expiry, now);
        let cpu = self.cpu(id);
        if cpu.prod {
            cpu.prod = false;
            return Ok(Action::HcallReturn(ok()));
        }
        let cpu = *cpu;
        if !future || !self.input.is_empty() || cpu.icp.raised() {
            return Ok(Action::HcallReturn(ok()));
        }
        let vpa = cpu.vpa.vpa;
        if vpa != 0 {
            Self::bump_dispatch(vcpu, vpa, 1)?;
        }
        if self.yields {
            self.cpu(id).state = CpuState::Ceded {
                until: Some(expiry),
            };
            return self.yield_cpu(vcpu);
        }
        self.stats.idles += 1;
        let wake = self.env.idle_until(expiry);
        self.take_wake(wake);
        if vpa != 0 {
            Self::bump_dispatch(vcpu, vpa, 1)?;
        }
        Ok(Action::HcallReturn(ok()))
    }
}

/// The most a decrementer expiry may lie ahead and still be one: [`DEC_MAX`] ticks (a
/// 32-bit decrementer; this platform never sets LPCR\[LD\]) plus 1/256 of that for the
/// error of the L0's and the L1's readings of the timebase.
const DEC_AHEAD_MAX: u64 = DEC_MAX + (DEC_MAX >> 8);

/// Whether the decrementer expiry `expiry` lies ahead of `now`. An expiry more than
/// [`DEC_AHEAD_MAX`] ticks ahead is a negative (expired) 32-bit decrementer read as
/// unsigned — QEMU's `cpu_ppc_load_decr` returns `(uint32_t)decr` with LPCR\[LD\] = 0, so
/// a DEC of −d comes back as 2³² − d: the vCPU has a decrementer interrupt pending and
/// must not wait (taken as a deadline it slept ~8 s).
///
/// ```text
/// dec_ahead(now + 1000, now)          -> true
/// dec_ahead(now, now)                 -> false (expired now)
/// dec_ahead(now + (1 << 32) - 5, now) -> false (DEC = -5)
/// ```
pub(super) fn dec_ahead(expiry: u64, now: u64) -> bool {
    let ahead = expiry.wrapping_sub(now) as i64;
    ahead > 0 && ahead as u64 <= DEC_AHEAD_MAX
}
