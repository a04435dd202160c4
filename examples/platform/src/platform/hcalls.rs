//! The hcall dispatcher and the mode/memory hcalls, answered as QEMU's
//! `hw/ppc/spapr_hcall.c` answers them (return codes, argument checks, registers).

use super::{ok, rc, unsupported_flag, Platform};
use crate::env::Environment;
use crate::error::Error;
use crate::hcall::*;
use papr_gsb::GuestStateId;
use papr_hcall::ReturnCode;
use papr_nestedv2::{lpcr, Action, GuestRealAddr, HcallReturn, VcpuContext};

/// `H_REGISTER_PROC_TBL` flags (QEMU `FLAGS_MASK` …).
mod proc_tbl {
    pub const MASK: u64 = 0x1F;
    pub const MODIFY: u64 = 0x10;
    pub const REGISTER: u64 = 0x08;
    pub const RADIX: u64 = 0x04;
}

/// `H_PAGE_INIT` flags.
mod page_init {
    pub const ZERO: u64 = 1 << (63 - 48);
    pub const COPY: u64 = 1 << (63 - 49);
    pub const ICACHE_INVALIDATE: u64 = 1 << (63 - 40);
    pub const ICACHE_SYNCHRONIZE: u64 = 1 << (63 - 41);
    pub const ALL: u64 = ZERO | COPY | ICACHE_INVALIDATE | ICACHE_SYNCHRONIZE;
}

/// `LPCR[AIL]`'s shift.
const LPCR_AIL_SHIFT: u32 = 23;
/// DAWRX\[HYP\] (`PPC_BIT(61)`): the L2 may not watch hypervisor accesses.
const DAWRX_HYP: u64 = 1 << 2;
/// The 4 KiB page `H_PAGE_INIT` works on.
const PAGE: u64 = 0x1000;

impl<E: Environment> Platform<E> {
    /// Answers hcall `nr`; `H_FUNCTION` for any it does not implement.
    pub(super) fn hcall(
        &mut self,
        nr: u64,
        args: &[u64; 9],
        vcpu: &mut dyn VcpuContext,
    ) -> Result<Action, Error> {
        let [a0, a1, a2, a3, ..] = *args;
        let ret = match nr {
            H_SET_MODE => self.set_mode(a0, a1, a2, a3, vcpu)?,
            H_REGISTER_PROC_TBL => self.register_process_table(a0, a1, a2, a3, vcpu),
            H_PUT_TERM_CHAR => self.put_term_char(a0, a1, a2, a3),
            H_GET_TERM_CHAR => self.get_term_char(a0),
            H_CEDE => return self.cede(vcpu),
            H_PROD => self.prod(a0, vcpu.vcpu_id().0),
            H_CONFER => return self.confer(a0, vcpu),
            H_REGISTER_VPA => self.register_vpa(a0, a1, a2, vcpu)?,
            H_SET_SPRG0 => {
                vcpu.set_reg(GuestStateId::SPRG0, u128::from(a0))?;
                ok()
            }
            H_PAGE_INIT => self.page_init(a0, a1, a2, vcpu)?,
            // POWER9/10 have no DABR (QEMU registers it only up to POWER8) and nestedv2
            // has no element for it: QEMU answers H_HARDWARE before any other check.
            H_SET_DABR | H_SET_XDABR => rc(ReturnCode::Hardware),
            H_CPPR | H_XIRR | H_XIRR_X | H_EOI | H_IPI | H_IPOLL => self.xics(nr, a0, a1, vcpu),
            H_GET_CPU_CHARACTERISTICS => ok()
                .with(self.cfg.cpu_characteristics)
                .with(self.cfg.cpu_behaviour),
            H_RTAS => return self.rtas_call(a0, vcpu),
            _ => rc(ReturnCode::Function),
        };
        Ok(Action::HcallReturn(ret))
    }

    /// `H_SET_MODE(mflags, resource, value1, value2)`.
    fn set_mode(
        &mut self,
        mflags: u64,
        resource: u64,
        value1: u64,
        value2: u64,
        vcpu: &mut dyn VcpuContext,
    ) -> Result<HcallReturn, Error> {
        let id = vcpu.vcpu_id().0;
        Ok(match resource {
            H_SET_MODE_RESOURCE_SET_CIABR => {
                if mflags != 0 {
                    unsupported_flag()
                } else if value2 != 0 {
                    rc(ReturnCode::P4)
                } else if value1 & 3 == 3 {
                    // Privilege "hypervisor".
                    rc(ReturnCode::P3)
                } else {
                    vcpu.set_reg(GuestStateId::CIABR, u128::from(value1))?;
                    ok()
                }
            }
            H_SET_MODE_RESOURCE_SET_DAWR0 | H_SET_MODE_RESOURCE_SET_DAWR1 => {
                if mflags != 0 {
                    unsupported_flag()
                } else if value2 & DAWRX_HYP != 0 {
                    rc(ReturnCode::P4)
                } else {
                    let (dawr, dawrx) = if resource == H_SET_MODE_RESOURCE_SET_DAWR0 {
                        (GuestStateId::DAWR0, GuestStateId::DAWRX0)
                    } else {
                        (GuestStateId::DAWR1, GuestStateId::DAWRX1)
                    };
                    vcpu.set_reg(dawr, u128::from(value1))?;
                    // DAWRX is a 32-bit register.
                    vcpu.set_reg(dawrx, u128::from(value2 as u32))?;
                    ok()
                }
            }
            H_SET_MODE_RESOURCE_ADDR_TRANS_MODE => {
                if value1 != 0 {
                    rc(ReturnCode::P3)
                } else if value2 != 0 {
                    rc(ReturnCode::P4)
                } else if mflags != 0 && mflags != 3 {
                    // AIL 1 is not architected, AIL 2 not offered by pseries.
                    unsupported_flag()
                } else {
                    self.set_lpcr_mode(id, vcpu, mflags << LPCR_AIL_SHIFT, lpcr::AIL);
                    ok()
                }
            }
            H_SET_MODE_RESOURCE_LE => {
                if value1 != 0 {
                    rc(ReturnCode::P3)
                } else if value2 != 0 {
                    rc(ReturnCode::P4)
                } else if mflags > 1 {
                    unsupported_flag()
                } else {
                    let bits = if mflags == 1 { lpcr::ILE } else { 0 };
                    self.set_lpcr_mode(id, vcpu, bits, lpcr::ILE);
                    ok()
                }
            }
            _ => rc(ReturnCode::P2),
        })
    }

    /// `H_REGISTER_PROC_TBL(flags, base, page_size, table_size)`: QEMU's checks, then the
    /// guest-wide PROCESS_TABLE. Only radix tables of 4 KiB or 16 MiB (`table_size` 0 or 12)
    /// reach the L0: QEMU's nested L0 aborts on any other size, so they get H_P4. A
    /// deregistration is recorded but not sent (the L0 takes no size-0 table); hash
    /// tables get H_PARAMETER (an L2 is radix).
    fn register_process_table(
        &mut self,
        flags: u64,
        base: u64,
        page_size: u64,
        table_size: u64,
        vcpu: &mut dyn VcpuContext,
    ) -> HcallReturn {
        use proc_tbl::*;
        if flags & !MASK != 0 {
            return rc(ReturnCode::Parameter);
        }
        if flags & MODIFY == 0 {
            // Keep the current registration: it is radix.
            return if flags & RADIX == 0 {
                rc(ReturnCode::Parameter)
            } else {
                ok()
            };
        }
        if flags & REGISTER == 0 {
            self.proc_table = None;
            return ok();
        }
        if flags & RADIX == 0 {
            return rc(ReturnCode::Parameter);
        }
        if base & 0xFFF != 0 || base >> 60 != 0 {
            return rc(ReturnCode::P2);
        }
        if page_size != 0 {
            return rc(ReturnCode::P3);
        }
        if table_size != 0 && table_size != 12 {
            return rc(ReturnCode::P4);
        }
        let bytes = 1u64 << (table_size + 12);
        match vcpu.set_process_table(GuestRealAddr(base), bytes) {
            Ok(()) => {
                self.proc_table = Some((base, bytes));
                ok()
            }
            Err(_) => rc(ReturnCode::Hardware),
        }
    }

    /// `H_PAGE_INIT(flags, dst, src)`: zero or copy one 4 KiB page of RAM. The i-cache flags
    /// need nothing from the L1 (the L0 sees the writes).
    fn page_init(
        &mut self,
        flags: u64,
        dst: u64,
        src: u64,
        vcpu: &mut dyn VcpuContext,
    ) -> Result<HcallReturn, Error> {
        use page_init::*;
        if flags & !ALL != 0 {
            return Ok(rc(ReturnCode::Parameter));
        }
        if !dst.is_multiple_of(PAGE) || !self.is_ram(vcpu, dst, PAGE) {
            return Ok(rc(ReturnCode::Parameter));
        }
        let mut page = [0u8; PAGE as usize];
        if flags & COPY != 0 {
            if !src.is_multiple_of(PAGE) || !self.is_ram(vcpu, src, PAGE) {
                return Ok(rc(ReturnCode::Parameter));
            }
            vcpu.read_guest(GuestRealAddr(src), &mut page)?;
            vcpu.write_guest(GuestRealAddr(dst), &page)?;
        } else if flags & ZERO != 0 {
            vcpu.write_guest(GuestRealAddr(dst), &page)?;
        }
        Ok(ok())
    }
}
