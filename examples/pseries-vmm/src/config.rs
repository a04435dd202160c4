//! The VMM's own options, taken from the L1's command line (`-append`): words that start
//! with `vmm.` are the VMM's, everything else is the L2's command line.
//!
//! | word | meaning | default |
//! |---|---|---|
//! | `vmm.ram=<MiB>` | L2 RAM | 256 |
//! | `vmm.cpus=<n>` | L2 vCPUs, 1..=8 (vCPU 0 boots, the others wait for RTAS `start-cpu`) | 1 |
//! | `vmm.slice_ms=<ms>` | HDEC slice of a run while no other vCPU waits for the L1 CPU (long slices mean fewer exits, each of which flushes QEMU's TLB) | 100 |
//! | `vmm.trace_s=<s>` | round-robin: print a `VMM-TRACE` line per vCPU (state, slices, cedes, longest time off the CPU) every `s` seconds; a vCPU per L1 CPU: a `VMM-TRACE` line for every wait of a vCPU's CPU longer than 0.5 s (> 0 turns it on); 0: none | 0 |
//! | `vmm.share_ms=<ms>` | HDEC slice of a run while another vCPU is runnable (round-robin on one L1 CPU: it bounds how long a vCPU spinning for another one, e.g. in `smp_call_function`, keeps the CPU) | 2 |
//! | `vmm.masked_us=<us>` | a vCPU per L1 CPU: the HDEC slice of a run while an interrupt waits for the L2 to set MSR\[EE\] | 2000 |
//! | `vmm.spin_us=<us>` | a vCPU per L1 CPU: how long the CPU of a waiting vCPU polls before it cedes to the L0 (a wake-up within it costs no L0 wake-up) | 0 |
//! | `vmm.kernel=<addr>,<len>` | a raw ELF image in L1 memory (QEMU `-device loader,…,force-raw=on`) to load with the ELF loader instead of the image QEMU's `-kernel` placed | — |
//! | `vmm.base=<gpa>` | where an `ET_DYN` image goes | 0x400000 |

use alloc::string::String;
use core::fmt;

/// What the VMM was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// L2 RAM in bytes.
    pub ram_bytes: u64,
    /// L2 vCPUs.
    pub cpus: u32,
    /// HDEC slice in milliseconds while no other vCPU is runnable.
    pub slice_ms: u64,
    /// HDEC slice in milliseconds while another vCPU is runnable.
    pub share_ms: u64,
    /// Seconds between `VMM-TRACE` scheduler lines (0: none).
    pub trace_s: u64,
    /// Microseconds a waiting L1 CPU polls before it cedes.
    pub spin_us: u64,
    /// Microseconds of a run while an interrupt waits for the L2's MSR\[EE\] (a vCPU per
    /// L1 CPU).
    pub masked_us: u64,
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

/// The most vCPUs `vmm.cpus` may ask for.
pub const MAX_CPUS: u64 = 8;

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
            cpus: 1,
            slice_ms: 100,
            share_ms: 2,
            trace_s: 0,
            spin_us: 0,
            masked_us: 2000,
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
                "cpus" => {
                    c.cpus = number(value)
                        .filter(|&n| (1..=MAX_CPUS).contains(&n))
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or_else(bad)?;
                }
                "trace_s" => {
                    c.trace_s = number(value).filter(|&s| s <= 600).ok_or_else(bad)?;
                }
                "masked_us" => {
                    c.masked_us = number(value)
                        .filter(|&u| (10..=100_000).contains(&u))
                        .ok_or_else(bad)?;
                }
                "spin_us" => {
                    c.spin_us = number(value).filter(|&u| u <= 100_000).ok_or_else(bad)?;
                }
                "share_ms" => {
                    c.share_ms = number(value)
                        .filter(|&m| (1..=1000).contains(&m))
                        .ok_or_else(bad)?;
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
