//! A tiny two-pass assembler over [`insn`]: a byte image of big-endian words
//! and data, labels, relative branches and base-relative addresses, and a zero-filled
//! tail (`.bss`) that occupies memory but not the file.
//!
//! Every address the probe kernel forms is relative: branches are PC-relative and data is
//! reached as `base + offset` ([`Asm::la`]), where `base` is the load address the kernel
//! computes at run time (`bcl 20,31,$+4; mflr`). So the image runs wherever it is loaded.
//!
//! ```
//! use papr_l2_probe::asm::Asm;
//! use papr_l2_probe::insn;
//! let mut a = Asm::new();
//! let end = a.label();
//! a.b(end);
//! a.word(insn::NOP);
//! a.bind(end)?;
//! a.word(insn::B_SELF);
//! let img = a.finish()?;
//! assert_eq!(&img.bytes[..4], &[0x48, 0, 0, 8]);
//! # Ok::<(), papr_l2_probe::Error>(())
//! ```

use crate::error::Error;
use crate::insn::{self, Gpr};
use alloc::vec::Vec;

/// A position in the image, bound once with [`Asm::bind`] or [`Asm::bss`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(usize);

#[derive(Debug, Clone, Copy)]
enum Fixup {
    /// I-form `b`/`bl`: 24-bit word displacement.
    Branch { link: bool },
    /// B-form `bc`: 14-bit word displacement.
    Cond { bo: u8, bi: u8 },
    /// `addis rt, ra, ha; addi rt, rt, lo` of the label's offset plus `addend`.
    Offset { rt: Gpr, ra: Gpr, addend: i64 },
}

/// The assembled image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The file contents (code and data), loaded at offset 0.
    pub bytes: Vec<u8>,
    /// Bytes of memory the image occupies: `bytes` plus the zero-filled tail.
    pub mem_size: u64,
    /// Every label's offset, by label index (all bound).
    pub offsets: Vec<u64>,
}

impl Image {
    /// The offset a label was bound to.
    pub fn offset(&self, label: Label) -> Option<u64> {
        self.offsets.get(label.0).copied()
    }
}

/// The assembler: emit words and data, bind labels, then [`finish`](Asm::finish).
#[derive(Debug, Default)]
pub struct Asm {
    bytes: Vec<u8>,
    labels: Vec<Option<u64>>,
    fixups: Vec<(usize, Label, Fixup)>,
    /// Zero-filled areas laid out after the file: (label, size, alignment).
    bss: Vec<(Label, u64, u64)>,
}

impl Asm {
    /// An empty image.
    pub fn new() -> Self {
        Self::default()
    }

    /// Current offset (bytes from the image start).
    pub fn here(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// A new, unbound label.
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Binds `label` to the current offset.
    ///
    /// # Errors
    /// [`Error::LabelRebound`] if it was bound before.
    pub fn bind(&mut self, label: Label) -> Result<(), Error> {
        let here = self.here();
        match self.labels.get_mut(label.0) {
            Some(slot @ None) => {
                *slot = Some(here);
                Ok(())
            }
            _ => Err(Error::LabelRebound { label: label.0 }),
        }
    }

    /// A new label bound now.
    pub fn label_here(&mut self) -> Label {
        let here = self.here();
        self.labels.push(Some(here));
        Label(self.labels.len() - 1)
    }

    /// A label for `size` zero bytes aligned to `align` (a power of two) after the file
    /// contents: memory the image owns without storing it.
    pub fn bss(&mut self, size: u64, align: u64) -> Label {
        let l = self.label();
        self.bss.push((l, size, align.max(1)));
        l
    }

    /// Appends one instruction word, big-endian.
    pub fn word(&mut self, w: u32) {
        self.bytes.extend_from_slice(&w.to_be_bytes());
    }

    /// Appends instruction words.
    pub fn words(&mut self, ws: &[u32]) {
        for &w in ws {
            self.word(w);
        }
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) {
        self.bytes.extend_from_slice(b);
    }

    /// Pads with zero bytes up to a multiple of `align`.
    pub fn align(&mut self, align: u64) {
        while align > 1 && !self.here().is_multiple_of(align) {
            self.bytes.push(0);
        }
    }

    /// Pads with `fill` words up to `offset`.
    ///
    /// # Errors
    /// [`Error::Overrun`] if the image is already past `offset` or `offset` is not a
    /// multiple of 4 away.
    pub fn pad_to(&mut self, offset: u64, fill: u32) -> Result<(), Error> {
        let here = self.here();
        if here > offset || !(offset - here).is_multiple_of(4) {
            return Err(Error::Overrun { offset, at: here });
        }
        while self.here() < offset {
            self.word(fill);
        }
        Ok(())
    }

    fn fixup(&mut self, label: Label, f: Fixup, words: usize) {
        self.fixups.push((self.bytes.len(), label, f));
        for _ in 0..words {
            self.word(insn::NOP);
        }
    }

    /// `b label`.
    pub fn b(&mut self, label: Label) {
        self.fixup(label, Fixup::Branch { link: false }, 1);
    }

    /// `bl label`.
    pub fn bl(&mut self, label: Label) {
        self.fixup(label, Fixup::Branch { link: true }, 1);
    }

    /// `bc bo, bi, label` (see [`insn::BO_TRUE`] and friends).
    pub fn bc(&mut self, bo: u8, bi: u8, label: Label) {
        self.fixup(label, Fixup::Cond { bo, bi }, 1);
    }

    /// `rt = ra + offset(label) + addend` in two words (`addis; addi`). With `ra` = the
    /// image's load address this is the label's absolute address.
    pub fn la(&mut self, rt: Gpr, ra: Gpr, label: Label, addend: i64) {
        self.fixup(label, Fixup::Offset { rt, ra, addend }, 2);
    }

    /// The shortest `li`/`lis`/`ori`/`sldi`/`oris` sequence that puts `value` into `rt`.
    pub fn load_const(&mut self, rt: Gpr, value: u64) {
        let s = value as i64;
        if i64::from(s as i16) == s {
            self.word(insn::li(rt, s as i16));
        } else if i64::from(s as i32) == s {
            self.word(insn::lis(rt, (s >> 16) as i16));
            if s & 0xFFFF != 0 {
                self.word(insn::ori(rt, rt, s as u16));
            }
        } else {
            // The high word (sign-extended), shifted up, then the low word ORed in.
            self.load_const(rt, (value >> 32) as u32 as i32 as i64 as u64);
            self.word(insn::sldi(rt, rt, 32));
            if value & 0xFFFF_0000 != 0 {
                self.word(insn::oris(rt, rt, (value >> 16) as u16));
            }
            if value & 0xFFFF != 0 {
                self.word(insn::ori(rt, rt, value as u16));
            }
        }
    }

    /// Lays out the zero-filled tail, resolves every fixup and returns the image.
    ///
    /// # Errors
    /// [`Error::UnboundLabel`], [`Error::BranchRange`] or [`Error::OffsetRange`].
    pub fn finish(mut self) -> Result<Image, Error> {
        let mut end = self.here();
        for &(l, size, align) in &self.bss {
            end = end.div_ceil(align) * align;
            if let Some(slot) = self.labels.get_mut(l.0) {
                *slot = Some(end);
            }
            end += size;
        }
        let offsets = self
            .labels
            .iter()
            .enumerate()
            .map(|(i, o)| o.ok_or(Error::UnboundLabel { label: i }))
            .collect::<Result<Vec<u64>, Error>>()?;
        for &(at, label, f) in &self.fixups {
            let target = *offsets
                .get(label.0)
                .ok_or(Error::UnboundLabel { label: label.0 })?;
            let disp = target as i64 - at as i64;
            let ws: Vec<u32> = match f {
                Fixup::Branch { link } => {
                    if !(-(1 << 25)..(1 << 25)).contains(&disp) {
                        return Err(Error::BranchRange {
                            at: at as u64,
                            target,
                        });
                    }
                    alloc::vec![insn::b_rel(disp as i32, link)]
                }
                Fixup::Cond { bo, bi } => {
                    if !(-(1 << 15)..(1 << 15)).contains(&disp) {
                        return Err(Error::BranchRange {
                            at: at as u64,
                            target,
                        });
                    }
                    alloc::vec![insn::bc_rel(bo, bi, disp as i32)]
                }
                Fixup::Offset { rt, ra, addend } => {
                    let v = target as i64 + addend;
                    if !(-(1 << 31)..(1 << 31) - (1 << 15)).contains(&v) {
                        return Err(Error::OffsetRange { value: v });
                    }
                    let lo = v as i16;
                    let ha = ((v - i64::from(lo)) >> 16) as i16;
                    alloc::vec![insn::addis(rt, ra, ha), insn::addi(rt, rt, lo)]
                }
            };
            for (i, w) in ws.iter().enumerate() {
                let p = at + 4 * i;
                let slot = self.bytes.get_mut(p..p + 4).ok_or(Error::Overrun {
                    offset: p as u64,
                    at: end,
                })?;
                slot.copy_from_slice(&w.to_be_bytes());
            }
        }
        Ok(Image {
            bytes: self.bytes,
            mem_size: end,
            offsets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn word(img: &Image, off: u64) -> u32 {
        let o = off as usize;
        u32::from_be_bytes(img.bytes[o..o + 4].try_into().unwrap())
    }

    /// Executes the constant-building words (`li`, `lis`, `ori`, `oris`, `sldi`).
    fn run_const(img: &Image) -> u64 {
        let mut r = [0u64; 32];
        for c in img.bytes.chunks(4) {
            let w = u32::from_be_bytes(c.try_into().unwrap());
            let (rt, ra, imm) = (
                ((w >> 21) & 31) as usize,
                ((w >> 16) & 31) as usize,
                w & 0xFFFF,
            );
            match w >> 26 {
                14 => r[rt] = i64::from(imm as u16 as i16) as u64,
                15 => r[rt] = (i64::from(imm as u16 as i16) << 16) as u64,
                24 => r[ra] = r[rt] | u64::from(imm),
                25 => r[ra] = r[rt] | (u64::from(imm) << 16),
                30 => r[ra] = r[rt] << (((w >> 11) & 31) | (((w >> 1) & 1) << 5)),
                op => panic!("unexpected opcode {op} in {w:#x}"),
            }
        }
        r[7]
    }

    #[test]
    fn load_const_builds_every_kind_of_value() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut values = vec![
            0,
            1,
            0x7FFF,
            0x8000,
            0xFFFF,
            0xF000,
            0x7FFF_FFFF,
            0x8000_0000,
        ];
        values.extend([
            u64::MAX,
            1 << 60,
            1 << 40,
            0xFFFF_FFFF_0000_0000,
            0x5A5A_5A5A,
        ]);
        for _ in 0..500 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.extend([x, x >> 20, x >> 40, x as i16 as u64, x as i32 as u64]);
        }
        for v in values {
            let mut a = Asm::new();
            a.load_const(7, v);
            let img = a.finish().unwrap();
            assert!(img.bytes.len() <= 20);
            assert_eq!(run_const(&img), v, "{v:#x}");
        }
    }

    #[test]
    fn branches_and_addresses_resolve() {
        let mut a = Asm::new();
        let fwd = a.label();
        let data = a.label();
        let back = a.label_here();
        a.b(fwd); // 0
        a.bc(insn::BO_DNZ, 0, back); // 4
        a.la(4, 30, data, 8); // 8, 12
        a.bind(fwd).unwrap(); // 16
        a.bl(back); // 16
        a.align(0x10000);
        a.bind(data).unwrap();
        a.bytes(b"abc");
        let tail = a.bss(0x1000, 0x1000);
        let img = a.finish().unwrap();
        assert_eq!(word(&img, 0), insn::b_rel(16, false));
        assert_eq!(word(&img, 4), insn::bc_rel(insn::BO_DNZ, 0, -4));
        // 0x10008 = (1 << 16) + 8.
        assert_eq!(word(&img, 8), insn::addis(4, 30, 1));
        assert_eq!(word(&img, 12), insn::addi(4, 4, 8));
        assert_eq!(word(&img, 16), insn::b_rel(-16, true));
        assert_eq!(img.offset(tail), Some(0x11000));
        assert_eq!(img.mem_size, 0x12000);
        assert_eq!(img.bytes.len(), 0x10003);
    }

    #[test]
    fn la_carries_into_the_high_half() {
        let mut a = Asm::new();
        let l = a.label();
        a.la(4, 30, l, 0);
        a.pad_to(0x8000, 0).unwrap();
        a.bind(l).unwrap();
        let img = a.finish().unwrap();
        // 0x8000 = (1 << 16) - 0x8000: addis +1, addi -0x8000.
        assert_eq!(word(&img, 0), insn::addis(4, 30, 1));
        assert_eq!(word(&img, 4), insn::addi(4, 4, -0x8000));
    }

    #[test]
    fn errors_name_the_problem() {
        let mut a = Asm::new();
        let l = a.label();
        a.b(l);
        assert_eq!(a.finish(), Err(Error::UnboundLabel { label: 0 }));

        let mut a = Asm::new();
        let l = a.label_here();
        assert_eq!(a.bind(l), Err(Error::LabelRebound { label: 0 }));

        let mut a = Asm::new();
        let far = a.label();
        a.bc(insn::BO_TRUE, insn::CR0_EQ, far);
        a.pad_to(0x8000, 0).unwrap();
        a.bind(far).unwrap();
        assert_eq!(
            a.finish(),
            Err(Error::BranchRange {
                at: 0,
                target: 0x8000
            })
        );

        let mut a = Asm::new();
        a.word(0);
        assert_eq!(a.pad_to(2, 0), Err(Error::Overrun { offset: 2, at: 4 }));
    }
}
