//! The state a pseries L2 vCPU starts in (spec §1.2): what QEMU gives its own pseries guests
//! and a nestedv2 vCPU lacks (it is created zeroed), and the kexec-style entry registers.

use crate::error::Error;
use papr_gsb::GuestStateId;
use papr_nestedv2::{lpcr, msr, VcpuContext};

/// The entry MSR: 64-bit, big-endian, real mode (IR = DR = EE = 0). Linux's `FIXUP_ENDIAN`
/// accepts either endianness and small big-endian test kernels need this one; pass it to
/// `Guest::create_vcpu`.
pub const ENTRY_MSR: u64 = msr::SF;

/// The MSR of a vCPU started by RTAS `start-cpu`: 64-bit, machine checks on, real mode,
/// big-endian (QEMU `rtas_start_cpu`).
///
/// ```
/// assert_eq!(papr_platform::vcpu::START_MSR, (1 << 63) | (1 << 12));
/// ```
pub const START_MSR: u64 = msr::SF | msr::ME;

/// The entry LPCR: DPFD = 4 (and GTSE, which QEMU forces anyway). Interrupts start
/// big-endian, as on a reset machine: Linux switches them with `H_SET_MODE(LE)` before it
/// enables any, and big-endian test kernels rely on it.
pub const ENTRY_LPCR: u64 = lpcr::DEFAULT;

/// HFSCR: PREFIX | TAR | EBB | PM | BHRB | DSCR | VECVSX | FP (KVM's default). With 0,
/// `msgsndp`, EBB and BHRB give hypervisor facility unavailable exits.
pub const HFSCR: u64 = 0x219F;

/// AMOR = all ones, as QEMU's own pseries guests: with 0 the L2's AMR writes are ignored
/// (KUAP and pkeys silently do nothing).
pub const AMOR: u64 = u64::MAX;

/// The largest positive 32-bit decrementer (LPCR\[LD\] = 0): a later expiry would load a
/// negative DEC, which fires at once.
pub const DEC_MAX: u64 = 0x7FFF_FFFF;

/// Sets the pseries defaults and the kexec entry registers on a new vCPU: AMOR = ~0,
/// HFSCR = 0x219F, LPCR = [`ENTRY_LPCR`], r3 = `fdt` (the device tree GPA), r4 = r5 = 0 (no
/// Open Firmware), and the decrementer expiry 4 s ahead (`ticks_per_us` timebase ticks per
/// µs), or [`DEC_MAX`] ticks if that is sooner. NIA and MSR come from `create_vcpu`.
/// Everything rides in the first run input (no hcall).
///
/// ```
/// use papr_nestedv2::MockVcpuContext;
/// let mut v = MockVcpuContext::new();
/// v.expect_now().return_const(1000u64);
/// v.expect_set_lpcr().return_const(());
/// v.expect_set_reg().returning(|_, _| Ok(()));
/// papr_platform::vcpu::pseries_defaults(&mut v, 0x400_0000, 512)?;
/// # Ok::<(), papr_platform::Error>(())
/// ```
///
/// # Errors
/// [`Error::Vcpu`] when the vCPU refuses a register.
pub fn pseries_defaults(
    vcpu: &mut dyn VcpuContext,
    fdt: u64,
    ticks_per_us: u64,
) -> Result<(), Error> {
    let gpr = |n| GuestStateId::gpr(n).unwrap_or_default();
    vcpu.set_reg(GuestStateId::AMOR, u128::from(AMOR))?;
    vcpu.set_reg(GuestStateId::HFSCR, u128::from(HFSCR))?;
    vcpu.set_lpcr(ENTRY_LPCR);
    vcpu.set_reg(gpr(3), u128::from(fdt))?;
    vcpu.set_reg(gpr(4), 0)?;
    vcpu.set_reg(gpr(5), 0)?;
    let ahead = ticks_per_us.saturating_mul(4_000_000).clamp(1, DEC_MAX);
    let expiry = vcpu.now().wrapping_add(ahead);
    vcpu.set_reg(GuestStateId::DEC_EXPIRY_TB, u128::from(expiry))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mockall::predicate::eq;
    use papr_nestedv2::MockVcpuContext;

    fn gpr(n: u8) -> GuestStateId {
        GuestStateId::gpr(n).unwrap()
    }

    #[test]
    fn sets_every_default() {
        let mut v = MockVcpuContext::new();
        v.expect_now().return_const(0x1_0000_0000u64);
        v.expect_set_lpcr()
            .with(eq(lpcr::DPFD_4 | lpcr::GTSE))
            .times(1)
            .return_const(());
        for (id, val) in [
            (GuestStateId::AMOR, u64::MAX),
            (GuestStateId::HFSCR, 0x219F),
            (gpr(3), 0x400_0000),
            (gpr(4), 0),
            (gpr(5), 0),
            // 4 s at 512 MHz = 2.048e9 ticks < DEC_MAX
            (GuestStateId::DEC_EXPIRY_TB, 0x1_0000_0000 + 2_048_000_000),
        ] {
            v.expect_set_reg()
                .with(eq(id), eq(u128::from(val)))
                .times(1)
                .returning(|_, _| Ok(()));
        }
        pseries_defaults(&mut v, 0x400_0000, 512).unwrap();
    }

    #[test]
    fn dec_is_capped_and_errors_pass_through() {
        let mut v = MockVcpuContext::new();
        v.expect_now().return_const(5u64);
        v.expect_set_lpcr().return_const(());
        v.expect_set_reg()
            .withf(|&id, _| id != GuestStateId::DEC_EXPIRY_TB)
            .returning(|_, _| Ok(()));
        v.expect_set_reg()
            .with(eq(GuestStateId::DEC_EXPIRY_TB), eq(u128::from(5 + DEC_MAX)))
            .times(1)
            .returning(|_, _| Ok(()));
        pseries_defaults(&mut v, 0, 10_000).unwrap();

        let mut v = MockVcpuContext::new();
        let err = papr_nestedv2::Error::NothingToComplete("test");
        v.expect_set_reg().returning(move |_, _| Err(err));
        assert_eq!(
            pseries_defaults(&mut v, 0, 512),
            Err(Error::Vcpu(papr_nestedv2::Error::NothingToComplete("test")))
        );
    }
}
