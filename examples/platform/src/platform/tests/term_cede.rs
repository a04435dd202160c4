//! The vty, H_CEDE's wake-up logic, the VPA and XICS.

use super::*;
use crate::hcall::*;

const VTY: u64 = 0x7100_0000;
const REGISTER_VPA: u64 = 0x0000_2000_0000_0000;
const REGISTER_DTL: u64 = 0x0000_4000_0000_0000;
const REGISTER_SLBSHADOW: u64 = 0x0000_6000_0000_0000;
const DEREGISTER_VPA: u64 = 0x0000_a000_0000_0000;
const DEREGISTER_DTL: u64 = 0x0000_c000_0000_0000;
const DEREGISTER_SLBSHADOW: u64 = 0x0000_e000_0000_0000;

fn packed(s: &[u8]) -> (u64, u64) {
    let mut b = [0u8; 16];
    b[..s.len()].copy_from_slice(s);
    (
        u64::from_be_bytes(b[..8].try_into().unwrap()),
        u64::from_be_bytes(b[8..].try_into().unwrap()),
    )
}

#[test]
fn put_term_char() {
    let (mut p, mut v) = (platform(), Fake::new());
    let (hi, lo) = packed(b"hello, world!\r\n");
    assert_eq!(
        call(&mut p, &mut v, H_PUT_TERM_CHAR, &[VTY, 15, hi, lo]),
        [0]
    );
    let (hi, lo) = packed(b"0123456789abcdef");
    assert_eq!(
        call(&mut p, &mut v, H_PUT_TERM_CHAR, &[0, 16, hi, lo]),
        [0],
        "vterm 0"
    );
    assert_eq!(
        call(&mut p, &mut v, H_PUT_TERM_CHAR, &[VTY, 0, hi, lo]),
        [0]
    );
    assert_eq!(
        call(&mut p, &mut v, H_PUT_TERM_CHAR, &[VTY, 17, hi, lo]),
        [H_PARAMETER]
    );
    assert_eq!(
        call(&mut p, &mut v, H_PUT_TERM_CHAR, &[VTY, u64::MAX, hi, lo]),
        [H_PARAMETER]
    );
    assert_eq!(
        call(&mut p, &mut v, H_PUT_TERM_CHAR, &[VTY + 1, 1, hi, lo]),
        [H_PARAMETER]
    );
    assert_eq!(p.env().out, b"hello, world!\r\n0123456789abcdef");
}

#[test]
fn get_term_char() {
    let (mut p, mut v) = (platform(), Fake::new());
    assert_eq!(call(&mut p, &mut v, H_GET_TERM_CHAR, &[VTY]), [0, 0, 0, 0]);
    p.env_mut().input = b"hello".to_vec();
    let (hi, lo) = packed(b"hello");
    assert_eq!(
        call(&mut p, &mut v, H_GET_TERM_CHAR, &[0]),
        [0, 5, hi as i64, lo as i64]
    );
    p.env_mut().input = b"0123456789abcdefXYZ".to_vec();
    let (hi, lo) = packed(b"0123456789abcdef");
    assert_eq!(
        call(&mut p, &mut v, H_GET_TERM_CHAR, &[VTY]),
        [0, 16, hi as i64, lo as i64]
    );
    let (hi, lo) = packed(b"XYZ");
    assert_eq!(
        call(&mut p, &mut v, H_GET_TERM_CHAR, &[VTY]),
        [0, 3, hi as i64, lo as i64]
    );
    assert_eq!(call(&mut p, &mut v, H_GET_TERM_CHAR, &[5]), [H_PARAMETER]);
}

fn cede(p: &mut Platform<Env>, v: &mut Fake) {
    assert_eq!(call(p, v, H_CEDE, &[]), [0]);
    assert_eq!(
        v.reg_of(GuestStateId::MSR).unwrap() & msr::EE,
        msr::EE,
        "MSR[EE] set"
    );
}

#[test]
fn cede_sleeps_until_the_decrementer() {
    let (mut p, mut v) = (platform(), Fake::new());
    v.regs
        .insert(GuestStateId::MSR, u128::from(msr::SF | msr::LE));
    v.dec = v.now + 5000;
    cede(&mut p, &mut v);
    assert_eq!(p.env().idles, [v.now + 5000]);
    assert_eq!(
        v.reg_of(GuestStateId::MSR),
        Some(msr::SF | msr::LE | msr::EE)
    );
    // Already expired (or now): no sleep.
    v.dec = v.now;
    cede(&mut p, &mut v);
    v.dec = v.now - 1;
    cede(&mut p, &mut v);
    assert_eq!(p.env().idles.len(), 1);
    assert_eq!(p.stats().idles, 1);
    // A negative 32-bit DEC that the L0 reported unsigned (2^32 - 5 ticks ahead): expired,
    // no sleep (it once slept ~8 s on it).
    v.dec = v.now + (1 << 32) - 5;
    cede(&mut p, &mut v);
    assert_eq!(p.env().idles.len(), 1);
    // The longest real 32-bit DEC still sleeps.
    v.dec = v.now + crate::vcpu::DEC_MAX;
    cede(&mut p, &mut v);
    assert_eq!(p.env().idles.len(), 2);
}

#[test]
fn cede_does_not_sleep_with_input_pending_and_keeps_input_it_woke_for() {
    let (mut p, mut v) = (platform(), Fake::new());
    v.dec = v.now + 1_000_000;
    p.env_mut().wake = Some(Wake::Input(*b"ab\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 2));
    cede(&mut p, &mut v);
    assert_eq!(p.env().idles.len(), 1);
    // The bytes are pending: the next cede returns at once.
    cede(&mut p, &mut v);
    assert_eq!(p.env().idles.len(), 1);
    let (hi, _) = packed(b"ab");
    assert_eq!(
        call(&mut p, &mut v, H_GET_TERM_CHAR, &[VTY]),
        [0, 2, hi as i64, 0]
    );
    cede(&mut p, &mut v);
    assert_eq!(p.env().idles.len(), 2);
}

#[test]
fn cede_counts_dispatches_in_the_vpa() {
    let (mut p, mut v) = (platform(), Fake::new());
    v.put(0x1000 + 4, &640u16.to_be_bytes());
    v.put(0x1100, &41u32.to_be_bytes());
    assert_eq!(
        call(&mut p, &mut v, H_REGISTER_VPA, &[REGISTER_VPA, 0, 0x1000]),
        [0]
    );
    assert_eq!(v.ram[0x1009], 0, "shared-processor byte left alone");
    v.dec = v.now + 10;
    cede(&mut p, &mut v);
    assert_eq!(v.be32(0x1100), 43);
    // No sleep, no dispatch.
    v.dec = v.now;
    cede(&mut p, &mut v);
    assert_eq!(v.be32(0x1100), 43);
}

#[test]
fn cede_does_not_sleep_with_an_interrupt_presented() {
    let (mut p, mut v) = (platform(), Fake::new());
    v.dec = v.now + 10;
    assert_eq!(call(&mut p, &mut v, H_CPPR, &[0xFF]), [0]);
    assert_eq!(call(&mut p, &mut v, H_IPI, &[0, 5]), [0]);
    cede(&mut p, &mut v);
    assert!(p.env().idles.is_empty());
}

#[test]
fn cede_with_a_mock_environment() {
    let mut env = crate::MockEnvironment::new();
    env.expect_idle_until()
        .with(mockall::predicate::eq(2_000_000u64))
        .times(1)
        .return_const(Wake::Timer);
    let mut p = Platform::new(env, PlatformConfig::new(RAM, 0));
    let mut v = Fake::new();
    v.dec = 2_000_000;
    assert_eq!(
        p.handle(
            &Exit::Hcall {
                nr: H_CEDE,
                args: [0; 9]
            },
            &mut v
        ),
        Action::HcallReturn(HcallReturn::status(0))
    );
}

#[test]
fn register_vpa_checks() {
    let (mut p, mut v) = (platform(), Fake::new());
    v.put(0x2000 + 4, &640u16.to_be_bytes());
    v.put(0x2040 + 4, &640u16.to_be_bytes()); // valid but for its alignment
    v.put(0x2F00 + 4, &640u16.to_be_bytes()); // would cross into 0x3000
    v.put(0x4000 + 4, &639u16.to_be_bytes());
    v.put(RAM - 0x200 + 4, &1024u16.to_be_bytes()); // runs off RAM (and crosses)
    let vpa = |p: &mut Platform<Env>, v: &mut Fake, sub, proc, addr| {
        call(p, v, H_REGISTER_VPA, &[sub, proc, addr])[0]
    };
    assert_eq!(vpa(&mut p, &mut v, REGISTER_VPA, 0, 0), H_HARDWARE);
    assert_eq!(
        vpa(&mut p, &mut v, REGISTER_VPA, 0, 0x2040),
        H_PARAMETER,
        "not 128-aligned"
    );
    assert_eq!(
        vpa(&mut p, &mut v, REGISTER_VPA, 0, 0x2F00),
        H_PARAMETER,
        "crosses 4 KiB"
    );
    assert_eq!(
        vpa(&mut p, &mut v, REGISTER_VPA, 0, 0x4000),
        H_PARAMETER,
        "smaller than 640"
    );
    assert_eq!(
        vpa(&mut p, &mut v, REGISTER_VPA, 0, RAM - 0x200),
        H_PARAMETER
    );
    assert_eq!(
        vpa(&mut p, &mut v, REGISTER_VPA, 0, RAM),
        H_PARAMETER,
        "outside RAM"
    );
    assert_eq!(vpa(&mut p, &mut v, REGISTER_VPA, 0, !0x7Fu64), H_PARAMETER);
    assert_eq!(
        vpa(&mut p, &mut v, REGISTER_VPA, 1, 0x2000),
        H_PARAMETER,
        "no processor 1"
    );
    assert_eq!(
        vpa(&mut p, &mut v, 0x0000_8000_0000_0000, 0, 0x2000),
        H_PARAMETER,
        "sub-function"
    );
    // SLB shadow and DTL need a VPA.
    v.put(0x6000 + 4, &0x10u32.to_be_bytes());
    v.put(0x7000 + 4, &48u32.to_be_bytes());
    v.put(0x7100 + 4, &47u32.to_be_bytes());
    v.put(0x6100 + 4, &7u32.to_be_bytes());
    assert_eq!(
        vpa(&mut p, &mut v, REGISTER_SLBSHADOW, 0, 0x6000),
        H_RESOURCE
    );
    assert_eq!(vpa(&mut p, &mut v, REGISTER_DTL, 0, 0x7000), H_RESOURCE);
    assert_eq!(vpa(&mut p, &mut v, REGISTER_VPA, 0, 0x2000), 0);
    assert_eq!(vpa(&mut p, &mut v, REGISTER_SLBSHADOW, 0, 0), H_HARDWARE);
    assert_eq!(
        vpa(&mut p, &mut v, REGISTER_SLBSHADOW, 0, 0x6100),
        H_PARAMETER,
        "< 8"
    );
    assert_eq!(vpa(&mut p, &mut v, REGISTER_SLBSHADOW, 0, 0x6000), 0);
    assert_eq!(
        vpa(&mut p, &mut v, REGISTER_DTL, 0, 0x7100),
        H_PARAMETER,
        "< 48"
    );
    assert_eq!(vpa(&mut p, &mut v, REGISTER_DTL, 0, 0x7000), 0);
    // The VPA stays while the others are registered.
    assert_eq!(vpa(&mut p, &mut v, DEREGISTER_VPA, 0, 0), H_RESOURCE);
    assert_eq!(vpa(&mut p, &mut v, DEREGISTER_SLBSHADOW, 0, 0), 0);
    assert_eq!(vpa(&mut p, &mut v, DEREGISTER_VPA, 0, 0), H_RESOURCE);
    assert_eq!(vpa(&mut p, &mut v, DEREGISTER_DTL, 0, 0), 0);
    assert_eq!(vpa(&mut p, &mut v, DEREGISTER_VPA, 0, 0), 0);
    // Deregistered: cede no longer counts.
    v.dec = v.now + 10;
    cede(&mut p, &mut v);
    assert_eq!(v.be32(0x2100), 0);
}

#[test]
fn xics_ipi_cycle_drives_mer() {
    let mut p = Platform::new(
        Env::default(),
        PlatformConfig {
            vcpus: 2,
            ..PlatformConfig::new(RAM, 0)
        },
    );
    let mut v = Fake::new();
    assert_eq!(call(&mut p, &mut v, H_CPPR, &[0xFF]), [0]);
    assert!(!v.external);
    assert_eq!(call(&mut p, &mut v, H_IPI, &[0, 0]), [0]);
    assert!(v.external, "MER requested");
    assert_eq!(call(&mut p, &mut v, H_IPOLL, &[0]), [0, 0xFF00_0002, 0]);
    assert_eq!(call(&mut p, &mut v, H_XIRR, &[]), [0, 0xFF00_0002]);
    assert!(!v.external, "MER withdrawn once accepted");
    assert_eq!(call(&mut p, &mut v, H_IPI, &[0, 0xFF]), [0]);
    assert_eq!(call(&mut p, &mut v, H_EOI, &[0xFF00_0002]), [0]);
    assert_eq!(
        call(&mut p, &mut v, H_XIRR_X, &[]),
        [0, 0xFF00_0000, v.now as i64]
    );
    // An IPI to vCPU 1 is kept for it.
    assert_eq!(call(&mut p, &mut v, H_IPI, &[1, 4]), [0]);
    assert!(!v.external);
    assert!(!p.external_pending(1), "vCPU 1's CPPR is still 0");
    assert_eq!(call(&mut p, &mut v, H_IPOLL, &[1]), [0, 0, 4]);
    for bad in [2, u64::MAX] {
        assert_eq!(call(&mut p, &mut v, H_IPI, &[bad, 0]), [H_PARAMETER]);
        assert_eq!(call(&mut p, &mut v, H_IPOLL, &[bad]), [H_PARAMETER]);
    }
}
