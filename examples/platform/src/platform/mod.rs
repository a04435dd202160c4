//! [`Platform`]: the L2's PAPR platform as a nestedv2 [`ExitHandler`] — the guest hcalls,
//! RTAS, the console, the XICS presentation controllers, the vCPUs' run states (SMP), and
//! what a real machine does with the exits no device claims.

mod console;
mod hcalls;
mod rtas_call;
pub(crate) mod smp;
mod vpa;
mod xics;

pub use smp::CpuState;

use crate::env::Environment;
use crate::error::Error;
use crate::{fdt, hcall};
use alloc::collections::{BTreeMap, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;
use papr_gsb::GuestStateId;
use papr_hcall::ReturnCode;
use papr_nestedv2::{
    msr, program, Action, Exit, ExitHandler, GuestRealAddr, HcallReturn, MmioData, VcpuContext,
};

/// SRR1 bit of a program interrupt caused by a prefixed instruction (ISA 3.1).
pub const SRR1_PREFIXED: u64 = 0x2000_0000;

/// What the platform needs to know about the L2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PlatformConfig {
    /// The L2's RAM from GPA 0: every address the L2 passes must lie below it (and in a RAM
    /// region of the guest).
    pub ram_bytes: u64,
    /// GPA of the RTAS blob (as in the device tree).
    pub rtas_base: u64,
    /// The vty's vterm number (`reg`); vterm 0 reaches it too, as in QEMU.
    pub vterm: u64,
    /// Number of vCPUs (processor ids `0..vcpus` for `H_REGISTER_VPA`, XICS servers).
    pub vcpus: u32,
    /// `H_GET_CPU_CHARACTERISTICS` r4 (default: QEMU TCG's, `H_CPU_CHAR_HON_BRANCH_HINTS`).
    pub cpu_characteristics: u64,
    /// `H_GET_CPU_CHARACTERISTICS` r5 (default: QEMU TCG's with the `broken` security caps:
    /// FAVOUR_SECURITY | L1D_FLUSH_PR | BNDS_CHK_SPEC_BAR).
    pub cpu_behaviour: u64,
    /// Console input bytes kept for the L2 before further input is dropped.
    pub input_buffer: usize,
}

impl PlatformConfig {
    /// One vCPU, the vty at [`fdt::VTY_REG`], QEMU TCG's CPU characteristics, 4 KiB of
    /// console input buffer.
    ///
    /// ```
    /// let c = papr_platform::PlatformConfig::new(128 << 20, 0x410_0000);
    /// assert_eq!((c.vterm, c.vcpus), (0x7100_0000, 1));
    /// ```
    pub const fn new(ram_bytes: u64, rtas_base: u64) -> Self {
        Self {
            ram_bytes,
            rtas_base,
            vterm: fdt::VTY_REG as u64,
            vcpus: 1,
            cpu_characteristics: 1 << (63 - 5),
            cpu_behaviour: (1 << 63) | (1 << (63 - 1)) | (1 << (63 - 2)),
            input_buffer: 4096,
        }
    }
}

/// How the L2 ended (the run loop stopped on it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// RTAS `power-off`.
    PowerOff,
    /// RTAS `system-reboot`.
    Reboot,
    /// RTAS `ibm,os-term`: the kernel panicked with this text.
    OsTerm(String),
    /// The platform could not go on (a vCPU operation failed, or an exit it cannot
    /// emulate).
    Error(Error),
}

/// Counters of what the platform did besides answering hcalls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlatformStats {
    /// `H_CEDE`s that idled (called [`Environment::idle_until`]), and waits of a
    /// [`Board`](crate::Board) ([`Board::idle`](crate::Board::idle)).
    pub idles: u64,
    /// Loads from addresses no device backs (completed with all ones).
    pub mmio_loads: u64,
    /// Stores to addresses no device backs (dropped).
    pub mmio_stores: u64,
    /// Console input bytes dropped because the L2 did not read them in time.
    pub input_dropped: u64,
    /// Illegal instructions turned into program interrupts.
    pub illegal: u64,
}

/// Per-vCPU platform state.
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    icp: xics::Icp,
    /// LPCR\[MER\] as last requested from this vCPU.
    mer: bool,
    vpa: vpa::Areas,
    /// The guest-wide LPCR generation this vCPU has.
    lpcr_gen: u64,
    /// Stopped, starting, running or ceded (RTAS `start-cpu`/`stop-self`, `H_CEDE`).
    state: CpuState,
    /// An `H_PROD` not yet consumed by an `H_CEDE` or a wake-up.
    prod: bool,
}

/// The L2's platform: answers the L2's hcalls and RTAS calls as QEMU's `pseries` machine
/// does, and handles every other exit the run loop passes on. Use it as the handler of
/// `Vcpu::run_loop`; it returns [`Action::Stop`] when the L2 powers off, reboots or
/// panics ([`Platform::outcome`]), and, with no outcome, when the vCPU stops itself (RTAS
/// `stop-self`) or — on a [`Board`](crate::Board) — gives the L1 CPU back (`H_CEDE`,
/// `H_CONFER`).
///
/// Exits other than hcalls, as a machine without that device would answer them:
/// * MMIO to an address no device backs: a decoded load reads all ones (an unassigned bus),
///   a store is dropped; both are counted ([`PlatformStats`]). An access whose instruction
///   could not be decoded stops the run with [`Outcome::Error`];
/// * an emulation assist (illegal instruction) or a facility the L1 keeps disabled
///   (HFSCR): a program interrupt, with SRR1's "prefixed" bit when the L2 runs in real mode
///   and the word at NIA is a prefix;
/// * HDEC, external, doorbell: resume;
/// * anything else (a protection fault on RAM, a fetch outside RAM, an unknown trap): the
///   run stops with [`Outcome::Error`] naming the exit and address — never a hang.
///
/// A failing vCPU operation (a GET the L0 refuses) also stops the run with
/// [`Outcome::Error`].
#[derive(Debug)]
pub struct Platform<E: Environment> {
    env: E,
    cfg: PlatformConfig,
    outcome: Option<Outcome>,
    hcalls: BTreeMap<u64, u64>,
    rtas: BTreeMap<u32, u64>,
    input: VecDeque<u8>,
    cpus: BTreeMap<u64, Cpu>,
    /// Guest-wide LPCR bits set by `H_SET_MODE` (ILE, AIL) and their generation.
    lpcr_mode: (u64, u64, u64),
    /// The registered process table, if any (base, bytes).
    proc_table: Option<(u64, u64)>,
    /// `set-time-of-day` minus the L0's clock, in seconds.
    tod_offset: i64,
    stats: PlatformStats,
    /// `H_CEDE` and `H_CONFER` give the L1 CPU back ([`Action::Stop`]) instead of idling
    /// here: set by [`Board`](crate::Board), whose VMM schedules the vCPUs.
    yields: bool,
}

impl<E: Environment> Platform<E> {
    /// A platform over the VMM's environment, the handler of a VMM that runs one vCPU
    /// (`cfg.vcpus` = 1) with `run_loop`: `H_CEDE` idles through
    /// [`Environment::idle_until`]. vCPU 0 runs, the others (if any) are stopped until
    /// RTAS `start-cpu`; a VMM running several vCPUs uses a [`Board`](crate::Board).
    pub fn new(env: E, cfg: PlatformConfig) -> Self {
        let mut cpus = BTreeMap::new();
        for id in 1..u64::from(cfg.vcpus) {
            let stopped = Cpu {
                state: CpuState::Stopped,
                ..Cpu::default()
            };
            cpus.insert(id, stopped);
        }
        Self {
            env,
            cfg,
            outcome: None,
            hcalls: BTreeMap::new(),
            rtas: BTreeMap::new(),
            input: VecDeque::new(),
            cpus,
            lpcr_mode: (0, 0, 0),
            proc_table: None,
            tod_offset: 0,
            stats: PlatformStats::default(),
            yields: false,
        }
    }

    /// How the L2 ended, once it has.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Hcalls answered so far: (number, name, count), by number.
    pub fn hcall_counts(&self) -> Vec<(u64, &'static str, u64)> {
        self.hcalls
            .iter()
            .map(|(&nr, &n)| (nr, hcall::name(nr), n))
            .collect()
    }

    /// RTAS calls so far: (token, name or `"unknown"`, count), by token.
    pub fn rtas_counts(&self) -> Vec<(u32, &'static str, u64)> {
        self.rtas
            .iter()
            .map(|(&t, &n)| (t, crate::rtas::token::name(t).unwrap_or("unknown"), n))
            .collect()
    }

    /// Other counters.
    pub fn stats(&self) -> &PlatformStats {
        &self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &PlatformConfig {
        &self.cfg
    }

    /// The process table the L2 registered (base GPA, bytes), if any.
    pub fn process_table(&self) -> Option<(u64, u64)> {
        self.proc_table
    }

    /// Whether vCPU `vcpu`'s interrupt presentation controller asserts an external
    /// interrupt (an IPI from another vCPU): a VMM running several vCPUs requests it
    /// (`Vcpu::set_external_pending`) before running that vCPU. The current vCPU's is kept
    /// up to date on every exit.
    pub fn external_pending(&self, vcpu: u64) -> bool {
        self.cpus.get(&vcpu).is_some_and(|c| c.icp.raised())
    }

    /// The VMM's environment.
    pub fn env(&self) -> &E {
        &self.env
    }

    /// The VMM's environment, mutably.
    pub fn env_mut(&mut self) -> &mut E {
        &mut self.env
    }

    fn cpu(&mut self, id: u64) -> &mut Cpu {
        self.cpus.entry(id).or_default()
    }

    /// Whether `[gpa, gpa + len)` is L2 RAM (below `ram_bytes` and in a guest RAM region).
    fn is_ram(&self, vcpu: &dyn VcpuContext, gpa: u64, len: u64) -> bool {
        gpa.checked_add(len)
            .is_some_and(|end| end <= self.cfg.ram_bytes)
            && vcpu.is_ram(GuestRealAddr(gpa), len)
    }

    /// Records `outcome` unless the L2 has one already.
    pub(crate) fn end(&mut self, outcome: Outcome) {
        if self.outcome.is_none() {
            self.outcome = Some(outcome);
        }
    }

    /// Records `outcome` and stops the run.
    fn finish(&mut self, outcome: Outcome) -> Action {
        self.outcome = Some(outcome);
        Action::Stop
    }

    /// Applies the guest-wide LPCR mode (`H_SET_MODE` from any vCPU) to this one.
    fn sync_lpcr(&mut self, id: u64, vcpu: &mut dyn VcpuContext) {
        let (bits, mask, gen) = self.lpcr_mode;
        let cpu = self.cpu(id);
        if cpu.lpcr_gen != gen {
            cpu.lpcr_gen = gen;
            let l = vcpu.lpcr();
            if l & mask != bits {
                vcpu.set_lpcr((l & !mask) | bits);
            }
        }
    }

    /// Sets guest-wide LPCR bits (`mask` ← `bits`) on this vCPU now and on the others at
    /// their next exit.
    fn set_lpcr_mode(&mut self, id: u64, vcpu: &mut dyn VcpuContext, bits: u64, mask: u64) {
        let (old_bits, old_mask, gen) = self.lpcr_mode;
        let mask_all = old_mask | mask;
        let bits_all = (old_bits & !mask) | bits;
        self.lpcr_mode = (bits_all, mask_all, gen.wrapping_add(1));
        self.sync_lpcr(id, vcpu);
    }

    /// Requests (or withdraws) the external interrupt when this vCPU's ICP changed.
    fn sync_irq(&mut self, id: u64, vcpu: &mut dyn VcpuContext) {
        let cpu = self.cpu(id);
        let raised = cpu.icp.raised();
        if raised != cpu.mer {
            cpu.mer = raised;
            vcpu.set_external_pending(raised);
        }
    }

    fn exit(&mut self, exit: &Exit, vcpu: &mut dyn VcpuContext) -> Result<Action, Error> {
        Ok(match *exit {
            Exit::Hcall { nr, args } => {
                *self.hcalls.entry(nr).or_insert(0) += 1;
                return self.hcall(nr, &args, vcpu);
            }
            // No device: loads see all ones (an unassigned bus), stores are dropped.
            Exit::Mmio {
                access: Some(_),
                is_write,
                size,
                ..
            } => {
                let data = if is_write {
                    self.stats.mmio_stores += 1;
                    MmioData::NONE
                } else {
                    self.stats.mmio_loads += 1;
                    MmioData::filled(0xFF, size.unwrap_or(8)).unwrap_or(MmioData::NONE)
                };
                Action::MmioComplete { data }
            }
            Exit::Mmio { gpa, .. } => self.finish(Outcome::Error(Error::UnhandledExit {
                kind: "undecodable MMIO",
                at: gpa.0,
            })),
            Exit::EmulationAssist { nia, .. } => self.illegal(nia, vcpu)?,
            // A facility the L1 keeps off (HFSCR): KVM answers with a program interrupt.
            Exit::FacilityUnavailable { .. } => {
                self.stats.illegal += 1;
                Action::InjectProgram
            }
            Exit::Hdec | Exit::External { .. } | Exit::Doorbell => Action::Resume,
            Exit::PageFault { gpa, .. } => self.finish(Outcome::Error(Error::UnhandledExit {
                kind: "page-fault",
                at: gpa.0,
            })),
            Exit::InstructionFault { gpa, .. } => {
                self.finish(Outcome::Error(Error::UnhandledExit {
                    kind: "instruction-fault",
                    at: gpa.0,
                }))
            }
            Exit::Unknown { trap } => self.finish(Outcome::Error(Error::UnhandledExit {
                kind: "unknown trap",
                at: trap,
            })),
            _ => self.finish(Outcome::Error(Error::UnhandledExit {
                kind: exit.kind().name(),
                at: 0,
            })),
        })
    }

    /// An emulation assist: the instruction is illegal for the L2. The program interrupt
    /// says "prefixed" when the word at NIA is a prefix (primary opcode 1), which the L1
    /// can read in real mode (QEMU's HEIR holds only the suffix).
    fn illegal(&mut self, nia: u64, vcpu: &mut dyn VcpuContext) -> Result<Action, Error> {
        self.stats.illegal += 1;
        let m = vcpu.reg(GuestStateId::MSR)? as u64;
        let gpa = nia & crate::elf::ADDR_MASK;
        if m & msr::IR == 0 && self.is_ram(vcpu, gpa, 4) {
            let mut w = [0u8; 4];
            vcpu.read_guest(GuestRealAddr(gpa), &mut w)?;
            let word = if m & msr::LE != 0 {
                u32::from_le_bytes(w)
            } else {
                u32::from_be_bytes(w)
            };
            if word >> 26 == 1 {
                vcpu.inject_program(program::ILLEGAL | SRR1_PREFIXED)?;
                return Ok(Action::Resume);
            }
        }
        Ok(Action::InjectProgram)
    }
}

impl<E: Environment> ExitHandler for Platform<E> {
    fn handle(&mut self, exit: &Exit, vcpu: &mut dyn VcpuContext) -> Action {
        let id = vcpu.vcpu_id().0;
        self.sync_lpcr(id, vcpu);
        let action = match self.exit(exit, vcpu) {
            Ok(a) => a,
            Err(e) => self.finish(Outcome::Error(e)),
        };
        self.sync_irq(id, vcpu);
        action
    }
}

/// `r3` = `code`.
fn rc(code: ReturnCode) -> HcallReturn {
    HcallReturn::status(code.raw() as u64)
}

/// `r3` = `H_SUCCESS`.
fn ok() -> HcallReturn {
    HcallReturn::status(0)
}

/// `r3` = `H_UNSUPPORTED_FLAG` (−256, the one value QEMU returns).
fn unsupported_flag() -> HcallReturn {
    HcallReturn::status(papr_hcall::H_UNSUPPORTED_FLAG as u64)
}

#[cfg(test)]
mod tests;
