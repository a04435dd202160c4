//! What this L1 needs from the device tree, read with the `fdt` crate.

use fdt::Fdt;

/// Facts from the device tree; `None` where the tree does not say.
#[derive(Debug, Clone, Copy)]
pub struct Info {
    /// Bytes of RAM in the region at real address 0 (the RMA we run in); 0 if unknown.
    pub memory: usize,
    /// Unit address of the `hvterm1` virtual terminal (the console).
    pub vterm: Option<u64>,
    /// RTAS token of `power-off`.
    pub power_off: Option<u32>,
    /// RTAS token of `ibm,os-term`.
    pub os_term: Option<u32>,
    /// Timebase ticks per microsecond (`timebase-frequency` of the first CPU; QEMU: 512).
    pub ticks_per_us: u64,
}

impl Default for Info {
    fn default() -> Self {
        Self {
            memory: 0,
            vterm: None,
            power_off: None,
            os_term: None,
            ticks_per_us: 512,
        }
    }
}

/// Reads [`Info`] from the flattened device tree at `addr`; a tree that does not parse gives
/// the defaults.
///
/// # Safety
/// `addr` must be the address of a valid flattened device tree that stays in place, unchanged,
/// for the rest of the program.
pub unsafe fn read(addr: usize) -> Info {
    // SAFETY: guaranteed by the caller; `from_ptr` reads the header's total size first.
    let Ok(fdt) = (unsafe { Fdt::from_ptr(addr as *const u8) }) else {
        return Info::default();
    };
    let memory = fdt
        .find_node("/memory")
        .and_then(|n| n.reg())
        .into_iter()
        .flatten()
        .find(|r| r.starting_address.is_null())
        .and_then(|r| r.size)
        .unwrap_or(0);
    let vterm = fdt
        .find_compatible(&["hvterm1"])
        .and_then(|n| n.property("reg"))
        .and_then(|p| p.value.get(..4))
        .and_then(|b| b.try_into().ok())
        .map(|b| u64::from(u32::from_be_bytes(b)));
    let token = |name: &str| {
        fdt.find_node("/rtas")
            .and_then(|n| n.property(name))
            .and_then(|p| p.as_usize())
            .and_then(|t| u32::try_from(t).ok())
    };
    let ticks_per_us = fdt
        .find_node("/cpus")
        .and_then(|cpus| {
            cpus.children()
                .find_map(|c| c.property("timebase-frequency"))
        })
        .and_then(|p| p.as_usize())
        .map_or(512, |hz| (hz as u64 / 1_000_000).max(1));
    Info {
        memory,
        vterm,
        power_off: token("power-off"),
        os_term: token("ibm,os-term"),
        ticks_per_us,
    }
}
