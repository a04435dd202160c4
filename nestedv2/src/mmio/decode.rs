//! Decoding the load or store that faulted: Power ISA 3.1 field layouts of every integer
//! load/store form that can reach MMIO, and a typed refusal for everything else.
//!
//! Field layout (IBM bit numbering, bit 0 = most significant bit of the word):
//!
//! | form | 0..5 | 6..10 | 11..15 | 16..20 | 21..29 | 30 | 31 |
//! |---|---|---|---|---|---|---|---|
//! | D  | PO | RT/RS | RA | D (16, signed) ||||
//! | DS | PO | RT/RS | RA | DS (14, signed, ×4) ||| XO (2) |
//! | X  | 31 | RT/RS | RA | RB | XO (10) || / |
//!
//! A POWER10 prefixed instruction is a prefix word (PO = 1; bits 6..7 type: 00 = 8LS,
//! 10 = MLS; bit 11 R = PC-relative; bits 14..31 d0) followed by a D-form suffix whose 16-bit
//! field is d1; the displacement is the signed 34-bit d0 ∥ d1. R = 1 with RA ≠ 0 is an
//! invalid form.

use core::fmt;

/// One instruction as fetched: a word, plus the suffix when the word is a prefix.
///
/// ```
/// use papr_nestedv2::mmio::Insn;
/// let i = Insn::new(0x0400_0000, Some(0x8060_0000));
/// assert_eq!((i.len(), i.raw()), (8, 0x0400_0000_8060_0000));
/// assert_eq!(Insn::word(0x8060_0000).len(), 4);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Insn {
    /// The word at NIA (the prefix of a prefixed instruction).
    pub word: u32,
    /// The word at NIA + 4, present for a prefixed instruction.
    pub suffix: Option<u32>,
}

impl Insn {
    /// An instruction from its first word and (for a prefix) its suffix. A suffix given with
    /// a word that is not a prefix is dropped.
    #[must_use]
    pub const fn new(word: u32, suffix: Option<u32>) -> Self {
        Self {
            word,
            suffix: if is_prefix(word) { suffix } else { None },
        }
    }

    /// A one-word instruction (or a prefix whose suffix is not known).
    #[must_use]
    pub const fn word(word: u32) -> Self {
        Self { word, suffix: None }
    }

    /// Length in bytes: 8 with a suffix, else 4.
    #[must_use]
    pub const fn len(&self) -> u8 {
        if self.suffix.is_some() {
            8
        } else {
            4
        }
    }

    /// Whether the instruction is empty (never: an instruction has at least one word).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// The instruction as one integer: `prefix << 32 | suffix`, or the word alone.
    #[must_use]
    pub const fn raw(&self) -> u64 {
        match self.suffix {
            Some(s) => ((self.word as u64) << 32) | s as u64,
            None => self.word as u64,
        }
    }
}

impl fmt::Debug for Insn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.suffix {
            Some(s) => write!(f, "Insn({:#010x} {:#010x})", self.word, s),
            None => write!(f, "Insn({:#010x})", self.word),
        }
    }
}

/// Whether `word` is the prefix of a POWER10 prefixed instruction (primary opcode 1).
///
/// ```
/// assert!(papr_nestedv2::mmio::is_prefix(0x0600_0000));
/// assert!(!papr_nestedv2::mmio::is_prefix(0x8060_0000));
/// ```
#[must_use]
pub const fn is_prefix(word: u32) -> bool {
    word >> 26 == 1
}

/// How the effective address of the access is formed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum EaForm {
    /// `(RA|0) + d` (D, DS and prefixed forms with R = 0). `ra` = 0 reads as the value 0.
    Displacement {
        /// Base register (0 means no base).
        ra: u8,
        /// Sign-extended displacement.
        d: i64,
    },
    /// `(RA|0) + (RB)` (X forms).
    Indexed {
        /// Base register (0 means no base).
        ra: u8,
        /// Index register.
        rb: u8,
    },
    /// `CIA + d` (prefixed forms with R = 1): relative to the address of the prefix.
    PcRelative {
        /// Sign-extended 34-bit displacement.
        d: i64,
    },
}

impl EaForm {
    /// The GPRs the EA is computed from (RA only when it is not 0), as a set of at most two.
    #[must_use]
    pub const fn registers(&self) -> [Option<u8>; 2] {
        match *self {
            EaForm::Displacement { ra, .. } => [if ra == 0 { None } else { Some(ra) }, None],
            EaForm::Indexed { ra, rb } => [if ra == 0 { None } else { Some(ra) }, Some(rb)],
            EaForm::PcRelative { .. } => [None, None],
        }
    }

    /// The 64-bit effective address, given the current instruction address `cia` and the
    /// register values (`gpr(n)` is only called for the registers of
    /// [`registers`](Self::registers)). In 32-bit mode (`sf` false) the high 32 bits are
    /// zero, as Linux's `truncate_if_32bit` does.
    ///
    /// ```
    /// use papr_nestedv2::mmio::EaForm;
    /// let ea = EaForm::Indexed { ra: 0, rb: 4 }.compute(0, true, |n| u64::from(n) * 0x100);
    /// assert_eq!(ea, 0x400);
    /// let ea = EaForm::Displacement { ra: 9, d: -8 }.compute(0, false, |_| 0x1_0000_0010);
    /// assert_eq!(ea, 0x8);
    /// ```
    pub fn compute(&self, cia: u64, sf: bool, mut gpr: impl FnMut(u8) -> u64) -> u64 {
        let base = |ra: u8, gpr: &mut dyn FnMut(u8) -> u64| if ra == 0 { 0 } else { gpr(ra) };
        let ea = match *self {
            EaForm::Displacement { ra, d } => base(ra, &mut gpr).wrapping_add(d as u64),
            EaForm::Indexed { ra, rb } => base(ra, &mut gpr).wrapping_add(gpr(rb)),
            EaForm::PcRelative { d } => cia.wrapping_add(d as u64),
        };
        if sf {
            ea
        } else {
            ea & 0xFFFF_FFFF
        }
    }
}

/// A decoded integer load or store, as far as MMIO emulation needs it.
///
/// ```
/// use papr_nestedv2::mmio::{decode, Insn, EaForm};
/// // lhau r3, -2(r9)
/// let a = decode(Insn::word(0xAC69_FFFE)).unwrap();
/// assert_eq!((a.size, a.is_write, a.sign_extend, a.reg, a.update), (2, false, true, 3, Some(9)));
/// assert_eq!(a.ea, EaForm::Displacement { ra: 9, d: -2 });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct MmioAccess {
    /// Bytes accessed: 1, 2, 4 or 8.
    pub size: u8,
    /// A store (else a load).
    pub is_write: bool,
    /// A load that sign-extends (`lha`, `lwa`, `plha`, …).
    pub sign_extend: bool,
    /// A byte-reversed form (`lwbrx`, `sthbrx`, …).
    pub byte_reverse: bool,
    /// The GPR loaded into (RT) or stored from (RS).
    pub reg: u8,
    /// Update form: this RA receives the effective address.
    pub update: Option<u8>,
    /// Instruction length in bytes, 4 or 8: NIA advances by this.
    pub len: u8,
    /// How the effective address is formed.
    pub ea: EaForm,
}

impl MmioAccess {
    /// Whether the data are big-endian in storage: MSR\[LE\] (bit 0) XOR the byte-reverse
    /// bit decides; a byte access has no order (reported as big-endian).
    ///
    /// ```
    /// let a = papr_nestedv2::mmio::decode(papr_nestedv2::mmio::Insn::word(0x7C60_242C)).unwrap(); // lwbrx
    /// assert!(!a.big_endian(0)); // big-endian L2, byte-reversed: little-endian data
    /// assert!(a.big_endian(1));  // little-endian L2, byte-reversed: big-endian data
    /// ```
    #[must_use]
    pub const fn big_endian(&self, msr: u64) -> bool {
        let le = msr & 1 != 0;
        !(le ^ self.byte_reverse)
    }

    /// The `size` bytes a store writes, in storage order, from the source register value.
    ///
    /// ```
    /// use papr_nestedv2::mmio::{decode, Insn};
    /// let sth = decode(Insn::word(0xB064_0000)).unwrap(); // sth r3,0(r4)
    /// let (b, n) = sth.store_bytes(0x1122_3344, 0);
    /// assert_eq!(&b[..n], &[0x33, 0x44]);
    /// ```
    #[must_use]
    pub fn store_bytes(&self, reg: u64, msr: u64) -> ([u8; 8], usize) {
        let n = usize::from(self.size.min(8));
        let mut out = [0u8; 8];
        if self.big_endian(msr) {
            let be = reg.to_be_bytes();
            for (o, b) in out.iter_mut().zip(be.iter().skip(8 - n)) {
                *o = *b;
            }
        } else {
            let le = reg.to_le_bytes();
            for (o, b) in out.iter_mut().zip(le.iter().take(n)) {
                *o = *b;
            }
        }
        (out, n)
    }

    /// The register value a load leaves from the bytes read (storage order): assembled in
    /// the data byte order, then sign- or zero-extended. Extra bytes are ignored, missing
    /// ones read as 0.
    ///
    /// ```
    /// use papr_nestedv2::mmio::{decode, Insn};
    /// let lha = decode(Insn::word(0xA869_0000)).unwrap(); // lha r3,0(r9)
    /// assert_eq!(lha.load_value(&[0x80, 0x01], 0), 0xFFFF_FFFF_FFFF_8001);
    /// assert_eq!(lha.load_value(&[0x80, 0x01], 1), 0x0180);
    /// ```
    #[must_use]
    pub fn load_value(&self, bytes: &[u8], msr: u64) -> u64 {
        let n = usize::from(self.size.min(8));
        let mut v: u64 = 0;
        let data = bytes.iter().take(n);
        if self.big_endian(msr) {
            for (i, b) in data.enumerate() {
                v |= u64::from(*b) << (8 * (n - 1 - i));
            }
        } else {
            for (i, b) in data.enumerate() {
                v |= u64::from(*b) << (8 * i);
            }
        }
        if self.sign_extend && n < 8 {
            let shift = 64 - 8 * n as u32;
            v = (((v << shift) as i64) >> shift) as u64;
        }
        v
    }
}

/// Why an instruction is not emulated.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[non_exhaustive]
pub enum UnsupportedReason {
    /// Floating-point load/store (`lfs`, `stfd`, `plfd`, …): FPRs are not emulated.
    FloatingPoint,
    /// Vector/VSX load/store (`lvx`, `lxvd2x`, `plxv`, …).
    Vector,
    /// Load-and-reserve / store-conditional (`lwarx`, `stwcx.`, …): no atomics on MMIO.
    Atomic,
    /// Cache management (`dcbz`, `dcbf`, `icbi`, …).
    Cache,
    /// Load/store multiple or string (`lmw`, `stswi`, …).
    MultipleOrString,
    /// Quadword (`lq`, `stq`, `plq`, `pstq`).
    Quadword,
    /// Cache-inhibited forms (`lwzcix`, …): hypervisor-only, never executed by an L2.
    CacheInhibited,
    /// An invalid form: update with RA = 0, update load with RA = RT, PC-relative with
    /// RA ≠ 0.
    InvalidForm,
    /// A prefix word whose suffix was not supplied.
    MissingSuffix,
    /// Not a load or store (or a prefixed instruction that is not one).
    NotLoadStore,
}

impl UnsupportedReason {
    /// A short description.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FloatingPoint => "floating-point load/store",
            Self::Vector => "vector/VSX load/store",
            Self::Atomic => "atomic (reserve/conditional) access",
            Self::Cache => "cache-management instruction",
            Self::MultipleOrString => "load/store multiple or string",
            Self::Quadword => "quadword access",
            Self::CacheInhibited => "hypervisor-only cache-inhibited access",
            Self::InvalidForm => "invalid instruction form",
            Self::MissingSuffix => "prefix without its suffix",
            Self::NotLoadStore => "not a load or store",
        }
    }
}

/// The instruction at NIA cannot be emulated as an MMIO access; the VMM decides (usually a
/// program interrupt for the L2, or an exit to the user).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, thiserror::Error)]
#[error("unsupported MMIO instruction {insn:?}: {}", reason.as_str())]
pub struct Unsupported {
    /// The instruction.
    pub insn: Insn,
    /// Why.
    pub reason: UnsupportedReason,
}

/// Table entry: size, store, sign-extend, byte-reverse, update.
#[derive(Clone, Copy)]
struct Op(u8, bool, bool, bool, bool);

const fn ld(size: u8) -> Op {
    Op(size, false, false, false, false)
}
const fn ldu(size: u8) -> Op {
    Op(size, false, false, false, true)
}
const fn lda(size: u8) -> Op {
    Op(size, false, true, false, false)
}
const fn ldau(size: u8) -> Op {
    Op(size, false, true, false, true)
}
const fn st(size: u8) -> Op {
    Op(size, true, false, false, false)
}
const fn stu(size: u8) -> Op {
    Op(size, true, false, false, true)
}
const fn ldbr(size: u8) -> Op {
    Op(size, false, false, true, false)
}
const fn stbr(size: u8) -> Op {
    Op(size, true, false, true, false)
}

/// Primary opcodes of the D forms.
#[inline(always)]
const fn d_form(po: u32) -> Result<Op, UnsupportedReason> {
    use UnsupportedReason as R;
    Ok(match po {
        32 => ld(4),                                // lwz
        33 => ldu(4),                               // lwzu
        34 => ld(1),                                // lbz
        35 => ldu(1),                               // lbzu
        36 => st(4),                                // stw
        37 => stu(4),                               // stwu
        38 => st(1),                                // stb
        39 => stu(1),                               // stbu
        40 => ld(2),                                // lhz
        41 => ldu(2),                               // lhzu
        42 => lda(2),                               // lha
        43 => ldau(2),                              // lhau
        44 => st(2),                                // sth
        45 => stu(2),                               // sthu
        46 | 47 => return Err(R::MultipleOrString), // lmw, stmw
        48..=55 => return Err(R::FloatingPoint),    // lfs[u], lfd[u], stfs[u], stfd[u]
        56 => return Err(R::Quadword),              // lq
        57 | 61 => return Err(R::Vector),           // lxsd/lxssp/lfdp, stxsd/stxv/stfdp
        6 => return Err(R::Vector),                 // lxvp/stxvp
        _ => return Err(R::NotLoadStore),
    })
}

/// Extended opcodes (bits 21..30) of the X forms under primary opcode 31.
const fn x_form(xo: u32) -> Result<Op, UnsupportedReason> {
    use UnsupportedReason as R;
    Ok(match xo {
        23 => ld(4),    // lwzx
        55 => ldu(4),   // lwzux
        87 => ld(1),    // lbzx
        119 => ldu(1),  // lbzux
        151 => st(4),   // stwx
        183 => stu(4),  // stwux
        215 => st(1),   // stbx
        247 => stu(1),  // stbux
        279 => ld(2),   // lhzx
        311 => ldu(2),  // lhzux
        343 => lda(2),  // lhax
        375 => ldau(2), // lhaux
        407 => st(2),   // sthx
        439 => stu(2),  // sthux
        21 => ld(8),    // ldx
        53 => ldu(8),   // ldux
        149 => st(8),   // stdx
        181 => stu(8),  // stdux
        341 => lda(4),  // lwax
        373 => ldau(4), // lwaux
        790 => ldbr(2), // lhbrx
        534 => ldbr(4), // lwbrx
        532 => ldbr(8), // ldbrx
        918 => stbr(2), // sthbrx
        662 => stbr(4), // stwbrx
        660 => stbr(8), // stdbrx
        // lbarx, lharx, lwarx, ldarx, lqarx; stbcx., sthcx., stwcx., stdcx., stqcx.
        52 | 116 | 20 | 84 | 276 | 694 | 726 | 150 | 214 | 182 => return Err(R::Atomic),
        // dcbz, dcbst, dcbf, dcbt, dcbtst, icbi, dcbi, dcbzl(=dcbz with L), icbt
        1014 | 54 | 86 | 278 | 246 | 982 | 470 | 22 => return Err(R::Cache),
        // lwzcix, lhzcix, lbzcix, ldcix, stwcix, sthcix, stbcix, stdcix
        789 | 821 | 853 | 885 | 917 | 949 | 981 | 1013 => return Err(R::CacheInhibited),
        // lswi, lswx, stswi, stswx
        597 | 533 | 725 | 661 => return Err(R::MultipleOrString),
        // lfsx, lfsux, lfdx, lfdux, lfiwax, lfiwzx, stfsx, stfsux, stfdx, stfdux, stfiwx,
        // lfdpx, stfdpx
        535 | 567 | 599 | 631 | 855 | 887 | 663 | 695 | 727 | 759 | 983 | 791 | 919 => {
            return Err(R::FloatingPoint)
        }
        // lvebx, lvehx, lvewx, lvx, lvxl, stvebx, stvehx, stvewx, stvx, stvxl, lvsl, lvsr
        7 | 39 | 71 | 103 | 359 | 135 | 167 | 199 | 231 | 487 | 6 | 38 => return Err(R::Vector),
        // VSX indexed loads/stores (lxsiwzx, lxsiwax, lxsspx, lxsdx, lxvd2x, lxvw4x,
        // lxvdsx, lxvh8x, lxvb16x, lxvx, lxvwsx, lxsibzx, lxsihzx, lxvl, lxvll, and the
        // matching stores)
        12 | 76 | 524 | 588 | 844 | 780 | 332 | 812 | 876 | 268 | 364 | 781 | 813 | 269 | 301
        | 140 | 652 | 716 | 972 | 908 | 940 | 1004 | 396 | 909 | 941 | 397 | 429 | 333 | 461
        | 13 | 45 | 77 | 109 | 141 | 173 | 205 | 237 => return Err(R::Vector),
        // lwat, ldat, stwat, stdat (atomic memory operations)
        582 | 614 | 710 | 742 => return Err(R::Atomic),
        _ => return Err(R::NotLoadStore),
    })
}

/// Sign-extends the low `bits` bits of `v`.
#[inline(always)]
const fn sext(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// Decodes the load or store `insn` (Power ISA 3.1): D, DS and X forms of the byte, half,
/// word and doubleword integer accesses, their update, algebraic and byte-reversed
/// variants, and the prefixed 8LS/MLS forms. Anything else — floating point, vector,
/// atomics, cache management, invalid forms — is [`Unsupported`]. Never panics.
///
/// Reserved bits (bit 31 of the X forms, the reserved bits of a prefix) are ignored, as the
/// processor ignores them.
///
/// ```
/// use papr_nestedv2::mmio::{decode, Insn, UnsupportedReason};
/// let stw = decode(Insn::word(0x90A4_0008)).unwrap(); // stw r5,8(r4)
/// assert_eq!((stw.size, stw.is_write, stw.reg, stw.len), (4, true, 5, 4));
/// let pld = decode(Insn::new(0x0400_0000, Some(0xE464_0010))).unwrap(); // pld r3,16(r4)
/// assert_eq!((pld.size, pld.len), (8, 8));
/// let e = decode(Insn::word(0x7C00_07EC)).unwrap_err(); // dcbz 0,r0
/// assert_eq!(e.reason, UnsupportedReason::Cache);
/// ```
///
/// # Errors
/// [`Unsupported`] naming the instruction and the reason.
#[inline]
pub const fn decode(insn: Insn) -> Result<MmioAccess, Unsupported> {
    // The D forms inline, with no result passed through memory; the rest out of line.
    match decode_d_form(insn.word) {
        Some(Ok(a)) => Ok(a),
        Some(Err(reason)) => Err(Unsupported { insn, reason }),
        None => decode_slow(insn),
    }
}

/// The D forms of the integer loads and stores (`lwz`, `stw`, `lbz`, … primary opcodes
/// 32–45: what drivers use on MMIO) as [`decode`] decodes them — exactly `decode_inner`'s
/// arm for them (the `decode_fast_test` tests) — and `None` for every other word.
#[inline(always)]
pub(super) const fn decode_d_form(w: u32) -> Option<Result<MmioAccess, UnsupportedReason>> {
    let po = w >> 26;
    if po < 32 || po > 45 {
        return None;
    }
    let op = match d_form(po) {
        Ok(op) => op,
        Err(r) => return Some(Err(r)),
    };
    let rt = ((w >> 21) & 31) as u8;
    let ra = ((w >> 16) & 31) as u8;
    let ea = EaForm::Displacement {
        ra,
        d: sext((w & 0xFFFF) as u64, 16),
    };
    Some(finish(op, rt, ra, ea, 4))
}

/// [`decode`] without its inline D-form path: every form through `decode_inner` (the
/// reference of the fast path's test).
pub(super) const fn decode_slow(insn: Insn) -> Result<MmioAccess, Unsupported> {
    match decode_inner(insn) {
        Ok(a) => Ok(a),
        Err(reason) => Err(Unsupported { insn, reason }),
    }
}

const fn decode_inner(insn: Insn) -> Result<MmioAccess, UnsupportedReason> {
    use UnsupportedReason as R;
    let w = insn.word;
    let po = w >> 26;
    if po == 1 {
        return match insn.suffix {
            Some(s) => decode_prefixed(w, s),
            None => Err(R::MissingSuffix),
        };
    }
    let rt = ((w >> 21) & 31) as u8;
    let ra = ((w >> 16) & 31) as u8;
    let rb = ((w >> 11) & 31) as u8;
    let (op, ea) = match po {
        31 => match x_form((w >> 1) & 0x3FF) {
            Ok(op) => (op, EaForm::Indexed { ra, rb }),
            Err(r) => return Err(r),
        },
        58 => {
            let op = match w & 3 {
                0 => ld(8),  // ld
                1 => ldu(8), // ldu
                2 => lda(4), // lwa
                _ => return Err(R::NotLoadStore),
            };
            (
                op,
                EaForm::Displacement {
                    ra,
                    d: sext((w & 0xFFFC) as u64, 16),
                },
            )
        }
        62 => {
            let op = match w & 3 {
                0 => st(8),                   // std
                1 => stu(8),                  // stdu
                2 => return Err(R::Quadword), // stq
                _ => return Err(R::NotLoadStore),
            };
            (
                op,
                EaForm::Displacement {
                    ra,
                    d: sext((w & 0xFFFC) as u64, 16),
                },
            )
        }
        _ => match d_form(po) {
            Ok(op) => (
                op,
                EaForm::Displacement {
                    ra,
                    d: sext((w & 0xFFFF) as u64, 16),
                },
            ),
            Err(r) => return Err(r),
        },
    };
    finish(op, rt, ra, ea, 4)
}

#[inline(always)]
const fn finish(
    op: Op,
    rt: u8,
    ra: u8,
    ea: EaForm,
    len: u8,
) -> Result<MmioAccess, UnsupportedReason> {
    let Op(size, is_write, sign_extend, byte_reverse, update) = op;
    // Update forms: RA = 0 is invalid, and so is RA = RT for a load (Power ISA 3.1 Book I,
    // "Load ... with Update": "If RA=0 or RA=RT, the instruction form is invalid";
    // stores: "If RA=0, the instruction form is invalid").
    if update && (ra == 0 || (!is_write && ra == rt)) {
        return Err(UnsupportedReason::InvalidForm);
    }
    Ok(MmioAccess {
        size,
        is_write,
        sign_extend,
        byte_reverse,
        reg: rt,
        update: if update { Some(ra) } else { None },
        len,
        ea,
    })
}

const fn decode_prefixed(prefix: u32, suffix: u32) -> Result<MmioAccess, UnsupportedReason> {
    use UnsupportedReason as R;
    let ptype = (prefix >> 24) & 3; // bits 6..7
    let r = prefix & (1 << 20) != 0; // bit 11
    let spo = suffix >> 26;
    let rt = ((suffix >> 21) & 31) as u8;
    let ra = ((suffix >> 16) & 31) as u8;
    let d = sext(
        (((prefix & 0x3_FFFF) as u64) << 16) | (suffix & 0xFFFF) as u64,
        34,
    );
    let op = match ptype {
        // 8LS: eight-byte load/store
        0 => match spo {
            41 => lda(4),                       // plwa
            57 => ld(8),                        // pld
            61 => st(8),                        // pstd
            56 | 60 => return Err(R::Quadword), // plq, pstq
            42 | 43 | 46 | 47 | 50 | 51 | 54 | 55 | 58 | 62 => return Err(R::Vector),
            _ => return Err(R::NotLoadStore),
        },
        // MLS: modified load/store (and paddi, which is not one)
        2 => match spo {
            32 => ld(4),                                       // plwz
            34 => ld(1),                                       // plbz
            36 => st(4),                                       // pstw
            38 => st(1),                                       // pstb
            40 => ld(2),                                       // plhz
            42 => lda(2),                                      // plha
            44 => st(2),                                       // psth
            48 | 50 | 52 | 54 => return Err(R::FloatingPoint), // plfs, plfd, pstfs, pstfd
            _ => return Err(R::NotLoadStore),
        },
        _ => return Err(R::NotLoadStore),
    };
    let ea = if r {
        // "If R is equal to 1 and RA is not equal to 0, the instruction form is invalid."
        if ra != 0 {
            return Err(R::InvalidForm);
        }
        EaForm::PcRelative { d }
    } else {
        EaForm::Displacement { ra, d }
    };
    finish(op, rt, ra, ea, 8)
}
