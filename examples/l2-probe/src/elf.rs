//! The ELF64 big-endian container of the probe kernel.
//!
//! Layout of the file [`write()`] produces:
//!
//! | file offset | what |
//! |---|---|
//! | 0x000 | ELF header: `ELFCLASS64`, `ELFDATA2MSB`, `ET_DYN`, `EM_PPC64` (21), `e_flags` 2 (ELFv2: no function descriptors), `e_entry` = the entry offset |
//! | 0x040 | one program header: `PT_LOAD`, flags RWX, `p_offset` 0x1000, `p_vaddr` = `p_paddr` = 0, `p_filesz` = image bytes, `p_memsz` = image + zero-filled tail, `p_align` 0x1000 |
//! | 0x078 | section names (`.shstrtab`) |
//! | 0x0A0 | four section headers: null, `.text` (the file part), `.bss` (the tail), `.shstrtab`; only so that `readelf`/`objdump` can show the image |
//! | 0x1000 | the image, linked at 0 |
//!
//! ```
//! let elf = papr_l2_probe::elf::write(&[0x48, 0, 0, 0], 0x2000, 0);
//! assert_eq!(&elf[..4], b"\x7fELF");
//! assert_eq!(elf.len(), 0x1004);
//! ```

use alloc::vec::Vec;

/// `EM_PPC64`.
pub const EM_PPC64: u16 = 21;
/// `ET_DYN`: position independent (the loader picks the base).
pub const ET_DYN: u16 = 3;
/// `PT_LOAD`.
pub const PT_LOAD: u32 = 1;
/// `PF_X | PF_W | PF_R`.
pub const PF_RWX: u32 = 7;
/// File offset (and alignment) of the loadable segment.
pub const SEGMENT_OFFSET: u64 = 0x1000;

const EHDR_SIZE: u16 = 64;
const PHDR_SIZE: u16 = 56;
const SHDR_SIZE: u16 = 64;
const SHSTRTAB: &[u8] = b"\0.text\0.bss\0.shstrtab\0";
const SHSTRTAB_OFFSET: u64 = (EHDR_SIZE + PHDR_SIZE) as u64;
const SHDR_OFFSET: u64 = 0xA0;

fn put16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}
fn put32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_be_bytes());
}
fn put64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_be_bytes());
}

#[allow(clippy::too_many_arguments)]
fn section(
    v: &mut Vec<u8>,
    name: u32,
    kind: u32,
    flags: u64,
    addr: u64,
    offset: u64,
    size: u64,
    align: u64,
) {
    put32(v, name);
    put32(v, kind);
    put64(v, flags);
    put64(v, addr);
    put64(v, offset);
    put64(v, size);
    put32(v, 0); // sh_link
    put32(v, 0); // sh_info
    put64(v, align);
    put64(v, 0); // sh_entsize
}

/// An ELF64 big-endian `ET_DYN` file for `EM_PPC64` with one RWX `PT_LOAD` segment holding
/// `image` at virtual and physical address 0, `mem_size` bytes in memory (the rest
/// zero-filled; at least `image.len()`), entered at `entry`.
pub fn write(image: &[u8], mem_size: u64, entry: u64) -> Vec<u8> {
    let filesz = image.len() as u64;
    let memsz = mem_size.max(filesz);
    let mut v = Vec::with_capacity(SEGMENT_OFFSET as usize + image.len());
    // e_ident: magic, ELFCLASS64, ELFDATA2MSB, EV_CURRENT, ELFOSABI_NONE, ABI version 0.
    v.extend_from_slice(&[0x7F, b'E', b'L', b'F', 2, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    put16(&mut v, ET_DYN);
    put16(&mut v, EM_PPC64);
    put32(&mut v, 1); // e_version
    put64(&mut v, entry);
    put64(&mut v, u64::from(EHDR_SIZE)); // e_phoff
    put64(&mut v, SHDR_OFFSET); // e_shoff
    put32(&mut v, 2); // e_flags: ELFv2 ABI
    put16(&mut v, EHDR_SIZE);
    put16(&mut v, PHDR_SIZE);
    put16(&mut v, 1); // e_phnum
    put16(&mut v, SHDR_SIZE);
    put16(&mut v, 4); // e_shnum
    put16(&mut v, 3); // e_shstrndx
                      // Program header.
    put32(&mut v, PT_LOAD);
    put32(&mut v, PF_RWX);
    put64(&mut v, SEGMENT_OFFSET);
    put64(&mut v, 0); // p_vaddr
    put64(&mut v, 0); // p_paddr
    put64(&mut v, filesz);
    put64(&mut v, memsz);
    put64(&mut v, SEGMENT_OFFSET); // p_align
                                   // Section names, then the section headers.
    v.extend_from_slice(SHSTRTAB);
    v.resize(SHDR_OFFSET as usize, 0);
    const SHT_PROGBITS: u32 = 1;
    const SHT_STRTAB: u32 = 3;
    const SHT_NOBITS: u32 = 8;
    const SHF_WAX: u64 = 1 | 2 | 4;
    section(&mut v, 0, 0, 0, 0, 0, 0, 0);
    section(
        &mut v,
        1,
        SHT_PROGBITS,
        SHF_WAX,
        0,
        SEGMENT_OFFSET,
        filesz,
        4,
    );
    section(
        &mut v,
        7,
        SHT_NOBITS,
        1 | 2,
        filesz,
        SEGMENT_OFFSET + filesz,
        memsz - filesz,
        1,
    );
    let strtab = SHSTRTAB.len() as u64;
    section(&mut v, 12, SHT_STRTAB, 0, 0, SHSTRTAB_OFFSET, strtab, 1);
    v.resize(SEGMENT_OFFSET as usize, 0);
    v.extend_from_slice(image);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_fit_before_the_segment() {
        assert!(SHSTRTAB_OFFSET + SHSTRTAB.len() as u64 <= SHDR_OFFSET);
        assert!(SHDR_OFFSET + 4 * u64::from(SHDR_SIZE) <= SEGMENT_OFFSET);
        let e = write(&[1, 2, 3, 4], 0, 0);
        assert_eq!(e.len(), 0x1004);
        assert_eq!(&e[0x1000..], &[1, 2, 3, 4]);
        // p_memsz is at least p_filesz.
        assert_eq!(&e[0x40 + 40..0x40 + 48], &4u64.to_be_bytes());
    }
}
