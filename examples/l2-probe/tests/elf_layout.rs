//! Decodes the generated kernels with a host ELF parser (`elf` 0.8, the crate the
//! platform's loader uses) and checks the headers, the segment, the entry, the vector
//! stubs and that the probe table is in the image.
// Test helpers: a panic is the failure report (clippy.toml allows it in #[test] fns only).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use elf::abi::{EM_PPC64, ET_DYN, PF_R, PF_W, PF_X, PT_LOAD};
use elf::endian::AnyEndian;
use elf::file::Class;
use elf::ElfBytes;
use papr_l2_probe::{insn, kernel, kernel_elf, panic_kernel_elf, PROBES};

fn word(seg: &[u8], off: u64) -> u32 {
    let o = off as usize;
    u32::from_be_bytes(seg[o..o + 4].try_into().unwrap())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The one loadable segment: (header, file bytes).
fn segment(bytes: &[u8]) -> (elf::segment::ProgramHeader, Vec<u8>) {
    let file = ElfBytes::<AnyEndian>::minimal_parse(bytes).unwrap();
    let h = file.ehdr;
    assert_eq!(h.class, Class::ELF64);
    assert_eq!(h.endianness, AnyEndian::Big);
    assert_eq!(h.e_type, ET_DYN);
    assert_eq!(h.e_machine, EM_PPC64);
    assert_eq!(h.e_entry, 0);
    assert_eq!(h.e_flags, 2, "ELFv2: no function descriptors");
    let phdrs: Vec<_> = file.segments().unwrap().iter().collect();
    assert_eq!(phdrs.len(), 1);
    let p = phdrs[0];
    assert_eq!(p.p_type, PT_LOAD);
    assert_eq!(p.p_flags, PF_R | PF_W | PF_X);
    assert_eq!((p.p_vaddr, p.p_paddr), (0, 0));
    assert_eq!(p.p_offset, 0x1000);
    assert_eq!(p.p_align, 0x1000);
    assert_eq!(p.p_offset % p.p_align, p.p_vaddr % p.p_align);
    assert!(p.p_memsz >= p.p_filesz + kernel::SCRATCH_BYTES);
    assert_eq!(p.p_offset + p.p_filesz, bytes.len() as u64);
    let text = file.section_header_by_name(".text").unwrap().unwrap();
    assert_eq!((text.sh_offset, text.sh_size), (p.p_offset, p.p_filesz));
    let bss = file.section_header_by_name(".bss").unwrap().unwrap();
    assert_eq!(bss.sh_addr + bss.sh_size, p.p_memsz);
    (p, file.segment_data(&p).unwrap().to_vec())
}

#[test]
fn probe_kernel_headers_segment_and_entry() {
    let bytes = kernel_elf().unwrap();
    let (p, seg) = segment(&bytes);
    // Entry 0 branches over the header and the vectors to `start`.
    assert_eq!(word(&seg, 0), insn::b_rel(kernel::START as i32, false));
    // `start` saves the entry MSR, r3 and r5, then sets MSR[SF].
    assert_eq!(word(&seg, kernel::START), insn::mfmsr(29));
    // Header: magic, version, probe count.
    assert_eq!(&seg[8..16], b"PAPRL2PB");
    assert_eq!(word(&seg, 16), 1);
    assert_eq!(word(&seg, 20) as usize, PROBES.len());
    // Every probe name is in the image, as is the closing line.
    for probe in PROBES {
        let line = format!("{}\n", probe.name);
        assert!(contains(&seg, line.as_bytes()), "{} missing", probe.name);
    }
    let done = format!("probe-done {}\n", PROBES.len());
    assert!(contains(&seg, done.as_bytes()));
    assert!(contains(&seg, b"probe "));
    assert!(contains(&seg, b" rc="));
    assert!(contains(&seg, b"0123456789abcdef"));
    assert!(
        p.p_filesz < 0x10000,
        "a tiny kernel: {:#x} bytes",
        p.p_filesz
    );
}

#[test]
fn vector_stubs() {
    let (_, seg) = segment(&kernel_elf().unwrap());
    // The decrementer stub re-arms DEC and returns.
    let dec: Vec<u32> = (0..6).map(|i| word(&seg, 0x900 + 4 * i)).collect();
    assert_eq!(dec[3], insn::mtspr(insn::SPR_DEC, 3));
    assert_eq!(dec[5], insn::RFID);
    // Every other slot goes to the trap handler with r3 = its vector.
    let mut slot = kernel::VECTORS;
    while slot < kernel::START {
        if slot != kernel::DEC_VECTOR {
            assert_eq!(word(&seg, slot + 4), insn::mfspr(3, insn::SPR_SPRG3));
            assert_eq!(word(&seg, slot + 12), insn::li(3, slot as i16), "{slot:#x}");
            assert_eq!(word(&seg, slot + 16), insn::BCTR);
        }
        slot += kernel::VECTOR_SLOT;
    }
}

#[test]
fn panic_kernel_has_the_illegal_word_and_the_panic_text() {
    let (_, seg) = segment(&panic_kernel_elf().unwrap());
    let at = kernel::panic_word_offset().unwrap();
    assert!(at > kernel::START);
    assert_eq!(word(&seg, at), kernel::ILLEGAL_WORD);
    // Right after `bl report` for `probe panic.load-base`.
    let bl = word(&seg, at - 4);
    assert_eq!((bl >> 26, bl & 3), (18, 1), "{bl:#x}");
    let text = format!("{}\0", kernel::PANIC_TEXT);
    assert!(contains(&seg, text.as_bytes()));
    assert!(!contains(&seg, b"probe-done"));
}
