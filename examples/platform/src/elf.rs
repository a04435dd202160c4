//! The kernel loader: 64-bit PowerPC ELF images (`vmlinux`, small test kernels), parsed with
//! the `elf` crate (`no_std`, no alloc) and checked segment by segment before a byte is
//! written.
//!
//! Addresses follow QEMU's pseries loader (`translate_kernel_address`): a segment goes to
//! `p_paddr` with the top nibble dropped (`& 0x0fff_ffff_ffff_ffff`, so `vmlinux`'s
//! 0xc000… addresses land at 0); an `ET_DYN` image is loaded at `base` plus that. The entry
//! point is translated the same way.

use crate::error::Error;
use alloc::format;
use alloc::vec::Vec;
use elf::abi::{EM_PPC64, ET_DYN, ET_EXEC, PT_LOAD};
use elf::endian::AnyEndian;
use elf::file::Class;
use elf::ElfBytes;

/// The address bits QEMU keeps of an ELF address.
pub const ADDR_MASK: u64 = 0x0fff_ffff_ffff_ffff;

/// The kind of image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfKind {
    /// `ET_EXEC`: loaded at its physical addresses.
    Exec,
    /// `ET_DYN`: position independent, loaded at a base.
    Dyn,
}

/// What a kernel image is and where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelImage {
    /// The entry GPA (for `ET_DYN`: relative to the base from [`inspect`], absolute from
    /// [`load`]).
    pub entry: u64,
    /// The kind of image.
    pub kind: ElfKind,
    /// The lowest GPA a `PT_LOAD` segment covers.
    pub load_start: u64,
    /// The end (exclusive) of the highest `PT_LOAD` segment, `.bss` included.
    pub load_end: u64,
    /// Whether the image is little-endian (ppc64el).
    pub little_endian: bool,
}

/// Writes bytes into L2 RAM at a GPA (the VMM's side of [`load`]).
pub type WriteFn<'a> = dyn FnMut(u64, &[u8]) -> Result<(), Error> + 'a;

/// Zeroes `len` bytes of L2 RAM at a GPA (the VMM's side of [`load`]).
pub type ZeroFn<'a> = dyn FnMut(u64, u64) -> Result<(), Error> + 'a;

/// One checked `PT_LOAD` segment.
#[derive(Debug, Clone, Copy)]
struct Segment {
    gpa: u64,
    offset: u64,
    filesz: u64,
    memsz: u64,
}

/// Parses and checks `image` as if loaded at `base` into `ram_bytes` of RAM.
fn plan(image: &[u8], base: u64, ram_bytes: u64) -> Result<(KernelImage, Vec<Segment>), Error> {
    let malformed = |e: elf::ParseError| Error::ElfMalformed(format!("{e}"));
    // The class is checked first, so a 32-bit file gets its own error.
    if image.get(..4) == Some(&elf::abi::ELFMAGIC[..])
        && image.get(4) == Some(&elf::abi::ELFCLASS32)
    {
        return Err(Error::ElfClass32);
    }
    let file = ElfBytes::<AnyEndian>::minimal_parse(image).map_err(malformed)?;
    let h = &file.ehdr;
    if h.class != Class::ELF64 {
        return Err(Error::ElfClass32);
    }
    if h.e_machine != EM_PPC64 {
        return Err(Error::ElfMachine {
            machine: h.e_machine,
        });
    }
    let (kind, base) = match h.e_type {
        ET_EXEC => (ElfKind::Exec, 0),
        ET_DYN => (ElfKind::Dyn, base),
        e_type => return Err(Error::ElfType { e_type }),
    };
    let place = |addr: u64| base.checked_add(addr & ADDR_MASK);
    let mut segments = Vec::new();
    for (index, ph) in file.segments().into_iter().flatten().enumerate() {
        if ph.p_type != PT_LOAD || ph.p_memsz == 0 {
            continue;
        }
        let bad = |what, gpa| Error::ElfSegment {
            index,
            what,
            gpa,
            offset: ph.p_offset,
            filesz: ph.p_filesz,
            memsz: ph.p_memsz,
        };
        let gpa = place(ph.p_paddr).ok_or(bad("the load address wraps", ph.p_paddr))?;
        if ph.p_filesz > ph.p_memsz {
            return Err(bad("p_memsz is smaller than p_filesz", gpa));
        }
        let file_end = ph.p_offset.checked_add(ph.p_filesz);
        if file_end.is_none_or(|e| e > image.len() as u64) {
            return Err(bad("the segment's file bytes run past the image", gpa));
        }
        let end = gpa
            .checked_add(ph.p_memsz)
            .ok_or(bad("the segment wraps around the address space", gpa))?;
        if end > ram_bytes {
            return Err(bad("the segment runs past the end of RAM", gpa));
        }
        segments.push(Segment {
            gpa,
            offset: ph.p_offset,
            filesz: ph.p_filesz,
            memsz: ph.p_memsz,
        });
    }
    let (Some(first), Some(last_end)) = (
        segments.iter().map(|s| s.gpa).min(),
        segments.iter().map(|s| s.gpa + s.memsz).max(),
    ) else {
        return Err(Error::ElfNoLoad);
    };
    let mut sorted: Vec<(usize, Segment)> = segments.iter().copied().enumerate().collect();
    sorted.sort_by_key(|(_, s)| s.gpa);
    for pair in sorted.windows(2) {
        if let [(_, a), (index, b)] = pair {
            if a.gpa + a.memsz > b.gpa {
                return Err(Error::ElfSegment {
                    index: *index,
                    what: "the segment overlaps another PT_LOAD",
                    gpa: b.gpa,
                    offset: b.offset,
                    filesz: b.filesz,
                    memsz: b.memsz,
                });
            }
        }
    }
    let entry = place(h.e_entry).ok_or(Error::ElfEntry { entry: h.e_entry })?;
    if !segments
        .iter()
        .any(|s| (s.gpa..s.gpa + s.memsz).contains(&entry))
    {
        return Err(Error::ElfEntry { entry });
    }
    let image = KernelImage {
        entry,
        kind,
        load_start: first,
        load_end: last_end,
        little_endian: h.endianness == AnyEndian::Little,
    };
    Ok((image, segments))
}

/// Reads what `image` is and where it would go (an `ET_DYN` image as if loaded at 0),
/// checking it as [`load`] does but without a RAM limit.
///
/// ```
/// // Not an ELF file:
/// assert!(papr_platform::elf::inspect(b"MZ\0\0").is_err());
/// ```
///
/// # Errors
/// [`Error::ElfMalformed`], [`Error::ElfClass32`], [`Error::ElfMachine`],
/// [`Error::ElfType`], [`Error::ElfNoLoad`], [`Error::ElfSegment`], [`Error::ElfEntry`].
pub fn inspect(image: &[u8]) -> Result<KernelImage, Error> {
    plan(image, 0, u64::MAX).map(|(k, _)| k)
}

/// Loads `image` into L2 RAM through `write(gpa, bytes)` and zeroes each segment's
/// `p_memsz − p_filesz` tail (`.bss`) through `zero(gpa, len)`: `ET_EXEC` at its physical
/// addresses, `ET_DYN` at `base`. Every segment is checked first (inside `ram_bytes`, file
/// bytes inside the image, `p_memsz ≥ p_filesz`, no overlap, no wrap, the entry inside a
/// segment), so nothing is written for a bad image. Returns the image with the entry
/// relocated.
///
/// # Errors
/// As [`inspect`]; plus whatever `write` or `zero` return.
pub fn load(
    image: &[u8],
    base: u64,
    ram_bytes: u64,
    write: &mut WriteFn<'_>,
    zero: &mut ZeroFn<'_>,
) -> Result<KernelImage, Error> {
    let (k, segments) = plan(image, base, ram_bytes)?;
    for s in &segments {
        let from = usize::try_from(s.offset)
            .map_err(|_| Error::Load(format!("offset {:#x}", s.offset)))?;
        let len = usize::try_from(s.filesz)
            .map_err(|_| Error::Load(format!("filesz {:#x}", s.filesz)))?;
        let bytes = image
            .get(from..from.saturating_add(len))
            .ok_or(Error::Load(format!("segment bytes at {from:#x}+{len:#x}")))?;
        if !bytes.is_empty() {
            write(s.gpa, bytes)?;
        }
        if s.memsz > s.filesz {
            zero(s.gpa + s.filesz, s.memsz - s.filesz)?;
        }
    }
    Ok(k)
}

#[cfg(test)]
#[path = "elf_tests.rs"]
mod tests;
