//! The loader on tiny ELF images built here, good and malformed.

use super::*;
use alloc::vec;
use std::cell::RefCell;

const EM_PPC: u16 = 20;

/// What a load did: its result, the writes and the zeroings.
type Loaded = (
    Result<KernelImage, Error>,
    Vec<(u64, Vec<u8>)>,
    Vec<(u64, u64)>,
);

/// A malformed image: name, bytes, RAM size, the error it must give.
type Case = (&'static str, Vec<u8>, u64, fn(&Error) -> bool);

#[derive(Clone, Copy)]
struct Ph {
    p_type: u32,
    offset: u64,
    vaddr: u64,
    paddr: u64,
    filesz: u64,
    memsz: u64,
}

fn load_ph(offset: u64, addr: u64, filesz: u64, memsz: u64) -> Ph {
    Ph {
        p_type: PT_LOAD,
        offset,
        vaddr: addr,
        paddr: addr,
        filesz,
        memsz,
    }
}

/// An ELF64 image: header, program headers at 64, file bytes up to `len` (pattern i%251).
fn elf64(le: bool, e_type: u16, machine: u16, entry: u64, phs: &[Ph], len: usize) -> Vec<u8> {
    let mut f: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let mut h = Vec::new();
    let put16 = |h: &mut Vec<u8>, v: u16| {
        h.extend_from_slice(&if le { v.to_le_bytes() } else { v.to_be_bytes() })
    };
    let put32 = |h: &mut Vec<u8>, v: u32| {
        h.extend_from_slice(&if le { v.to_le_bytes() } else { v.to_be_bytes() })
    };
    let put64 = |h: &mut Vec<u8>, v: u64| {
        h.extend_from_slice(&if le { v.to_le_bytes() } else { v.to_be_bytes() })
    };
    h.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, if le { 1 } else { 2 }, 1, 0]);
    h.extend_from_slice(&[0; 8]);
    put16(&mut h, e_type);
    put16(&mut h, machine);
    put32(&mut h, 1);
    put64(&mut h, entry);
    put64(&mut h, if phs.is_empty() { 0 } else { 64 });
    put64(&mut h, 0);
    put32(&mut h, 0);
    put16(&mut h, 64);
    put16(&mut h, 56);
    put16(&mut h, phs.len() as u16);
    put16(&mut h, 0);
    put16(&mut h, 0);
    put16(&mut h, 0);
    for p in phs {
        put32(&mut h, p.p_type);
        put32(&mut h, 7);
        put64(&mut h, p.offset);
        put64(&mut h, p.vaddr);
        put64(&mut h, p.paddr);
        put64(&mut h, p.filesz);
        put64(&mut h, p.memsz);
        put64(&mut h, 0x1_0000);
    }
    assert!(h.len() <= f.len());
    f[..h.len()].copy_from_slice(&h);
    f
}

/// Loads into a recording of writes and zeroings.
fn load_rec(image: &[u8], base: u64, ram: u64) -> Loaded {
    let writes = RefCell::new(Vec::new());
    let zeros = RefCell::new(Vec::new());
    let r = load(
        image,
        base,
        ram,
        &mut |gpa, b| {
            writes.borrow_mut().push((gpa, b.to_vec()));
            Ok(())
        },
        &mut |gpa, n| {
            zeros.borrow_mut().push((gpa, n));
            Ok(())
        },
    );
    (r, writes.into_inner(), zeros.into_inner())
}

#[test]
fn vmlinux_like_exec_loads_at_paddr_with_top_nibble_dropped() {
    let ph = Ph {
        vaddr: 0xc000_0000_0000_0000,
        paddr: 0,
        ..load_ph(0x1000, 0, 0x100, 0x300)
    };
    let img = elf64(
        true,
        ET_EXEC,
        EM_PPC64,
        0xc000_0000_0000_0000,
        &[ph],
        0x1100,
    );
    let k = inspect(&img).unwrap();
    assert_eq!(
        k,
        KernelImage {
            entry: 0,
            kind: ElfKind::Exec,
            load_start: 0,
            load_end: 0x300,
            little_endian: true
        }
    );
    let (r, w, z) = load_rec(&img, 0x40_0000, 1 << 20);
    assert_eq!(r.unwrap(), k, "ET_EXEC ignores the base");
    assert_eq!(w, vec![(0, img[0x1000..0x1100].to_vec())]);
    assert_eq!(z, vec![(0x100, 0x200)]);
}

#[test]
fn big_endian_dyn_loads_at_base() {
    let phs = [
        load_ph(0x1000, 0, 0x80, 0x80),
        Ph {
            p_type: 4, // PT_NOTE: skipped
            ..load_ph(0, 0, 0, 0x10)
        },
        load_ph(0x1080, 0x2000, 0, 0x1000), // pure .bss
    ];
    let img = elf64(false, ET_DYN, EM_PPC64, 0x10, &phs, 0x1100);
    let k = inspect(&img).unwrap();
    assert_eq!(
        (k.entry, k.kind, k.load_start, k.load_end, k.little_endian),
        (0x10, ElfKind::Dyn, 0, 0x3000, false)
    );
    let (r, w, z) = load_rec(&img, 0x40_0000, 1 << 30);
    let k = r.unwrap();
    assert_eq!(
        (k.entry, k.load_start, k.load_end),
        (0x40_0010, 0x40_0000, 0x40_3000)
    );
    assert_eq!(w, vec![(0x40_0000, img[0x1000..0x1080].to_vec())]);
    assert_eq!(z, vec![(0x40_2000, 0x1000)]);
}

#[test]
fn malformed_images_are_refused_before_any_write() {
    let good = load_ph(0x1000, 0, 0x100, 0x100);
    let ok = elf64(true, ET_EXEC, EM_PPC64, 0, &[good], 0x1100);
    let mut cases: Vec<Case> = vec![
        ("truncated header", ok[..40].to_vec(), 1 << 20, |e| {
            matches!(e, Error::ElfMalformed(_))
        }),
        (
            "program headers past the file",
            ok[..100].to_vec(),
            1 << 20,
            |e| matches!(e, Error::ElfMalformed(_)),
        ),
        (
            "not ELF",
            b"\x7fELG\x02\x01\x01\0\0\0\0\0\0\0\0\0".repeat(8),
            1 << 20,
            |e| matches!(e, Error::ElfMalformed(_)),
        ),
        (
            "segment past the file",
            elf64(
                true,
                ET_EXEC,
                EM_PPC64,
                0,
                &[load_ph(0x1000, 0, 0x101, 0x200)],
                0x1100,
            ),
            1 << 20,
            |e| matches!(e, Error::ElfSegment { what, .. } if what.contains("past the image")),
        ),
        (
            "offset wraps",
            elf64(
                true,
                ET_EXEC,
                EM_PPC64,
                0,
                &[load_ph(u64::MAX, 0, 2, 2)],
                0x1100,
            ),
            1 << 20,
            |e| matches!(e, Error::ElfSegment { .. }),
        ),
        (
            "memsz < filesz",
            elf64(
                true,
                ET_EXEC,
                EM_PPC64,
                0,
                &[load_ph(0x1000, 0, 0x100, 0x80)],
                0x1100,
            ),
            1 << 20,
            |e| matches!(e, Error::ElfSegment { what, .. } if what.contains("smaller")),
        ),
        (
            "beyond RAM",
            elf64(
                true,
                ET_EXEC,
                EM_PPC64,
                0,
                &[load_ph(0x1000, 0xF_FF80, 0x100, 0x100)],
                0x1100,
            ),
            1 << 20,
            |e| matches!(e, Error::ElfSegment { what, gpa: 0xF_FF80, .. } if what.contains("RAM")),
        ),
        (
            "wraps",
            elf64(
                true,
                ET_EXEC,
                EM_PPC64,
                0,
                &[load_ph(0x1000, 0x1000, 0x100, u64::MAX)],
                0x1100,
            ),
            u64::MAX,
            |e| matches!(e, Error::ElfSegment { .. }),
        ),
        (
            "wrong machine",
            elf64(true, ET_EXEC, EM_PPC, 0, &[good], 0x1100),
            1 << 20,
            |e| *e == Error::ElfMachine { machine: 20 },
        ),
        (
            "relocatable",
            elf64(true, 1, EM_PPC64, 0, &[good], 0x1100),
            1 << 20,
            |e| *e == Error::ElfType { e_type: 1 },
        ),
        (
            "no PT_LOAD",
            elf64(true, ET_EXEC, EM_PPC64, 0, &[], 0x1100),
            1 << 20,
            |e| *e == Error::ElfNoLoad,
        ),
        (
            "overlap",
            elf64(
                true,
                ET_EXEC,
                EM_PPC64,
                0,
                &[
                    load_ph(0x1000, 0x1000, 0x10, 0x1000),
                    load_ph(0x1000, 0x1800, 0x10, 0x10),
                ],
                0x1100,
            ),
            1 << 20,
            |e| matches!(e, Error::ElfSegment { index: 1, what, .. } if what.contains("overlaps")),
        ),
        (
            "entry outside",
            elf64(true, ET_EXEC, EM_PPC64, 0x100, &[good], 0x1100),
            1 << 20,
            |e| *e == Error::ElfEntry { entry: 0x100 },
        ),
    ];
    let mut c32 = ok.clone();
    c32[4] = 1;
    cases.push(("32-bit", c32, 1 << 20, |e| *e == Error::ElfClass32));
    for (what, img, ram, check) in cases {
        let (r, w, z) = load_rec(&img, 0, ram);
        let e = r.expect_err(what);
        assert!(check(&e), "{what}: {e}");
        assert!(w.is_empty() && z.is_empty(), "{what}: wrote");
    }
    // The good one does load, and a DYN base that wraps is refused.
    assert!(load_rec(&ok, 0, 1 << 20).0.is_ok());
    let dyn_img = elf64(true, ET_DYN, EM_PPC64, 0, &[good], 0x1100);
    assert!(matches!(
        load_rec(&dyn_img, u64::MAX, u64::MAX).0,
        Err(Error::ElfSegment { .. })
    ));
}

#[test]
fn write_errors_pass_through() {
    let img = elf64(
        true,
        ET_EXEC,
        EM_PPC64,
        0,
        &[load_ph(0x1000, 0, 0x10, 0x20)],
        0x1100,
    );
    let r = load(
        &img,
        0,
        1 << 20,
        &mut |_, _| Err(Error::Load("full".into())),
        &mut |_, _| Ok(()),
    );
    assert_eq!(r, Err(Error::Load("full".into())));
    let r = load(&img, 0, 1 << 20, &mut |_, _| Ok(()), &mut |_, _| {
        Err(Error::Load("z".into()))
    });
    assert_eq!(r, Err(Error::Load("z".into())));
}
