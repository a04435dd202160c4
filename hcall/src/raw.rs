//! The seam: one raw hcall, registers in, registers out.

/// Number of argument registers an hcall takes (r4–r12) and of output registers it returns.
pub const HCALL_ARGS: usize = 9;

/// What an hcall returns: the status in r3 and the output registers r4–r12.
///
/// Owned and `Copy`, so that mocks can return it freely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HcallOutput {
    /// r3: the PAPR return code (0 = `H_SUCCESS`, > 0 busy/progress, < 0 error).
    pub rc: i64,
    /// r4–r12 after the call.
    pub ret: [u64; HCALL_ARGS],
}

impl HcallOutput {
    /// An output with return code `rc` and all output registers zero.
    ///
    /// ```
    /// let out = papr_hcall::HcallOutput::rc(-4);
    /// assert_eq!(out.rc, -4);
    /// assert_eq!(out.ret, [0; 9]);
    /// ```
    pub const fn rc(rc: i64) -> Self {
        Self {
            rc,
            ret: [0; HCALL_ARGS],
        }
    }

    /// A successful output with r4 = `r4`.
    ///
    /// ```
    /// let out = papr_hcall::HcallOutput::ok(7);
    /// assert_eq!((out.rc, out.ret[0]), (0, 7));
    /// ```
    pub const fn ok(r4: u64) -> Self {
        let mut ret = [0; HCALL_ARGS];
        ret[0] = r4;
        Self { rc: 0, ret }
    }
}

/// The one place an hcall happens: opcode and argument registers in, [`HcallOutput`] out.
///
/// Backends: `Sc1` (the `sc 1` instruction, powerpc64 only), the software L0
/// (feature `sim`), and `MockHcall` (feature `mock`). Takes `&self` so that one backend can be
/// shared by a guest and all its vCPUs; a backend with state uses interior mutability.
///
/// ```
/// use papr_hcall::{Hcall, HcallOutput};
/// struct Echo;
/// impl Hcall for Echo {
///     fn hcall(&self, opcode: u64, args: [u64; 9]) -> HcallOutput {
///         HcallOutput::ok(opcode + args[0])
///     }
/// }
/// assert_eq!(Echo.hcall(0x460, [1, 0, 0, 0, 0, 0, 0, 0, 0]).ret[0], 0x461);
/// ```
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Hcall {
    /// Issues hcall `opcode` with `args` in r4–r12 and returns r3–r12.
    fn hcall(&self, opcode: u64, args: [u64; HCALL_ARGS]) -> HcallOutput;
}

impl<T: Hcall + ?Sized> Hcall for &T {
    fn hcall(&self, opcode: u64, args: [u64; HCALL_ARGS]) -> HcallOutput {
        (**self).hcall(opcode, args)
    }
}

/// An [`Hcall`] backend whose every effect stays inside memory it owns or reaches through a
/// safe, bounds-checked API: a software L0 over its own [`RealMemory`](crate::RealMemory),
/// a mock, a counter around one of those. Safe code may hold such a backend and call it
/// with any arguments, so [`NestedHv::hcall`](crate::NestedHv::hcall) hands it out.
///
/// The real `sc 1` backend (`Sc1`) is not one: an address in an argument register makes
/// the hypervisor write that L1 memory, whatever it holds.
///
/// # Safety
/// Implement it only for a backend no argument can make write memory outside Rust's rules:
/// every access it makes goes through safe code or through a backend that checks
/// its bounds.
///
/// ```
/// use papr_hcall::{ContainedHcall, Hcall, HcallOutput};
/// struct Echo;
/// impl Hcall for Echo {
///     fn hcall(&self, opcode: u64, _: [u64; 9]) -> HcallOutput { HcallOutput::ok(opcode) }
/// }
/// // SAFETY: `Echo` touches no memory at all.
/// unsafe impl ContainedHcall for Echo {}
/// ```
pub unsafe trait ContainedHcall: Hcall {}

// SAFETY: forwards to a contained backend.
unsafe impl<T: ContainedHcall + ?Sized> ContainedHcall for &T {}

// SAFETY: a mock only returns what its expectations say; it touches no memory.
#[cfg(any(test, feature = "mock"))]
unsafe impl ContainedHcall for MockHcall {}
