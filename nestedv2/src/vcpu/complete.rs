//! Completions: what the VMM gives back after an hcall or MMIO exit.

use super::{Pending, Vcpu};
use crate::error::Error;
use crate::handler::HcallReturn;
use crate::host::Backend;
use papr_gsb::GuestStateId;
use papr_mmu_radix::TableAlloc;

impl<P: Backend, A: TableAlloc> Vcpu<'_, '_, P, A> {
    /// Completes an [`Exit::Hcall`](crate::Exit::Hcall): writes r3, r4, … (rides in the next run input). NIA is
    /// already past the `sc 1`.
    pub fn complete_hcall(&mut self, ret: HcallReturn) {
        for (n, &v) in (3u8..).zip(ret.registers()) {
            let _ = self.state.set_gpr(n, v);
        }
        self.pending = Pending::None;
    }

    /// Completes an [`Exit::Mmio`](crate::Exit::Mmio) with a decoded access. For a load,
    /// `data` is what the device returned: exactly the access's `size` bytes, in storage
    /// order (first byte = the byte at `gpa`); the target register gets them in the L2's
    /// byte order, sign-extended for the algebraic forms. For a store, pass `&[]` (the
    /// store's bytes were in the exit). Update forms set RA to the effective address; NIA
    /// steps past the instruction (4 or 8 bytes). No hcall: everything rides in the next
    /// run input.
    ///
    /// # Errors
    /// [`Error::NothingToComplete`] when the last exit was not an MMIO exit with a decoded
    /// instruction (use [`Vcpu::skip_instruction`] or inject instead);
    /// [`Error::Mmio`](crate::Error::Mmio) with
    /// [`MmioError::DataLength`](crate::mmio::MmioError::DataLength) when a load gets
    /// another number of bytes than it reads, or a store gets data (the exit stays
    /// pending: complete it again with the right data).
    pub fn complete_mmio(&mut self, data: &[u8]) -> Result<(), Error> {
        // By reference: the op is not copied out (the state is another field).
        let Pending::Mmio(ref op) = self.pending else {
            return Err(Error::NothingToComplete(
                "the last exit was not an MMIO exit with a decoded instruction",
            ));
        };
        if op.is_write() {
            if !data.is_empty() {
                return Err(crate::mmio::MmioError::DataLength {
                    needed: 0,
                    got: data.len(),
                }
                .into());
            }
            op.complete_store(&mut self.state)?;
        } else {
            op.complete_load(&mut self.state, data)?;
        }
        self.pending = Pending::None;
        Ok(())
    }

    /// Steps NIA past the current instruction (4 bytes), e.g. after emulating an HEAI.
    /// Free when NIA came with the exit, else one GET.
    ///
    /// # Errors
    /// [`Error::State`].
    pub fn skip_instruction(&mut self) -> Result<(), Error> {
        let nia = self.reg(GuestStateId::NIA)? as u64;
        self.state.set_nia(nia.wrapping_add(4));
        self.pending = Pending::None;
        Ok(())
    }
}
