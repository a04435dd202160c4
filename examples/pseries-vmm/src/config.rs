//! The VMM's own options, taken from the L1's command line (`-append`): words that start
//! with `vmm.` are the VMM's, everything else is the L2's command line.
//!
//! | word | meaning | default |
//! |---|---|---|
//! | `vmm.ram=<MiB>` | L2 RAM | 256 |
//! | `vmm.slice_ms=<ms>` | HDEC slice of each run (one vCPU and nothing else to schedule: long slices mean fewer exits, each of which flushes QEMU's TLB) | 100 |
//! | `vmm.kernel=<addr>,<len>` | a raw ELF image in L1 memory (QEMU `-device loader,…,force-raw=on`) to load with the ELF loader instead of the image QEMU's `-kernel` placed | — |
//! | `vmm.base=<gpa>` | where an `ET_DYN` image goes | 0x400000 |

use alloc::string::String;
use core::fmt;

/// What the VMM was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// L2 RAM in bytes.
    pub ram_bytes: u64,
    /// HDEC slice in milliseconds.
    pub slice_ms: u64,
    /// A raw ELF in L1 memory: (L1 real address, length).
    pub raw_kernel: Option<(u64, u64)>,
    /// Load address of an `ET_DYN` image.
    pub dyn_base: u64,
    /// The L2's command line (the words that are not the VMM's).
    pub l2_cmdline: String,
}

/// A `vmm.` word the VMM does not understand, or a bad value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadOption(pub String);

impl fmt::Display for BadOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad VMM option {:?}", self.0)
    }
}

fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

impl Config {
    /// Splits `cmdline` into the VMM's options and the L2's command line.
    ///
    /// # Errors
    /// [`BadOption`] naming the first word that is wrong.
    pub fn parse(cmdline: &str) -> Result<Self, BadOption> {
        let mut c = Config {
            ram_bytes: 256 << 20,
            slice_ms: 100,
            raw_kernel: None,
            dyn_base: 0x40_0000,
            l2_cmdline: String::new(),
        };
        for word in cmdline.split_ascii_whitespace() {
            let Some(opt) = word.strip_prefix("vmm.") else {
                if !c.l2_cmdline.is_empty() {
                    c.l2_cmdline.push(' ');
                }
                c.l2_cmdline.push_str(word);
                continue;
            };
            let bad = || BadOption(String::from(word));
            let (key, value) = opt.split_once('=').ok_or_else(bad)?;
            match key {
                "ram" => {
                    let mib = number(value)
                        .filter(|&m| (64..=4096).contains(&m))
                        .ok_or_else(bad)?;
                    c.ram_bytes = mib << 20;
                }
                "slice_ms" => {
                    c.slice_ms = number(value)
                        .filter(|&m| (1..=1000).contains(&m))
                        .ok_or_else(bad)?;
                }
                "kernel" => {
                    let (a, l) = value.split_once(',').ok_or_else(bad)?;
                    let addr = number(a).ok_or_else(bad)?;
                    let len = number(l).filter(|&l| l > 0).ok_or_else(bad)?;
                    c.raw_kernel = Some((addr, len));
                }
                "base" => {
                    c.dyn_base = number(value)
                        .filter(|b| b % 0x1_0000 == 0)
                        .ok_or_else(bad)?;
                }
                _ => return Err(bad()),
            }
        }
        Ok(c)
    }
}
