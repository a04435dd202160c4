//! [`decode`]'s inline D-form path against the full decoder (`decode_slow`): the same
//! access or the same error for every D-form word (each primary opcode 32–45 with every
//! RT/RA pair and edge displacements), and for arbitrary words and suffixes.

use super::decode::{decode, decode_slow, Insn};
use proptest::prelude::*;

fn same(insn: Insn) {
    assert_eq!(decode(insn), decode_slow(insn), "{insn:?}");
}

#[test]
fn every_d_form_register_pair_decodes_as_the_full_decoder() {
    for po in 30u32..=47 {
        for rt in 0u32..32 {
            for ra in 0u32..32 {
                for d in [0u32, 1, 4, 0x7FFF, 0x8000, 0xFFFC, 0xFFFF] {
                    same(Insn::word(po << 26 | rt << 21 | ra << 16 | d));
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn any_word_decodes_as_the_full_decoder(w: u32, suffix: Option<u32>) {
        same(Insn::new(w, suffix));
        same(Insn::word(w));
        // The D-form range, any low bits.
        same(Insn::word((32 + w % 14) << 26 | (w & 0x03FF_FFFF)));
    }
}
