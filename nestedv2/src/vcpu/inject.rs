//! Interrupt injection: LPCR\[MER\] for externals, and the architected delivery of
//! program, decrementer and external interrupts.

use super::{lpcr, msr, vector, Pending, Vcpu};
use crate::error::Error;
use crate::host::Backend;
use papr_gsb::{GsidSet, GuestStateId};
use papr_mmu_radix::TableAlloc;

/// MSR bits an interrupt copies into SRR1 (the rest of SRR1 holds interrupt-specific
/// flags): Linux's `~0x783f0000`.
const SRR1_MSR_BITS: u64 = !0x783f_0000;

impl<P: Backend, A: TableAlloc> Vcpu<'_, '_, P, A> {
    /// Requests (or withdraws) an external interrupt for the L2, as Linux does under
    /// Nested APIv2: LPCR\[MER\] = 1 in every run input while one is pending; the L0 raises it
    /// when the L2 enables MSR\[EE\]. Free: LPCR rides in the next run input only when MER
    /// changes.
    pub fn set_external_pending(&mut self, pending: bool) {
        let new = if pending {
            self.lpcr | lpcr::MER
        } else {
            self.lpcr & !lpcr::MER
        };
        if new != self.lpcr {
            self.lpcr = new;
            self.state.set_lpcr(new);
        }
    }

    /// Whether an external interrupt is requested (LPCR\[MER\]).
    pub fn external_pending(&self) -> bool {
        self.lpcr & lpcr::MER != 0
    }

    /// Delivers a program interrupt with SRR1 cause `flags` ([`program`](super::program)).
    ///
    /// # Errors
    /// [`Error::State`] when NIA/MSR cannot be fetched.
    pub fn inject_program(&mut self, flags: u64) -> Result<(), Error> {
        self.deliver(vector::PROGRAM, flags)
    }

    /// Delivers a decrementer interrupt if the L2 has MSR\[EE\] = 1 (returns whether it did;
    /// if not, try again after a later exit).
    ///
    /// # Errors
    /// [`Error::State`] when NIA/MSR cannot be fetched.
    pub fn inject_decrementer(&mut self) -> Result<bool, Error> {
        self.load_nia_msr()?;
        let m = self.state.cached(GuestStateId::MSR).unwrap_or(0) as u64;
        if m & msr::EE == 0 {
            return Ok(false);
        }
        self.deliver(vector::DECREMENTER, 0)?;
        Ok(true)
    }

    /// Delivers an external interrupt (0x500) now if the L2 has MSR\[EE\] = 1 (returns
    /// whether it did; if not, try again after a later exit), the way KVM does when the
    /// vCPU is enterable. Use it where LPCR\[MER\] ([`set_external_pending`](Self::set_external_pending))
    /// does not work: QEMU 10.0's nested L0 does not raise an external interrupt that an
    /// L1 requests with MER (measured with Linux as the L2: its IPIs were never taken).
    /// At most one GET (NIA and MSR together).
    ///
    /// # Errors
    /// [`Error::State`] when NIA/MSR cannot be fetched.
    pub fn inject_external(&mut self) -> Result<bool, Error> {
        self.load_nia_msr()?;
        let m = self.state.cached(GuestStateId::MSR).unwrap_or(0) as u64;
        if m & msr::EE == 0 {
            return Ok(false);
        }
        self.deliver(vector::EXTERNAL, 0)?;
        Ok(true)
    }

    /// The architected interrupt: SRR0 = NIA, SRR1 = (MSR & SRR1_MSR_BITS) | flags,
    /// NIA = vector, MSR = SF | ME (| LE with LPCR\[ILE\]); with LPCR\[AIL\] = 3 and relocation
    /// on, the vector moves to 0xC000_0000_0000_4000 + vector and IR|DR stay on. At most
    /// one GET (NIA and MSR together) if they are not valid.
    fn deliver(&mut self, vec: u64, flags: u64) -> Result<(), Error> {
        self.load_nia_msr()?;
        let nia = self.state.cached(GuestStateId::NIA).unwrap_or(0) as u64;
        let old = self.state.cached(GuestStateId::MSR).unwrap_or(0) as u64;
        let mut new = msr::SF | msr::ME;
        if self.lpcr & lpcr::ILE != 0 {
            new |= msr::LE;
        }
        let mut target = vec;
        if self.lpcr & lpcr::AIL == lpcr::AIL_3 && old & (msr::IR | msr::DR) == msr::IR | msr::DR {
            new |= msr::IR | msr::DR;
            target = 0xC000_0000_0000_4000 | vec;
        }
        self.state.set_srr0(nia);
        self.state.set_srr1((old & SRR1_MSR_BITS) | flags);
        self.state.set_nia(target);
        self.state.set_msr(new);
        self.pending = Pending::None;
        Ok(())
    }

    /// Makes NIA and MSR valid: at most one GET of both.
    fn load_nia_msr(&mut self) -> Result<(), Error> {
        self.load(
            GsidSet::EMPTY
                .with(GuestStateId::NIA)
                .with(GuestStateId::MSR),
        )
    }
}
