//! The real backend: the `sc 1` instruction (powerpc64 only).

use crate::raw::{Hcall, HcallOutput, HCALL_ARGS};
use core::arch::asm;

/// Issues hcalls with `sc 1`, as a PAPR partition in supervisor state does.
///
/// Registers follow PAPR and the ELFv2 function-call convention: r3 = opcode, r4–r12 =
/// arguments in, r3 = status and r4–r12 = outputs back. r0, CR0/1/5/6/7, CTR, XER and LR are
/// declared clobbered; memory is clobbered too (the L0 reads and writes buffers in L1 memory).
/// The hypervisor may overwrite SRR0/SRR1; this backend never keeps values live in them.
///
/// # Why the constructor is `unsafe`
/// [`Hcall::hcall`] is a safe method, and many hcalls carry an L1 real address the L0
/// then writes (`H_GUEST_GET_STATE`, the run buffers of `H_GUEST_RUN_VCPU`, `H_RTAS`):
/// whoever holds an `Sc1` can make the hypervisor write any L1 memory. So an `Sc1` only
/// comes from [`Sc1::new`], whose caller vouches for every hcall made through the value,
/// as kvm-ioctls' `VmFd::set_user_memory_region` makes its caller vouch for the host
/// address it hands the kernel. Once the value is moved into
/// [`NestedHv`](crate::NestedHv), safe code can no longer reach it (the typed API checks
/// every address it passes against its [`RealMemory`](crate::RealMemory); the raw backend
/// comes back out only through the `unsafe` [`NestedHv::hcall_unchecked`](crate::NestedHv::hcall_unchecked)).
/// It is not `Clone`, `Copy` or `Default`, so that a copy cannot slip past that.
#[derive(Debug)]
pub struct Sc1 {
    _private: (),
}

impl Sc1 {
    /// The `sc 1` backend.
    ///
    /// # Safety
    /// The caller owns the machine's memory model: every hcall made through the returned
    /// value — by any code it hands the value (or a reference to it) to, safe code included
    /// — must pass the L0 only addresses of L1 memory the L0 may read and write while the
    /// call (or, for run buffers, the vCPU) lives, holding no Rust object the write would
    /// invalidate. Moving the value straight into a [`NestedHv`](crate::NestedHv) over an
    /// [`IdentityMemory`](crate::IdentityMemory) (whose own contract covers its range) and
    /// passing it only to the address-free [`generic`](crate::generic) calls satisfies this.
    #[must_use]
    pub const unsafe fn new() -> Self {
        Self { _private: () }
    }
}

impl Hcall for Sc1 {
    #[inline]
    fn hcall(&self, opcode: u64, args: [u64; HCALL_ARGS]) -> HcallOutput {
        let [a4, a5, a6, a7, a8, a9, a10, a11, a12] = args;
        let (r3, r4, r5, r6, r7, r8, r9, r10, r11, r12): (
            u64,
            u64,
            u64,
            u64,
            u64,
            u64,
            u64,
            u64,
            u64,
            u64,
        );
        // `sc 1` transfers control to the hypervisor, which returns to the next instruction
        // having changed only the registers declared below as outputs or clobbers (PAPR hcall
        // convention) and memory (no `nomem`/`readonly` option, so the compiler assumes memory
        // may change). The memory the L0 accesses for this opcode and these arguments is the
        // caller's business under the contract of `Sc1::new`.
        // SAFETY: the stack is untouched (`nostack`); every register the L0 may change is declared; the addresses in `args` are vouched for by whoever called `Sc1::new`.
        unsafe {
            asm!(
                "sc 1",
                inout("r3") opcode => r3,
                inout("r4") a4 => r4,
                inout("r5") a5 => r5,
                inout("r6") a6 => r6,
                inout("r7") a7 => r7,
                inout("r8") a8 => r8,
                inout("r9") a9 => r9,
                inout("r10") a10 => r10,
                inout("r11") a11 => r11,
                inout("r12") a12 => r12,
                out("r0") _,
                out("cr0") _,
                out("cr1") _,
                out("cr5") _,
                out("cr6") _,
                out("cr7") _,
                out("ctr") _,
                out("lr") _,
                out("xer") _,
                options(nostack),
            );
        }
        HcallOutput {
            rc: r3 as i64,
            ret: [r4, r5, r6, r7, r8, r9, r10, r11, r12],
        }
    }
}
