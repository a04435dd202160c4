//! What an L1 needs from the device tree QEMU passes it, read with the `fdt` crate: memory,
//! console, RTAS tokens, timebase, `/chosen` (what `-kernel`, `-initrd` and `-append` loaded)
//! and the first CPU's properties a VMM copies into its guests' trees.
//!
//! Byte slices and strings borrow from the tree itself (`'static`: it stays in place, see
//! [`read`]).
//!
//! The `fdt` crate checks the header, not the structure block: a tree whose header is valid
//! but whose structure is corrupt can make it panic. QEMU's trees are well formed.

use crate::Error;
use fdt::node::FdtNode;
use fdt::Fdt;

/// Facts from the device tree; `None` (or 0, `false`) where the tree does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// Bytes of RAM in the region at real address 0 (the RMA the L1 runs in); 0 if unknown.
    pub memory: usize,
    /// Bytes of RAM in all `/memory` nodes together.
    pub memory_total: usize,
    /// Unit address of the `hvterm1` virtual terminal (the console).
    pub vterm: Option<u64>,
    /// RTAS token of `power-off`.
    pub power_off: Option<u32>,
    /// RTAS token of `ibm,os-term`.
    pub os_term: Option<u32>,
    /// RTAS token of `get-time-of-day`.
    pub get_time_of_day: Option<u32>,
    /// RTAS token of `set-time-of-day`.
    pub set_time_of_day: Option<u32>,
    /// RTAS token of `system-reboot`.
    pub system_reboot: Option<u32>,
    /// Timebase ticks per microsecond (`timebase-frequency` of the first CPU; QEMU: 512);
    /// 512 when the tree does not say.
    pub ticks_per_us: u64,
    /// `/chosen/bootargs` (`-append`), without its NUL.
    pub bootargs: Option<&'static str>,
    /// `/chosen/linux,initrd-start` and `linux,initrd-end` (1 or 2 cells each): the real
    /// addresses of the first byte and one past the last of the initrd (`-initrd`).
    pub initrd: Option<(u64, u64)>,
    /// `/chosen/qemu,boot-kernel`: real address and size of the image `-kernel` loaded
    /// (at `kernel-addr`, 0x400000 by default).
    pub boot_kernel: Option<(u64, u64)>,
    /// `/chosen/qemu,boot-kernel-le` is present: that image is little-endian.
    pub boot_kernel_le: bool,
    /// Properties of the first CPU node.
    pub cpu: Cpu,
    /// Every CPU thread the tree lists, in tree order (the first is the boot CPU).
    pub cpus: Cpus,
    /// RTAS token of `start-cpu` (start a stopped CPU thread, see [`smp`](crate::smp)).
    pub start_cpu: Option<u32>,
    /// RTAS token of `query-cpu-stopped-state`.
    pub query_cpu_stopped_state: Option<u32>,
    /// RTAS token of `stop-self` (the calling CPU thread stops).
    pub stop_self: Option<u32>,
}

/// Most CPU threads [`Cpus`] records; further threads are counted in [`Cpus::dropped`].
pub const MAX_CPUS: usize = 16;

/// The CPU threads of the `/cpus` nodes (`device_type = "cpu"`): each node's
/// `ibm,ppc-interrupt-server#s` (one cell per thread: the id RTAS `start-cpu` takes and the
/// thread's PIR), or its `reg` when that property is absent.
///
/// ```
/// let tree: &'static [u8] =
///     include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/pseries-numa.dtb"));
/// let cpus = papr_baremetal::dt::parse(tree).unwrap().cpus;
/// assert_eq!(cpus.ids(), &[0, 1]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cpus {
    ids: [u32; MAX_CPUS],
    count: usize,
    /// Threads listed beyond [`MAX_CPUS`] (not recorded).
    pub dropped: usize,
}

impl Cpus {
    /// The thread ids, in tree order.
    pub fn ids(&self) -> &[u32] {
        self.ids.get(..self.count).unwrap_or(&[])
    }

    /// The id of thread `index` (0 = the boot CPU), `None` past the last.
    pub fn id(&self, index: usize) -> Option<u32> {
        self.ids().get(index).copied()
    }

    /// How many threads are recorded.
    pub fn len(&self) -> usize {
        self.count
    }

    /// No CPU node (a tree without `/cpus`).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    fn push(&mut self, id: u32) {
        match self.ids.get_mut(self.count) {
            Some(slot) => {
                *slot = id;
                self.count += 1;
            }
            None => self.dropped += 1,
        }
    }
}

/// Properties of the first CPU node (`/cpus/<…>` with `device_type = "cpu"`); `None` where
/// absent or not one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cpu {
    /// `ibm,pa-features`, raw.
    pub pa_features: Option<&'static [u8]>,
    /// `ibm,processor-radix-AP-encodings`, raw (big-endian cells).
    pub radix_ap_encodings: Option<&'static [u8]>,
    /// `timebase-frequency` (Hz).
    pub timebase_frequency: Option<u32>,
    /// `clock-frequency` (Hz).
    pub clock_frequency: Option<u32>,
    /// `d-cache-size` (bytes).
    pub d_cache_size: Option<u32>,
    /// `i-cache-size` (bytes).
    pub i_cache_size: Option<u32>,
    /// `d-cache-line-size` (bytes).
    pub d_cache_line_size: Option<u32>,
    /// `i-cache-line-size` (bytes).
    pub i_cache_line_size: Option<u32>,
    /// `d-cache-block-size` (bytes).
    pub d_cache_block_size: Option<u32>,
    /// `i-cache-block-size` (bytes).
    pub i_cache_block_size: Option<u32>,
}

impl Default for Info {
    fn default() -> Self {
        Self {
            memory: 0,
            memory_total: 0,
            vterm: None,
            power_off: None,
            os_term: None,
            get_time_of_day: None,
            set_time_of_day: None,
            system_reboot: None,
            ticks_per_us: 512,
            bootargs: None,
            initrd: None,
            boot_kernel: None,
            boot_kernel_le: false,
            cpu: Cpu::default(),
            cpus: Cpus::default(),
            start_cpu: None,
            query_cpu_stopped_state: None,
            stop_self: None,
        }
    }
}

impl Info {
    /// Points the console at [`vterm`](Self::vterm) (when the tree names one) and gives
    /// [`rtas`](crate::rtas) the `power-off` and `ibm,os-term` tokens.
    pub fn apply(&self) {
        if let Some(vterm) = self.vterm {
            crate::console::set_vterm(vterm);
        }
        crate::rtas::set_tokens(self.power_off, self.os_term);
    }
}

/// Reads [`Info`] from the flattened device tree at `addr` (QEMU passes it in r3).
///
/// # Errors
/// [`Error::DeviceTree`] when the header is not a device tree's.
///
/// # Safety
/// `addr` must be the address of a valid flattened device tree that stays in place, unchanged,
/// for the rest of the program (the returned slices borrow from it).
pub unsafe fn read(addr: usize) -> Result<Info, Error> {
    // SAFETY: guaranteed by the caller; `from_ptr` reads the header's total size first.
    let fdt = unsafe { Fdt::from_ptr(addr as *const u8) }.map_err(|e| bad(addr, e))?;
    Ok(info(&fdt))
}

/// Reads [`Info`] from a flattened device tree held in `tree`.
///
/// ```
/// let tree: &'static [u8] = include_bytes!(concat!(
///     env!("CARGO_MANIFEST_DIR"),
///     "/testdata/pseries-kernel-initrd.dtb"
/// ));
/// let info = papr_baremetal::dt::parse(tree).unwrap();
/// assert_eq!(info.memory_total, 2 << 30);
/// assert_eq!(info.bootargs, Some("console=hvc0 quiet vmm.ram=256"));
/// assert_eq!(info.boot_kernel.map(|(addr, _)| addr), Some(0x1000_0000));
/// ```
///
/// # Errors
/// [`Error::DeviceTree`] when the header is not a device tree's or `tree` is shorter than it.
pub fn parse(tree: &'static [u8]) -> Result<Info, Error> {
    let fdt = Fdt::new(tree).map_err(|e| bad(tree.as_ptr() as usize, e))?;
    Ok(info(&fdt))
}

fn bad(addr: usize, e: fdt::FdtError) -> Error {
    let reason = match e {
        fdt::FdtError::BadMagic => "bad magic (not a flattened device tree)",
        fdt::FdtError::BadPtr => "null pointer",
        fdt::FdtError::BufferTooSmall => "shorter than its header's total size",
    };
    Error::DeviceTree { addr, reason }
}

fn info(fdt: &Fdt<'static>) -> Info {
    let memory_nodes = || {
        fdt.find_node("/")
            .into_iter()
            .flat_map(|root| root.children())
            .filter(|n| n.name == "memory" || n.name.starts_with("memory@"))
            .flat_map(|n| n.reg().into_iter().flatten())
    };
    let memory = memory_nodes()
        .find(|r| r.starting_address.is_null())
        .and_then(|r| r.size)
        .unwrap_or(0);
    let memory_total = memory_nodes()
        .filter_map(|r| r.size)
        .fold(0usize, usize::saturating_add);
    let vterm = fdt
        .find_compatible(&["hvterm1"])
        .and_then(|n| n.property("reg"))
        .and_then(|p| p.value.get(..4))
        .and_then(be_u32)
        .map(u64::from);
    let rtas = fdt.find_node("/rtas");
    let token = |name: &str| {
        rtas.and_then(|n| n.property(name))
            .and_then(|p| cell(p.value))
    };
    let chosen = fdt.find_node("/chosen");
    let chosen_u64 = |name: &str| {
        chosen
            .and_then(|n| n.property(name))
            .and_then(|p| p.as_usize())
            .map(|v| v as u64)
    };
    let cpu_node = fdt.find_node("/cpus").and_then(|cpus| {
        cpus.children()
            .find(|c| c.property("device_type").and_then(|p| p.as_str()) == Some("cpu"))
            .or_else(|| {
                cpus.children()
                    .find(|c| c.property("timebase-frequency").is_some())
            })
    });
    let ticks_per_us = cpu_node
        .and_then(|c| c.property("timebase-frequency"))
        .and_then(|p| p.as_usize())
        .map_or(512, |hz| (hz as u64 / 1_000_000).max(1));
    Info {
        memory,
        memory_total,
        vterm,
        power_off: token("power-off"),
        os_term: token("ibm,os-term"),
        get_time_of_day: token("get-time-of-day"),
        set_time_of_day: token("set-time-of-day"),
        system_reboot: token("system-reboot"),
        ticks_per_us,
        bootargs: chosen
            .and_then(|n| n.property("bootargs"))
            .and_then(|p| p.as_str()),
        initrd: chosen_u64("linux,initrd-start").zip(chosen_u64("linux,initrd-end")),
        boot_kernel: chosen
            .and_then(|n| n.property("qemu,boot-kernel"))
            .and_then(|p| two_u64(p.value)),
        boot_kernel_le: chosen
            .and_then(|n| n.property("qemu,boot-kernel-le"))
            .is_some(),
        cpu: cpu_node.map(cpu).unwrap_or_default(),
        cpus: cpus(fdt),
        start_cpu: token("start-cpu"),
        query_cpu_stopped_state: token("query-cpu-stopped-state"),
        stop_self: token("stop-self"),
    }
}

fn cpus(fdt: &Fdt<'static>) -> Cpus {
    let mut out = Cpus::default();
    let nodes = fdt
        .find_node("/cpus")
        .into_iter()
        .flat_map(|c| c.children());
    for node in nodes.filter(|c| c.property("device_type").and_then(|p| p.as_str()) == Some("cpu"))
    {
        let threads = node
            .property("ibm,ppc-interrupt-server#s")
            .or_else(|| node.property("reg"))
            .map_or(&[][..], |p| p.value);
        for id in threads.chunks_exact(4).filter_map(be_u32) {
            out.push(id);
        }
    }
    out
}

fn cpu(node: FdtNode<'_, 'static>) -> Cpu {
    let raw = |name: &str| node.property(name).map(|p| p.value);
    let u32_of = |name: &str| raw(name).and_then(cell);
    Cpu {
        pa_features: raw("ibm,pa-features"),
        radix_ap_encodings: raw("ibm,processor-radix-AP-encodings"),
        timebase_frequency: u32_of("timebase-frequency"),
        clock_frequency: u32_of("clock-frequency"),
        d_cache_size: u32_of("d-cache-size"),
        i_cache_size: u32_of("i-cache-size"),
        d_cache_line_size: u32_of("d-cache-line-size"),
        i_cache_line_size: u32_of("i-cache-line-size"),
        d_cache_block_size: u32_of("d-cache-block-size"),
        i_cache_block_size: u32_of("i-cache-block-size"),
    }
}

/// A big-endian u32 from exactly 4 bytes.
fn be_u32(b: &[u8]) -> Option<u32> {
    b.try_into().ok().map(u32::from_be_bytes)
}

/// A property of exactly one cell.
fn cell(value: &[u8]) -> Option<u32> {
    (value.len() == 4).then(|| be_u32(value)).flatten()
}

/// Two big-endian u64 (16 bytes), e.g. `qemu,boot-kernel` = <address size>.
fn two_u64(value: &[u8]) -> Option<(u64, u64)> {
    let (a, b) = value.split_at_checked(8)?;
    let a = u64::from_be_bytes(a.try_into().ok()?);
    let b = u64::from_be_bytes(b.try_into().ok()?);
    Some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `-M pseries,cap-nested-papr=on,kernel-addr=0x10000000 -cpu power10 -m 2G -kernel …
    /// -initrd … -append "console=hvc0 quiet vmm.ram=256"`, dumped by QMP `dumpdtb` (see
    /// testdata/README.md).
    static KERNEL_INITRD: &[u8] = include_bytes!("../testdata/pseries-kernel-initrd.dtb");
    /// `-m 2G -smp 2` on two NUMA nodes of 1 GiB: two `/memory` nodes; no `-kernel`.
    static NUMA: &[u8] = include_bytes!("../testdata/pseries-numa.dtb");

    #[test]
    fn qemu_tree_with_kernel_and_initrd() {
        let i = parse(KERNEL_INITRD).unwrap();
        assert_eq!(i.memory, 0x8000_0000);
        assert_eq!(i.memory_total, 0x8000_0000);
        assert_eq!(i.vterm, Some(0x7100_0000));
        assert_eq!(i.power_off, Some(0x2003));
        assert_eq!(i.os_term, Some(0x201f));
        assert_eq!(i.get_time_of_day, Some(0x2001));
        assert_eq!(i.set_time_of_day, Some(0x2002));
        assert_eq!(i.system_reboot, Some(0x2004));
        assert_eq!(i.ticks_per_us, 512);
        assert_eq!(i.bootargs, Some("console=hvc0 quiet vmm.ram=256"));
        // 300000 bytes at 0x100c0000 (kernel-addr + kernel size, 64 KiB aligned).
        assert_eq!(i.initrd, Some((0x100c_0000, 0x100c_0000 + 300_000)));
        assert_eq!(i.boot_kernel, Some((0x1000_0000, 0xa4ce8)));
        assert!(i.boot_kernel_le);
        assert_eq!(i.cpus.ids(), &[0]);
        let c = i.cpu;
        assert_eq!(c.timebase_frequency, Some(512_000_000));
        assert_eq!(c.clock_frequency, Some(1_000_000_000));
        assert_eq!(c.d_cache_size, Some(0x8000));
        assert_eq!(c.i_cache_size, Some(0x8000));
        assert_eq!(c.d_cache_line_size, Some(128));
        assert_eq!(c.i_cache_line_size, Some(128));
        assert_eq!(c.d_cache_block_size, Some(128));
        assert_eq!(c.i_cache_block_size, Some(128));
        let pa = c.pa_features.unwrap();
        assert_eq!(pa.len(), 0x4a + 2);
        assert_eq!(&pa[..4], &[0x4a, 0x00, 0xf6, 0x3f]);
        let ap = c.radix_ap_encodings.unwrap();
        // 4K, 64K, 2M, 1G.
        assert_eq!(
            ap,
            &[0, 0, 0, 0x0c, 0xa0, 0, 0, 0x10, 0x20, 0, 0, 0x15, 0x40, 0, 0, 0x1e]
        );
    }

    #[test]
    fn qemu_tree_with_two_memory_nodes_and_nothing_chosen() {
        let i = parse(NUMA).unwrap();
        assert_eq!(i.memory, 0x4000_0000);
        assert_eq!(i.memory_total, 0x8000_0000);
        assert_eq!(i.bootargs, None);
        assert_eq!(i.initrd, None);
        assert_eq!(i.boot_kernel, None);
        assert!(!i.boot_kernel_le);
        assert_eq!(i.power_off, Some(0x2003));
        assert_eq!(i.cpu.timebase_frequency, Some(512_000_000));
        assert_eq!(i.cpus.ids(), &[0, 1]);
        assert_eq!(
            (i.cpus.id(1), i.cpus.id(2), i.cpus.dropped),
            (Some(1), None, 0)
        );
        assert_eq!(i.start_cpu, Some(0x2006));
        assert_eq!(i.query_cpu_stopped_state, Some(0x2005));
        assert_eq!(i.stop_self, Some(0x2007));
    }

    #[test]
    fn cpus_beyond_the_maximum_are_counted() {
        let mut c = Cpus::default();
        for id in 0..MAX_CPUS as u32 + 3 {
            c.push(id * 8);
        }
        assert_eq!(c.len(), MAX_CPUS);
        assert_eq!(c.dropped, 3);
        assert_eq!(c.id(MAX_CPUS - 1), Some(8 * (MAX_CPUS as u32 - 1)));
        assert!(Cpus::default().is_empty());
    }

    #[test]
    fn not_a_tree() {
        static JUNK: [u8; 64] = [0x55; 64];
        assert!(matches!(
            parse(&JUNK),
            Err(Error::DeviceTree {
                reason: "bad magic (not a flattened device tree)",
                ..
            })
        ));
        static SHORT: [u8; 48] = {
            let mut t = [0u8; 48];
            // Magic d00dfeed, total size 0x1000.
            t[0] = 0xd0;
            t[1] = 0x0d;
            t[2] = 0xfe;
            t[3] = 0xed;
            t[6] = 0x10;
            t
        };
        assert!(matches!(
            parse(&SHORT),
            Err(Error::DeviceTree {
                reason: "shorter than its header's total size",
                ..
            })
        ));
    }

    #[test]
    fn cells() {
        assert_eq!(cell(&[0, 0, 0x20, 0x01]), Some(0x2001));
        assert_eq!(cell(&[0, 0, 0, 0, 0, 0, 0x20, 0x01]), None);
        assert_eq!(two_u64(&[0; 15]), None);
        assert_eq!(
            two_u64(&[0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0x4c, 0xe8]),
            Some((0x1000_0000, 0xa4ce8))
        );
    }
}
