//! The probe kernel: layout, entry, interrupt vectors and the console/RTAS subroutines. The
//! probes themselves are in `steps.rs`.
//!
//! Image layout (offsets from the load address; the ELF segment maps offset 0 to vaddr 0):
//!
//! | offset | what |
//! |---|---|
//! | 0x000 | `b start` |
//! | 0x008 | header: `"PAPRL2PB"`, be32 version 1, be32 probe count |
//! | 0x100–0xFFF | interrupt vectors, one stub per 0x20 slot: 0x900 (decrementer) re-arms DEC and `rfid`s; every other slot jumps to the trap handler (its address is kept in SPRG3) with r3 = the slot |
//! | 0x1000 | `start`, the probes, the subroutines |
//! | after the code | data: hex digits, strings, the probe names (`\n`-separated) |
//! | next 4 KiB boundary | zero-filled scratch (`.bss`, not in the file): process table page, VPA page, `H_PAGE_INIT` page, RTAS argument page, console line page |
//!
//! Entry (big-endian; 32- or 64-bit; real mode): r3 = device tree GPA, r5 = 0. The kernel
//! sets MSR\[SF\], finds its load address with `bcl 20,31,$+4; mflr`, and, when loaded
//! anywhere but 0, copies its vector area to GPA 0x100–0xFFF (so that GPA range must be
//! free RAM). Then it asks for big-endian interrupts (`H_SET_MODE`), runs the probes,
//! prints `probe-done <n>` and calls RTAS `power-off`.
//!
//! An unexpected interrupt prints `probe trap.vector`, `probe trap.srr0`, `probe
//! trap.srr1`, calls `ibm,os-term` with [`PANIC_TEXT`], then `power-off`. The
//! [`Program::Panic`] kernel does that on purpose.

mod runtime;
mod steps;

use crate::asm::{Asm, Image, Label};
use crate::error::Error;
use crate::insn::{self, Gpr};
use crate::papr::nr;
use crate::probes::{IMAGE_MAGIC, PROBES};
use alloc::vec::Vec;

/// Offset of the first instruction after the vector area.
pub const START: u64 = 0x1000;
/// First interrupt vector slot the kernel fills.
pub const VECTORS: u64 = 0x100;
/// Spacing of the vector stubs.
pub const VECTOR_SLOT: u64 = 0x20;
/// The decrementer interrupt vector.
pub const DEC_VECTOR: u64 = 0x900;
/// Bytes of zero-filled scratch after the image (five 4 KiB pages).
pub const SCRATCH_BYTES: u64 = 5 * 0x1000;

/// The image's load address, kept for the whole run.
const R_BASE: Gpr = 30;
/// The value a report prints.
const R_VAL: Gpr = 31;
/// Entry r3 (device tree), entry MSR, entry r5.
const R_DTB: Gpr = 28;
const R_MSR: Gpr = 29;
const R_R5: Gpr = 27;

/// A value for an hcall argument register.
#[derive(Debug, Clone, Copy)]
enum Arg {
    /// A constant.
    Imm(u64),
    /// The absolute address `load address + label + addend`.
    At(Label, i64),
    /// The load address itself.
    Base,
}

/// Labels of the subroutines, data and scratch pages.
struct Layout {
    trap: Label,
    report: Label,
    copy: Label,
    put: Label,
    power_off: Label,
    hex: Label,
    prefix: Label,
    rc_text: Label,
    panic_text: Label,
    done: Label,
    prtb: Label,
    vpa: Label,
    page: Label,
    rtas: Label,
    line: Label,
}

/// The code generator: the assembler, the layout and the probe names reported so far.
struct Gen {
    a: Asm,
    l: Layout,
    /// Probe names in report order, each with the label of its text.
    reported: Vec<(&'static str, Label)>,
    /// Other texts reports use (trap lines).
    texts: Vec<(&'static str, Label)>,
}

impl Gen {
    /// Loads an hcall argument into `r`.
    fn arg(&mut self, r: Gpr, arg: Arg) {
        match arg {
            Arg::Imm(v) => self.a.load_const(r, v),
            Arg::At(l, add) => self.a.la(r, R_BASE, l, add),
            Arg::Base => self.a.word(insn::mr(r, R_BASE)),
        }
    }

    /// `r3 = nr; r4.. = args; sc 1; r31 = r3`.
    fn sc(&mut self, nr: u64, args: &[Arg]) {
        self.a.load_const(3, nr);
        for (r, &arg) in (4..).zip(args) {
            self.arg(r, arg);
        }
        self.a.word(insn::SC1);
        self.a.word(insn::mr(R_VAL, 3));
    }

    /// Prints `probe <name> rc=<r31>` for a probe of the table.
    fn report(&mut self, name: &'static str) {
        let l = self.a.label();
        self.reported.push((name, l));
        self.call_report(name, l);
    }

    /// Prints `probe <text> rc=<r31>` for a line outside the table.
    fn report_text(&mut self, text: &'static str) {
        let l = self.a.label();
        self.texts.push((text, l));
        self.call_report(text, l);
    }

    fn call_report(&mut self, name: &str, l: Label) {
        self.a.la(4, R_BASE, l, 0);
        self.a.load_const(5, name.len() as u64);
        self.a.bl(self.l.report);
    }

    /// An hcall probe: the call, then its r3.
    fn hcall(&mut self, name: &'static str, nr: u64, args: &[Arg]) {
        self.sc(nr, args);
        self.report(name);
    }

    /// `rt = load address + offset of label + addend`.
    fn addr(&mut self, rt: Gpr, l: Label, addend: i64) {
        self.a.la(rt, R_BASE, l, addend);
    }

    /// Writes an RTAS argument block header (and `args`) at the RTAS page into r20.
    fn rtas_block(&mut self, token: u32, nargs: u32, nret: u32, args: &[u32]) {
        self.addr(20, self.l.rtas, 0);
        for (off, v) in [(0i16, token), (4, nargs), (8, nret)] {
            self.a.load_const(21, u64::from(v));
            self.a.word(insn::stw(21, off, 20));
        }
        for (i, &v) in (0i16..).zip(args) {
            self.a.load_const(21, u64::from(v));
            self.a.word(insn::stw(21, 12 + 4 * i, 20));
        }
    }

    /// Makes the RTAS hcall with the block in r20.
    fn rtas_call(&mut self) {
        self.a.load_const(3, nr::H_RTAS);
        self.a.word(insn::mr(4, 20));
        self.a.word(insn::SC1);
        self.a.word(insn::mr(R_VAL, 3));
    }

    /// Sets r30 to the load address: the address `bcl 20,31,$+4` leaves in LR minus its
    /// offset in the image.
    fn find_base(&mut self) {
        self.a.word(insn::BCL_NEXT);
        let here = self.a.label_here();
        self.a.word(insn::mfspr(R_BASE, insn::SPR_LR));
        self.a.la(21, 0, here, 0);
        self.a.word(insn::subf(R_BASE, 21, R_BASE));
    }
}

fn header_and_vectors(g: &mut Gen, start: Label) -> Result<(), Error> {
    g.a.b(start);
    g.a.word(insn::NOP);
    g.a.bytes(&IMAGE_MAGIC.to_be_bytes());
    g.a.bytes(&1u32.to_be_bytes());
    g.a.bytes(&(PROBES.len() as u32).to_be_bytes());
    g.a.pad_to(VECTORS, 0)?;
    let mut slot = VECTORS;
    while slot < START {
        if slot == DEC_VECTOR {
            // Re-arm the decrementer (about 4 s away) and return: r3 saved in SPRG2.
            g.a.words(&[
                insn::mtspr(insn::SPR_SPRG2, 3),
                insn::lis(3, 0x7FFF),
                insn::ori(3, 3, 0xFFFF),
                insn::mtspr(insn::SPR_DEC, 3),
                insn::mfspr(3, insn::SPR_SPRG2),
                insn::RFID,
            ]);
        } else {
            // To the trap handler (address in SPRG3) with r3 = the vector.
            g.a.words(&[
                insn::mtspr(insn::SPR_SPRG2, 3),
                insn::mfspr(3, insn::SPR_SPRG3),
                insn::mtspr(insn::SPR_CTR, 3),
                insn::li(3, slot as i16),
                insn::BCTR,
            ]);
        }
        slot += VECTOR_SLOT;
        g.a.pad_to(slot, 0)?;
    }
    Ok(())
}

/// 64-bit mode, the load address, SPRG3 and the vector copy.
fn entry(g: &mut Gen) -> Result<(), Error> {
    let a = &mut g.a;
    a.words(&[
        insn::mfmsr(R_MSR),
        insn::mr(R_DTB, 3),
        insn::mr(R_R5, 5),
        insn::li(12, 1),
        insn::sldi(12, 12, 63),
        insn::or(11, R_MSR, 12),
        insn::mtmsrd(11, 0),
        insn::ISYNC,
    ]);
    g.find_base();
    g.addr(3, g.l.trap, 0);
    let a = &mut g.a;
    a.word(insn::mtspr(insn::SPR_SPRG3, 3));
    let skip = a.label();
    a.word(insn::cmpdi(0, R_BASE, 0));
    a.bc(insn::BO_TRUE, insn::CR0_EQ, skip);
    let len = (START - VECTORS) as i16;
    a.words(&[
        insn::li(3, VECTORS as i16),
        insn::addi(4, R_BASE, VECTORS as i16),
        insn::li(5, len / 8),
        insn::mtspr(insn::SPR_CTR, 5),
    ]);
    let copy = a.label_here();
    a.words(&[
        insn::ld(6, 0, 4),
        insn::std(6, 0, 3),
        insn::addi(3, 3, 8),
        insn::addi(4, 4, 8),
    ]);
    a.bc(insn::BO_DNZ, 0, copy);
    a.words(&[
        insn::li(3, VECTORS as i16),
        insn::li(5, len / 128),
        insn::mtspr(insn::SPR_CTR, 5),
    ]);
    let flush = a.label_here();
    a.words(&[
        insn::dcbst(3),
        insn::SYNC,
        insn::icbi(3),
        insn::addi(3, 3, 128),
    ]);
    a.bc(insn::BO_DNZ, 0, flush);
    a.words(&[insn::SYNC, insn::ISYNC]);
    a.bind(skip)
}

/// The word the panic kernel executes: 0 is no instruction (primary opcode 0 is
/// illegal), so the L2 takes a program interrupt (under nestedv2: an emulation-assist exit
/// that the L1 turns into one).
pub const ILLEGAL_WORD: u32 = 0;

/// Which program to assemble.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// The probes of [`PROBES`], then `probe-done` and `power-off`.
    Probes,
    /// `H_SET_MODE` big-endian, `probe panic.load-base`, then [`ILLEGAL_WORD`]: the trap
    /// handler reports the
    /// program interrupt and calls `ibm,os-term` with [`PANIC_TEXT`]. Should the word not
    /// trap, it prints `probe panic.not-trapped` and powers off.
    Panic,
}

/// The text the kernel passes to RTAS `ibm,os-term` from its trap handler.
pub const PANIC_TEXT: &str = "l2-probe: unexpected interrupt (see the probe trap.* lines)";

/// Assembles the probe kernel (see the module docs for its layout).
///
/// # Errors
/// [`Error`] if the program does not assemble or does not report exactly [`PROBES`] in
/// order (neither happens for this crate's program; the tests build it).
pub fn image() -> Result<Image, Error> {
    build(Program::Probes)
}

/// Assembles `program` in the layout of the module docs.
///
/// # Errors
/// As [`image`].
pub fn build(program: Program) -> Result<Image, Error> {
    assemble(program).map(|(img, _)| img)
}

/// Offset of [`ILLEGAL_WORD`] in the [`Program::Panic`] image: the trap's SRR0 is the load
/// address plus this.
///
/// # Errors
/// As [`image`].
pub fn panic_word_offset() -> Result<u64, Error> {
    let (img, at) = assemble(Program::Panic)?;
    at.and_then(|l| img.offset(l))
        .ok_or(Error::UnboundLabel { label: usize::MAX })
}

fn assemble(program: Program) -> Result<(Image, Option<Label>), Error> {
    let mut a = Asm::new();
    let start = a.label();
    let l = Layout {
        trap: a.label(),
        report: a.label(),
        copy: a.label(),
        put: a.label(),
        power_off: a.label(),
        hex: a.label(),
        prefix: a.label(),
        rc_text: a.label(),
        panic_text: a.label(),
        done: a.label(),
        prtb: a.bss(0x1000, 0x1000),
        vpa: a.bss(0x1000, 0x1000),
        page: a.bss(0x1000, 0x1000),
        rtas: a.bss(0x1000, 0x1000),
        line: a.bss(0x1000, 0x1000),
    };
    let mut g = Gen {
        a,
        l,
        reported: Vec::new(),
        texts: Vec::new(),
    };
    header_and_vectors(&mut g, start)?;
    g.a.bind(start)?;
    entry(&mut g)?;
    let done_text = match program {
        Program::Probes => alloc::format!("probe-done {}\n", PROBES.len()),
        Program::Panic => alloc::string::String::new(),
    };
    let mut illegal = None;
    match program {
        Program::Probes => {
            steps::probes(&mut g)?;
            g.a.la(16, R_BASE, g.l.done, 0);
            g.a.load_const(17, done_text.len() as u64);
            g.a.bl(g.l.put);
        }
        Program::Panic => {
            let be = [0, crate::papr::set_mode::LE, 0, 0].map(Arg::Imm);
            g.sc(nr::H_SET_MODE, &be);
            g.a.word(insn::mr(R_VAL, R_BASE));
            g.report_text("panic.load-base");
            illegal = Some(g.a.label_here());
            g.a.word(ILLEGAL_WORD);
            g.a.word(insn::mr(R_VAL, R_BASE));
            g.report_text("panic.not-trapped");
        }
    }
    g.a.b(g.l.power_off);
    runtime::subroutines(&mut g)?;
    runtime::trap_and_power_off(&mut g)?;
    runtime::data(&mut g, &done_text)?;
    if program == Program::Probes {
        check_order(&g.reported)?;
    }
    Ok((g.a.finish()?, illegal))
}

fn check_order(reported: &[(&'static str, Label)]) -> Result<(), Error> {
    for i in 0..PROBES.len().max(reported.len()) {
        let want = PROBES.get(i).map_or("", |p| p.name);
        let got = reported.get(i).map_or("", |r| r.0);
        if want != got {
            return Err(Error::ProbeOrder {
                index: i,
                want,
                got,
            });
        }
    }
    Ok(())
}
