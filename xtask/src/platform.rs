//! The calls into `papr-platform` (examples/platform), the same code the VMM runs: the
//! kernel ELF inspector, the L2 memory layout, the device-tree builder and the RTAS blob.
//! Kept in this one file so that xtask depends on that crate's API in one place.

/// What xtask needs to know about a kernel ELF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kernel {
    /// The ELF entry point.
    pub entry: u64,
    /// Lowest physical address a `PT_LOAD` covers.
    pub load_start: u64,
    /// End (exclusive) of the highest `PT_LOAD`, `.bss` included.
    pub load_end: u64,
}

impl Kernel {
    /// Bytes from the lowest to the end of the highest loaded segment.
    pub fn span(&self) -> u64 {
        self.load_end.saturating_sub(self.load_start)
    }
}

/// Checks that `image` is a little-endian ppc64 ELF kernel; `Err` says what it is not.
pub fn inspect(image: &[u8]) -> Result<Kernel, String> {
    let k = papr_platform::elf::inspect(image).map_err(|e| e.to_string())?;
    if !k.little_endian {
        return Err("a big-endian ELF: the L2 runs little-endian (ppc64el) kernels".into());
    }
    Ok(Kernel {
        entry: k.entry,
        load_start: k.load_start,
        load_end: k.load_end,
    })
}

/// A device tree and where it and its companions go in guest physical memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree {
    /// The flattened device tree.
    pub dtb: Vec<u8>,
    /// Its guest physical address (r3 at entry).
    pub fdt: u64,
    /// The RTAS blob's guest physical address.
    pub rtas: u64,
    /// The initrd's guest physical [start, end).
    pub initrd: (u64, u64),
}

/// Places DTB, RTAS blob and an initrd of `initrd_len` bytes above `kernel_end` in
/// `ram_bytes` of RAM and builds the L2 device tree (1 vCPU, `bootargs`) for that layout,
/// with the VMM's own builder.
pub fn tree(
    ram_bytes: u64,
    kernel_end: u64,
    initrd_len: u64,
    bootargs: &str,
) -> Result<Tree, String> {
    use papr_platform::{fdt, layout::Layout};
    let place =
        Layout::place(ram_bytes, kernel_end, Some(initrd_len)).map_err(|e| e.to_string())?;
    let initrd = place
        .initrd
        .ok_or("papr-platform placed no initrd though one was given")?;
    let config = fdt::DtConfig {
        ram_bytes,
        bootargs,
        initrd: Some(initrd),
        rtas_base: place.rtas,
        vcpus: 1,
        cpu: fdt::CpuProps::default(),
    };
    let dtb = fdt::build(&config).map_err(|e| e.to_string())?;
    place.check_fdt_len(dtb.len()).map_err(|e| e.to_string())?;
    Ok(Tree {
        dtb,
        fdt: place.fdt,
        rtas: place.rtas,
        initrd,
    })
}

/// The 20-byte RTAS blob the device tree's `/rtas` points at (spec §3.4).
pub fn rtas_blob() -> &'static [u8] {
    &papr_platform::rtas::BLOB
}
