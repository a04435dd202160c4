//! The scripted L2: a [`ScriptBuilder`] that turns "print this, touch that page, poke the
//! device, idle, exit" into the software L0's [`L2Action`] program, plus the instruction
//! words the L1 must find in L2 RAM.
//!
//! The software L0 executes the [`L2Action`]s, not instructions. Two places still need real
//! instruction words in L2 RAM: `papr-nestedv2` decodes an MMIO exit's load/store from the
//! word at NIA (to know the size, the target register, and for a store the source
//! register), and a reader of memory dumps likes to see `sc 1` where the hcalls are. The
//! builder tracks NIA the way the software L0 moves it (+4 per executed action, a `Fetch`
//! branches, a program interrupt goes to 0x700) and records the word for each address.

use crate::vmm::{DEV_ID, DEV_SCRATCH, HCALL_EXIT};
use papr_hcall::opcode;
use papr_hcall::sim::L2Action;
use papr_nestedv2::vector;

/// `sc 1`.
const SC1: u32 = 0x4400_0022;
/// `lwz`/`stw` primary opcodes.
const OP_LWZ: u32 = 32;
const OP_STW: u32 = 36;
/// Register the MMIO base lives in (for the instruction encoding only: the software L0
/// takes the address from the action, `papr-nestedv2` from HDAR).
const BASE_REG: u32 = 11;
/// Register an MMIO load targets.
const LOAD_REG: u32 = 5;
/// Register an MMIO store takes its data from: r12, which the console hcall does not use,
/// so the value rides to the L0 as the 9th argument of the preceding hcall (see
/// [`ScriptBuilder::set_r12`]).
const STORE_REG: u32 = 12;

/// A D-form instruction (`lwz`, `stw`, …).
const fn d_form(op: u32, rt: u32, ra: u32, d: u16) -> u32 {
    (op << 26) | (rt << 21) | (ra << 16) | d as u32
}

/// Up to 8 bytes, first in the most significant byte, zero-padded (H_PUT_TERM_CHAR's
/// register format).
fn pack(bytes: &[u8]) -> u64 {
    (0..8).fold(0, |acc, i| {
        (acc << 8) | u64::from(bytes.get(i).copied().unwrap_or(0))
    })
}

/// Why a script could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// An MMIO store of r12 without an hcall since [`ScriptBuilder::set_r12`] to carry the
    /// value into the L0's register file.
    #[error("MMIO store of r12 = {want:#x}, but the L0 holds r12 = {held:#x}: print something after set_r12")]
    StoreValueNotInRegister {
        /// The value the script wants stored.
        want: u64,
        /// What the last hcall left in r12.
        held: u64,
    },
}

/// One instruction word of a [`Script`], at the guest real address the L2 executes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeWord {
    /// Guest real address.
    pub gpa: u64,
    /// The instruction.
    pub word: u32,
    /// Stored little-endian (the L2 runs with MSR\[LE\] = 1 there) or big-endian.
    pub le: bool,
}

impl CodeWord {
    /// The word's bytes in L2 memory order.
    pub fn bytes(&self) -> [u8; 4] {
        if self.le {
            self.word.to_le_bytes()
        } else {
            self.word.to_be_bytes()
        }
    }
}

/// A built L2 program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    /// What the software L0 runs, in order.
    pub actions: Vec<L2Action>,
    /// Instruction words to write into L2 RAM before the run.
    pub code: Vec<CodeWord>,
    /// Where the L2 starts (its first instruction fetch).
    pub entry: u64,
}

/// Builds a [`Script`]; see the [module docs](self).
///
/// ```
/// use hosted::script::ScriptBuilder;
/// let mut s = ScriptBuilder::new(0);
/// s.print("hi\n");
/// s.exit(0);
/// let script = s.build();
/// assert_eq!(script.actions.len(), 3); // fetch of the entry, one H_PUT_TERM_CHAR, exit
/// ```
#[derive(Debug, Clone)]
pub struct ScriptBuilder {
    actions: Vec<L2Action>,
    code: Vec<CodeWord>,
    entry: u64,
    nia: u64,
    le: bool,
    /// What the next hcall carries in r12.
    r12: u64,
    /// What the last hcall left in r12 in the L0.
    r12_in_l0: u64,
}

impl ScriptBuilder {
    /// A program starting with a branch to `entry` (its first fetch: the first touch of the
    /// code page, an instruction fault `papr-nestedv2` resolves by mapping the page).
    /// The L2 starts little-endian, in real mode.
    pub fn new(entry: u64) -> Self {
        Self {
            actions: vec![L2Action::Fetch { gpa: entry }],
            code: Vec::new(),
            entry,
            nia: entry,
            le: true,
            r12: 0,
            r12_in_l0: 0,
        }
    }

    fn word(&mut self, word: u32) {
        self.code.push(CodeWord {
            gpa: self.nia,
            word,
            le: self.le,
        });
    }

    /// `sc 1` with r3 = `nr`, r4–r7 = `args`, r8–r11 = 0 and r12 as set.
    fn hcall(&mut self, nr: u64, [r4, r5, r6, r7]: [u64; 4]) {
        self.r12_in_l0 = self.r12;
        self.word(SC1);
        self.actions.push(L2Action::Hcall {
            nr,
            args: [r4, r5, r6, r7, 0, 0, 0, 0, self.r12],
        });
        self.nia += 4;
    }

    /// Prints `text` on the console: `H_PUT_TERM_CHAR(termno 0, len, chars 0–7, chars
    /// 8–15)`, 16 bytes per hcall, first byte in the most significant byte of r6.
    pub fn print(&mut self, text: &str) {
        for chunk in text.as_bytes().chunks(16) {
            let (hi, lo) = chunk.split_at(chunk.len().min(8));
            self.hcall(
                opcode::H_PUT_TERM_CHAR,
                [0, chunk.len() as u64, pack(hi), pack(lo)],
            );
        }
    }

    /// `li r12, value`: what following hcalls carry in r12 (and so what an MMIO store of
    /// r12 writes once one of them has run).
    pub fn set_r12(&mut self, value: u64) {
        self.r12 = value;
    }

    /// An 8-byte store to L2 RAM at `gpa` (a page fault on the first touch of its page).
    pub fn store_ram(&mut self, gpa: u64, value: u64) {
        self.actions.push(L2Action::Store {
            gpa,
            size: 8,
            value,
        });
        self.nia += 4;
    }

    /// An 8-byte load from L2 RAM at `gpa`.
    pub fn load_ram(&mut self, gpa: u64) {
        self.actions.push(L2Action::Load { gpa, size: 8 });
        self.nia += 4;
    }

    /// `lwz r5, offset(r11)`: a 4-byte load from the device register at `gpa`.
    pub fn mmio_load32(&mut self, gpa: u64, offset: u16) {
        self.word(d_form(OP_LWZ, LOAD_REG, BASE_REG, offset));
        self.actions.push(L2Action::Load { gpa, size: 4 });
        self.nia += 4;
    }

    /// `stw r12, offset(r11)`: a 4-byte store of r12 to the device register at `gpa`.
    ///
    /// # Errors
    /// [`ScriptError::StoreValueNotInRegister`] if no hcall carried r12 = `value` since the
    /// last [`set_r12`](Self::set_r12) (the software L0 sets registers only on hcalls).
    pub fn mmio_store32(&mut self, gpa: u64, offset: u16, value: u64) -> Result<(), ScriptError> {
        if self.r12_in_l0 != value {
            return Err(ScriptError::StoreValueNotInRegister {
                want: value,
                held: self.r12_in_l0,
            });
        }
        self.word(d_form(OP_STW, STORE_REG, BASE_REG, offset));
        self.actions.push(L2Action::Store {
            gpa,
            size: 4,
            value,
        });
        self.nia += 4;
        Ok(())
    }

    /// Idles until the hypervisor decrementer fires (a timer exit).
    pub fn wait_timer(&mut self) {
        self.actions.push(L2Action::WaitHdec);
    }

    /// An instruction the L0 hands to the L1 (an emulation-assist exit); the hosted VMM
    /// does not emulate it and delivers a program interrupt, so the L2 continues at 0x700,
    /// big-endian (LPCR\[ILE\] = 0), where the rest of the script runs.
    pub fn unsupported_instruction(&mut self, word: u32) {
        self.word(word);
        self.actions.push(L2Action::illegal(word));
        self.nia = vector::PROGRAM;
        self.le = false;
    }

    /// The example's exit hcall with `status` in r4; the process exits with it.
    pub fn exit(&mut self, status: u64) {
        self.hcall(HCALL_EXIT, [status, 0, 0, 0]);
    }

    /// The program.
    pub fn build(self) -> Script {
        Script {
            actions: self.actions,
            code: self.code,
            entry: self.entry,
        }
    }
}

/// The greeting the default script prints first.
pub const GREETING: &str = "Hello from an L2 guest under PAPR Nested APIv2!\n";

/// L2 RAM pages the default script stores to first (a page fault each).
pub const STORED_PAGES: [u64; 4] = [0x10_0000, 0x10_1000, 0x10_2000, 0x10_3000];
/// The L2 RAM page the default script loads from first (a page fault).
pub const LOADED_PAGE: u64 = 0x20_0000;
/// Page faults the default script takes: one per page it touches.
pub const PAGE_FAULTS: u64 = STORED_PAGES.len() as u64 + 1;

/// Timer exits the default script waits for.
pub const TIMER_WAITS: usize = 3;

/// The value the default script writes to the device's scratch register.
pub const SCRATCH_VALUE: u64 = 0x2a;

/// The default L2: greets, faults in RAM, probes the device, idles, tries an unsupported
/// instruction, and exits with `status`.
///
/// `dev` is the device's guest real address.
///
/// # Errors
/// Never for this script (see [`ScriptBuilder::mmio_store32`]).
pub fn default_script(dev: u64, status: u64) -> Result<Script, ScriptError> {
    let mut s = ScriptBuilder::new(0);
    s.print(GREETING);
    s.print("ram: touching 5 pages\n");
    for (i, &gpa) in (1u64..).zip(&STORED_PAGES) {
        s.store_ram(gpa, i);
    }
    s.load_ram(LOADED_PAGE);
    s.load_ram(STORED_PAGES[0] + 8); // mapped now: no exit
    s.print("mmio: reading the device id\n");
    s.mmio_load32(dev + DEV_ID, DEV_ID as u16);
    s.set_r12(SCRATCH_VALUE);
    s.print("mmio: scratch <- 0x2a, read back\n");
    s.mmio_store32(dev + DEV_SCRATCH, DEV_SCRATCH as u16, SCRATCH_VALUE)?;
    s.mmio_load32(dev + DEV_SCRATCH, DEV_SCRATCH as u16);
    s.print("timer: idling for 3 ticks\n");
    for _ in 0..TIMER_WAITS {
        s.wait_timer();
    }
    s.print("trying an optional instruction\n");
    s.unsupported_instruction(UNSUPPORTED_WORD);
    s.print("program check caught: bye!\n");
    s.exit(status);
    Ok(s.build())
}

/// The instruction word the default script tries (primary opcode 0: illegal on POWER).
pub const UNSUPPORTED_WORD: u32 = 0x0000_0001;
