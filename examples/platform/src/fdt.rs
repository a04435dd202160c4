//! The L2's flattened device tree (spec §2.1): the minimal pseries tree an unmodified Linux
//! boots from kexec-style — `chrp` root, `/chosen` with radix + GTSE option vector 5, `/rtas`
//! with QEMU's token numbers and `hcall-set-mode`, the CPU nodes, `/memory@0`, the polled
//! `vty@71000000` and an XICS presentation controller (ICP), plus a `/memreserve/` of the
//! RTAS page. Written with `vm-fdt` (`no_std` + alloc).

use crate::error::Error;
use crate::rtas;
use alloc::format;
use alloc::vec::Vec;
use vm_fdt::{FdtReserveEntry, FdtWriter};

/// The vty's `reg`: the vterm number the L2 passes in r4 of `H_PUT/GET_TERM_CHAR`.
pub const VTY_REG: u32 = 0x7100_0000;

/// The vty node's path (`linux,stdout-path`).
pub const STDOUT_PATH: &str = "/vdevice/vty@71000000";

/// Option vector 5 as `/chosen/ibm,architecture-vec-5`: byte 0 = length − 1, byte 24 = 0x40
/// (`OV5_MMU_RADIX`), byte 26 = 0x40 (`OV5_RADIX_GTSE`). Without it Linux falls back to hash.
pub const ARCH_VEC_5: [u8; 27] = {
    let mut v = [0u8; 27];
    v[0] = 0x19;
    v[24] = 0x40;
    v[26] = 0x40;
    v
};

/// QEMU power10's `ibm,pa-features` (spec §2.1, 76 bytes): byte 0 = 74 (length), byte 1 = 0.
#[rustfmt::skip]
pub const PA_FEATURES_POWER10: [u8; 76] = [
    0x4a, 0x00, 0xf6, 0x3f, // 0x4a00f63f
    0xc7, 0xc0, 0x00, 0xf0, // 0xc7c000f0
    0x80, 0x00, 0x00, 0x00, // 0x80000000
    0x00, 0x00, 0x00, 0x00, // 0x00000000
    0x00, 0x00, 0x80, 0x00, // 0x00008000
    0x80, 0x00, 0x80, 0x00, // 0x80008000
    0x00, 0x00, 0x80, 0x00, // 0x00008000
    0x80, 0x00, 0x80, 0x00, // 0x80008000
    0x00, 0x00, 0x80, 0x00, // 0x00008000
    0xc0, 0x00, 0x00, 0x00, // 0xc0000000
    0x00, 0x00, 0x80, 0x00, // 0x00008000
    0x80, 0x00, 0x80, 0x00, // 0x80008000
    0x80, 0x00, 0x80, 0x00, // 0x80008000
    0x80, 0x00, 0x80, 0x00, // 0x80008000
    0x80, 0x00, 0x80, 0x00, // 0x80008000
    0x80, 0x00, 0x80, 0x00, // 0x80008000
    0x80, 0x00, 0x80, 0x00, // 0x80008000
    0x00, 0x00, 0xce, 0x00, // 0x0000ce00
    0x00, 0x00, 0x80, 0x00, // 0x00008000
];

/// QEMU power10's `ibm,processor-radix-AP-encodings`: 4K, 64K, 2M, 1G (be32 cells).
#[rustfmt::skip]
pub const RADIX_AP_POWER10: [u8; 16] = [
    0x00, 0x00, 0x00, 0x0c, // 0x0000000c
    0xa0, 0x00, 0x00, 0x10, // 0xa0000010
    0x20, 0x00, 0x00, 0x15, // 0x20000015
    0x40, 0x00, 0x00, 0x1e, // 0x4000001e
];

/// The CPU node's cache properties (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheProps {
    /// `d-cache-size`.
    pub d_cache_size: u32,
    /// `i-cache-size`.
    pub i_cache_size: u32,
    /// `d-cache-line-size`.
    pub d_cache_line_size: u32,
    /// `i-cache-line-size`.
    pub i_cache_line_size: u32,
    /// `d-cache-block-size`.
    pub d_cache_block_size: u32,
    /// `i-cache-block-size`.
    pub i_cache_block_size: u32,
}

impl Default for CacheProps {
    /// QEMU power10: 32 KiB L1 caches with 128-byte lines and blocks.
    fn default() -> Self {
        Self {
            d_cache_size: 0x8000,
            i_cache_size: 0x8000,
            d_cache_line_size: 0x80,
            i_cache_line_size: 0x80,
            d_cache_block_size: 0x80,
            i_cache_block_size: 0x80,
        }
    }
}

/// What the CPU nodes say. Copy the timebase, `ibm,pa-features`, the radix AP encodings and
/// the caches from the L1's own CPU node: they describe the same CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuProps<'a> {
    /// Node name before `@` (`PowerPC,POWER10`).
    pub name: &'a str,
    /// `cpu-version` (the PVR; Linux only uses a logical 0x0fxxxxxx one).
    pub cpu_version: u32,
    /// `timebase-frequency` (Hz): without it Linux assumes 125 MHz.
    pub timebase_hz: u32,
    /// `clock-frequency` (Hz).
    pub clock_hz: u32,
    /// `ibm,pa-features` (raw bytes), or none.
    pub pa_features: Option<&'a [u8]>,
    /// `ibm,processor-radix-AP-encodings` (raw be32 cells), or none (Linux then maps with
    /// 4 KiB pages).
    pub radix_ap_encodings: Option<&'a [u8]>,
    /// The cache properties.
    pub cache: CacheProps,
    /// `ibm,vmx` (2 = VMX + VSX; 0 leaves it out, which turns AltiVec/VSX off in Linux).
    pub vmx: u32,
    /// `ibm,dfp` = 1.
    pub dfp: bool,
}

impl Default for CpuProps<'_> {
    /// QEMU's power10 (spec §2.1): 512 MHz timebase, 1 GHz clock, its pa-features and AP
    /// encodings, 32 KiB caches, VMX + VSX, DFP.
    fn default() -> Self {
        Self {
            name: "PowerPC,POWER10",
            cpu_version: 0x0080_1200,
            timebase_hz: 512_000_000,
            clock_hz: 1_000_000_000,
            pa_features: Some(&PA_FEATURES_POWER10),
            radix_ap_encodings: Some(&RADIX_AP_POWER10),
            cache: CacheProps::default(),
            vmx: 2,
            dfp: true,
        }
    }
}

/// What the tree describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtConfig<'a> {
    /// The L2's RAM, from GPA 0 (`/memory@0`).
    pub ram_bytes: u64,
    /// The kernel command line (`/chosen/bootargs`), e.g. `console=hvc0 quiet`.
    pub bootargs: &'a str,
    /// The initrd's GPAs `[start, end)`, if any.
    pub initrd: Option<(u64, u64)>,
    /// GPA of the RTAS blob (page aligned; its page is reserved).
    pub rtas_base: u64,
    /// Number of vCPUs (CPU nodes `@0`…; the boot CPU is 0).
    pub vcpus: u32,
    /// The CPU nodes' properties.
    pub cpu: CpuProps<'a>,
}

/// Most vCPUs a tree describes.
pub const MAX_VCPUS: u32 = 2048;

fn check(cfg: &DtConfig<'_>) -> Result<(), Error> {
    let bad = |what, value| Err(Error::DtConfig { what, value });
    if cfg.ram_bytes == 0 || !cfg.ram_bytes.is_multiple_of(0x1000) {
        return bad("RAM size is zero or not a multiple of 4 KiB", cfg.ram_bytes);
    }
    if !cfg.rtas_base.is_multiple_of(rtas::SIZE) {
        return bad("RTAS base is not page aligned", cfg.rtas_base);
    }
    if cfg
        .rtas_base
        .checked_add(rtas::SIZE)
        .is_none_or(|e| e > cfg.ram_bytes)
    {
        return bad("RTAS page lies outside RAM", cfg.rtas_base);
    }
    if cfg.rtas_base > u64::from(u32::MAX) - rtas::SIZE {
        return bad(
            "RTAS page lies above 4 GiB (linux,rtas-base is one cell)",
            cfg.rtas_base,
        );
    }
    if let Some((start, end)) = cfg.initrd {
        if start > end || end > cfg.ram_bytes {
            return bad("initrd [start, end) is empty-reversed or outside RAM", end);
        }
    }
    if cfg.vcpus == 0 || cfg.vcpus > MAX_VCPUS {
        return bad("vCPU count must be 1..=2048", u64::from(cfg.vcpus));
    }
    if cfg.cpu.timebase_hz == 0 {
        return bad("timebase frequency is 0", 0);
    }
    Ok(())
}

/// What the node writers return.
type FdtResult = Result<(), vm_fdt::Error>;

fn fdt_err(e: vm_fdt::Error) -> Error {
    Error::Fdt(format!("{e}"))
}

/// Builds the spec §2.1 tree for `cfg`: `/memreserve/` of the RTAS page, `boot_cpuid_phys`
/// 0 (matching CPU 0's `ibm,ppc-interrupt-server#s`).
///
/// ```
/// use papr_platform::fdt::{build, CpuProps, DtConfig};
/// let dtb = build(&DtConfig {
///     ram_bytes: 128 << 20,
///     bootargs: "console=hvc0 quiet",
///     initrd: None,
///     rtas_base: 0x410_0000,
///     vcpus: 1,
///     cpu: CpuProps::default(),
/// })?;
/// assert_eq!(&dtb[..4], &[0xd0, 0x0d, 0xfe, 0xed]);
/// # Ok::<(), papr_platform::Error>(())
/// ```
///
/// # Errors
/// [`Error::DtConfig`] for a configuration that cannot boot (RTAS outside RAM, no vCPU, …);
/// [`Error::Fdt`] when `vm-fdt` refuses (e.g. a NUL in `bootargs`).
pub fn build(cfg: &DtConfig<'_>) -> Result<Vec<u8>, Error> {
    check(cfg)?;
    let reserve = FdtReserveEntry::new(cfg.rtas_base, rtas::SIZE).map_err(fdt_err)?;
    let mut w = FdtWriter::new_with_mem_reserv(&[reserve]).map_err(fdt_err)?;
    w.set_boot_cpuid_phys(0);
    let root = w.begin_node("").map_err(fdt_err)?;
    w.property_u32("#address-cells", 2).map_err(fdt_err)?;
    w.property_u32("#size-cells", 2).map_err(fdt_err)?;
    w.property_string("compatible", "qemu,pseries")
        .map_err(fdt_err)?;
    w.property_string("model", "papr-nested L2")
        .map_err(fdt_err)?;
    w.property_string("device_type", "chrp").map_err(fdt_err)?;
    chosen(&mut w, cfg).map_err(fdt_err)?;
    rtas_node(&mut w, cfg.rtas_base, cfg.vcpus).map_err(fdt_err)?;
    let mem = w.begin_node("memory@0").map_err(fdt_err)?;
    w.property_string("device_type", "memory")
        .map_err(fdt_err)?;
    w.property_array_u64("reg", &[0, cfg.ram_bytes])
        .map_err(fdt_err)?;
    w.end_node(mem).map_err(fdt_err)?;
    vdevice(&mut w).map_err(fdt_err)?;
    let icp = w.begin_node("interrupt-controller").map_err(fdt_err)?;
    w.property_string("compatible", "IBM,ppc-xicp")
        .map_err(fdt_err)?;
    w.property_null("interrupt-controller").map_err(fdt_err)?;
    w.property_array_u32("ibm,interrupt-server-ranges", &[0, cfg.vcpus])
        .map_err(fdt_err)?;
    w.end_node(icp).map_err(fdt_err)?;
    // Last: its last new property name is the one `lengthen_last_name` fixes.
    cpus(&mut w, cfg).map_err(fdt_err)?;
    w.end_node(root).map_err(fdt_err)?;
    let mut dtb = w.finish().map_err(fdt_err)?;
    if cfg.cpu.radix_ap_encodings.is_some() {
        lengthen_last_name(&mut dtb, RADIX_AP_SHORT, b's')?;
    }
    Ok(dtb)
}

/// `ibm,processor-radix-AP-encodings` (32 characters) is longer than the 31 the DT spec
/// allows and `vm-fdt` enforces; Linux reads it by that name. It is written as this
/// 31-character name, the last new name of the tree, and then lengthened in place.
const RADIX_AP_SHORT: &str = "ibm,processor-radix-AP-encoding";

/// Appends `c` to the property name `short`, which must be the last string of the strings
/// block (the block is the blob's last part, so no other offset moves); fixes the header's
/// `totalsize` and `size_dt_strings`.
fn lengthen_last_name(dtb: &mut Vec<u8>, short: &str, c: u8) -> Result<(), Error> {
    let bad = |what| Error::DtConfig {
        what,
        value: dtb.len() as u64,
    };
    let be32 = |d: &[u8], at: usize| {
        d.get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_be_bytes)
    };
    let (Some(total), Some(strings)) = (be32(dtb, 4), be32(dtb, 32)) else {
        return Err(bad("device tree header truncated"));
    };
    let mut tail = alloc::vec::Vec::with_capacity(short.len() + 1);
    tail.extend_from_slice(short.as_bytes());
    tail.push(0);
    if total as usize != dtb.len() || !dtb.ends_with(&tail) {
        return Err(bad(
            "device tree: the radix AP property name is not the last string",
        ));
    }
    let at = dtb.len() - 1;
    dtb.insert(at, c);
    for (off, v) in [(4, total + 1), (32, strings + 1)] {
        if let Some(field) = dtb.get_mut(off..off + 4) {
            field.copy_from_slice(&v.to_be_bytes());
        }
    }
    Ok(())
}

fn chosen(w: &mut FdtWriter, cfg: &DtConfig<'_>) -> FdtResult {
    let n = w.begin_node("chosen")?;
    w.property_string("bootargs", cfg.bootargs)?;
    if let Some((start, end)) = cfg.initrd {
        w.property_u64("linux,initrd-start", start)?;
        w.property_u64("linux,initrd-end", end)?;
    }
    w.property_string("linux,stdout-path", STDOUT_PATH)?;
    w.property("ibm,architecture-vec-5", &ARCH_VEC_5)?;
    w.end_node(n)
}

/// `/rtas`: the base, the entry, the tokens; with more than one vCPU also `start-cpu`,
/// `query-cpu-stopped-state` and `stop-self` (Linux then starts the secondaries with
/// `start-cpu`; with one vCPU the tree stays as it was: no call needs them).
fn rtas_node(w: &mut FdtWriter, base: u64, vcpus: u32) -> FdtResult {
    use rtas::token;
    let n = w.begin_node("rtas")?;
    // rtas_initialize() reads both as one cell; check() keeps the page below 4 GiB.
    let base32 = u32::try_from(base).unwrap_or(u32::MAX);
    w.property_u32("linux,rtas-base", base32)?;
    w.property_u32("linux,rtas-entry", base32)?;
    w.property_u32("rtas-size", rtas::SIZE as u32)?;
    w.property_u32("power-off", token::POWER_OFF)?;
    w.property_u32("system-reboot", token::SYSTEM_REBOOT)?;
    w.property_u32("get-time-of-day", token::GET_TIME_OF_DAY)?;
    w.property_u32("set-time-of-day", token::SET_TIME_OF_DAY)?;
    w.property_u32("ibm,os-term", token::IBM_OS_TERM)?;
    if vcpus > 1 {
        w.property_u32("start-cpu", token::START_CPU)?;
        w.property_u32("query-cpu-stopped-state", token::QUERY_CPU_STOPPED_STATE)?;
        w.property_u32("stop-self", token::STOP_SELF)?;
    }
    w.property_null("ibm,extended-os-term")?;
    w.property_u32("rtas-error-log-max", 0x800)?;
    w.property_string("ibm,hypertas-functions", "hcall-set-mode")?;
    w.end_node(n)
}

fn cpus(w: &mut FdtWriter, cfg: &DtConfig<'_>) -> FdtResult {
    let c = &cfg.cpu;
    let n = w.begin_node("cpus")?;
    w.property_u32("#address-cells", 1)?;
    w.property_u32("#size-cells", 0)?;
    for id in 0..cfg.vcpus {
        let cpu = w.begin_node(&format!("{}@{id:x}", c.name))?;
        w.property_string("device_type", "cpu")?;
        w.property_u32("reg", id)?;
        w.property_u32("ibm,ppc-interrupt-server#s", id)?;
        w.property_u32("cpu-version", c.cpu_version)?;
        w.property_u32("timebase-frequency", c.timebase_hz)?;
        w.property_u32("clock-frequency", c.clock_hz)?;
        if let Some(pa) = c.pa_features {
            w.property("ibm,pa-features", pa)?;
        }
        if c.vmx != 0 {
            w.property_u32("ibm,vmx", c.vmx)?;
        }
        if c.dfp {
            w.property_u32("ibm,dfp", 1)?;
        }
        w.property_u32("ibm,purr", 1)?;
        w.property_u32("ibm,spurr", 1)?;
        let k = &c.cache;
        w.property_u32("d-cache-size", k.d_cache_size)?;
        w.property_u32("i-cache-size", k.i_cache_size)?;
        w.property_u32("d-cache-line-size", k.d_cache_line_size)?;
        w.property_u32("i-cache-line-size", k.i_cache_line_size)?;
        w.property_u32("d-cache-block-size", k.d_cache_block_size)?;
        w.property_u32("i-cache-block-size", k.i_cache_block_size)?;
        w.property_null("64-bit")?;
        if let Some(ap) = c.radix_ap_encodings {
            w.property(RADIX_AP_SHORT, ap)?;
        }
        w.end_node(cpu)?;
    }
    w.end_node(n)
}

fn vdevice(w: &mut FdtWriter) -> FdtResult {
    let n = w.begin_node("vdevice")?;
    w.property_string("compatible", "IBM,vdevice")?;
    w.property_string("device_type", "vdevice")?;
    w.property_u32("#address-cells", 1)?;
    w.property_u32("#size-cells", 0)?;
    let vty = w.begin_node(&format!("vty@{VTY_REG:x}"))?;
    w.property_string("compatible", "hvterm1")?;
    w.property_string("device_type", "serial")?;
    w.property_u32("reg", VTY_REG)?;
    w.end_node(vty)?;
    w.end_node(n)
}

#[cfg(test)]
#[path = "fdt_tests.rs"]
mod tests;
