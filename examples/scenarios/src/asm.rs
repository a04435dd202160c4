//! A small ppc64 assembler: [`L2Op`] lists → machine code words a real L0 runs as the L2.
//!
//! Register use: GPR3–12 carry an hcall's number and arguments; loads and stores take the
//! address in GPR4 and the value in GPR5; a fetch goes through CTR (`mtctr r4; bctr`).
//! Words are emitted as `u32`s; the L2 runs little-endian (MSR\[LE\]), so they are stored
//! with [`Segment::to_le_bytes`].

use crate::layout::{Layout, Slot};
use crate::scenario::L2Op;
use alloc::vec::Vec;

/// `b .`
pub const B_SELF: u32 = 0x4800_0000;
/// `sc 1` (LEV = 1).
pub const SC1: u32 = 0x4400_0022;
/// `bctr` (`bcctr 20,0,0`).
pub const BCTR: u32 = 0x4E80_0420;
/// `nop` (`ori 0,0,0`).
pub const NOP: u32 = 0x6000_0000;

/// Register carrying the address of a load or store.
pub const ADDR_REG: u8 = 4;
/// Register carrying the value of a store / receiving a load.
pub const DATA_REG: u8 = 5;

const fn d_form(op: u32, rt: u8, ra: u8, d: u16) -> u32 {
    (op << 26) | ((rt as u32 & 31) << 21) | ((ra as u32 & 31) << 16) | d as u32
}

/// `addi rt, 0, si` (`li`).
pub const fn li(rt: u8, si: i16) -> u32 {
    d_form(14, rt, 0, si as u16)
}
/// `addis rt, 0, si` (`lis`).
pub const fn lis(rt: u8, si: i16) -> u32 {
    d_form(15, rt, 0, si as u16)
}
/// `ori ra, rs, ui`.
pub const fn ori(ra: u8, rs: u8, ui: u16) -> u32 {
    d_form(24, rs, ra, ui)
}
/// `oris ra, rs, ui`.
pub const fn oris(ra: u8, rs: u8, ui: u16) -> u32 {
    d_form(25, rs, ra, ui)
}
/// `sldi ra, rs, n` = `rldicr ra, rs, n, 63 - n` (MD-form, XO 1).
pub const fn sldi(ra: u8, rs: u8, n: u8) -> u32 {
    let sh = n as u32 & 63;
    let me = 63 - sh;
    (30 << 26)
        | ((rs as u32 & 31) << 21)
        | ((ra as u32 & 31) << 16)
        | ((sh & 31) << 11)
        | (((me & 31) << 1 | (me >> 5)) << 5)
        | (1 << 2)
        | ((sh >> 5) << 1)
}
/// `mtctr rs` = `mtspr 9, rs`.
pub const fn mtctr(rs: u8) -> u32 {
    (31 << 26) | ((rs as u32 & 31) << 21) | (9 << 16) | (467 << 1)
}

/// A load of `size` bytes: `lbz`/`lhz`/`lwz`/`ld rt, 0(ra)`.
pub const fn load(size: u8, rt: u8, ra: u8) -> Option<u32> {
    Some(match size {
        1 => d_form(34, rt, ra, 0),
        2 => d_form(40, rt, ra, 0),
        4 => d_form(32, rt, ra, 0),
        8 => d_form(58, rt, ra, 0), // DS-form, XO 0
        _ => return None,
    })
}
/// A store of `size` bytes: `stb`/`sth`/`stw`/`std rs, 0(ra)`.
pub const fn store(size: u8, rs: u8, ra: u8) -> Option<u32> {
    Some(match size {
        1 => d_form(38, rs, ra, 0),
        2 => d_form(44, rs, ra, 0),
        4 => d_form(36, rs, ra, 0),
        8 => d_form(62, rs, ra, 0), // DS-form, XO 0
        _ => return None,
    })
}

/// The shortest `li`/`lis`/`ori`/`sldi`/`oris` sequence that puts `value` into `rt`.
pub fn load_const(rt: u8, value: u64) -> Vec<u32> {
    let mut w = Vec::new();
    let s = value as i64;
    if i64::from(s as i16) == s {
        w.push(li(rt, s as i16));
    } else if i64::from(s as i32) == s {
        w.push(lis(rt, (s >> 16) as i16));
        if s & 0xFFFF != 0 {
            w.push(ori(rt, rt, s as u16));
        }
    } else {
        // High word (sign-extended as it may be), shifted up, then the low word ORed in.
        w.extend(load_const(rt, (value >> 32) as u32 as i32 as i64 as u64));
        w.push(sldi(rt, rt, 32));
        if value & 0xFFFF_0000 != 0 {
            w.push(oris(rt, rt, (value >> 16) as u16));
        }
        if value & 0xFFFF != 0 {
            w.push(ori(rt, rt, value as u16));
        }
    }
    w
}

/// Code placed at one guest real address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Guest real address of the first word.
    pub gpa: u64,
    /// The instruction words.
    pub words: Vec<u32>,
}

impl Segment {
    /// The bytes to copy into L2 RAM for a little-endian L2.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        self.words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.gpa + 4 * self.words.len() as u64
    }
}

/// Why a program cannot be assembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsmError {
    /// A load or store of a size other than 1, 2, 4, 8, or not naturally aligned.
    BadAccess {
        /// Action index.
        action: usize,
    },
    /// A fetch target that is not 4-byte aligned, or code that would overlap code already
    /// placed.
    Overlap {
        /// Action index.
        action: usize,
    },
}

/// An assembled program: its code segments and where each action's instructions are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Code, by address.
    pub segments: Vec<Segment>,
    /// Addresses of each action.
    pub layout: Layout,
}

fn overlaps(segments: &[Segment], cur: &Segment, gpa: u64) -> bool {
    segments
        .iter()
        .chain(core::iter::once(cur))
        .any(|s| gpa >= s.gpa && gpa < s.end().max(s.gpa + 4))
}

/// Assembles `program` to start at `entry`. Each action's code ends with the instruction
/// that exits (the access, `sc 1`, the illegal word, `b .`, or `bctr` whose target is the
/// fault address); the program ends with `b .`.
///
/// # Errors
/// [`AsmError`].
pub fn assemble(entry: u64, program: &[L2Op]) -> Result<Image, AsmError> {
    let mut segments: Vec<Segment> = Vec::new();
    let mut cur = Segment {
        gpa: entry,
        words: Vec::new(),
    };
    let mut slots = Vec::with_capacity(program.len());
    for (i, op) in program.iter().enumerate() {
        let start = cur.end();
        let exit = match *op {
            L2Op::Hcall { nr, args } => {
                cur.words.extend(load_const(3, nr));
                for (r, a) in (4u8..).zip(args) {
                    cur.words.extend(load_const(r, a));
                }
                cur.words.push(SC1);
                cur.end() - 4
            }
            L2Op::Load { gpa, size } => {
                let w = load(size, DATA_REG, ADDR_REG)
                    .filter(|_| gpa % u64::from(size) == 0)
                    .ok_or(AsmError::BadAccess { action: i })?;
                cur.words.extend(load_const(ADDR_REG, gpa));
                cur.words.push(w);
                cur.end() - 4
            }
            L2Op::Store { gpa, size, value } => {
                let w = store(size, DATA_REG, ADDR_REG)
                    .filter(|_| gpa % u64::from(size) == 0)
                    .ok_or(AsmError::BadAccess { action: i })?;
                cur.words.extend(load_const(DATA_REG, value));
                cur.words.extend(load_const(ADDR_REG, gpa));
                cur.words.push(w);
                cur.end() - 4
            }
            L2Op::Fetch { gpa } => {
                cur.words.extend(load_const(ADDR_REG, gpa));
                cur.words.push(mtctr(ADDR_REG));
                cur.words.push(BCTR);
                if gpa % 4 != 0 || overlaps(&segments, &cur, gpa) {
                    return Err(AsmError::Overlap { action: i });
                }
                let done = core::mem::replace(
                    &mut cur,
                    Segment {
                        gpa,
                        words: Vec::new(),
                    },
                );
                segments.push(done);
                gpa
            }
            L2Op::EmulationAssist { heir: word, prefix } => {
                if let Some(p) = prefix {
                    // A prefixed instruction may not cross a 64-byte boundary.
                    if cur.end() % 64 == 60 {
                        cur.words.push(NOP);
                    }
                    cur.words.push(p);
                    cur.words.push(word);
                    cur.end() - 8
                } else {
                    cur.words.push(word);
                    cur.end() - 4
                }
            }
            L2Op::WaitHdec => {
                cur.words.push(B_SELF);
                cur.end() - 4
            }
        };
        slots.push(Slot {
            start,
            exit,
            op: *op,
        });
    }
    let end = cur.end();
    cur.words.push(B_SELF);
    segments.push(cur);
    for (i, s) in segments.iter().enumerate() {
        let clash = segments
            .iter()
            .skip(i + 1)
            .any(|t| s.gpa < t.end() && t.gpa < s.end());
        if clash {
            return Err(AsmError::Overlap {
                action: program.len(),
            });
        }
    }
    Ok(Image {
        segments,
        layout: Layout { slots, end },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Places `value` in big-endian bits `first..=last` of a 32-bit word (ISA numbering:
    /// bit 0 is the most significant).
    fn field(value: u32, first: u32, last: u32) -> u32 {
        let width = last - first + 1;
        assert!(value < (1u64 << width) as u32 || width == 32);
        value << (31 - last)
    }

    fn d(op: u32, rt: u32, ra: u32, d: u32) -> u32 {
        field(op, 0, 5) | field(rt, 6, 10) | field(ra, 11, 15) | field(d, 16, 31)
    }

    fn ds(op: u32, rt: u32, ra: u32, ds: u32, xo: u32) -> u32 {
        field(op, 0, 5)
            | field(rt, 6, 10)
            | field(ra, 11, 15)
            | field(ds >> 2, 16, 29)
            | field(xo, 30, 31)
    }

    #[test]
    fn d_form_encodings() {
        assert_eq!(li(3, 0x58), d(14, 3, 0, 0x58));
        assert_eq!(li(5, -1), d(14, 5, 0, 0xFFFF));
        assert_eq!(lis(10, 0x1000), d(15, 10, 0, 0x1000));
        // ori/oris: RS in the RT field, RA second.
        assert_eq!(ori(4, 4, 0xbcde), d(24, 4, 4, 0xbcde));
        assert_eq!(oris(4, 5, 0x5566), d(25, 5, 4, 0x5566));
        assert_eq!(NOP, d(24, 0, 0, 0));
        assert_eq!(load(1, 5, 4), Some(d(34, 5, 4, 0)));
        assert_eq!(load(2, 5, 4), Some(d(40, 5, 4, 0)));
        assert_eq!(load(4, 5, 4), Some(d(32, 5, 4, 0)));
        assert_eq!(load(8, 5, 4), Some(ds(58, 5, 4, 0, 0)));
        assert_eq!(store(1, 5, 4), Some(d(38, 5, 4, 0)));
        assert_eq!(store(2, 5, 4), Some(d(44, 5, 4, 0)));
        assert_eq!(store(4, 5, 4), Some(d(36, 5, 4, 0)));
        assert_eq!(store(8, 5, 4), Some(ds(62, 5, 4, 0, 0)));
        assert_eq!(load(3, 5, 4), None);
        assert_eq!(store(16, 5, 4), None);
    }

    #[test]
    fn md_sc_branch_and_spr_encodings() {
        // rldicr RA,RS,SH,ME: OPCD 30 | RS | RA | sh[1:5] (16:20) | me as me[1:5]||me[0]
        // (21:26) | XO 1 (27:29) | sh[0] (30) | Rc (31).
        let rldicr = |ra: u32, rs: u32, sh: u32, me: u32| {
            field(30, 0, 5)
                | field(rs, 6, 10)
                | field(ra, 11, 15)
                | field(sh & 31, 16, 20)
                | field(((me & 31) << 1) | (me >> 5), 21, 26)
                | field(1, 27, 29)
                | field(sh >> 5, 30, 30)
        };
        assert_eq!(sldi(4, 4, 32), rldicr(4, 4, 32, 31));
        assert_eq!(sldi(7, 3, 8), rldicr(7, 3, 8, 55));
        // SC-form: OPCD 17, LEV (20:26), bit 30 = 1.
        assert_eq!(SC1, field(17, 0, 5) | field(1, 20, 26) | field(1, 30, 30));
        // I-form b .: OPCD 18, LI 0, AA 0, LK 0.
        assert_eq!(B_SELF, field(18, 0, 5));
        // XL-form bcctr BO=20 BI=0 BH=0, XO 528.
        assert_eq!(
            BCTR,
            field(19, 0, 5) | field(20, 6, 10) | field(528, 21, 30)
        );
        // XFX-form mtspr: spr field is spr[5:9] || spr[0:4]; CTR = 9 → 9 << 5 swapped halves.
        let spr = 9u32;
        let swapped = ((spr & 31) << 5) | (spr >> 5);
        assert_eq!(
            mtctr(4),
            field(31, 0, 5) | field(4, 6, 10) | field(swapped, 11, 20) | field(467, 21, 30)
        );
    }

    /// Executes the constant-building instructions this assembler emits.
    fn run_const(words: &[u32]) -> [u64; 32] {
        let mut r = [0u64; 32];
        for &w in words {
            let op = w >> 26;
            let rt = ((w >> 21) & 31) as usize;
            let ra = ((w >> 16) & 31) as usize;
            let imm = w & 0xFFFF;
            match op {
                14 => r[rt] = i64::from(imm as u16 as i16) as u64,
                15 => r[rt] = (i64::from(imm as u16 as i16) << 16) as u64,
                24 => r[ra] = r[rt] | u64::from(imm),
                25 => r[ra] = r[rt] | (u64::from(imm) << 16),
                30 => {
                    let sh = ((w >> 11) & 31) | (((w >> 1) & 1) << 5);
                    r[ra] = r[rt] << sh;
                }
                _ => panic!("unexpected word {w:#x}"),
            }
        }
        r
    }

    #[test]
    fn load_const_builds_every_kind_of_value() {
        let values = [
            0u64,
            1,
            0x7FFF,
            0x8000,
            0xFFFF,
            0x1_0000,
            0x7FFF_FFFF,
            0x8000_0000,
            0xFFFF_FFFF,
            0x1_0000_0000,
            0x0123_4567_89ab_cdef,
            0x1100_0000_0000_0003,
            0x8000_0000_0000_0003,
            0x4000_0000_0000_0000,
            u64::MAX,
            u64::MAX - 0x8000,
            0xFFFF_FFFF_0000_0000,
        ];
        for v in values {
            let w = load_const(9, v);
            assert_eq!(run_const(&w)[9], v, "{v:#x} via {w:x?}");
            assert!(w.len() <= 5);
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for v in [x, x >> 17, x >> 40, (x as i16) as u64, (x as i32) as u64] {
                assert_eq!(run_const(&load_const(3, v))[3], v);
            }
        }
    }

    #[test]
    fn program_layout_marks_the_exiting_instruction() {
        let p = vec![
            L2Op::Hcall {
                nr: 0x58,
                args: [1, 2, 3, 4, 5, 6, 7, 8, 9],
            },
            L2Op::Load {
                gpa: 0x10_0000,
                size: 8,
            },
            L2Op::illegal(0x1234),
            L2Op::Fetch { gpa: 0x20_0000 },
            L2Op::Store {
                gpa: 0x1000,
                size: 4,
                value: 0x5a,
            },
            L2Op::WaitHdec,
        ];
        let img = assemble(0, &p).unwrap();
        let words = |gpa: u64| {
            img.segments
                .iter()
                .find_map(|s| {
                    let off = gpa.checked_sub(s.gpa)? / 4;
                    s.words.get(off as usize).copied()
                })
                .unwrap()
        };
        let l = &img.layout;
        assert_eq!(l.slots[0].start, 0);
        assert_eq!(words(l.slots[0].exit), SC1);
        assert_eq!(words(l.slots[1].exit), load(8, 5, 4).unwrap());
        assert_eq!(words(l.slots[2].exit), 0x1234);
        assert_eq!(l.slots[3].exit, 0x20_0000);
        assert_eq!(img.segments[1].gpa, 0x20_0000);
        assert_eq!(words(l.slots[4].exit), store(4, 5, 4).unwrap());
        assert_eq!(words(l.slots[5].exit), B_SELF);
        assert_eq!(words(l.end), B_SELF);
        // Registers at the sc: GPR3 = nr, GPR4..12 = args.
        let seg0 = &img.segments[0].words;
        let regs = run_const(&seg0[..(l.slots[0].exit / 4) as usize]);
        assert_eq!(regs[3], 0x58);
        assert_eq!(regs[4..=12], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(img.segments[0].to_le_bytes()[..4], seg0[0].to_le_bytes());
    }

    #[test]
    fn prefixed_illegal_does_not_cross_64_bytes() {
        let mut p = vec![L2Op::WaitHdec; 15];
        p.push(L2Op::EmulationAssist {
            heir: 0x1234,
            prefix: Some(0x0400_0000),
        });
        let img = assemble(0, &p).unwrap();
        let exit = img.layout.slots[15].exit;
        assert_eq!(exit, 64, "the nop at 60 moves the prefix to 64");
        assert_eq!(img.segments[0].words[15], NOP);
    }

    #[test]
    fn bad_programs_are_refused() {
        assert_eq!(
            assemble(0, &[L2Op::Load { gpa: 3, size: 2 }]),
            Err(AsmError::BadAccess { action: 0 })
        );
        assert_eq!(
            assemble(0, &[L2Op::Fetch { gpa: 0 }]),
            Err(AsmError::Overlap { action: 0 })
        );
    }
}
