//! The crate's one error type.

use alloc::string::String;

/// Everything building the L2's platform (device tree, layout, kernel image) and running it
/// can fail with. Each variant names what was wrong and with which value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `vm-fdt` refused to write the device tree (its message).
    #[error("device tree: {0}")]
    Fdt(String),
    /// A device tree setting cannot describe a bootable L2.
    #[error("device tree: {what} ({value:#x})")]
    DtConfig {
        /// What is wrong.
        what: &'static str,
        /// The value at fault.
        value: u64,
    },
    /// The device tree, the RTAS blob or the initrd do not fit the L2's RAM.
    #[error("L2 memory layout: {what} ({value:#x}; RAM is {ram_bytes:#x} bytes)")]
    Layout {
        /// What does not fit.
        what: &'static str,
        /// The address or length at fault.
        value: u64,
        /// The L2's RAM size.
        ram_bytes: u64,
    },
    /// The device tree is larger than the room the layout keeps for it.
    #[error("the device tree ({len} bytes) is larger than its room ({room} bytes)")]
    FdtTooLarge {
        /// The tree's size.
        len: u64,
        /// The room ([`FDT_ROOM`](crate::layout::FDT_ROOM)).
        room: u64,
    },
    /// The image is not a well-formed ELF file (the `elf` crate's message).
    #[error("kernel image: malformed ELF: {0}")]
    ElfMalformed(String),
    /// The image is a 32-bit ELF file; the L2 runs 64-bit kernels only.
    #[error("kernel image: a 32-bit ELF (ELFCLASS32); a ppc64 kernel is ELFCLASS64")]
    ElfClass32,
    /// The image is not for 64-bit PowerPC.
    #[error("kernel image: ELF machine {machine} is not EM_PPC64 (21)")]
    ElfMachine {
        /// `e_machine`.
        machine: u16,
    },
    /// The image is neither an executable nor a position-independent executable.
    #[error("kernel image: ELF type {e_type} is neither ET_EXEC (2) nor ET_DYN (3)")]
    ElfType {
        /// `e_type`.
        e_type: u16,
    },
    /// The image has no `PT_LOAD` segment.
    #[error("kernel image: no PT_LOAD segment")]
    ElfNoLoad,
    /// A `PT_LOAD` segment cannot be loaded.
    #[error(
        "kernel image: PT_LOAD #{index} (GPA {gpa:#x}, offset {offset:#x}, filesz {filesz:#x}, memsz {memsz:#x}): {what}"
    )]
    ElfSegment {
        /// Its index among the program headers.
        index: usize,
        /// What is wrong.
        what: &'static str,
        /// Where it would be loaded.
        gpa: u64,
        /// `p_offset`.
        offset: u64,
        /// `p_filesz`.
        filesz: u64,
        /// `p_memsz`.
        memsz: u64,
    },
    /// The entry point lies in no loaded segment.
    #[error("kernel image: entry point {entry:#x} lies in no PT_LOAD segment")]
    ElfEntry {
        /// The entry GPA.
        entry: u64,
    },
    /// The VMM could not write the image into L2 RAM (its message).
    #[error("loading into L2 RAM: {0}")]
    Load(String),
    /// The vCPU (or its guest) refused an operation.
    #[error(transparent)]
    Vcpu(#[from] papr_nestedv2::Error),
    /// The VMM stopped the L2 ([`Board::stop`](crate::Board::stop)): one of its vCPU
    /// loops failed (its message).
    #[error("stopped by the VMM: {0}")]
    Stopped(String),
    /// An exit the platform has no device or emulation for: the run stops with it.
    #[error("unhandled {kind} exit (at {at:#x})")]
    UnhandledExit {
        /// The exit kind's name.
        kind: &'static str,
        /// The address involved (GPA or NIA).
        at: u64,
    },
}
