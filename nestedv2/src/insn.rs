//! Decoding the faulting load/store of an MMIO exit.

/// What a decoded load or store instruction does, as far as MMIO emulation needs it.
///
/// ```
/// use papr_nestedv2::MmioAccess;
/// // stw r5, 8(r4)
/// let a = MmioAccess::decode(0x90a4_0008).unwrap();
/// assert_eq!((a.size, a.is_write, a.reg, a.update), (4, true, 5, None));
/// // lhau r3, 2(r9): sign-extending, updates r9
/// let a = MmioAccess::decode(0xac69_0002).unwrap();
/// assert!(a.sign_extend && !a.is_write);
/// assert_eq!(a.update, Some(9));
/// assert_eq!(MmioAccess::decode(0x7c00_07fe), None); // not a load or store
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MmioAccess {
    /// Bytes accessed: 1, 2, 4 or 8.
    pub size: u8,
    /// A store (else a load).
    pub is_write: bool,
    /// The GPR loaded into (RT) or stored from (RS).
    pub reg: u8,
    /// A load that sign-extends (`lha`, `lwa`, …).
    pub sign_extend: bool,
    /// A byte-reversed form (`lwbrx`, `sthbrx`, …).
    pub byte_reverse: bool,
    /// Update form: RA receives the effective address.
    pub update: Option<u8>,
    /// Instruction length in bytes (NIA advances by this after emulation).
    pub len: u8,
}

const fn op(size: u8, is_write: bool, sign_extend: bool, byte_reverse: bool, update: bool) -> Op {
    Op {
        size,
        is_write,
        sign_extend,
        byte_reverse,
        update,
    }
}

#[derive(Clone, Copy)]
struct Op {
    size: u8,
    is_write: bool,
    sign_extend: bool,
    byte_reverse: bool,
    update: bool,
}

impl MmioAccess {
    /// Decodes the integer load/store forms an MMIO access uses (D, DS and X forms,
    /// byte-reversed included); `None` for anything else (FP/vector, prefixed, atomic,
    /// invalid update forms), which the VMM must treat as undecodable.
    pub const fn decode(insn: u32) -> Option<MmioAccess> {
        let primary = insn >> 26;
        let rt = ((insn >> 21) & 31) as u8;
        let ra = ((insn >> 16) & 31) as u8;
        let o = match primary {
            32 => op(4, false, false, false, false),
            33 => op(4, false, false, false, true),
            34 => op(1, false, false, false, false),
            35 => op(1, false, false, false, true),
            36 => op(4, true, false, false, false),
            37 => op(4, true, false, false, true),
            38 => op(1, true, false, false, false),
            39 => op(1, true, false, false, true),
            40 => op(2, false, false, false, false),
            41 => op(2, false, false, false, true),
            42 => op(2, false, true, false, false),
            43 => op(2, false, true, false, true),
            44 => op(2, true, false, false, false),
            45 => op(2, true, false, false, true),
            58 => match insn & 3 {
                0 => op(8, false, false, false, false),
                1 => op(8, false, false, false, true),
                2 => op(4, false, true, false, false),
                _ => return None,
            },
            62 => match insn & 3 {
                0 => op(8, true, false, false, false),
                1 => op(8, true, false, false, true),
                _ => return None,
            },
            31 => match (insn >> 1) & 0x3FF {
                23 => op(4, false, false, false, false),
                55 => op(4, false, false, false, true),
                87 => op(1, false, false, false, false),
                119 => op(1, false, false, false, true),
                151 => op(4, true, false, false, false),
                183 => op(4, true, false, false, true),
                215 => op(1, true, false, false, false),
                247 => op(1, true, false, false, true),
                279 => op(2, false, false, false, false),
                311 => op(2, false, false, false, true),
                343 => op(2, false, true, false, false),
                375 => op(2, false, true, false, true),
                407 => op(2, true, false, false, false),
                439 => op(2, true, false, false, true),
                21 => op(8, false, false, false, false),
                53 => op(8, false, false, false, true),
                149 => op(8, true, false, false, false),
                181 => op(8, true, false, false, true),
                341 => op(4, false, true, false, false),
                373 => op(4, false, true, false, true),
                534 => op(4, false, false, true, false),
                790 => op(2, false, false, true, false),
                532 => op(8, false, false, true, false),
                662 => op(4, true, false, true, false),
                918 => op(2, true, false, true, false),
                660 => op(8, true, false, true, false),
                _ => return None,
            },
            _ => return None,
        };
        // Update forms need RA != 0, and a load's RA must differ from RT (invalid forms).
        if o.update && (ra == 0 || (!o.is_write && ra == rt)) {
            return None;
        }
        Some(MmioAccess {
            size: o.size,
            is_write: o.is_write,
            reg: rt,
            sign_extend: o.sign_extend,
            byte_reverse: o.byte_reverse,
            update: if o.update { Some(ra) } else { None },
            len: 4,
        })
    }

    /// Mask of the low `size` bytes.
    const fn mask(&self) -> u64 {
        match self.size {
            1 => 0xFF,
            2 => 0xFFFF,
            4 => 0xFFFF_FFFF,
            _ => u64::MAX,
        }
    }

    const fn reverse(&self, v: u64) -> u64 {
        match self.size {
            2 => (v as u16).swap_bytes() as u64,
            4 => (v as u32).swap_bytes() as u64,
            8 => v.swap_bytes(),
            _ => v,
        }
    }

    /// The value a store writes, from the source register: the low `size` bytes,
    /// byte-swapped for the byte-reversed forms.
    ///
    /// ```
    /// let a = papr_nestedv2::MmioAccess::decode(0x7ca0_252c).unwrap(); // stwbrx r5,0,r4
    /// assert_eq!(a.store_value(0xffff_1122_3344), 0x4433_2211);
    /// ```
    pub const fn store_value(&self, reg: u64) -> u64 {
        let v = reg & self.mask();
        if self.byte_reverse {
            self.reverse(v)
        } else {
            v
        }
    }

    /// The register value a load leaves, from the `size`-byte value read: byte-swapped for
    /// byte-reversed forms, sign- or zero-extended.
    ///
    /// ```
    /// let a = papr_nestedv2::MmioAccess::decode(0xa869_0000).unwrap(); // lha r3,0(r9)
    /// assert_eq!(a.load_result(0x8001), 0xffff_ffff_ffff_8001);
    /// ```
    pub const fn load_result(&self, value: u64) -> u64 {
        let mut v = value & self.mask();
        if self.byte_reverse {
            v = self.reverse(v);
        }
        if self.sign_extend {
            let shift = 64 - 8 * self.size as u32;
            v = (((v << shift) as i64) >> shift) as u64;
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(primary: u32, rt: u32, ra: u32, imm: u32) -> u32 {
        (primary << 26) | (rt << 21) | (ra << 16) | (imm & 0xFFFF)
    }
    fn x(xo: u32, rt: u32, ra: u32, rb: u32) -> u32 {
        (31 << 26) | (rt << 21) | (ra << 16) | (rb << 11) | (xo << 1)
    }

    #[test]
    fn d_forms() {
        let cases = [
            (32, 4, false, false),
            (34, 1, false, false),
            (36, 4, true, false),
            (38, 1, true, false),
            (40, 2, false, false),
            (42, 2, false, true),
            (44, 2, true, false),
        ];
        for (p, size, w, s) in cases {
            let a = MmioAccess::decode(d(p, 5, 4, 8)).unwrap();
            assert_eq!(
                (a.size, a.is_write, a.sign_extend, a.reg, a.update),
                (size, w, s, 5, None)
            );
            let u = MmioAccess::decode(d(p + 1, 5, 4, 8)).unwrap();
            assert_eq!(u.update, Some(4));
            // invalid update forms
            assert_eq!(MmioAccess::decode(d(p + 1, 5, 0, 8)), None);
        }
        assert_eq!(MmioAccess::decode(d(33, 4, 4, 0)), None); // lwzu rt == ra
        assert!(MmioAccess::decode(d(37, 4, 4, 0)).is_some()); // stwu rs == ra is fine
    }

    #[test]
    fn ds_and_x_forms() {
        assert_eq!(MmioAccess::decode(d(58, 5, 4, 0)).unwrap().size, 8); // ld
        assert_eq!(MmioAccess::decode(d(58, 5, 4, 1)).unwrap().update, Some(4)); // ldu
        assert!(MmioAccess::decode(d(58, 5, 4, 2)).unwrap().sign_extend); // lwa
        assert_eq!(MmioAccess::decode(d(58, 5, 4, 3)), None);
        assert!(MmioAccess::decode(d(62, 5, 4, 0)).unwrap().is_write); // std
        assert_eq!(MmioAccess::decode(d(62, 5, 4, 2)), None);
        let ldbrx = MmioAccess::decode(x(532, 3, 4, 5)).unwrap();
        assert!(ldbrx.byte_reverse && ldbrx.size == 8 && !ldbrx.is_write);
        let stdx = MmioAccess::decode(x(149, 3, 4, 5)).unwrap();
        assert!(stdx.is_write && stdx.size == 8 && stdx.reg == 3);
        assert_eq!(MmioAccess::decode(x(1, 3, 4, 5)), None);
        assert_eq!(MmioAccess::decode(0x0400_0000), None); // prefix
        assert_eq!(MmioAccess::decode(0), None);
        assert_eq!(MmioAccess::decode(u32::MAX), None);
    }

    #[test]
    fn values() {
        let lbz = MmioAccess::decode(d(34, 3, 4, 0)).unwrap();
        assert_eq!(lbz.load_result(0x1ff), 0xff);
        let lwa = MmioAccess::decode(d(58, 3, 4, 2)).unwrap();
        assert_eq!(lwa.load_result(0x8000_0000), 0xffff_ffff_8000_0000);
        let lhbrx = MmioAccess::decode(x(790, 3, 4, 5)).unwrap();
        assert_eq!(lhbrx.load_result(0x1234), 0x3412);
        let std = MmioAccess::decode(d(62, 3, 4, 0)).unwrap();
        assert_eq!(std.store_value(u64::MAX), u64::MAX);
        let sth = MmioAccess::decode(d(44, 3, 4, 0)).unwrap();
        assert_eq!(sth.store_value(0x12_3456), 0x3456);
    }

    #[test]
    fn every_word_decodes_without_panic() {
        let mut w: u32 = 1;
        for _ in 0..200_000 {
            w ^= w << 13;
            w ^= w >> 17;
            w ^= w << 5;
            if let Some(a) = MmioAccess::decode(w) {
                assert!(matches!(a.size, 1 | 2 | 4 | 8));
                let _ = a.load_result(w.into());
                let _ = a.store_value(w.into());
            }
        }
    }
}
