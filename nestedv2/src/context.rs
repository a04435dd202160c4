//! `VcpuContext`: what an [`ExitHandler`](crate::ExitHandler) reaches while it handles an
//! exit — the vCPU that exited and, through it, its guest.
//!
//! A platform (the L2's hcalls, RTAS, console, interrupt controller) needs more than the
//! exit: `H_SET_MODE` changes LPCR, `H_REGISTER_PROC_TBL` sets the guest's process table,
//! `H_CEDE` reads the decrementer expiry and MSR, RTAS reads and writes its argument block in
//! L2 memory. This trait is that reach, object-safe so a handler stays one concrete type
//! (and mockable: `MockVcpuContext`, feature `mock`).

use crate::error::Error;
use papr_gsb::{GsidSet, GuestStateId};
use papr_hcall::VcpuId;
use papr_mmu_radix::GuestRealAddr;

/// The vCPU (and its guest) as an exit handler sees it. Implemented by
/// [`Vcpu`](crate::Vcpu).
///
/// Register writes ride in the next run input (no hcall); a read of a register the exit
/// did not bring costs one `H_GUEST_GET_STATE` (batch them with [`load`](Self::load)).
///
/// ```
/// use papr_nestedv2::{GuestRealAddr, MockVcpuContext, VcpuContext};
/// let mut v = MockVcpuContext::new();
/// v.expect_lpcr().return_const(0u64);
/// v.expect_set_lpcr().withf(|&l| l == 0x0200_0000).return_const(());
/// // An H_SET_MODE(LE) handler:
/// let ctx: &mut dyn VcpuContext = &mut v;
/// let l = ctx.lpcr();
/// ctx.set_lpcr(l | 0x0200_0000);
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait VcpuContext {
    /// The vCPU's id within its guest.
    fn vcpu_id(&self) -> VcpuId;

    /// The L1 timebase now (the host's [`Clock`](crate::Clock)).
    fn now(&self) -> u64;

    /// The value of `id`: from the cache, or one GET of its reload group.
    ///
    /// # Errors
    /// [`Error::State`] (not a cached id, or the GET failed).
    fn reg(&mut self, id: GuestStateId) -> Result<u128, Error>;

    /// Makes every id of `ids` valid with at most one `H_GUEST_GET_STATE`.
    ///
    /// # Errors
    /// [`Error::State`].
    fn load(&mut self, ids: GsidSet) -> Result<(), Error>;

    /// Sets a register; it goes out with the next run (thread-wide ids in the run input,
    /// guest-wide ones in one SET before it).
    ///
    /// # Errors
    /// [`Error::State`]: read-only, not cached or too wide for the id.
    fn set_reg(&mut self, id: GuestStateId, value: u128) -> Result<(), Error>;

    /// The LPCR the L2 runs with.
    fn lpcr(&self) -> u64;

    /// Sets the LPCR (DPFD, ILE, AIL, LD; MER stays managed by
    /// [`set_external_pending`](Self::set_external_pending)).
    fn set_lpcr(&mut self, value: u64);

    /// The L2's decrementer expiry (absolute L1 timebase), with the L0's known quirks
    /// corrected (see [`Quirks::dec_expiry_sign`](crate::Quirks::dec_expiry_sign)).
    ///
    /// # Errors
    /// [`Error::State`] when it must be fetched and cannot be.
    fn dec_expiry(&mut self) -> Result<u64, Error>;

    /// Registers the guest's process table (guest-wide PROCESS_TABLE, one SET).
    ///
    /// # Errors
    /// As [`Guest::set_process_table`](crate::Guest::set_process_table).
    fn set_process_table(&mut self, base: GuestRealAddr, size: u64) -> Result<(), Error>;

    /// Reads L2 RAM at `gpa` (the RAM regions the VMM gave the guest; the access may span
    /// pages but not leave one region).
    ///
    /// # Errors
    /// [`Error::NotRam`] when `[gpa, gpa + len)` is not inside one RAM region;
    /// [`Error::Memory`].
    fn read_guest(&mut self, gpa: GuestRealAddr, buf: &mut [u8]) -> Result<(), Error>;

    /// Writes L2 RAM at `gpa` (same rules as [`read_guest`](Self::read_guest)).
    ///
    /// # Errors
    /// [`Error::NotRam`], [`Error::Memory`].
    fn write_guest(&mut self, gpa: GuestRealAddr, data: &[u8]) -> Result<(), Error>;

    /// Whether `[gpa, gpa + len)` lies inside one RAM region of the guest.
    fn is_ram(&self, gpa: GuestRealAddr, len: u64) -> bool;

    /// Delivers a program interrupt with SRR1 cause `flags` (see [`program`](crate::program)).
    ///
    /// # Errors
    /// [`Error::State`] when NIA/MSR cannot be fetched.
    fn inject_program(&mut self, flags: u64) -> Result<(), Error>;

    /// Requests (or withdraws) an external interrupt (LPCR\[MER\]).
    fn set_external_pending(&mut self, pending: bool);
}

impl<P: crate::host::Backend, A: papr_mmu_radix::TableAlloc> VcpuContext
    for crate::vcpu::Vcpu<'_, '_, P, A>
{
    fn vcpu_id(&self) -> VcpuId {
        self.id()
    }

    fn now(&self) -> u64 {
        use crate::clock::Clock;
        self.guest().host().clock().now()
    }

    fn reg(&mut self, id: GuestStateId) -> Result<u128, Error> {
        crate::vcpu::Vcpu::reg(self, id)
    }

    fn load(&mut self, ids: GsidSet) -> Result<(), Error> {
        crate::vcpu::Vcpu::load(self, ids)
    }

    fn set_reg(&mut self, id: GuestStateId, value: u128) -> Result<(), Error> {
        if id == GuestStateId::LPCR {
            // The L1 is LPCR's source of truth: keep the vCPU's copy in step.
            crate::vcpu::Vcpu::set_lpcr(self, value as u64);
            return Ok(());
        }
        self.state_mut().set(id, value)?;
        Ok(())
    }

    fn lpcr(&self) -> u64 {
        crate::vcpu::Vcpu::lpcr(self)
    }

    fn set_lpcr(&mut self, value: u64) {
        crate::vcpu::Vcpu::set_lpcr(self, value);
    }

    fn dec_expiry(&mut self) -> Result<u64, Error> {
        crate::vcpu::Vcpu::dec_expiry(self)
    }

    fn set_process_table(&mut self, base: GuestRealAddr, size: u64) -> Result<(), Error> {
        self.guest().set_process_table(base, size)
    }

    fn read_guest(&mut self, gpa: GuestRealAddr, buf: &mut [u8]) -> Result<(), Error> {
        self.guest().read_ram(gpa, buf)
    }

    fn write_guest(&mut self, gpa: GuestRealAddr, data: &[u8]) -> Result<(), Error> {
        self.guest().write_ram(gpa, data)
    }

    fn is_ram(&self, gpa: GuestRealAddr, len: u64) -> bool {
        self.guest().ram_l1(gpa, len).is_ok()
    }

    fn inject_program(&mut self, flags: u64) -> Result<(), Error> {
        crate::vcpu::Vcpu::inject_program(self, flags)
    }

    fn set_external_pending(&mut self, pending: bool) {
        crate::vcpu::Vcpu::set_external_pending(self, pending);
    }
}
