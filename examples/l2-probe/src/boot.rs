//! How the probe kernel is booted: under the L1 VMM (`pseries-vmm`), or directly as a
//! plain QEMU pseries guest (to see what QEMU itself answers).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

/// Where QEMU's generic loader puts the raw ELF file in the L1's memory.
pub const L1_FILE_ADDR: u64 = 0x3000_0000;
/// The L2 guest real address the VMM loads the `ET_DYN` kernel at (`vmm.base`).
pub const L2_BASE: u64 = 0x40_0000;

/// The `-M` value the VMM boot needs: nested APIv2, and QEMU's own `-kernel` copy of the
/// image placed at L1 0x10000000 (the start of the VMM's L2 RAM, i.e. GPA 0) instead of
/// its default 0x400000, inside the VMM's heap.
pub const VMM_MACHINE: &str = "pseries,cap-nested-papr=on,kernel-addr=0x10000000";

/// The QEMU arguments that hand the probe kernel to the VMM: the ELF file raw at
/// [`L1_FILE_ADDR`] and the VMM's command line `vmm.kernel=<addr>,<len>
/// vmm.base=<base>` (hex numbers), so that the VMM loads it at [`L2_BASE`]. The same file
/// also goes to `-kernel`, only because QEMU refuses `-append` without `-kernel` ("-append
/// only allowed with -kernel option"); with [`VMM_MACHINE`] that copy lands at GPA 0 and
/// is not used. The caller adds `-M` [`VMM_MACHINE`], `-cpu power10 -m 2G -smp 1
/// -nographic -no-reboot` and `-bios pseries-vmm.bin` (see [`vmm_qemu_args`]). `elf_path`
/// must not contain a comma (QEMU's option syntax).
///
/// ```
/// let a = papr_l2_probe::qemu_args("/tmp/probe.elf", 0x3000);
/// assert_eq!(a, [
///     "-kernel", "/tmp/probe.elf",
///     "-device", "loader,file=/tmp/probe.elf,addr=0x30000000,force-raw=on",
///     "-append", "vmm.kernel=0x30000000,0x3000 vmm.base=0x400000",
/// ]);
/// ```
pub fn qemu_args(elf_path: &str, elf_len: usize) -> Vec<String> {
    Vec::from([
        "-kernel".to_string(),
        elf_path.to_string(),
        "-device".to_string(),
        format!("loader,file={elf_path},addr={L1_FILE_ADDR:#x},force-raw=on"),
        "-append".to_string(),
        format!("vmm.kernel={L1_FILE_ADDR:#x},{elf_len:#x} vmm.base={L2_BASE:#x}"),
    ])
}

/// The whole QEMU command line (without the program name) that boots `vmm_bios` as the
/// L1 with the probe kernel as its L2: [`VMM_MACHINE`], POWER10, 2 GiB, then
/// [`qemu_args`]. Add `-action panic=exit-failure` to make QEMU exit non-zero when the
/// VMM reports an L2 panic through `ibm,os-term`.
pub fn vmm_qemu_args(vmm_bios: &str, elf_path: &str, elf_len: usize) -> Vec<String> {
    let mut a: Vec<String> = [
        "-M",
        VMM_MACHINE,
        "-cpu",
        "power10",
        "-m",
        "2G",
        "-smp",
        "1",
        "-nographic",
        "-no-reboot",
        "-bios",
        vmm_bios,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    a.extend(qemu_args(elf_path, elf_len));
    a
}

/// A `-bios` image for a direct boot: 0x100 zero bytes, then at QEMU's firmware entry
/// (0x100, r3 = the device tree) `lis r4,0x40; mtctr r4; li r5,0; bctr` into the kernel
/// that `-kernel` loaded at 0x400000.
///
/// ```
/// let b = papr_l2_probe::boot::direct_bios();
/// assert_eq!(b.len(), 0x110);
/// assert_eq!(&b[0x100..0x104], &[0x3c, 0x80, 0x00, 0x40]);
/// ```
pub fn direct_bios() -> Vec<u8> {
    use crate::insn;
    let mut b = alloc::vec![0u8; 0x100];
    for w in [
        insn::lis(4, (L2_BASE >> 16) as i16),
        insn::mtspr(insn::SPR_CTR, 4),
        insn::li(5, 0),
        insn::BCTR,
    ] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    b
}

/// Offset of the copy loop in [`direct_bios_at_zero`], past what it overwrites.
const COPY_LOOP: u64 = 0x1_0000;
/// Bytes [`direct_bios_at_zero`] copies from 0x400000 to 0: the kernel's whole memory
/// image (at most this; checked by the tests).
pub const AT_ZERO_COPY: u64 = 0x1_0000;

/// A `-bios` image that runs the kernel at GPA 0 (the other load address the VMM may
/// use): at 0x100 it branches to a loop at 0x10000 that copies [`AT_ZERO_COPY`] bytes
/// from 0x400000 (where `-kernel` put the image) to 0, then enters it at 0 with r3 = the
/// device tree, r5 = 0 (the experiments' `run0`, spec linux-l2.md §5).
///
/// ```
/// let b = papr_l2_probe::boot::direct_bios_at_zero();
/// assert_eq!(&b[0x100..0x104], &[0x48, 0x00, 0xff, 0x00]); // b 0x10000
/// ```
pub fn direct_bios_at_zero() -> Vec<u8> {
    use crate::insn;
    let mut b = alloc::vec![0u8; 0x100];
    b.extend_from_slice(&insn::b_rel((COPY_LOOP - 0x100) as i32, false).to_be_bytes());
    b.resize(COPY_LOOP as usize, 0);
    for w in [
        insn::lis(4, (L2_BASE >> 16) as i16),
        insn::li(6, 0),
        insn::lis(5, ((AT_ZERO_COPY / 8) >> 16) as i16),
        insn::ori(5, 5, (AT_ZERO_COPY / 8) as u16),
        insn::mtspr(insn::SPR_CTR, 5),
        // loop: copy a doubleword (32-bit mode, addresses below 4 GiB).
        insn::ld(7, 0, 4),
        insn::std(7, 0, 6),
        insn::addi(4, 4, 8),
        insn::addi(6, 6, 8),
        insn::bc_rel(insn::BO_DNZ, 0, -16),
        // Make the copy visible to instruction fetch, line by line.
        insn::li(6, 0),
        insn::li(5, (AT_ZERO_COPY / 128) as i16),
        insn::mtspr(insn::SPR_CTR, 5),
        insn::dcbst(6),
        insn::SYNC,
        insn::icbi(6),
        insn::addi(6, 6, 128),
        insn::bc_rel(insn::BO_DNZ, 0, -16),
        insn::ISYNC,
        insn::li(5, 0),
        insn::li(6, 0),
        insn::mtspr(insn::SPR_CTR, 6),
        insn::BCTR,
    ] {
        b.extend_from_slice(&w.to_be_bytes());
    }
    b
}

/// QEMU arguments for a direct boot of the kernel as a plain pseries guest (no L1):
/// `-bios` [`direct_bios`], `-kernel` the ELF (QEMU loads its segment at 0x400000). Judge
/// its console with [`Target::QemuDirect`](crate::Target::QemuDirect).
pub fn direct_qemu_args(bios_path: &str, elf_path: &str) -> Vec<String> {
    [
        "-M",
        "pseries",
        "-cpu",
        "power10",
        "-m",
        "1G",
        "-smp",
        "1",
        "-nographic",
        "-no-reboot",
        "-bios",
        bios_path,
        "-kernel",
        elf_path,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
