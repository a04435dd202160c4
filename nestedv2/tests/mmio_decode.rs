//! Decoder: every supported opcode against encodings built from the ISA field layout.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod mmio_common;

use mmio_common::{d_form, ds_form, prefixed, x_form};
use papr_nestedv2::mmio::{decode, EaForm, Insn, MmioAccess, UnsupportedReason as U};
use proptest::prelude::*;

/// Expected decoding: name, size, store, sign-extend, byte-reverse, update.
type Want = (&'static str, u8, bool, bool, bool, bool);

const D_FORMS: &[(u32, Want)] = &[
    (32, ("lwz", 4, false, false, false, false)),
    (33, ("lwzu", 4, false, false, false, true)),
    (34, ("lbz", 1, false, false, false, false)),
    (35, ("lbzu", 1, false, false, false, true)),
    (36, ("stw", 4, true, false, false, false)),
    (37, ("stwu", 4, true, false, false, true)),
    (38, ("stb", 1, true, false, false, false)),
    (39, ("stbu", 1, true, false, false, true)),
    (40, ("lhz", 2, false, false, false, false)),
    (41, ("lhzu", 2, false, false, false, true)),
    (42, ("lha", 2, false, true, false, false)),
    (43, ("lhau", 2, false, true, false, true)),
    (44, ("sth", 2, true, false, false, false)),
    (45, ("sthu", 2, true, false, false, true)),
];

const DS_FORMS: &[(u32, u32, Want)] = &[
    (58, 0, ("ld", 8, false, false, false, false)),
    (58, 1, ("ldu", 8, false, false, false, true)),
    (58, 2, ("lwa", 4, false, true, false, false)),
    (62, 0, ("std", 8, true, false, false, false)),
    (62, 1, ("stdu", 8, true, false, false, true)),
];

const X_FORMS: &[(u32, Want)] = &[
    (23, ("lwzx", 4, false, false, false, false)),
    (55, ("lwzux", 4, false, false, false, true)),
    (87, ("lbzx", 1, false, false, false, false)),
    (119, ("lbzux", 1, false, false, false, true)),
    (151, ("stwx", 4, true, false, false, false)),
    (183, ("stwux", 4, true, false, false, true)),
    (215, ("stbx", 1, true, false, false, false)),
    (247, ("stbux", 1, true, false, false, true)),
    (279, ("lhzx", 2, false, false, false, false)),
    (311, ("lhzux", 2, false, false, false, true)),
    (343, ("lhax", 2, false, true, false, false)),
    (375, ("lhaux", 2, false, true, false, true)),
    (407, ("sthx", 2, true, false, false, false)),
    (439, ("sthux", 2, true, false, false, true)),
    (21, ("ldx", 8, false, false, false, false)),
    (53, ("ldux", 8, false, false, false, true)),
    (149, ("stdx", 8, true, false, false, false)),
    (181, ("stdux", 8, true, false, false, true)),
    (341, ("lwax", 4, false, true, false, false)),
    (373, ("lwaux", 4, false, true, false, true)),
    (790, ("lhbrx", 2, false, false, true, false)),
    (534, ("lwbrx", 4, false, false, true, false)),
    (532, ("ldbrx", 8, false, false, true, false)),
    (918, ("sthbrx", 2, true, false, true, false)),
    (662, ("stwbrx", 4, true, false, true, false)),
    (660, ("stdbrx", 8, true, false, true, false)),
];

/// Prefixed: prefix type, suffix opcode, expectation.
const PREFIXED: &[(u32, u32, Want)] = &[
    (2, 34, ("plbz", 1, false, false, false, false)),
    (2, 40, ("plhz", 2, false, false, false, false)),
    (2, 42, ("plha", 2, false, true, false, false)),
    (2, 32, ("plwz", 4, false, false, false, false)),
    (0, 41, ("plwa", 4, false, true, false, false)),
    (0, 57, ("pld", 8, false, false, false, false)),
    (2, 38, ("pstb", 1, true, false, false, false)),
    (2, 44, ("psth", 2, true, false, false, false)),
    (2, 36, ("pstw", 4, true, false, false, false)),
    (0, 61, ("pstd", 8, true, false, false, false)),
];

fn check(a: &MmioAccess, w: &Want, reg: u8, ra: u8, len: u8) {
    let (name, size, store, sext, br, upd) = *w;
    assert_eq!(a.size, size, "{name} size");
    assert_eq!(a.is_write, store, "{name} store");
    assert_eq!(a.sign_extend, sext, "{name} sign");
    assert_eq!(a.byte_reverse, br, "{name} byte-reverse");
    assert_eq!(a.reg, reg, "{name} reg");
    assert_eq!(a.update, upd.then_some(ra), "{name} update");
    assert_eq!(a.len, len, "{name} len");
}

#[test]
fn mmio_d_forms() {
    for &(po, w) in D_FORMS {
        for d in [0i32, 8, -4, 0x7FFC, -0x8000] {
            let a = decode(Insn::word(d_form(po, 5, 9, d))).unwrap();
            check(&a, &w, 5, 9, 4);
            assert_eq!(
                a.ea,
                EaForm::Displacement {
                    ra: 9,
                    d: i64::from(d)
                },
                "{}",
                w.0
            );
        }
        // RA = 0 means "no base" for non-update forms, invalid for update forms.
        let r = decode(Insn::word(d_form(po, 5, 0, 16)));
        if w.5 {
            assert_eq!(r.unwrap_err().reason, U::InvalidForm, "{}", w.0);
        } else {
            assert_eq!(r.unwrap().ea, EaForm::Displacement { ra: 0, d: 16 });
        }
        // RA = RT: invalid for update loads only.
        let r = decode(Insn::word(d_form(po, 7, 7, 0)));
        assert_eq!(r.is_err(), w.5 && !w.2, "{} ra=rt", w.0);
    }
}

#[test]
fn mmio_ds_forms() {
    for &(po, xo, w) in DS_FORMS {
        for d in [0i32, 8, -8, 0x7FFC, -0x8000] {
            let a = decode(Insn::word(ds_form(po, 3, 4, d, xo))).unwrap();
            check(&a, &w, 3, 4, 4);
            assert_eq!(
                a.ea,
                EaForm::Displacement {
                    ra: 4,
                    d: i64::from(d)
                },
                "{}",
                w.0
            );
        }
    }
    assert_eq!(
        decode(Insn::word(ds_form(58, 3, 4, 0, 3)))
            .unwrap_err()
            .reason,
        U::NotLoadStore
    );
    assert_eq!(
        decode(Insn::word(ds_form(62, 4, 4, 0, 2)))
            .unwrap_err()
            .reason,
        U::Quadword
    ); // stq
    assert_eq!(
        decode(Insn::word(ds_form(62, 3, 4, 0, 3)))
            .unwrap_err()
            .reason,
        U::NotLoadStore
    );
}

#[test]
fn mmio_x_forms() {
    for &(xo, w) in X_FORMS {
        let word = x_form(xo, 6, 7, 8);
        let a = decode(Insn::word(word)).unwrap();
        check(&a, &w, 6, 7, 4);
        assert_eq!(a.ea, EaForm::Indexed { ra: 7, rb: 8 }, "{}", w.0);
        // Bit 31 is reserved and ignored.
        assert_eq!(decode(Insn::word(word | 1)).unwrap(), a, "{}", w.0);
        let r = decode(Insn::word(x_form(xo, 6, 0, 8)));
        assert_eq!(r.is_err(), w.5, "{} ra=0", w.0);
    }
}

#[test]
fn mmio_prefixed_forms() {
    for &(ptype, spo, w) in PREFIXED {
        for d in [
            0i64,
            16,
            -16,
            (1 << 33) - 1,
            -(1 << 33),
            0x1_2345_6789 - (1 << 33),
            0x1_2345_6789,
        ] {
            let (p, s) = prefixed(ptype, false, spo, 10, 11, d);
            let a = decode(Insn::new(p, Some(s))).unwrap();
            check(&a, &w, 10, 11, 8);
            assert_eq!(a.ea, EaForm::Displacement { ra: 11, d }, "{} d={d}", w.0);
            // PC-relative (R = 1) needs RA = 0.
            let (p, s) = prefixed(ptype, true, spo, 10, 0, d);
            let a = decode(Insn::new(p, Some(s))).unwrap();
            check(&a, &w, 10, 0, 8);
            assert_eq!(a.ea, EaForm::PcRelative { d }, "{}", w.0);
            let (p, s) = prefixed(ptype, true, spo, 10, 1, d);
            assert_eq!(
                decode(Insn::new(p, Some(s))).unwrap_err().reason,
                U::InvalidForm
            );
        }
        // The prefix alone is not decodable.
        let (p, _) = prefixed(ptype, false, spo, 1, 2, 0);
        assert_eq!(decode(Insn::word(p)).unwrap_err().reason, U::MissingSuffix);
    }
    // The same suffix opcodes under the other prefix type are not loads/stores here.
    let (p, s) = prefixed(0, false, 34, 1, 2, 0); // 8LS + 34: nothing
    assert_eq!(
        decode(Insn::new(p, Some(s))).unwrap_err().reason,
        U::NotLoadStore
    );
    let (p, s) = prefixed(2, false, 57, 1, 2, 0); // MLS + 57: nothing
    assert_eq!(
        decode(Insn::new(p, Some(s))).unwrap_err().reason,
        U::NotLoadStore
    );
    let (p, s) = prefixed(2, false, 14, 1, 2, 0); // paddi
    assert_eq!(
        decode(Insn::new(p, Some(s))).unwrap_err().reason,
        U::NotLoadStore
    );
    let (p, s) = prefixed(1, false, 32, 1, 2, 0); // 8RR type
    assert_eq!(
        decode(Insn::new(p, Some(s))).unwrap_err().reason,
        U::NotLoadStore
    );
}

#[test]
fn mmio_opcode_count() {
    // 14 D + 5 DS + 26 X + 10 prefixed = 55 supported encodings.
    assert_eq!(
        D_FORMS.len() + DS_FORMS.len() + X_FORMS.len() + PREFIXED.len(),
        55
    );
}

#[test]
fn mmio_unsupported_classes() {
    let cases = [
        (x_form(20, 3, 4, 5), U::Atomic),            // lwarx
        (x_form(84, 3, 4, 5), U::Atomic),            // ldarx
        (x_form(150, 3, 4, 5) | 1, U::Atomic),       // stwcx.
        (x_form(214, 3, 4, 5) | 1, U::Atomic),       // stdcx.
        (x_form(1014, 0, 4, 5), U::Cache),           // dcbz
        (x_form(86, 0, 4, 5), U::Cache),             // dcbf
        (x_form(982, 0, 4, 5), U::Cache),            // icbi
        (d_form(48, 1, 4, 0), U::FloatingPoint),     // lfs
        (d_form(54, 1, 4, 0), U::FloatingPoint),     // stfd
        (x_form(599, 1, 4, 5), U::FloatingPoint),    // lfdx
        (x_form(103, 1, 4, 5), U::Vector),           // lvx
        (x_form(231, 1, 4, 5), U::Vector),           // stvx
        (x_form(844, 1, 4, 5), U::Vector),           // lxvd2x
        (x_form(268, 1, 4, 5), U::Vector),           // lxvx
        (d_form(46, 1, 4, 0), U::MultipleOrString),  // lmw
        (x_form(597, 1, 4, 5), U::MultipleOrString), // lswi
        (d_form(56, 2, 4, 0), U::Quadword),          // lq
        (x_form(853, 1, 4, 5), U::CacheInhibited),   // lbzcix
        (d_form(14, 1, 4, 0), U::NotLoadStore),      // addi
        (0, U::NotLoadStore),
        (u32::MAX, U::NotLoadStore),
    ];
    for (w, reason) in cases {
        let e = decode(Insn::word(w)).unwrap_err();
        assert_eq!((e.insn, e.reason), (Insn::word(w), reason), "{w:#010x}");
        assert!(!e.to_string().is_empty());
    }
    for (ptype, spo, reason) in [
        (2, 48, U::FloatingPoint), // plfs
        (2, 54, U::FloatingPoint), // pstfd
        (0, 50, U::Vector),        // plxv
        (0, 42, U::Vector),        // plxsd
        (0, 56, U::Quadword),      // plq
        (0, 60, U::Quadword),      // pstq
    ] {
        let (p, s) = prefixed(ptype, false, spo, 2, 3, 0);
        assert_eq!(decode(Insn::new(p, Some(s))).unwrap_err().reason, reason);
    }
}

#[test]
fn mmio_data_byte_order_and_extension() {
    let lwz = decode(Insn::word(d_form(32, 3, 4, 0))).unwrap();
    let lwbrx = decode(Insn::word(x_form(534, 3, 4, 5))).unwrap();
    let lha = decode(Insn::word(d_form(42, 3, 4, 0))).unwrap();
    let lwa = decode(Insn::word(ds_form(58, 3, 4, 0, 2))).unwrap();
    let bytes = [0x81, 0x02, 0x03, 0x04];
    // MSR[LE] XOR byte-reverse.
    assert_eq!(lwz.load_value(&bytes, 0), 0x8102_0304);
    assert_eq!(lwz.load_value(&bytes, 1), 0x0403_0281);
    assert_eq!(lwbrx.load_value(&bytes, 0), 0x0403_0281);
    assert_eq!(lwbrx.load_value(&bytes, 1), 0x8102_0304);
    assert_eq!(lha.load_value(&bytes, 0), 0xFFFF_FFFF_FFFF_8102);
    assert_eq!(lha.load_value(&[0x02, 0x81], 1), 0xFFFF_FFFF_FFFF_8102);
    assert_eq!(lwa.load_value(&bytes, 0), 0xFFFF_FFFF_8102_0304);
    assert_eq!(lwa.load_value(&[0x7F, 0, 0, 0], 0), 0x7F00_0000);
    let std_ = decode(Insn::word(ds_form(62, 3, 4, 0, 0))).unwrap();
    let stdbrx = decode(Insn::word(x_form(660, 3, 4, 5))).unwrap();
    let v = 0x0102_0304_0506_0708;
    assert_eq!(std_.store_bytes(v, 0).0, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(std_.store_bytes(v, 1).0, [8, 7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(stdbrx.store_bytes(v, 0).0, [8, 7, 6, 5, 4, 3, 2, 1]);
    let stb = decode(Insn::word(d_form(38, 3, 4, 0))).unwrap();
    assert_eq!(stb.store_bytes(0x1234, 1), ([0x34, 0, 0, 0, 0, 0, 0, 0], 1));
}

proptest! {
    #[test]
    fn mmio_any_word_never_panics(w in any::<u32>()) {
        if let Ok(a) = decode(Insn::word(w)) {
            prop_assert!(matches!(a.size, 1 | 2 | 4 | 8));
            prop_assert_eq!(a.len, 4);
            prop_assert!(a.reg < 32);
            let _ = a.load_value(&[0xFF; 8], 0);
            let _ = a.store_bytes(u64::MAX, 1);
            let _ = a.ea.compute(0, true, u64::from);
        }
    }

    #[test]
    fn mmio_any_pair_never_panics(p in any::<u32>(), s in any::<u32>(), as_prefix in any::<bool>()) {
        // Half the time force a prefix opcode so the prefixed decoder is exercised.
        let p = if as_prefix { (p & 0x03FF_FFFF) | (1 << 26) } else { p };
        let insn = Insn::new(p, Some(s));
        match decode(insn) {
            Ok(a) => {
                prop_assert!(matches!(a.size, 1 | 2 | 4 | 8));
                prop_assert_eq!(a.len, insn.len());
                prop_assert!(a.update.is_none() || a.len == 4);
            }
            Err(e) => prop_assert_eq!(e.insn, insn),
        }
    }
}
