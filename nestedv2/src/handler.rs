//! The `ExitHandler` seam: what the embedding VMM does with the exits it owns.

use crate::context::VcpuContext;
use crate::exit::Exit;
use crate::mmio::MmioData;

/// Values an emulated hcall returns to the L2: r3 (the status) and up to 9 more (r4–r12).
/// Only the registers given are written (each costs 12 bytes of run input, no hcall).
///
/// ```
/// use papr_nestedv2::HcallReturn;
/// let r = HcallReturn::status(0).with(0x1234);
/// assert_eq!(r.registers(), &[0, 0x1234]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HcallReturn {
    values: [u64; 10],
    len: u8,
}

impl HcallReturn {
    /// Returns only `r3` = `status` (0 = `H_SUCCESS`).
    pub const fn status(status: u64) -> Self {
        let mut values = [0; 10];
        values[0] = status;
        Self { values, len: 1 }
    }

    /// Adds the next output register (r4, then r5, …); ignored past r12.
    #[must_use]
    pub fn with(mut self, value: u64) -> Self {
        if let Some(slot) = self.values.get_mut(usize::from(self.len)) {
            *slot = value;
            self.len += 1;
        }
        self
    }

    /// r3, r4, … as given.
    pub fn registers(&self) -> &[u64] {
        self.values.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// What the L2 should see when the handler is done, and whether to go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Run the L2 again, changing nothing.
    Resume,
    /// Complete an [`Exit::Hcall`]: write r3.. and run again.
    HcallReturn(HcallReturn),
    /// Complete an [`Exit::Mmio`] whose access was decoded: for a load, `data` is the
    /// `size` bytes the device returned, in storage order (first byte = the byte at `gpa`,
    /// as in [`Exit::Mmio`](crate::Exit::Mmio)'s `data`); [`MmioData::NONE`] for a store.
    /// Writes the target register (in the L2's byte order, sign-extended for the algebraic
    /// forms), RA for update forms, and steps NIA past the instruction.
    MmioComplete {
        /// The bytes read (loads only).
        data: MmioData,
    },
    /// Step NIA past the faulting instruction (4 bytes) without other effect.
    Skip,
    /// Deliver a program interrupt (illegal instruction) to the L2 and run again.
    InjectProgram,
    /// Stop the run loop; [`Vcpu::run_loop`](crate::Vcpu::run_loop) returns the exit.
    Stop,
}

/// What the embedding VMM does with an exit the run loop does not handle itself: L2
/// hcalls, MMIO, emulation assists, facility-unavailable and unknown traps, and page
/// faults the loop could not resolve (protection faults, RAM it could not map).
///
/// The handler reaches the vCPU that exited (and through it its guest) with `vcpu`: read
/// and set registers and LPCR, the decrementer expiry, the process table, L2 RAM
/// ([`VcpuContext`]). Owned in, owned out (no borrowed returns), so `MockExitHandler`
/// (feature `mock`) mocks it easily.
///
/// ```
/// use papr_nestedv2::{Action, Exit, ExitHandler, HcallReturn, MockVcpuContext, VcpuContext};
/// struct Console(Vec<u8>);
/// impl ExitHandler for Console {
///     fn handle(&mut self, exit: &Exit, _vcpu: &mut dyn VcpuContext) -> Action {
///         match *exit {
///             Exit::Hcall { nr: 0x58, args } => {
///                 self.0.push(args[2] as u8);
///                 Action::HcallReturn(HcallReturn::status(0))
///             }
///             _ => Action::Stop,
///         }
///     }
/// }
/// let mut c = Console(Vec::new());
/// let exit = Exit::Hcall { nr: 0x58, args: [0, 1, b'A' as u64, 0, 0, 0, 0, 0, 0] };
/// let a = c.handle(&exit, &mut MockVcpuContext::new());
/// assert_eq!(a, Action::HcallReturn(HcallReturn::status(0)));
/// assert_eq!(c.0, b"A");
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait ExitHandler {
    /// Handles `exit` of `vcpu` and says what happens next.
    fn handle(&mut self, exit: &Exit, vcpu: &mut dyn VcpuContext) -> Action;
}

impl<T: ExitHandler + ?Sized> ExitHandler for &mut T {
    fn handle(&mut self, exit: &Exit, vcpu: &mut dyn VcpuContext) -> Action {
        (**self).handle(exit, vcpu)
    }
}
