//! Power ISA instruction encoders: each returns the 32-bit instruction word (stored
//! big-endian in the image). Only the forms the probe kernel uses.
//!
//! Field layout follows the ISA's big-endian bit numbering (bit 0 is the most significant):
//! OPCD in bits 0–5, RT/RS/BO/BF in 6–10, RA/BI in 11–15, RB/SH in 16–20, XO after.
//!
//! ```
//! use papr_l2_probe::insn;
//! assert_eq!(insn::li(3, 0x58), 0x3860_0058);
//! assert_eq!(insn::SC1, 0x4400_0022);
//! ```

/// A general-purpose register number (0–31).
pub type Gpr = u8;

/// `sc 1`: hypervisor call.
pub const SC1: u32 = 0x4400_0022;
/// `nop` (`ori 0,0,0`).
pub const NOP: u32 = 0x6000_0000;
/// `blr` (`bclr 20,0`).
pub const BLR: u32 = 0x4E80_0020;
/// `beqlr` (`bclr 12,2`: return if CR0\[EQ\]).
pub const BEQLR: u32 = 0x4D82_0020;
/// `bctr` (`bcctr 20,0`).
pub const BCTR: u32 = 0x4E80_0420;
/// `isync`.
pub const ISYNC: u32 = 0x4C00_012C;
/// `sync` (`sync 0`, heavyweight).
pub const SYNC: u32 = 0x7C00_04AC;
/// `rfid`.
pub const RFID: u32 = 0x4C00_0024;
/// `bcl 20,31,$+4`: puts the address of the next instruction into LR.
pub const BCL_NEXT: u32 = 0x429F_0005;
/// `b .`: branch to self.
pub const B_SELF: u32 = 0x4800_0000;

/// SPR number of the link register.
pub const SPR_LR: u16 = 8;
/// SPR number of the count register.
pub const SPR_CTR: u16 = 9;
/// SPR number of the decrementer.
pub const SPR_DEC: u16 = 22;
/// SPR number of SRR0.
pub const SPR_SRR0: u16 = 26;
/// SPR number of SRR1.
pub const SPR_SRR1: u16 = 27;
/// SPR number of the timebase (read with `mfspr`).
pub const SPR_TB: u16 = 268;
/// SPR number of SPRG0 (supervisor access).
pub const SPR_SPRG0: u16 = 272;
/// SPR number of SPRG2 (supervisor access).
pub const SPR_SPRG2: u16 = 274;
/// SPR number of SPRG3 (supervisor access).
pub const SPR_SPRG3: u16 = 275;

const fn r(reg: Gpr) -> u32 {
    reg as u32 & 31
}

/// D-form: `OPCD | RT | RA | D`.
const fn d_form(op: u32, rt: Gpr, ra: Gpr, d: u16) -> u32 {
    (op << 26) | (r(rt) << 21) | (r(ra) << 16) | d as u32
}

/// X-form with OPCD 31: `31 | RT | RA | RB | XO | 0`.
const fn x_form(rt: Gpr, ra: Gpr, rb: Gpr, xo: u32) -> u32 {
    (31 << 26) | (r(rt) << 21) | (r(ra) << 16) | (r(rb) << 11) | (xo << 1)
}

/// `addi rt, ra, si` (`ra` = 0 reads as zero).
pub const fn addi(rt: Gpr, ra: Gpr, si: i16) -> u32 {
    d_form(14, rt, ra, si as u16)
}
/// `addis rt, ra, si`.
pub const fn addis(rt: Gpr, ra: Gpr, si: i16) -> u32 {
    d_form(15, rt, ra, si as u16)
}
/// `li rt, si` = `addi rt, 0, si`.
pub const fn li(rt: Gpr, si: i16) -> u32 {
    addi(rt, 0, si)
}
/// `lis rt, si` = `addis rt, 0, si`.
pub const fn lis(rt: Gpr, si: i16) -> u32 {
    addis(rt, 0, si)
}
/// `ori ra, rs, ui`.
pub const fn ori(ra: Gpr, rs: Gpr, ui: u16) -> u32 {
    d_form(24, rs, ra, ui)
}
/// `oris ra, rs, ui`.
pub const fn oris(ra: Gpr, rs: Gpr, ui: u16) -> u32 {
    d_form(25, rs, ra, ui)
}
/// `lbz rt, d(ra)`.
pub const fn lbz(rt: Gpr, d: i16, ra: Gpr) -> u32 {
    d_form(34, rt, ra, d as u16)
}
/// `stb rs, d(ra)`.
pub const fn stb(rs: Gpr, d: i16, ra: Gpr) -> u32 {
    d_form(38, rs, ra, d as u16)
}
/// `sth rs, d(ra)`.
pub const fn sth(rs: Gpr, d: i16, ra: Gpr) -> u32 {
    d_form(44, rs, ra, d as u16)
}
/// `lwz rt, d(ra)`.
pub const fn lwz(rt: Gpr, d: i16, ra: Gpr) -> u32 {
    d_form(32, rt, ra, d as u16)
}
/// `stw rs, d(ra)`.
pub const fn stw(rs: Gpr, d: i16, ra: Gpr) -> u32 {
    d_form(36, rs, ra, d as u16)
}
/// `ld rt, ds(ra)` (DS-form, XO 0; the low two bits of `ds` are dropped).
pub const fn ld(rt: Gpr, ds: i16, ra: Gpr) -> u32 {
    d_form(58, rt, ra, ds as u16 & 0xFFFC)
}
/// `std rs, ds(ra)` (DS-form, XO 0; the low two bits of `ds` are dropped).
pub const fn std(rs: Gpr, ds: i16, ra: Gpr) -> u32 {
    d_form(62, rs, ra, ds as u16 & 0xFFFC)
}
/// `lbzx rt, ra, rb`.
pub const fn lbzx(rt: Gpr, ra: Gpr, rb: Gpr) -> u32 {
    x_form(rt, ra, rb, 87)
}
/// `or ra, rs, rb`.
pub const fn or(ra: Gpr, rs: Gpr, rb: Gpr) -> u32 {
    x_form(rs, ra, rb, 444)
}
/// `mr ra, rs` = `or ra, rs, rs`.
pub const fn mr(ra: Gpr, rs: Gpr) -> u32 {
    or(ra, rs, rs)
}
/// `add rt, ra, rb`.
pub const fn add(rt: Gpr, ra: Gpr, rb: Gpr) -> u32 {
    x_form(rt, ra, rb, 266)
}
/// `subf rt, ra, rb`: `rt = rb - ra`.
pub const fn subf(rt: Gpr, ra: Gpr, rb: Gpr) -> u32 {
    x_form(rt, ra, rb, 40)
}
/// `extsw ra, rs`.
pub const fn extsw(ra: Gpr, rs: Gpr) -> u32 {
    x_form(rs, ra, 0, 986)
}
/// `dcbst 0, rb`.
pub const fn dcbst(rb: Gpr) -> u32 {
    x_form(0, 0, rb, 54)
}
/// `icbi 0, rb`.
pub const fn icbi(rb: Gpr) -> u32 {
    x_form(0, 0, rb, 982)
}
/// `mfmsr rt`.
pub const fn mfmsr(rt: Gpr) -> u32 {
    x_form(rt, 0, 0, 83)
}
/// `mtmsrd rs, l` (`l` = 1 changes only EE and RI).
pub const fn mtmsrd(rs: Gpr, l: u8) -> u32 {
    x_form(rs, l & 1, 0, 178)
}

const fn spr_field(spr: u16) -> u32 {
    let spr = spr as u32 & 0x3FF;
    ((spr & 31) << 5) | (spr >> 5)
}
/// `mfspr rt, spr`.
pub const fn mfspr(rt: Gpr, spr: u16) -> u32 {
    (31 << 26) | (r(rt) << 21) | (spr_field(spr) << 11) | (339 << 1)
}
/// `mftb rt` (the `mftb` instruction, XO 371, reading TB).
pub const fn mftb(rt: Gpr) -> u32 {
    (31 << 26) | (r(rt) << 21) | (spr_field(SPR_TB) << 11) | (371 << 1)
}
/// `mtspr spr, rs`.
pub const fn mtspr(spr: u16, rs: Gpr) -> u32 {
    (31 << 26) | (r(rs) << 21) | (spr_field(spr) << 11) | (467 << 1)
}

/// MD-form rotate: `OPCD 30 | RS | RA | sh[1:5] | m[1:5] m[0] | XO | sh[0] | Rc`.
const fn md_form(ra: Gpr, rs: Gpr, sh: u8, m: u8, xo: u32) -> u32 {
    let sh = sh as u32 & 63;
    let m = m as u32 & 63;
    (30 << 26)
        | (r(rs) << 21)
        | (r(ra) << 16)
        | ((sh & 31) << 11)
        | ((((m & 31) << 1) | (m >> 5)) << 5)
        | (xo << 2)
        | ((sh >> 5) << 1)
}
/// `rldicl ra, rs, sh, mb`.
pub const fn rldicl(ra: Gpr, rs: Gpr, sh: u8, mb: u8) -> u32 {
    md_form(ra, rs, sh, mb, 0)
}
/// `rldicr ra, rs, sh, me`.
pub const fn rldicr(ra: Gpr, rs: Gpr, sh: u8, me: u8) -> u32 {
    md_form(ra, rs, sh, me, 1)
}
/// `sldi ra, rs, n` = `rldicr ra, rs, n, 63 - n` (`n` < 64).
pub const fn sldi(ra: Gpr, rs: Gpr, n: u8) -> u32 {
    rldicr(ra, rs, n & 63, 63 - (n & 63))
}
/// `clrldi ra, rs, n` = `rldicl ra, rs, 0, n`: clears the high `n` bits.
pub const fn clrldi(ra: Gpr, rs: Gpr, n: u8) -> u32 {
    rldicl(ra, rs, 0, n)
}

/// `cmpdi crf, ra, si` (64-bit signed compare with an immediate).
pub const fn cmpdi(crf: u8, ra: Gpr, si: i16) -> u32 {
    (11 << 26) | ((crf as u32 & 7) << 23) | (1 << 21) | (r(ra) << 16) | si as u16 as u32
}
/// `cmpldi crf, ra, ui` (64-bit unsigned compare with an immediate).
pub const fn cmpldi(crf: u8, ra: Gpr, ui: u16) -> u32 {
    (10 << 26) | ((crf as u32 & 7) << 23) | (1 << 21) | (r(ra) << 16) | ui as u32
}

/// `b` / `bl` to a byte displacement (a multiple of 4 within ±32 MiB; masked here).
pub const fn b_rel(disp: i32, link: bool) -> u32 {
    (18 << 26) | (disp as u32 & 0x03FF_FFFC) | link as u32
}
/// `bc bo, bi, disp` (a multiple of 4 within ±32 KiB; masked here).
pub const fn bc_rel(bo: u8, bi: u8, disp: i32) -> u32 {
    (16 << 26) | ((bo as u32 & 31) << 21) | ((bi as u32 & 31) << 16) | (disp as u32 & 0xFFFC)
}

/// `BO` for "branch if the CR bit is set".
pub const BO_TRUE: u8 = 12;
/// `BO` for "branch if the CR bit is clear".
pub const BO_FALSE: u8 = 4;
/// `BO` for "decrement CTR, branch if CTR ≠ 0" (`bdnz`).
pub const BO_DNZ: u8 = 16;
/// CR0\[LT\] as a `BI` value.
pub const CR0_LT: u8 = 0;
/// CR0\[GT\] as a `BI` value.
pub const CR0_GT: u8 = 1;
/// CR0\[EQ\] as a `BI` value.
pub const CR0_EQ: u8 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodings printed by `llvm-mc -triple=powerpc64-unknown-linux-gnu -show-encoding`
    /// (LLVM 14) for the same instructions.
    #[test]
    fn words_match_llvm_mc() {
        let cases: &[(u32, u32, &str)] = &[
            (li(3, 0x58), 0x3860_0058, "li 3,0x58"),
            (li(5, -1), 0x38A0_FFFF, "li 5,-1"),
            (lis(4, 0x40), 0x3C80_0040, "lis 4,0x40"),
            (addi(30, 30, -0x1020), 0x3BDE_EFE0, "addi 30,30,-0x1020"),
            (addis(4, 30, 1), 0x3C9E_0001, "addis 4,30,1"),
            (ori(3, 3, 0xF000), 0x6063_F000, "ori 3,3,0xf000"),
            (oris(4, 5, 0x5566), 0x64A4_5566, "oris 4,5,0x5566"),
            (lbz(18, 0, 16), 0x8A50_0000, "lbz 18,0(16)"),
            (stb(18, 0, 14), 0x9A4E_0000, "stb 18,0(14)"),
            (sth(21, 4, 20), 0xB2B4_0004, "sth 21,4(20)"),
            (lwz(31, 12, 20), 0x83F4_000C, "lwz 31,12(20)"),
            (stw(21, 8, 20), 0x92B4_0008, "stw 21,8(20)"),
            (ld(6, 8, 16), 0xE8D0_0008, "ld 6,8(16)"),
            (std(6, 0, 3), 0xF8C3_0000, "std 6,0(3)"),
            (lbzx(9, 10, 9), 0x7D2A_48AE, "lbzx 9,10,9"),
            (mr(31, 3), 0x7C7F_1B78, "mr 31,3"),
            (or(11, 23, 12), 0x7EEB_6378, "or 11,23,12"),
            (add(16, 16, 18), 0x7E10_9214, "add 16,16,18"),
            (subf(31, 20, 21), 0x7FF4_A850, "subf 31,20,21"),
            (extsw(31, 31), 0x7FFF_07B4, "extsw 31,31"),
            (dcbst(3), 0x7C00_186C, "dcbst 0,3"),
            (icbi(3), 0x7C00_1FAC, "icbi 0,3"),
            (mfmsr(23), 0x7EE0_00A6, "mfmsr 23"),
            (mtmsrd(11, 0), 0x7D60_0164, "mtmsrd 11"),
            (mtmsrd(0, 1), 0x7C01_0164, "mtmsrd 0,1"),
            (mfspr(3, SPR_SPRG3), 0x7C73_42A6, "mfspr 3,275"),
            (mtspr(SPR_SPRG2, 3), 0x7C72_43A6, "mtspr 274,3"),
            (mfspr(20, SPR_TB), 0x7E8C_42A6, "mfspr 20,268"),
            (mftb(20), 0x7E8C_42E6, "mftb 20"),
            (mfspr(30, SPR_LR), 0x7FC8_02A6, "mflr 30"),
            (mtspr(SPR_LR, 26), 0x7F48_03A6, "mtlr 26"),
            (mtspr(SPR_CTR, 17), 0x7E29_03A6, "mtctr 17"),
            (mtspr(SPR_DEC, 3), 0x7C76_03A6, "mtdec 3"),
            (mfspr(31, SPR_SRR0), 0x7FFA_02A6, "mfsrr0 31"),
            (rldicl(18, 31, 4, 60), 0x7BF2_2720, "rldicl 18,31,4,60"),
            (rldicl(31, 31, 4, 0), 0x7BFF_2000, "rotldi 31,31,4"),
            (sldi(12, 12, 63), 0x798C_F806, "sldi 12,12,63"),
            (sldi(4, 4, 32), 0x7884_07C6, "sldi 4,4,32"),
            (clrldi(31, 31, 32), 0x7BFF_0020, "clrldi 31,31,32"),
            (cmpdi(0, 17, 0), 0x2C31_0000, "cmpdi 17,0"),
            (cmpdi(0, 3, 1), 0x2C23_0001, "cmpdi 3,1"),
            (cmpldi(0, 17, 16), 0x2831_0010, "cmpldi 17,16"),
            (b_rel(0x1000, false), 0x4800_1000, "b .+0x1000"),
            (b_rel(-8, true), 0x4BFF_FFF9, "bl .-8"),
            (bc_rel(BO_DNZ, 0, -20), 0x4200_FFEC, "bdnz .-20"),
            (bc_rel(BO_TRUE, CR0_EQ, 8), 0x4182_0008, "beq .+8"),
            (bc_rel(BO_FALSE, CR0_EQ, 12), 0x4082_000C, "bne .+12"),
            (bc_rel(BO_FALSE, CR0_GT, 8), 0x4081_0008, "ble .+8"),
            (BCL_NEXT, 0x429F_0005, "bcl 20,31,.+4"),
            (BEQLR, 0x4D82_0020, "beqlr"),
            (BLR, 0x4E80_0020, "blr"),
            (BCTR, 0x4E80_0420, "bctr"),
            (RFID, 0x4C00_0024, "rfid"),
            (ISYNC, 0x4C00_012C, "isync"),
            (SYNC, 0x7C00_04AC, "sync"),
        ];
        for &(got, want, text) in cases {
            assert_eq!(got, want, "{text}: {got:#010x} != {want:#010x}");
        }
    }
}
