//! External interrupts for the L2, delivered by the VMM.
//!
//! The platform asks for an external interrupt the architected way: LPCR\[MER\] in the next
//! run input while the vCPU's XICS presentation controller presents one, for the L0 to raise
//! once the L2 sets MSR\[EE\]. Under QEMU 10.0's nested L0 the L2 never takes it: with two
//! vCPUs, Linux's `H_IPI`s were never followed by an `H_XIRR`, and an idle vCPU whose ICP
//! presented an IPI spun through ~10⁶ `H_CEDE`s (each returns at once while an interrupt is
//! presented) instead of taking it. So, as KVM does when the L2 is enterable, the VMM
//! delivers the interrupt itself before a run when MSR\[EE\] = 1 (SRR0/SRR1, vector 0x500,
//! AIL and ILE honoured), and with EE = 0 keeps the run short so that it looks again soon.

use crate::l2::L2Vcpu;
use papr_gsb::{GsidSet, GuestStateId};
use papr_hcall::msr::{DR, EE, IR, LE, ME, SF};
use papr_nestedv2::{lpcr, VcpuContext};

/// The external interrupt vector.
const EXTERNAL: u64 = 0x500;
/// MSR bits an interrupt copies into SRR1 (Linux's `~0x783f0000`).
const SRR1_MSR_BITS: u64 = !0x783f_0000;

/// What [`deliver_external`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The L2 takes the interrupt when it runs next.
    Delivered,
    /// MSR\[EE\] = 0: not now.
    Masked,
}

/// Delivers an external interrupt (0x500) to `vcpu` if its MSR\[EE\] is set: SRR0 = NIA,
/// SRR1 = the MSR's bits, NIA = the vector (0xC000_0000_0000_4500 with LPCR\[AIL\] = 3 and
/// relocation on), MSR = SF | ME (| LE with LPCR\[ILE\]) (| IR | DR with AIL). At most one GET
/// (NIA and MSR, when the last exit did not bring them).
///
/// # Errors
/// The vCPU's, when a register cannot be read or set.
pub fn deliver_external(vcpu: &mut L2Vcpu<'_, '_>) -> Result<Delivery, papr_nestedv2::Error> {
    vcpu.load(
        GsidSet::EMPTY
            .with(GuestStateId::NIA)
            .with(GuestStateId::MSR),
    )?;
    let old = VcpuContext::reg(vcpu, GuestStateId::MSR)? as u64;
    if old & EE == 0 {
        return Ok(Delivery::Masked);
    }
    let nia = VcpuContext::reg(vcpu, GuestStateId::NIA)? as u64;
    let l = VcpuContext::lpcr(vcpu);
    let mut new = SF | ME;
    if l & lpcr::ILE != 0 {
        new |= LE;
    }
    let mut target = EXTERNAL;
    if l & lpcr::AIL == lpcr::AIL_3 && old & (IR | DR) == IR | DR {
        new |= IR | DR;
        target |= 0xC000_0000_0000_4000;
    }
    vcpu.set_reg(GuestStateId::SRR0, u128::from(nia))?;
    vcpu.set_reg(GuestStateId::SRR1, u128::from(old & SRR1_MSR_BITS))?;
    vcpu.set_reg(GuestStateId::NIA, u128::from(target))?;
    vcpu.set_reg(GuestStateId::MSR, u128::from(new))?;
    Ok(Delivery::Delivered)
}
