//! The tree as the L0 walks it: QEMU's partition-scoped walk, bit for bit, over the raw
//! bytes the crate wrote, starting from the PATE QEMU rebuilds from GSID 0x0005.

// Test code: helpers outside #[test] fns may unwrap, index and panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{check_access, enumerate, pate_from_gsid, walk, Access, Image};
use common::{DSISR_ATOMIC_RC, DSISR_ISSTORE, DSISR_NOPTE, DSISR_PROTFAULT, SRR1_NOEXEC_GUARD};
use papr_mmu_radix::*;

const BASE: u64 = 0x100_0000;
const POOL: u64 = 4 << 20;

fn with_tree(f: impl FnOnce(&mut RadixTable<SliceMemory<'_>, PoolAlloc<16>>)) -> Vec<u8> {
    let mut buf = vec![0u8; POOL as usize];
    {
        let pool = PoolAlloc::new(L1RealAddr(BASE), POOL).unwrap();
        let mut t = RadixTable::new(SliceMemory::new(L1RealAddr(BASE), &mut buf), pool).unwrap();
        f(&mut t);
    }
    buf
}

#[test]
fn qemu_walk_reaches_what_was_mapped() {
    let mut gsid = [0; 3];
    let img = with_tree(|t| {
        gsid = t.pagetable_value().to_u64s();
        t.map(
            GuestRealAddr(0),
            L1RealAddr(0x200_0000),
            0x1_0000,
            Perms::RWX,
        )
        .unwrap();
        t.map(
            GuestRealAddr(0x4000_0000),
            L1RealAddr(0x8000_0000),
            1 << 30,
            Perms::RX,
        )
        .unwrap();
        t.map(
            GuestRealAddr(0x20_0000),
            L1RealAddr(0x60_0000),
            0x20_0000,
            Perms::R,
        )
        .unwrap();
        t.map_with_attr(
            GuestRealAddr(0xF_0000_0000),
            L1RealAddr(0x3000),
            0x1000,
            Perms::RW,
            Attr::NonIdempotentIo,
        )
        .unwrap();
        t.map(
            GuestRealAddr(GPA_LIMIT - 0x1000),
            L1RealAddr(L1_RA_LIMIT - 0x1000),
            0x1000,
            Perms::R,
        )
        .unwrap();
    });
    let img = Image {
        base: BASE,
        bytes: &img,
    };
    let dw0 = pate_from_gsid(gsid);
    assert_eq!(
        dw0,
        0xC000_0000_0000_00AD | BASE,
        "QEMU's rebuilt PATE equals ours"
    );

    let h = walk(&img, dw0, 0x1234).unwrap();
    assert_eq!(
        (h.raddr, h.page_bits, h.pte),
        (0x200_1234, 12, 0xC000_0000_0200_1187)
    );
    assert!(!h.misaligned_base);
    let h = walk(&img, dw0, 0x4567_89AB).unwrap();
    assert_eq!(
        (h.raddr, h.page_bits, h.pte),
        (0x8567_89AB, 30, 0xC000_0000_8000_0105)
    );
    let h = walk(&img, dw0, 0x3F_FFFF).unwrap();
    assert_eq!((h.raddr, h.page_bits), (0x7F_FFFF, 21));
    let h = walk(&img, dw0, GPA_LIMIT - 1).unwrap();
    assert_eq!(h.raddr, L1_RA_LIMIT - 1);
    // Holes at every level fault with "no PTE".
    for gpa in [0x1_0000, 0x40_0000, 0x8000_0000, 0x100_0000_0000] {
        assert_eq!(walk(&img, dw0, gpa), Err(Some(DSISR_NOPTE)), "{gpa:#x}");
    }

    // Permission and R/C outcomes as QEMU decides them.
    let rwx = walk(&img, dw0, 0).unwrap().pte;
    for a in [Access::Load, Access::Store, Access::Fetch] {
        assert_eq!(check_access(rwx, a), Ok(()));
    }
    let rx = walk(&img, dw0, 0x4000_0000).unwrap().pte;
    assert_eq!(
        check_access(rx, Access::Store),
        Err(DSISR_PROTFAULT | DSISR_ISSTORE)
    );
    assert_eq!(check_access(rx, Access::Fetch), Ok(()));
    let r = walk(&img, dw0, 0x20_0000).unwrap().pte;
    assert_eq!(check_access(r, Access::Fetch), Err(SRR1_NOEXEC_GUARD));
    assert_eq!(check_access(r, Access::Load), Ok(()));
    let io = walk(&img, dw0, 0xF_0000_0000).unwrap().pte;
    assert_eq!(check_access(io, Access::Fetch), Err(SRR1_NOEXEC_GUARD));
    assert_eq!(check_access(io, Access::Store), Ok(()));
    assert_eq!(
        check_access(io & !0x80, Access::Store),
        Err(DSISR_ATOMIC_RC | DSISR_ISSTORE)
    );
}

#[test]
fn crate_translate_agrees_with_qemu_walk_everywhere_it_is_asked() {
    let mut buf = vec![0u8; POOL as usize];
    let pool = PoolAlloc::<16>::new(L1RealAddr(BASE), POOL).unwrap();
    let mut t = RadixTable::new(SliceMemory::new(L1RealAddr(BASE), &mut buf), pool).unwrap();
    t.map(
        GuestRealAddr(0x3FE0_0000),
        L1RealAddr(0x1_3FE0_0000),
        0x4040_0000,
        Perms::RWX,
    )
    .unwrap();
    t.map(
        GuestRealAddr(0x7_0000_3000),
        L1RealAddr(0x5000),
        0x7000,
        Perms::RW,
    )
    .unwrap();
    t.unmap(GuestRealAddr(0x7_0000_5000), 0x1000, &mut NoInvalidate)
        .unwrap();
    let dw0 = pate_from_gsid(t.pagetable_value().to_u64s());
    let img = Image {
        base: BASE,
        bytes: t.memory().bytes(),
    };
    let mut probes = vec![0, 0x3FDF_FFFF, 0x7_0000_2FFF, 0x7_0000_A000];
    for i in 0..4000u64 {
        probes.push(0x3FE0_0000 + i * 0x10_3457);
        probes.push(0x7_0000_0000 + i * 0x7);
    }
    for gpa in probes {
        let ours = t.translate(GuestRealAddr(gpa)).unwrap();
        match walk(&img, dw0, gpa) {
            Ok(h) => {
                let o = ours.expect("crate translates what QEMU does");
                assert_eq!(o.l1_ra.raw(), h.raddr);
                assert_eq!(o.pte.raw(), h.pte);
                assert_eq!(o.entry_addr.raw(), h.pte_addr);
                assert_eq!(u64::from(o.size.shift()), h.page_bits);
            }
            Err(cause) => {
                assert_eq!(cause, Some(DSISR_NOPTE));
                assert_eq!(ours, None, "{gpa:#x}");
            }
        }
    }
    let (leaves, tables) = enumerate(&img, BASE);
    assert_eq!(tables.len(), t.dir_pages());
    let bytes: u64 = leaves.iter().map(|l| 1u64 << l.1).sum();
    assert_eq!(bytes, 0x4040_0000 + 0x6000);
}

#[test]
fn qemu_rejects_other_shapes() {
    // The walker itself honours QEMU's level checks: a 12-bit root is a bad configuration.
    let img = with_tree(|_| {});
    let img = Image {
        base: BASE,
        bytes: &img,
    };
    let dw0 = pate_from_gsid([BASE, 52, 65536]) & !0x1F | 12;
    assert_eq!(walk(&img, dw0, 0), Err(Some(common::DSISR_R_BADCONFIG)));
    // Sending the entry count (8192) instead of bytes gives RPDS 10: unusable.
    let dw0 = pate_from_gsid([BASE, 52, 8192]);
    assert_eq!(walk(&img, dw0, 0), Err(Some(common::DSISR_R_BADCONFIG)));
}
