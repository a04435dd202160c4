//! The probes, in the order of [`PROBES`](crate::PROBES): each sets up memory, makes its
//! call and reports r3 (and, for `name.sub` probes, a second value).
//!
//! Register use: r19–r25 hold values across reports (the subroutines leave them alone);
//! r20 is the address of the page a step works on.

use super::{Arg, Gen, R_BASE, R_DTB, R_MSR, R_R5, R_VAL};
use crate::error::Error;
use crate::insn;
use crate::papr::{nr, page_init, proc_tbl, rtas, set_mode, vpa};
use crate::probes::{DEC_DELAY_TICKS, OUTSIDE_RAM, SPRG0_MAGIC};
use Arg::{At, Base, Imm};

/// A value no call writes: fills a status word before an RTAS call.
const UNWRITTEN: u64 = 0x5A5A_5A5A;
/// A vterm number no device tree has.
const BAD_VTERM: u64 = 0x1234_5678;

pub(super) fn probes(g: &mut Gen) -> Result<(), Error> {
    entry_and_mode(g);
    console(g);
    process_table(g);
    vpa_probes(g);
    page_init_probes(g);
    registers_and_numbers(g);
    cede(g);
    rtas_probes(g);
    Ok(())
}

fn entry_and_mode(g: &mut Gen) {
    const LE: u64 = set_mode::LE;
    const AIL: u64 = set_mode::ADDR_TRANS_MODE;
    // First: interrupts must arrive big-endian before anything can trap.
    g.hcall(
        "set-mode-be",
        nr::H_SET_MODE,
        &[Imm(0), Imm(LE), Imm(0), Imm(0)],
    );
    g.a.word(insn::mr(R_VAL, R_BASE));
    g.report("load-base");
    g.a.word(insn::mr(R_VAL, R_MSR));
    g.report("entry-msr");
    g.a.word(insn::mr(R_VAL, R_R5));
    g.report("entry-r5");
    g.a.word(insn::lwz(R_VAL, 0, R_DTB));
    g.report("entry-dtb-magic");
    let m = nr::H_SET_MODE;
    g.hcall(
        "set-mode-le-bad-mflags",
        m,
        &[Imm(2), Imm(LE), Imm(0), Imm(0)],
    );
    g.hcall("set-mode-le-value1", m, &[Imm(0), Imm(LE), Imm(1), Imm(0)]);
    g.hcall(
        "set-mode-unknown-resource",
        m,
        &[Imm(0), Imm(99), Imm(0), Imm(0)],
    );
    g.hcall("set-mode-ail-1", m, &[Imm(1), Imm(AIL), Imm(0), Imm(0)]);
    g.hcall("set-mode-ail-2", m, &[Imm(2), Imm(AIL), Imm(0), Imm(0)]);
    g.hcall(
        "set-mode-ail-value1",
        m,
        &[Imm(0), Imm(AIL), Imm(1), Imm(0)],
    );
}

fn console(g: &mut Gen) {
    // Visible bytes, in case a platform prints what it should refuse.
    let text = Imm(u64::from_be_bytes(*b"[refuse]"));
    let put = nr::H_PUT_TERM_CHAR;
    g.hcall("put-term-char-len-17", put, &[Imm(0), Imm(17), text, text]);
    g.hcall(
        "put-term-char-len-huge",
        put,
        &[Imm(0), Imm(u64::MAX), text, text],
    );
    g.hcall(
        "put-term-char-bad-vterm",
        put,
        &[Imm(BAD_VTERM), Imm(1), text, text],
    );
    g.hcall(
        "get-term-char-bad-vterm",
        nr::H_GET_TERM_CHAR,
        &[Imm(BAD_VTERM)],
    );
}

fn process_table(g: &mut Gen) {
    let t = g.l.prtb;
    let ok = Imm(proc_tbl::LINUX);
    let n = nr::H_REGISTER_PROC_TBL;
    let reserved = Imm(proc_tbl::LINUX | 0x20);
    g.hcall(
        "proc-tbl-reserved-flags",
        n,
        &[reserved, At(t, 0), Imm(0), Imm(0)],
    );
    g.hcall(
        "proc-tbl-base-unaligned",
        n,
        &[ok, At(t, 0x800), Imm(0), Imm(0)],
    );
    g.hcall("proc-tbl-base-high", n, &[ok, Imm(1 << 60), Imm(0), Imm(0)]);
    g.hcall("proc-tbl-page-size", n, &[ok, At(t, 0), Imm(1), Imm(0)]);
    g.hcall("proc-tbl-size-25", n, &[ok, At(t, 0), Imm(0), Imm(25)]);
    g.hcall("proc-tbl-size-8m", n, &[ok, At(t, 0), Imm(0), Imm(11)]);
    let hash = Imm(proc_tbl::NEW);
    g.hcall("proc-tbl-hash", n, &[hash, Imm(0), Imm(0), Imm(0)]);
    g.hcall("proc-tbl-ok", n, &[ok, At(t, 0), Imm(0), Imm(0)]);
}

/// Stores the be16 VPA size `size` at `vpa_page + offset + 4`.
fn vpa_size(g: &mut Gen, offset: i16, size: u16) {
    g.addr(20, g.l.vpa, 0);
    g.a.load_const(21, u64::from(size));
    g.a.word(insn::sth(21, offset + vpa::SIZE_OFFSET, 20));
}

fn vpa_probes(g: &mut Gen) {
    let v = g.l.vpa;
    let reg = Imm(vpa::REGISTER);
    let n = nr::H_REGISTER_VPA;
    vpa_size(g, 0, vpa::MIN_SIZE - 1);
    vpa_size(g, 0xF80, vpa::MIN_SIZE);
    g.hcall("vpa-bad-cpu", n, &[reg, Imm(0x1234), At(v, 0)]);
    g.hcall(
        "vpa-bad-subfunc",
        n,
        &[Imm(vpa::UNDEFINED), Imm(0), At(v, 0)],
    );
    g.hcall("vpa-zero", n, &[reg, Imm(0), Imm(0)]);
    g.hcall("vpa-outside-ram", n, &[reg, Imm(0), Imm(OUTSIDE_RAM)]);
    g.hcall("vpa-unaligned", n, &[reg, Imm(0), At(v, 0x40)]);
    g.hcall("vpa-size-small", n, &[reg, Imm(0), At(v, 0)]);
    g.hcall("vpa-cross-4k", n, &[reg, Imm(0), At(v, 0xF80)]);
    vpa_size(g, 0, vpa::MIN_SIZE);
    g.hcall("vpa-ok", n, &[reg, Imm(0), At(v, 0)]);
}

fn page_init_probes(g: &mut Gen) {
    let p = g.l.page;
    let n = nr::H_PAGE_INIT;
    let (zero, copy) = (Imm(page_init::ZERO), Imm(page_init::COPY));
    g.hcall("page-init-bad-flags", n, &[Imm(1), At(p, 0), Imm(0)]);
    g.hcall("page-init-unaligned", n, &[zero, At(p, 0x800), Imm(0)]);
    g.hcall(
        "page-init-outside-ram",
        n,
        &[zero, Imm(OUTSIDE_RAM), Imm(0)],
    );
    g.hcall(
        "page-init-copy-bad-src",
        n,
        &[copy, At(p, 0), Imm(OUTSIDE_RAM)],
    );
    // Dirty the page, zero it, read it back.
    g.addr(20, p, 0);
    g.a.load_const(21, u64::MAX);
    g.a.words(&[insn::std(21, 0x800, 20), insn::std(21, 8, 20)]);
    g.hcall("page-init-zero", n, &[zero, At(p, 0), Imm(0)]);
    g.addr(20, p, 0);
    g.a.word(insn::ld(R_VAL, 0x800, 20));
    g.report("page-init-zero.word");
    // Copy the image's first page (its magic is at offset 8).
    g.hcall("page-init-copy", n, &[copy, At(p, 0), Base]);
    g.addr(20, p, 0);
    g.a.word(insn::ld(R_VAL, 8, 20));
    g.report("page-init-copy.word");
}

fn registers_and_numbers(g: &mut Gen) {
    g.hcall("set-sprg0", nr::H_SET_SPRG0, &[Imm(SPRG0_MAGIC)]);
    g.a.word(insn::mfspr(R_VAL, insn::SPR_SPRG0));
    g.report("set-sprg0.readback");
    g.hcall("set-dabr", nr::H_SET_DABR, &[Imm(0x1007)]);
    g.hcall("set-xdabr", nr::H_SET_XDABR, &[Imm(0x1007), Imm(3)]);
    g.hcall("hcall-unknown", 0x7FFC, &[]);
    // Next to H_PUT_TERM_CHAR: a dispatcher indexing by nr / 4 would print 0 bytes.
    g.hcall(
        "hcall-unaligned-nr",
        nr::H_PUT_TERM_CHAR + 1,
        &[Imm(0), Imm(0)],
    );
    g.hcall(
        "hcall-guest-create",
        nr::H_GUEST_CREATE,
        &[Imm(0), Imm(u64::MAX)],
    );
}

/// `H_CEDE` with the decrementer 5 ms ahead. The decrementer interrupt taken right after
/// the call (MSR\[EE\] is 1 on return) is handled by the 0x900 stub; EE is cleared after.
fn cede(g: &mut Gen) {
    g.addr(23, g.l.vpa, 0);
    g.a.words(&[insn::lwz(22, vpa::DISPATCH_COUNTER, 23), insn::mftb(24)]);
    g.a.load_const(3, DEC_DELAY_TICKS);
    g.a.words(&[
        insn::mtspr(insn::SPR_DEC, 3),
        insn::li(3, nr::H_CEDE as i16),
        insn::SC1,
        insn::mr(25, 3),
        insn::mftb(21),
        insn::li(0, 0),
        insn::mtmsrd(0, 1),
        insn::lwz(19, vpa::DISPATCH_COUNTER, 23),
        insn::mr(R_VAL, 25),
    ]);
    g.report("cede");
    g.a.word(insn::subf(R_VAL, 24, 21));
    g.report("cede.ticks");
    g.a.words(&[insn::subf(R_VAL, 22, 19), insn::clrldi(R_VAL, R_VAL, 32)]);
    g.report("cede.dispatch");
}

/// Offset of `rets[i]` in an RTAS block with `nargs` arguments.
const fn ret_offset(nargs: u32, i: u32) -> u64 {
    12 + 4 * (nargs as u64 + i as u64)
}

/// An RTAS call on the RTAS page: `rets[0]` is pre-filled with [`UNWRITTEN`] (when it
/// is on the page), then `name` reports r3 and each `(sub-name, i)` reports `rets[i]`
/// sign-extended.
fn rtas(g: &mut Gen, name: &'static str, head: [u32; 3], subs: &[(&'static str, u32)]) {
    let [token, nargs, nret] = head;
    g.rtas_block(token, nargs, nret, &[]);
    let status = ret_offset(nargs, 0);
    if status < 0x1000 {
        g.a.load_const(21, UNWRITTEN);
        g.a.word(insn::stw(21, status as i16, 20));
    }
    g.rtas_call();
    g.report(name);
    for &(sub, i) in subs {
        g.addr(20, g.l.rtas, 0);
        let off = ret_offset(nargs, i) as i16;
        g.a.words(&[insn::lwz(R_VAL, off, 20), insn::extsw(R_VAL, R_VAL)]);
        g.report(sub);
    }
}

fn rtas_probes(g: &mut Gen) {
    use rtas::{GET_TIME_OF_DAY as TOD, POWER_OFF, UNKNOWN};
    g.hcall("rtas-args-outside-ram", nr::H_RTAS, &[Imm(OUTSIDE_RAM)]);
    let st = |name| [(name, 0)];
    rtas(
        g,
        "rtas-unknown-token",
        [UNKNOWN, 0, 1],
        &st("rtas-unknown-token.status"),
    );
    rtas(
        g,
        "rtas-nargs-too-large",
        [TOD, 17, 8],
        &st("rtas-nargs-too-large.status"),
    );
    let huge = 0x3FFF_FFFF;
    rtas(
        g,
        "rtas-nret-off-ram",
        [TOD, 0, huge],
        &st("rtas-nret-off-ram.status"),
    );
    rtas(g, "rtas-nargs-off-ram", [TOD, huge, 8], &[]);
    let bad_off = [("rtas-power-off-bad-args.status", 0)];
    rtas(g, "rtas-power-off-bad-args", [POWER_OFF, 0, 1], &bad_off);
    let tod = [
        ("rtas-tod.status", 0),
        ("rtas-tod.year", 1),
        ("rtas-tod.month", 2),
    ];
    rtas(g, "rtas-tod", [TOD, 0, 8], &tod);
}
