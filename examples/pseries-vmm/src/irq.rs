//! External interrupts for the L2, delivered by the VMM.
//!
//! The platform asks for an external interrupt the architected way: LPCR\[MER\] in the next
//! run input while the vCPU's XICS presentation controller presents one, for the L0 to raise
//! once the L2 sets MSR\[EE\]. Under QEMU 10.0's nested L0 the L2 never takes it: with two
//! vCPUs, Linux's `H_IPI`s were never followed by an `H_XIRR`, and an idle vCPU whose ICP
//! presented an IPI spun through ~10⁶ `H_CEDE`s (each returns at once while an interrupt is
//! presented) instead of taking it. So, as KVM does when the L2 is enterable, the VMM
//! delivers the interrupt itself before a run when MSR\[EE\] = 1 (nestedv2's
//! `Vcpu::inject_external`), and with EE = 0 keeps the run short so that it looks again soon.

use crate::l2::L2Vcpu;

/// What [`deliver_external`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The L2 takes the interrupt when it runs next.
    Delivered,
    /// MSR\[EE\] = 0: not now.
    Masked,
}

/// Delivers an external interrupt (0x500) to `vcpu` if its MSR\[EE\] is set
/// (`Vcpu::inject_external`: SRR0/SRR1, the vector with LPCR\[AIL\] and \[ILE\] honoured; at most
/// one GET of NIA and MSR).
///
/// # Errors
/// The vCPU's, when a register cannot be read or set.
pub fn deliver_external(vcpu: &mut L2Vcpu<'_, '_>) -> Result<Delivery, papr_nestedv2::Error> {
    Ok(if vcpu.inject_external()? {
        Delivery::Delivered
    } else {
        Delivery::Masked
    })
}
