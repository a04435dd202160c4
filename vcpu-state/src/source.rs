//! The seam through which the cache reaches the L0: one GET or SET of a whole buffer.

use papr_gsb::Scope;
use papr_hcall::{
    Delay, GuestId, Hcall, HcallError, L1RealAddr, NestedHv, RealMemory, Target, VcpuId,
};

/// Where the canonical state of one vCPU lives: the L0, reached by `H_GUEST_GET_STATE` and
/// `H_GUEST_SET_STATE` on that vCPU (thread-wide) or its guest (guest-wide).
///
/// Each call is exactly one hcall with a whole buffer, so a batched reload is one call.
/// Implemented by [`HvSource`] (a [`NestedHv`] bound to one vCPU and a scratch address),
/// by [`Detached`] (no L0: every call fails), and, with feature `mock`, by
/// `MockStateSource`.
///
/// ```
/// use papr_gsb::{GuestStateId, Scope};
/// use papr_vcpu_state::{MockStateSource, VcpuState};
/// let mut src = MockStateSource::new();
/// // The L0 answers one GET for the whole PTREGS group with each GPRn = n.
/// src.expect_get_state().times(1).returning(|scope, gsb| {
///     assert_eq!(scope, Scope::Thread);
///     papr_vcpu_state::testing::answer(gsb, |id| u128::from(id.raw() & 0xff));
///     Ok(())
/// });
/// let mut s = VcpuState::new();
/// assert_eq!(s.gpr5(&mut src)?, 5);
/// assert_eq!(s.gpr31(&mut src)?, 31); // already valid: no second GET
/// # Ok::<(), papr_vcpu_state::StateError>(())
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait StateSource {
    /// One `H_GUEST_GET_STATE` of `scope` (thread-wide for this vCPU, or guest-wide).
    /// `gsb` holds the request (ids, sizes, zeroed values); on `Ok` it holds the L0's
    /// answer, which the caller parses as untrusted input.
    fn get_state(&mut self, scope: Scope, gsb: &mut [u8]) -> Result<(), HcallError>;

    /// One `H_GUEST_SET_STATE` of `scope` with the elements in `gsb`.
    fn set_state(&mut self, scope: Scope, gsb: &[u8]) -> Result<(), HcallError>;
}

impl<T: StateSource + ?Sized> StateSource for &mut T {
    fn get_state(&mut self, scope: Scope, gsb: &mut [u8]) -> Result<(), HcallError> {
        (**self).get_state(scope, gsb)
    }
    fn set_state(&mut self, scope: Scope, gsb: &[u8]) -> Result<(), HcallError> {
        (**self).set_state(scope, gsb)
    }
}

/// A [`NestedHv`] bound to one vCPU: the [`StateSource`] of the real (or simulated) L0.
///
/// `scratch` is the L1 real address of a buffer the L0 reads requests from and writes
/// answers to; it must hold [`MAX_REQUEST_BYTES`](crate::MAX_REQUEST_BYTES). Linux uses the
/// vCPU's run input buffer, which is safe as long as no reload happens between
/// [`VcpuState::flush`](crate::VcpuState::flush) and `H_GUEST_RUN_VCPU`.
///
/// ```
/// use papr_hcall::{GuestId, L1RealAddr, MockHcall, MockRealMemory, NestedHv, NoDelay, VcpuId};
/// use papr_vcpu_state::HvSource;
/// let hv = NestedHv::new(MockHcall::new(), MockRealMemory::new(), NoDelay);
/// let src = HvSource::new(&hv, GuestId(1), VcpuId(0), L1RealAddr(0x10_0000));
/// assert_eq!(src.vcpu(), (GuestId(1), VcpuId(0)));
/// ```
#[derive(Debug)]
pub struct HvSource<'a, H, M, D> {
    hv: &'a NestedHv<H, M, D>,
    guest: GuestId,
    vcpu: VcpuId,
    scratch: L1RealAddr,
}

impl<'a, H, M, D> HvSource<'a, H, M, D> {
    /// Binds `hv` to vCPU `vcpu` of `guest`, with requests passed at `scratch`.
    pub fn new(
        hv: &'a NestedHv<H, M, D>,
        guest: GuestId,
        vcpu: VcpuId,
        scratch: L1RealAddr,
    ) -> Self {
        Self {
            hv,
            guest,
            vcpu,
            scratch,
        }
    }

    /// The guest and vCPU this source reaches.
    pub fn vcpu(&self) -> (GuestId, VcpuId) {
        (self.guest, self.vcpu)
    }

    fn target(&self, scope: Scope) -> Target {
        match scope {
            Scope::Guest => Target::guest(self.guest),
            Scope::Host => Target::host(),
            Scope::Thread => Target::thread(self.guest, self.vcpu),
        }
    }
}

impl<H: Hcall, M: RealMemory, D: Delay> StateSource for HvSource<'_, H, M, D> {
    fn get_state(&mut self, scope: Scope, gsb: &mut [u8]) -> Result<(), HcallError> {
        let target = self.target(scope);
        self.hv.get_state(target, gsb, self.scratch).map(|_| ())
    }

    fn set_state(&mut self, scope: Scope, gsb: &[u8]) -> Result<(), HcallError> {
        let target = self.target(scope);
        self.hv.set_state(target, gsb, self.scratch)
    }
}

/// A source with no L0 behind it: every call fails with [`HcallError::BadArgument`]. For
/// code that must only touch valid registers (benchmarks, a hot path that has declared
/// its needs with [`VcpuState::load`](crate::VcpuState::load) beforehand).
///
/// ```
/// use papr_vcpu_state::{Detached, StateError, VcpuState};
/// let mut s = VcpuState::new();
/// s.set_nia(0x100);
/// assert_eq!(s.nia(&mut Detached)?, 0x100);
/// assert!(matches!(s.msr(&mut Detached), Err(StateError::Hcall(_))));
/// # Ok::<(), StateError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Detached;

impl StateSource for Detached {
    fn get_state(&mut self, _: Scope, _: &mut [u8]) -> Result<(), HcallError> {
        Err(HcallError::BadArgument {
            call: "H_GUEST_GET_STATE",
            what: "detached state source (no L0)",
            value: 0,
        })
    }
    fn set_state(&mut self, _: Scope, _: &[u8]) -> Result<(), HcallError> {
        Err(HcallError::BadArgument {
            call: "H_GUEST_SET_STATE",
            what: "detached state source (no L0)",
            value: 0,
        })
    }
}
