//! The direct boot, the yardstick of the nested one: the same kernel, initramfs and device
//! tree (built on the host by `papr-platform`, the builder the VMM runs) booted as QEMU's own
//! guest, entered the way the VMM enters its L2 (kexec style: r3 = DTB, r4 = r5 = 0).
//!
//! QEMU loads the kernel with `-kernel` at its default `kernel-addr` (0x400000; the kernel
//! relocates itself to 0), the DTB, the RTAS blob and the initrd with `-device loader`, and
//! starts a stub firmware (`-bios`) at 0x100 in big-endian real mode; the stub sets the
//! registers and branches to the kernel (spec `linux-l2.md` §5).

use crate::platform::{self, Kernel};
use crate::qemu;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where QEMU's pseries machine loads `-kernel` by default (`kernel-addr`).
pub const KERNEL_ADDR: u64 = 0x40_0000;
/// Where QEMU starts a `-bios` image.
const BIOS_ENTRY: usize = 0x100;

/// The stub firmware: 0x100 zero bytes, then big-endian instructions that set r3 = `dtb`,
/// r4 = r5 = 0 and branch to `entry` (both below 4 GiB: the CPU starts in 32-bit mode).
pub fn stub(dtb: u64, entry: u64) -> Result<Vec<u8>, String> {
    let split = |what: &str, a: u64| -> Result<(u32, u32), String> {
        let a = u32::try_from(a)
            .map_err(|_| format!("{what} {a:#x} is not below 4 GiB, which the stub needs"))?;
        Ok((a >> 16, a & 0xffff))
    };
    let (dtb_hi, dtb_lo) = split("DTB address", dtb)?;
    let (pc_hi, pc_lo) = split("kernel entry", entry)?;
    let words: [u32; 10] = [
        0x3860_0000,          // li    r3,0
        0x6463_0000 | dtb_hi, // oris  r3,r3,dtb@h
        0x6063_0000 | dtb_lo, // ori   r3,r3,dtb@l
        0x3880_0000,          // li    r4,0
        0x38a0_0000,          // li    r5,0 (no Open Firmware: kexec entry)
        0x38c0_0000,          // li    r6,0
        0x64c6_0000 | pc_hi,  // oris  r6,r6,entry@h
        0x60c6_0000 | pc_lo,  // ori   r6,r6,entry@l
        0x7cc9_03a6,          // mtctr r6
        0x4e80_0420,          // bctr
    ];
    let mut image = vec![0u8; BIOS_ENTRY];
    for w in words {
        image.extend_from_slice(&w.to_be_bytes());
    }
    Ok(image)
}

/// The files of one direct boot, written into a folder.
#[derive(Debug)]
pub struct Files {
    /// The stub firmware (`-bios`).
    pub stub: PathBuf,
    /// The device tree and its address.
    pub dtb: (PathBuf, u64),
    /// The RTAS blob and its address.
    pub rtas: (PathBuf, u64),
    /// The initrd's address.
    pub initrd: u64,
}

/// Builds the device tree for `ram_mib` MiB, an initrd of `initrd_len` bytes and `bootargs`
/// around `kernel` loaded at [`KERNEL_ADDR`], and writes the stub, DTB and RTAS blob into
/// `dir`.
pub fn prepare(
    dir: &Path,
    kernel: &Kernel,
    ram_mib: u64,
    initrd_len: u64,
    bootargs: &str,
) -> Result<Files, String> {
    let kernel_end = KERNEL_ADDR
        .checked_add(kernel.span())
        .ok_or("kernel span overflows")?;
    let tree = platform::tree(ram_mib << 20, kernel_end, initrd_len, bootargs)?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |name: &str, bytes: &[u8]| -> Result<PathBuf, String> {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(p)
    };
    Ok(Files {
        stub: write("stub.bin", &stub(tree.fdt, KERNEL_ADDR)?)?,
        dtb: (write("l2.dtb", &tree.dtb)?, tree.fdt),
        rtas: (write("rtas.bin", platform::rtas_blob())?, tree.rtas),
        initrd: tree.initrd.0,
    })
}

/// QEMU pseries accepts only multiples of 256 MiB of RAM.
fn qemu_ram_mib(ram_mib: u64) -> u64 {
    ram_mib.div_ceil(256).max(1) * 256
}

/// `-device loader` that puts `file` at guest physical `addr` as is.
fn loader(c: &mut Command, file: &Path, addr: u64) {
    c.arg("-device").arg(format!(
        "loader,file={},addr={addr:#x},force-raw=on",
        file.display()
    ));
}

/// The QEMU line of the direct boot: `ram_mib` MiB, the stub as firmware, the kernel at
/// [`KERNEL_ADDR`] and the other files where [`prepare`] placed them.
/// QEMU's RAM is `ram_mib` rounded up to the 256 MiB pseries needs; the tree tells the kernel
/// the exact size.
pub fn command(files: &Files, ram_mib: u64, kernel: &Path, initrd: &Path) -> Command {
    let mut c = qemu::command_with("", &format!("{}M", qemu_ram_mib(ram_mib)), &files.stub);
    c.arg("-kernel").arg(kernel);
    loader(&mut c, &files.dtb.0, files.dtb.1);
    loader(&mut c, &files.rtas.0, files.rtas.1);
    loader(&mut c, initrd, files.initrd);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(img: &[u8], i: usize) -> u32 {
        let at = BIOS_ENTRY + 4 * i;
        u32::from_be_bytes(img[at..at + 4].try_into().unwrap())
    }

    #[test]
    fn stub_sets_r3_r4_r5_and_branches() {
        let img = stub(0x0304_5000, KERNEL_ADDR).unwrap();
        assert_eq!(img.len(), BIOS_ENTRY + 40);
        assert!(img[..BIOS_ENTRY].iter().all(|&b| b == 0));
        // oris/ori rebuild the DTB address in r3, zero-extended.
        assert_eq!(word(&img, 1), 0x6463_0304);
        assert_eq!(word(&img, 2), 0x6063_5000);
        assert_eq!((word(&img, 3), word(&img, 4)), (0x3880_0000, 0x38a0_0000));
        assert_eq!(word(&img, 6), 0x64c6_0040);
        assert_eq!(word(&img, 7), 0x60c6_0000);
        assert_eq!(word(&img, 9), 0x4e80_0420);
        // Big-endian words: QEMU starts the CPU big-endian.
        assert_eq!(&img[BIOS_ENTRY..BIOS_ENTRY + 4], &[0x38, 0x60, 0, 0]);
    }

    #[test]
    fn qemu_ram_is_a_multiple_of_256_mib() {
        assert_eq!(qemu_ram_mib(256), 256);
        assert_eq!(qemu_ram_mib(384), 512);
        assert_eq!(qemu_ram_mib(96), 256);
        assert_eq!(qemu_ram_mib(1024), 1024);
    }

    #[test]
    fn stub_refuses_addresses_above_4_gib() {
        let e = stub(1 << 32, KERNEL_ADDR).unwrap_err();
        assert!(e.contains("0x100000000"), "{e}");
        assert!(stub(0x1000, 1 << 40).is_err());
    }
}
