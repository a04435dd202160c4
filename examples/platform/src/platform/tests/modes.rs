//! H_SET_MODE, H_REGISTER_PROC_TBL, H_SET_SPRG0, H_PAGE_INIT, DABR, CPU characteristics.

use super::*;
use crate::hcall::*;

#[test]
fn set_mode_le_and_ail() {
    let (mut p, mut v) = (platform(), Fake::new());
    assert_eq!(call(&mut p, &mut v, H_SET_MODE, &[1, 4, 0, 0]), [0]);
    assert_eq!(v.lpcr & lpcr::ILE, lpcr::ILE);
    assert_eq!(call(&mut p, &mut v, H_SET_MODE, &[0, 4, 0, 0]), [0]);
    assert_eq!(v.lpcr & lpcr::ILE, 0);
    assert_eq!(
        call(&mut p, &mut v, H_SET_MODE, &[2, 4, 0, 0]),
        [H_UNSUPPORTED_FLAG]
    );
    assert_eq!(call(&mut p, &mut v, H_SET_MODE, &[1, 4, 1, 0]), [H_P3]);
    assert_eq!(call(&mut p, &mut v, H_SET_MODE, &[1, 4, 0, 1]), [H_P4]);
    assert_eq!(v.lpcr & lpcr::ILE, 0, "refused calls change nothing");
    // AIL: 0 and 3 only.
    assert_eq!(call(&mut p, &mut v, H_SET_MODE, &[3, 3, 0, 0]), [0]);
    assert_eq!(v.lpcr & lpcr::AIL, lpcr::AIL_3);
    for bad in [1, 2, 4, u64::MAX] {
        assert_eq!(
            call(&mut p, &mut v, H_SET_MODE, &[bad, 3, 0, 0]),
            [H_UNSUPPORTED_FLAG],
            "{bad}"
        );
    }
    assert_eq!(call(&mut p, &mut v, H_SET_MODE, &[3, 3, 5, 0]), [H_P3]);
    assert_eq!(call(&mut p, &mut v, H_SET_MODE, &[3, 3, 0, 5]), [H_P4]);
    assert_eq!(call(&mut p, &mut v, H_SET_MODE, &[0, 3, 0, 0]), [0]);
    assert_eq!(v.lpcr & lpcr::AIL, 0);
    assert_eq!(v.lpcr & lpcr::DPFD_4, lpcr::DPFD_4, "other LPCR bits kept");
    // Unknown resources.
    for r in [0, 6, u64::MAX] {
        assert_eq!(call(&mut p, &mut v, H_SET_MODE, &[0, r, 0, 0]), [H_P2]);
    }
}

#[test]
fn set_mode_watchpoints() {
    let (mut p, mut v) = (platform(), Fake::new());
    assert_eq!(
        call(&mut p, &mut v, H_SET_MODE, &[0, 2, 0xc000_1000, 0x3]),
        [0]
    );
    assert_eq!(v.reg_of(GuestStateId::DAWR0), Some(0xc000_1000));
    assert_eq!(v.reg_of(GuestStateId::DAWRX0), Some(3));
    assert_eq!(
        call(&mut p, &mut v, H_SET_MODE, &[0, 5, 0xc000_2000, 0x1]),
        [0]
    );
    assert_eq!(v.reg_of(GuestStateId::DAWR1), Some(0xc000_2000));
    assert_eq!(v.reg_of(GuestStateId::DAWRX1), Some(1));
    assert_eq!(
        call(&mut p, &mut v, H_SET_MODE, &[1, 2, 0, 0]),
        [H_UNSUPPORTED_FLAG]
    );
    assert_eq!(
        call(&mut p, &mut v, H_SET_MODE, &[0, 5, 0, 4]),
        [H_P4],
        "DAWRX[HYP]"
    );
    assert_eq!(v.reg_of(GuestStateId::DAWR1), Some(0xc000_2000));
    // CIABR
    assert_eq!(call(&mut p, &mut v, H_SET_MODE, &[0, 1, 0x4001, 0]), [0]);
    assert_eq!(v.reg_of(GuestStateId::CIABR), Some(0x4001));
    assert_eq!(
        call(&mut p, &mut v, H_SET_MODE, &[0, 1, 0x4003, 0]),
        [H_P3],
        "hypervisor privilege"
    );
    assert_eq!(call(&mut p, &mut v, H_SET_MODE, &[0, 1, 0x4000, 1]), [H_P4]);
    assert_eq!(
        call(&mut p, &mut v, H_SET_MODE, &[1, 1, 0x4000, 0]),
        [H_UNSUPPORTED_FLAG]
    );
    assert_eq!(v.reg_of(GuestStateId::CIABR), Some(0x4001));
}

#[test]
fn set_mode_reaches_every_vcpu() {
    let mut p = Platform::new(
        Env::default(),
        PlatformConfig {
            vcpus: 2,
            ..PlatformConfig::new(RAM, 0)
        },
    );
    let (mut v0, mut v1) = (Fake::new(), Fake::new());
    v1.id = 1;
    assert_eq!(call(&mut p, &mut v0, H_SET_MODE, &[1, 4, 0, 0]), [0]);
    assert_eq!(call(&mut p, &mut v0, H_SET_MODE, &[3, 3, 0, 0]), [0]);
    assert_eq!(v1.lpcr & (lpcr::ILE | lpcr::AIL), 0);
    // vCPU 1's next exit picks the guest-wide mode up, keeping its other bits.
    v1.lpcr |= lpcr::MER;
    assert_eq!(p.handle(&Exit::Hdec, &mut v1), Action::Resume);
    assert_eq!(v1.lpcr, lpcr::DEFAULT | lpcr::ILE | lpcr::AIL_3 | lpcr::MER);
}

#[test]
fn register_process_table() {
    let (mut p, mut v) = (platform(), Fake::new());
    // Linux: NEW | RADIX | GTSE, 16 MiB at the top of RAM.
    assert_eq!(
        call(
            &mut p,
            &mut v,
            H_REGISTER_PROC_TBL,
            &[0x1D, 0x3e00_0000, 0, 12]
        ),
        [0]
    );
    assert_eq!(v.proc_table, Some((0x3e00_0000, 16 << 20)));
    assert_eq!(p.process_table(), Some((0x3e00_0000, 16 << 20)));
    // Small test kernels: 4 KiB.
    assert_eq!(
        call(&mut p, &mut v, H_REGISTER_PROC_TBL, &[0x1D, 0x8000, 0, 0]),
        [0]
    );
    assert_eq!(v.proc_table, Some((0x8000, 0x1000)));
    v.proc_table = None;
    for (args, want) in [
        ([0x3D, 0x8000, 0, 0], H_PARAMETER), // reserved flag bit
        ([0x1D, 0x8010, 0, 0], H_P2),        // unaligned
        ([0x1D, 1 << 60, 0, 0], H_P2),       // above 2^60
        ([0x1D, 0x8000, 1, 0], H_P3),        // page size
        ([0x1D, 0x8000, 0, 11], H_P4),       // 8 MiB: QEMU's L0 would abort
        ([0x1D, 0x8000, 0, 1], H_P4),        // 8 KiB: idem
        ([0x1D, 0x8000, 0, 24], H_P4),       // 64 GiB: idem
        ([0x1D, 0x8000, 0, 25], H_P4),       // > 24
        ([0x1D, 0x8000, 0, u64::MAX], H_P4),
        ([0x19, 0x8000, 0, 0], H_PARAMETER), // hash
        ([0x1B, 0x8000, 0, 0], H_PARAMETER), // hash with segment tables
        ([0x01, 0, 0, 0], H_PARAMETER),      // keep, but hash
    ] {
        assert_eq!(
            call(&mut p, &mut v, H_REGISTER_PROC_TBL, &args),
            [want],
            "{args:x?}"
        );
        assert_eq!(v.proc_table, None, "{args:x?} reached the L0");
    }
    // Keep the current (radix) registration.
    assert_eq!(
        call(&mut p, &mut v, H_REGISTER_PROC_TBL, &[0x05, 0, 0, 0]),
        [0]
    );
    // Deregister: recorded, not sent.
    assert_eq!(
        call(&mut p, &mut v, H_REGISTER_PROC_TBL, &[0x10, 0, 0, 0]),
        [0]
    );
    assert_eq!((p.process_table(), v.proc_table), (None, None));
    // The L0 refuses: H_HARDWARE, nothing recorded.
    v.proc_table_fails = true;
    assert_eq!(
        call(&mut p, &mut v, H_REGISTER_PROC_TBL, &[0x1D, 0x8000, 0, 0]),
        [H_HARDWARE]
    );
    assert_eq!(p.process_table(), None);
}

#[test]
fn sprg0_dabr_characteristics_and_unknown() {
    let (mut p, mut v) = (platform(), Fake::new());
    assert_eq!(call(&mut p, &mut v, H_SET_SPRG0, &[0xdead_beef]), [0]);
    assert_eq!(v.reg_of(GuestStateId::SPRG0), Some(0xdead_beef));
    assert_eq!(
        call(&mut p, &mut v, H_SET_DABR, &[0x1000 | 7]),
        [H_HARDWARE]
    );
    assert_eq!(
        call(&mut p, &mut v, H_SET_XDABR, &[0x1000, 3]),
        [H_HARDWARE]
    );
    let r = call(&mut p, &mut v, H_GET_CPU_CHARACTERISTICS, &[]);
    assert_eq!(
        r,
        [0, 0x0400_0000_0000_0000, 0xE000_0000_0000_0000u64 as i64]
    );
    for nr in [
        0x04,
        0x300,
        H_SIGNAL_SYS_RESET,
        H_GET_PERF_COUNTER_INFO,
        0xFFFF_FFFF,
    ] {
        assert_eq!(call(&mut p, &mut v, nr, &[]), [H_FUNCTION], "{nr:#x}");
    }
    let counts = p.hcall_counts();
    assert!(counts.contains(&(H_SET_SPRG0, "H_SET_SPRG0", 1)));
    assert!(counts.contains(&(H_GET_PERF_COUNTER_INFO, "H_GET_PERF_COUNTER_INFO", 1)));
    assert!(counts.contains(&(0xFFFF_FFFF, "unknown", 1)));
}

#[test]
fn page_init_zero_copy_and_checks() {
    let (mut p, mut v) = (platform(), Fake::new());
    const ZERO: u64 = 1 << 15;
    const COPY: u64 = 1 << 14;
    const ICACHE: u64 = 3 << 22;
    v.put(0x2000, &[0xAA; 4096]);
    v.put(0x5000, &[0x55; 4096]);
    assert_eq!(call(&mut p, &mut v, H_PAGE_INIT, &[ZERO, 0x2000, 0]), [0]);
    assert!(v.ram[0x2000..0x3000].iter().all(|&b| b == 0));
    assert_eq!(
        call(
            &mut p,
            &mut v,
            H_PAGE_INIT,
            &[COPY | ICACHE, 0x3000, 0x5000]
        ),
        [0]
    );
    assert!(v.ram[0x3000..0x4000].iter().all(|&b| b == 0x55));
    // No operation flag: nothing happens.
    v.put(0x7000, &[1; 4096]);
    assert_eq!(call(&mut p, &mut v, H_PAGE_INIT, &[0, 0x7000, 0]), [0]);
    assert_eq!(v.ram[0x7000], 1);
    for args in [
        [ZERO | 1, 0x7000, 0],           // unknown flag
        [ZERO, 0x7008, 0],               // unaligned destination
        [ZERO, RAM, 0],                  // outside RAM
        [ZERO, RAM - 0x1000 + 0x800, 0], // runs off RAM (and unaligned)
        [ZERO, !0xFFFu64, 0],            // wraps
        [COPY, 0x7000, 0x5010],          // unaligned source
        [COPY, 0x7000, RAM],             // source outside RAM
    ] {
        assert_eq!(
            call(&mut p, &mut v, H_PAGE_INIT, &args),
            [H_PARAMETER],
            "{args:x?}"
        );
    }
    assert!(
        v.ram[0x7000..0x8000].iter().all(|&b| b == 1),
        "refused calls write nothing"
    );
    // The last page of RAM is fine.
    assert_eq!(
        call(&mut p, &mut v, H_PAGE_INIT, &[ZERO, RAM - 0x1000, 0]),
        [0]
    );
}
