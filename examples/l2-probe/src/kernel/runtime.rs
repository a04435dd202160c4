//! The kernel's runtime: the console subroutines, the trap handler, `power_off`, and the
//! data they read.

use super::{Gen, PANIC_TEXT, R_BASE, R_VAL};
use crate::error::Error;
use crate::insn;
use crate::papr::{nr, rc, rtas};

/// `report` (r4 = name, r5 = length, r31 = value), `copy` and `put` (r16 = 8-aligned
/// text, r17 = length: `H_PUT_TERM_CHAR` on vterm 0, 16 bytes at a time, retried on
/// `H_BUSY`). They clobber r3–r12, r14–r18, r26, CTR, LR and CR0.
pub(super) fn subroutines(g: &mut Gen) -> Result<(), Error> {
    let l = &g.l;
    let a = &mut g.a;
    a.bind(l.report)?;
    a.word(insn::mfspr(26, insn::SPR_LR));
    a.la(14, R_BASE, l.line, 0);
    a.la(16, R_BASE, l.prefix, 0);
    a.word(insn::li(17, 6));
    a.bl(l.copy);
    a.words(&[insn::mr(16, 4), insn::mr(17, 5)]);
    a.bl(l.copy);
    a.la(16, R_BASE, l.rc_text, 0);
    a.word(insn::li(17, 4));
    a.bl(l.copy);
    a.la(16, R_BASE, l.hex, 0);
    a.words(&[insn::li(17, 16), insn::mtspr(insn::SPR_CTR, 17)]);
    let hex = a.label_here();
    a.words(&[
        insn::rldicl(R_VAL, R_VAL, 4, 0),
        insn::clrldi(18, R_VAL, 60),
        insn::lbzx(18, 16, 18),
        insn::stb(18, 0, 14),
        insn::addi(14, 14, 1),
    ]);
    a.bc(insn::BO_DNZ, 0, hex);
    a.words(&[
        insn::li(18, 10),
        insn::stb(18, 0, 14),
        insn::addi(14, 14, 1),
    ]);
    a.la(16, R_BASE, l.line, 0);
    a.word(insn::subf(17, 16, 14));
    a.bl(l.put);
    a.words(&[insn::mtspr(insn::SPR_LR, 26), insn::BLR]);

    a.bind(l.copy)?;
    a.words(&[
        insn::cmpdi(0, 17, 0),
        insn::BEQLR,
        insn::mtspr(insn::SPR_CTR, 17),
    ]);
    let copy = a.label_here();
    a.words(&[
        insn::lbz(18, 0, 16),
        insn::stb(18, 0, 14),
        insn::addi(16, 16, 1),
        insn::addi(14, 14, 1),
    ]);
    a.bc(insn::BO_DNZ, 0, copy);
    a.word(insn::BLR);

    a.bind(l.put)?;
    let next = a.label_here();
    a.words(&[
        insn::cmpdi(0, 17, 0),
        insn::BEQLR,
        insn::mr(18, 17),
        insn::cmpldi(0, 17, 16),
    ]);
    let retry = a.label();
    a.bc(insn::BO_FALSE, insn::CR0_GT, retry);
    a.word(insn::li(18, 16));
    a.bind(retry)?;
    a.words(&[
        insn::li(3, nr::H_PUT_TERM_CHAR as i16),
        insn::li(4, 0),
        insn::mr(5, 18),
        insn::ld(6, 0, 16),
        insn::ld(7, 8, 16),
        insn::SC1,
        insn::cmpdi(0, 3, rc::H_BUSY as i16),
    ]);
    a.bc(insn::BO_TRUE, insn::CR0_EQ, retry);
    a.words(&[insn::add(16, 16, 18), insn::subf(17, 18, 17)]);
    a.b(next);
    Ok(())
}

/// The trap handler and `power_off`.
pub(super) fn trap_and_power_off(g: &mut Gen) -> Result<(), Error> {
    g.a.bind(g.l.trap)?;
    g.a.words(&[
        insn::mr(19, 3),
        insn::mfspr(24, insn::SPR_SRR0),
        insn::mfspr(25, insn::SPR_SRR1),
    ]);
    g.find_base();
    // A trap inside the trap handler goes straight to power-off.
    g.addr(20, g.l.line, 0x800);
    g.a.words(&[insn::ld(21, 0, 20), insn::cmpdi(0, 21, 0)]);
    g.a.bc(insn::BO_FALSE, insn::CR0_EQ, g.l.power_off);
    g.a.words(&[insn::li(21, 1), insn::std(21, 0, 20)]);
    g.a.word(insn::mr(R_VAL, 19));
    g.report_text("trap.vector");
    g.a.word(insn::mr(R_VAL, 24));
    g.report_text("trap.srr0");
    g.a.word(insn::mr(R_VAL, 25));
    g.report_text("trap.srr1");
    g.rtas_block(rtas::IBM_OS_TERM, 1, 1, &[]);
    g.addr(21, g.l.panic_text, 0);
    g.a.word(insn::stw(21, 12, 20));
    g.rtas_call();

    g.a.bind(g.l.power_off)?;
    g.rtas_block(rtas::POWER_OFF, 2, 1, &[u32::MAX, u32::MAX]);
    g.rtas_call();
    g.report_text("power-off.returned");
    g.a.word(insn::B_SELF);
    Ok(())
}

/// Data: hex digits, texts, probe names and the closing line `done_text` (8-aligned, 16
/// zero bytes after it, as `put` reads 16 bytes at a time).
pub(super) fn data(g: &mut Gen, done_text: &str) -> Result<(), Error> {
    let a = &mut g.a;
    a.align(8);
    a.bind(g.l.hex)?;
    a.bytes(b"0123456789abcdef");
    a.bind(g.l.prefix)?;
    a.bytes(b"probe ");
    a.bind(g.l.rc_text)?;
    a.bytes(b" rc=");
    a.bind(g.l.panic_text)?;
    a.bytes(PANIC_TEXT.as_bytes());
    a.bytes(&[0]);
    for &(name, l) in g.reported.iter().chain(&g.texts) {
        a.bind(l)?;
        a.bytes(name.as_bytes());
        a.bytes(b"\n");
    }
    a.align(8);
    a.bind(g.l.done)?;
    a.bytes(done_text.as_bytes());
    a.bytes(&[0; 16]);
    a.align(8);
    Ok(())
}
